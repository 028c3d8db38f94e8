"""The Optimizer Playground: optimizers at work on 2-D surfaces, in the browser.

``python -m minigrad.playground [--port N]`` serves a Streamlit page (install the extra:
``pip install -e '.[playground]'``) where one picks optimizers, their hyper-parameters, a
learning-rate schedule, a surface and a start point, and sees the paths on the contour
map beside the loss curves, a table of every iteration (with CSV download), and a URL
that reproduces the view.

The page is a thin layer; the work is done by plain functions, usable without Streamlit:

* :mod:`.catalog` – which optimizers, controls and schedules are offered (discovered
  from ``optim``, ``schedules`` and ``minigrad.landscapes``);
* :mod:`.config` – a configuration and its round trip through URL query parameters;
* :mod:`.logic` – the runs (through ``minigrad.trajectories.run_trajectory``), the
  per-iteration table, its CSV and a summary;
* :mod:`.figure` – the figure (``minigrad.plot``'s style and drawing functions).

>>> from minigrad.playground import Config, run_config, iteration_table
>>> runs = run_config(Config(surface="booth", optimizers=("SGD", "Adam"), steps=10))
>>> [run["name"] for run in runs], len(iteration_table(runs)["step"])
(['SGD', 'Adam'], 22)
"""
import importlib

# Loaded on first use, so that ``python -m minigrad.playground`` starts the server without
# importing the optimizers and Matplotlib twice (the page's own process imports them).
_EXPORTS = {
    "CONTROLS": "catalog", "SCHEDULES": "catalog", "controls_for": "catalog",
    "landscape_names": "catalog", "optimizer_names": "catalog",
    "Config": "config", "from_query_params": "config", "to_query_params": "config",
    "figure_png": "figure", "playground_figure": "figure",
    "iteration_table": "logic", "run_config": "logic", "summary": "logic",
    "table_csv": "logic",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__():
    return sorted(list(globals()) + __all__)

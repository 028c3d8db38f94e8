"""The figure gallery: every figure of the chapters, regenerated with one command.

    python -m minigrad.gallery --out figures/          # all figures + figures/index.md
    python -m minigrad.gallery --list                  # names and captions
    python -m minigrad.gallery --only onecycle lr_finder --dpi 150
    python -m minigrad.gallery --quick                 # fewer steps, coarse grids (tests)
    python -m minigrad.gallery --format svg            # for slides: svg or pdf

In a notebook, ``figure(name)`` returns the Figure to tweak and redraw::

    from minigrad.gallery import figure
    fig = figure("trajectories_saddle")
    fig.axes[0].set_title("SGD stalls, Adam escapes")
    fig.savefig("saddle.pdf")

Adding a figure is one function and one registry line (:func:`register`); see
:mod:`minigrad.gallery.registry`. Figures are built without pyplot, saved, and freed.
"""
from .registry import FORMATS, REGISTRY, Entry, figure, register, unregister
from . import experiments, figures, landscapes, modern, techniques  # noqa: F401  (importing registers the figures)


def __getattr__(name):
    # The command-line helpers live in __main__; imported lazily so that
    # ``python -m minigrad.gallery`` does not find __main__ already imported.
    if name in ("build", "main", "progress_bar", "write_index"):
        from . import __main__ as cli

        return getattr(cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["FORMATS", "REGISTRY", "Entry", "figure", "register", "unregister", "build", "main", "progress_bar",
           "write_index"]

"""Figures of experiments: several runs side by side, panel by panel, and the batch-size
trade-offs.

:func:`run_panels` draws a list of runs — dicts with a ``"name"`` and arrays, as
:mod:`minigrad.experiments` returns them — with one panel per recorded quantity (loss,
gradient norm, learning rate, test accuracy, ...) and optionally a bar panel of one
final number per run. Each run keeps its colour in every panel. :func:`batch_size_figure`
draws the three plots of the batch-size exercise from its dict of arrays.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .curves import ewa
from .style import PALETTE, new_figure, styled

LINESTYLES = ("-", "--", ":", "-.")
Panel = Union[str, Mapping[str, Any]]


def _finite(values) -> np.ndarray:
    """A float array with inf replaced by NaN (Matplotlib leaves NaN out of a line)."""
    values = np.asarray(values, dtype=float).ravel()
    return np.where(np.isfinite(values), values, np.nan)


def _panel(spec: Panel) -> dict:
    spec = {"key": spec} if isinstance(spec, str) else dict(spec)
    if "key" not in spec:
        raise ValueError(f"a panel needs a 'key', got {spec}")
    keys = (spec["key"],) if isinstance(spec["key"], str) else tuple(spec["key"])
    spec["keys"] = keys
    spec.setdefault("key_labels", keys)
    spec.setdefault("ylabel", keys[0] if len(keys) == 1 else ", ".join(keys))
    spec.setdefault("xlabel", "step")
    spec.setdefault("title", None)
    spec.setdefault("log", False)
    spec.setdefault("smooth", 0.0)
    spec.setdefault("start", 0)
    if not 0.0 <= spec["smooth"] < 1.0:
        raise ValueError(f"smooth is an EWA β in [0, 1), got {spec['smooth']}")
    return spec


def _grid(fig_panels: int, ncols: Optional[int]):
    ncols = min(fig_panels, 3) if ncols is None else max(1, int(ncols))
    nrows = math.ceil(fig_panels / ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(6.0 * ncols, 4.6 * nrows), squeeze=False)
    axes = list(axes.ravel())
    for extra in axes[fig_panels:]:
        fig.delaxes(extra)
    return fig, axes[:fig_panels]


def _last(value) -> float:
    array = np.asarray(value, dtype=float).ravel()
    return float(array[-1]) if array.size else math.nan


@styled
def run_panels(runs: Sequence[Mapping[str, Any]], panels: Sequence[Panel] = ("loss",), *,
               bars: Sequence[Panel] = (), title: Optional[str] = None,
               ncols: Optional[int] = None) -> Figure:
    """One panel per quantity, one line per run; then bar panels of final values, a bar
    per run.

    Parameters
    ----------
    runs : sequence of dict
        Each with ``"name"`` (the legend label) and the arrays the panels name. Run i
        is drawn in colour i of the palette in every panel, with the Matplotlib line
        style ``run["linestyle"]`` if it has one (in panels of a single key).
    panels : sequence of str or dict
        A key of the runs, or a dict with ``key`` (a key, or a tuple of keys drawn in
        one panel with line styles ``-``, ``--``, ``:``), and optionally ``ylabel``,
        ``xlabel`` (default "step"), ``title``, ``log`` (log-scaled y), ``smooth`` (an
        EWA β in [0, 1): the values are drawn through
        ``minigrad.plot.ewa(values, β, bias_correction=True)``), ``start`` (the x of the
        first value: 0 for steps, 1 for epochs) and ``key_labels`` (labels of the keys
        in the legend, default the keys). Runs without the key are skipped in that panel.
    bars : sequence of str or dict
        Keys whose value (a number, or an array: its last entry) becomes one horizontal
        bar per run, with the value written at its end; one panel per key, after the
        curves. A dict gives ``key``, and optionally ``label`` (the x label, default the
        key) and ``format`` (default ``"{:.3f}"``).
    title : str, optional
        The figure's title.
    ncols : int, optional
        Panels per row (default: all in one row up to three, then rows of three).

    Returns
    -------
    Figure
        ``fig.axes`` are the panels in order, then the bar panels; the legend of the
        first panel's lines is the figure's (``fig.legends[0]``, below the panels). In
        a panel, the line of run i has label ``name`` (one key) or ``"name, key label"``
        (one line per key with several keys) and
        ``gid`` ``"name|key"``; the bars are Rectangles with gid ``"key|name"``. Values
        that are not finite (a diverged run) are left out of its line.

    Examples
    --------
    >>> runs = [{"name": "SGD", "loss": [2.0, 1.0], "acc": 0.9},
    ...         {"name": "Adam", "loss": [2.0, 0.5], "acc": 0.95}]
    >>> fig = run_panels(runs, ["loss"], bars=["acc"])
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['SGD', 'Adam']
    >>> [round(float(p.get_width()), 2) for p in fig.axes[1].patches]
    [0.9, 0.95]
    """
    specs = [_panel(spec) for spec in panels]
    bar_specs = [{"key": b} if isinstance(b, str) else dict(b) for b in bars]
    fig, axes = _grid(len(specs) + len(bar_specs), ncols)
    colours = {run["name"]: PALETTE[i % len(PALETTE)] for i, run in enumerate(runs)}
    for ax, spec in zip(axes, specs):
        several = len(spec["keys"]) > 1
        for run in runs:
            for key, key_label, style in zip(spec["keys"], spec["key_labels"], LINESTYLES):
                if key not in run:
                    continue
                values = _finite(run[key])
                if spec["smooth"]:
                    values = ewa(values, spec["smooth"], bias_correction=True)
                x = np.arange(spec["start"], spec["start"] + len(values))
                label = f"{run['name']}, {key_label}" if several else str(run["name"])
                if not several:
                    style = run.get("linestyle", style)
                ax.plot(x, values, color=colours[run["name"]], linestyle=style, label=label,
                        gid=f"{run['name']}|{key}", marker="o" if len(values) <= 12 else None,
                        markersize=5)
        ax.set(xlabel=spec["xlabel"], ylabel=spec["ylabel"],
               yscale="log" if spec["log"] else "linear")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if spec["title"]:
            ax.set_title(spec["title"])
    if specs and axes[0].get_lines():  # one legend for the figure, from the first panel
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize=11,
                   ncols=min(len(labels), 5 if len(specs) + len(bar_specs) > 2 else 4))
    for ax, spec in zip(axes[len(specs):], bar_specs):
        _bars(ax, runs, spec["key"], colours, spec.get("label", spec["key"]),
              spec.get("format", "{:.3f}"))
    if title:
        fig.suptitle(title)
    return fig


def _bars(ax, runs, key: str, colours: dict, label: str, fmt: str) -> None:
    names = [str(run["name"]) for run in runs if key in run]
    values = [_last(run[key]) for run in runs if key in run]
    positions = np.arange(len(names))[::-1]  # the first run on top
    for position, name, value in zip(positions, names, values):
        ax.barh(position, value if math.isfinite(value) else 0.0, color=colours[name],
                gid=f"{key}|{name}")
        ax.text(value if math.isfinite(value) else 0.0, position, " " + fmt.format(value),
                va="center", fontsize=10)
    ax.set_yticks(positions, names)
    ax.set_xlabel(label)
    finite = [v for v in values if math.isfinite(v)]
    if finite and max(finite) > 0:
        ax.set_xlim(0, max(finite) * 1.2)
    ax.grid(axis="y", visible=False)


@styled
def batch_size_figure(result: Mapping[str, Any], *, title: Optional[str] = None) -> Figure:
    """The three plots of the batch-size exercise, from ``batch_size_experiment``'s dict.

    Left: mean training loss per epoch, one line per batch size (log scale). Middle:
    test accuracy against batch size. Right: seconds per epoch against batch size, each
    point labelled with its number of steps per epoch. Batch sizes are on a log₂ axis.

    Parameters
    ----------
    result : mapping
        ``batch_size`` (k,), ``train_loss`` (k, epochs), ``test_accuracy`` (k,),
        ``seconds_per_epoch`` (k,) and optionally ``steps_per_epoch`` (k,).
    title : str, optional

    Returns
    -------
    Figure
        Three Axes; the first has one line per batch size, labelled ``"batch B"``; the
        second and third one line each (gid ``"test_accuracy"``, ``"seconds_per_epoch"``)
        whose x data are the batch sizes.

    Examples
    --------
    >>> fig = batch_size_figure({"batch_size": [16, 256], "train_loss": [[1.0, 0.5],
    ...                          [2.0, 1.5]], "test_accuracy": [0.95, 0.9],
    ...                          "seconds_per_epoch": [1.0, 0.2]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['batch 16', 'batch 256']
    >>> fig.axes[1].get_lines()[0].get_ydata().tolist()
    [0.95, 0.9]
    """
    sizes = np.asarray(result["batch_size"], dtype=float)
    losses = np.atleast_2d(np.asarray(result["train_loss"], dtype=float))
    fig, axes = new_figure(1, 3, figsize=(18.0, 5.0))
    for i, (size, loss) in enumerate(zip(sizes, losses)):
        epochs = np.arange(1, len(loss) + 1)
        axes[0].plot(epochs, _finite(loss), marker="o", markersize=5,
                     color=PALETTE[i % len(PALETTE)], label=f"batch {size:g}")
    axes[0].set(xlabel="epoch", ylabel="training loss (mean over the epoch)",
                yscale="log", title="Loss curves")
    axes[0].legend(fontsize=10)
    for ax, key, ylabel, panel_title in (
            (axes[1], "test_accuracy", "test accuracy", "Test accuracy"),
            (axes[2], "seconds_per_epoch", "seconds per epoch", "Time per epoch")):
        values = np.asarray(result[key], dtype=float)
        ax.plot(sizes, values, marker="o", color=PALETTE[0], gid=key)
        ax.set(xlabel="batch size", ylabel=ylabel, title=panel_title, xscale="log")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [f"{s:g}" for s in sizes])
    if "steps_per_epoch" in result:
        for size, seconds, steps in zip(sizes, result["seconds_per_epoch"],
                                        result["steps_per_epoch"]):
            axes[2].annotate(f"{int(steps)} steps", (size, seconds), textcoords="offset points",
                             xytext=(6, 6), fontsize=10)
    if title:
        fig.suptitle(title)
    return fig

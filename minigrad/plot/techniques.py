"""Training techniques at a glance: histograms of gradient magnitudes (mixed precision)
and bars of per-layer learning rates (layer-wise decay, discriminative fine-tuning).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import MARKER_COLOR, new_figure, styled

THRESHOLD_STYLES = (":", "--", "-.", (0, (5, 1, 1, 1, 1, 1)))


def log_magnitudes(values: Any) -> tuple:
    """``(log10 |v| of the non-zero finite entries, number of exact zeros)``.

    Examples
    --------
    >>> logs, zeros = log_magnitudes([0.0, 1e-3, -10.0, 0.0])
    >>> logs.tolist(), zeros
    ([-3.0, 1.0], 2)
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    flat = flat[np.isfinite(flat)]
    zero = flat == 0
    return np.log10(np.abs(flat[~zero])), int(zero.sum())


@styled
def magnitude_histograms(values: Mapping[str, Any], *, bins: Optional[Sequence[float]] = None,
                         thresholds: Optional[Mapping[str, float]] = None,
                         panel_thresholds: Optional[Mapping[str, Mapping[str, float]]] = None,
                         xlabel: str = "log₁₀ |gradient entry|",
                         title: Optional[str] = None) -> Figure:
    """One histogram of log₁₀|v| per array, stacked, the exact zeros in a bar of their own.

    Zero has no logarithm, so the entries that are exactly 0 (underflowed gradients, say)
    are counted apart and drawn as a grey bar left of the histogram, labelled with their
    count and share.

    Parameters
    ----------
    values : mapping name -> array
        One panel per array, top to bottom, titled by its name.
    bins : sequence of float, optional
        Edges in log₁₀ units; by default half-decade bins spanning all the panels' values.
    thresholds : mapping label -> float, optional
        Magnitudes (not logarithms) drawn as vertical lines in every panel, e.g. the
        smallest float16 numbers.
    panel_thresholds : mapping name -> (mapping label -> float), optional
        Extra vertical lines for the panel ``name`` only.
    xlabel, title : str

    Returns
    -------
    Figure
        Per panel (``fig.axes`` in the order of ``values``): a ``StepPatch`` with gid
        ``"histogram"`` whose values are the counts per bin, a ``Rectangle`` with gid
        ``"zeros"`` whose height is the number of zeros, and one line with gid
        ``"threshold"`` per threshold.

    Examples
    --------
    >>> fig = magnitude_histograms({"a": [0.0, 1e-3, 2e-3], "b": [1e-3, 1e-2]},
    ...                            bins=[-4, -3, -2, -1])
    >>> [[float(p.get_height()) for p in ax.patches if p.get_gid() == "zeros"]
    ...  for ax in fig.axes]
    [[1.0], [0.0]]
    >>> [p for p in fig.axes[1].patches if p.get_gid() == "histogram"][0].get_data()[0].tolist()
    [0, 1, 1]
    """
    if not values:
        raise ValueError("magnitude_histograms needs at least one array")
    thresholds = dict(thresholds or {})
    panel_thresholds = {name: dict(lines) for name, lines in (panel_thresholds or {}).items()}
    unknown = set(panel_thresholds) - set(values)
    if unknown:
        raise KeyError(f"panel_thresholds names panels that do not exist: {sorted(unknown)}")
    logs = {name: log_magnitudes(array) for name, array in values.items()}
    edges = _edges(bins, logs, thresholds, panel_thresholds)
    width = edges[1] - edges[0]
    zero_at = edges[0] - 1.5  # the zero bar stands apart, left of the bins
    separator = edges[0] - 0.5

    fig, axes = new_figure(len(values), 1, figsize=(14.0, 2.8 * len(values) + 0.8),
                           sharex=True, squeeze=False)
    axes = axes[:, 0]
    for index, (ax, (name, (log_values, zeros))) in enumerate(zip(axes, logs.items())):
        counts, _ = np.histogram(log_values, bins=edges)
        total = len(log_values) + zeros
        color = f"C{index}"
        ax.stairs(counts, edges, fill=True, color=color, alpha=0.45, gid="histogram")
        ax.stairs(counts, edges, color=color, linewidth=1.5)
        ax.bar([zero_at], [zeros], width=0.8, color="0.55", gid="zeros")
        peak = max(counts.max(initial=0), zeros, 1)
        ax.text(zero_at, zeros + 0.03 * peak,
                f"{zeros} zeros\n({100.0 * zeros / max(total, 1):.0f} %)",
                ha="center", va="bottom", fontsize=12)
        ax.set_ylim(0, 1.3 * peak)
        ax.axvline(separator, color="0.4", linewidth=1.0, gid="separator")
        lines = dict(thresholds)
        lines.update(panel_thresholds.get(name, {}))
        for number, (label, magnitude) in enumerate(lines.items()):
            ax.axvline(np.log10(magnitude), color=MARKER_COLOR, linewidth=1.6,
                       linestyle=THRESHOLD_STYLES[number % len(THRESHOLD_STYLES)],
                       label=f"{label} = {magnitude:.2g}", gid="threshold")
        ax.set_title(name, loc="left", fontsize=14)
        ax.set_ylabel("count")
        if lines:  # outside, on the right: the histograms keep all their room
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                      fontsize=11)
    ticks = np.arange(np.ceil(edges[0]), np.floor(edges[-1]) + 1)
    axes[-1].set_xticks([zero_at, *ticks], labels=["0", *[f"{t:g}" for t in ticks]])
    axes[-1].set_xlim(zero_at - 0.8, edges[-1] + 0.5 * width)
    axes[-1].set_xlabel(f"{xlabel}   (bar left of the line: entries exactly 0)")
    if title:
        fig.suptitle(title, fontsize=16)
    return fig


def _edges(bins, logs: dict, thresholds: dict, panel_thresholds: dict) -> np.ndarray:
    if bins is not None:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("bins must be at least two increasing edges")
        return edges
    marks = [np.log10(v) for v in thresholds.values()]
    marks += [np.log10(v) for lines in panel_thresholds.values() for v in lines.values()]
    everything = np.concatenate([values for values, _ in logs.values()] + [np.array(marks)])
    if everything.size == 0:
        return np.arange(-1.0, 1.01, 0.5)
    low, high = np.floor(everything.min()), np.ceil(everything.max())
    return np.arange(low, max(high, low + 1.0) + 0.25, 0.5)


def short_number(value: float) -> str:
    """A rate as two significant digits in powers of ten, e.g. ``"6.5e-4"``.

    Examples
    --------
    >>> short_number(0.00065), short_number(1e-3), short_number(0.5), short_number(0.0)
    ('6.5e-4', '1e-3', '5e-1', '0')
    """
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


@styled
def layer_lr_bars(rates: Mapping[str, Sequence[float]],
                  layers: Optional[Sequence[str]] = None, *, log: bool = True,
                  title: str = "Learning rate per layer") -> Figure:
    """Grouped bars: the learning rate of every layer under each recipe, bottom layer left.

    Parameters
    ----------
    rates : mapping recipe -> sequence of float
        One rate per layer, bottom (input side) first, e.g. the ``"lr"`` of the groups
        that ``optim.param_groups.layerwise_lr_decay_groups`` returns. All the same length.
    layers : sequence of str, optional
        Tick labels; ``"1"``, ``"2"``, … by default.
    log : bool, default True
        Log-scaled rate axis (the rates shrink geometrically going down).
    title : str

    Returns
    -------
    Figure
        One Axes with one ``BarContainer`` per recipe (``ax.containers``, labelled with
        the recipe), whose ``datavalues`` are the rates.

    Examples
    --------
    >>> fig = layer_lr_bars({"LLRD": [0.25, 0.5, 1.0], "flat": [1.0, 1.0, 1.0]})
    >>> [c.datavalues.tolist() for c in fig.axes[0].containers]
    [[0.25, 0.5, 1.0], [1.0, 1.0, 1.0]]
    """
    if not rates:
        raise ValueError("layer_lr_bars needs at least one recipe")
    lengths = {name: len(values) for name, values in rates.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"every recipe needs one rate per layer, got lengths {lengths}")
    n = next(iter(lengths.values()))
    labels = list(layers) if layers is not None else [str(i + 1) for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} layer labels for {n} layers")
    fig, ax = new_figure(figsize=(max(8.0, 1.5 * n + 2.0), 5.5))
    width = 0.8 / len(rates)
    positions = np.arange(n)
    for index, (name, values) in enumerate(rates.items()):
        values = np.asarray(values, dtype=np.float64)
        bars = ax.bar(positions + (index - (len(rates) - 1) / 2) * width, values, width,
                      label=name, color=f"C{index}")
        ax.bar_label(bars, labels=[short_number(v) for v in values], padding=2, fontsize=11)
    ax.set_xticks(positions, labels=labels)
    ax.set(xlabel="layer (input side left)", ylabel="learning rate", title=title,
           yscale="log" if log else "linear")
    if log:  # room above the tallest bar for its label
        low, high = ax.get_ylim()
        ax.set_ylim(low, high * 2.5)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left")
    return fig

"""The LR range-test curve: loss against learning rate, with the suggested rate marked."""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
from matplotlib.figure import Figure

from .style import OKABE_ITO, new_figure, styled


@styled
def lr_finder_curve(history: Mapping[str, list], suggested_lr: Optional[float] = None, *,
                    label: str = "suggestion", log_lr: bool = True, ax=None) -> Figure:
    """Draw an LR range test (``LRFinder.history``) and mark ``suggested_lr``.

    Parameters
    ----------
    history : mapping
        ``{"lr": [...], "loss": [...]}``, as recorded by :class:`schedules.LRFinder`.
    suggested_lr : float, optional
        The rate to mark (a dot on the curve and a dashed vertical line).
    label : str
        Legend text of the mark (e.g. the suggestion method).
    log_lr : bool, default True
        Log-scaled rate axis (the natural one for a geometric ramp).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        Its first line is the whole history.

    Examples
    --------
    >>> history = {"lr": [1e-4, 1e-3, 1e-2, 1e-1], "loss": [1.0, 0.8, 0.3, 2.0]}
    >>> fig = lr_finder_curve(history, 1e-3, label="steepest")
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [1.0, 0.8, 0.3, 2.0]
    """
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    lrs = np.asarray(history["lr"], dtype=np.float64)
    losses = np.asarray(history["loss"], dtype=np.float64)
    ax.plot(lrs, losses, label="loss (smoothed)")
    ax.set(xlabel="learning rate", ylabel="loss", title="LR range test",
           xscale="log" if log_lr else "linear")
    if suggested_lr is not None:
        finite = np.isfinite(losses)
        x = np.log(lrs[finite]) if log_lr else lrs[finite]
        y = np.interp(np.log(suggested_lr) if log_lr else suggested_lr, x, losses[finite])
        color = OKABE_ITO["vermillion"]
        ax.plot([suggested_lr], [y], marker="o", color=color, linestyle="none",
                label=f"{label}: {suggested_lr:.2e}")
        ax.axvline(suggested_lr, color=color, linestyle="--", alpha=0.6)
    ax.legend(loc="best")
    return fig

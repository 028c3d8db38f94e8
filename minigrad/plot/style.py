"""One look for every figure: the Okabe–Ito palette and sizes readable on a projector.

Colours come from Okabe & Ito (2008), "Color Universal Design": eight colours that stay
distinct for the common forms of colour blindness. Each plotting function draws inside
:func:`style`, a ``matplotlib.rc_context``, so the global rcParams are never changed.

Figures are made with :class:`matplotlib.figure.Figure` directly, not with pyplot: no
window opens, nothing is registered with pyplot, and the figure is freed when the last
reference goes. Show or save it yourself (``fig.savefig("loss.png")``; in a notebook the
returned figure displays itself).
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Tuple, TypeVar

from cycler import cycler
from matplotlib import rc_context
from matplotlib.figure import Figure

# Okabe & Ito's palette, black first dropped from the cycle (kept for markers and text).
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
# Order of the line cycle: the strongest contrasts first, yellow (faint on white) last.
PALETTE = tuple(OKABE_ITO[name] for name in ("blue", "vermillion", "bluish_green",
                                             "orange", "reddish_purple", "sky_blue",
                                             "yellow"))
MARKER_COLOR = OKABE_ITO["black"]

RC_PARAMS = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.labelsize": 14,
    "legend.fontsize": 12,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "lines.linewidth": 2.5,
    "lines.markersize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",  # perceptually uniform and colour-blind safe
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def style() -> Iterator[None]:
    """Draw with the package's rcParams inside the ``with`` block (restored afterwards).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> with style():
    ...     mpl.rcParams["lines.linewidth"]
    2.5
    """
    with rc_context(RC_PARAMS):
        yield


def styled(function: F) -> F:
    """Decorator: run a plotting function inside :func:`style`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with style():
            return function(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: Optional[Tuple[float, float]] = None,
               **subplots_kw) -> Tuple[Figure, Any]:
    """A pyplot-free Figure with a grid of Axes (one Axes, not an array, for 1 × 1).

    Parameters
    ----------
    nrows, ncols : int
        Shape of the grid of Axes.
    figsize : (float, float), optional
        Inches; 7 × 5 per Axes by default (8 × 5 for a single column).
    **subplots_kw
        Passed to ``Figure.subplots`` (``sharey=True``, ``subplot_kw={...}``, ...).

    Returns
    -------
    (Figure, Axes or ndarray of Axes)

    Examples
    --------
    >>> fig, ax = new_figure()
    >>> type(fig).__name__, len(fig.axes)
    ('Figure', 1)
    """
    figsize = figsize or ((8.0 if ncols == 1 else 7.0 * ncols), 5.0 * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **subplots_kw)

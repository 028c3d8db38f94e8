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
from matplotlib.text import Text

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

# Three text sizes for every figure, in points: titles, axis labels and body text, tick
# labels, legends and annotations. With figures at most MAX_WIDTH inches wide they stay
# readable when a slide shows the figure at its full width.
TITLE_SIZE, LABEL_SIZE, SMALL_SIZE = 16, 14, 12
FONT_SIZES = (SMALL_SIZE, LABEL_SIZE, TITLE_SIZE)
SINGLE = (9.0, 5.5)   # one Axes
WIDE = (13.0, 5.5)    # two Axes side by side, or one with its legend outside
MAX_WIDTH = 13.0

RC_PARAMS = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "font.size": LABEL_SIZE,
    "figure.titlesize": TITLE_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": LABEL_SIZE,
    "legend.fontsize": SMALL_SIZE,
    "legend.title_fontsize": SMALL_SIZE,
    "xtick.labelsize": SMALL_SIZE,
    "ytick.labelsize": SMALL_SIZE,
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
        Inches; :data:`SINGLE` for one column, :data:`WIDE` for two or more by default
        (5.5 inches high per row).
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
    width = SINGLE[0] if ncols == 1 else WIDE[0]
    figsize = figsize or (width, SINGLE[1] * nrows)
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **subplots_kw)


def uniform_text(fig: Figure) -> Figure:
    """Give every text of ``fig`` one of the three :data:`FONT_SIZES` and cap its width.

    Each Text artist (titles, labels, tick labels, legends, annotations) takes the nearest
    of the three sizes, so that figures drawn with different settings look alike, and a
    figure wider than :data:`MAX_WIDTH` inches is narrowed to it (a wider figure would
    be shrunk on a slide, and its text with it). Returns ``fig``.

    Examples
    --------
    >>> fig, ax = new_figure(figsize=(18, 4))
    >>> _ = ax.set_title("loss", fontsize=9)
    >>> _ = uniform_text(fig)
    >>> ax.title.get_fontsize(), float(fig.get_figwidth())
    (12.0, 13.0)
    """
    for text in fig.findobj(lambda artist: isinstance(artist, Text)):
        size = text.get_fontsize()
        text.set_fontsize(min(FONT_SIZES, key=lambda allowed: abs(allowed - size)))
    for ax in fig.axes:  # tick labels not created yet take their size from the Axis
        for axis in (getattr(ax, f"{name}axis", None) for name in ("x", "y", "z")):
            if axis is not None:
                size = axis.get_ticklabels()[0].get_fontsize() if axis.get_ticklabels() \
                    else SMALL_SIZE
                axis.set_tick_params(labelsize=min(FONT_SIZES, key=lambda a: abs(a - size)))
    if fig.get_figwidth() > MAX_WIDTH:
        fig.set_figwidth(MAX_WIDTH)
    return fig

"""The playground's figure: the paths on the contour map beside the loss curves.

Built with :mod:`minigrad.plot` (its style, ``landscape_grid`` and
``draw_trajectories``) on a pyplot-free Figure rendered by Agg. What does not change
between redraws is computed once per surface and kept: the grid, the contour levels and
the contour panel itself (map, ticks, labels, title), rendered to pixels once and
pasted under a transparent Axes that holds the paths. A redraw then
costs the runs, the paths and the loss panel.

>>> from minigrad.playground.config import Config
>>> from minigrad.playground.logic import run_config
>>> fig = playground_figure("ravine", run_config(Config(surface="ravine", steps=20)))
>>> [line.get_gid() for line in fig.axes[0].get_lines()][:4]
['minimum', 'path', 'start', 'end']
>>> fig.axes[1].get_title()
'loss − min f (log scale)'
>>> figure_png(fig)[:4]
b'\\x89PNG'
"""
from __future__ import annotations

import functools
import io
from typing import List, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from minigrad import landscapes
from minigrad.plot.style import MARKER_COLOR, styled
from minigrad.plot.surfaces import draw_trajectories, landscape_grid

GRID_POINTS = 150
CONTOUR_LEVELS = 20
FIGSIZE = (13.0, 5.2)
DPI = 80
# A fixed layout: constrained layout would measure every label again on each redraw.
LAYOUT = {"left": 0.06, "right": 0.99, "bottom": 0.11, "top": 0.93, "wspace": 0.18}


@functools.lru_cache(maxsize=None)
def cached_grid(surface: str):
    """``(X, Y, Z, levels, minima, name)`` of a surface, computed once."""
    return landscape_grid(landscapes.get(surface), GRID_POINTS, CONTOUR_LEVELS)


def _two_panels(dpi: int):
    """A Figure with the playground's two Axes at their fixed places."""
    fig = Figure(figsize=FIGSIZE, dpi=dpi)
    fig.subplots_adjust(**LAYOUT)
    left, right = fig.subplots(1, 2)
    return fig, left, right


def _set_limits(ax, surface: str) -> None:
    X, Y = cached_grid(surface)[:2]
    ax.set(xlim=(X.min(), X.max()), ylim=(Y.min(), Y.max()))


@functools.lru_cache(maxsize=32)
def surface_pixels(surface: str, dpi: int = DPI) -> np.ndarray:
    """The figure's fixed part as RGBA pixels, rendered once per surface: the contour map
    with its axes, ticks, labels and title (the loss panel is left blank).

    >>> pixels = surface_pixels("booth")
    >>> pixels.dtype, pixels.shape == (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI), 4)
    (dtype('uint8'), True)
    """
    fig, ax, right = _two_panels(dpi)
    X, Y, Z, levels = cached_grid(surface)[:4]
    ax.contourf(X, Y, Z, levels=levels, alpha=0.35, extend="both")
    ax.contour(X, Y, Z, levels=levels, colors="0.35", linewidths=0.6)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    _set_limits(ax, surface)
    ax.set(xlabel="x", ylabel="y")
    ax.set_title(f"{surface}: paths", y=1.0)  # a fixed y skips matplotlib's title placement
    ax.grid(False)
    right.set_visible(False)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def _finite_part(array: np.ndarray, run: dict) -> np.ndarray:
    """The rows before the run stopped (all rows when it did not)."""
    stop = run["stopped_at"]
    return array if stop is None else array[:stop]


def _label(run: dict) -> str:
    if run["stopped_at"] is not None:
        return f"{run['name']} (diverged at step {run['stopped_at']})"
    return run["name"]


def _draw_surface(fig: Figure, ax, surface: str) -> None:
    """The cached contour panel pasted into the figure, ``ax`` made a transparent layer on
    it (same place, same limits) that holds the known minima (stars) and the paths."""
    fig.figimage(surface_pixels(surface, int(fig.dpi)), xo=0, yo=0, origin="upper",
                 zorder=-1)
    ax.set_axis_off()             # frame, ticks and labels are in the pasted pixels
    _set_limits(ax, surface)
    minima = cached_grid(surface)[4]
    if len(minima):
        ax.plot(minima[:, 0], minima[:, 1], linestyle="none", marker="*", markersize=16,
                color=MARKER_COLOR, label="minimum", gid="minimum", zorder=5)


def _draw_losses(ax, surface: str, runs: List[dict]) -> None:
    """Loss per step: the gap to the minimum on a log scale when the minimum is known."""
    min_value = landscapes.get(surface).min_value
    for run in runs:
        loss = _finite_part(run["loss"], run)
        if min_value is not None:
            loss = loss - min_value
        ax.plot(np.arange(len(loss)), loss, label=_label(run), gid="loss")
    if min_value is not None:
        ax.set(yscale="log", ylabel="loss − min f")
        ax.yaxis.set_minor_locator(NullLocator())  # dozens of minor ticks cost ~0.1 s a draw
        ax.yaxis.set_major_locator(LogLocator(numticks=6))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # no TeX
        ax.set_title("loss − min f (log scale)", y=1.0)
    else:
        ax.set(ylabel="loss")
        ax.set_title("loss (no minimum: linear scale)", y=1.0)
    ax.set_xlabel("step")


@styled
def playground_figure(surface: str, runs: List[dict], dpi: int = DPI) -> Figure:
    """Paths on the contour map (left) and loss curves (right), one colour per optimizer.

    Runs that could not start (``run["error"]``) are left out; a diverged run is drawn up
    to its last finite point, and its label says where it stopped.
    """
    drawn = [run for run in runs if run["error"] is None]
    fig, left, right = _two_panels(dpi)
    _draw_surface(fig, left, surface)
    draw_trajectories(left, {_label(run): _finite_part(run["path"], run) for run in drawn})
    _draw_losses(right, surface, drawn)
    if drawn:
        right.legend(loc="lower left", fontsize=10)  # losses start high, on the left
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at its own dpi (Agg, no pyplot; light, fast compression)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()

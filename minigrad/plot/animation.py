"""Animated optimizer paths: the trajectories of :mod:`.surfaces`, drawn step by step.

:func:`animate_trajectories` returns a Matplotlib ``FuncAnimation`` built on a
:class:`~matplotlib.figure.Figure` made without pyplot (no window opens). Save it as a GIF
with Pillow, which Matplotlib already depends on::

    from matplotlib.animation import PillowWriter
    anim = animate_trajectories(landscapes.get("rosenbrock"), runs, frames=60)
    anim.save("paths.gif", writer=PillowWriter(fps=15), dpi=100)
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from matplotlib.animation import FuncAnimation

from .style import MARKER_COLOR, new_figure, style
from .surfaces import _contours, as_paths, landscape_grid


def animate_trajectories(landscape: Any, runs: Any, frames: int = 60, *, n: int = 150,
                         n_levels: int = 20, interval: int = 80,
                         title: Optional[str] = None) -> FuncAnimation:
    """Optimizer paths growing over the contour map, one frame every few steps.

    Parameters
    ----------
    landscape : landscape object or (X, Y, Z)
        As for :func:`~minigrad.plot.trajectories_on_contours`.
    runs : trajectories
        ``run_many`` results, a mapping ``name -> (N, 2) path``, or a list of those.
    frames : int, default 60
        Number of frames; the steps shown are spread evenly over the longest path
        (the first frame shows the start, the last the whole path).
    n, n_levels : int
        Grid resolution and number of contour levels.
    interval : int, default 80
        Milliseconds between frames when played interactively.
    title : str, optional
        Axes title; the landscape's name by default. The current step is appended.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        ``anim._fig`` is the Figure; save with ``anim.save(path, writer=PillowWriter())``.

    Examples
    --------
    >>> X, Y = np.meshgrid(np.linspace(-2, 2, 20), np.linspace(-2, 2, 20))
    >>> anim = animate_trajectories((X, Y, X**2 + Y**2), {"GD": [[1.5, 1.5], [0.5, 0.5], [0, 0]]},
    ...                             frames=3)
    >>> anim._fig.axes[0].get_title()
    'step 0'
    >>> import os, tempfile
    >>> from matplotlib.animation import PillowWriter
    >>> path = os.path.join(tempfile.mkdtemp(), "gd.gif")
    >>> anim.save(path, writer=PillowWriter(fps=2), dpi=30)
    >>> os.path.getsize(path) > 0
    True
    """
    frames = int(frames)
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    paths = as_paths(runs)
    if not paths:
        raise ValueError("no trajectories to animate")
    X, Y, Z, levels, minima, name = landscape_grid(landscape, n, n_levels)
    longest = max(len(path) for _, path in paths)
    shown = np.unique(np.linspace(0, longest - 1, frames).round().astype(int))
    heading = title if title is not None else name
    with style():
        fig, ax = new_figure(figsize=(8, 6.5))
        _contours(ax, X, Y, Z, levels, minima)
        lines, heads = [], []
        for i, (label, path) in enumerate(paths):
            # Earlier paths drawn wider, so paths that coincide stay visible side by side.
            width = 2.0 + 2.0 * (len(paths) - 1 - i)
            (line,) = ax.plot(path[:1, 0], path[:1, 1], label=label, gid="path", zorder=3,
                              linewidth=width)
            (head,) = ax.plot(path[:1, 0], path[:1, 1], linestyle="none", marker="o",
                              color=line.get_color(), markeredgecolor=MARKER_COLOR,
                              zorder=4, gid="head")
            lines.append(line)
            heads.append(head)
        ax.legend(loc="upper right")
        text = f"{heading} — step 0" if heading else "step 0"
        ax.set_title(text)

    def update(step: int):
        for (_, path), line, head in zip(paths, lines, heads):
            upto = path[: min(step, len(path) - 1) + 1]
            line.set_data(upto[:, 0], upto[:, 1])
            finite = upto[np.isfinite(upto).all(axis=1)]
            point = finite[-1:] if len(finite) else upto[:1]
            head.set_data(point[:, 0], point[:, 1])
        ax.set_title(f"{heading} — step {step}" if heading else f"step {step}")
        return (*lines, *heads)

    return FuncAnimation(fig, update, frames=[int(s) for s in shown], interval=interval,
                         blit=False, repeat=True)

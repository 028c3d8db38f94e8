"""Loss surfaces: a 3-D surface beside its contour map, optimizer paths on the contours,
and the momentum picture on a ravine (zig-zag without, smooth with).

A *landscape* is any object with ``evaluate_grid(n) -> (X, Y, Z)`` and, optionally,
``levels(n)``, ``minima`` (points, shape ``(k, 2)``), ``name`` (see
:mod:`minigrad.landscapes`), or simply a tuple ``(X, Y, Z)`` of grid arrays.
A *trajectory* is an ``(N, 2)`` array of points, a dict with ``"path"`` (and
``"name"``) as returned by ``run_trajectory``, or a mapping ``name -> path``.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure

from .style import MARKER_COLOR, WIDE, new_figure, styled

Grid = Tuple[np.ndarray, np.ndarray, np.ndarray]


def landscape_grid(landscape: Any, n: int = 100, n_levels: int = 20):
    """``(X, Y, Z, levels, minima, name)`` of a landscape object or an ``(X, Y, Z)`` tuple.

    Levels come from ``landscape.levels(n_levels)`` when it has them, otherwise from
    quantiles of Z (dense near the minimum, where paths end). ``minima`` is an
    ``(k, 2)`` array, empty when unknown.

    Examples
    --------
    >>> X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    >>> X, Y, Z, levels, minima, name = landscape_grid((X, Y, X**2 + Y**2), n_levels=4)
    >>> levels.shape, minima.shape, name
    ((4,), (0, 2), '')
    """
    if hasattr(landscape, "evaluate_grid"):
        X, Y, Z = (np.asarray(a, dtype=float) for a in landscape.evaluate_grid(n))
        levels = (np.asarray(landscape.levels(n_levels), dtype=float)
                  if hasattr(landscape, "levels") else None)
        minima = getattr(landscape, "minima", None)
        name = str(getattr(landscape, "name", ""))
    else:
        X, Y, Z = (np.asarray(a, dtype=float) for a in landscape)
        levels, minima, name = None, None, ""
    if levels is None:
        levels = np.unique(np.quantile(Z, np.linspace(0.0, 0.95, n_levels) ** 2))
    minima = np.empty((0, 2)) if minima is None else np.asarray(minima, float).reshape(-1, 2)
    return X, Y, Z, levels, minima, name


def _path_of(run: Any) -> np.ndarray:
    """The (N, 2) path of a run_trajectory result, or of a plain array-like."""
    path = run["path"] if isinstance(run, Mapping) else run
    return np.asarray(path, float).reshape(-1, 2)


def as_paths(trajectories: Any) -> list:
    """Normalise trajectories to a list of ``(name, path)`` with ``path`` of shape (N, 2).

    Examples
    --------
    >>> [(name, path.shape) for name, path in as_paths({"SGD": [[0, 0], [1, 1]]})]
    [('SGD', (2, 2))]
    >>> [name for name, _ in as_paths({"Adam": {"path": [[0, 0], [1, 1]], "loss": [1, 0]}})]
    ['Adam']
    """
    if isinstance(trajectories, Mapping):
        if "path" in trajectories:  # one run_trajectory result
            trajectories = [trajectories]
        else:
            return [(str(k), _path_of(v)) for k, v in trajectories.items()]
    elif isinstance(trajectories, np.ndarray) and trajectories.ndim == 2:
        trajectories = [trajectories]
    paths = []
    for i, item in enumerate(trajectories):
        if isinstance(item, Mapping):
            paths.append((str(item.get("name", f"path {i}")), np.asarray(item["path"], float)))
        else:
            paths.append((f"path {i}", np.asarray(item, float).reshape(-1, 2)))
    return paths


def _contours(ax, X, Y, Z, levels, minima) -> None:
    """Filled contours, their lines, and the known minima as black stars."""
    ax.contourf(X, Y, Z, levels=levels, alpha=0.35, extend="both")
    ax.contour(X, Y, Z, levels=levels, colors="0.35", linewidths=0.8)
    if len(minima):
        ax.plot(minima[:, 0], minima[:, 1], linestyle="none", marker="*", markersize=18,
                color=MARKER_COLOR, label="minimum", gid="minimum", zorder=5)
    ax.set(xlabel="$x$", ylabel="$y$", xlim=(X.min(), X.max()), ylim=(Y.min(), Y.max()))
    ax.grid(False)


@styled
def surface_and_contour(landscape: Any, *, n: int = 100, n_levels: int = 20,
                        title: Optional[str] = None) -> Figure:
    """The landscape as a 3-D surface (left) and as a contour map (right).

    Parameters
    ----------
    landscape : landscape object or (X, Y, Z)
        See the module docstring.
    n : int, default 100
        Grid points per axis.
    n_levels : int, default 20
        Number of contour levels.
    title : str, optional
        Figure title; the landscape's ``name`` by default.

    Returns
    -------
    Figure
        ``fig.axes[0]`` is the 3-D Axes, ``fig.axes[1]`` the contour Axes, where the
        minima are the line with ``gid == "minimum"``.

    Examples
    --------
    >>> X, Y = np.meshgrid(np.linspace(-2, 2, 30), np.linspace(-1, 1, 30))
    >>> fig = surface_and_contour((X, Y, X**2 + 10 * Y**2), title="bowl")
    >>> [ax.name for ax in fig.axes]
    ['3d', 'rectilinear']
    """
    X, Y, Z, levels, minima, name = landscape_grid(landscape, n, n_levels)
    fig = Figure(figsize=WIDE, layout="constrained")
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    ax3d.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
    ax3d.set(xlabel="$x$", ylabel="$y$")
    ax3d.set_zlabel("loss", labelpad=12)
    ax = fig.add_subplot(1, 2, 2)
    _contours(ax, X, Y, Z, levels, minima)
    if len(minima):
        ax.legend(loc="upper right")
    fig.suptitle(title if title is not None else name)
    return fig


def cut_at_window(path: np.ndarray, xlim: Tuple[float, float],
                  ylim: Tuple[float, float]) -> Tuple[np.ndarray, bool]:
    """The part of ``path`` before it first leaves the window, ended on the window's edge.

    Returns ``(points, left)``: ``left`` is True when the path left the window (or stopped
    being finite), and then the last point is where it crossed the edge.

    Examples
    --------
    >>> points, left = cut_at_window(np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]),
    ...                              (-2, 2), (-2, 2))
    >>> points.tolist(), left
    ([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], True)
    """
    (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
    inside = (np.isfinite(path).all(axis=1) & (path[:, 0] >= x0) & (path[:, 0] <= x1)
              & (path[:, 1] >= y0) & (path[:, 1] <= y1))
    if inside.all():
        return path, False
    first_out = int(np.argmin(inside))
    if first_out == 0:
        return path[:0], True
    a, b = path[first_out - 1], path[first_out]
    if not np.isfinite(b).all():
        return path[:first_out], True
    # the largest fraction t of the step a -> b that stays inside the window
    t = 1.0
    for low, high, start, change in ((x0, x1, a[0], b[0] - a[0]), (y0, y1, a[1], b[1] - a[1])):
        if change > 0:
            t = min(t, (high - start) / change)
        elif change < 0:
            t = min(t, (low - start) / change)
    return np.vstack([path[:first_out], a + t * (b - a)]), True


def draw_trajectories(ax, trajectories: Any, *, clip: bool = False) -> None:
    """Draw paths on ``ax``, each with its start (circle) and end (cross) marked.

    With ``clip`` the paths stay inside the Axes' current limits: a path that leaves them
    is cut where it crosses the edge (:func:`cut_at_window`), and a triangle
    (``gid="exit"``) marks where it left; the limits are kept. Markers are
    separate lines with ``gid`` ``"start"``, ``"end"`` and ``"exit"``, in the path's
    colour, so tests and readers can find them.
    """
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    first_end = first_exit = True
    for i, (name, path) in enumerate(as_paths(trajectories)):
        points, left = cut_at_window(path, xlim, ylim) if clip else (path, False)
        (line,) = ax.plot(points[:, 0], points[:, 1], marker=".", markersize=5, label=name,
                          gid="path", zorder=3)
        colour = line.get_color()
        if not len(points):
            continue
        ax.plot(*points[0], linestyle="none", marker="o", color=colour,
                markeredgecolor=MARKER_COLOR, label="start" if i == 0 else "_start",
                gid="start", zorder=4)
        if left:
            ax.plot(*points[-1], linestyle="none", marker="^", markersize=12, color=colour,
                    markeredgecolor=MARKER_COLOR, clip_on=False, gid="exit", zorder=4,
                    label="left the plot" if first_exit else "_exit")
            first_exit = False
        else:
            ax.plot(*points[-1], linestyle="none", marker="X", color=colour,
                    markeredgecolor=MARKER_COLOR, label="end" if first_end else "_end",
                    gid="end", zorder=4)
            first_end = False
    if clip:
        ax.set(xlim=xlim, ylim=ylim)


@styled
def trajectories_on_contours(landscape: Any, trajectories: Any, *, n: int = 200,
                             n_levels: int = 20, title: Optional[str] = None) -> Figure:
    """Optimizer paths on the contour map, start, end and the minima marked.

    Parameters
    ----------
    landscape : landscape object or (X, Y, Z)
        See the module docstring; its grid fixes the axes' limits.
    trajectories : array (N, 2), dict, list of those, or mapping name -> path
        The paths, e.g. ``run_trajectory`` results.
    n, n_levels : int
        Grid resolution and number of contour levels.
    title : str, optional
        Axes title; the landscape's ``name`` by default.

    Returns
    -------
    Figure
        One Axes, limited to the landscape's grid; its lines with ``gid`` ``"path"``,
        ``"start"``, ``"end"``, ``"exit"`` and ``"minimum"`` hold the paths and markers.
        A path that leaves the grid is cut at its edge, where a triangle (``"exit"``)
        marks it.

    Examples
    --------
    >>> X, Y = np.meshgrid(np.linspace(-2, 2, 30), np.linspace(-2, 2, 30))
    >>> path = np.array([[-1.5, 1.5], [-0.5, 0.4], [0.0, 0.0]])
    >>> fig = trajectories_on_contours((X, Y, X**2 + Y**2), {"GD": path})
    >>> [line.get_gid() for line in fig.axes[0].get_lines()]
    ['path', 'start', 'end']
    """
    X, Y, Z, levels, minima, name = landscape_grid(landscape, n, n_levels)
    fig, ax = new_figure()
    _contours(ax, X, Y, Z, levels, minima)
    draw_trajectories(ax, trajectories, clip=True)
    ax.set_title(title if title is not None else name)
    ax.legend(loc="best")
    return fig


def ravine_paths(steps: int = 40, *, lr: float = 0.095, beta: float = 0.9,
                 curvature: Tuple[float, float] = (0.5, 20.0),
                 start: Sequence[float] = (-9.0, 1.5)) -> dict:
    """Paths of plain gradient descent and of momentum on the ravine ½(a·x² + b·y²).

    Both run the package's optimizers with the same learning rate: ``optim.SGD`` and
    ``optim.MomentumEWA`` (v ← βv + (1 − β)g, θ ← θ − ηv, the chapters' form).

    Returns
    -------
    dict
        ``{"gradient descent": (steps + 1, 2) array, "momentum (β=…)": ...}``.

    Examples
    --------
    >>> paths = ravine_paths(5)
    >>> [p.shape for p in paths.values()]
    [(6, 2), (6, 2)]
    """
    import minigrad
    import optim

    scale = np.asarray(curvature, dtype=np.float64)

    def run(make_optimizer) -> np.ndarray:
        w = minigrad.tensor(np.array(start, dtype=np.float64), requires_grad=True)
        opt, path = make_optimizer([w]), [w.data.copy()]
        for _ in range(steps):
            w.grad = scale * w.data  # gradient of ½(a x² + b y²)
            opt.step()
            path.append(w.data.copy())
        return np.array(path)

    return {"gradient descent": run(lambda p: optim.SGD(p, lr=lr)),
            f"momentum (β={beta:g})": run(lambda p: optim.MomentumEWA(p, lr=lr, beta=beta))}


@styled
def momentum_ravine(steps: int = 40, *, lr: float = 0.095, beta: float = 0.9,
                    curvature: Tuple[float, float] = (0.5, 20.0),
                    start: Sequence[float] = (-9.0, 1.5)) -> Figure:
    """Gradient descent zig-zags across a ravine; momentum averages the zig-zag away.

    Parameters are those of :func:`ravine_paths`; the ravine is ½(a·x² + b·y²) with
    ``(a, b) = curvature``, steep across (y) and shallow along (x).

    Returns
    -------
    Figure
        Two Axes side by side, same contours: gradient descent (left), momentum
        (right); each has lines with ``gid`` ``"path"``, ``"start"``, ``"end"``,
        ``"minimum"``.

    Examples
    --------
    >>> fig = momentum_ravine(10)
    >>> [ax.get_title() for ax in fig.axes]
    ['gradient descent', 'momentum (β=0.9)']
    """
    a, b = curvature
    half_width = max(abs(start[0]), abs(start[1])) * 1.1
    xs = np.linspace(-half_width, half_width, 200)
    ys = np.linspace(-abs(start[1]) * 1.6, abs(start[1]) * 1.6, 120)
    X, Y = np.meshgrid(xs, ys)
    Z = 0.5 * (a * X**2 + b * Y**2)
    levels = np.geomspace(Z.max() * 1e-3, Z.max(), 12)
    fig, axes = new_figure(1, 2, figsize=(WIDE[0], 4.5), sharey=True)
    for ax, (name, path) in zip(axes, ravine_paths(steps, lr=lr, beta=beta, curvature=curvature,
                                                   start=start).items()):
        _contours(ax, X, Y, Z, levels, np.zeros((1, 2)))
        draw_trajectories(ax, {name: path}, clip=True)
        ax.set_title(name)
        ax.legend(loc="lower right")
    return fig

"""Gallery figures of the loss landscapes: the surface, trajectories of four optimizers on
every landscape of :mod:`minigrad.landscapes`, and the animation.

Where a landscape has a lesson (:data:`CONTRASTS`: the saddle, Rastrigin, the non-convex
bowl, Goldstein–Price), the start, the optimizers and their learning rates are picked by
hand so that the paths show it, and the caption says what they show. Elsewhere learning
rates are picked per landscape and optimizer with
:func:`minigrad.trajectories.tune_lr` (lowest final loss without divergence), taking the
smallest candidate that does as well as the best, so every path shows the optimizer at its
best on that surface without needless jumps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from ..plot import style, surface_and_contour, trajectories_on_contours
from ..plot.style import WIDE
from .registry import register

CANDIDATES = np.geomspace(1e-4, 1.0, 9)


def _optimizers():
    import optim

    return {"SGD": (optim.SGD, {}), "Momentum (0.9)": (optim.SGD, {"momentum": 0.9}),
            "RMSprop": (optim.RMSprop, {}), "Adam": (optim.Adam, {})}


def _calm_lr(result: dict, tolerance: float = 1e-3) -> float:
    """The smallest candidate whose final loss is within ``tolerance`` of tune_lr's best.

    tune_lr breaks ties towards the largest rate, whose paths jump across the plot;
    for a picture the calmest rate that does as well is the better choice.
    """
    if result["lr"] is None:
        return 1e-3
    finals, best = result["final_losses"], result["final_loss"]
    good = np.isfinite(finals) & (finals <= best + tolerance * (1.0 + abs(best)))
    return float(result["candidates"][good].min())


def tuned_runs(name: str, steps: int) -> dict:
    """``run_many`` of the four optimizers on landscape ``name``, each at its tuned lr."""
    from minigrad.landscapes import get
    from minigrad.trajectories import run_many, tune_lr

    f = get(name)
    specs = {}
    with np.errstate(all="ignore"):  # diverging candidates overflow; tune_lr drops them
        for label, (cls, kwargs) in _optimizers().items():
            lr = _calm_lr(tune_lr(f, cls, CANDIDATES, steps=steps, **kwargs))
            specs[f"{label}, lr={lr:.2g}"] = (cls, {"lr": lr, **kwargs})
        return run_many(f, specs, steps)


@register("loss_surface", "A toy non-convex loss surface, sin(x² + y²)/(x² + y² + 1) + "
          "0.1(x² + y²), as a 3-D surface (left) and as contours (right): a ring of bumps "
          "around the minimum at the origin.")
def loss_surface(quick: bool = False):
    from minigrad.landscapes import get

    return surface_and_contour(get("nonconvex_bowl"), n=40 if quick else 100,
                               title="A non-convex loss surface")


@dataclass(frozen=True)
class Contrast:
    """A trajectory figure built to make one point: a start, a step count, optimizers
    with hand-picked learning rates, and the caption saying what the paths show."""

    start: Tuple[float, float]
    steps: int
    optimizers: Dict[str, Tuple[str, dict]]  # label -> (optim class name, kwargs)
    caption: str
    window: Optional[Tuple[Tuple[float, float], Tuple[float, float]]] = None  # zoom

CONTRASTS: Dict[str, Contrast] = {
    "saddle": Contrast(
        (1.0, 1e-3), 120,
        {"SGD, lr=0.01": ("SGD", {"lr": 0.01}),
         "Momentum (0.9), lr=0.001": ("SGD", {"lr": 0.001, "momentum": 0.9}),
         "Adam, lr=0.01": ("Adam", {"lr": 0.01})},
        "The saddle x² − y² from (1, 0.001), just off the ridge, 120 steps. SGD (lr 0.01) "
        "and momentum (β = 0.9, lr 0.001: the same step in the long run) slide down to the "
        "saddle point and stall there, because the escaping gradient −2y is tiny near "
        "y = 0 (loss ≈ 0.008 and 0.004). Adam (lr 0.01) divides by √v̂, so even its first "
        "steps along y are about lr long: it escapes down the y direction (loss ≈ −2.9)."),
    "rastrigin": Contrast(
        (-3.3, 2.2), 300,
        {"SGD, lr=0.002": ("SGD", {"lr": 0.002}),
         "Momentum (0.98), lr=0.006": ("SGD", {"lr": 0.006, "momentum": 0.98}),
         "Adam, lr=0.1": ("Adam", {"lr": 0.1})},
        "Rastrigin (A = 10) from (−3.3, 2.2), off the diagonal, 300 steps. SGD (lr 0.002) "
        "and Adam (lr 0.1) stop in the local minimum next to the start (loss ≈ 12.9); "
        "heavy momentum (β = 0.98, lr 0.006) carries its speed over three ridges and "
        "ends swinging around the local minimum at (0, 2) (loss 8–9.4 over its last steps; "
        "4 at that minimum), still short of the global one at the origin.",
        window=((-4.5, 1.5), (-0.7, 3.3))),
    "nonconvex_bowl": Contrast(
        (2.2, 2.8), 200,
        {"SGD, lr=0.1": ("SGD", {"lr": 0.1}),
         "Momentum (0.9), lr=0.1": ("SGD", {"lr": 0.1, "momentum": 0.9}),
         "RMSprop, lr=0.2": ("RMSprop", {"lr": 0.2}),
         "Adam, lr=0.2": ("Adam", {"lr": 0.2})},
        "The non-convex bowl from (2.2, 2.8), 200 steps. SGD (lr 0.1) and Adam (lr 0.2) "
        "settle in the ring of local minima at radius ≈ 2 (loss ≈ 0.25). Momentum "
        "(β = 0.9, lr 0.1) carries its speed over the ring into the global minimum at the "
        "origin; RMSprop (lr 0.2), whose steps stay about lr long however flat the "
        "surface, hops over the ring too but keeps rattling around the origin "
        "(loss ≈ 0.02)."),
    "goldstein_price": Contrast(
        (-1.0, 1.0), 300,
        {"SGD, lr=1e-6": ("SGD", {"lr": 1e-6}),
         "Momentum (0.9), lr=1e-6": ("SGD", {"lr": 1e-6, "momentum": 0.9}),
         "Adam, lr=0.05": ("Adam", {"lr": 0.05})},
        "Goldstein–Price from (−1, 1), 300 steps. Its gradients span six decades; at "
        "lr 1e-6 plain SGD crawls (loss ≈ 130). "
        "Momentum (β = 0.9) at the same rate builds up speed and reaches the global "
        "minimum (0, −1) (loss ≈ 3.1). Adam (lr 0.05), whose steps ignore the gradient's "
        "size, heads instead into the basin of the local minimum near (−0.6, −0.4) "
        "(loss ≈ 46 after 300 steps; that minimum's value is 30)."),
}


def contrast_runs(name: str) -> dict:
    """``run_many`` of the optimizers of ``CONTRASTS[name]``: the runs its figure draws.

    Examples
    --------
    >>> runs = contrast_runs("saddle")
    >>> bool(runs["Adam, lr=0.01"]["loss"][-1] < runs["SGD, lr=0.01"]["loss"][-1])
    True
    """
    import optim
    from minigrad.landscapes import get
    from minigrad.trajectories import run_many

    contrast = CONTRASTS[name]
    specs = {label: (getattr(optim, cls), kwargs)
             for label, (cls, kwargs) in contrast.optimizers.items()}
    return run_many(get(name), specs, contrast.steps, start=contrast.start)


def trajectory_runs(name: str, quick: bool = False) -> dict:
    """The runs that ``trajectories_<name>`` draws: the hand-picked contrast when there is
    one (the same in quick mode: 2-D runs are cheap), else each optimizer at its tuned lr."""
    if name in CONTRASTS:
        return contrast_runs(name)
    return tuned_runs(name, 60 if quick else 500)


def _trajectory_figure(name: str):
    def figure(quick: bool = False):
        from minigrad.landscapes import get

        runs = trajectory_runs(name, quick)
        steps = len(next(iter(runs.values()))["loss"]) - 1
        fig = trajectories_on_contours(get(name), runs, n=60 if quick else 200,
                                       title=f"{name.replace('_', ' ')}: {steps} steps")
        ax = fig.axes[0]
        window = CONTRASTS[name].window if name in CONTRASTS else None
        if window is not None:  # zoom in on where the paths run
            ax.set(xlim=window[0], ylim=window[1])
        with style():
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        fig.set_size_inches(*WIDE)
        return fig

    figure.__name__ = f"trajectories_{name}"
    return figure


def _register_trajectories() -> None:
    from minigrad.landscapes import LANDSCAPES

    for name in LANDSCAPES:
        caption = CONTRASTS[name].caption if name in CONTRASTS else (
            f"SGD, momentum, RMSprop and Adam on the {name.replace('_', ' ')} landscape "
            "from its classic start, each at the smallest learning rate that tune_lr "
            "finds as good as its best (stated in the legend); circles mark starts, "
            "crosses ends, triangles where a path left the plot, stars the minima.")
        register(f"trajectories_{name}", caption)(_trajectory_figure(name))


_register_trajectories()


@register("trajectories_animation", "Animated: SGD + momentum (lr 0.001), Adam and RMSprop "
          "(lr 0.01) creeping along Rosenbrock's curved valley from (−1, 1) towards the "
          "minimum at (1, 1), 2000 steps.", kind="gif")
def trajectories_animation(quick: bool = False):
    import optim
    from minigrad.landscapes import get
    from minigrad.trajectories import run_many

    from ..plot.animation import animate_trajectories

    f = get("rosenbrock")
    runs = run_many(f, {"SGD+Momentum": (optim.SGD, {"lr": 0.001, "momentum": 0.9}),
                        "Adam": (optim.Adam, {"lr": 0.01}),
                        "RMSprop": (optim.RMSprop, {"lr": 0.01})}, 200 if quick else 2000)
    return animate_trajectories(f, runs, frames=6 if quick else 50, n=50 if quick else 150,
                                title="Rosenbrock")

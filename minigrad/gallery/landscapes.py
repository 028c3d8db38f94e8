"""Gallery figures of the loss landscapes: the surface, trajectories of four optimizers on
every landscape of :mod:`minigrad.landscapes`, and the animation.

Learning rates are picked per landscape and optimizer with
:func:`minigrad.trajectories.tune_lr` (lowest final loss without divergence), taking the
smallest candidate that does as well as the best, so every path shows the optimizer at its
best on that surface without needless jumps.
"""
from __future__ import annotations

import numpy as np

from ..plot import surface_and_contour, trajectories_on_contours
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


def _trajectory_figure(name: str):
    def figure(quick: bool = False):
        from minigrad.landscapes import get

        steps = 60 if quick else 500
        fig = trajectories_on_contours(get(name), tuned_runs(name, steps), n=60 if quick else 200,
                                       title=f"{name.replace('_', ' ')}: {steps} steps")
        ax = fig.axes[0]
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=11)
        fig.set_size_inches(11, 6.5)
        return fig

    figure.__name__ = f"trajectories_{name}"
    return figure


def _register_trajectories() -> None:
    from minigrad.landscapes import LANDSCAPES

    for name in LANDSCAPES:
        register(f"trajectories_{name}",
                 f"SGD, momentum, RMSprop and Adam on the {name.replace('_', ' ')} landscape "
                 "from its classic start, each at the smallest learning rate that tune_lr "
                 "finds as good as its best; circles "
                 "mark starts, crosses ends, stars the minima.")(_trajectory_figure(name))


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

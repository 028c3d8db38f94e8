"""Gallery figures of the modern optimizers: LAMB's trust ratios, Lion's sign steps, SAM's
flat minimum, schedule-free's two sequences, and the modern optimizers on Rosenbrock.

Every number comes from this project's own ``optim`` classes on small problems; the memory
figure (``optimizer_memory``, in :mod:`.figures`) measures the modern optimizers' state too.
"""
from __future__ import annotations

import functools

import numpy as np

from ..plot import loss_curves, new_figure, style, trajectories_on_contours
from ..plot.style import WIDE
from .registry import register


@register("lamb_trust_ratios", "LAMB's layer-wise trust ratio ‖θ‖/‖r‖ of each layer of a "
          "64→32→32→10 MLP on the digits, 150 steps at lr 0.01 with batches of 64: every "
          "layer gets its own effective learning rate, and it changes as training goes.")
def lamb_trust_ratios(quick: bool = False):
    import minigrad
    import optim
    from minigrad import nn
    from minigrad.data import load_digits
    from minigrad.nn import functional as F

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 10))
    named = [(name, p) for name, p in model.named_parameters() if p.ndim == 2]
    opt = optim.LAMB(model.parameters(), lr=0.01, weight_decay=0.01)
    x, y, _, _ = load_digits()
    rng = np.random.default_rng(0)
    ratios = {name: [] for name, _ in named}
    for _ in range(30 if quick else 150):
        index = rng.integers(0, len(x), 64)
        opt.zero_grad()
        F.cross_entropy(model(minigrad.tensor(x[index])), minigrad.tensor(y[index])).backward()
        opt.step()
        for name, p in named:
            ratios[name].append(opt.state[p]["trust_ratio"])
    labels = {name: f"layer {i + 1} weight {tuple(p.shape)}" for i, (name, p) in enumerate(named)}
    fig = loss_curves({labels[name]: values for name, values in ratios.items()}, log=True,
                      xlabel="step", title="LAMB: trust ratio per layer")
    fig.axes[0].set_ylabel("trust ratio ‖θ‖ / ‖r‖")
    return fig


@register("lion_vs_adam", "Lion (lr 0.06) and Adam (lr 0.2) on the ravine ½(x² + 50y²) from "
          "its classic start, 100 steps: Lion moves by ±lr in every coordinate (the sign of "
          "its momentum), so its path runs at 45°; its slow second average (β2 = 0.99) carries "
          "it past the valley floor before it turns and hops along it in steps of exactly lr. "
          "Adam's normalised steps curve and overshoot.")
def lion_vs_adam(quick: bool = False):
    import optim
    from minigrad.landscapes import get
    from minigrad.trajectories import run_many

    f = get("ravine")
    runs = run_many(f, {"Lion, lr=0.06": (optim.Lion, {"lr": 0.06}),
                        "Adam, lr=0.2": (optim.Adam, {"lr": 0.2})}, 100)
    return trajectories_on_contours(f, runs, n=60 if quick else 200,
                                    title="Lion's sign steps vs Adam on a ravine")


def flat_valley(x, y):
    """½·(1 + x²)·y²: every point of the line y = 0 is a minimum with loss 0.

    The curvature across the line, 1 + x², grows with |x|: sharp minima far out, the
    flattest one at x = 0, which makes it the smallest landscape on which "flat" and
    "sharp" minima differ. Works on minigrad Tensors and on NumPy arrays.
    """
    return 0.5 * (1 + x ** 2) * y ** 2


def valley_path(make_optimizer, start=(2.0, 1.0), steps: int = 100) -> np.ndarray:
    """The points, shape (steps + 1, 2), that an optimizer visits on :func:`flat_valley`.

    ``make_optimizer([w])`` builds the optimizer; it is stepped with a closure, so SAM
    and other closure optimizers work as well as plain ones.
    """
    import minigrad

    w = minigrad.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = make_optimizer([w])

    def closure():
        opt.zero_grad()
        value = flat_valley(w[0], w[1])
        value.backward()
        return value

    path = [w.data.copy()]
    for _ in range(steps):
        opt.step(closure)
        path.append(w.data.copy())
    return np.array(path)


@register("sam_flat_minimum", "On the valley ½(1 + x²)y², where every point of y = 0 is a "
          "minimum and the curvature 1 + x² grows with |x|, SGD (lr 0.1) from (2, 1) stops at "
          "the sharp minimum next to its start; SAM (same SGD, ρ = 0.3) keeps drifting "
          "towards the flat end (left). The 1-D slices of the loss across the valley through "
          "each end point (right) show how much flatter SAM's minimum is.")
def sam_flat_minimum(quick: bool = False):
    import optim

    from ..plot import draw_trajectories

    steps = 40 if quick else 150
    paths = {"SGD": valley_path(lambda p: optim.SGD(p, lr=0.1), steps=steps),
             "SAM (ρ = 0.3)": valley_path(lambda p: optim.SAM(p, optim.SGD, lr=0.1, rho=0.3),
                                          steps=steps)}
    fig, (left, right) = new_figure(1, 2)
    xs, ys = np.linspace(-0.5, 2.5, 150), np.linspace(-1.2, 1.2, 120)
    X, Y = np.meshgrid(xs, ys)
    left.contour(X, Y, flat_valley(X, Y), levels=np.geomspace(0.01, 4.0, 12), cmap="viridis")
    left.axhline(0.0, color="0.5", linewidth=1, linestyle=":")
    draw_trajectories(left, paths, clip=True)
    left.set(xlabel="x (along the valley)", ylabel="y (across it)", title="paths")
    left.legend(loc="upper left")
    across = np.linspace(-1.0, 1.0, 201)
    for i, (name, path) in enumerate(paths.items()):
        x_end = path[-1, 0]
        right.plot(across, flat_valley(x_end, across), color=f"C{i}", gid=name,
                   label=f"{name}: curvature {1 + x_end ** 2:.2f} at x = {x_end:.2f}")
    right.set(xlabel="y, through each end point", ylabel="loss",
              title="1-D slice across the valley")
    right.legend(loc="upper center")
    return fig


def schedule_free_sequences(steps: int = 300, noise: float = 1.0, lr: float = 1.0,
                            seed: int = 0) -> dict:
    """Losses of schedule-free SGD's two sequences on a noisy 20-D quadratic.

    f(θ) = ½·Σ aᵢθᵢ² with aᵢ from 0.1 to 1; each gradient gets Gaussian noise of standard
    deviation ``noise``. Returns ``{"train (y)": losses, "eval (x)": losses}``: the loss
    where the gradients are taken (train mode) and at the average x (eval mode).
    """
    import minigrad
    import optim

    a = np.linspace(0.1, 1.0, 20)
    theta = minigrad.tensor(np.full(20, 3.0), requires_grad=True)
    opt = optim.SGDScheduleFree([theta], lr=lr)
    opt.train()  # like the authors' package, it starts in eval mode
    rng = np.random.default_rng(seed)
    curves = {"train (y)": [], "eval (x)": []}
    for _ in range(steps):
        curves["train (y)"].append(0.5 * float(np.sum(a * theta.data ** 2)))
        opt.eval()
        curves["eval (x)"].append(0.5 * float(np.sum(a * theta.data ** 2)))
        opt.train()
        theta.grad = a * theta.data + noise * rng.standard_normal(20)
        opt.step()
    return {name: np.array(values) for name, values in curves.items()}


@register("schedule_free_train_eval", "Schedule-free SGD (lr 1, momentum 0.9) on a noisy "
          "20-D quadratic: the loss at y, where gradients are taken (train mode), and at "
          "the running average x that eval mode loads. x is smoother and lower, with no "
          "schedule at all.")
def schedule_free_train_eval(quick: bool = False):
    curves = schedule_free_sequences(steps=100 if quick else 400)
    return loss_curves(curves, xlabel="step", title="Schedule-free: train vs eval sequence")


@register("trajectories_modern", "Adam and the modern optimizers on Rosenbrock from (−1, 1), "
          "1500 steps: Lion, LAMB, SAM (on SGD with momentum) and schedule-free AdamW "
          "(the train-mode point y, where gradients are taken), each with a hand-picked "
          "learning rate. LAMB's step is always lr·‖θ‖ long (the point is its one "
          "'layer'), so it crawls where the path passes the origin and ‖θ‖ is small: "
          "trust ratios are meant for the layers of a network.")
def trajectories_modern(quick: bool = False):
    import optim
    from minigrad.landscapes import get
    from minigrad.trajectories import run_many

    f = get("rosenbrock")
    sam = functools.partial(optim.SAM, base_optimizer=optim.SGD)
    runs = run_many(f, {"Adam, lr=0.02": (optim.Adam, {"lr": 0.02}),
                        "Lion, lr=0.002": (optim.Lion, {"lr": 0.002}),
                        "LAMB, lr=0.005": (optim.LAMB, {"lr": 0.005}),
                        "SAM + momentum, lr=5e-4": (sam, {"lr": 5e-4, "momentum": 0.9,
                                                          "rho": 0.01}),
                        "AdamW schedule-free, lr=0.02": (optim.AdamWScheduleFree,
                                                         {"lr": 0.02})},
                    300 if quick else 1500)
    fig = trajectories_on_contours(f, runs, n=60 if quick else 200,
                                   title="Modern optimizers on Rosenbrock")
    with style():
        fig.axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.set_size_inches(*WIDE)
    return fig

"""Gallery figures of the training chapters: SGD variants, Adam vs AdamW, the schedules,
the LR range test, gradient clipping, the Rosenbrock comparison and the EWA.

Each function reproduces one figure of the chapters with the chapters' settings (problem,
learning rates, step counts), computed with this project's own ``optim``, ``schedules``
and ``minigrad.nn``. ``quick=True`` shortens the runs for tests.
"""
from __future__ import annotations

import numpy as np

from ..plot import (ewa_figure, grad_norms, loss_curves, momentum_ravine,
                    new_figure, schedule_curves, style)
from ..plot.curves import positive_or_nan
from ..plot.style import MARKER_COLOR
from ..plot.style import WIDE
from .registry import register


def _legend(fig, **kwargs) -> None:
    """Re-place the legend of every Axes (kwargs as for ``Axes.legend``)."""
    for ax in fig.axes:
        if ax.get_legend() is not None:
            ax.legend(**kwargs)


# ---------------------------------------------------------------- optimizers
@register("sgd_variants", "SGD, momentum and Nesterov on the quadratic sum((θ − (1, 1))²) "
          "from θ = (0, 0), lr = 0.1, momentum 0.9, 50 steps: momentum overshoots and "
          "oscillates, Nesterov's look-ahead damps the oscillation and ends about a "
          "hundred thousand times lower. On this round bowl plain SGD, which shrinks the "
          "error by 0.8 each step, is fastest of all; momentum pays off on ravines "
          "(momentum_ravine).")
def sgd_variants(quick: bool = False):
    import optim
    from minigrad import Parameter

    target = np.array([1.0, 1.0])
    variants = {"SGD": {}, "Momentum": {"momentum": 0.9},
                "Nesterov": {"momentum": 0.9, "nesterov": True}}
    curves = {}
    for name, kwargs in variants.items():
        theta = Parameter(np.zeros(2))
        opt = optim.SGD([theta], lr=0.1, **kwargs)
        losses = []
        for _ in range(50):
            diff = theta.data - target
            losses.append(float(np.sum(diff**2)))
            theta.grad = 2.0 * diff
            opt.step()
        curves[name] = losses
    fig = loss_curves(curves, xlabel="iteration", title="SGD variants: convergence")
    _legend(fig, loc="lower left")
    return fig


def decay_per_step(scales, lr: float = 1e-3, weight_decay: float = 0.01, steps: int = 100,
                   size: int = 200, seed: int = 0) -> dict:
    """Measured weight decay per step of Adam + L2 and of AdamW, against gradient scale.

    For each scale s, ``size`` weights start at 1 and get gradients s·ξ (ξ standard normal,
    the same draws for every run), a stand-in for the loss's gradients. Each optimizer runs
    with and without ``weight_decay``; the decay per step is the mean gap between the two
    runs divided by ``steps``. AdamW's is lr·λ at every scale; Adam + L2 divides λθ by
    √v̂ like the rest of the gradient, so its decay is about lr·λ/s: large where gradients
    are small, negligible where they are large.

    Returns ``{"Adam + L2": array, "AdamW": array}``, one value per scale.

    Examples
    --------
    >>> rates = decay_per_step([1e-4, 10.0], steps=20, size=10)
    >>> bool(rates["Adam + L2"][0] > rates["AdamW"][0] > rates["Adam + L2"][1])
    True
    """
    import optim
    from minigrad import Parameter

    def final_mean(cls, scale, decay):
        theta = Parameter(np.ones(size))
        opt = cls([theta], lr=lr, weight_decay=decay)
        noise = np.random.default_rng(seed).standard_normal((steps, size))
        for xi in noise:
            theta.grad = scale * xi
            opt.step()
        return float(theta.data.mean())

    return {name: np.array([(final_mean(cls, s, 0.0) - final_mean(cls, s, weight_decay))
                            / steps for s in scales])
            for name, cls in (("Adam + L2", optim.Adam), ("AdamW", optim.AdamW))}


@register("adam_vs_adamw", "Left: weight norm of the first layer of a 10→100→1 MLP fitted "
          "to random targets, Adam + L2 (weight_decay = 0.01 added to the gradient) vs "
          "AdamW (decoupled), lr = 1e-3, batches of 32, same initial weights. Here Adam + L2 "
          "shrinks the weights faster: its decay λθ is divided by √v̂, and this layer's "
          "gradients are small (dotted line, right). Right: the decay per step measured "
          "against the gradient scale. AdamW decays every weight by lr·λ whatever its "
          "gradients; with L2 inside Adam the decay is about lr·λ/|g|, so weights with "
          "large gradients are hardly decayed at all. That is what decoupling fixes.")
def adam_vs_adamw(quick: bool = False):
    import minigrad
    import optim
    from minigrad import nn
    from minigrad.nn import functional as F

    minigrad.manual_seed(42)
    models = {"Adam + L2 (weight_decay in the gradient)": optim.Adam,
              "AdamW (decoupled weight decay)": optim.AdamW}
    first = nn.Sequential(nn.Linear(10, 100), nn.ReLU(), nn.Linear(100, 1))
    runs = {}
    for name, cls in models.items():
        model = nn.Sequential(nn.Linear(10, 100), nn.ReLU(), nn.Linear(100, 1))
        model.load_state_dict(first.state_dict())
        runs[name] = (model, cls(model.parameters(), lr=1e-3, weight_decay=0.01), [])
    rng = np.random.default_rng(42)
    for _ in range(30 if quick else 100):
        x = minigrad.tensor(rng.standard_normal((32, 10)).astype(np.float32))
        y = minigrad.tensor(rng.standard_normal((32, 1)).astype(np.float32))
        for model, opt, norms in runs.values():
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
            norms.append(float(np.linalg.norm(model[0].weight.data)))
    model, opt, _ = runs["Adam + L2 (weight_decay in the gradient)"]
    state = opt.state[model[0].weight]
    typical = float(np.median(np.sqrt(state["exp_avg_sq"] / (1 - 0.999 ** state["step"]))))

    scales = np.geomspace(1e-4, 10.0, 11)
    rates = decay_per_step(scales, steps=50 if quick else 100)
    with style():
        fig, (left, right) = new_figure(1, 2)
        for i, (name, (_, _, norms)) in enumerate(runs.items()):
            left.plot(np.arange(len(norms)), norms, color=f"C{i}", label=name.split(" (")[0])
        left.set(xlabel="iteration", ylabel="weight norm $\\|\\theta\\|_2$",
                 title="An MLP's first layer")
        left.legend(loc="lower left")
        for i, (name, values) in enumerate(rates.items()):
            right.loglog(scales, positive_or_nan(values), marker="o", color=f"C{i}",
                         label=name)
        right.axhline(1e-3 * 0.01, color=MARKER_COLOR, linestyle="--", linewidth=1.5,
                      label="lr·λ")
        right.axvline(typical, color=MARKER_COLOR, linestyle=":", linewidth=1.5,
                      label="the MLP layer's |g|", gid="typical_gradient")
        right.set(xlabel="gradient scale |g|", ylabel="decay per step",
                  title="Decay vs gradient scale")
        right.legend(loc="upper right")
    fig.suptitle("Adam + L2 vs AdamW")
    return fig


@register("optimizer_comparison", "Five optimizers on the chapters' linear-regression "
          "problem (1000 samples, 10 features, full batch, 200 epochs): SGD 0.01, momentum "
          "0.01 (β = 0.9), RMSprop 1e-3, Adam 1e-3, Adagrad 0.1.")
def optimizer_comparison(quick: bool = False):
    import optim
    from minigrad import Parameter
    from minigrad.data import make_linear_regression

    data = make_linear_regression(n_samples=1000, n_features=10, seed=42, dtype=np.float64)
    X, y = data.X, data.y
    configs = {"Vanilla SGD": (optim.SGD, {"lr": 0.01}),
               "Momentum": (optim.MomentumEWA, {"lr": 0.01, "beta": 0.9}),
               "RMSprop": (optim.RMSprop, {"lr": 0.001}),
               "Adam": (optim.Adam, {"lr": 0.001}),
               "AdaGrad": (optim.Adagrad, {"lr": 0.1})}
    curves = {}
    for name, (cls, kwargs) in configs.items():
        rng = np.random.default_rng(0)
        W, b = Parameter(rng.standard_normal((10, 1)) * 0.01), Parameter(np.zeros((1, 1)))
        opt, losses = cls([W, b], **kwargs), []
        for _ in range(40 if quick else 200):
            diff = X @ W.data + b.data - y
            losses.append(float(np.mean(diff**2)))
            W.grad = 2.0 / len(X) * X.T @ diff
            b.grad = 2.0 / len(X) * diff.sum(axis=0, keepdims=True)
            opt.step()
        curves[name] = losses
    fig = loss_curves(curves, xlabel="epoch", title="Optimizer comparison: MSE loss")
    fig.axes[0].set_ylabel("MSE loss")
    _legend(fig, loc="lower left")
    return fig


def _rosenbrock_runs(steps: int) -> dict:
    """The chapters' Rosenbrock comparison: start (−1, 1), gradients clipped to norm 10."""
    import optim
    from minigrad import Parameter
    from minigrad.landscapes import get

    f = get("rosenbrock")
    configs = {"SGD (lr=0.001)": (optim.SGD, {"lr": 0.001}),
               "SGD+Momentum": (optim.SGD, {"lr": 0.001, "momentum": 0.9}),
               "Adam": (optim.Adam, {"lr": 0.01}),
               "AdamW": (optim.AdamW, {"lr": 0.01, "weight_decay": 0.01}),
               "RMSprop": (optim.RMSprop, {"lr": 0.01})}
    runs = {}
    for name, (cls, kwargs) in configs.items():
        xy = Parameter(np.array([-1.0, 1.0]))
        opt, losses = cls([xy], **kwargs), []
        for _ in range(steps):
            value, grad = f.value_and_grad_numpy(xy.data)
            losses.append(value)
            norm = float(np.linalg.norm(grad))
            xy.grad = grad * min(1.0, 10.0 / (norm + 1e-6))  # clip_grad_norm_(max_norm=10)
            opt.step()
        runs[name] = np.array(losses)
    return runs


@register("rosenbrock_comparison", "SGD, SGD + momentum, Adam, AdamW and RMSprop on "
          "Rosenbrock from (−1, 1), 2000 steps with the chapters' learning rates and "
          "gradient clipping at norm 10: loss curves (left) and the final loss (right, "
          "log scale).")
def rosenbrock_comparison(quick: bool = False):
    steps = 200 if quick else 2000
    runs = _rosenbrock_runs(steps)
    with style():
        fig, (ax1, ax2) = new_figure(1, 2)
        for name, losses in runs.items():
            ax1.semilogy(losses, label=name)
        ax1.set(xlabel="step", ylabel="loss (log scale)", title="Rosenbrock: loss curves")
        ax1.legend(loc="lower left")
        names = list(runs)
        finals = [max(float(runs[n][-1]), 1e-300) for n in names]
        colours = [line.get_color() for line in ax1.get_lines()]
        bars = ax2.bar(range(len(names)), finals, color=colours)
        ax2.set_yscale("log")
        ax2.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names])
        ax2.set(ylabel="final loss (log scale)", title=f"Final loss after {steps} steps")
        ax2.grid(True, axis="y", alpha=0.3)
        ax2.grid(False, axis="x")
        for bar, value in zip(bars, finals):
            ax2.annotate(f"{value:.2g}", (bar.get_x() + bar.get_width() / 2, value),
                         ha="center", va="bottom", xytext=(0, 2),
                         textcoords="offset points")
        ax2.margins(y=0.15)
    return fig


# ---------------------------------------------------------------- schedules
@register("cosine_schedules", "Cosine annealing over 100 epochs vs cosine with warm "
          "restarts (T_0 = 10, T_mult = 2), from 1e-3 down to 1e-6, log scale.")
def cosine_schedules(quick: bool = False):
    from schedules import CosineAnnealingLR, CosineAnnealingWarmRestarts

    fig = schedule_curves(
        {"cosine annealing": (CosineAnnealingLR, {"T_max": 100, "eta_min": 1e-6}),
         "cosine with warm restarts": (CosineAnnealingWarmRestarts,
                                       {"T_0": 10, "T_mult": 2, "eta_min": 1e-6})},
        steps=100, base_lr=1e-3, log=True, title="Cosine annealing schedules")
    fig.axes[0].set_xlabel("epoch")
    _legend(fig, loc="lower left")
    return fig


@register("onecycle", "OneCycleLR with max_lr = 0.1 over 1000 steps, 30 % warmup "
          "(pct_start = 0.3) and cosine annealing: up from max_lr/25, down to max_lr/(25·10⁴).")
def onecycle(quick: bool = False):
    from schedules import OneCycleLR

    fig = schedule_curves({"OneCycleLR": (OneCycleLR, {"max_lr": 0.1, "total_steps": 1000,
                                                       "pct_start": 0.3,
                                                       "anneal_strategy": "cos"})},
                          steps=1000, warmup_steps=300, title="OneCycleLR schedule")
    return fig


@register("warmup_cosine", "Linear warmup for 1000 steps, then cosine decay to 10 % of the "
          "peak (5e-4) at step 10 000: the transformer standard.")
def warmup_cosine(quick: bool = False):
    from schedules import WarmupCosineSchedule

    total, warmup = (1000, 100) if quick else (10_000, 1000)
    return schedule_curves(
        {"warmup + cosine (min_lr_ratio = 0.1)": (WarmupCosineSchedule,
                                                  {"warmup_steps": warmup, "total_steps": total,
                                                   "min_lr_ratio": 0.1})},
        steps=total, base_lr=5e-4, warmup_steps=warmup,
        title="Linear warmup + cosine decay")


@register("scheduler_comparison", "StepLR (300, ×0.1), ExponentialLR (γ = 0.995), cosine "
          "annealing, OneCycleLR (max_lr 0.1) and warmup (100 steps) + cosine over 1000 "
          "steps from lr = 0.1, log scale.")
def scheduler_comparison(quick: bool = False):
    from schedules import (CosineAnnealingLR, ExponentialLR, OneCycleLR, StepLR,
                           WarmupCosineSchedule)

    total = 1000
    fig = schedule_curves(
        {"StepLR": (StepLR, {"step_size": 300, "gamma": 0.1}),
         "ExponentialLR": (ExponentialLR, {"gamma": 0.995}),
         "CosineAnnealing": (CosineAnnealingLR, {"T_max": total}),
         "OneCycleLR": (OneCycleLR, {"max_lr": 0.1, "total_steps": total}),
         "Warmup+Cosine": (WarmupCosineSchedule, {"warmup_steps": 100, "total_steps": total})},
        steps=total, base_lr=0.1, log=True, title="Learning-rate scheduler comparison")
    _legend(fig, loc="lower left")
    return fig


@register("lr_schedules", "Six schedules over 1000 steps at base lr 0.1: constant, step "
          "decay (×0.5 every 200), cosine (floor 1e-4), cosine with restarts (T_0 = 200, "
          "T_mult = 2), exponential (γ = 0.995) and one-cycle (30 % warmup).")
def lr_schedules(quick: bool = False):
    from schedules import (CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR,
                           LambdaLR, OneCycleLR, StepLR)

    fig = schedule_curves(
        {"constant": (LambdaLR, {"lr_lambda": lambda _: 1.0}),
         "step decay": (StepLR, {"step_size": 200, "gamma": 0.5}),
         "cosine annealing": (CosineAnnealingLR, {"T_max": 1000, "eta_min": 1e-4}),
         "cosine with restarts": (CosineAnnealingWarmRestarts, {"T_0": 200, "T_mult": 2}),
         "exponential": (ExponentialLR, {"gamma": 0.995}),
         "one-cycle": (OneCycleLR, {"max_lr": 0.1, "total_steps": 1000, "pct_start": 0.3})},
        steps=1000, base_lr=0.1, title="Learning-rate schedule comparison")
    fig.set_size_inches(*WIDE)
    _legend(fig, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


# ---------------------------------------------------------------- training tools
def _regression_loader(quick: bool, outliers: float = 0.0):
    from minigrad.data import DataLoader, TensorDataset, make_linear_regression

    data = make_linear_regression(n_samples=320 if quick else 1000, n_features=10, seed=42)
    y = data.y.copy()
    if outliers:
        rng = np.random.default_rng(1)
        bad = rng.random(len(y)) < outliers
        y[bad] += rng.normal(0.0, 20.0, (int(bad.sum()), 1)).astype(y.dtype)
    return DataLoader(TensorDataset(data.X, y), batch_size=32, shuffle=True)


@register("lr_finder", "LR range test of a 10→50→1 MLP with SGD on the linear-regression "
          "data: the rate grows from 1e-7 to 1; the mark is where the smoothed loss falls "
          "fastest.")
def lr_finder(quick: bool = False):
    import minigrad
    import optim
    from minigrad import nn
    from schedules import LRFinder

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=1e-3), nn.MSELoss())
    finder.range_test(_regression_loader(quick), start_lr=1e-7, end_lr=1.0,
                      num_iter=40 if quick else 100)
    with style():
        fig, ax = new_figure()
        finder.plot(ax=ax)
    return fig


@register("gradient_clipping", "Total gradient norm per step of a 10→50→1 MLP trained with "
          "Adam (lr 1e-3) on regression data with 2 % outlier targets, before and after "
          "clip_grad_norm_(max_norm=1.0): the spikes are cut to the threshold.")
def gradient_clipping(quick: bool = False):
    import minigrad
    import optim
    from minigrad import nn
    from minigrad.nn import functional as F
    from minigrad.nn.utils import clip_grad_norm_

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 1))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    before, after, steps = [], [], 40 if quick else 300
    while len(before) < steps:
        for x, y in _regression_loader(quick, outliers=0.02):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            before.append(float(clip_grad_norm_(model.parameters(), max_norm=1.0).data))
            after.append(float(np.sqrt(sum(np.sum(p.grad**2) for p in model.parameters()))))
            opt.step()
            if len(before) == steps:
                break
    fig = grad_norms(before, after, max_norm=1.0, title="Gradient clipping effect")
    _legend(fig, loc="upper right")
    return fig


@register("ewa_bias_correction", "An exponentially weighted average (β = 0.9) of noisy "
          "daily temperatures: started at 0 it is biased low for the first ~10 days; "
          "dividing by 1 − βᵗ (Adam's bias correction) removes the bias.")
def ewa_bias_correction(quick: bool = False):
    fig = ewa_figure(beta=0.9)
    _legend(fig, loc="lower right")
    return fig


@register("momentum_ravine", "Gradient descent zig-zags across a narrow ravine; momentum "
          "(β = 0.9, same lr) averages the zig-zag away and moves along the valley floor.")
def ravine(quick: bool = False):
    return momentum_ravine(40)


@register("optimizer_memory", "Optimizer state per byte of parameters, measured on a "
          "128×128 float32 weight: SGD keeps nothing, momentum and RMSprop one buffer, Adam "
          "two moments, AMSGrad three (top); among the modern ones (bottom) Adafactor keeps "
          "a row and a column, Lion and Muon one momentum, 8-bit Adam a quarter of Adam, "
          "SOAP Adam's moments plus its preconditioners and eigenbases.")
def optimizer_memory(quick: bool = False):
    from ..plot import measure_state_ratios, modern_configs, style
    from ..plot.memory import draw_memory_bars

    with style():
        fig, (top, bottom) = new_figure(2, 1, figsize=(WIDE[0], 9))
        draw_memory_bars(top, measure_state_ratios(), title="The classics")
        draw_memory_bars(bottom, measure_state_ratios(modern_configs()),
                         title="The modern optimizers")
    return fig

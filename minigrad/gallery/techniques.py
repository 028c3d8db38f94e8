"""Gallery figures of the training techniques: mixed precision and loss scaling, weight
averaging (EMA), per-layer learning rates, hyper-parameter sweeps and gradient monitoring.

Each figure is computed with the library's own pieces (``minigrad.amp``,
``optim.swa_utils``, ``optim.param_groups``, ``minigrad.sweep``, ``minigrad.monitor``)
on a small problem; ``quick=True`` shortens the runs for tests.
"""
from __future__ import annotations

import numpy as np

from ..plot import new_figure, style, sweep_heatmap
from ..plot.style import MARKER_COLOR
from ..plot.techniques import layer_lr_bars, magnitude_histograms
from .registry import register

FLOAT16_SMALLEST_SUBNORMAL = 2.0 ** -24  # ≈ 6.0e-8: below half of it, a value rounds to 0
FLOAT16_SMALLEST_NORMAL = 2.0 ** -14     # ≈ 6.1e-5: below it, fewer mantissa bits are left
UNDERFLOW_LOSS_FACTOR = 1e-4             # a deliberately small loss, so that gradients are tiny


# ---------------------------------------------------------------- mixed precision
def spiral_model():
    """The 2→64→64→64→3 tanh MLP of the mixed-precision figure, seeded."""
    import minigrad
    from minigrad import nn

    minigrad.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                         nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 3))


def precision_gradients(model=None, factor: float = UNDERFLOW_LOSS_FACTOR,
                        n_samples: int = 256) -> dict:
    """The gradient of ``factor`` × cross-entropy on three spirals, computed three ways.

    Returns ``{"float32": g, "float16": g, "float16 + GradScaler": g, "scale": S}``, each
    g the concatenated float32 ``.grad`` of all parameters: without autocast; under
    ``autocast()`` (matrix products in float16) without loss scaling; and under
    ``autocast()`` with ``GradScaler()`` (loss × S before ``backward``, gradients
    unscaled by ``unscale_`` afterwards).
    """
    import minigrad
    from minigrad.amp import GradScaler, autocast
    from minigrad.data import make_spirals
    from minigrad.nn import functional as F
    from optim.sgd import SGD

    model = spiral_model() if model is None else model
    X, y = make_spirals(n_samples, n_classes=3, seed=0)
    inputs, targets = minigrad.tensor(X.astype(np.float32)), minigrad.tensor(y)
    holder = SGD(model.parameters(), lr=0.0)  # only for the scaler's unscale_
    result = {}
    for name, use_autocast, use_scaler in (("float32", False, False),
                                           ("float16", True, False),
                                           ("float16 + GradScaler", True, True)):
        model.zero_grad()
        scaler = GradScaler(enabled=use_scaler)
        with autocast(enabled=use_autocast):
            loss = factor * F.cross_entropy(model(inputs), targets)
        scaler.scale(loss).backward()
        if use_scaler:
            scaler.unscale_(holder)
            result["scale"] = scaler.get_scale()
        result[name] = np.concatenate([p.grad.ravel().copy() for p in model.parameters()])
    model.zero_grad()
    return result


@register("mixed_precision_underflow", "Gradient entries of a 2→64→64→64→3 tanh MLP "
          "(8707 parameters) on 256 spiral points, the cross-entropy multiplied by 1e-4 so "
          "that gradients are small: in float32 they spread from 2e-11 to 3e-6 and none is "
          "0. Under autocast (matrix products in float16) without loss scaling, 5704 (66 %) "
          "are exactly 0: the gradients flowing back through the float16 layers fall below "
          "float16's smallest subnormal 2⁻²⁴ ≈ 6e-8 and flush to zero, so 4072 entries that "
          "are above 6e-8 in float32 are lost as well, and the 3003 survivors take only 63 "
          "distinct values. With GradScaler (loss × 2¹⁶, gradients divided back by "
          "unscale_) float16's limits move 2¹⁶ lower (dash-dotted lines) and the float32 "
          "histogram comes back: no zero, a median relative error of 5e-4.")
def mixed_precision_underflow(quick: bool = False):
    grads = precision_gradients()  # a fraction of a second: the same in quick mode
    scale = grads.pop("scale")
    limits = {"float16 smallest subnormal 2⁻²⁴": FLOAT16_SMALLEST_SUBNORMAL,
              "float16 smallest normal 2⁻¹⁴": FLOAT16_SMALLEST_NORMAL}
    names = {"float32": "float32 (no autocast)",
             "float16": "autocast float16, no loss scaling",
             "float16 + GradScaler": f"autocast float16 + GradScaler (S = {scale:g}), "
                                     f"after unscale_"}
    shifted = {f"{label.split(' 2')[0]} ÷ S": value / scale for label, value in limits.items()}
    return magnitude_histograms(
        {names[key]: values for key, values in grads.items()},
        bins=np.arange(-13.0, -3.49, 0.25), thresholds=limits,
        panel_thresholds={names["float16 + GradScaler"]: shifted},
        title="Gradient entries in float16: underflow and loss scaling")


# ---------------------------------------------------------------- weight averaging
def ema_validation_losses(steps: int = 600, decay: float = 0.99, lr: float = 0.5,
                          batch_size: int = 16, every: int = 5, seed: int = 0) -> dict:
    """Validation losses of a digits MLP trained by noisy SGD, raw weights vs their EMA.

    A 64→32→10 ReLU MLP takes ``steps`` SGD steps (no momentum) on random batches of
    ``batch_size``; after every step an ``AveragedModel`` with
    ``get_ema_multi_avg_fn(decay)`` folds the weights in. Every ``every`` steps both are
    evaluated on the held-out digits. Returns ``{"step": ..., "raw": ..., "ema": ...}``.
    """
    import minigrad
    from minigrad import nn
    from minigrad.data import load_digits
    from minigrad.nn import functional as F
    from optim.sgd import SGD
    from optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    x, y, x_val, y_val = load_digits()
    minigrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    opt = SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    inputs, targets = minigrad.tensor(x_val), minigrad.tensor(y_val)
    curves = {"step": [], "raw": [], "ema": []}
    for step in range(1, steps + 1):
        index = rng.integers(0, len(x), batch_size)
        opt.zero_grad()
        F.cross_entropy(model(minigrad.tensor(x[index])), minigrad.tensor(y[index])).backward()
        opt.step()
        ema.update_parameters(model)
        if step % every == 0:
            with minigrad.no_grad():
                curves["step"].append(step)
                curves["raw"].append(float(F.cross_entropy(model(inputs), targets).data))
                curves["ema"].append(float(F.cross_entropy(ema(inputs), targets).data))
    return {name: np.array(values) for name, values in curves.items()}


def total_variation(values) -> float:
    """Σ|vₜ₊₁ − vₜ|: how much a curve moves up and down in all."""
    return float(np.abs(np.diff(np.asarray(values, dtype=np.float64))).sum())


@register("ema_vs_raw", "Validation loss of a 64→32→10 MLP on the digits trained by plain "
          "SGD (lr 0.5, batches of 16, 600 steps), with the raw weights and with their "
          "exponential moving average (AveragedModel, get_ema_multi_avg_fn(0.99)). The EMA "
          "lags at first (it averages the last ~100 steps), then runs without the raw "
          "curve's jumps and, after step 300, below it at 92 % of the points (mean 0.16 vs "
          "0.20; last loss 0.15 vs 0.27); total variation 2.2 vs 9.2.")
def ema_vs_raw(quick: bool = False):
    decay = 0.99
    curves = ema_validation_losses(steps=100 if quick else 600, decay=decay,
                                   every=4 if quick else 5)
    with style():
        fig, ax = new_figure(figsize=(9.0, 5.5))
        ax.plot(curves["step"], curves["raw"], linewidth=1.5, gid="raw",
                label=f"raw weights (total variation {total_variation(curves['raw']):.1f})")
        ax.plot(curves["step"], curves["ema"], linewidth=3.0, gid="ema",
                label=f"EMA, decay {decay} (total variation "
                      f"{total_variation(curves['ema']):.1f})")
        ax.set(xlabel="SGD step", ylabel="validation loss (cross-entropy)", yscale="log",
               title="Raw weights vs their EMA")
        ax.legend(loc="upper right")
    return fig


# ---------------------------------------------------------------- per-layer learning rates
LLRD_DECAY = 0.65  # the layer decay often used to fine-tune ELECTRA-style encoders
TOP_LR = 1e-3


def six_layer_model():
    """A 6-layer MLP (16→32→32→32→32→32→10, ReLU): six layers with parameters."""
    from minigrad import nn

    sizes = [16, 32, 32, 32, 32, 32, 10]
    modules = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(nn.Linear(n_in, n_out))
        if index < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def layer_learning_rates(model=None, lr: float = TOP_LR, decay: float = LLRD_DECAY,
                         factor: float = 2.6) -> dict:
    """``{recipe: [lr of each layer, bottom first]}`` from the two ``optim.param_groups``
    recipes, read from the groups they return."""
    from optim.param_groups import discriminative_lr_groups, layerwise_lr_decay_groups

    model = six_layer_model() if model is None else model
    return {f"layer-wise decay (decay {decay})":
            [g["lr"] for g in layerwise_lr_decay_groups(model, lr=lr, decay=decay)],
            f"discriminative / ULMFiT (÷{factor})":
            [g["lr"] for g in discriminative_lr_groups(model, lr=lr, factor=factor)]}


@register("llrd_learning_rates", "Learning rate of each layer of a 6-layer MLP from the two "
          "fine-tuning recipes of optim.param_groups, top rate 1e-3: layer-wise decay "
          "(lr·0.65^depth, as for ELECTRA and BEiT) gives the input layer 1.2e-4; "
          "discriminative fine-tuning (ULMFiT, lr/2.6^depth) gives it 8.4e-6. The layers "
          "near the input, which hold the most general features, move the least.")
def llrd_learning_rates(quick: bool = False):
    rates = layer_learning_rates()
    n = len(next(iter(rates.values())))
    labels = [f"{i + 1}" + (" (input)" if i == 0 else " (head)" if i == n - 1 else "")
              for i in range(n)]
    return layer_lr_bars(rates, labels,
                         title="Per-layer learning rates (top layer at 1e-3)")


# ---------------------------------------------------------------- sweeps
SWEEP_OPTIMIZERS = ("SGD", "RMSprop", "Adam")
SWEEP_LRS = (1e-3, 1e-2, 1e-1, 1.0)


def moons_sweep(quick: bool = False) -> list:
    """The rows of ``minigrad.sweep.grid(train_moons, ...)`` over optimizer × lr × seed,
    run serially: 3 seeds and 60 steps, or 1 seed and 30 steps in quick mode."""
    from ..sweep import grid, train_moons

    space = {"optimizer": list(SWEEP_OPTIMIZERS), "lr": list(SWEEP_LRS),
             "seed": [0] if quick else [0, 1, 2], "steps": [30 if quick else 60]}
    return grid(train_moons, space, executor="serial")


@register("sweep_heatmap", "A grid sweep with minigrad.sweep.grid: a 2→16→2 tanh MLP "
          "trained on two moons (train_moons, 60 full-batch steps) for each optimizer and "
          "learning rate, 3 seeds each; the cells give the mean final training loss. SGD "
          "does best at the largest rate, 1 (0.29); RMSprop and Adam at 0.1 (0.13 and "
          "0.083, the lowest cell), and RMSprop falls apart at 1 (1.33).")
def sweep_heatmap_figure(quick: bool = False):
    rows = moons_sweep(quick)
    seeds = len({row["seed"] for row in rows})
    return sweep_heatmap(rows, x="lr", y="optimizer", value="final_loss",
                         title="Final training loss on moons " +
                               (f"(mean of {seeds} seeds)" if seeds > 1 else "(1 seed)"))


# ---------------------------------------------------------------- gradient monitoring
@register("grad_norm_clipping_monitor", "GradNormRecorder on a 64→64→64→10 ReLU MLP "
          "trained on the digits by SGD with momentum 0.9 at lr 0.3 (batches of 256), with "
          "clip_grad_norm_(max_norm=1). Left: the total gradient norm of each step before "
          "and after clipping; the norm jumps to 3.7 early in training and clipping acts on "
          "23 of the 150 steps, then the norms fall below the threshold and clipping "
          "leaves them alone. Right: the norm of each layer's weight gradient before "
          "clipping: the three layers rise and fall together.")
def grad_norm_clipping_monitor(quick: bool = False):
    import minigrad
    from minigrad import nn
    from minigrad.data import load_digits
    from minigrad.monitor import GradNormRecorder
    from minigrad.nn import functional as F
    from optim.sgd import SGD

    x, y, _, _ = load_digits()
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    opt = SGD(model.parameters(), lr=0.3, momentum=0.9)
    recorder = GradNormRecorder(model)
    rng = np.random.default_rng(0)
    max_norm = 1.0
    steps, batch_size = (30, 64) if quick else (150, 256)
    for _ in range(steps):
        index = rng.integers(0, len(x), batch_size)
        opt.zero_grad()
        F.cross_entropy(model(minigrad.tensor(x[index])), minigrad.tensor(y[index])).backward()
        recorder.clip_grad_norm_(max_norm=max_norm)
        opt.step()

    with style():
        fig, (left, right) = new_figure(1, 2, figsize=(15.0, 5.5))
        steps = np.arange(len(recorder.before))
        clipped = int(np.sum(recorder.before > max_norm))
        left.plot(steps, recorder.before, linewidth=2.0, gid="before",
                  label=f"before clipping ({clipped} of {len(steps)} steps above max_norm)")
        left.plot(steps, recorder.after, linewidth=2.0, linestyle="--", gid="after",
                  label="after clipping")
        left.axhline(max_norm, color=MARKER_COLOR, linestyle=":", linewidth=1.5,
                     label=f"max_norm = {max_norm:g}", gid="max_norm")
        left.set(xlabel="step", ylabel="total gradient norm", yscale="log",
                 title="Total norm, before and after clipping")
        left.legend(loc="lower right" if quick else "lower left")
        layer = 0
        for name, norms in recorder.per_parameter("before_clip").items():
            if name.endswith("weight"):
                layer += 1
                right.plot(steps, norms, linewidth=1.8, gid=name,
                           label=f"layer {layer} weight ({name})")
        right.set(xlabel="step", ylabel="gradient norm before clipping", yscale="log",
                  title="Per-layer norms (weights)")
        right.legend(loc="best")
    return fig

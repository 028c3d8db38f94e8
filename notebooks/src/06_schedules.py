# %% [markdown]
# # 6. Learning-rate schedules
#
# A fixed learning rate is a compromise: large steps explore early, small steps settle
# late. A schedule changes $\eta$ as training goes. The classic shapes, with $\eta_0$ the
# base rate, $t$ the step (or epoch) and $T$ the total:
#
# | schedule | $\eta_t$ |
# |---|---|
# | step decay | $\eta_0\,\gamma^{\lfloor t/s\rfloor}$ (e.g. ÷10 every 30 epochs) |
# | exponential | $\eta_0\,\gamma^t$ |
# | cosine annealing | $\eta_{\min} + \frac12(\eta_0-\eta_{\min})\big(1+\cos\frac{\pi t}{T}\big)$ |
# | linear warmup | $\eta_0\, t/W$ for $t \le W$, then a decay |
# | inverse square root | $\eta_0\sqrt{W/t}$ after warmup (the Transformer's) |
# | OneCycle | up to $\eta_{\max}$, then far below the start, once |
#
# In `schedules` every scheduler has PyTorch's name and arguments, and
# `schedules.lr_sequence` evaluates one without any training.

# %%
import inspect

import numpy as np
import matplotlib.pyplot as plt

import optim
import schedules
import minigrad.plot as mplot
from minigrad import experiments

%matplotlib inline

# %% [markdown]
# ## Every schedule, plotted

# %%
steps = 300
gallery = {
    "StepLR": (schedules.StepLR, {"step_size": 100, "gamma": 0.1}),
    "MultiStepLR": (schedules.MultiStepLR, {"milestones": [150, 250], "gamma": 0.1}),
    "ExponentialLR": (schedules.ExponentialLR, {"gamma": 0.99}),
    "PolynomialLR": (schedules.PolynomialLR, {"total_iters": 300, "power": 2.0}),
    "ConstantLR": (schedules.ConstantLR, {"factor": 0.5, "total_iters": 50}),
    "LinearLR": (schedules.LinearLR, {"start_factor": 0.1, "total_iters": 100}),
    "CosineAnnealingLR": (schedules.CosineAnnealingLR, {"T_max": 300}),
    "CosineAnnealingWarmRestarts": (schedules.CosineAnnealingWarmRestarts,
                                    {"T_0": 50, "T_mult": 2}),
    "CyclicLR": (schedules.CyclicLR, {"max_lr": 0.3, "step_size_up": 50}),
    "OneCycleLR": (schedules.OneCycleLR, {"max_lr": 0.1, "total_steps": 300}),
    "WarmupCosineSchedule": (schedules.WarmupCosineSchedule,
                             {"warmup_steps": 30, "total_steps": 300, "min_lr_ratio": 0.1}),
    "WarmupLinearSchedule": (schedules.WarmupLinearSchedule,
                             {"warmup_steps": 30, "total_steps": 300}),
    "InverseSqrtSchedule": (schedules.InverseSqrtSchedule, {"warmup_steps": 30}),
    "WarmupStableDecaySchedule": (schedules.WarmupStableDecaySchedule,
                                  {"warmup_steps": 30, "stable_steps": 210,
                                   "decay_steps": 60}),
}
fig, axes = plt.subplots(4, 4, figsize=(14, 11), sharex=True)
for ax, (name, (cls, kwargs)) in zip(axes.flat, gallery.items()):
    ax.plot(schedules.lr_sequence(cls, steps, base_lr=0.1, **kwargs))
    ax.set_title(name, fontsize=10)
plateau_metric = np.r_[np.linspace(1, 0.5, 100), np.full(200, 0.5)]
axes.flat[14].plot(schedules.lr_sequence(schedules.ReduceLROnPlateau, steps, base_lr=0.1,
                                         metrics=plateau_metric, patience=20, factor=0.5))
axes.flat[14].set_title("ReduceLROnPlateau (loss flat from 100)", fontsize=10)
lam = schedules.lr_sequence(schedules.LambdaLR, steps, lr_lambda=lambda t: 1 / (1 + 0.02 * t))
axes.flat[15].plot(lam)
axes.flat[15].set_title("LambdaLR: 1 / (1 + 0.02 t)", fontsize=10)
for ax in axes[-1]:
    ax.set_xlabel("step")
fig.tight_layout()

# %% [markdown]
# The warmup schedules also exist as plain functions of the step (handy for plots and for
# checking a formula):

# %%
print(inspect.getsource(schedules.warmup_cosine))

# %%
for t in (0, 15, 30, 165, 300):
    print(t, round(schedules.warmup_cosine(t, warmup_steps=30, total_steps=300,
                                           min_lr_ratio=0.1, base_lr=0.1), 5))

# %% [markdown]
# ## Per batch or per epoch?
#
# PyTorch's schedulers count calls to `step()`. Call it once per **epoch** and `T_max`
# is in epochs; once per **batch** and it is in batches. Mixing the two is a classic
# bug: a cosine written for 10 epochs but stepped every batch finishes its whole cycle
# within the first few epochs and then climbs back up.

# %%
epochs, batches_per_epoch = 10, 50
per_epoch = np.repeat(schedules.lr_sequence(schedules.CosineAnnealingLR, epochs, T_max=epochs),
                      batches_per_epoch)
per_batch = schedules.lr_sequence(schedules.CosineAnnealingLR, epochs * batches_per_epoch,
                                  T_max=epochs * batches_per_epoch)
wrong = schedules.lr_sequence(schedules.CosineAnnealingLR, epochs * batches_per_epoch,
                              T_max=epochs)
mplot.schedule_curves({"stepped per epoch (T_max = 10)": per_epoch,
                       "stepped per batch (T_max = 500)": per_batch,
                       "per batch with T_max = 10 (bug)": wrong})

# %% [markdown]
# ## OneCycle and momentum
#
# OneCycle (Smith) warms the rate up to `max_lr` over 30 % of the steps, then anneals
# it to `max_lr / (div_factor · final_div_factor)`; momentum moves the opposite way,
# between 0.95 and 0.85.

# %%
lr = schedules.lr_sequence(schedules.OneCycleLR, 1000, max_lr=0.1, total_steps=1000,
                           optimizer_kwargs={"momentum": 0.9})
mom = schedules.momentum_sequence(schedules.OneCycleLR, 1000, max_lr=0.1, total_steps=1000,
                                  optimizer_kwargs={"momentum": 0.9})
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(lr, label="learning rate")
ax.set(xlabel="step", ylabel="learning rate")
twin = ax.twinx()
twin.plot(mom, color="C1", label="momentum")
twin.set_ylabel("momentum")
fig.legend(loc="upper right")
print(f"start {lr[0]:.4f}, peak {lr.max():.4f} at step {lr.argmax()}, end {lr[-1]:.2e}")

# %% [markdown]
# ## Do schedules pay off? A small ablation
#
# The chapters' scheduler exercise, at a small scale: the digits MLP with SGD + momentum
# under five schedules, each stepped every batch.

# %%
runs = experiments.scheduler_ablation(epochs=3, hidden=(64,), n_train=800)
for run in runs:
    print(f"{run['name']:16s} final test accuracy {run['final_test_accuracy']:.3f}")
mplot.run_panels(runs, panels=["lr", {"key": "loss", "log": True, "smooth": 0.9}])

# %% [markdown]
# ## Exercises
#
# 1. Write StepLR's formula as a `LambdaLR` and check that both give the same sequence.
# 2. Build "linear warmup for 5 epochs, then cosine to 1e-5" (the chapters' ResNet recipe)
#    with `SequentialLR`, `LinearLR(start_factor=0.1)` and `CosineAnnealingLR` for 50
#    batches per epoch and 20 epochs; plot it.
# 3. With `CosineAnnealingWarmRestarts(T_0=50, T_mult=2)`, at which steps do the restarts
#    happen?
#
# ### Solution (click to show)

# %% [solution]
# 1.
a = schedules.lr_sequence(schedules.StepLR, 300, step_size=100, gamma=0.1)
b = schedules.lr_sequence(schedules.LambdaLR, 300, lr_lambda=lambda t: 0.1 ** (t // 100))
print(np.allclose(a, b))

# 2.
per_epoch_batches, warm, total = 50, 5, 20


def recipe(optimizer):
    warmup = schedules.LinearLR(optimizer, start_factor=0.1, total_iters=warm * per_epoch_batches)
    cosine = schedules.CosineAnnealingLR(optimizer, T_max=(total - warm) * per_epoch_batches,
                                         eta_min=1e-5)
    return schedules.SequentialLR(optimizer, [warmup, cosine],
                                  milestones=[warm * per_epoch_batches])


mplot.schedule_curves({"warmup + cosine": schedules.lr_sequence(recipe, total * per_epoch_batches)},
                      warmup_steps=warm * per_epoch_batches)

# 3. cycles of 50, 100, 200, ...: restarts at 50, 150, 350
seq = schedules.lr_sequence(schedules.CosineAnnealingWarmRestarts, 400, T_0=50, T_mult=2)
print(np.nonzero(np.diff(seq) > 0)[0] + 1)

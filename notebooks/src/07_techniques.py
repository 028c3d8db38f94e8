# %% [markdown]
# # 7. Practical techniques
#
# The optimizer is only part of a training loop. This notebook runs the tools around it
# on a small regression network ($10 \to 32 \to 1$, MSE):
#
# * the **LR range test**: sweep $\eta$ geometrically over one short run, pick the rate
#   where the loss falls fastest;
# * **gradient clipping**: if $\lVert g\rVert > c$, use $g \cdot c/\lVert g\rVert$;
# * **gradient accumulation**: average the gradients of $k$ micro-batches before one step
#   (an effective batch $k$ times larger);
# * **mixed precision**: compute in float16, keep float32 master weights, scale the loss
#   so small gradients do not underflow;
# * **parameter groups** and layer-wise learning-rate decay (LLRD);
# * weight averaging: an **EMA** of the weights, and **SWA**.

# %%
import numpy as np
import matplotlib.pyplot as plt

import minigrad
import optim
import schedules
import minigrad.plot as mplot
from minigrad import amp, nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn import functional as F

%matplotlib inline

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(512, 10)).astype(np.float32)
true_w = rng.normal(size=(10, 1)).astype(np.float32)
y = (x @ true_w + 0.1 * rng.normal(size=(512, 1))).astype(np.float32)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                    generator=np.random.default_rng(0))


def make_model(seed=0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))


def full_loss(model):
    with minigrad.no_grad():
        return F.mse_loss(model(minigrad.tensor(x)), minigrad.tensor(y)).item()

# %% [markdown]
# ## LR range test

# %%
model = make_model()
finder = schedules.LRFinder(model, optim.SGD(model.parameters(), lr=0.01), F.mse_loss)
finder.range_test(loader, start_lr=1e-4, end_lr=10, num_iter=100)
suggested = finder.suggestion()
print(f"suggested learning rate: {suggested:.3g}")
finder.plot()

# %% [markdown]
# The suggestion is the point of steepest descent of the smoothed loss; the usual advice
# is to train somewhat below the rate at which the loss turns up. The finder restores the
# model and optimizer afterwards, so the test changes nothing.
#
# ## Gradient clipping
#
# `nn.utils.clip_grad_norm_` rescales all gradients together so that their total norm is at
# most `max_norm`, and returns the norm measured *before* clipping.

# %%
model = make_model()
opt = optim.SGD(model.parameters(), lr=0.05)
before, after = [], []
for epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(model(xb), yb).backward()
        before.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item()))
        after.append(float(np.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))))
        opt.step()
mplot.grad_norms(before, after, max_norm=1.0)

# %% [markdown]
# ## Gradient accumulation
#
# With a mean loss, dividing each micro-batch loss by $k$ before `backward()` makes the
# accumulated gradient equal to the gradient of the whole batch. We check it:

# %%
model = make_model()
xb, yb = minigrad.tensor(x[:128]), minigrad.tensor(y[:128])
F.mse_loss(model(xb), yb).backward()
whole = [p.grad.copy() for p in model.parameters()]
model.zero_grad()
k = 4
for part in range(k):
    rows = slice(32 * part, 32 * (part + 1))
    (F.mse_loss(model(minigrad.tensor(x[rows])), minigrad.tensor(y[rows])) / k).backward()
print("largest difference:", max(np.abs(g - p.grad).max()
                                 for g, p in zip(whole, model.parameters())))

# %% [markdown]
# ## Mixed precision
#
# Inside `amp.autocast`, matrix products run in float16. `GradScaler` multiplies the loss by
# a large factor before `backward()`, divides the gradients by it before the step, and
# skips steps whose gradients overflowed (then halves the factor). It starts at
# $2^{16} = 65536$, which overflows float16 on the first steps here: those steps are
# skipped and the scale settles lower (NumPy's overflow warnings are silenced below).

# %%
def train_epochs(use_amp, epochs=3):
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    scaler = amp.GradScaler(enabled=use_amp)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            with amp.autocast(enabled=use_amp):
                loss = F.mse_loss(model(xb), yb)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    return full_loss(model), scaler.get_scale() if use_amp else None


print("float32:         final loss %.4f" % train_epochs(False)[0])
with np.errstate(over="ignore", invalid="ignore"):   # the scaler's first steps overflow
    loss16, scale = train_epochs(True)
print("mixed precision: final loss %.4f, loss scale now %g" % (loss16, scale))

# %% [markdown]
# ## Parameter groups and layer-wise learning-rate decay
#
# Each group has its own hyper-parameters. LLRD gives the top layer $\eta$ and each layer
# below $\eta\,d^{\text{depth}}$, as used when fine-tuning pretrained transformers.
# `weight_decay_groups` keeps biases and normalisation parameters out of weight decay.

# %%
deep = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                     nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
groups = optim.layerwise_lr_decay_groups(deep, lr=1e-3, decay=0.5)
for group in groups:
    print(group["param_names"], group["lr"])
opt = optim.AdamW(groups, weight_decay=0.01)
mplot.layer_lr_bars({"LLRD, decay 0.5": [g["lr"] for g in groups],
                     "one rate": [1e-3] * len(groups)})

# %%
for group in optim.weight_decay_groups(deep, weight_decay=0.01):
    print(group["weight_decay"], len(group["params"]), "tensors")

# %% [markdown]
# ## Weight averaging: EMA and SWA
#
# An exponential moving average of the weights, $\bar\theta \leftarrow \beta\bar\theta +
# (1-\beta)\theta$, is often a better model than the last iterate, because the noise of the
# last steps averages out. `optim.AveragedModel` keeps the copy.

# %%
model = make_model()
opt = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
ema = optim.AveragedModel(model, multi_avg_fn=optim.get_ema_multi_avg_fn(0.95))
raw_losses, ema_losses = [], []
for epoch in range(4):
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(model(xb), yb).backward()
        opt.step()
        ema.update_parameters(model)
    raw_losses.append(full_loss(model))
    ema_losses.append(full_loss(ema.module))
print("last iterate:", np.round(raw_losses, 4))
print("EMA (0.95):  ", np.round(ema_losses, 4))

# %% [markdown]
# While the loss still falls fast the average lags behind (it remembers older, worse
# weights); once the iterate only jitters around a minimum, the average is better.
#
# ## Exercises
#
# 1. Run the LR range test with Adam instead of SGD. Is the suggestion larger or
#    smaller, and why?
# 2. In the accumulation check, forget the `/ k`. By what factor is the gradient off?
# 3. Why must `clip_grad_norm_` come *after* `scaler.unscale_(opt)` when clipping with
#    mixed precision?
#
# ### Solution (click to show)

# %% [solution]
# 1.
model = make_model()
finder = schedules.LRFinder(model, optim.Adam(model.parameters()), F.mse_loss)
finder.range_test(loader, start_lr=1e-5, end_lr=1, num_iter=100)
print(f"Adam: {finder.suggestion():.3g}")
# Adam's steps are about lr per coordinate whatever the gradient size, so its useful
# range sits at different values than SGD's, whose step is lr times the gradient.

# 2. Without / k the gradient is the SUM of the k micro-batch means: k times too large.

# 3. The gradients are still multiplied by the loss scale (e.g. 65536) until unscaled;
#    clipping them then would compare the scaled norm with max_norm.

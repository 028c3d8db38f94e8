# %% [markdown]
# # 3. Adaptive learning rates: Adagrad, RMSprop, Adadelta
#
# One learning rate for every parameter is a poor fit when gradients differ in scale by
# orders of magnitude (a steep and a flat direction, frequent and rare features). The
# adaptive methods divide each coordinate's step by a running measure of its gradient
# size.
#
# | method | accumulator $s$ | step |
# |---|---|---|
# | Adagrad | $s_t = s_{t-1} + g_t^2$ (all of history) | $\theta \mathrel{-}= \eta\, g_t / (\sqrt{s_t} + \epsilon)$ |
# | RMSprop | $s_t = \alpha s_{t-1} + (1-\alpha) g_t^2$ (an EWA) | $\theta \mathrel{-}= \eta\, g_t / (\sqrt{s_t} + \epsilon)$ |
# | Adadelta | EWA of $g^2$ and of $\Delta\theta^2$ | $\Delta\theta_t = -\frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{s_t+\epsilon}}\, g_t$ |
#
# Adagrad's sum only grows, so its steps shrink for ever: good for sparse features,
# fatal for long training. RMSprop forgets old gradients (default $\alpha = 0.99$).
# Adadelta also replaces $\eta$ by the running size of recent updates, so the step has the
# units of $\theta$.

# %%
import inspect

import numpy as np
import matplotlib.pyplot as plt

import minigrad
import optim
from minigrad import landscapes
from minigrad.trajectories import run_trajectory, steps_to_reach
import minigrad.plot as mplot

%matplotlib inline

# %% [markdown]
# The library's update functions are the equations above, line for line:

# %%
print(inspect.getsource(optim.adagrad_update))

# %%
print(inspect.getsource(optim.rmsprop_update))

# %%
print(inspect.getsource(optim.adadelta_update))

# %% [markdown]
# ## On an ill-conditioned ravine
#
# The ravine $f = \frac12(x^2 + 50y^2)$ has curvatures 1 and 50. Plain gradient descent
# must keep $\eta < 2/50$ and then crawls along $x$. Dividing by $\sqrt{s}$ makes the first
# steps the same size in both coordinates.

# %%
ravine = landscapes.get("ravine", condition=50.0)
runs = {
    "SGD (lr 0.035)": run_trajectory(ravine, optim.SGD, steps=150, lr=0.035),
    "Adagrad (lr 0.5)": run_trajectory(ravine, optim.Adagrad, steps=150, lr=0.5),
    "RMSprop (lr 0.05)": run_trajectory(ravine, optim.RMSprop, steps=150, lr=0.05),
    "Adadelta (lr 1.0)": run_trajectory(ravine, optim.Adadelta, steps=150, lr=1.0),
}
for name, run in runs.items():
    print(f"{name:18s} final loss {run['loss'][-1]:.2e}   steps to 1e-2: "
          f"{steps_to_reach(run['loss'], 1e-2)}")
mplot.trajectories_on_contours(ravine, runs)

# %%
mplot.loss_curves({name: run["loss"] for name, run in runs.items()}, title="ravine")

# %% [markdown]
# Adadelta starts very slowly: its numerator $\sqrt{u+\epsilon}$ begins at
# $\sqrt{\epsilon} = 10^{-3}$ and has to grow from its own updates.
#
# ## Adagrad's shrinking step
#
# With a constant gradient $g$, Adagrad's step after $t$ steps is
# $\eta g/\sqrt{t g^2} = \eta/\sqrt{t}$: it decays like $1/\sqrt t$ whatever happens.
# RMSprop's settles at $\eta g/\sqrt{g^2} = \eta$.

# %%
def step_sizes(optimizer_cls, steps=500, **kwargs):
    w = minigrad.Parameter(np.zeros(1))
    opt = optimizer_cls([w], **kwargs)
    sizes = []
    for _ in range(steps):
        before = w.data.copy()
        w.grad = np.ones(1)      # the same gradient every step
        opt.step()
        sizes.append(abs(float(w.data[0] - before[0])))
    return np.array(sizes)


fig, ax = plt.subplots(figsize=(7, 3.5))
ax.loglog(step_sizes(optim.Adagrad, lr=0.1), label="Adagrad")
ax.loglog(step_sizes(optim.RMSprop, lr=0.1), label="RMSprop (α = 0.99)")
ax.loglog(0.1 / np.sqrt(np.arange(1, 501)), "k:", label="0.1 / √t")
ax.set(xlabel="step", ylabel="|Δθ|", title="Step size under a constant gradient")
ax.legend()

# %% [markdown]
# ## Exercises
#
# 1. RMSprop's first step is larger than $\eta$. Why, and by what factor (with
#    $\alpha = 0.99$)? Check it with `step_sizes`.
# 2. Find a learning rate for Adagrad that reaches loss $10^{-2}$ on Rosenbrock
#    (`landscapes.get("rosenbrock")`) within 2000 steps.
# 3. Adagrad with `lr_decay`: read its docstring and say what it adds.
#
# ### Solution (click to show)

# %% [solution]
# 1. s_1 = (1 - α) g², so the step is η g / sqrt(0.01 g²) = 10 η: the average starts at 0
#    and RMSprop has no bias correction (Adam adds one).
print(step_sizes(optim.RMSprop, steps=3, lr=0.1))

# 2.
rosen = landscapes.get("rosenbrock")
for lr in (0.1, 0.3, 1.0):
    loss = run_trajectory(rosen, optim.Adagrad, steps=2000, lr=lr)["loss"]
    print(lr, steps_to_reach(loss, 1e-2))

# 3. The learning rate itself decays as lr / (1 + (t - 1) * lr_decay), on top of the
#    shrinking 1/sqrt(s).
print(optim.Adagrad.__doc__[:600])

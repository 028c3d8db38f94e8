# %% [markdown]
# # 2. Averages, bias correction, momentum and Nesterov
#
# ## Exponentially weighted averages
#
# Momentum, RMSprop and Adam all keep a running average of something. The running
# average of a sequence $\theta_1, \theta_2, \dots$ is
#
# $$v_t = \beta\, v_{t-1} + (1-\beta)\, \theta_t, \qquad v_0 = 0.$$
#
# Unrolled, $v_t = (1-\beta)\sum_{k\le t} \beta^{t-k}\theta_k$: weights that decay
# geometrically. They fall to about $1/e$ after $1/(1-\beta)$ steps, so $\beta = 0.9$
# averages roughly the last 10 values and $\beta = 0.98$ the last 50.

# %%
import inspect

import numpy as np
import matplotlib.pyplot as plt

import minigrad
import optim
from minigrad import landscapes
from minigrad.gallery import REGISTRY
from minigrad.trajectories import run_trajectory
import minigrad.plot as mplot

%matplotlib inline

# %%
temps = mplot.temperatures(days=60)
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(temps, ".", color="0.6", label="daily value")
for beta in (0.5, 0.9, 0.98):
    ax.plot(mplot.ewa(temps, beta, bias_correction=True), label=f"β = {beta}")
ax.set(xlabel="day", ylabel="°C", title="Larger β: smoother, but later")
ax.legend()

# %% [markdown]
# ## Bias correction
#
# Because $v_0 = 0$ the first averages are too small: $v_1 = (1-\beta)\theta_1$. The
# weights $(1-\beta)\beta^{t-k}$ sum to $1-\beta^t$, not 1, so dividing by that sum fixes
# the start:
#
# $$\hat v_t = \frac{v_t}{1-\beta^t}.$$
#
# As $t$ grows, $\beta^t \to 0$ and the correction fades away. The gallery figure shows
# both curves:

# %%
REGISTRY["ewa_bias_correction"].make(quick=True)

# %%
beta = 0.9
raw = mplot.ewa(temps, beta)
corrected = mplot.ewa(temps, beta, bias_correction=True)
print("first value:", temps[0].round(2), " raw EWA:", raw[0].round(2),
      " corrected:", corrected[0].round(2))
assert np.isclose(corrected[0], temps[0])       # the corrected average starts at θ_1
assert np.allclose(corrected, raw / (1 - beta ** np.arange(1, len(raw) + 1)))

# %% [markdown]
# ## Momentum, two conventions
#
# Momentum averages the gradients and steps along the average. The chapters write it as an
# EWA (the **EWA convention**):
#
# $$v_t = \beta v_{t-1} + (1-\beta) g_t, \qquad \theta_t = \theta_{t-1} - \eta\, v_t.$$
#
# PyTorch (and so `optim.SGD`) drops the $(1-\beta)$ (the **PyTorch convention**):
#
# $$b_t = \mu b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \eta\, b_t.$$
#
# Since $v_t = (1-\beta) b_t$, the two are the same algorithm when
# $\eta_{\text{EWA}} = \eta_{\text{PyTorch}} / (1-\beta)$. `optim.MomentumEWA` is the EWA
# form; let us check the equivalence on Rosenbrock.

# %%
print(inspect.getsource(optim.momentum_ewa_update))

# %%
rosen = landscapes.get("rosenbrock")
lr, mu = 1e-4, 0.9
pytorch_style = run_trajectory(rosen, optim.SGD, steps=300, lr=lr, momentum=mu)
ewa_style = run_trajectory(rosen, optim.MomentumEWA, steps=300, lr=lr / (1 - mu), beta=mu)
print("largest difference between the two paths:",
      np.abs(pytorch_style["path"] - ewa_style["path"]).max())
assert np.allclose(pytorch_style["path"], ewa_style["path"])

# %% [markdown]
# Why momentum helps: in a narrow ravine plain gradient descent zig-zags across the
# steep direction; the average of alternating gradients cancels, while the small,
# consistent gradient along the valley accumulates.

# %%
REGISTRY["momentum_ravine"].make(quick=True)

# %% [markdown]
# ## Nesterov: look before you leap
#
# Nesterov's accelerated gradient takes the gradient where momentum is about to carry
# the parameters, at the look-ahead point $\theta - \eta\mu v$:
#
# $$v_t = \mu v_{t-1} + \nabla f(\theta_{t-1} - \eta\mu v_{t-1}), \qquad
#   \theta_t = \theta_{t-1} - \eta v_t.$$
#
# PyTorch's `SGD(nesterov=True)` runs the same algorithm written for the shifted variable
# $\phi = \theta - \eta\mu v$, which needs no extra gradient evaluation:
#
# $$b_t = \mu b_{t-1} + g_t, \qquad \phi_t = \phi_{t-1} - \eta\,(g_t + \mu b_t),
#   \quad g_t = \nabla f(\phi_{t-1}).$$
#
# `optim.NesterovLookahead` is the look-ahead form (it needs a closure to evaluate the
# gradient at the look-ahead point).

# %%
ravine = landscapes.get("ravine", condition=50.0)
steps, lr, mu = 60, 0.02, 0.9
runs = {
    "momentum": run_trajectory(ravine, optim.SGD, steps=steps, lr=lr, momentum=mu),
    "Nesterov (PyTorch form)": run_trajectory(ravine, optim.SGD, steps=steps, lr=lr,
                                              momentum=mu, nesterov=True),
    "Nesterov (look-ahead form)": run_trajectory(ravine, optim.NesterovLookahead,
                                                 steps=steps, lr=lr, momentum=mu),
}
for name, run in runs.items():
    print(f"{name:28s} loss after {steps} steps: {run['loss'][-1]:.2e}")
mplot.trajectories_on_contours(ravine, runs)

# %% [markdown]
# Momentum overshoots and swings back across the valley; Nesterov's look-ahead sees the
# gradient turn before it gets there and damps the swing. The two Nesterov forms follow
# the same path (up to the shift $\eta\mu v$, which vanishes as they converge).

# %%
mplot.loss_curves({name: run["loss"] for name, run in runs.items()},
                  title="ravine, condition 50")

# %% [markdown]
# ## Exercises
#
# 1. Show numerically that the EWA weights $(1-\beta)\beta^{t-k}$, $k = 1..t$, sum to
#    $1 - \beta^t$ for $\beta = 0.9$, $t = 5$.
# 2. Run `SGD(momentum=0.9)` and `MomentumEWA(beta=0.9)` with the **same** learning rate
#    on the ravine. Which one moves faster, and by what factor?
# 3. Check the claim above: after every step, the PyTorch-form Nesterov parameter equals
#    the look-ahead point of the look-ahead form.
#
# ### Solution (click to show)

# %% [solution]
# 1.
beta, t = 0.9, 5
weights = (1 - beta) * beta ** (t - np.arange(1, t + 1))
print(weights.sum(), 1 - beta ** t)

# 2. With the same lr the EWA form takes steps (1 - beta) = 10 times smaller.
same = {"SGD momentum": run_trajectory(ravine, optim.SGD, steps=60, lr=0.01, momentum=0.9),
        "MomentumEWA": run_trajectory(ravine, optim.MomentumEWA, steps=60, lr=0.01, beta=0.9)}
print({name: float(run["loss"][-1]) for name, run in same.items()})

# 3. Step both by hand and compare phi with theta - lr * mu * v.
theta = minigrad.Parameter(np.array([-1.0, 1.0]))
phi = minigrad.Parameter(np.array([-1.0, 1.0]))
look = optim.NesterovLookahead([theta], lr=1e-3, momentum=0.9)
torch_style = optim.SGD([phi], lr=1e-3, momentum=0.9, nesterov=True)


def closure_for(param, opt):
    def closure():
        opt.zero_grad()
        loss = rosen(param)
        loss.backward()
        return loss
    return closure


for _ in range(20):
    look.step(closure_for(theta, look))
    torch_style.step(closure_for(phi, torch_style))
lookahead_point = theta.data - 1e-3 * 0.9 * look.state[theta]["momentum_buffer"]
print(np.abs(lookahead_point - phi.data).max())

# %% [markdown]
# # 4. Adam and its family: AdamW, AMSGrad, NAdam, RAdam
#
# Adam combines the two ideas of the previous notebooks: momentum (an average $m$ of
# gradients) and RMSprop (an average $v$ of squared gradients), both bias-corrected.
# With $t$ counting steps from 1:
#
# $$\begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, &
# v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2,\\
# \hat m_t &= \frac{m_t}{1-\beta_1^t}, &
# \hat v_t &= \frac{v_t}{1-\beta_2^t},\\
# \theta_t &= \theta_{t-1} - \alpha\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.
# \end{aligned}$$
#
# Defaults: $\alpha = 10^{-3}$, $\beta_1 = 0.9$ (about 10 gradients averaged),
# $\beta_2 = 0.999$ (about 1000), $\epsilon = 10^{-8}$. The direction adapts quickly; the
# scale changes slowly.

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

# %%
print(inspect.getsource(optim.adam.adam_update))

# %% [markdown]
# ## The worked example, three steps by hand
#
# Minimise $f(w) = w^2$ from $w = 5$ with $\alpha = 0.1$, $\beta_1 = 0.9$,
# $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. The chapter traces three iterations and prints
# these values (rounded as printed):
#
# | $t$ | $g_t$ | $m_t$ | $v_t$ | $\hat m_t$ | $\hat v_t$ | $w_t$ |
# |---|---|---|---|---|---|---|
# | 1 | 10.0 | 1.0 | 0.1 | 10.0 | 100.0 | 4.9 |
# | 2 | 9.8 | 1.88 | 0.1960 | 9.895 | 98.05 | 4.8 |
# | 3 | 9.6 | 2.652 | 0.288 | 9.786 | 96.10 | 4.7 |
#
# We run the library's `Adam` on the same problem (in float64) and read $m$ and $v$ from
# its state.

# %%
printed = {  # t: g, m, v, m_hat, v_hat, w as the chapter prints them
    1: dict(g=10.0, m=1.0, v=0.1, m_hat=10.0, v_hat=100.0, w=4.9),
    2: dict(g=9.8, m=1.88, v=0.1960, m_hat=9.895, v_hat=98.05, w=4.8),
    3: dict(g=9.6, m=2.652, v=0.288, m_hat=9.786, v_hat=96.10, w=4.7),
}


def decimals(number):
    """How many decimals the chapter printed (9.895 -> 3)."""
    text = repr(number)
    return len(text.split(".")[1]) if "." in text else 0


beta1, beta2 = 0.9, 0.999
w = minigrad.Parameter(np.array([5.0]))
adam = optim.Adam([w], lr=0.1, betas=(beta1, beta2), eps=1e-8)
ours = {}
print(" t        g         m          v      m_hat      v_hat          w")
for t in (1, 2, 3):
    adam.zero_grad()
    (w ** 2).sum().backward()
    g = float(w.grad[0])
    adam.step()
    m, v = float(adam.state[w]["exp_avg"][0]), float(adam.state[w]["exp_avg_sq"][0])
    ours[t] = dict(g=g, m=m, v=v, m_hat=m / (1 - beta1 ** t), v_hat=v / (1 - beta2 ** t),
                   w=float(w.data[0]))
    print(f"{t:2d} " + " ".join(f"{x:10.5f}" for x in ours[t].values()))

# %% [markdown]
# Every $g$, $m$, $\hat m$ and $w$ matches to the printed digits, and $v$ to the three
# significant digits the chapter carries (it writes $0.1960$ for $0.19594$). The chapter then
# bias-corrects its *rounded* $v$: $0.196/0.001999 = 98.05$, while the exact value is
# $98.02$. Dividing by $1-eta_2^t pprox 0.002$ multiplies a rounding error of
# $6\cdot10^{-5}$ by 500 — a small lesson in itself. We check both statements:

# %%
for t, row in printed.items():
    for name in ("g", "m", "m_hat", "w"):
        assert round(ours[t][name], decimals(row[name])) == row[name], (t, name)
    assert round(ours[t]["v"], 3) == round(row["v"], 3), (t, "v")
    from_rounded_v = row["v"] / (1 - beta2 ** t)          # the chapter's arithmetic
    assert round(from_rounded_v, decimals(row["v_hat"])) == row["v_hat"], (t, "v_hat")
    assert abs(ours[t]["v_hat"] - row["v_hat"]) / row["v_hat"] < 5e-4   # exact: within 0.05 %
print("the worked example is reproduced: w = 4.9, 4.8, 4.7")

# %% [markdown]
# Note the first step: $\hat m_1/\sqrt{\hat v_1} = g/|g| = 1$, so Adam's first step is
# $\alpha$ whatever the gradient's size. Without bias correction it would be
# $\alpha(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16\,\alpha$ (the library's teaching switch
# `bias_correction=False` shows it):

# %%
for correct in (True, False):
    w = minigrad.Parameter(np.array([5.0]))
    opt = optim.Adam([w], lr=0.1, bias_correction=correct)
    w.grad = np.array([10.0])
    opt.step()
    print(f"bias_correction={correct}: first step {5.0 - w.data[0]:.4f}")

# %% [markdown]
# ## AdamW: decoupled weight decay
#
# L2 regularisation adds $\lambda\theta$ to the gradient, and Adam then divides it by
# $\sqrt{\hat v}$: parameters with large gradients are barely decayed. AdamW (Loshchilov &
# Hutter) shrinks the weights directly, outside the adaptive step:
#
# $$\theta_t = \theta_{t-1} - \alpha\Big(\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}
#   + \lambda\, \theta_{t-1}\Big).$$
#
# Below, three weights start at 1 and receive pure noise gradients of very different
# scales; only the decay can move them on average.

# %%
def decay_by_gradient_scale(optimizer_cls, scales=(0.01, 1.0, 100.0), steps=1000,
                            copies=500, **kw):
    """Mean final weight per gradient scale (averaged over copies to remove the noise)."""
    rng = np.random.default_rng(0)
    scale = np.asarray(scales)[:, None]
    w = minigrad.Parameter(np.ones((len(scales), copies)))
    opt = optimizer_cls([w], **kw)
    for _ in range(steps):
        w.grad = scale * rng.normal(size=w.shape)
        opt.step()
    return w.data.mean(axis=1)


scales = (0.01, 1.0, 100.0)
for name, cls in (("Adam + L2", optim.Adam), ("AdamW", optim.AdamW)):
    final = decay_by_gradient_scale(cls, scales, lr=1e-3, weight_decay=0.1)
    print(f"{name:10s}", "  ".join(f"scale {s:g}: w = {x:.3f}" for s, x in zip(scales, final)))
print("AdamW's expected shrink (1 - lr*wd)^steps =", round((1 - 1e-3 * 0.1) ** 1000, 3))

# %% [markdown]
# With L2 the weight whose gradients are tiny decays fast and the one with large gradients
# not at all; AdamW decays all three by the same factor. (Whether Adam + L2 shrinks a
# *whole network* faster or slower than AdamW depends on its gradient scales: with small
# gradients, L2 dominates the normalised step.)
#
# ## AMSGrad, NAdam, RAdam
#
# * **AMSGrad** divides by the largest $\hat v$ seen so far, so the step size never grows
#   (`Adam(amsgrad=True)`).
# * **NAdam** puts Nesterov's look-ahead into the first moment.
# * **RAdam** switches off the adaptive term during the first steps, while the variance of
#   $\hat v$ is too large to trust (a built-in warmup). Those first steps are plain
#   momentum steps $\alpha\hat m$; with Rosenbrock's gradients (in the hundreds) they are
#   far too long at $\alpha = 0.02$, so RAdam gets a ten times smaller rate here
#   (try 0.02 to see it diverge).

# %%
rosen = landscapes.get("rosenbrock")
family = {
    "Adam": (optim.Adam, {}),
    "AMSGrad": (optim.Adam, {"amsgrad": True}),
    "NAdam": (optim.NAdam, {}),
    "RAdam (lr 0.002)": (optim.RAdam, {"lr": 0.002}),
    "AdamW": (optim.AdamW, {"weight_decay": 0.01}),
}
runs = {name: run_trajectory(rosen, cls, steps=1500, name=name, **{"lr": 0.02, **kw})
        for name, (cls, kw) in family.items()}
for name, run in runs.items():
    print(f"{name:16s} final loss {run['loss'][-1]:.2e}  steps to 1e-3: "
          f"{steps_to_reach(run['loss'], 1e-3)}")
mplot.trajectories_on_contours(rosen, runs)

# %%
mplot.loss_curves({name: run["loss"] for name, run in runs.items()}, title="Rosenbrock, lr 0.02")

# %% [markdown]
# ## Exercises
#
# 1. Continue the worked example for two more steps by hand (numbers in a cell), then
#    check against `optim.Adam`.
# 2. After how many steps is the bias correction of $v$ below 1 % ($\beta_2^t < 0.01$)?
#    And that of $m$?
# 3. RAdam's first steps: run `optim.RAdam` for 6 steps on $f(w) = w^2$ from 5 with
#    $\alpha = 0.1$ and print the steps. When does the adaptive term switch on?
#
# ### Solution (click to show)

# %% [solution]
# 1.
w_hand, m_hand, v_hand = 5.0, 0.0, 0.0
for t in range(1, 6):
    g = 2 * w_hand
    m_hand = 0.9 * m_hand + 0.1 * g
    v_hand = 0.999 * v_hand + 0.001 * g * g
    w_hand -= 0.1 * (m_hand / (1 - 0.9 ** t)) / (np.sqrt(v_hand / (1 - 0.999 ** t)) + 1e-8)
    print(t, round(w_hand, 5))
w = minigrad.Parameter(np.array([5.0]))
opt = optim.Adam([w], lr=0.1)
for _ in range(5):
    w.grad = 2 * w.data
    opt.step()
assert np.isclose(w.data[0], w_hand)

# 2. beta2^t < 0.01  <=>  t > ln(0.01) / ln(beta2)
print(int(np.ceil(np.log(0.01) / np.log(0.999))), int(np.ceil(np.log(0.01) / np.log(0.9))))

# 3.
w = minigrad.Parameter(np.array([5.0]))
opt = optim.RAdam([w], lr=0.1)
for t in range(1, 7):
    before = w.data[0]
    w.grad = 2 * w.data
    opt.step()
    print(t, round(before - w.data[0], 4))
# The rectification term needs rho_t > 5, which happens from step 6 with beta2 = 0.999;
# before that RAdam takes plain momentum (SGD-like) steps lr * m_hat.

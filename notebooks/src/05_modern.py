# %% [markdown]
# # 5. Modern optimizers
#
# Adam's two averages cost two extra copies of the model. At the scale of large
# language models that memory, the cost of big batches, and the hunt for better minima
# produced a new generation of optimizers. One line each:
#
# | optimizer | idea | update (simplified) |
# |---|---|---|
# | LARS | layer-wise trust ratio for SGD | $\theta_l \mathrel{-}= \eta\,\frac{\lVert\theta_l\rVert}{\lVert g_l\rVert}\, g_l$ (with momentum) |
# | LAMB | LARS's ratio on Adam's step $r$ | $\theta_l \mathrel{-}= \eta\,\frac{\lVert\theta_l\rVert}{\lVert r_l + \lambda\theta_l\rVert}(r_l + \lambda\theta_l)$ |
# | Adafactor | factor $v$ of a matrix into row and column sums | $\hat V = R\,C^\top / \mathbf 1^\top R$ |
# | Lion | the sign of an interpolated momentum | $\theta \mathrel{-}= \eta\,\mathrm{sign}(\beta_1 m + (1-\beta_1) g)$ |
# | 8-bit Adam | Adam's $m, v$ stored in 8 bits, block-wise quantised | same as Adam |
# | Sophia | clipped Newton step with a diagonal Hessian estimate $h$ | $\theta \mathrel{-}= \eta\,\mathrm{clip}(m / \max(\rho h, \epsilon), 1)$ |
# | SAM | gradient at the worst nearby point | $g = \nabla L(\theta + \rho\, \nabla L / \lVert\nabla L\rVert)$ |
# | Schedule-Free | averaging replaces the decay schedule | $x_{t+1} = (1-c)\,x_t + c\, z_{t+1}$, gradients at $y$ between $x$ and $z$ |
# | Muon | orthogonalised momentum for weight matrices | $\theta \mathrel{-}= \eta\, \mathrm{NS}(M)$, $\mathrm{NS}(U S V^\top) \approx U V^\top$ |
# | SOAP | Adam in the eigenbasis of Shampoo's preconditioner | rotate $g$, Adam step, rotate back |

# %%
import inspect

import numpy as np
import matplotlib.pyplot as plt

import minigrad
import optim
import minigrad.plot as mplot
from minigrad import experiments
from minigrad.gallery import REGISTRY

%matplotlib inline

# %% [markdown]
# ## What the state costs: the memory table, measured
#
# For a float32 weight matrix of 128 × 128 we take one step with each optimizer and count
# the bytes of its state per byte of parameters (`optim.state_bytes_per_param`).

# %%
configs = {"SGD": (optim.SGD, {"lr": 0.1}),
           "SGD + momentum": (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
           "LARS": (optim.LARS, {"lr": 0.1}),
           **mplot.modern_configs()}
ratios = mplot.measure_state_ratios(configs)

w = minigrad.Parameter(np.zeros((128, 128), dtype=np.float32))
schedule_free = optim.AdamWScheduleFree([w])
schedule_free.train()                      # schedule-free steps only in train mode
w.grad = np.ones_like(w.data)
schedule_free.step()
ratios["Schedule-free AdamW"] = optim.state_bytes_per_param(schedule_free)

print(f"{'optimizer':22s} state bytes / parameter bytes")
for name, ratio in sorted(ratios.items(), key=lambda item: item[1]):
    print(f"{name:22s} {ratio:6.3f}")

# %%
mplot.memory_bars(ratios)

# %% [markdown]
# Adafactor keeps one row and one column per matrix: $(128+128)/128^2 \approx 1.6\,\%$.
# 8-bit Adam stores two 1-byte arrays per 4-byte weight, plus one float32 scale per block
# of 256 values: $2/4 + 2\cdot 4/(256\cdot 4) \approx 0.508$. SOAP stores Adam's
# two moments plus two Kronecker factors and their eigenvectors per matrix.
#
# ## Lion: the sign of the momentum
#
# Every coordinate moves by exactly $\pm\eta$ (before weight decay), so Lion needs a
# learning rate 3–10 times smaller than Adam's.

# %%
print(inspect.getsource(optim.lion_update))

# %%
REGISTRY["lion_vs_adam"].make(quick=True)

# %% [markdown]
# ## Muon: orthogonalise the momentum
#
# The Newton–Schulz iteration pushes every singular value of the momentum matrix towards 1
# using matrix products only. Let us look at the singular values before and after:

# %%
rng = np.random.default_rng(0)
momentum = rng.normal(size=(32, 64)) @ np.diag(np.geomspace(1e-3, 1, 64))
orthogonalised = optim.zeropower_via_newtonschulz(momentum)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(np.linalg.svd(momentum, compute_uv=False), "o-", label="momentum M")
ax.semilogy(np.linalg.svd(orthogonalised, compute_uv=False), "s-", label="NS(M), 5 steps")
ax.set(xlabel="index", ylabel="singular value", title="Newton–Schulz flattens the spectrum")
ax.legend()

# %% [markdown]
# (The quintic iteration is tuned for speed, not exactness: the values land in a band
# around 1 rather than on it, which is all the update needs.)
#
# ## SAM and Schedule-Free in one picture each

# %%
REGISTRY["sam_flat_minimum"].make(quick=True)

# %%
REGISTRY["schedule_free_train_eval"].make(quick=True)

# %% [markdown]
# ## Training a small network
#
# The same MLP on the digits, the same batches, a few epochs (kept short so the notebook
# stays fast; the gallery runs the long version).

# %%
contenders = {
    "Adam (3e-3)": (optim.Adam, {"lr": 3e-3}),
    "LAMB (1e-2)": (optim.LAMB, {"lr": 1e-2}),
    "Lion (1e-3)": (optim.Lion, {"lr": 1e-3}),
    "Adafactor": (optim.Adafactor, {}),
    "8-bit Adam (3e-3)": (optim.Adam8bit, {"lr": 3e-3}),
}
runs = experiments.optimizer_comparison(contenders, epochs=4, hidden=(64,), n_train=1000)
for run in runs:
    print(f"{run['name']:20s} test accuracy {run['test_accuracy'][-1]:.3f}")
mplot.run_panels(runs, panels=[{"key": "loss", "log": True, "smooth": 0.9}],
                 bars=["test_accuracy"])

# %% [markdown]
# ## Exercises
#
# 1. Compute Adafactor's ratio for a 1024 × 4096 matrix by hand; check it with
#    `mplot.measure_state_ratios({...}, shape=(1024, 4096))` (it takes a few seconds).
# 2. Lion's update is a sign: what is the size of each coordinate's first step, whatever
#    the gradient? Verify with one step.
# 3. Give 8-bit Adam a parameter smaller than `min_8bit_size` (4096 elements by default).
#    What does it store then, and why?
#
# ### Solution (click to show)

# %% [solution]
# 1. (1024 + 4096) / (1024 * 4096) ≈ 0.00122
print((1024 + 4096) / (1024 * 4096))
print(mplot.measure_state_ratios({"Adafactor": (optim.Adafactor, {})}, shape=(1024, 4096)))

# 2. |step| = lr in every coordinate (sign(0.1 g) = sign(g))
w = minigrad.Parameter(np.array([3.0, -0.001, 500.0]))
opt = optim.Lion([w], lr=0.01)
w.grad = w.data.copy()
opt.step()
print(np.array([3.0, -0.001, 500.0]) - w.data)

# 3. Small tensors keep float32 state (quantising them saves little and costs accuracy).
small = minigrad.Parameter(np.zeros(100, dtype=np.float32))
opt = optim.Adam8bit([small])
small.grad = np.ones_like(small.data)
opt.step()
print({k: (v.dtype, v.shape) for k, v in opt.state[small].items() if hasattr(v, "dtype")})

# %% [markdown]
# # 1. Gradient descent: batch, stochastic, mini-batch
#
# Training a network means finding parameters $\theta$ that make a loss $\mathcal{L}(\theta)$
# small. Gradient descent walks downhill, one step of size $\eta$ (the *learning rate*)
# against the gradient:
#
# $$\theta_{t+1} = \theta_t - \eta\, \nabla_\theta \mathcal{L}(\theta_t).$$
#
# The three variants differ only in *which* examples the gradient is averaged over:
#
# | variant | gradient from | steps per epoch |
# |---|---|---|
# | batch | all $N$ examples: $\frac1N\sum_i \nabla\ell_i$ | 1 |
# | stochastic (SGD) | one example $\nabla \ell_i$ | $N$ |
# | mini-batch | a batch $\mathcal B$: $\frac1{|\mathcal B|}\sum_{i\in\mathcal B}\nabla\ell_i$ | $N/|\mathcal B|$ |
#
# In this notebook: the three variants on a small regression, the shape of a loss
# landscape, and what a learning rate that is too small, right, or too large does.

# %%
import inspect

import numpy as np
import matplotlib.pyplot as plt

import minigrad
import optim
from minigrad import landscapes, nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn import functional as F
from minigrad.trajectories import run_trajectory
import minigrad.plot as mplot

%matplotlib inline

# %% [markdown]
# ## The data: a noisy line
#
# We fit $y = 3x - 1 + \text{noise}$ with one linear unit $\hat y = wx + b$ and the mean
# squared error $\mathcal L = \frac1N\sum_i (\hat y_i - y_i)^2$.

# %%
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, size=(256, 1)).astype(np.float32)
y = (3 * x - 1 + 0.3 * rng.normal(size=x.shape)).astype(np.float32)
dataset = TensorDataset(x, y)


def train(batch_size, epochs=5, lr=0.1, seed=0):
    """Plain SGD on the line; returns the full-data loss after every step."""
    minigrad.manual_seed(seed)
    model = nn.Linear(1, 1)
    model.weight.data[...] = 0.0
    model.bias.data[...] = 0.0
    opt = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        generator=np.random.default_rng(seed))
    full_x, full_y = minigrad.tensor(x), minigrad.tensor(y)
    losses = [F.mse_loss(model(full_x), full_y).item()]
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            F.mse_loss(model(xb), yb).backward()
            opt.step()
            with minigrad.no_grad():
                losses.append(F.mse_loss(model(full_x), full_y).item())
    return np.array(losses)


runs = {"batch (256)": train(256, epochs=40), "mini-batch (32)": train(32),
        "stochastic (1)": train(1, epochs=1, lr=0.02)}
for name, losses in runs.items():
    print(f"{name:16s} {len(losses) - 1:4d} steps, final loss {losses[-1]:.4f}")

# %% [markdown]
# Per **step**, the batch gradient is the cleanest; per **example seen** the small
# batches win, because they update far more often. The stochastic curve is noisy: each
# one-example gradient points only roughly downhill. (The noise floor is the data's own
# noise, $0.3^2 = 0.09$.)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, losses in runs.items():
    batch = int(name.split("(")[1].rstrip(")"))
    axes[0].plot(losses, label=name)
    axes[1].plot(np.arange(len(losses)) * batch, losses, label=name)
axes[0].set(xlabel="step", ylabel="MSE (all data)", yscale="log", xlim=(0, 100),
            title="loss per update")
axes[1].set(xlabel="examples seen", yscale="log", xlim=(0, 2000), title="loss per example seen")
axes[0].legend()
plt.tight_layout()

# %% [markdown]
# ## The loss landscape
#
# With two parameters the loss is a surface we can look at. The library's landscapes are
# 2-D test functions; the non-convex bowl
# $f(x, y) = \frac{\sin(x^2+y^2)}{x^2+y^2+1} + 0.1\,(x^2+y^2)$ has a ring-shaped ridge
# around its minimum, like the toy surfaces drawn in the chapters.

# %%
bowl = landscapes.get("nonconvex_bowl")
mplot.surface_and_contour(bowl)

# %% [markdown]
# ## Learning rate: too small, right, too large
#
# On a quadratic $f = \frac12(x^2 + \kappa y^2)$ (the *ravine*, condition number
# $\kappa$) gradient descent shrinks the error along the steep direction by the factor
# $|1 - \eta\kappa|$ per step. It converges only if $\eta < 2/\kappa$; far below that it
# crawls, near it it zig-zags, above it it diverges.

# %%
ravine = landscapes.get("ravine", condition=10.0)
rates = {"too small (0.01)": 0.01, "about right (0.15)": 0.15, "too large (0.21)": 0.21}
paths = {name: run_trajectory(ravine, optim.SGD, steps=40, lr=lr, name=name)
         for name, lr in rates.items()}
print("stability limit 2/kappa =", 2 / 10.0)
mplot.trajectories_on_contours(ravine, paths)

# %%
mplot.loss_curves({name: run["loss"] for name, run in paths.items()},
                  title="loss per step on the ravine")

# %% [markdown]
# The optimizer driving these paths is the library's `SGD`; without momentum its update
# function is one line of arithmetic:

# %%
print(inspect.getsource(optim.sgd_update))

# %% [markdown]
# ## Exercises
#
# 1. For the ravine with $\kappa = 10$, find (by trying rates) the largest $\eta$ that
#    still converges in 40 steps. Compare with $2/\kappa$.
# 2. Train the line with mini-batches of 8, 32 and 128 for the *same number of examples*
#    (e.g. 1024). Which reaches the lowest loss?
# 3. Why does the stochastic curve never settle below the noise floor, however long it
#    runs at a fixed rate?
#
# ### Solution (click to show)

# %% [solution]
# 1. Scan rates around 2/kappa = 0.2
for lr in (0.18, 0.195, 0.199, 0.201, 0.21):
    final = run_trajectory(ravine, optim.SGD, steps=40, lr=lr)["loss"][-1]
    print(f"lr={lr:.3f}  final loss {final:.3g}")
# Below 0.2 the error shrinks (ever more slowly as lr nears 0.2, where |1 - 10 lr| -> 1);
# above 0.2 it grows every step.

# 2. Same number of examples, different batch sizes
for batch in (8, 32, 128):
    epochs = 4  # 4 x 256 = 1024 examples each
    print(batch, train(batch, epochs=epochs)[-1].round(4))

# 3. Each one-example gradient is noisy, and a fixed step keeps adding that noise:
#    the iterate hops around the minimum at a distance that scales with lr. Decaying the
#    learning rate (notebook 6) lets it settle.

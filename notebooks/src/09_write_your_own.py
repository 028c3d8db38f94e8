# %% [markdown]
# # 9. Write your own optimizer
#
# Every optimizer in `optim` has the same anatomy:
#
# 1. an **update function** on arrays, the math and nothing else
#    (`adagrad_update(param, grad, state_sum, *, step, lr, ...)`), changing `param` and
#    the state arrays in place and never writing to `grad`;
# 2. a small **class** deriving from `optim.Optimizer` that declares its hyper-parameters,
#    creates the per-parameter state lazily (`_init_state`) and calls the function
#    (`_update`). The base class does the rest: parameter groups, validation,
#    `zero_grad`, `state_dict`, hooks.
#
# In this notebook you write one yourself, and `optim.checker.compare_with_reference`
# runs it next to the library's version on a few small problems, step by step, and tells
# you where the two first disagree.

# %%
import inspect

import numpy as np

import minigrad
import optim
from optim.checker import Problem, compare_with_reference, default_problems

# %% [markdown]
# ## Anatomy of a real optimizer: Adagrad
#
# $$s_t = s_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{s_t}+\epsilon}\, g_t$$

# %%
print(inspect.getsource(optim.Adagrad._init_state))
print(inspect.getsource(optim.Adagrad._update))

# %% [markdown]
# ## The checker
#
# `compare_with_reference(candidate, reference, hyperparams=...)` accepts as candidate
# either
#
# * an **optimizer class**, built like the reference as `cls(params, **hyperparams)`, or
# * a plain **update function** `update(param, grad, state, *, step, **hyperparams)` that
#   changes `param` in place and keeps whatever it needs in the dict `state` (empty before
#   the first step; `step` counts from 1).
#
# It runs both on these problems (all in float64, from the same start):

# %%
for problem in default_problems():
    print(f"{problem.name:22s} parameter shapes {[a.shape for a in problem.initial]}")

# %% [markdown]
# ## Your turn: RMSprop
#
# PyTorch's RMSprop (no momentum, not centered):
#
# $$s_t = \alpha s_{t-1} + (1-\alpha)\, g_t^2, \qquad
#   \theta_t = \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{s_t} + \epsilon}.$$
#
# Here is a first attempt as a function. It has a bug that is easy to make; run the
# checker and read what it says.

# %%
def my_rmsprop(param, grad, state, *, step, lr, alpha, eps):
    if not state:
        state["square_avg"] = np.zeros_like(param)
    s = state["square_avg"]
    s *= alpha
    s += (1 - alpha) * grad ** 2
    param -= lr * grad / np.sqrt(s + eps)      # is ε in the right place?


HYPER = {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}
result = compare_with_reference(my_rmsprop, optim.RMSprop, hyperparams=HYPER)
print(result)

# %% [markdown]
# The checker stops at the first problem, step, parameter and element where the values
# part. A difference at **step 1** means the formula itself is off; a difference that
# appears only later points at the state (its initial value, or how it is carried over).
# Fix the function and run the checker again until it prints `OK`.
#
# The same as a **class** in the framework, which is what the library's own optimizers
# look like:

# %%
class MyRMSprop(optim.Optimizer):
    """RMSprop, written from the equations (exercise: make the checker say OK)."""

    state_names = ("square_avg",)

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    def _init_state(self, p, group):
        return {"step": 0, "square_avg": np.ones_like(p.data)}   # hmm: zeros or ones?

    def _update(self, p, grad, state, group):
        state["step"] += 1
        s = state["square_avg"]
        s *= group["alpha"]
        s += (1 - group["alpha"]) * grad * grad
        p.data -= group["lr"] * grad / (np.sqrt(s) + group["eps"])


print(compare_with_reference(MyRMSprop, optim.RMSprop, hyperparams=HYPER))

# %% [markdown]
# ## Your own problems
#
# A `Problem` is a name, starting arrays, and a function that returns the gradient at any
# point (it must depend only on the point, so that both optimizers see the same
# gradients). Gradients that are exactly zero in places are a good test of how state is
# updated:

# %%
def dead_zone_gradient(params):
    x = params[0]
    return [np.where(np.abs(x) > 0.5, x, 0.0)]   # no gradient inside |x| <= 0.5


dead_zone = Problem("dead zone", [np.linspace(-2, 2, 9)], dead_zone_gradient)
print(compare_with_reference(optim.RMSprop, optim.RMSprop, hyperparams=HYPER,
                             problems=[dead_zone], steps=50))

# %% [markdown]
# ## Exercises
#
# 1. Fix `my_rmsprop` and `MyRMSprop` until the checker prints `OK`.
# 2. Write Adam as a function `my_adam(param, grad, state, *, step, lr, beta1, beta2, eps)`
#    and check it against `optim.Adam` (hint: `candidate_hyperparams` lets the function
#    take `beta1, beta2` while `optim.Adam` takes `betas`).
# 3. Write Lion: $c = \beta_1 m + (1-\beta_1) g$, $\theta \mathrel{-}= \eta\,
#    \mathrm{sign}(c)$, then $m = \beta_2 m + (1-\beta_2) g$. Check it against `optim.Lion`.
#
# ### Solution (click to show)

# %% [solution]
# 1. ε belongs outside the square root, and the average starts at zero.
def my_rmsprop(param, grad, state, *, step, lr, alpha, eps):
    if not state:
        state["square_avg"] = np.zeros_like(param)
    s = state["square_avg"]
    s *= alpha
    s += (1 - alpha) * grad ** 2
    param -= lr * grad / (np.sqrt(s) + eps)


class MyRMSprop(optim.Optimizer):
    state_names = ("square_avg",)

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    def _init_state(self, p, group):
        return {"step": 0, "square_avg": np.zeros_like(p.data)}

    def _update(self, p, grad, state, group):
        state["step"] += 1
        s = state["square_avg"]
        s *= group["alpha"]
        s += (1 - group["alpha"]) * grad * grad
        p.data -= group["lr"] * grad / (np.sqrt(s) + group["eps"])


print(compare_with_reference(my_rmsprop, optim.RMSprop, hyperparams=HYPER))
print(compare_with_reference(MyRMSprop, optim.RMSprop, hyperparams=HYPER))


# 2.
def my_adam(param, grad, state, *, step, lr, beta1, beta2, eps):
    if not state:
        state["m"], state["v"] = np.zeros_like(param), np.zeros_like(param)
    m, v = state["m"], state["v"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)


print(compare_with_reference(my_adam, optim.Adam,
                             hyperparams={"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8},
                             candidate_hyperparams={"lr": 0.01, "beta1": 0.9,
                                                    "beta2": 0.999, "eps": 1e-8}))


# 3.
def my_lion(param, grad, state, *, step, lr, beta1, beta2):
    if not state:
        state["m"] = np.zeros_like(param)
    m = state["m"]
    param -= lr * np.sign(beta1 * m + (1 - beta1) * grad)
    m *= beta2
    m += (1 - beta2) * grad


print(compare_with_reference(my_lion, optim.Lion,
                             hyperparams={"lr": 1e-3, "betas": (0.9, 0.99)},
                             candidate_hyperparams={"lr": 1e-3, "beta1": 0.9, "beta2": 0.99}))

"""The three problems every optimizer's reference trajectory is recorded on.

Each problem has a starting point (a list of float64 arrays, one per parameter), a split
of the parameters into two groups, and a loss written twice: with minigrad ops (used by
the tests) and with PyTorch (used only by ``make_optim_references.py``).

* ``quadratic``: 0.5·zᵀAz − bᵀz with A symmetric positive definite (eigenvalues 0.5…20),
  z the concatenation of a (3,) and a (2, 2) parameter;
* ``rosenbrock``: (1 − x)² + 100(y − x²)² from (−1, 1), x and y separate (1,) parameters;
* ``mlp``: a 4-6-3 tanh network with cross-entropy on 16 fixed samples; weights in one
  group, biases in the other.
"""
from __future__ import annotations

import numpy as np

PROBLEMS = ("quadratic", "rosenbrock", "mlp")


def _quadratic_data():
    rng = np.random.default_rng(1234)
    q, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    a = q @ np.diag(np.geomspace(0.5, 20.0, 7)) @ q.T
    b = rng.standard_normal(7)
    return a, b


def _mlp_data():
    rng = np.random.default_rng(99)
    x = rng.standard_normal((16, 4))
    y = rng.integers(0, 3, size=16)
    return x, y


def start(problem: str) -> list:
    """Starting values, one float64 array per parameter."""
    if problem == "quadratic":
        rng = np.random.default_rng(7)
        return [rng.standard_normal(3), rng.standard_normal((2, 2))]
    if problem == "rosenbrock":
        return [np.array([-1.0]), np.array([1.0])]
    if problem == "mlp":
        rng = np.random.default_rng(5)
        return [rng.uniform(-0.5, 0.5, (6, 4)), rng.uniform(-0.5, 0.5, 6),
                rng.uniform(-0.5, 0.5, (3, 6)), rng.uniform(-0.5, 0.5, 3)]
    raise ValueError(f"unknown problem {problem!r}")


def groups(problem: str) -> list:
    """Indices of the parameters in group 0 and group 1."""
    return {"quadratic": [[0], [1]], "rosenbrock": [[0], [1]], "mlp": [[0, 2], [1, 3]]}[problem]


def loss(problem: str, params, lib):
    """The loss as a scalar tensor of ``lib`` (the ``minigrad`` or ``torch`` module)."""
    if problem == "quadratic":
        a, b = _quadratic_data()
        z = lib.cat([params[0].reshape(-1), params[1].reshape(-1)]) if lib.__name__ == "torch" \
            else lib.concatenate([params[0].reshape(-1), params[1].reshape(-1)])
        a, b = _constant(a, lib), _constant(b, lib)
        return 0.5 * (z * (a @ z)).sum() - (b * z).sum()
    if problem == "rosenbrock":
        x, y = params
        return ((1 - x) ** 2 + 100 * (y - x * x) ** 2).sum()
    if problem == "mlp":
        x, y = _mlp_data()
        w1, b1, w2, b2 = params
        hidden = (_constant(x, lib) @ w1.T + b1).tanh()
        logits = hidden @ w2.T + b2
        log_norm = lib.logsumexp(logits, 1) if lib.__name__ == "torch" else lib.logsumexp(logits, axis=1)
        picked = logits[np.arange(16), y] if lib.__name__ != "torch" else logits[lib.arange(16), lib.tensor(y)]
        return (log_norm - picked).mean()
    raise ValueError(f"unknown problem {problem!r}")


def _constant(array, lib):
    if lib.__name__ == "torch":
        return lib.tensor(array, dtype=lib.float64)
    return lib.tensor(array, dtype=np.float64)


def record_trajectory(optimizer, params, loss_fn, steps: int, recorded_steps) -> np.ndarray:
    """Step ``optimizer`` on ``loss_fn()`` and keep all parameters at the recorded steps.

    Works with minigrad and torch alike: one row per recorded step, the parameters
    flattened and concatenated in order.
    """
    rows = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
        if step in recorded_steps:
            rows.append(np.concatenate([_values(p).ravel() for p in params]))
    return np.array(rows)


def _values(param) -> np.ndarray:
    if hasattr(param, "detach"):  # torch
        return param.detach().numpy()
    return np.asarray(param.data)

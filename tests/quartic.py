"""A smooth non-quadratic test problem shared by the wrapper-optimizer tests.

f(w) = ½·wᵀAw − bᵀw + 0.1·Σ wᵢ⁴ over three coordinates held as two tensors (so that
per-parameter code paths are exercised); ∇f(w) = Aw − b + 0.4·w³.
"""
from __future__ import annotations

import numpy as np

import minigrad

A = [[3.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 1.0]]
B = [1.0, -0.5, 0.25]
START = [0.8, -1.2, 1.5]


def gradient(w: list) -> list:
    """∇f at ``w``, in plain Python floats (for hand transcriptions)."""
    return [sum(A[i][j] * w[j] for j in range(3)) - B[i] + 0.4 * w[i] ** 3 for i in range(3)]


def problem(dtype=np.float64):
    """The two parameter tensors at START and a function giving the loss Tensor."""
    w1 = minigrad.tensor(np.array(START[:2], dtype=dtype), requires_grad=True)
    w2 = minigrad.tensor(np.array(START[2:], dtype=dtype), requires_grad=True)
    a, b = minigrad.tensor(np.array(A, dtype=dtype)), minigrad.tensor(np.array(B, dtype=dtype))

    def loss():
        w = minigrad.concatenate([w1, w2])
        return 0.5 * (w * (a @ w)).sum() - (b * w).sum() + 0.1 * (w ** 4).sum()
    return [w1, w2], loss


def closure_for(opt, loss):
    """The usual closure: clear the gradients, evaluate, backpropagate, return the loss."""
    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        return value
    return closure

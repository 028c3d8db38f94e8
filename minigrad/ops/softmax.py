"""Softmax and log-softmax along one axis, each one op with its derivative beside it.

Both shift by the maximum m first: softmax(x) = exp(x − m) / Σ exp(x − m) does not depend
on m, and with m = max x every exponent is ≤ 0, so logits of ±1e4 give finite values.
``minigrad.nn.functional.softmax`` and ``log_softmax`` (with their autocast rule and
PyTorch's arguments) are the functions to call; ``cross_entropy`` uses the same pieces.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from .unary import exp

_FLOAT16 = np.dtype(np.float16)


def log_softmax_array(x, axis: int):
    """log softmax of an array: (x − m) − log Σ exp(x − m), m = max x along ``axis``.

    float16 is computed in float32 and rounded once, as the reductions do.
    """
    xp = get_array_module(x)
    z = x.astype(np.float32) if x.dtype == _FLOAT16 else x
    shifted = z - z.max(axis=axis, keepdims=True)
    out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return out.astype(x.dtype, copy=False)


class LogSoftmax(Function):
    """y = log softmax(x) = x − log Σⱼ exp(xⱼ);  gx = gy − softmax(x)·Σⱼ gyⱼ = gy − eʸ·Σⱼ gyⱼ."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        return log_softmax_array(x, self.axis)

    def backward(self, gy):
        return gy - exp(self.output) * gy.sum(axis=self.axis, keepdims=True)


class Softmax(Function):
    """y = exp(x) / Σⱼ exp(xⱼ);  gx = y·(gy − Σⱼ gyⱼ·yⱼ)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        return get_array_module(x).exp(log_softmax_array(x, self.axis))

    def backward(self, gy):
        y = self.output
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))

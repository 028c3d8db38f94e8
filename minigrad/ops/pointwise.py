"""Element-wise functions that optimizer code written for PyTorch calls.

``sign`` is an op of its own (its derivative is 0 wherever it is defined, as in
PyTorch); the others are short compositions of existing ops, so their derivatives come
from those ops:

    square(x)               = x · x
    reciprocal(x)           = 1 / x
    rsqrt(x)                = 1 / √x
    lerp(start, end, w)     = start + w · (end − start)
    addcmul(x, a, b, value) = x + value · a · b
    addcdiv(x, a, b, value) = x + value · a / b

``isnan``, ``isinf`` and ``isfinite`` answer a question about each value: bool tensors,
outside the graph.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import as_tensor
from .arith import add, div, mul, sub
from .unary import sqrt


class Sign(Function):
    """y = sign x ∈ {−1, 0, 1};  dy/dx = 0 (PyTorch's choice, also at x = 0)."""

    def forward(self, x):
        return get_array_module(x).sign(x)

    def backward(self, gy):
        return gy * 0


def sign(x) -> Tensor:
    """−1, 0 or 1 by the sign of each value (NaN stays NaN); its gradient is zero.

    Examples
    --------
    >>> import minigrad
    >>> minigrad.sign(minigrad.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return Sign()(as_tensor(x))


def square(x) -> Tensor:
    """x², element-wise (``x * x``)."""
    x = as_tensor(x)
    return mul(x, x)


def reciprocal(x) -> Tensor:
    """1 / x, element-wise."""
    return div(1.0, as_tensor(x))


def rsqrt(x) -> Tensor:
    """1 / √x, element-wise."""
    return div(1.0, sqrt(as_tensor(x)))


def lerp(start, end, weight) -> Tensor:
    """Linear interpolation ``start + weight · (end − start)``.

    ``exp_avg.lerp_(grad, 1 − β)`` is Adam's first-moment update
    m ← β·m + (1 − β)·g written as one step towards g.

    Examples
    --------
    >>> import minigrad
    >>> minigrad.lerp(minigrad.tensor([0.0, 10.0]), minigrad.tensor([1.0, 20.0]), 0.25)
    tensor([ 0.25, 12.5 ])
    """
    start = as_tensor(start)
    return add(start, mul(weight, sub(end, start)))


def addcmul(x, tensor1, tensor2, value: float = 1) -> Tensor:
    """``x + value · tensor1 · tensor2`` (PyTorch's ``addcmul``)."""
    product = mul(tensor1, tensor2)
    return add(x, product if value == 1 else mul(value, product))


def addcdiv(x, tensor1, tensor2, value: float = 1) -> Tensor:
    """``x + value · tensor1 / tensor2`` (PyTorch's ``addcdiv``)."""
    quotient = div(tensor1, tensor2)
    return add(x, quotient if value == 1 else mul(value, quotient))


def _test(name: str, x) -> Tensor:
    x = as_tensor(x)
    return Tensor._make(getattr(x.xp, name)(x.data))


def isnan(x) -> Tensor:
    """True where a value is NaN (a bool tensor, no gradient).

    Examples
    --------
    >>> import minigrad
    >>> minigrad.isnan(minigrad.tensor([1.0, float("nan")]))
    tensor([False,  True], dtype=bool)
    """
    return _test("isnan", x)


def isinf(x) -> Tensor:
    """True where a value is +inf or −inf (a bool tensor, no gradient)."""
    return _test("isinf", x)


def isfinite(x) -> Tensor:
    """True where a value is neither NaN nor infinite (a bool tensor, no gradient)."""
    return _test("isfinite", x)

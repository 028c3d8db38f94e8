"""Arithmetic: + − × ÷ ** and unary minus, each with its derivative beside it.

Binary ops broadcast like NumPy; the gradient of an input that was broadcast is summed
back to that input's shape with ``sum_to``.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .._config import config
from ._util import _is_scalar, as_tensor, binary_operands, result_type
from .shape import Cast, sum_to
from .unary import log, where


class Add(Function):
    """y = a + b;  dy/da = 1,  dy/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Function):
    """y = a − b;  dy/da = 1,  dy/db = −1."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


class Mul(Function):
    """y = a · b;  dy/da = b,  dy/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy * b, a.shape), sum_to(gy * a, b.shape)


class Div(Function):
    """y = a / b;  dy/da = 1/b,  dy/db = −a/b²."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b
        gb = -ga * a / b
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


class Neg(Function):
    """y = −x;  dy/dx = −1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowScalar(Function):
    """y = xᶜ for a constant c;  dy/dx = c·xᶜ⁻¹."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, gy):
        (x,) = self.inputs
        c = self.exponent
        return gy * (c * x ** (c - 1))


class Pow(Function):
    """y = aᵇ with a tensor exponent;  dy/da = b·aᵇ⁻¹,  dy/db = aᵇ·log a.

    The derivative with respect to b uses log a, which is defined for a > 0 only (where
    a = 0 and aᵇ = 0, the term is taken as 0).
    """

    def forward(self, a, b):
        return a ** b

    def backward(self, gy):
        a, b = self.inputs
        y = self.output
        ga = gy * b * a ** (b - 1)
        safe_log = log(where(a.data > 0, a, 1.0))
        gb = gy * y * safe_log
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


def add(a, b) -> Tensor:
    return Add()(*binary_operands(a, b))


def sub(a, b) -> Tensor:
    return Sub()(*binary_operands(a, b))


def mul(a, b) -> Tensor:
    return Mul()(*binary_operands(a, b))


def div(a, b) -> Tensor:
    """True division: integer and bool operands are divided as the default float dtype
    (``uint8_tensor / -2`` is -0.5 in every element that is 1, as in PyTorch), so an
    integer scalar is never first cast to the tensor's integer dtype."""
    if result_type(a, b).kind in "iub":
        a, b = _as_default_float(a), _as_default_float(b)
    return Div()(*binary_operands(a, b))


def _as_default_float(x):
    if isinstance(x, Tensor):
        return Cast(config.default_dtype)(x)
    return float(x) if _is_scalar(x) else as_tensor(x).data.astype(config.default_dtype)


def neg(x) -> Tensor:
    return Neg()(as_tensor(x))


def power(a, b) -> Tensor:
    """``a ** b``: a constant exponent uses the cheaper ``PowScalar`` rule."""
    if isinstance(b, np.generic):  # a NumPy scalar acts like a Python number: x's dtype wins
        b = b.item()
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, Tensor):
        dtype = result_type(a, b)  # an integer tensor to a float power: the default float
        return PowScalar(b)(a if a.dtype == dtype else Cast(dtype)(a))
    return Pow()(*binary_operands(a, b))

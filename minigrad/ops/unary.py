"""Element-wise functions and their derivatives, side by side.

Where a derivative has a kink (relu and abs at 0, clip at its bounds, maximum on ties)
we follow PyTorch: relu'(0) = 0, abs'(0) = 0, clip passes the gradient at the bounds
themselves, and maximum/minimum split the gradient equally between tied inputs.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import as_tensor, binary_operands
from .shape import sum_to


def _constant(array) -> Tensor:
    """A mask or factor that backward multiplies by: a Tensor outside the graph."""
    return Tensor._make(array)


class Exp(Function):
    """y = eˣ;  dy/dx = eˣ = y."""

    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        return get_array_module(x).log(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / x


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2√x) = 1/(2y)."""

    def forward(self, x):
        return get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0)."""

    def forward(self, x):
        return get_array_module(x).abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * _constant(x.xp.sign(x.data))


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    def forward(self, x):
        return get_array_module(x).sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * cos(x)


class Cos(Function):
    """y = cos x;  dy/dx = −sin x."""

    def forward(self, x):
        return get_array_module(x).cos(x)

    def backward(self, gy):
        (x,) = self.inputs
        return -gy * sin(x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 − y²."""

    def forward(self, x):
        return get_array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = 1/(1 + e⁻ˣ);  dy/dx = y(1 − y).

    Computed from e^(−|x|) so it never overflows: for x ≥ 0, 1/(1 + e^(−x)); for x < 0,
    eˣ/(1 + eˣ).
    """

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y)


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 for x > 0, else 0."""

    def forward(self, x):
        return get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * _constant((x.data > 0).astype(x.dtype))


class LeakyRelu(Function):
    """y = x for x > 0, else αx;  dy/dx = 1 or α."""

    def __init__(self, negative_slope):
        self.slope = negative_slope

    def forward(self, x):
        xp = get_array_module(x)
        return xp.where(x > 0, x, x * x.dtype.type(self.slope))

    def backward(self, gy):
        (x,) = self.inputs
        factor = x.xp.where(x.data > 0, 1.0, self.slope).astype(x.dtype)
        return gy * _constant(factor)


def _erf_array(x):
    xp = get_array_module(x)
    try:
        if xp is np:
            from scipy.special import erf
        else:
            from cupyx.scipy.special import erf
        return erf(x)
    except ImportError:  # SciPy is optional: fall back to the standard library
        return np.vectorize(math.erf, otypes=[x.dtype])(x)


class Erf(Function):
    """y = erf x;  dy/dx = (2/√π)·e^(−x²)."""

    def forward(self, x):
        return _erf_array(x).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (2 / math.sqrt(math.pi)) * exp(-x * x)


class Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (PyTorch's rule);
    dy/dx = sigmoid(βx) (1 above the threshold)."""

    def __init__(self, beta, threshold):
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        xp = get_array_module(x)
        bx = x * self.beta
        smooth = xp.logaddexp(0, bx) / self.beta
        return xp.where(bx > self.threshold, x, smooth).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.inputs
        linear = (x.data * self.beta) > self.threshold
        return gy * where(linear, 1.0, sigmoid(x * self.beta))


class Where(Function):
    """y = a where cond else b;  the gradient goes to a where cond holds, to b elsewhere."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return get_array_module(a).where(self.condition, a, b)

    def backward(self, gy):
        a, b = self.inputs
        zero = gy.xp.zeros((), dtype=gy.dtype)
        ga = Where(self.condition)(gy, _constant(zero))
        gb = Where(self.condition)(_constant(zero), gy)
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


class Maximum(Function):
    """y = max(a, b) element-wise; the gradient goes to the larger (split on ties)."""

    def forward(self, a, b):
        return get_array_module(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        return _split_between(gy, a, b, a.data > b.data)


class Minimum(Function):
    """y = min(a, b) element-wise; the gradient goes to the smaller (split on ties)."""

    def forward(self, a, b):
        return get_array_module(a).minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        return _split_between(gy, a, b, a.data < b.data)


def _split_between(gy, a, b, a_wins):
    """Share of gy for a (1 where it wins, ½ on a tie) and b (the rest)."""
    share_a = a_wins.astype(gy.dtype) + 0.5 * (a.data == b.data).astype(gy.dtype)
    ga = gy * _constant(share_a)
    gb = gy * _constant(1 - share_a)
    return sum_to(ga, a.shape), sum_to(gb, b.shape)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 for lo ≤ x ≤ hi, else 0."""

    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi

    def forward(self, x):
        return get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        (x,) = self.inputs
        inside = x.xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x.data >= self.lo
        if self.hi is not None:
            inside &= x.data <= self.hi
        return gy * _constant(inside.astype(x.dtype))


# ------------------------------------------------------------------ public functions
def exp(x) -> Tensor:
    return Exp()(as_tensor(x))


def log(x) -> Tensor:
    return Log()(as_tensor(x))


def sqrt(x) -> Tensor:
    return Sqrt()(as_tensor(x))


def abs(x) -> Tensor:  # noqa: A001 - NumPy's name
    return Abs()(as_tensor(x))


def sin(x) -> Tensor:
    return Sin()(as_tensor(x))


def cos(x) -> Tensor:
    return Cos()(as_tensor(x))


def tanh(x) -> Tensor:
    return Tanh()(as_tensor(x))


def sigmoid(x) -> Tensor:
    return Sigmoid()(as_tensor(x))


def relu(x) -> Tensor:
    return Relu()(as_tensor(x))


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu(negative_slope)(as_tensor(x))


def erf(x) -> Tensor:
    return Erf()(as_tensor(x))


def gelu(x, approximate: str = "none") -> Tensor:
    """GELU(x) = x·Φ(x), Φ the standard normal CDF (Hendrycks & Gimpel, 2016).

    ``approximate="tanh"`` uses 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), as PyTorch does.
    Built from other ops, so its derivative comes from theirs.
    """
    x = as_tensor(x)
    if approximate == "none":
        return x * (0.5 * (1 + erf(x * (1 / math.sqrt(2)))))
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        return 0.5 * x * (1 + tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus(beta, threshold)(as_tensor(x))


def where(condition, a, b) -> Tensor:
    """Pick from ``a`` where ``condition`` is true, else from ``b`` (broadcasting)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    a, b = binary_operands(a, b)
    xp = a.xp
    return Where(xp.asarray(condition, dtype=bool))(a, b)


def maximum(a, b) -> Tensor:
    return Maximum()(*binary_operands(a, b))


def minimum(a, b) -> Tensor:
    return Minimum()(*binary_operands(a, b))


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit values to ``[min, max]`` (either bound may be None; PyTorch's ``clamp``)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min ({min}) must not exceed max ({max})")
    # NumPy scalar bounds as Python numbers, so that float32 stays float32
    min, max = (b.item() if isinstance(b, np.generic) else b for b in (min, max))
    return Clip(min, max)(as_tensor(x))

"""Reductions: sum, mean, max, min, var, std, logsumexp.

They take NumPy's ``axis`` (an int, a tuple, or None for all) and ``keepdims``; PyTorch's
``dim`` and ``keepdim`` are accepted as aliases. ``max`` and ``min`` return values only,
as NumPy does; their gradient is shared equally between tied maxima (PyTorch's ``amax``
rule).
"""
from __future__ import annotations

from ..amp.autocast import autocast_float32
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import as_tensor, normalize_axes
from .shape import broadcast_to, reshape


def _kept_shape(shape, axes):
    """The shape of a reduction with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _resolve(x, axis, dim, keepdims, keepdim):
    x = as_tensor(x)
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis or its alias dim, not both")
        axis = dim
    keepdims = keepdims or keepdim
    return x, normalize_axes(axis, x.ndim), bool(keepdims)


class Sum(Function):
    """y = Σ x over ``axes``;  dy/dx = 1, so the gradient is broadcast back."""

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.inputs
        gy = reshape(gy, _kept_shape(x.shape, self.axes))
        return broadcast_to(gy, x.shape)


class _Extremum(Function):
    """Shared rule of max and min: the gradient flows to the positions of the extremum."""

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def backward(self, gy):
        (x,) = self.inputs
        kept = _kept_shape(x.shape, self.axes)
        y = self.output.data.reshape(kept)
        hit = (x.data == y).astype(x.dtype)
        share = hit / hit.sum(axis=self.axes, keepdims=True)
        return broadcast_to(reshape(gy, kept), x.shape) * Tensor._make(share)


class Max(_Extremum):
    """y = max x over ``axes``."""

    def forward(self, x):
        return get_array_module(x).max(x, axis=self.axes, keepdims=self.keepdims)


class Min(_Extremum):
    """y = min x over ``axes``."""

    def forward(self, x):
        return get_array_module(x).min(x, axis=self.axes, keepdims=self.keepdims)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    x = autocast_float32(x)  # float32 inside an autocast region
    return Sum(axes, keepdims)(x)


def _count(x, axes) -> int:
    n = 1
    for i in range(x.ndim) if axes is None else axes:
        n *= x.shape[i]
    return n


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:
    """Arithmetic mean: the sum divided by the number of elements reduced."""
    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    x = autocast_float32(x)  # float32 inside an autocast region
    if x.dtype.kind not in "f":
        raise TypeError(f"mean: needs a floating point tensor, got {x.dtype}")
    n = _count(x, axes)
    return Sum(axes, keepdims)(x) * (1.0 / n if n else float("nan"))  # empty mean is NaN


def _reduce_nonempty(cls, x, axis, dim, keepdims, keepdim):
    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    if x.size == 0:
        raise ValueError(f"{cls.__name__.lower()}: cannot reduce a zero-size tensor of shape {x.shape}")
    return cls(axes, keepdims)(x)


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:  # noqa: A001
    """Largest value over ``axis`` (values only, like NumPy)."""
    return _reduce_nonempty(Max, x, axis, dim, keepdims, keepdim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:  # noqa: A001
    """Smallest value over ``axis`` (values only, like NumPy)."""
    return _reduce_nonempty(Min, x, axis, dim, keepdims, keepdim)


def var(x, axis=None, keepdims=False, ddof: int = 0, *, dim=None, keepdim=False,
        correction=None) -> Tensor:
    """Variance, mean((x − mean x)²) · n/(n − ddof).

    NumPy's default ``ddof=0`` (the population variance); PyTorch's ``correction`` is an
    alias for ``ddof`` (PyTorch's own default is 1: pass it to match ``torch.var``).
    """
    if correction is not None:
        ddof = correction
    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    centred = x - mean(x, axis=axes, keepdims=True)
    n = _count(x, axes)
    if n - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {n} elements")
    return sum(centred * centred, axis=axes, keepdims=keepdims) * (1.0 / (n - ddof))


def std(x, axis=None, keepdims=False, ddof: int = 0, *, dim=None, keepdim=False,
        correction=None) -> Tensor:
    """Standard deviation: the square root of :func:`var`."""
    from .unary import sqrt

    return sqrt(var(x, axis, keepdims, ddof, dim=dim, keepdim=keepdim, correction=correction))


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:
    """log Σ exp(x), computed as m + log Σ exp(x − m) with m = max x (never overflows)."""
    from .unary import exp, log

    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    x = autocast_float32(x)  # float32 inside an autocast region
    m = Tensor._make(get_array_module(x.data).max(x.data, axis=axes, keepdims=True))
    shifted = sum(exp(x - m), axis=axes, keepdims=True)
    out = log(shifted) + m
    return out if keepdims else reshape(out, tuple(s for i, s in enumerate(out.shape)
                                                   if axes is not None and i not in axes))

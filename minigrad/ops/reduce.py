"""Reductions: sum, mean, max, min, var, std, logsumexp (and argmax, argmin).

They take NumPy's ``axis`` (an int, a tuple, or None for all) and ``keepdims``; PyTorch's
``dim`` and ``keepdim`` are accepted as aliases. ``max`` and ``min`` return values only,
as NumPy does; their gradient is shared equally between tied maxima (PyTorch's ``amax``
rule).

As in PyTorch, float16 tensors are summed in float32 and the result rounded back to
float16 once: ``sum``, ``mean``, ``var``, ``std`` and ``logsumexp`` of a float16 tensor
are float16, but the mean of 100 000 ones is 1, not inf.
"""
from __future__ import annotations

import numpy as np

from ..amp.autocast import autocast_float32
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import as_tensor, normalize_axes, normalize_axis
from .shape import Cast, broadcast_to, reshape

_FLOAT16 = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)


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
        if x.dtype == _FLOAT16:  # accumulate in float32, round once
            return x.sum(axis=self.axes, keepdims=self.keepdims, dtype=_FLOAT32).astype(x.dtype)
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
    if x.dtype == _FLOAT16:  # the sum and the division in float32, then rounded once
        return Cast(_FLOAT16)(mean(Cast(_FLOAT32)(x), axis=axes, keepdims=keepdims))
    n = _count(x, axes)
    return Sum(axes, keepdims)(x) * (1.0 / n if n else float("nan"))  # empty mean is NaN


def _check_nonempty(name, x, axes) -> None:
    """Max, min and their arg versions need an element on every reduced axis; reducing
    an empty tensor over an axis of non-zero size (axis 1 of shape (0, 3)) is fine and
    gives an empty result, as in PyTorch."""
    for i in range(x.ndim) if axes is None else axes:
        if x.shape[i] == 0:
            raise ValueError(f"{name}: cannot reduce a zero-size tensor of shape {x.shape} "
                             f"over axis {i}, which has size 0")


def _reduce_nonempty(cls, x, axis, dim, keepdims, keepdim):
    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    _check_nonempty(cls.__name__.lower(), x, axes)
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
    n = _count(x, axes)
    if n - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {n} elements")
    x = autocast_float32(x)  # float32 inside an autocast region (as mean)
    if x.dtype == _FLOAT16:  # squares and sums in float32, then rounded once
        return Cast(_FLOAT16)(var(Cast(_FLOAT32)(x), axes, keepdims, ddof))
    centred = x - mean(x, axis=axes, keepdims=True)
    return sum(centred * centred, axis=axes, keepdims=keepdims) * (1.0 / (n - ddof))


def std(x, axis=None, keepdims=False, ddof: int = 0, *, dim=None, keepdim=False,
        correction=None) -> Tensor:
    """Standard deviation: the square root of :func:`var` (float16: both in float32)."""
    from .unary import sqrt

    x = autocast_float32(as_tensor(x))
    if x.dtype == _FLOAT16:
        x32 = Cast(_FLOAT32)(x)
        return Cast(_FLOAT16)(std(x32, axis, keepdims, ddof, dim=dim, keepdim=keepdim,
                                  correction=correction))
    return sqrt(var(x, axis, keepdims, ddof, dim=dim, keepdim=keepdim, correction=correction))


class LogSumExp(Function):
    """y = log Σ exp(x) over ``axes``, computed as m + log Σ exp(x − m) with m = max x so
    that it never overflows; an infinite m is taken as 0 (PyTorch's rule), so all −inf
    gives −inf and a +inf gives +inf instead of NaN.  dy/dx = exp(x − y), the softmax.

    Where x and y are both infinite (all −inf, or x = +inf) the derivative is undefined
    and comes out NaN, as in PyTorch; everywhere else it is a number.
    """

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, x):
        xp = get_array_module(x)
        work = x.astype(_FLOAT32) if x.dtype == _FLOAT16 else x  # float16 sums in float32
        kept = _kept_shape(x.shape, self.axes)
        if x.size:
            m = xp.max(work, axis=self.axes, keepdims=True)
            m = xp.where(xp.isinf(m), xp.zeros((), dtype=m.dtype), m)
        else:  # an empty sum: log 0 = −inf
            m = xp.zeros(kept, dtype=work.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = xp.log(xp.sum(xp.exp(work - m), axis=self.axes, keepdims=True)) + m
        y = y.astype(x.dtype, copy=False)
        return y if self.keepdims else y.reshape(_reduced_shape(x.shape, self.axes))

    def backward(self, gy):
        from .unary import exp

        (x,) = self.inputs
        kept = _kept_shape(x.shape, self.axes)
        return reshape(gy, kept) * exp(x - reshape(self.output, kept))


def _reduced_shape(shape, axes):
    """The shape of a reduction with keepdims=False."""
    return () if axes is None else tuple(s for i, s in enumerate(shape) if i not in axes)


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:
    """log Σ exp(x), computed as m + log Σ exp(x − m) with m = max x (never overflows)."""
    x, axes, keepdims = _resolve(x, axis, dim, keepdims, keepdim)
    x = autocast_float32(x)  # float32 inside an autocast region
    return LogSumExp(axes, keepdims)(x)


def _arg_extremum(name, x, axis, dim, keepdims, keepdim) -> Tensor:
    x = as_tensor(x)
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis or its alias dim, not both")
        axis = dim
    keepdims = bool(keepdims or keepdim)
    axes = None if axis is None or x.ndim == 0 else (normalize_axis(axis, x.ndim),)
    _check_nonempty(name, x, axes)
    xp = x.xp
    found = getattr(xp, name)(x.data, axis=None if axes is None else axes[0])
    found = xp.asarray(found, dtype=np.int64)
    if keepdims:
        found = found.reshape(_kept_shape(x.shape, axes))
    return Tensor._make(found)


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:
    """Position of the largest value along ``axis`` (in the flattened tensor when None):
    an int64 tensor, outside the graph. Ties give the first position."""
    return _arg_extremum("argmax", x, axis, dim, keepdims, keepdim)


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=False) -> Tensor:
    """Position of the smallest value along ``axis`` (see :func:`argmax`)."""
    return _arg_extremum("argmin", x, axis, dim, keepdims, keepdim)

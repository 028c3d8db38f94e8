"""Vector p-norms over some axes (PyTorch's ``norm``), with their derivatives.

    ‖x‖_p  = (Σ |xᵢ|ᵖ)^(1/p)          d‖x‖_p/dxᵢ = sign(xᵢ)·|xᵢ|ᵖ⁻¹ / ‖x‖_pᵖ⁻¹
    ‖x‖_2  = √(Σ xᵢ²)                 d‖x‖_2/dxᵢ = xᵢ / ‖x‖_2
    ‖x‖_1  = Σ |xᵢ|                   d‖x‖_1/dxᵢ = sign(xᵢ)
    ‖x‖_∞  = max |xᵢ|                 the gradient goes to the largest |xᵢ| (shared on ties)
    ‖x‖_0  = number of xᵢ ≠ 0          no gradient (zero)

Where the norm is 0 the derivative is taken as 0 (PyTorch's choice), so clipping or LAMB's
trust ratio never turns a zero gradient into NaN. float16 inputs are summed in float32
and rounded once, like the other reductions.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import as_tensor, normalize_axes
from .reduce import _kept_shape, _reduced_shape
from .pointwise import sign
from .shape import reshape
from .unary import abs, where

_FLOAT16 = np.dtype(np.float16)


class Norm(Function):
    """y = ‖x‖_p over ``axes`` (see the module docstring for each p)."""

    def __init__(self, p: float, axes, keepdims: bool):
        self.p = p
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, x):
        xp = get_array_module(x)
        work = x.astype(np.float32) if x.dtype == _FLOAT16 else x
        size = xp.abs(work)
        reduce = {"axis": self.axes, "keepdims": True}
        if self.p == math.inf:
            y = size.max(**reduce)
        elif self.p == -math.inf:
            y = size.min(**reduce)
        elif self.p == 0:
            y = (size != 0).sum(**reduce).astype(work.dtype)
        elif self.p == 1:
            y = size.sum(**reduce)
        elif self.p == 2:
            y = xp.sqrt((work * work).sum(**reduce))
        else:
            y = (size ** self.p).sum(**reduce) ** (1.0 / self.p)
        y = y.astype(x.dtype, copy=False)
        return y if self.keepdims else y.reshape(_reduced_shape(x.shape, self.axes))

    def backward(self, gy):
        (x,) = self.inputs
        kept = _kept_shape(x.shape, self.axes)
        gy = reshape(gy, kept)
        y = reshape(self.output, kept)
        if self.p == 0:
            return x * 0
        if self.p == 1:
            return gy * sign(x)
        if math.isinf(self.p):
            hit = (x.xp.abs(x.data) == y.data).astype(x.dtype)
            share = Tensor._make(hit / hit.sum(axis=self.axes, keepdims=True))
            return gy * sign(x) * share
        positive = y.data > 0
        safe_y = where(positive, y, 1.0)
        if self.p == 2:
            slope = x / safe_y
        else:
            slope = sign(x) * abs(x) ** (self.p - 1) / safe_y ** (self.p - 1)
            slope = where(x.data != 0, slope, 0.0)  # |x|^(p−1) is infinite at 0 for p < 1
        return gy * where(positive, slope, 0.0)


def _exponent(p) -> float:
    """The p of a p-norm as a float; 'fro' (Frobenius) is 2 over the reduced axes."""
    if p == "fro":
        return 2.0
    if isinstance(p, str) and p in ("inf", "-inf"):
        return float(p)
    if isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool):
        if math.isnan(p) or p < 0 and not math.isinf(p):
            raise ValueError(f"norm: p must be >= 0, inf or -inf, got {p}")
        return float(p)
    raise ValueError(f"norm: p must be a number >= 0, inf, -inf or 'fro', got {p!r}")


def norm(x, p="fro", dim=None, keepdim: bool = False, *, axis=None,
         keepdims: bool = False) -> Tensor:
    """The p-norm of ``x`` over ``dim`` (all values when None), PyTorch's ``torch.norm``.

    Parameters
    ----------
    x : Tensor
        A floating point tensor.
    p : float, inf, -inf or "fro", default "fro"
        The exponent; "fro" (Frobenius) is the 2-norm of the values reduced.
    dim : int or tuple of int, optional
        The axes to reduce (NumPy's ``axis`` is accepted too).
    keepdim : bool, default False
        Keep the reduced axes with size 1.

    Examples
    --------
    >>> import minigrad
    >>> minigrad.norm(minigrad.tensor([3.0, -4.0]))
    tensor(5.)
    >>> minigrad.tensor([[3.0, -4.0], [0.0, 1.0]]).norm(p=1, dim=1)
    tensor([7., 1.])
    """
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"norm: needs a floating point tensor, got {x.dtype}")
    if dim is not None and axis is not None:
        raise TypeError("norm: pass either dim or its alias axis, not both")
    axes = normalize_axes(axis if dim is None else dim, x.ndim)
    return Norm(_exponent(p), axes, bool(keepdim or keepdims))(x)

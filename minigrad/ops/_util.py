"""Small helpers shared by the ops: turning operands into Tensors and checking axes."""
from __future__ import annotations

import numpy as np

from .. import backend
from .._config import config
from ..tensor import Tensor

_SCALARS = (int, float, bool, np.generic)


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """Wrap ``x`` as a Tensor (a constant: it does not require grad).

    Python and NumPy scalars are "weak": they take the dtype of ``like`` when ``like`` is
    a floating tensor, so ``float32_tensor * np.float64(2)`` stays float32 (NumPy 2 would
    promote it to float64).
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALARS) or (backend.is_array(x) and x.ndim == 0 and like is not None):
        return Tensor._make(_scalar_array(x, like))
    if backend.is_array(x):
        return Tensor._make(x)
    array = np.asarray(x)
    if array.dtype.kind == "f":
        array = array.astype(config.default_dtype)
    if like is not None:
        array = backend.to_device(array, like.device)
    return Tensor._make(array)


def _is_float_scalar(value) -> bool:
    return isinstance(value, float) or (getattr(value, "dtype", None) is not None
                                        and value.dtype.kind == "f")


def _scalar_array(value, like):
    """A scalar as a 0-d array in ``like``'s dtype; a float scalar next to an integer or
    bool tensor (or next to nothing) takes the default float dtype instead."""
    xp = np if like is None else like.xp
    if _is_float_scalar(value):
        dtype = like.dtype if like is not None and like.dtype.kind == "f" else config.default_dtype
    else:
        dtype = like.dtype if like is not None and like.dtype.kind in "fiu" else None
    return xp.asarray(value, dtype=dtype)


def binary_operands(a, b):
    """Both operands of a binary op as Tensors with PyTorch-like dtype rules.

    Scalars follow the tensor's dtype; a 0-d float tensor follows the dtype of a
    dimensioned float tensor (as in PyTorch); otherwise NumPy's promotion applies.
    """
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = as_tensor(b, like=a)
    if a.dtype != b.dtype and a.dtype.kind == "f" and b.dtype.kind == "f":
        from .shape import Cast

        if a.ndim == 0 and b.ndim > 0:
            a = Cast(b.dtype)(a)
        elif b.ndim == 0 and a.ndim > 0:
            b = Cast(a.dtype)(b)
    return a, b


def normalize_axis(axis: int, ndim: int) -> int:
    """Map a possibly negative axis into ``0..ndim-1`` or raise a clear error."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):  # a 0-d tensor accepts 0 and -1
        raise ValueError(f"axis {axis} is out of range for a tensor with {ndim} dimensions")
    return int(axis) % ndim if ndim else 0


def normalize_axes(axis, ndim: int):
    """``None`` (all axes), one axis, or a tuple of axes, as a sorted tuple or None."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(sorted(normalize_axis(a, ndim) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis} repeats an axis")
    return axes if ndim else ()  # a 0-d tensor has no axis to reduce

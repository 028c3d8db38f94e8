"""Small helpers shared by the ops: operands as Tensors, PyTorch's type promotion, axes."""
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


# ------------------------------------------------------------------ type promotion
def _category(dtype) -> int:
    """bool < integer < floating: 0, 1, 2."""
    return 0 if dtype.kind == "b" else 2 if dtype.kind == "f" else 1


def promote_types(a, b) -> np.dtype:
    """The common dtype of two dtypes, by PyTorch's table (``torch.promote_types``).

    NumPy's table, except that a floating dtype always wins over an integer or bool one:
    int64 with float32 gives float32 and int32 with float16 gives float16 (NumPy would
    give float64 and float32, to hold every integer exactly).
    """
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca == 2 and cb < 2:
        return a
    if cb == 2 and ca < 2:
        return b
    return np.promote_types(a, b)


def _is_scalar(x) -> bool:
    """Python and NumPy scalars and 0-d arrays: "weak" operands that only a higher
    category lets change the result's dtype."""
    return isinstance(x, _SCALARS) or (backend.is_array(x) and x.ndim == 0)


def _scalar_dtype(x) -> np.dtype:
    """A scalar's dtype as PyTorch sees it: a float takes the default float dtype, an
    integer int64, a bool bool."""
    kind = x.dtype.kind if hasattr(x, "dtype") else (
        "b" if isinstance(x, bool) else "i" if isinstance(x, int) else "f")
    if kind == "b":
        return np.dtype(bool)
    if kind in "iu":
        return np.dtype(np.int64)
    return config.default_dtype


def _combine(higher, lower):
    """PyTorch's rule between priority tiers: a lower tier matters only when its
    category (bool < integer < float) is above the higher tier's."""
    if higher is None:
        return lower
    if lower is not None and _category(lower) > _category(higher):
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype of an element-wise op on ``operands``, by PyTorch's promotion rules.

    Operands fall into three tiers: tensors (and arrays) with dimensions, 0-d tensors,
    and scalars (Python or NumPy numbers and 0-d arrays). Within a tier dtypes promote
    with :func:`promote_types`; a lower tier changes the result only if its category
    (bool < integer < float) is higher. So ``float16_tensor * 2.5`` stays float16,
    ``int_tensor * 2.5`` is the default float dtype (float32), ``int64 * float32`` is
    float32 and ``float32_vector * float64_0d_tensor`` is float32.

    Examples
    --------
    >>> import numpy as np, minigrad
    >>> result_type(minigrad.tensor([1, 2]), 2.5)
    dtype('float32')
    >>> result_type(minigrad.tensor(np.ones(2, np.uint8)), minigrad.tensor(np.ones(2, np.int8)))
    dtype('int16')
    """
    tiers = [None, None, None]  # dimensioned, 0-d, scalar
    for x in operands:
        if isinstance(x, Tensor) or (backend.is_array(x) and x.ndim > 0):
            tier, dtype = (0 if x.ndim else 1), x.dtype
        elif _is_scalar(x):
            tier, dtype = 2, _scalar_dtype(x)
        else:
            tier, dtype = 0, as_tensor(x).dtype
        tiers[tier] = dtype if tiers[tier] is None else promote_types(tiers[tier], dtype)
    return _combine(tiers[0], _combine(tiers[1], tiers[2]))


def _to_dtype(x, dtype, like: Tensor | None) -> Tensor:
    """An operand as a Tensor of ``dtype`` (a differentiable cast for a Tensor)."""
    if isinstance(x, Tensor):
        if x.dtype == dtype:
            return x
        from .shape import Cast

        return Cast(dtype)(x)
    if _is_scalar(x):
        array = x if backend.is_array(x) else np.asarray(x)
        # astype, not asarray(x, dtype): an integer too large for int8 wraps, as in PyTorch
        array = array.astype(dtype, copy=False)
        if like is not None:
            array = backend.to_device(array, like.device)
        return Tensor._make(array)
    return _to_dtype(as_tensor(x, like=like), dtype, like)


def binary_operands(a, b):
    """Both operands of a binary op as Tensors whose result has the dtype PyTorch's rules
    give (:func:`result_type`): scalars never widen a tensor of their category, a 0-d
    tensor never widens a dimensioned one of its category, and a float beats any integer.

    Scalars become 0-d tensors of that dtype. Tensors are cast only where NumPy's own
    promotion of the two would give another dtype (int64 with float32, say); otherwise
    the op gets the tensors themselves, so that it saves them, not copies, for backward.
    """
    if isinstance(a, Tensor):
        if isinstance(b, Tensor) and a.dtype == b.dtype:
            return a, b
        if type(b) in (int, float) and a.dtype.kind == "f":  # the common case, kept fast
            return a, Tensor._make(a.xp.asarray(b, dtype=a.dtype))
    elif type(a) in (int, float) and isinstance(b, Tensor) and b.dtype.kind == "f":
        return Tensor._make(b.xp.asarray(a, dtype=b.dtype)), b
    dtype = result_type(a, b)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a = a if isinstance(a, Tensor) else _to_dtype(a, dtype, like)
    b = b if isinstance(b, Tensor) else _to_dtype(b, dtype, like)
    if np.promote_types(a.dtype, b.dtype) != dtype:
        a, b = _to_dtype(a, dtype, like), _to_dtype(b, dtype, like)
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

"""Ops that move values around without computing new ones: shapes, broadcasting, indexing.

Their derivatives move the gradient back: reshape's gradient is reshaped back,
broadcast's gradient is summed back (``sum_to``), indexing's gradient is scattered back
(adding, so repeated indices accumulate).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import as_tensor, normalize_axis, result_type


class Cast(Function):
    """y = x as another dtype; the gradient is cast back to x's dtype."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype, copy=True)

    def backward(self, gy):
        return Cast(self.input_dtype)(gy) if gy.dtype != self.input_dtype else gy


class Reshape(Function):
    """y = x viewed with a new shape; the gradient is reshaped back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.input_shape)


def reshape(x, *shape) -> Tensor:
    """Reshape ``x`` (one ``-1`` allowed); accepts a tuple or separate ints."""
    x = as_tensor(x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if shape == x.shape or _keeps_shape(shape, x):
        return x
    try:
        return Reshape(tuple(int(s) for s in shape))(x)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape tensor of shape {x.shape} into {shape}") from None


def _keeps_shape(shape: tuple, x: Tensor) -> bool:
    """Whether ``shape`` with one −1 is ``x``'s own shape: (−1, 10) for (128, 10), say."""
    if len(shape) != x.ndim or shape.count(-1) != 1 or x.size == 0:
        return False
    return all(s == -1 or s == t for s, t in zip(shape, x.shape))


class Transpose(Function):
    """y = x with axes permuted; the gradient is permuted by the inverse permutation."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return Transpose(tuple(np.argsort(self.axes)))(gy)


def transpose(x, *axes) -> Tensor:
    """Permute axes like NumPy: no argument reverses them; else a full permutation."""
    x = as_tensor(x)
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        axes = tuple(reversed(range(x.ndim)))
    else:
        axes = tuple(normalize_axis(a, x.ndim) for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} "
                             f"dimensions")
    if axes == tuple(range(x.ndim)):  # nothing moves (.T of a 1-D tensor, permute(0, 1))
        return x
    return Transpose(axes)(x)


def permute(x, *dims) -> Tensor:
    """PyTorch's name for a full permutation of the axes."""
    return transpose(x, *dims)


def swapaxes(x, axis0: int, axis1: int) -> Tensor:
    """Exchange two axes (PyTorch's ``transpose(dim0, dim1)``)."""
    x = as_tensor(x)
    axes = list(range(x.ndim))
    a, b = normalize_axis(axis0, x.ndim), normalize_axis(axis1, x.ndim)
    if a == b:  # nothing moves
        return x
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


def squeeze(x, axis=None, dim=None) -> Tensor:
    """Remove size-1 axes (all of them, or only ``axis``)."""
    x = as_tensor(x)
    axis = dim if axis is None else axis
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        axes = {normalize_axis(a, x.ndim) for a in axes}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1))
    return reshape(x, shape)


def unsqueeze(x, axis: int) -> Tensor:
    """Insert a size-1 axis at position ``axis``."""
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim..end_dim`` into one (PyTorch's ``flatten``)."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = normalize_axis(start_dim, x.ndim), normalize_axis(end_dim, x.ndim)
    merged = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


class BroadcastTo(Function):
    """y = x repeated along new or size-1 axes; the gradient is summed back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        xp = get_array_module(x)
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.input_shape)


def broadcast_to(x, shape) -> Tensor:
    """Broadcast ``x`` to ``shape`` (NumPy rules)."""
    x = as_tensor(x)
    shape = tuple(shape)
    if shape == x.shape:
        return x
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return BroadcastTo(shape)(x)


def expand(x, *sizes) -> Tensor:
    """PyTorch's ``expand``: like ``broadcast_to``, where -1 keeps a size."""
    x = as_tensor(x)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    offset = len(sizes) - x.ndim
    shape = tuple(x.shape[i - offset] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def _sum_to_array(x, shape):
    """Sum an array over the axes that broadcasting added or stretched to reach ``shape``."""
    lead = x.ndim - len(shape)
    stretched = tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    if not axes:
        return x
    # with only added axes (a bias's gradient) the sum has ``shape`` already: a new array,
    # not a reshaped view, so that backward can hand it to .grad without a copy
    y = x.sum(axis=axes, keepdims=bool(stretched))
    return y.reshape(shape) if lead and stretched else y


class SumTo(Function):
    """y = x summed down to ``shape`` (undoes broadcasting); the gradient is broadcast."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return _sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)


def sum_to(x, shape) -> Tensor:
    """Sum ``x`` down to ``shape``: the gradient rule of every broadcasting op."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def _raw_index(index):
    """Replace Tensors in an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index._data if isinstance(index, Tensor) else index


def _is_basic(index) -> bool:
    """Basic indexing (ints, slices, None, Ellipsis) never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItem(Function):
    """y = x[index]; the gradient is scattered back into zeros of x's shape."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        return IndexAdd(self.index, self.input_shape)(gy)


class IndexAdd(Function):
    """y = zeros(shape) with y[index] += x, adding repeated indices (GetItem's gradient)."""

    def __init__(self, index, shape):
        self.index = index
        self.shape = shape

    def forward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        elif xp is np:
            np.add.at(gx, self.index, gy)
        else:  # CuPy's scatter-add
            xp.add.at(gx, self.index, gy)
        return gx

    def backward(self, ggx):
        return GetItem(self.index)(ggx)


def getitem(x, index) -> Tensor:
    """``x[index]`` with NumPy semantics (basic, integer-array and boolean indexing)."""
    return GetItem(_raw_index(index))(as_tensor(x))


class Concatenate(Function):
    """y = the inputs joined along ``axis``; the gradient is cut back into pieces."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(*xs)
        self.bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs])
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        pieces = []
        for start, stop in zip(self.bounds[:-1], self.bounds[1:]):
            index = [slice(None)] * gy.ndim
            index[self.axis] = slice(int(start), int(stop))
            pieces.append(GetItem(tuple(index))(gy))
        return tuple(pieces)


def concatenate(tensors, axis: int = 0, dim=None) -> Tensor:
    """Join tensors along an existing axis (PyTorch's ``cat``)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    axis = dim if dim is not None else axis
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    axis = normalize_axis(axis, ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ndim or t.shape[:axis] + t.shape[axis + 1:] != tensors[0].shape[:axis] + tensors[0].shape[axis + 1:]:
            raise ValueError(
                f"concatenate: tensor {i} has shape {t.shape}, incompatible with "
                f"{tensors[0].shape} along axis {axis}"
            )
    tensors = _common_dtype(tensors)
    return Concatenate(axis)(*tensors)


def stack(tensors, axis: int = 0, dim=None) -> Tensor:
    """Join same-shape tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    axis = dim if dim is not None else axis
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, expected {tensors[0].shape}")
    axis = normalize_axis(axis, tensors[0].ndim + 1)
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


def _common_dtype(tensors):
    dtype = result_type(*tensors)  # PyTorch's promotion: int64 with float32 is float32
    return [t if t.dtype == dtype else Cast(dtype)(t) for t in tensors]


class Pad(Function):
    """y = x with a constant border; the gradient is the interior of gy."""

    def __init__(self, pad_width, value):
        self.pad_width = pad_width
        self.value = value

    def forward(self, x):
        xp = get_array_module(x)
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        index = tuple(slice(before, gy.shape[i] - after)
                      for i, (before, after) in enumerate(self.pad_width))
        return GetItem(index)(gy)


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """Pad with a constant, NumPy style: ``pad_width`` is an int, a pair, or one pair per axis."""
    x = as_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)).tolist()
    if any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width}")
    return Pad(tuple(tuple(p) for p in widths), value)(x)

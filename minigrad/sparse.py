"""Row-sparse gradients: a dense ``.grad`` array that also knows which rows it touched.

A lookup table (``nn.Embedding(sparse=True)``) reads a few rows per batch, so its
gradient is zero everywhere except in those rows. PyTorch stores such a gradient as a
sparse COO tensor. Here ``.grad`` stays a plain NumPy array of the parameter's shape (so
that every optimizer reads it like any other gradient) and the extra fact "only these
rows received gradient" travels *with the array*: :class:`RowSparseGrad` is an
``ndarray`` subclass with one more attribute, ``rows``.

Why on the array and not on the parameter (``p.grad_rows``)? Because then every way of
changing ``.grad`` keeps the two consistent without knowing about them: ``zero_grad()``
sets ``.grad = None`` and the rows go with it, a user who assigns a new array gets a
plain (dense) gradient, and a copy or checkpoint of the array carries its rows.

The rules, in the order a gradient meets them:

* ``rows`` holds the sorted, unique int64 indices (along axis 0) of the rows that
  *received* gradient, even if that gradient happened to be zero — as in PyTorch,
  where every looked-up id appears in the sparse gradient. ``rows=None`` means "no row
  information": the array is to be treated as dense.
* Backward accumulates gradients with ``+``/``+=``: the sum of two row-sparse arrays is
  row-sparse on the union of their rows; a sum with a dense array is dense.
* Element-wise arithmetic that keeps zero rows zero keeps ``rows``: negation, scaling
  by a scalar (``g * c``, ``g / c``, ``g *= c`` as ``clip_grad_norm_`` does), clipping
  into a range that contains 0 (``clip_grad_value_``), products of row-sparse arrays
  (intersection). Every other operation returns a plain ``ndarray`` — or, when it
  writes into a ``RowSparseGrad`` in place, sets its ``rows`` to ``None``.
* ``g.fill(0)`` (``zero_grad(set_to_none=False)``) leaves no rows, like PyTorch's
  ``zero_()`` on a sparse gradient, which leaves no stored entries.

Writing through indexing (``g[i] = x``) is not tracked; treat a gradient as read-only.
These arrays are NumPy (CPU) arrays; CuPy arrays cannot be subclassed.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .autograd import Function
from .ops import getitem
from .ops._util import as_tensor

__all__ = ["RowSparseGrad", "grad_rows", "embedding_rows"]


def _as_rows(rows) -> np.ndarray:
    """Sorted unique int64 row indices, read-only (so that views may share them)."""
    rows = np.unique(np.asarray(rows, dtype=np.int64).reshape(-1))
    rows.flags.writeable = False
    return rows


_NO_ROWS = _as_rows(np.empty(0, dtype=np.int64))
_ZERO_PRESERVING_UNARY = (np.negative, np.positive)


class RowSparseGrad(np.ndarray):
    """A dense gradient whose nonzero values lie only in the rows ``rows`` (axis 0).

    Parameters
    ----------
    values : array_like
        The whole gradient, of the parameter's shape (zeros outside ``rows``); an
        ndarray is wrapped without a copy.
    rows : array_like of int, optional
        Indices of the rows that received gradient; sorted and made unique here.
        ``None`` takes the rows that hold a nonzero value (see :meth:`from_dense`).

    Examples
    --------
    >>> import numpy as np
    >>> g = RowSparseGrad(np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]), rows=[1])
    >>> (g + g).rows.tolist(), type(g + np.ones((3, 2))).__name__
    ([1], 'ndarray')
    """

    rows: Optional[np.ndarray]

    def __new__(cls, values, rows=None) -> "RowSparseGrad":
        array = np.asarray(values).view(cls)
        if array.ndim == 0:
            raise ValueError("a row-sparse gradient needs at least one axis (its rows)")
        array.rows = _nonzero_rows(array) if rows is None else _as_rows(rows)
        if array.rows.size and not 0 <= array.rows[0] <= array.rows[-1] < array.shape[0]:
            raise IndexError(f"row indices must lie in [0, {array.shape[0]}), got "
                             f"{array.rows[0]}..{array.rows[-1]}")
        return array

    @classmethod
    def from_dense(cls, values) -> "RowSparseGrad":
        """A copy of a dense gradient, keeping the rows that hold a nonzero value.

        The counterpart of PyTorch's ``grad.to_sparse()`` (which keeps single entries,
        not rows): use it to hand a dense gradient to ``SparseAdam`` deliberately.
        """
        return cls(np.array(values, copy=True))

    def __array_finalize__(self, obj) -> None:
        # Views, copies and ``astype`` of the same shape keep the rows; a reshaped or
        # sliced view has no row information.
        same_shape = obj is not None and getattr(obj, "shape", None) == self.shape
        self.rows = getattr(obj, "rows", None) if same_shape else None

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [_plain(x) for x in inputs]
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if method == "at":  # np.add.at(g, ...) wrote into inputs[0]
            if isinstance(inputs[0], RowSparseGrad):
                inputs[0].rows = None
            return result
        rows = None
        if method == "__call__" and ufunc.nout == 1:
            rows = _result_rows(ufunc, inputs, self.shape)
        if out is not None:  # in place: hand back the very objects written into
            results = result if isinstance(result, tuple) else (result,)
            for o in out:
                if isinstance(o, RowSparseGrad):
                    o.rows = rows
            written = tuple(r if o is None else o for o, r in zip(out, results))
            return written[0] if len(written) == 1 else written
        if rows is None:
            return result
        wrapped = result.view(RowSparseGrad)
        wrapped.rows = rows
        return wrapped

    def fill(self, value) -> None:
        """Fill with ``value``; filling with 0 leaves no rows, anything else is dense."""
        np.ndarray.fill(self, value)
        self.rows = _NO_ROWS if value == 0 else None

    def __reduce__(self):
        constructor, arguments, state = super().__reduce__()
        return constructor, arguments, (state, self.rows)

    def __setstate__(self, state) -> None:
        array_state, self.rows = state
        super().__setstate__(array_state)


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, RowSparseGrad) else x


def _nonzero_rows(array: np.ndarray) -> np.ndarray:
    flat = np.asarray(array).reshape(array.shape[0], -1)
    return _as_rows(np.flatnonzero((flat != 0).any(axis=1)))


def _result_rows(ufunc, inputs, shape) -> Optional[np.ndarray]:
    """The rows of ``ufunc(*inputs)`` if it is still row-sparse, else None (dense)."""
    arrays = [x for x in inputs if np.ndim(x) != 0]
    scalars = [x for x in inputs if np.ndim(x) == 0]
    if not arrays or any(not isinstance(x, RowSparseGrad) or x.rows is None
                         or x.shape != shape for x in arrays):
        return None
    row_sets = [x.rows for x in arrays]
    if ufunc in (np.add, np.subtract) and not scalars:
        return _as_rows(np.concatenate(row_sets))
    if ufunc is np.multiply:
        common = row_sets[0]
        for rows in row_sets[1:]:
            common = np.intersect1d(common, rows)
        return _as_rows(common)
    if ufunc in _ZERO_PRESERVING_UNARY:
        return row_sets[0]
    if ufunc is np.true_divide and len(arrays) == 1 and np.ndim(inputs[1]) == 0:
        return row_sets[0]
    if ufunc.__name__ == "clip" and len(arrays) == 1 and np.ndim(inputs[0]) != 0:
        low, high = inputs[1], inputs[2]
        if (low is None or low <= 0) and (high is None or high >= 0):
            return row_sets[0]
    return None


def grad_rows(grad) -> Optional[np.ndarray]:
    """The rows a gradient touched, or None for a dense (or absent) gradient."""
    return getattr(grad, "rows", None)


# ------------------------------------------------------------------ the lookup op
class EmbeddingRows(Function):
    """y = weight[indices]; the gradient is row-sparse (rows at ``padding_idx`` dropped)."""

    def __init__(self, indices: np.ndarray, padding_idx: Optional[int]):
        self.indices = indices
        self.padding_idx = padding_idx

    def forward(self, weight):
        self.shape = weight.shape
        return weight[self.indices]

    def backward(self, gy):
        return ScatterRows(self.indices, self.shape, self.padding_idx)(gy)


class ScatterRows(Function):
    """gx = zeros(shape) with gx[indices[j]] += gy[j], skipping padding; rows recorded.

    Repeated ids add up, as in a dense scatter; ``rows`` is the set of ids seen.
    """

    def __init__(self, indices: np.ndarray, shape: tuple, padding_idx: Optional[int]):
        self.indices = indices
        self.shape = shape
        self.keep = None if padding_idx is None else indices != padding_idx

    def forward(self, gy):
        indices = self.indices
        if self.keep is not None:
            indices, gy = indices[self.keep], gy[self.keep]
        gx = np.zeros(self.shape, dtype=gy.dtype)
        np.add.at(gx, indices, gy)
        return RowSparseGrad(gx, rows=indices)

    def backward(self, ggx):
        gathered = getitem(ggx, self.indices)
        if self.keep is None:
            return gathered
        return gathered * self.keep[..., None].astype(gathered.dtype)


def embedding_rows(weight, indices: np.ndarray, padding_idx: Optional[int] = None):
    """``weight[indices]`` whose gradient with respect to ``weight`` is a RowSparseGrad."""
    weight = as_tensor(weight)
    if not isinstance(weight.data, np.ndarray):
        raise NotImplementedError("sparse=True gradients are NumPy (CPU) arrays only; "
                                  "use sparse=False for a table on the GPU")
    return EmbeddingRows(np.asarray(indices), padding_idx)(weight)

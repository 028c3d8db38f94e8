"""Datasets: anything with ``__len__`` and ``__getitem__``, as in ``torch.utils.data``.

``TensorDataset`` wraps arrays (or Tensors) that share their first dimension; item ``i``
is row ``i`` of each of them. ``DataLoader`` batches any dataset, and for a
``TensorDataset`` it indexes the arrays directly with a whole batch of row indices.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._config import get_default_dtype
from ..backend import device_of, get_array_module, is_array


def as_array(obj: Any):
    """Return the array behind ``obj``: a Tensor's ``.data``, an ndarray as is,
    anything else through ``np.asarray``.

    Python floats (and lists of them) become the default dtype (float32), as in
    ``minigrad.tensor``; Python ints stay int64 so that class labels stay integers.
    NumPy arrays and NumPy scalars keep their dtype.
    """
    if is_array(obj):
        return obj
    if isinstance(obj, np.generic):
        return np.asarray(obj)
    if not isinstance(obj, (numbers.Number, list, tuple)) and _is_tensor(obj):
        return obj.data
    array = np.asarray(obj)
    if array.dtype.kind == "f":
        array = array.astype(get_default_dtype())
    return array


def to_tensor(array):
    """Wrap an array in a Tensor that does not require grad, on the array's device."""
    from ..tensor import tensor  # imported here so the NumPy-only helpers need no engine

    return tensor(array, device=device_of(array))


def _is_tensor(obj: Any) -> bool:
    from ..tensor import Tensor

    return isinstance(obj, Tensor)


class Dataset:
    """Base class of datasets: subclasses define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns sample ``i``, usually a tuple such as ``(x, y)``.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Dataset of rows taken from several arrays that share their first dimension.

    Parameters
    ----------
    *tensors : Tensor, ndarray or list
        The inputs, targets, ...; row ``i`` of each one makes sample ``i``. They are
        stored as arrays (see :func:`as_array` for the dtype rules).

    Raises
    ------
    ValueError
        If no array is given, one is 0-dimensional, or the first dimensions differ.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((4, 3), dtype=np.float32), np.arange(4))
    >>> len(ds)
    4
    >>> x, y = ds[2]
    >>> x.shape, y.data.item()
    ((3,), 2)
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor or array")
        arrays = tuple(as_array(t) for t in tensors)
        for position, array in enumerate(arrays):
            if array.ndim == 0:
                raise ValueError(
                    f"TensorDataset: argument {position} is 0-dimensional; "
                    "every tensor needs a first (sample) dimension"
                )
        sizes = [int(a.shape[0]) for a in arrays]
        if len(set(sizes)) > 1:
            raise ValueError(
                f"TensorDataset: all tensors must have the same first dimension, got sizes {sizes}"
            )
        self.arrays = arrays

    @property
    def tensors(self) -> tuple:
        """The stored arrays wrapped as Tensors (no copy of the rows is promised)."""
        return tuple(to_tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index) -> tuple:
        return tuple(to_tensor(a[index]) for a in self.arrays)

    def rows(self, indices) -> tuple:
        """The arrays' rows at ``indices`` (an integer array), one fancy index per array."""
        return tuple(_take(a, indices) for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


def _take(array, indices):
    """``array[indices]``, moving the index array to the array's library (NumPy/CuPy)."""
    if not isinstance(array, np.ndarray):
        indices = get_array_module(array).asarray(indices)
    return array[indices]

"""``DataLoader``: split a dataset into mini-batches of Tensors, optionally shuffled.

One pass over the loader is one epoch. With ``shuffle=True`` a fresh permutation is
drawn at the start of every epoch from ``minigrad.random`` (or from ``generator``), so
``minigrad.manual_seed(s)`` makes the batch order of a whole run reproducible.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..backend import check_device, get_array_module, to_device
from ..random import resolve_generator
from ._validate import positive_int
from .dataset import TensorDataset, as_array, to_tensor


class DataLoader:
    """Iterate over a dataset in mini-batches.

    Parameters
    ----------
    dataset : Dataset
        Any object with ``__len__`` and ``__getitem__``.
    batch_size : int, default 1
        Rows per batch; the last batch may be smaller unless ``drop_last``.
    shuffle : bool, default False
        Draw a new random order of the rows at the start of every epoch.
    drop_last : bool, default False
        Drop the last batch when it has fewer than ``batch_size`` rows.
    generator : None, int or numpy.random.Generator, default None
        Source of the shuffling. ``None`` uses minigrad's default generator (set with
        ``minigrad.manual_seed``), read at the start of each epoch; an int seeds a
        generator of this loader's own, created once here.
    device : {None, 'cpu', 'cuda'}, default None
        Where the batches go: each batch is copied there as it is made (one transfer
        per array and batch; the dataset stays where it is, so a GPU holds one batch at
        a time). ``None`` leaves the batches on the dataset's device. ``'cuda'`` needs
        CuPy and a GPU, and fails here, before the first batch, without them.

    Yields
    ------
    tuple of Tensor
        For a ``TensorDataset``: one Tensor per stored array, each holding the batch's
        rows stacked along a new first dimension. Floats keep the dataset's dtype,
        integer labels stay integers, and no Tensor requires grad. A generic dataset
        whose items are not tuples yields single Tensors instead.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(10, dtype=np.float32).reshape(5, 2)
    >>> y = np.array([0, 1, 0, 1, 1])
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=2)
    >>> len(loader)
    3
    >>> [tuple(xb.shape) for xb, yb in loader]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, generator=None, device=None) -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"dataset must define __len__ and __getitem__, got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.batch_size = positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = None if generator is None else resolve_generator(generator)
        self.device = None if device is None else check_device(device, "device")

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator:
        for indices in self._batch_indices():
            yield self._fetch(indices)

    def _batch_indices(self) -> Iterator[np.ndarray]:
        """The row indices of each batch of one epoch, in order."""
        n = len(self.dataset)
        order = np.arange(n)
        if self.shuffle:
            order = resolve_generator(self.generator).permutation(n)
        for batch in range(len(self)):
            yield order[batch * self.batch_size:(batch + 1) * self.batch_size]

    def _fetch(self, indices: np.ndarray):
        """Rows ``indices`` of the dataset, collated into Tensors on ``self.device``."""
        if isinstance(self.dataset, TensorDataset):
            # Fast path: one fancy index per array, no Python loop over rows.
            return tuple(to_tensor(self._moved(a)) for a in self.dataset.rows(indices))
        batch = _collate([self.dataset[int(i)] for i in indices])
        if self.device is None:
            return batch
        if isinstance(batch, tuple):
            return tuple(t.to(self.device) for t in batch)
        return batch.to(self.device)

    def _moved(self, array):
        return array if self.device is None else to_device(array, self.device)

    def __repr__(self) -> str:
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, batches={len(self)}"
                + ("" if self.device is None else f", device={self.device!r}") + ")")


def _collate(samples: list):
    """Stack a list of samples field by field: tuples of fields give a tuple of
    Tensors, plain items give one Tensor."""
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(_stack([s[k] for s in samples]) for k in range(len(first)))
    return _stack(samples)


def _stack(items: list):
    arrays = [as_array(item) for item in items]
    xp = get_array_module(arrays[0])
    return to_tensor(xp.stack(arrays))

"""The 8x8 handwritten digits (1797 images, 10 classes) bundled with scikit-learn.

Small enough to train an MLP on in seconds on a CPU and nothing to download: the data
ships inside scikit-learn, which is imported only when this function is called.
"""
from __future__ import annotations

import numpy as np

from ..random import resolve_generator
from ._validate import open_unit_interval

_MISSING = "load_digits needs scikit-learn: pip install 'minigrad-optim[datasets]'"


def load_digits(split: bool = True, test_size: float = 0.2, seed=0, normalize: bool = True,
                dtype=np.float32):
    """Load the digits as flat 64-pixel rows and integer labels.

    Parameters
    ----------
    split : bool, default True
        Return a train/test split; otherwise all rows in scikit-learn's order.
    test_size : float, default 0.2
        Fraction of each class that goes to the test set (a stratified split).
    seed : int, numpy.random.Generator or None, default 0
        Randomness of the split; the same int gives the same split.
    normalize : bool, default True
        Divide the pixels (0..16) by 16 so they lie in [0, 1].
    dtype : floating dtype, default float32
        Dtype of the images.

    Returns
    -------
    (X_train, y_train, X_test, y_test) if ``split``, else (X, y)
        Images of shape (N, 64) and ``dtype``; labels of shape (N,), int64.

    Raises
    ------
    ImportError
        If scikit-learn is not installed.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_digits()
    >>> X_train.shape, X_test.shape
    ((1438, 64), (359, 64))
    """
    test_size = open_unit_interval("test_size", test_size)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    X, y = _load_raw()
    X = X / 16.0 if normalize else X
    X, y = X.astype(dtype), y.astype(np.int64)
    if not split:
        return X, y
    train, test = _stratified_split(y, test_size, resolve_generator(seed))
    return X[train], y[train], X[test], y[test]


def _load_raw():
    """scikit-learn's digits as (float64 images, labels), imported lazily."""
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as err:
        raise ImportError(_MISSING) from err
    return sklearn_load_digits(return_X_y=True)


def _stratified_split(y: np.ndarray, test_size: float, rng: np.random.Generator):
    """Shuffled train and test row indices, taking ``test_size`` of every class for test."""
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_size * len(rows)))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))

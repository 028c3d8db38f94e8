"""Metrics for :func:`minigrad.train.fit`: functions ``(outputs, targets) -> float``.

``fit`` averages a metric over the batches of an epoch, weighted by their number of
rows, which is exact for any per-example mean (accuracy, mean squared error).
"""
from __future__ import annotations

from minigrad.backend import get_array_module


def _array(value):
    """The ndarray behind a Tensor (or the value itself)."""
    return getattr(value, "data", value) if hasattr(value, "grad") else value


def accuracy(outputs, targets) -> float:
    """The fraction of rows whose predicted class is the target class.

    ``outputs`` of shape ``(n, classes)`` predict their arg-max (logits or
    probabilities); outputs of shape ``(n,)`` or ``(n, 1)`` are binary logits that predict
    1 where they are positive. ``targets`` are class indices, or one-hot rows.

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    >>> accuracy(np.array([[-1.0], [2.0]]), np.array([0, 1]))
    1.0
    """
    out, target = _array(outputs), _array(targets)
    xp = get_array_module(out)
    out, target = xp.asarray(out), xp.asarray(target)
    if out.ndim >= 2 and out.shape[-1] > 1:
        predicted = out.argmax(axis=-1)
        if target.shape == out.shape:  # one-hot (or probability) targets
            target = target.argmax(axis=-1)
    else:
        predicted = (out.reshape(target.shape) > 0).astype(target.dtype)
    return float((predicted == target).mean())

"""Global switches of the engine: grad mode and the default floating dtype.

Both are plain module-level state, read on every op, and changed only through the
context managers and setters below (DeZero's ``using_config`` idea).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np


class _Config:
    """Mutable settings shared by the whole engine."""

    grad_enabled: bool = True
    default_dtype: np.dtype = np.dtype(np.float32)
    # what backward() does when not told: free the graph (False, as PyTorch), or keep it;
    # an optimizer that differentiates its closure's loss again sets it around the closure
    retain_graph: bool = False


config = _Config()

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


@contextlib.contextmanager
def using_config(name: str, value) -> Iterator[None]:
    """Temporarily set ``config.<name>`` to ``value`` inside a ``with`` block."""
    old = getattr(config, name)
    setattr(config, name, value)
    try:
        yield
    finally:
        setattr(config, name, old)


def no_grad():
    """Context manager that turns graph building off (like ``torch.no_grad``).

    Examples
    --------
    >>> import minigrad
    >>> w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> with minigrad.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    return using_config("grad_enabled", False)


def enable_grad():
    """Context manager that turns graph building back on inside ``no_grad``."""
    return using_config("grad_enabled", True)


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph for backward."""
    return config.grad_enabled


def set_default_dtype(dtype) -> None:
    """Set the dtype given to Python numbers and lists (float32 unless changed).

    Only float16, float32 and float64 are allowed, as in PyTorch.
    """
    dtype = np.dtype(dtype)
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"set_default_dtype: only float16, float32 and float64 are allowed, got {dtype}"
        )
    config.default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype that Python numbers and lists become (float32 by default)."""
    return config.default_dtype

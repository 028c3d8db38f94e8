"""Factory functions: zeros, ones, full, arange, linspace, eye, rand, randn, *_like.

Random ones draw from the default generator (see :func:`minigrad.manual_seed`) unless a
``generator`` is passed.
"""
from __future__ import annotations

import numpy as np

from . import backend
from ._config import config
from .random import resolve_generator
from .tensor import Tensor


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"shape entries must be non-negative integers, got {shape}")
    return tuple(int(s) for s in shape)


def _finish(array, dtype, requires_grad, device) -> Tensor:
    array = array.astype(config.default_dtype if dtype is None else dtype, copy=False)
    return Tensor(backend.to_device(array, device), requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad: bool = False, device: str = "cpu") -> Tensor:
    return _finish(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad: bool = False, device: str = "cpu") -> Tensor:
    return _finish(np.ones(_shape(shape)), dtype, requires_grad, device)


def full(shape, fill_value, dtype=None, requires_grad: bool = False, device: str = "cpu") -> Tensor:
    return _finish(np.full(_shape((shape,)), fill_value), dtype, requires_grad, device)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def arange(start, stop=None, step=1, dtype=None, device: str = "cpu") -> Tensor:
    """Evenly spaced values in ``[start, stop)``; integers stay int64 as in PyTorch."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = config.default_dtype
    return _finish(values, dtype or values.dtype, False, device)


def linspace(start: float, stop: float, num: int, dtype=None, device: str = "cpu") -> Tensor:
    return _finish(np.linspace(start, stop, num), dtype, False, device)


def eye(n: int, m=None, dtype=None, device: str = "cpu") -> Tensor:
    return _finish(np.eye(n, m), dtype, False, device)


def rand(*shape, dtype=None, requires_grad: bool = False, generator=None,
         device: str = "cpu") -> Tensor:
    """Uniform samples in [0, 1)."""
    values = resolve_generator(generator).random(_shape(shape))
    return _finish(values, dtype, requires_grad, device)


def randn(*shape, dtype=None, requires_grad: bool = False, generator=None,
          device: str = "cpu") -> Tensor:
    """Standard normal samples."""
    values = resolve_generator(generator).standard_normal(_shape(shape))
    return _finish(values, dtype, requires_grad, device)

"""``autocast``: run chosen ops in float16 while the weights stay in float32.

Mixed precision keeps one float32 *master* copy of every parameter and casts on the fly:
inside an ``autocast`` region the ops that gain from a narrow type (the matrix products)
cast their inputs down to float16, the ops that need range or careful accumulation
(reductions, softmax, losses, normalisation) cast their inputs up to float32, and every
other op runs in the dtype of its inputs. A cast is an ordinary differentiable op
(``Cast``) whose backward casts the gradient back to its input's dtype, so the
``.grad`` of a float32 parameter is float32 even though its forward pass ran in float16.

The lists, in the spirit of PyTorch's CUDA float16 autocast (the setting for which loss
scaling, :class:`~minigrad.amp.GradScaler`, was designed):

================================  ==========================================================
runs in ``dtype`` (float16)       ``matmul`` (and ``@``), ``nn.functional.linear``,
                                  ``nn.functional.conv2d``
runs in float32                   ``sum``, ``mean`` (so ``var``, ``std``), ``logsumexp``,
                                  ``softmax``, ``log_softmax``, ``layer_norm``,
                                  ``batch_norm``, and the losses ``mse_loss``, ``l1_loss``,
                                  ``nll_loss``, ``cross_entropy``, ``binary_cross_entropy``,
                                  ``binary_cross_entropy_with_logits``
anything else                     the dtype of its inputs; mixed float inputs promote to
                                  the widest (NumPy's rule, PyTorch's "promote" list)
================================  ==========================================================

Differences from PyTorch, on purpose: PyTorch's *CPU* lists leave ``sum``, ``softmax``
and ``layer_norm`` in the low dtype (its CUDA lists, followed here, do not); PyTorch's
CUDA list also sends ``exp``, ``log`` and ``pow`` to float32, which we leave alone;
``batch_norm`` is not on a PyTorch list (cuDNN keeps its statistics in float32 anyway),
here it is on the float32 list so that its statistics are accumulated in float32.

As in PyTorch, float64 tensors are never cast (they are not "eligible"), integer tensors
neither, and the state is thread-local: a thread that wants autocast enters it itself.
Call ``backward()`` after leaving the region: gradients then flow in the dtypes that the
forward ops chose.

The ops call the two hooks at the end of this file; they cost one attribute lookup when
autocast is off.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, Optional

import numpy as np

from .._config import is_grad_enabled

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype", "LOWER_PRECISION_OPS",
           "FLOAT32_OPS"]

#: Ops that run in the autocast dtype (float16 by default) inside an autocast region.
LOWER_PRECISION_OPS = ("matmul", "linear", "conv2d")
#: Ops that run in float32 inside an autocast region (their float16 inputs are cast up).
FLOAT32_OPS = ("sum", "mean", "logsumexp", "softmax", "log_softmax", "layer_norm",
               "batch_norm", "mse_loss", "l1_loss", "nll_loss", "cross_entropy",
               "binary_cross_entropy", "binary_cross_entropy_with_logits")

_DEVICE_TYPES = ("cpu", "cuda")
_ALLOWED_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)


class _AutocastState(threading.local):
    """Per-thread autocast settings (``threading.local`` runs ``__init__`` in each thread)."""

    def __init__(self) -> None:
        self.settings = {device: (False, np.dtype(np.float16)) for device in _DEVICE_TYPES}
        self.active: dict = {}  # device type -> dtype, for the enabled device types only
        self.cache_enabled = True
        self.nesting = 0
        # (id(weight), dtype) -> (weight, weight's version, cast weight); emptied when the
        # outermost region is left
        self.cache: dict = {}

    def refresh(self) -> None:
        self.active = {device: dtype for device, (on, dtype) in self.settings.items() if on}


_state = _AutocastState()


def _check_device_type(device_type) -> str:
    if device_type not in _DEVICE_TYPES:
        raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}")
    return device_type


def _check_dtype(dtype) -> np.dtype:
    if dtype is None:  # PyTorch's "the device's default"
        return np.dtype(np.float16)
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked is None or checked not in _ALLOWED_DTYPES:
        raise TypeError(f"autocast: dtype must be a floating point dtype (float16, float32 or "
                        f"float64; NumPy has no bfloat16), got {dtype!r}")
    return checked


class autocast:
    """Context manager and decorator: matrix products in float16, the rest kept safe.

    Inside the region, ``matmul``, ``linear`` and ``conv2d`` cast their float32 inputs
    to ``dtype`` and return ``dtype``; reductions, softmax, losses and normalisation
    cast float16 inputs up to float32 (see the module docstring for the full lists).
    Regions nest: an inner ``autocast(enabled=False)`` turns casting off, and the outer
    settings come back when it ends, even after an exception.

    Parameters
    ----------
    device_type : {'cpu', 'cuda'}, default 'cpu'
        Only tensors on this kind of device are cast.
    dtype : dtype, default float16
        The low precision of the matrix products (float16; float32 gives a full-precision
        control run with the same code; None means float16).
    enabled : bool, default True
        False makes the region a pass-through (handy as ``autocast(enabled=use_amp)``).
    cache_enabled : bool or None, default None (True)
        Cast each float32 leaf that requires grad (a weight) once per region and reuse the
        float16 copy, as long as the weight is not changed in place. The cache is emptied
        when the outermost region ends. None keeps the surrounding setting.

    Raises
    ------
    ValueError
        For an unknown ``device_type``.
    TypeError
        If ``dtype`` is not float16, float32 or float64.

    Examples
    --------
    >>> import numpy as np
    >>> import minigrad
    >>> from minigrad.amp import autocast
    >>> layer = minigrad.nn.Linear(3, 2)
    >>> x = minigrad.tensor(np.ones((4, 3), dtype=np.float32))
    >>> with autocast():
    ...     y = layer(x)                 # float16: on the lower-precision list
    ...     loss = (y * y).mean()        # float32: mean is on the float32 list
    >>> y.dtype, loss.dtype
    (dtype('float16'), dtype('float32'))
    >>> loss.backward()                  # outside the region
    >>> layer.weight.grad.dtype          # the master weight's gradient stays float32
    dtype('float32')
    """

    def __init__(self, device_type: str = "cpu", dtype=np.float16, enabled: bool = True,
                 cache_enabled: Optional[bool] = None) -> None:
        self.device_type = _check_device_type(device_type)
        self.fast_dtype = _check_dtype(dtype)
        self._enabled = bool(enabled)
        self._cache_enabled = None if cache_enabled is None else bool(cache_enabled)
        self._saved: list = []  # a stack, so that the same instance may be re-entered

    def __enter__(self) -> "autocast":
        state = _state
        self._saved.append((state.settings[self.device_type], state.cache_enabled))
        state.settings[self.device_type] = (self._enabled, self.fast_dtype)
        if self._cache_enabled is not None:
            state.cache_enabled = self._cache_enabled
        state.nesting += 1
        state.refresh()
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        state = _state
        state.nesting -= 1
        if state.nesting == 0:
            state.cache.clear()
        state.settings[self.device_type], state.cache_enabled = self._saved.pop()
        state.refresh()
        return False

    def __call__(self, func: Callable) -> Callable:
        """Use as a decorator: every call of ``func`` runs inside a fresh region."""
        if not callable(func):
            raise TypeError(f"autocast()(func) needs a callable, got {type(func).__name__}; "
                            f"to autocast a block, write `with autocast(): ...`")
        settings = (self.device_type, self.fast_dtype, self._enabled, self._cache_enabled)

        @functools.wraps(func)
        def run_autocast(*args, **kwargs):
            with autocast(*settings):
                return func(*args, **kwargs)

        return run_autocast

    def __repr__(self) -> str:
        return (f"autocast(device_type={self.device_type!r}, dtype={self.fast_dtype}, "
                f"enabled={self._enabled})")


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """Whether autocast is on, in this thread, for tensors on ``device_type``."""
    return _state.settings[_check_device_type(device_type)][0]


def get_autocast_dtype(device_type: str = "cpu") -> np.dtype:
    """The low-precision dtype set for ``device_type`` (float16 unless a region chose another)."""
    return _state.settings[_check_device_type(device_type)][1]


# ------------------------------------------------------------------ hooks used by the ops
def _eligible(x) -> bool:
    """A float tensor other than float64 (PyTorch never autocasts float64, nor integers)."""
    dtype = getattr(x, "dtype", None)
    return dtype is not None and dtype.kind == "f" and dtype != _FLOAT64 and hasattr(x, "grad_fn")


def _cast(x, dtype, cacheable: bool):
    """``x`` (an eligible tensor) as ``dtype``, reusing a cached cast of a weight."""
    if x.dtype == dtype:
        return x
    from ..ops.shape import Cast  # the ops import this module, so import Cast when used

    if not (cacheable and _state.cache_enabled and x.requires_grad and x.grad_fn is None
            and is_grad_enabled()):
        return Cast(dtype)(x)
    key = (id(x), dtype)
    entry = _state.cache.get(key)
    # a weight changed in place is cast anew, and so is one whose cast was freed by a
    # backward pass (a second forward and backward in the same region)
    if entry is None or entry[1] != x._version or entry[2].grad_fn._released:
        entry = (x, x._version, Cast(dtype)(x))
        _state.cache[key] = entry
    return entry[2]


def _one_or_tuple(values: tuple):
    return values[0] if len(values) == 1 else values


def autocast_lower(*tensors):
    """Hook of the ops in ``LOWER_PRECISION_OPS``: cast eligible inputs to the autocast dtype.

    Returns the tensor (one argument) or a tuple (several); ``None`` passes through, and
    outside autocast everything is returned unchanged.
    """
    return _cast_eligible(tensors, lambda active, x: active[x.device], cacheable=True)


def autocast_float32(*tensors):
    """Hook of the ops in ``FLOAT32_OPS``: cast eligible (float16) inputs up to float32.

    Returns the tensor (one argument) or a tuple (several); ``None`` passes through, and
    outside autocast everything is returned unchanged.
    """
    return _cast_eligible(tensors, lambda active, x: _FLOAT32, cacheable=False)


def _cast_eligible(tensors: tuple, dtype_for, cacheable: bool):
    """Cast each eligible tensor on an autocast device to ``dtype_for(active, x)``."""
    active = _state.active
    if not active:
        return _one_or_tuple(tensors)
    return _one_or_tuple(tuple(
        x if x is None or not _eligible(x) or x.device not in active
        else _cast(x, dtype_for(active, x), cacheable=cacheable)
        for x in tensors))

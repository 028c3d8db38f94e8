"""The single NumPy / CuPy dispatch point: ``xp = get_array_module(x)``.

Every op asks this module which array library holds its inputs, so the same op code
runs on NumPy arrays (CPU) and CuPy arrays (GPU). CuPy is optional: when it is missing
or no GPU is present, everything runs on NumPy and ``cupy_available()`` is False.
"""
from __future__ import annotations

import numpy as np

try:  # CuPy is an optional extra; importing it must never break the CPU path.
    import cupy as _cupy

    try:
        _CUPY_OK = _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # installed, but no driver or no device
        _CUPY_OK = False
except Exception:  # not installed
    _cupy = None
    _CUPY_OK = False


def cupy_available() -> bool:
    """True when CuPy is installed and a GPU is visible."""
    return _CUPY_OK


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    if _cupy is not None:
        for a in arrays:
            a = getattr(a, "_data", a)  # accept Tensors too
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def is_array(obj) -> bool:
    """Whether ``obj`` is a NumPy or CuPy ndarray."""
    return isinstance(obj, np.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


def device_of(array) -> str:
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cuda" if get_array_module(array) is not np else "cpu"


def check_device(device, argument: str = "device") -> str:
    """``"cpu"`` or ``"cuda"`` for a valid device name; a clear error otherwise.

    ``"gpu"`` and ``"cuda:0"`` mean ``"cuda"`` (one GPU: the current CuPy device).
    ``"cuda"`` without CuPy or without a GPU raises, naming the extra to install.

    Examples
    --------
    >>> check_device("cpu")
    'cpu'
    >>> check_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu' or 'cuda' (also 'gpu', 'cuda:0'), got 'tpu'
    """
    if device in ("cuda", "gpu", "cuda:0"):
        if not _CUPY_OK:
            raise RuntimeError(
                f"{argument}='cuda' needs CuPy and a GPU: install the extra "
                "'minigrad-optim[cuda12]' (or [cuda13]) on a machine with an NVIDIA GPU"
            )
        return "cuda"
    if device == "cpu":
        return "cpu"
    raise ValueError(f"{argument} must be 'cpu' or 'cuda' (also 'gpu', 'cuda:0'), "
                     f"got {device!r}")


def to_device(array, device: str):
    """Move an array to ``"cpu"`` (NumPy) or ``"cuda"`` (CuPy); no copy if already there.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros(2)
    >>> to_device(a, "cpu") is a
    True
    """
    if check_device(device) == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return np.asarray(array)
    return _cupy.asarray(array)


def synchronize() -> None:
    """Wait until the GPU has finished all queued work (nothing to wait for on the CPU).

    CuPy launches kernels asynchronously: time a GPU step only after this returns.
    """
    if _CUPY_OK:
        _cupy.cuda.get_current_stream().synchronize()

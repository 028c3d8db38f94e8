"""``minigrad.cuda``: whether a GPU can be used, with PyTorch's function names.

minigrad runs on the GPU through CuPy (the optional extras ``cuda12`` / ``cuda13``), so
"CUDA is available" means CuPy is installed and sees a GPU. Code written for PyTorch can
keep its usual line::

    device = minigrad.device("cuda" if minigrad.cuda.is_available() else "cpu")

Examples
--------
>>> import minigrad
>>> minigrad.cuda.is_available() == minigrad.cupy_available()
True
"""
from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when CuPy is installed and a GPU is visible (``torch.cuda.is_available``)."""
    return backend.cupy_available()


def device_count() -> int:
    """How many GPUs minigrad can use: 1 when one is available (it uses the current
    CuPy device), else 0."""
    return 1 if is_available() else 0


def synchronize() -> None:
    """Wait for all queued GPU work to finish (nothing to do on the CPU)."""
    backend.synchronize()

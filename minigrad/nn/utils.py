"""Gradient clipping and flattening helpers (``nn.utils``), with PyTorch's semantics.

The clipping functions change the ``.grad`` arrays in place, between ``backward()`` and
``optimizer.step()``.
"""
from __future__ import annotations

import math
from typing import Iterable, Union

import numpy as np

from ..backend import get_array_module
from ..ops import concatenate
from ..tensor import Tensor

Parameters = Union[Tensor, Iterable[Tensor]]

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters: Parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(array, norm_type: float):
    """‖a‖_p of the flattened array (p = inf: the largest |entry|); a float16 array is
    summed in float32, as PyTorch does, so its norm overflows only if the norm itself does."""
    xp = get_array_module(array)
    flat = array.reshape(-1)
    if flat.dtype == np.float16:
        flat = flat.astype(np.float32)
    return xp.linalg.norm(flat, ord=norm_type)


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is that of all gradients concatenated into one vector,

        total = ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p      (p = ``norm_type``; ``inf`` allowed),

    and every gradient is multiplied by coef = max_norm / (total + 1e-6) when coef < 1
    (PyTorch clamps coef at 1, so small gradients are left alone). A non-finite total
    with ``error_if_nonfinite=False`` is used anyway, as in PyTorch: the gradients
    become NaN (or zero, for an infinite norm).

    Returns
    -------
    Tensor
        The total norm *before* clipping, 0-d, in the gradients' dtype.

    Raises
    ------
    RuntimeError
        If ``error_if_nonfinite`` and the total norm is NaN or infinite.
    """
    del foreach  # accepted for PyTorch compatibility; there is one (NumPy) code path
    norm_type = float(norm_type)
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    xp = get_array_module(grads[0])
    dtype = np.result_type(*[g.dtype for g in grads])
    norms = xp.stack([_vector_norm(g, norm_type).astype(dtype) for g in grads])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite, so it cannot be clipped. To disable this error and scale the "
            f"gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = float(max_norm) / (float(total) + 1e-6)
    if coef < 1.0 or math.isnan(coef):  # a NaN norm spreads to the gradients, as in PyTorch
        for g in grads:
            g *= g.dtype.type(coef)
    return Tensor(xp.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clip every gradient entry into [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            get_array_module(p.grad).clip(p.grad, -clip_value, clip_value, out=p.grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D Tensor (differentiable)."""
    return concatenate([p.reshape(-1) for p in parameters], axis=0)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' ``.data``."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"expected a 1-D Tensor, got {type(vec).__name__}"
                        + (f" of shape {vec.shape}" if isinstance(vec, Tensor) else ""))
    parameters = list(parameters)
    needed = sum(p.size for p in parameters)
    if vec.size != needed:
        raise ValueError(f"vector has {vec.size} entries but the parameters need {needed}")
    start = 0
    for p in parameters:
        chunk = vec.data[start:start + p.size].reshape(p.shape)
        p.data = chunk.astype(p.dtype, copy=True)
        start += p.size

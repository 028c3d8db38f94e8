"""numba kernels of Adafactor: PyTorch's rule (Adafactor) and Shazeer & Stern's
(AdafactorShazeer).

The reference functions, :func:`optim.adafactor.adafactor_update` and
:func:`optim.adafactor_shazeer.adafactor_shazeer_update`, need three reductions: RMS(θ)
for the step size, the row and column means of g² for the factored second moment, and
RMS(U) for the update clipping. They stay NumPy, the reference's own expressions: its
vectorised float32 sums beat a numba loop (which may not reorder a sum, so it cannot
vectorise one) and give the reference's results exactly. The element-wise work between
them is fused::

    NumPy    α from RMS(θ);  for a matrix, R and C from the means of g² (+ ε1), and
             their means: O(n + m) numbers
    kernel   U, the reference's ``update``: g / √V̂ from R and C (a matrix), or
             V ← … and g / √V (a vector)
    NumPy    RMS(U), for the clipping
    kernel   θ ← θ − α·U / max(1, RMS(U)/d)   (Shazeer's rule adds β1 and its decay)

Since every sum is the reference's, the kernels match the reference bit for bit. A
parameter with more dimensions is a stack of ``batches`` matrices of ``rows × cols``
(its last two dimensions), each with its own R and C.
"""
from __future__ import annotations

import math

import numpy as np

from ..adafactor import Adafactor, _rms
from ..adafactor_shazeer import AdafactorShazeer, factored_second_moment
from . import register
from .host import adafactor_shazeer_scalars
from .numba_common import fused, launch, prange


def _matrices(shape: tuple) -> tuple:
    """(batches, rows, cols) of a parameter with two or more dimensions."""
    return math.prod(shape[:-2]), shape[-2], shape[-1]


# ---------------------------------------------------------------------------- PyTorch's
@fused
def factored_update_kernel(grad, row_var, col_var, row_mean, update, batches, rows, cols,
                           eps1_squared):
    g, u = grad.reshape(batches, rows, cols), update.reshape(batches, rows, cols)
    row_var, col_var = row_var.reshape(batches, rows), col_var.reshape(batches, cols)
    for r in prange(batches * rows):                    # row i of matrix b
        b, i = r // rows, r % rows
        for j in range(cols):                           # U = g / √max(V̂, ε1²), with
            v_hat = row_var[b, i] * col_var[b, j] / row_mean[b]  # V̂ = R·C / mean R
            u[b, i, j] = g[b, i, j] / np.sqrt(np.maximum(v_hat, eps1_squared))


@fused
def vector_update_kernel(grad, variance, update, weight, eps1_squared):
    for i in prange(grad.size):
        g = grad[i]
        v = variance[i]
        v = v + weight * (g * g - v)                    # V ← V + w·(g² − V)
        variance[i] = v
        update[i] = g / np.sqrt(np.maximum(v, eps1_squared))          # U = g/√max(V, ε1²)


@fused
def apply_kernel(param, update, shrink, scale, decoupled):
    for i in prange(param.size):
        theta = param[i]
        if decoupled:
            theta = theta * shrink                      # θ ← (1 − η·λ)·θ
        param[i] = theta - scale * update[i]            # θ ← θ − α·U / max(1, RMS(U)/d)


@register("numba", Adafactor)
def adafactor_step(p, grad, state: dict, group: dict) -> None:
    """Adafactor's ``_update`` (PyTorch's rule): two fused passes around its reductions."""
    state["step"] += 1
    step = state["step"]
    lr, weight_decay = group["lr"], group["weight_decay"]
    eps1, eps2 = group["eps"]
    if eps1 is None:
        eps1 = float(np.finfo(p.data.dtype).eps)
    weight = step ** group["beta2_decay"]
    alpha = max(eps2, _rms(p.data)) * min(lr, 1.0 / math.sqrt(step))
    update = np.empty_like(p.data)
    if "variance" in state:
        launch(vector_update_kernel, [grad, state["variance"], update], float(weight),
               float(eps1 * eps1))
    else:
        row_var, col_var = state["row_var"], state["col_var"]
        squared = grad * grad
        row_var += weight * (squared.mean(axis=-1, keepdims=True) - row_var)
        col_var += weight * (squared.mean(axis=-2, keepdims=True) - col_var)
        row_mean = np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        launch(factored_update_kernel, [grad, row_var, col_var, row_mean, update],
               *_matrices(p.data.shape), float(eps1 * eps1))
    scale = alpha / max(1.0, _rms(update) / group["d"])
    launch(apply_kernel, [p.data, update], float(1 - lr * weight_decay), float(scale),
           weight_decay != 0)


# ---------------------------------------------------------------------------- Shazeer's
@fused
def shazeer_factored_update_kernel(grad, row_factor, col_factor, update, batches, rows,
                                   cols):
    g, u = grad.reshape(batches, rows, cols), update.reshape(batches, rows, cols)
    row_factor = row_factor.reshape(batches, rows)
    col_factor = col_factor.reshape(batches, cols)
    for r in prange(batches * rows):                    # row i of matrix b
        b, i = r // rows, r % rows
        for j in range(cols):                           # U = (1/√(R/mean R))·(1/√C)·g
            u[b, i, j] = row_factor[b, i] * col_factor[b, j] * g[b, i, j]


@fused
def shazeer_vector_update_kernel(grad, exp_avg_sq, update, beta2, one_minus_beta2, eps1):
    for i in prange(grad.size):
        g = grad[i]
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * (g * g + eps1)  # β̂2·V + (1−β̂2)·G
        exp_avg_sq[i] = v
        update[i] = g / np.sqrt(v)                      # U = g / √V


@fused
def shazeer_apply_kernel(param, update, exp_avg, clip_scale, beta1, one_minus_beta1, decay,
                         use_momentum, use_decay):
    for i in prange(param.size):
        u = update[i] * clip_scale                      # U ← α·U / max(1, RMS(U)/d)
        if use_momentum:
            m = exp_avg[i] * beta1 + one_minus_beta1 * u   # m ← β1·m + (1 − β1)·U;  U ← m
            exp_avg[i] = m
            u = m
        theta = param[i]
        if use_decay:
            theta = theta - decay * theta               # θ ← θ − λ·α·θ
        param[i] = theta - u                            # θ ← θ − U


@register("numba", AdafactorShazeer)
def adafactor_shazeer_step(p, grad, state: dict, group: dict) -> None:
    """AdafactorShazeer's ``_update``: two fused passes around its reductions."""
    step_size, beta2 = adafactor_shazeer_scalars(p, state, group)
    beta1, weight_decay = group["beta1"], group["weight_decay"]
    eps1 = group["eps"][0]
    update = np.empty_like(p.data)
    if "exp_avg_sq" in state:
        launch(shazeer_vector_update_kernel, [grad, state["exp_avg_sq"], update],
               float(beta2), float(1.0 - beta2), float(eps1))
    else:
        row_factor, col_factor = factored_second_moment(
            state["exp_avg_sq_row"], state["exp_avg_sq_col"], grad * grad + eps1, beta2)
        launch(shazeer_factored_update_kernel, [grad, row_factor, col_factor, update],
               *_matrices(p.data.shape))
    clip_scale = step_size / max(1.0, _rms(update) / group["clip_threshold"])
    beta1_or_0 = 0.0 if beta1 is None else beta1
    launch(shazeer_apply_kernel, [p.data, update, state.get("exp_avg", update)],
           float(clip_scale), float(beta1_or_0), float(1.0 - beta1_or_0),
           float(weight_decay * step_size), beta1 is not None, weight_decay != 0)
    state["step_size"] = step_size

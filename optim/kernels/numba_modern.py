"""numba kernels of the modern optimizers: Lion, and the elementwise passes of LAMB.

Each loop does, per element and in the same order, what the reference function of the
optimizer's file does to whole arrays (see its docstring for the equations).
"""
from __future__ import annotations

import math

import numpy as np

from ..lamb import LAMB
from ..lion import Lion
from . import register
from .host import adam_bias_corrections
from .numba_common import adam_moments, fused, launch, prange


# ---------------------------------------------------------------------------- Lion
@fused
def lion_kernel(param, grad, exp_avg, lr, beta1, one_minus_beta1, beta2, one_minus_beta2,
                shrink, decoupled):
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        m = exp_avg[i]
        if decoupled:
            theta = theta * shrink                      # θ ← (1 − ηλ)·θ
        direction = np.sign(beta1 * m + one_minus_beta1 * g)
        param[i] = theta - lr * direction
        exp_avg[i] = m * beta2 + one_minus_beta2 * g


@register("numba", Lion)
def lion_step(p, grad, state: dict, group: dict) -> None:
    """Lion's ``_update`` in one fused pass."""
    beta1, beta2 = group["betas"]
    lr, weight_decay = group["lr"], group["weight_decay"]
    launch(lion_kernel, [p.data, grad, state["exp_avg"]], float(lr), float(beta1),
           float(1 - beta1), float(beta2), float(1 - beta2), float(1 - lr * weight_decay),
           weight_decay != 0)


# ---------------------------------------------------------------------------- LAMB
# The trust ratio ‖θ‖ / ‖r‖ needs both norms before θ may change: one pass updates the
# moments, writes the Adam direction r and sums the squares (in float64), a second pass
# applies θ ← θ − η·trust·r. The norms are summed in another order than the reference's
# (and in float64), so the trust ratio agrees to rounding, not to the last bit.
@fused
def lamb_direction_kernel(param, grad, exp_avg, exp_avg_sq, direction, beta1,
                          one_minus_beta1, beta2, one_minus_beta2, bias_correction1,
                          bias_correction2, eps, weight_decay, use_weight_decay):
    weight_squares = 0.0
    direction_squares = 0.0
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        m, v = adam_moments(exp_avg[i], exp_avg_sq[i], g, beta1, one_minus_beta1, beta2,
                            one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        r = (m / bias_correction1) / (np.sqrt(v / bias_correction2) + eps)
        if use_weight_decay:
            r = r + weight_decay * theta
        direction[i] = r
        weight_squares += float(theta) * float(theta)
        direction_squares += float(r) * float(r)
    return weight_squares, direction_squares


@fused
def lamb_apply_kernel(param, direction, step_size):
    for i in prange(param.size):
        param[i] = param[i] - step_size * direction[i]


@register("numba", LAMB)
def lamb_step(p, grad, state: dict, group: dict) -> None:
    """LAMB's ``_update`` in two fused passes (the norms sit between them)."""
    step, bias_correction1, bias_correction2 = adam_bias_corrections(state, group)
    beta1, beta2 = group["betas"]
    weight_decay, clamp_value = group["weight_decay"], group["clamp_value"]
    direction = np.empty_like(p.data)
    weight_squares, direction_squares = launch(
        lamb_direction_kernel,
        [p.data, grad, state["exp_avg"], state["exp_avg_sq"], direction],
        float(beta1), float(1 - beta1), float(beta2), float(1 - beta2),
        float(bias_correction1), float(bias_correction2), float(group["eps"]),
        float(weight_decay), weight_decay != 0)
    weight_norm, direction_norm = math.sqrt(weight_squares), math.sqrt(direction_squares)
    if weight_norm == 0 or direction_norm == 0:
        trust_ratio = 1.0
    else:
        phi = weight_norm if clamp_value is None else min(weight_norm, clamp_value)
        trust_ratio = phi / direction_norm
    launch(lamb_apply_kernel, [p.data, direction], float(group["lr"] * trust_ratio))
    state["trust_ratio"] = trust_ratio

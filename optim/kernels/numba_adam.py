"""numba kernels of the Adam family: Adam/AdamW (+AMSGrad), NAdam, RAdam, Adamax.

Each loop does, per element and in the same order, what the reference function of the
optimizer's file does to whole arrays (see its docstring for the equations); the scalars
that depend only on the step (bias corrections, step sizes) are computed in Python first,
exactly as the reference computes them.
"""
from __future__ import annotations

import math

import numpy as np

from ..adam import Adam
from ..adamax import Adamax
from ..adamw import AdamW
from ..nadam import NAdam
from ..radam import RAdam, radam_rectification
from . import register
from .host import adam_bias_corrections
from .numba_common import adam_moments, fused, launch, prange, weight_decayed


# ---------------------------------------------------------------------------- Adam, AdamW
@fused
def adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, one_minus_beta1,
                beta2, one_minus_beta2, eps, weight_decay, shrink, sqrt_bias_correction2,
                step_size, use_l2, decoupled, amsgrad):
    for i in prange(param.size):
        theta, g = weight_decayed(param[i], grad[i], weight_decay, shrink, use_l2,
                                  decoupled)
        m, v = adam_moments(exp_avg[i], exp_avg_sq[i], g, beta1, one_minus_beta1, beta2,
                            one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v = np.maximum(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        denom = np.sqrt(v) / sqrt_bias_correction2 + eps
        param[i] = theta - step_size * m / denom


@register("numba", Adam, AdamW)
def adam_step(p, grad, state: dict, group: dict) -> None:
    """Adam's (and AdamW's) ``_update`` in one fused pass."""
    step, bias_correction1, bias_correction2 = adam_bias_corrections(state, group)
    beta1, beta2 = group["betas"]
    lr, weight_decay = group["lr"], group["weight_decay"]
    decoupled = weight_decay != 0 and bool(group["decoupled_weight_decay"])
    amsgrad = bool(group["amsgrad"])
    launch(adam_kernel,
           [p.data, grad, state["exp_avg"], state["exp_avg_sq"],
            state["max_exp_avg_sq"] if amsgrad else state["exp_avg_sq"]],
           float(beta1), float(1 - beta1), float(beta2), float(1 - beta2),
           float(group["eps"]), float(weight_decay), float(1 - lr * weight_decay),
           math.sqrt(bias_correction2), float(lr / bias_correction1),
           weight_decay != 0 and not decoupled, decoupled, amsgrad)


# ---------------------------------------------------------------------------- NAdam
@fused
def nadam_kernel(param, grad, exp_avg, exp_avg_sq, beta1, one_minus_beta1, beta2,
                 one_minus_beta2, eps, weight_decay, shrink, bias_correction2, grad_step,
                 momentum_step, use_l2, decoupled):
    for i in prange(param.size):
        theta, g = weight_decayed(param[i], grad[i], weight_decay, shrink, use_l2,
                                  decoupled)
        m, v = adam_moments(exp_avg[i], exp_avg_sq[i], g, beta1, one_minus_beta1, beta2,
                            one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        denom = np.sqrt(v / bias_correction2) + eps
        theta = theta - grad_step * g / denom           # the (1 − μ_t) part: this gradient
        param[i] = theta - momentum_step * m / denom    # the μ_{t+1} part: the momentum


@register("numba", NAdam)
def nadam_step(p, grad, state: dict, group: dict) -> None:
    """NAdam's ``_update`` in one fused pass (μ-product kept in the state, as there)."""
    state["step"] += 1
    step = state["step"]
    beta1, beta2 = group["betas"]
    lr, weight_decay = group["lr"], group["weight_decay"]
    momentum_decay = group["momentum_decay"]
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = state["mu_product"] * mu
    decoupled = weight_decay != 0 and bool(group["decoupled_weight_decay"])
    launch(nadam_kernel, [p.data, grad, state["exp_avg"], state["exp_avg_sq"]],
           float(beta1), float(1 - beta1), float(beta2), float(1 - beta2),
           float(group["eps"]), float(weight_decay), float(1 - lr * weight_decay),
           float(1 - beta2 ** step), float(lr * (1 - mu) / (1 - mu_product)),
           float(lr * mu_next / (1 - mu_product * mu_next)),
           weight_decay != 0 and not decoupled, decoupled)
    state["mu_product"] = mu_product


# ---------------------------------------------------------------------------- RAdam
@fused
def radam_kernel(param, grad, exp_avg, exp_avg_sq, beta1, one_minus_beta1, beta2,
                 one_minus_beta2, eps, weight_decay, shrink, bias_correction1,
                 sqrt_bias_correction2, rectified_lr, lr, use_l2, decoupled, rectified):
    for i in prange(param.size):
        theta, g = weight_decayed(param[i], grad[i], weight_decay, shrink, use_l2,
                                  decoupled)
        m, v = adam_moments(exp_avg[i], exp_avg_sq[i], g, beta1, one_minus_beta1, beta2,
                            one_minus_beta2)
        exp_avg[i] = m
        exp_avg_sq[i] = v
        corrected_m = m / bias_correction1
        if rectified:                                   # variance tractable: adaptive step
            adaptive_lr = sqrt_bias_correction2 / (np.sqrt(v) + eps)
            param[i] = theta - rectified_lr * adaptive_lr * corrected_m
        else:                                           # early steps: SGD with momentum
            param[i] = theta - lr * corrected_m


@register("numba", RAdam)
def radam_step(p, grad, state: dict, group: dict) -> None:
    """RAdam's ``_update`` in one fused pass."""
    state["step"] += 1
    step = state["step"]
    beta1, beta2 = group["betas"]
    lr, weight_decay = group["lr"], group["weight_decay"]
    bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
    rectification = radam_rectification(step, beta2)
    decoupled = weight_decay != 0 and bool(group["decoupled_weight_decay"])
    launch(radam_kernel, [p.data, grad, state["exp_avg"], state["exp_avg_sq"]],
           float(beta1), float(1 - beta1), float(beta2), float(1 - beta2),
           float(group["eps"]), float(weight_decay), float(1 - lr * weight_decay),
           float(bias_correction1), math.sqrt(bias_correction2),
           float(lr * (rectification or 1.0)), float(lr), weight_decay != 0 and not decoupled,
           decoupled, rectification is not None)


# ---------------------------------------------------------------------------- Adamax
@fused
def adamax_kernel(param, grad, exp_avg, exp_inf, one_minus_beta1, beta2, eps, weight_decay,
                  step_size, use_l2):
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        if use_l2:
            g = g + weight_decay * theta
        m = exp_avg[i]
        m = m + one_minus_beta1 * (g - m)
        u = np.maximum(beta2 * exp_inf[i], np.abs(g) + eps)
        exp_avg[i] = m
        exp_inf[i] = u
        param[i] = theta - step_size * (m / u)


@register("numba", Adamax)
def adamax_step(p, grad, state: dict, group: dict) -> None:
    """Adamax's ``_update`` in one fused pass."""
    state["step"] += 1
    beta1, beta2 = group["betas"]
    weight_decay = group["weight_decay"]
    launch(adamax_kernel, [p.data, grad, state["exp_avg"], state["exp_inf"]],
           float(1 - beta1), float(beta2), float(group["eps"]), float(weight_decay),
           float(group["lr"] / (1 - beta1 ** state["step"])), weight_decay != 0)

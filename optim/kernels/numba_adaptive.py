"""numba kernels of the per-coordinate step sizes: Adagrad, RMSprop (+centered, momentum),
Adadelta.

Each loop does, per element and in the same order, what the reference function of the
optimizer's file does to whole arrays (see its docstring for the equations).
"""
from __future__ import annotations

import numpy as np

from ..adadelta import Adadelta
from ..adagrad import Adagrad
from ..rmsprop import RMSprop
from . import register
from .numba_common import fused, launch, prange


# ---------------------------------------------------------------------------- Adagrad
@fused
def adagrad_kernel(param, grad, state_sum, clr, eps, weight_decay, use_weight_decay):
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        if use_weight_decay:
            g = g + weight_decay * theta
        s = state_sum[i] + g * g                        # G ← G + g²
        state_sum[i] = s
        param[i] = theta - clr * (g / (np.sqrt(s) + eps))


@register("numba", Adagrad)
def adagrad_step(p, grad, state: dict, group: dict) -> None:
    """Adagrad's ``_update`` in one fused pass."""
    state["step"] += 1
    clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
    launch(adagrad_kernel, [p.data, grad, state["sum"]], float(clr), float(group["eps"]),
           float(group["weight_decay"]), group["weight_decay"] != 0)


# ---------------------------------------------------------------------------- RMSprop
@fused
def rmsprop_kernel(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha,
                   one_minus_alpha, eps, weight_decay, momentum, use_weight_decay, centered,
                   use_momentum):
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        if use_weight_decay:
            g = g + weight_decay * theta
        s = square_avg[i] * alpha + one_minus_alpha * g * g
        square_avg[i] = s
        if centered:                                    # subtract the squared mean gradient
            a = grad_avg[i]
            a = a + one_minus_alpha * (g - a)
            grad_avg[i] = a
            avg = np.sqrt(s - a * a) + eps
        else:
            avg = np.sqrt(s) + eps
        if use_momentum:
            b = momentum_buffer[i] * momentum + g / avg
            momentum_buffer[i] = b
            param[i] = theta - lr * b
        else:
            param[i] = theta - lr * (g / avg)


@register("numba", RMSprop)
def rmsprop_step(p, grad, state: dict, group: dict) -> None:
    """RMSprop's ``_update`` in one fused pass."""
    state["step"] += 1
    alpha, momentum = group["alpha"], group["momentum"]
    centered, use_momentum = bool(group["centered"]), momentum > 0
    square_avg = state["square_avg"]
    launch(rmsprop_kernel,
           [p.data, grad, square_avg, state["grad_avg"] if centered else square_avg,
            state["momentum_buffer"] if use_momentum else square_avg],
           float(group["lr"]), float(alpha), float(1 - alpha), float(group["eps"]),
           float(group["weight_decay"]), float(momentum), group["weight_decay"] != 0,
           centered, use_momentum)


# ---------------------------------------------------------------------------- Adadelta
@fused
def adadelta_kernel(param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, eps,
                    weight_decay, use_weight_decay):
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        if use_weight_decay:
            g = g + weight_decay * theta
        s = square_avg[i] * rho + one_minus_rho * g * g
        square_avg[i] = s
        u = acc_delta[i]
        delta = np.sqrt(u + eps) / np.sqrt(s + eps) * g
        acc_delta[i] = u * rho + one_minus_rho * delta * delta
        param[i] = theta - lr * delta


@register("numba", Adadelta)
def adadelta_step(p, grad, state: dict, group: dict) -> None:
    """Adadelta's ``_update`` in one fused pass."""
    state["step"] += 1
    rho = group["rho"]
    launch(adadelta_kernel, [p.data, grad, state["square_avg"], state["acc_delta"]],
           float(group["lr"]), float(rho), float(1 - rho), float(group["eps"]),
           float(group["weight_decay"]), group["weight_decay"] != 0)

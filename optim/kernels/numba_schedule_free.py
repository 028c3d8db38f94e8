"""numba kernels of the Schedule-Free train-mode step: SGD and AdamW, one fused pass each.

The per-group numbers (the warmed-up γ, the averaging weight c = ``ckp1``, ``weight_sum``,
``lr_max``) are computed once per group in Python by the optimizer's ``_step``
(:func:`optim.schedule_free.schedule_free_coefficients`), which then calls
``_update(p, grad, state, group, lr=γ, ckp1=c)`` for each parameter. The kernels have
that contract, and do per element what the reference functions do to whole arrays; x
is never stored, y (the parameter) and z are updated from the old z::

    y ← y + c·(z − y) + γ·(β·(1 − c) − 1)·d
    z ← z − γ·d

with d = g + λ·y for SGD and d = g / (√(v / (1 − β2^t)) + ε) + λ·y for AdamW.

Note: ``_ScheduleFree._step`` calls ``self._update`` itself; these kernels run once it
asks for one first, as the base class's ``_step`` does (``self._kernel(backend, p, grad,
state) or self._update``, then called with ``lr=`` and ``ckp1=``).
"""
from __future__ import annotations

import numpy as np

from ..schedule_free import AdamWScheduleFree, SGDScheduleFree
from . import register
from .numba_common import fused, launch, prange


@fused
def sgd_schedule_free_kernel(param, grad, z, lr, ckp1, direction_step, weight_decay,
                             use_weight_decay):
    for i in prange(param.size):
        y = param[i]
        g = grad[i]
        if use_weight_decay:
            g = g + weight_decay * y                    # g ← ∇f(y) + λ·y
        old_z = z[i]
        y = y + ckp1 * (old_z - y)                      # y ← y + c·(z − y)
        param[i] = y + direction_step * g               #     + γ·(β·(1 − c) − 1)·g
        z[i] = old_z - lr * g                           # z ← z − γ·g


@register("numba", SGDScheduleFree)
def sgd_schedule_free_step(p, grad, state: dict, group: dict, *, lr: float,
                           ckp1: float) -> None:
    """SGDScheduleFree's ``_update`` in one fused pass."""
    weight_decay = group["weight_decay"]
    launch(sgd_schedule_free_kernel, [p.data, grad, state["z"]], float(lr), float(ckp1),
           float(lr * (group["momentum"] * (1 - ckp1) - 1)), float(weight_decay),
           weight_decay != 0)


@fused
def adamw_schedule_free_kernel(param, grad, z, exp_avg_sq, lr, ckp1, direction_step, beta2,
                               one_minus_beta2, bias_correction2, eps, weight_decay,
                               use_weight_decay):
    for i in prange(param.size):
        y = param[i]
        g = grad[i]
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g   # v ← β2·v + (1 − β2)·g²
        exp_avg_sq[i] = v
        d = g / (np.sqrt(v / bias_correction2) + eps)
        if use_weight_decay:
            d = d + weight_decay * y                    # d ← d + λ·y
        old_z = z[i]
        y = y + ckp1 * (old_z - y)                      # y ← y + c·(z − y)
        param[i] = y + direction_step * d               #     + γ·(β1·(1 − c) − 1)·d
        z[i] = old_z - lr * d                           # z ← z − γ·d


@register("numba", AdamWScheduleFree)
def adamw_schedule_free_step(p, grad, state: dict, group: dict, *, lr: float,
                             ckp1: float) -> None:
    """AdamWScheduleFree's ``_update`` in one fused pass (t = the group's k + 1)."""
    beta1, beta2 = group["betas"]
    weight_decay = group["weight_decay"]
    launch(adamw_schedule_free_kernel, [p.data, grad, state["z"], state["exp_avg_sq"]],
           float(lr), float(ckp1), float(lr * (beta1 * (1 - ckp1) - 1)), float(beta2),
           float(1 - beta2), float(1 - beta2 ** (group["k"] + 1)), float(group["eps"]),
           float(weight_decay), weight_decay != 0)

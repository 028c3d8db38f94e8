"""numba kernel of the Sophia step (SophiaG, SophiaH): momentum over a clipped Hessian
ratio, in one fused pass.

Per element, the reference :func:`optim.sophia.sophia_update`::

    θ ← (1 − η·λ)·θ
    m ← β1·m + (1 − β1)·g
    r ← min(|m| / (ρ·B·max(h, 0) + ε), 1)
    θ ← θ − η·sign(m)·r

The Hessian average h is only read: :meth:`optim.SophiaG.update_hessian` and SophiaH's
Hutchinson refresh update it (NumPy) before the step. SophiaG's ``_update`` reads B from
the optimizer (the ``bs`` of the step in progress), so its kernel is registered as a
method; SophiaH's uses B = 1.
"""
from __future__ import annotations

import numpy as np

from ..sophia import SophiaG, SophiaH
from . import register
from .numba_common import fused, launch, prange


@fused
def sophia_kernel(param, grad, exp_avg, hessian, lr, beta1, one_minus_beta1, rho_bs, eps,
                  shrink):
    for i in prange(param.size):
        theta = param[i] * shrink                       # θ ← (1 − η·λ)·θ
        m = exp_avg[i] * beta1 + one_minus_beta1 * grad[i]
        exp_avg[i] = m
        ratio = np.minimum(np.abs(m) / (rho_bs * np.maximum(hessian[i], 0) + eps), 1)
        param[i] = theta - lr * (np.sign(m) * ratio)


def sophia_step(p, grad, state: dict, group: dict, bs: float) -> None:
    """The ``_update`` of both Sophias in one fused pass, for a batch size B = ``bs``."""
    state["step"] += 1
    lr, beta1 = group["lr"], group["betas"][0]
    launch(sophia_kernel, [p.data, grad, state["exp_avg"], state["hessian"]], float(lr),
           float(beta1), float(1 - beta1), float(group["rho"] * bs),
           float(group["eps"]), float(1 - lr * group["weight_decay"]))


@register("numba", SophiaG, method=True)
def sophia_g_step(optimizer: SophiaG, p, grad, state: dict, group: dict) -> None:
    """SophiaG's ``_update`` (B: the optimizer's ``bs`` of this step)."""
    sophia_step(p, grad, state, group, bs=optimizer._step_bs)


@register("numba", SophiaH)
def sophia_h_step(p, grad, state: dict, group: dict) -> None:
    """SophiaH's ``_update`` (B = 1: Hutchinson estimates the mean loss's Hessian)."""
    sophia_step(p, grad, state, group, bs=1.0)

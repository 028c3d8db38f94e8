"""numba kernel of SophiaG's step: momentum over a clipped Hessian ratio, one fused pass.

Per element, the reference :func:`optim.sophia.sophia_update`::

    θ ← (1 − η·λ)·θ
    m ← β1·m + (1 − β1)·g
    r ← min(|m| / (ρ·B·max(h, 0) + ε), 1)
    θ ← θ − η·sign(m)·r

The Hessian average h is only read: :meth:`optim.SophiaG.update_hessian` refreshes it
(NumPy) outside the step. SophiaG's ``_update`` reads B from the optimizer (the ``bs`` of
the step in progress), so this kernel is registered as a method. SophiaH has no kernel:
its own ``_step`` calls the reference function directly, never ``_update``.
"""
from __future__ import annotations

import numpy as np

from ..sophia import SophiaG
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


@register("numba", SophiaG, method=True)
def sophia_g_step(optimizer: SophiaG, p, grad, state: dict, group: dict) -> None:
    """SophiaG's ``_update`` in one fused pass (B: the optimizer's ``bs`` of this step)."""
    state["step"] += 1
    lr, beta1 = group["lr"], group["betas"][0]
    launch(sophia_kernel, [p.data, grad, state["exp_avg"], state["hessian"]], float(lr),
           float(beta1), float(1 - beta1), float(group["rho"] * optimizer._step_bs),
           float(group["eps"]), float(1 - lr * group["weight_decay"]))

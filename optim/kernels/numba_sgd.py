"""numba kernel of SGD (momentum, dampening, Nesterov, weight decay): one pass per step.

Per element, the reference :func:`optim.sgd.sgd_update`::

    g ← g + λ·θ                        (weight decay)
    v ← g  on the first step,  v ← μ·v + (1 − τ)·g  afterwards
    g ← g + μ·v  (Nesterov)  or  g ← v
    θ ← θ − η·g

(``maximize`` is handled before: the optimizer passes −∇.)
"""
from __future__ import annotations

import numpy as np

from ..sgd import SGD
from . import register
from .numba_common import fused, launch, prange


@fused
def sgd_kernel(param, grad, momentum_buffer, lr, momentum, one_minus_dampening,
               weight_decay, use_weight_decay, use_momentum, first_step, nesterov):
    for i in prange(param.size):
        theta = param[i]
        g = grad[i]
        if use_weight_decay:
            g = g + weight_decay * theta
        if use_momentum:
            if first_step:
                v = g
            else:
                v = momentum_buffer[i] * momentum + one_minus_dampening * g
            momentum_buffer[i] = v
            if nesterov:
                g = g + momentum * v
            else:
                g = v
        param[i] = theta - lr * g


@register("numba", SGD)
def sgd_step(p, grad, state: dict, group: dict) -> None:
    """SGD's ``_update`` in one fused pass."""
    momentum = group["momentum"]
    buffer = state["momentum_buffer"]
    first_step = momentum != 0 and buffer is None
    if first_step:
        buffer = np.empty_like(p.data)
        state["momentum_buffer"] = buffer
    launch(sgd_kernel, [p.data, grad, p.data if buffer is None else buffer],
           float(group["lr"]), float(momentum), float(1 - group["dampening"]),
           float(group["weight_decay"]), group["weight_decay"] != 0, momentum != 0,
           first_step, bool(group["nesterov"]))

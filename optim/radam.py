"""RAdam: Adam that skips the adaptive step size until the second moment is reliable.

PyTorch's ``torch.optim.RAdam``: same arguments, defaults and update rule (including
its threshold ρ_t > 5 for switching the rectification on).
"""
from __future__ import annotations

import math
from typing import Optional

from minigrad.backend import get_array_module

from .checks import Betas, Range
from .optimizer import Optimizer


def radam_update(param, grad, exp_avg, exp_avg_sq, *, step: int, lr: float, beta1: float,
                 beta2: float, eps: float, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False) -> None:
    """One RAdam step, in place on ``param``, ``exp_avg``, ``exp_avg_sq``.

    With g the gradient, m and v the moments, t = ``step`` (1 on the first step)::

        θ ← (1 − η·λ)·θ                        with decoupled weight decay λ, or
        g ← g + λ·θ                            with L2 weight decay λ
        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        m̂ ← m / (1 − β1^t)
        ρ_∞ ← 2/(1 − β2) − 1                   length of the average v approximates
        ρ_t ← ρ_∞ − 2t·β2^t/(1 − β2^t)         ... and the length it has reached so far
        if ρ_t > 5:                            v is trustworthy: rectified Adam step
            r ← √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t))
            a ← √(1 − β2^t) / (√v + ε)
            θ ← θ − η·r·a·m̂
        else:                                  too few samples: momentum SGD step
            θ ← θ − η·m̂

    In the first steps v rests on a handful of gradients and 1/√v varies wildly; r
    scales the adaptive step by how much that variance has settled (r → 1 as t → ∞).
    Note that here ε is added to the raw √v, unlike Adam.

    Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond".
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param  # new array: grad is p.grad
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    bias_corrected_exp_avg = exp_avg / bias_correction1
    rectification = radam_rectification(step, beta2)
    if rectification is not None:
        adaptive_lr = math.sqrt(bias_correction2) / (xp.sqrt(exp_avg_sq) + eps)
        param -= lr * rectification * adaptive_lr * bias_corrected_exp_avg
    else:
        param -= lr * bias_corrected_exp_avg


def radam_rectification(step: int, beta2: float) -> Optional[float]:
    """The rectification r of step t, or None while ρ_t ≤ 5 (the variance of v is not
    yet tractable and RAdam takes a plain momentum step)::

        ρ_∞ = 2/(1 − β2) − 1,   ρ_t = ρ_∞ − 2t·β2ᵗ/(1 − β2ᵗ)
        r = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t))
    """
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2 ** step / (1 - beta2 ** step)
    if rho_t <= 5:
        return None
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                     / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


class RAdam(Optimizer):
    """Rectified Adam, as ``torch.optim.RAdam``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-3
        Learning rate η.
    betas : (float, float), default (0.9, 0.999)
        Decay rates β1, β2 of the first and second moment averages, each in [0, 1).
    eps : float, default 1e-8
        ε added to √v.
    weight_decay : float, default 0
        Weight decay λ: L2 penalty added to the gradient, or decoupled (see below).
    decoupled_weight_decay : bool, default False
        Shrink the weights by (1 − ηλ) instead of adding λθ to the gradient.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach, capturable, differentiable
        PyTorch's implementation switches: accepted, ignored, not stored.

    Notes
    -----
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.RAdam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()  # step 1: ρ_t = 1 ≤ 5, so a plain momentum step η·m̂ = η·g
    >>> w.data.tolist()
    [0.800000011920929, -1.600000023841858]
    """

    ranges = {"lr": Range("learning rate"),
              "eps": Range("epsilon value"),
              "betas": Betas(),
              "weight_decay": Range("weight_decay value")}
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: Optional[bool] = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0, "exp_avg": p.xp.zeros_like(p.data),
                "exp_avg_sq": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        radam_update(
            p.data, grad, state["exp_avg"], state["exp_avg_sq"], step=state["step"],
            lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"])

"""NAdam: Adam with Nesterov momentum (it looks one momentum step ahead).

PyTorch's ``torch.optim.NAdam``: same arguments, defaults and update rule, including
the momentum schedule μ_t of Dozat's paper.
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Betas, Range
from .optimizer import Optimizer


def nadam_update(param, grad, exp_avg, exp_avg_sq, *, step: int, mu_product: float,
                 lr: float, beta1: float, beta2: float, eps: float,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False) -> float:
    """One NAdam step, in place on ``param``, ``exp_avg``, ``exp_avg_sq``.

    Returns the new ``mu_product`` (the product μ_1·…·μ_t, a Python float; pass in the
    previous one, 1.0 before the first step). With g the gradient, m and v the moments,
    t = ``step`` (1 on the first step) and ψ = ``momentum_decay``::

        θ ← (1 − η·λ)·θ                        with decoupled weight decay λ, or
        g ← g + λ·θ                            with L2 weight decay λ
        μ_t ← β1·(1 − 0.5·0.96^(t·ψ))          the momentum schedule (warms up to β1)
        μ_{t+1} ← β1·(1 − 0.5·0.96^((t+1)·ψ))
        Π ← Π·μ_t                              (Π is ``mu_product``)
        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        d ← √(v / (1 − β2^t)) + ε
        θ ← θ − η·(1 − μ_t)/(1 − Π) · g / d              the gradient's share
        θ ← θ − η·μ_{t+1}/(1 − Π·μ_{t+1}) · m / d        the look-ahead momentum

    Nesterov's idea: apply the momentum of the *next* step (μ_{t+1}·m) now, plus the
    current gradient, each divided by its own bias correction.

    Dozat (2016), "Incorporating Nesterov Momentum into Adam".
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param  # new array: grad is p.grad
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product = mu_product * mu
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bias_correction2 = 1 - beta2 ** step
    denom = xp.sqrt(exp_avg_sq / bias_correction2) + eps
    param -= lr * (1 - mu) / (1 - mu_product) * grad / denom
    param -= lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
    return mu_product


class NAdam(Optimizer):
    """Adam with Nesterov momentum, as ``torch.optim.NAdam``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 2e-3
        Learning rate η.
    betas : (float, float), default (0.9, 0.999)
        β1 (the momentum the schedule warms up to) and β2 (second moment decay).
    eps : float, default 1e-8
        ε added to the denominator.
    weight_decay : float, default 0
        Weight decay λ: L2 penalty added to the gradient, or decoupled (see below).
    momentum_decay : float, default 4e-3
        ψ in the momentum schedule μ_t = β1·(1 − 0.5·0.96^(tψ)).
    decoupled_weight_decay : bool, default False
        Shrink the weights by (1 − ηλ) instead of adding λθ to the gradient.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach, capturable, differentiable
        PyTorch's implementation switches: accepted, ignored, not stored.

    Notes
    -----
    State per parameter: ``step`` (int), ``mu_product`` (float), ``exp_avg`` (m),
    ``exp_avg_sq`` (v).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.NAdam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()  # ≈ lr · sign(g) from the gradient, plus ≈ 0.0056 of look-ahead
    [0.8943548202514648, -1.8943548202514648]
    """

    ranges = {"lr": Range("learning rate"),
              "eps": Range("epsilon value"),
              "betas": Betas(),
              "weight_decay": Range("weight_decay value"),
              "momentum_decay": Range("momentum_decay value")}
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: Optional[bool] = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0, "mu_product": 1.0, "exp_avg": p.xp.zeros_like(p.data),
                "exp_avg_sq": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        state["mu_product"] = nadam_update(
            p.data, grad, state["exp_avg"], state["exp_avg_sq"], step=state["step"],
            mu_product=state["mu_product"], lr=group["lr"], beta1=beta1, beta2=beta2,
            eps=group["eps"], weight_decay=group["weight_decay"],
            momentum_decay=group["momentum_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"])

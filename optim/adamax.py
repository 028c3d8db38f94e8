"""Adamax: Adam with the root mean square replaced by an exponentially weighted max.

PyTorch's ``torch.optim.Adamax``: same arguments, defaults and update rule.
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Betas, Range
from .optimizer import Optimizer


def adamax_update(param, grad, exp_avg, exp_inf, *, step: int, lr: float, beta1: float = 0.9,
                  beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> None:
    """One Adamax step, in place on ``param``, ``exp_avg`` and ``exp_inf``.

    With g the gradient, m the first moment, u the exponentially weighted infinity norm
    and t the step count (1 on the first step)::

        g ← g + λ·θ                        (weight_decay λ, an L2 penalty)
        m ← β₁·m + (1 − β₁)·g
        u ← max(β₂·u, |g| + ε)
        θ ← θ − η / (1 − β₁ᵗ) · m / u

    u needs no bias correction: a max is not pulled towards its zero start. ε sits
    *inside* the max, as in PyTorch (the paper has no ε; it keeps u > 0).

    Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR, section 7.1
    (Algorithm 2).
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    exp_avg += (1 - beta1) * (grad - exp_avg)
    xp.maximum(beta2 * exp_inf, xp.abs(grad) + eps, out=exp_inf)
    bias_correction1 = 1 - beta1 ** step
    param -= lr / bias_correction1 * (exp_avg / exp_inf)


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 2e-3
        Learning rate η.
    betas : (float, float), default (0.9, 0.999)
        Decay β₁ of the first moment and β₂ of the infinity norm.
    eps : float, default 1e-8
        Lower bound on the infinity norm's new term, ``|g| + ε``.
    weight_decay : float, default 0
        L2 penalty λ added to the gradient.
    foreach : bool, optional
        PyTorch's implementation switch: accepted, ignored, not stored.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    differentiable, capturable
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``step`` (int), ``exp_avg`` (first moment) and ``exp_inf``
    (infinity norm).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adamax([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.8999999761581421, -1.899999976158142]
    """

    ranges = {"lr": Range("learning rate"),
              "eps": Range("epsilon value"),
              "betas": Betas(),
              "weight_decay": Range("weight_decay value")}
    state_names = ("exp_avg", "exp_inf")

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 foreach: Optional[bool] = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False,
                 backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0,
                "exp_avg": p.xp.zeros_like(p.data),
                "exp_inf": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        adamax_update(p.data, grad, state["exp_avg"], state["exp_inf"], step=state["step"],
                      lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                      weight_decay=group["weight_decay"])

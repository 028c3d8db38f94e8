"""Adadelta: steps scaled by the ratio of running RMS of past updates and of gradients.

PyTorch's ``torch.optim.Adadelta``: same arguments, defaults and update rule.
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Range
from .optimizer import Optimizer


def adadelta_update(param, grad, square_avg, acc_delta, *, lr: float, rho: float = 0.9,
                    eps: float = 1e-6, weight_decay: float = 0.0) -> None:
    """One Adadelta step, in place on ``param``, ``square_avg`` and ``acc_delta``.

    With g the gradient, v the running mean of g² and u the running mean of the
    squared updates Δ²::

        g ← g + λ·θ                        (weight_decay λ, an L2 penalty)
        v ← ρ·v + (1 − ρ)·g²               (decay ρ)
        Δ = √(u + ε) / √(v + ε) · g        (the update, in the units of θ)
        u ← ρ·u + (1 − ρ)·Δ²
        θ ← θ − η·Δ

    The ratio √(u + ε) / √(v + ε) replaces a hand-tuned learning rate; PyTorch still
    multiplies by η (default 1, which is the paper's algorithm).

    Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701,
    Algorithm 1.
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    param -= lr * delta


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1.0
        Factor η applied to the update Δ.
    rho : float, default 0.9
        Decay ρ of both running averages.
    eps : float, default 1e-6
        Added inside both square roots; it also sets the size of the first steps.
    weight_decay : float, default 0
        L2 penalty λ added to the gradient.
    foreach : bool, optional
        PyTorch's implementation switch: accepted, ignored, not stored.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    capturable, differentiable
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``step`` (int), ``square_avg`` (running mean of g²) and
    ``acc_delta`` (running mean of Δ²).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adadelta([w])
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.9968377351760864, -1.9968377351760864]
    """

    ranges = {"lr": Range("learning rate"),
              "rho": Range("rho value", 0.0, 1.0),
              "eps": Range("epsilon value"),
              "weight_decay": Range("weight_decay value")}
    state_names = ("square_avg", "acc_delta")

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False, backend: Optional[str] = None):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0,
                "square_avg": p.xp.zeros_like(p.data),
                "acc_delta": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        adadelta_update(p.data, grad, state["square_avg"], state["acc_delta"],
                        lr=group["lr"], rho=group["rho"], eps=group["eps"],
                        weight_decay=group["weight_decay"])

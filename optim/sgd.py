"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

PyTorch's ``torch.optim.SGD``: same arguments, defaults and update rule.
"""
from __future__ import annotations

from typing import Optional

from .checks import Range
from .optimizer import Optimizer


def sgd_update(param, grad, momentum_buffer: Optional[object], *, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
               nesterov: bool = False):
    """One SGD step, in place on ``param``; returns the new momentum buffer (or None).

    With g the gradient and v the momentum buffer::

        g ← g + λ·θ                       (weight_decay λ, an L2 penalty)
        v ← g                   on the first step (PyTorch starts the buffer at g, not 0)
        v ← μ·v + (1 − τ)·g     afterwards (momentum μ, dampening τ)
        g ← g + μ·v             with Nesterov,  g ← v  without
        θ ← θ − η·g

    Momentum: Polyak (1964); Nesterov in the form of Sutskever et al. (2013), "On the
    importance of initialization and momentum in deep learning".
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.copy()
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * grad
        grad = grad + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * grad
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-3
        Learning rate η.
    momentum : float, default 0
        Momentum factor μ.
    dampening : float, default 0
        Dampening τ of the momentum.
    weight_decay : float, default 0
        L2 penalty λ added to the gradient.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach, differentiable, fused
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``momentum_buffer`` (None until the first step with momentum).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.800000011920929, -1.600000023841858]
    """

    ranges = {"lr": Range("learning rate"),
              "momentum": Range("momentum value"),
              "dampening": Range("dampening value"),
              "weight_decay": Range("weight_decay value")}
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False,
                 fused: Optional[bool] = None, backend: Optional[str] = None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _validate_group(self, group: dict) -> None:
        super()._validate_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _init_state(self, p, group: dict) -> dict:
        return {"momentum_buffer": None}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["momentum_buffer"] = sgd_update(
            p.data, grad, state["momentum_buffer"], lr=group["lr"],
            momentum=group["momentum"], dampening=group["dampening"],
            weight_decay=group["weight_decay"], nesterov=group["nesterov"])

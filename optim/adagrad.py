"""Adagrad: a per-coordinate learning rate that shrinks with the sum of squared gradients.

PyTorch's ``torch.optim.Adagrad``: same arguments, defaults and update rule (dense
gradients only).
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Range
from .optimizer import Optimizer


def adagrad_update(param, grad, state_sum, *, step: int, lr: float, lr_decay: float = 0.0,
                   weight_decay: float = 0.0, eps: float = 1e-10) -> None:
    """One Adagrad step, in place on ``param`` and ``state_sum``.

    With g the gradient, s the running sum of squared gradients and t the step count
    (1 on the first step)::

        g ← g + λ·θ                        (weight_decay λ, an L2 penalty)
        η_t = η / (1 + (t − 1)·δ)          (lr_decay δ; η_t = η when δ = 0)
        s ← s + g²
        θ ← θ − η_t · g / (√s + ε)

    Coordinates that have seen large gradients take small steps, rare ones large steps.
    ε is added *outside* the square root, as in PyTorch.

    Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 12.
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += grad * grad
    std = xp.sqrt(state_sum) + eps
    param -= clr * (grad / std)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-2
        Learning rate η.
    lr_decay : float, default 0
        Learning-rate decay δ: the step t uses η / (1 + (t − 1)·δ).
    weight_decay : float, default 0
        L2 penalty λ added to the gradient.
    initial_accumulator_value : float, default 0
        Starting value of the sum of squared gradients.
    eps : float, default 1e-10
        Added to √s to avoid dividing by zero.
    foreach : bool, optional
        PyTorch's implementation switch: accepted, ignored, not stored.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    differentiable, fused
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``step`` (int) and ``sum`` (the accumulated squared gradients).
    Unlike PyTorch, which fills the state of every parameter in the constructor, the
    state is created on the first step that sees a gradient, like the other optimizers,
    and ``sum`` starts at the parameter's own group's ``initial_accumulator_value``
    (PyTorch always uses the constructor's value).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adagrad([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.8999999761581421, -1.899999976158142]
    """

    ranges = {"lr": Range("learning rate"),
              "lr_decay": Range("lr_decay value"),
              "weight_decay": Range("weight_decay value"),
              "initial_accumulator_value": Range("initial_accumulator_value value"),
              "eps": Range("epsilon value")}
    state_names = ("sum",)

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: Optional[bool] = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None,
                 backend: Optional[str] = None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0,
                "sum": p.xp.full_like(p.data, group["initial_accumulator_value"])}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        adagrad_update(p.data, grad, state["sum"], step=state["step"], lr=group["lr"],
                       lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
                       eps=group["eps"])

"""RMSprop: divide the gradient by a running root mean square of recent gradients.

PyTorch's ``torch.optim.RMSprop``: same arguments, defaults and update rule, including
the centered variant and momentum.
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Range
from .optimizer import Optimizer


def rmsprop_update(param, grad, square_avg, grad_avg: Optional[object],
                   momentum_buffer: Optional[object], *, lr: float, alpha: float = 0.99,
                   eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                   centered: bool = False) -> None:
    """One RMSprop step, in place on ``param`` and the state arrays.

    With g the gradient, v the running mean of g², m̄ the running mean of g (centered
    only) and b the momentum buffer::

        g ← g + λ·θ                         (weight_decay λ, an L2 penalty)
        v ← α·v + (1 − α)·g²                (smoothing constant α)
        m̄ ← m̄ + (1 − α)·(g − m̄)             (centered only)
        d = √(v − m̄²) + ε   if centered,    d = √v + ε   otherwise
        b ← μ·b + g / d,   θ ← θ − η·b      with momentum μ > 0
        θ ← θ − η·g / d                     without momentum

    ε is added *outside* the square root, as in PyTorch (TensorFlow adds it inside).
    Centering divides by an estimate of the gradient's standard deviation instead of
    its root mean square. ``grad_avg`` is used only when ``centered``, and
    ``momentum_buffer`` only when ``momentum > 0`` (pass None otherwise).

    Tieleman & Hinton (2012), "Neural Networks for Machine Learning", Coursera,
    lecture 6e; the centered version: Graves (2013), "Generating Sequences With
    Recurrent Neural Networks", arXiv:1308.0850, section 4.
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg += (1 - alpha) * (grad - grad_avg)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = xp.sqrt(square_avg) + eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += grad / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * (grad / avg)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-2
        Learning rate η.
    alpha : float, default 0.99
        Smoothing constant α of the running averages.
    eps : float, default 1e-8
        Added to the root mean square to avoid dividing by zero.
    weight_decay : float, default 0
        L2 penalty λ added to the gradient.
    momentum : float, default 0
        Momentum factor μ.
    centered : bool, default False
        Divide by the running standard deviation of the gradient (Graves' variant).
    capturable, foreach, differentiable
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).
    maximize : bool, default False
        Maximise the objective instead of minimising it.

    Notes
    -----
    State per parameter: ``step`` (int), ``square_avg``, plus ``momentum_buffer`` when
    momentum > 0 and ``grad_avg`` when centered.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.RMSprop([w], lr=0.01)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.9000000357627869, -1.899999976158142]
    """

    ranges = {"lr": Range("learning rate"),
              "eps": Range("epsilon value"),
              "momentum": Range("momentum value"),
              "weight_decay": Range("weight_decay value"),
              "alpha": Range("alpha value")}
    state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: Optional[bool] = None,
                 maximize: bool = False, differentiable: bool = False,
                 *, backend: Optional[str] = None):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        state = {"step": 0, "square_avg": p.xp.zeros_like(p.data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = p.xp.zeros_like(p.data)
        if group["centered"]:
            state["grad_avg"] = p.xp.zeros_like(p.data)
        return state

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        rmsprop_update(p.data, grad, state["square_avg"], state.get("grad_avg"),
                       state.get("momentum_buffer"), lr=group["lr"], alpha=group["alpha"],
                       eps=group["eps"], weight_decay=group["weight_decay"],
                       momentum=group["momentum"], centered=group["centered"])

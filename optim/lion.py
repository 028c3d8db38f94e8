"""Lion (EvoLved Sign Momentum): every coordinate moves by exactly ±η each step.

Found by a program search over optimizers. Lion keeps one buffer (momentum, like SGD
with momentum, half of Adam's state) and steps by the *sign* of an interpolation
between that momentum and the new gradient, so every update has the same size in
every coordinate. Because of that, Lion's learning rate is usually 3–10× smaller than
AdamW's, and its weight decay 3–10× larger (the product η·λ is what shrinks θ).
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Betas, Range
from .optimizer import Optimizer


def lion_update(param, grad, exp_avg, *, lr: float, beta1: float, beta2: float,
                weight_decay: float = 0.0) -> None:
    """One Lion step, in place on ``param`` and ``exp_avg``.

    With g the gradient and m the momentum (m₀ = 0)::

        c ← β1·m + (1 − β1)·g            (interpolate: the direction to take)
        θ ← (1 − η·λ)·θ − η·sign(c)      (decoupled weight decay λ)
        m ← β2·m + (1 − β2)·g            (track: the momentum to keep)

    Two betas, two roles: β1 (0.9) decides how much the current gradient counts in
    *this* step, β2 (0.99) how long the momentum remembers. sign(0) = 0, so a
    coordinate whose c is exactly 0 does not move (apart from the decay).

    Chen, Liang, Huang, Real, Wang, Liu, Pham, Dong, Luong, Hsieh, Lu & Le (2023),
    "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675, Algorithm 2
    and Program 1; the authors' code (google/automl, lion/lion_pytorch.py) applies
    the weight decay as the factor (1 − ηλ) before the signed step, as here.
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    direction = xp.sign(beta1 * exp_avg + (1 - beta1) * grad)
    param -= lr * direction
    exp_avg *= beta2
    exp_avg += (1 - beta2) * grad


class Lion(Optimizer):
    """Lion: the sign of interpolated momentum, one state buffer.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-4
        Learning rate η: every coordinate moves by exactly η per step (plus the decay).
    betas : (float, float), default (0.9, 0.99)
        β1, the weight of the momentum in the step's direction, and β2, the decay of
        the momentum itself; each in [0, 1).
    weight_decay : float, default 0
        Decoupled weight decay λ: ``θ ← (1 − ηλ)·θ`` every step.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach
        PyTorch's implementation switch: accepted, ignored and not stored.

    Notes
    -----
    State per parameter: ``exp_avg`` (m, the momentum; zeros before the first step).

    Examples
    --------
    >>> import minigrad
    >>> from optim.lion import Lion
    >>> w = minigrad.tensor([3.0, -0.001, 0.0], requires_grad=True)
    >>> opt = Lion([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()                 # ±lr whatever the size of the gradient; 0 stays put
    >>> [round(v, 6) for v in w.data.tolist()]
    [2.9, 0.099, 0.0]
    """

    ranges = {"lr": Range("learning rate"),
              "betas": Betas(),
              "weight_decay": Range("weight_decay value")}
    state_names = ("exp_avg",)

    def __init__(self, params, lr: float = 1e-4, betas: tuple = (0.9, 0.99),
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 foreach: Optional[bool] = None, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"exp_avg": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        beta1, beta2 = group["betas"]
        lion_update(p.data, grad, state["exp_avg"], lr=group["lr"], beta1=beta1,
                    beta2=beta2, weight_decay=group["weight_decay"])

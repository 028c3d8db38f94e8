"""Rprop: resilient backpropagation, a step size per coordinate driven by gradient signs.

PyTorch's ``torch.optim.Rprop``: same arguments, defaults and update rule.
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Range
from .optimizer import Optimizer


def rprop_update(param, grad, prev, step_size, *, etaminus: float = 0.5,
                 etaplus: float = 1.2, step_size_min: float = 1e-6,
                 step_size_max: float = 50.0) -> None:
    """One Rprop step, in place on ``param``, ``prev`` and ``step_size``.

    Only the sign of the gradient is used. With g the gradient, g' the previous one
    (``prev``) and Δ the per-coordinate step size::

        s = g·g'                  (> 0: same sign, < 0: the sign changed, 0: no memory)
        Δ ← η⁺·Δ    where s > 0     (etas = (η⁻, η⁺))
        Δ ← η⁻·Δ    where s < 0
        Δ ← clip(Δ, Δmin, Δmax)     (step_sizes = (Δmin, Δmax))
        g ← 0       where s < 0
        θ ← θ − sign(g)·Δ
        g' ← g

    After a sign change the minimum was overshot: the step shrinks, that coordinate does
    not move, and g' = 0 means the next step neither grows nor shrinks Δ (the variant
    Igel & Hüsken (2000) call iRprop−). Rprop suits full-batch training: mini-batch
    noise flips signs at random.

    A NaN gradient element has sign 0, as in PyTorch (whose ``sign(nan)`` is 0): that
    coordinate does not move, g' keeps the NaN, and Δ stays as it was, at this step and
    at the next one (where s = g·NaN is NaN too, neither > 0 nor < 0).

    Riedmiller & Braun (1993), "A Direct Adaptive Method for Faster Backpropagation
    Learning: The RPROP Algorithm", IEEE International Conference on Neural Networks.
    """
    xp = get_array_module(param)
    s = grad * prev
    step_size[s > 0] *= etaplus
    step_size[s < 0] *= etaminus
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    grad = grad.copy()
    grad[s < 0] = 0
    direction = xp.where(xp.isnan(grad), 0, xp.sign(grad))  # PyTorch's sign(nan) is 0
    param -= direction * step_size
    prev[...] = grad


def _check_etas(etas) -> None:
    """PyTorch's rule 0 < η⁻ < 1 < η⁺: ``Invalid eta values: 0.5, 0.9``."""
    if not isinstance(etas, (tuple, list)) or len(etas) != 2:
        raise ValueError(f"Invalid eta values: {etas!r} (expected a pair (etaminus, etaplus))")
    etaminus, etaplus = etas
    try:
        valid = 0.0 < etaminus < 1.0 < etaplus
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(f"Invalid eta values: {etaminus}, {etaplus}")


class Rprop(Optimizer):
    """Rprop, as ``torch.optim.Rprop``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-2
        The initial step size Δ of every coordinate (later changes of a group's ``lr``
        do not affect parameters that already have state).
    etas : (float, float), default (0.5, 1.2)
        (η⁻, η⁺): factors that shrink and grow Δ; 0 < η⁻ < 1 < η⁺.
    step_sizes : (float, float), default (1e-6, 50)
        (Δmin, Δmax): the range Δ is clipped to.
    capturable, foreach, differentiable
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).
    maximize : bool, default False
        Maximise the objective instead of minimising it.

    Notes
    -----
    State per parameter: ``step`` (int), ``prev`` (the previous gradient, zeroed where
    its sign changed) and ``step_size`` (Δ, starts at ``lr``).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Rprop([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.8999999761581421, -1.899999976158142]
    """

    ranges = {"lr": Range("learning rate"),
              "etas": _check_etas}
    state_names = ("prev", "step_size")

    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False, backend: Optional[str] = None):
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0,
                "prev": p.xp.zeros_like(p.data),
                "step_size": p.xp.full_like(p.data, group["lr"])}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        rprop_update(p.data, grad, state["prev"], state["step_size"], etaminus=etaminus,
                     etaplus=etaplus, step_size_min=step_size_min,
                     step_size_max=step_size_max)

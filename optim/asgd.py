"""ASGD: SGD with a decaying step size and a running (Polyak) average of the iterates.

PyTorch's ``torch.optim.ASGD``: same arguments, defaults and update rule.
"""
from __future__ import annotations

from typing import Optional

from .checks import Range
from .optimizer import Optimizer


def asgd_update(param, grad, ax, *, step: int, eta: float, mu: float, lr: float,
                lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                weight_decay: float = 0.0) -> tuple:
    """One ASGD step, in place on ``param`` and ``ax``; returns the next ``(eta, mu)``.

    With g the gradient, θ̄ the averaged parameter (``ax``), t the step count (1 on the
    first step), η_t and μ_t the step size and averaging weight of this step::

        g ← g + λ_wd·θ                        (weight_decay λ_wd, an L2 penalty)
        θ ← (1 − λ·η_t)·θ                     (decay lambd λ)
        θ ← θ − η_t·g
        θ̄ ← θ̄ + μ_t·(θ − θ̄)                   (θ̄ ← θ while μ_t = 1)
        η_{t+1} = η / (1 + λ·η·t)^α           (lr η, power alpha α)
        μ_{t+1} = 1 / max(1, t − t₀)

    θ̄ copies θ up to step t₀ + 2; from then on it is the mean of the iterates
    θ_{t₀+2}, …, θ_t. The update itself never reads θ̄: evaluate the model with θ̄ in
    place of θ to get the averaged solution.

    Polyak & Juditsky (1992), "Acceleration of Stochastic Approximation by Averaging",
    SIAM Journal on Control and Optimization 30(4); the step-size schedule as in
    Bottou (2012), "Stochastic Gradient Descent Tricks".
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    param *= 1 - lambd * eta
    param -= eta * grad
    if mu != 1:
        ax += mu * (param - ax)
    else:
        ax[...] = param
    next_eta = lr / (1 + lambd * lr * step) ** alpha
    next_mu = 1 / max(1, step - t0)
    return next_eta, next_mu


class ASGD(Optimizer):
    """Averaged stochastic gradient descent, as ``torch.optim.ASGD``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-2
        Initial step size η.
    lambd : float, default 1e-4
        Decay term λ (shrinks θ and the step size).
    alpha : float, default 0.75
        Power α of the step-size decay.
    t0 : float, default 1e6
        The step after which averaging starts.
    weight_decay : float, default 0
        L2 penalty added to the gradient.
    foreach, differentiable, capturable
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).
    maximize : bool, default False
        Maximise the objective instead of minimising it.

    Notes
    -----
    State per parameter: ``step`` (int), ``eta`` (float, the next step size, starts at
    ``lr``), ``mu`` (float, the next averaging weight, starts at 1) and ``ax`` (the
    averaged parameter θ̄).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.ASGD([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()
    [0.7999899983406067, -1.5999799966812134]
    """

    ranges = {"lr": Range("learning rate"),
              "weight_decay": Range("weight_decay value")}
    state_names = ("ax",)

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: Optional[bool] = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False, *, backend: Optional[str] = None):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"step": 0, "eta": float(group["lr"]), "mu": 1.0,
                "ax": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        state["eta"], state["mu"] = asgd_update(
            p.data, grad, state["ax"], step=state["step"], eta=state["eta"],
            mu=state["mu"], lr=group["lr"], lambd=group["lambd"], alpha=group["alpha"],
            t0=group["t0"], weight_decay=group["weight_decay"])

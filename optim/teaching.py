"""Teaching variants, written the way the chapters write them.

PyTorch's ``SGD`` and the authors' ``Lion`` are the defaults everywhere else; these
classes exist so that the textbook formulas can be run as they are printed, and
compared with the real ones:

* :class:`MomentumEWA` – momentum as an exponentially weighted average of gradients,
  v ← βv + (1 − β)g. It is PyTorch's momentum with the learning rate scaled by 1 − β.
* :class:`NesterovLookahead` – Nesterov's accelerated gradient with the gradient taken
  at the look-ahead point θ − ημv. PyTorch's ``SGD(nesterov=True)`` runs the same
  algorithm on the shifted variable φ = θ − ημv.
* :class:`SignEWALion` – the slides' simplified Lion: an average of sign(g), stepped
  by its sign. Unlike :class:`optim.Lion` it forgets a large gradient quickly.
"""
from __future__ import annotations

from typing import Callable, Optional

from .checks import Range
from .optimizer import Optimizer, _evaluate, read_only, required


def momentum_ewa_update(param, grad, momentum_buffer, *, lr: float, beta: float,
                        weight_decay: float = 0.0) -> None:
    """One step of momentum written as an exponentially weighted average, in place.

    With g the gradient and v the average (v₀ = 0)::

        g ← g + λ·θ                 (weight_decay λ)
        v ← β·v + (1 − β)·g         (the EWA of the gradients)
        θ ← θ − η·v

    Unrolled, v_t = (1 − β)·Σₖ β^(t−k)·g_k = (1 − β)·b_t where b is PyTorch's buffer
    (b ← μ·b + g), so ``MomentumEWA(lr=η / (1 − β))`` and ``SGD(lr=η, momentum=β)``
    take the same steps. Polyak (1964), in the form of Ng's *Deep Learning* course.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    momentum_buffer *= beta
    momentum_buffer += (1 - beta) * grad
    param -= lr * momentum_buffer


class MomentumEWA(Optimizer):
    """Momentum as an exponentially weighted average of gradients: v ← βv + (1 − β)g.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Learning rate η (required).
    beta : float, default 0.9
        Averaging factor β in [0, 1); the average spans about 1/(1 − β) gradients.
    weight_decay : float, default 0
        L2 penalty λ added to the gradient.

    Notes
    -----
    State per parameter: ``momentum_buffer`` (v, zeros before the first step).

    Notes
    -----
    Because v is an average rather than a sum, the steps are 1 − β times PyTorch's:
    ``MomentumEWA(params, lr=η / (1 - β), beta=β)`` follows ``SGD(params, lr=η,
    momentum=β)`` exactly (up to rounding).

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.MomentumEWA([w], lr=1.0, beta=0.9)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.data.tolist()]   # v = 0.1·g = [0.2, -0.4]
    [0.8, -1.6]
    """

    ranges = {"lr": Range("learning rate"),
              "beta": Range("beta value", 0.0, 1.0, high_open=True),
              "weight_decay": Range("weight_decay value")}
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float = required, beta: float = 0.9,
                 weight_decay: float = 0, *, backend: Optional[str] = None):
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay),
                         backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"momentum_buffer": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        momentum_ewa_update(p.data, grad, state["momentum_buffer"], lr=group["lr"],
                            beta=group["beta"], weight_decay=group["weight_decay"])


def nesterov_lookahead_update(param, grad_at_lookahead, momentum_buffer, *, lr: float,
                              momentum: float) -> None:
    """One step of Nesterov's accelerated gradient, in place on θ and v.

    The gradient must have been taken at the look-ahead point θ − η·μ·v::

        v ← μ·v + ∇f(θ − η·μ·v)
        θ ← θ − η·v

    Nesterov (1983); this "velocity" form is Sutskever et al. (2013), "On the importance
    of initialization and momentum in deep learning", Eq. (3)–(4), with v measured in
    gradient units (their v is −η times ours).
    """
    momentum_buffer *= momentum
    momentum_buffer += grad_at_lookahead
    param -= lr * momentum_buffer


class NesterovLookahead(Optimizer):
    """Nesterov momentum with the gradient evaluated at the look-ahead point.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Learning rate η (required).
    momentum : float, default 0.9
        Momentum factor μ.

    Notes
    -----
    State per parameter: ``momentum_buffer`` (v, zeros before the first step).

    Notes
    -----
    ``step(closure)`` needs a closure (it zeroes the gradients, computes the loss and
    calls ``backward``): the parameters are moved to the look-ahead point
    φ = θ − η·μ·v, the closure is called there, the parameters are put back to θ and
    updated with :func:`nesterov_lookahead_update`. The returned loss is f(φ).

    Relation to PyTorch: ``SGD(lr=η, momentum=μ, nesterov=True)`` stores φ instead of θ.
    Substituting φ_t = θ_t − η·μ·v_(t−1) into the two lines above gives
    φ_(t+1) = φ_t − η·(g_t + μ·v_t) with v_t = μ·v_(t−1) + g_t, g_t = ∇f(φ_t): PyTorch's
    update, whose buffer starts at g₁ = μ·0 + g₁. So, started from the same point, after
    every step t:

    * the SGD parameter equals this optimizer's look-ahead point θ_t − η·μ·v_t (the
      point at which the next gradient is taken), not θ_t;
    * the momentum buffers are equal, and so are the losses the closures return;
    * when v → 0 (at convergence) both converge to the same minimiser.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.NesterovLookahead([w], lr=0.1, momentum=0.9)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = (w ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> float(opt.step(closure))
    5.0
    >>> [round(v, 6) for v in w.data.tolist()]
    [0.8, -1.6]
    """

    ranges = {"lr": Range("learning rate"),
              "momentum": Range("momentum value")}
    state_names = ("momentum_buffer",)
    needs_closure = True  # the gradient is taken at the look-ahead point θ − η·μ·v

    def __init__(self, params, lr: float = required, momentum: float = 0.9,
                 *, backend: Optional[str] = None):
        super().__init__(params, dict(lr=lr, momentum=momentum), backend=backend)

    def _step(self, closure: Callable):
        saved = {}
        for group in self.param_groups:  # move every parameter to its look-ahead point
            for p in group["params"]:
                if "momentum_buffer" in self.state.get(p, {}):
                    saved[p] = p.data.copy()
                    p.data -= group["lr"] * group["momentum"] * self.state[p]["momentum_buffer"]
        loss = _evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p in saved:  # back to θ (a copy, so no rounding is introduced)
                    p.xp.copyto(p.data, saved[p])
                    p._version += 1
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["momentum_buffer"] = p.xp.zeros_like(p.data)
                nesterov_lookahead_update(p.data, read_only(p.grad), state["momentum_buffer"],
                                          lr=group["lr"], momentum=group["momentum"])
                p._version += 1
        return loss


# ----------------------------------------------------------------- Lion, as a slide writes it
from minigrad.backend import get_array_module  # noqa: E402  (used by the Lion variant below)


def sign_ewa_lion_update(param, grad, momentum_buffer, *, lr: float, beta: float,
                         weight_decay: float = 0.0) -> None:
    """One step of the slide's simplified Lion: an average of gradient *signs*, in place.

    With g the gradient and m the average (m₀ = 0)::

        m ← β·m + (1 − β)·sign(g)        (an EWA of signs: every gradient weighs ±1)
        θ ← θ − η·(sign(m) + λ·θ)        (decoupled weight decay λ, as the slide writes it)

    This is the chapters' equation "m_t = β1·m + (1 − β1)·sign(∇J); θ ← θ − η·sign(m_t)",
    not Lion (:func:`optim.lion.lion_update`). The two differ in three ways:

    * **what is averaged**: Lion averages the gradients themselves, so one large
      gradient dominates its momentum for many steps; here each gradient is reduced
      to ±1 *before* averaging, and its size is forgotten at once;
    * **one beta, two roles**: Lion steps along β1·m + (1 − β1)·g (β1 = 0.9) but keeps
      the slower β2·m + (1 − β2)·g (β2 = 0.99); here the same average is kept and
      stepped along;
    * **the first step agrees**: from m₀ = 0 both move by −η·sign(g₁); they part from
      the second step on (e.g. gradients 100, −1, −1, …: Lion keeps moving against the
      100 for several steps, this variant turns round at step 2).

    Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms",
    arXiv:2302.06675, is the algorithm this simplifies.
    """
    xp = get_array_module(param)
    momentum_buffer *= beta
    momentum_buffer += (1 - beta) * xp.sign(grad)
    param -= lr * (xp.sign(momentum_buffer) + weight_decay * param)


class SignEWALion(Optimizer):
    """The slide's simplified Lion: step by the sign of an average of gradient signs.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-4
        Learning rate η: every coordinate moves by η per step (or stays, if m is 0).
    beta : float, default 0.9
        Averaging factor β in [0, 1) of the gradient signs.
    weight_decay : float, default 0
        Decoupled weight decay λ: ``θ ← θ − η·λ·θ`` each step.

    Notes
    -----
    State per parameter: ``momentum_buffer`` (m, the average of signs, in [−1, 1]).

    Notes
    -----
    A teaching contrast to :class:`optim.lion.Lion`, which averages raw gradients with
    two betas; :func:`sign_ewa_lion_update` lists the differences. Like Lion it keeps
    one buffer and takes steps of size η in every coordinate.

    Examples
    --------
    >>> import minigrad
    >>> from optim.teaching import SignEWALion
    >>> w = minigrad.tensor([3.0, -0.001], requires_grad=True)
    >>> opt = SignEWALion([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.data.tolist()]
    [2.9, 0.099]
    >>> [round(v, 6) for v in opt.state[w]["momentum_buffer"].tolist()]  # (1 − β)·sign(g)
    [0.1, -0.1]
    """

    ranges = {"lr": Range("learning rate"),
              "beta": Range("beta value", 0.0, 1.0, high_open=True),
              "weight_decay": Range("weight_decay value")}
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float = 1e-4, beta: float = 0.9,
                 weight_decay: float = 0.0, *, backend: Optional[str] = None):
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay),
                         backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"momentum_buffer": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        sign_ewa_lion_update(p.data, grad, state["momentum_buffer"], lr=group["lr"],
                             beta=group["beta"], weight_decay=group["weight_decay"])

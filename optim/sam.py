"""SAM and ASAM: descend with the gradient taken at the worst nearby point.

Sharpness-aware minimization looks for weights whose whole neighbourhood has a low loss
(a flat minimum), not just a low point. Each step takes two gradients: one at the
weights w, which points to the worst point w + ε of a small ball around them, and one
at that point, which the *base* optimizer (SGD, Adam, ...) then applies at w.

:class:`SAM` wraps an optimizer class: it builds the base optimizer on its own
parameter groups and shares them with it, so learning-rate schedulers, ``zero_grad``
and checkpoints see one optimizer. The perturbation itself is :func:`sam_perturbation`.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence, Union

from minigrad.backend import get_array_module

from .checks import OneOf, Range
from .optimizer import PYTORCH_ONLY_SWITCHES, Optimizer, _evaluate, read_only


def sam_perturbation(params: Sequence, grads: Sequence, *,
                     rho: Union[float, Sequence[float]],
                     adaptive: Union[bool, Sequence[bool]] = False,
                     eps: float = 1e-12) -> list:
    """The ascent step ε of SAM (or ASAM) for every parameter; returns new arrays.

    With g the gradients of all parameters at w and T a diagonal scaling, T = I for SAM
    and T = ``|w|`` (element-wise) for ASAM::

        ε = ρ · T²·g / (‖T·g‖ + eps)

    The norm is taken over *all* parameters together, as one vector: ε is the steepest
    ascent step of length ρ (measured in the scaled coordinates T⁻¹w for ASAM), the
    first-order solution of max over ‖T⁻¹ε‖ ≤ ρ of L(w + ε). SAM then takes the gradient
    at w + ε and applies it at w.

    ``rho`` and ``adaptive`` are either one value or one value per parameter (each
    parameter's group); the norm is still global. Nothing is changed in place: ``params``
    and ``grads`` (``p.grad`` itself) are only read.

    SAM: Foret, Kleiner, Mobahi & Neyshabur (2021), "Sharpness-Aware Minimization for
    Efficiently Improving Generalization", arXiv:2010.01412, Eq. (2).
    ASAM: Kwon, Kim, Park & Choi (2021), "ASAM: Adaptive Sharpness-Aware Minimization for
    Scale-Invariant Learning of Deep Neural Networks", arXiv:2102.11600.
    This follows the widely used PyTorch implementation (github.com/davda54/sam):
    T = ``|w|`` on every parameter and eps = 1e-12 added to the norm. The ASAM authors'
    code (github.com/SamsungLabs/ASAM) uses T = ``|w| + η`` (η = 0.01) on weight matrices
    only, leaving biases unscaled.

    Examples
    --------
    >>> import numpy as np
    >>> e = sam_perturbation([np.array([1.0, 2.0])], [np.array([3.0, 4.0])], rho=0.5)
    >>> [round(v, 6) for v in e[0].tolist()]                 # 0.5 · g / ‖g‖, ‖g‖ = 5
    [0.3, 0.4]
    """
    count = len(params)
    rhos = list(rho) if isinstance(rho, (list, tuple)) else [rho] * count
    flags = list(adaptive) if isinstance(adaptive, (list, tuple)) else [adaptive] * count
    scaled = []  # T·g for every parameter
    for w, g, flag in zip(params, grads, flags):
        xp = get_array_module(w)
        scaled.append(xp.abs(w) * g if flag else g)
    squares = 0.0
    for tg in scaled:  # ‖T·g‖ over all parameters, summed in float64
        xp = get_array_module(tg)
        squares += float(xp.sum(xp.square(tg, dtype=xp.float64)))
    norm = math.sqrt(squares)
    perturbations = []
    for w, tg, r, flag in zip(params, scaled, rhos, flags):
        scale = r / (norm + eps)
        xp = get_array_module(w)
        perturbations.append(scale * (xp.abs(w) * tg if flag else tg))  # ρ·T²g/‖Tg‖
    return perturbations


class SAM(Optimizer):
    """Sharpness-aware minimization around a base optimizer (ASAM with ``adaptive=True``).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (a group may set its own ``rho`` and ``adaptive``
        as well as the base optimizer's options).
    base_optimizer : type
        The optimizer *class* that makes the actual update, e.g. ``optim.SGD``; SAM
        builds it on its own parameter groups with ``base_kwargs``.
    rho : float, default 0.05
        Radius ρ ≥ 0 of the neighbourhood (ρ = 0: the base optimizer alone). ASAM
        measures it relative to ``|w|`` and needs a larger one (its authors' default is 0.5).
    adaptive : bool, default False
        ASAM: scale the neighbourhood by ``|w|``, which makes the sharpness it measures
        invariant to rescaling the weights.
    **base_kwargs
        Options of the base optimizer (``lr``, ``momentum``, ``betas``, ...).

    Attributes
    ----------
    base_optimizer : Optimizer
        The inner optimizer. ``sam.param_groups`` *is* ``base_optimizer.param_groups``
        (the same list) and ``sam.state`` is its state, so a scheduler built on the SAM
        optimizer drives the base optimizer, and ``state_dict`` holds both.

    Notes
    -----
    State per parameter: the base optimizer's state, plus ``old_p`` (a copy of w)
    between :meth:`first_step` and :meth:`second_step` only.

    Notes
    -----
    Two ways to step; both take two forward-backward passes per update:

    * ``step(closure)``: the closure zeroes the gradients, computes the loss, calls
      ``backward`` and returns the loss. ``step`` calls it at w (that loss is returned),
      moves to w + ε, calls it again there, moves back and lets the base optimizer
      update. Clip gradients inside the closure.
    * by hand: ``loss.backward()`` at w, ``first_step(zero_grad=True)``, a second
      forward-backward at w + ε, then ``second_step(zero_grad=True)``. Gradient clipping
      (``nn.utils.clip_grad_norm_``) belongs before ``second_step``: the gradient taken
      at w + ε is the one the base optimizer applies. (Clipping the first gradient
      changes nothing but its length, and ε only uses its direction.)

    Differences from the reference implementation (davda54/sam): there ``step`` expects
    the gradient at w to have been computed before the call; here ``step(closure)``
    computes it itself, like every closure-driven optimizer in this package (a first
    ``backward`` made before ``step`` is recomputed, which gives the same update). The
    point w is saved as a copy and put back exactly (no w + ε − ε rounding). A base
    optimizer that needs a closure itself (LBFGS) is refused, and the base optimizer's
    ``eps`` cannot be confused with SAM's: SAM's norm offset is fixed at 1e-12.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([3.0, 4.0], requires_grad=True)
    >>> opt = SAM([w], optim.SGD, rho=0.5, lr=0.1)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = 0.5 * (w ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> float(opt.step(closure))          # the loss at w, before the update
    12.5
    >>> [round(v, 5) for v in w.data.tolist()]   # w − 0.1·∇L(w + 0.5·w/‖w‖)
    [2.67, 3.56]
    """

    ranges = {"rho": Range("rho"),
              "adaptive": OneOf("adaptive", (False, True))}
    needs_closure = True  # two gradients per step: at w and at w + ε

    def __init__(self, params, base_optimizer: type, rho: float = 0.05,
                 adaptive: bool = False, **base_kwargs):
        if not isinstance(base_optimizer, type):
            raise TypeError(
                "base_optimizer must be an optimizer class such as optim.SGD (SAM builds it "
                f"on its own parameter groups), not a {type(base_optimizer).__name__} instance")
        if getattr(base_optimizer, "needs_closure", False):
            raise ValueError(
                f"base_optimizer {base_optimizer.__name__} needs a closure of its own; SAM's "
                "second step calls base_optimizer.step() without one")
        switches = {key: base_kwargs.pop(key) for key in PYTORCH_ONLY_SWITCHES + ("backend",)
                    if key in base_kwargs}  # the base optimizer's, not hyper-parameters
        super().__init__(params, dict(rho=rho, adaptive=adaptive, **base_kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **base_kwargs, **switches)
        self.param_groups = self.base_optimizer.param_groups  # one list, shared
        self.state = self.base_optimizer.state                # one state, shared
        self.defaults.update(self.base_optimizer.defaults)
        self.state_names = ("old_p",) + tuple(getattr(self.base_optimizer, "state_names", ()))

    # ----------------------------------------------------------------- the two halves
    def first_step(self, zero_grad: bool = False) -> None:
        """Climb to w + ε (:func:`sam_perturbation`), remembering w in ``state["old_p"]``.

        Uses the gradients now in ``p.grad`` (those at w). Parameters without a
        gradient stay where they are.
        """
        entries = [(p, group) for group in self.param_groups for p in group["params"]
                   if p.grad is not None]
        if any("old_p" in self.state.get(p, {}) for p, _ in entries):
            raise RuntimeError("first_step was called twice without second_step in between")
        grads = [read_only(-p.grad if group.get("maximize", False) else p.grad)
                 for p, group in entries]
        perturbations = sam_perturbation(
            [p.data for p, _ in entries], grads,
            rho=[group["rho"] for _, group in entries],
            adaptive=[group["adaptive"] for _, group in entries])
        for (p, _), e in zip(entries, perturbations):
            self.state[p]["old_p"] = p.data.copy()
            p.data += e
            p._version += 1  # the values changed in place: graphs that saved p are stale
        if zero_grad:
            self.zero_grad()

    def second_step(self, zero_grad: bool = False) -> None:
        """Return to w exactly, then let the base optimizer apply the gradient of w + ε."""
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and "old_p" in self.state[p]:
                    get_array_module(p.data).copyto(p.data, self.state[p].pop("old_p"))
                    p._version += 1
        self.base_optimizer.step()
        # This is SAM's update: a scheduler that watches step() (to warn when it is
        # stepped first) must count it too when the two halves are called by hand.
        self._opt_called = True
        if zero_grad:
            self.zero_grad()

    def _step(self, closure: Callable):
        loss = _evaluate(closure)        # gradient at w
        self.first_step(zero_grad=True)
        _evaluate(closure)               # gradient at w + ε
        self.second_step()
        return loss

    # ----------------------------------------------------------------- groups and checkpoints
    def add_param_group(self, param_group: dict) -> None:
        """Add a group to SAM and its base optimizer (validated by both before any change)."""
        checked = self._checked_group(param_group, existing=self.param_groups)
        self.base_optimizer.add_param_group(checked)  # appends to the shared list

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a checkpoint; the groups and state stay shared with the base optimizer."""
        groups, state = self.param_groups, self.state
        super().load_state_dict(state_dict)
        groups[:] = self.param_groups  # keep the list and dict objects others hold
        state.clear()
        state.update(self.state)
        self.param_groups = self.base_optimizer.param_groups = groups
        self.state = self.base_optimizer.state = state

    def __repr__(self) -> str:
        lines = super().__repr__().splitlines()
        lines.insert(1, f"Base optimizer: {type(self.base_optimizer).__name__}")
        return "\n".join(lines)

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "base_optimizer": self.base_optimizer,
                "state_names": self.state_names}

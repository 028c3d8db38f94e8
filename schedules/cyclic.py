"""Cyclical learning rates: Smith (2017), "Cyclical Learning Rates for Training Neural
Networks", WACV (arXiv:1506.01186). PyTorch's ``CyclicLR``.

The rate goes up linearly from ``base_lr`` to ``max_lr`` in ``step_size_up`` steps, down
again in ``step_size_down`` steps, and repeats. With ``L = step_size_up + step_size_down``
and ``r = step_size_up / L`` (the rising fraction of a cycle)::

    cycle = floor(1 + t / L)                    (1, 2, 3, …)
    x     = 1 + t / L − cycle                   (position in the cycle, 0 ≤ x < 1)
    h     = x / r              if x ≤ r         (rising:  0 → 1)
          = (x − 1) / (r − 1)  otherwise        (falling: 1 → 0)
    lr    = base_lr + (max_lr − base_lr) · h · scale

``scale`` shrinks the amplitude: 1 ("triangular"), 1 / 2^(cycle−1) ("triangular2", halved
every cycle), gamma^t ("exp_range"), or your ``scale_fn`` of the cycle number or of ``t``.
Momentum, if cycled, moves the opposite way: ``max_momentum − (max_momentum −
base_momentum) · h · scale`` (high momentum while the rate is low).
"""
from __future__ import annotations

import copy
import math
import types
from typing import Callable, Optional, Sequence, Union

from .scheduler import (LRScheduler, check_can_start, expect_number, per_group, set_momentum,
                        uses_beta1)

Floats = Union[float, Sequence[float]]


class CyclicLR(LRScheduler):
    """Cycle the rate between ``base_lr`` and ``max_lr`` (and the momentum the other way).

    Parameters
    ----------
    base_lr, max_lr : float or list of float
        Lower and upper rates (one per group if a list). ``base_lr`` replaces the
        optimizer's rate.
    step_size_up : int, default 2000
        Steps in the rising half of a cycle.
    step_size_down : int, optional
        Steps in the falling half (default: ``step_size_up``).
    mode : {"triangular", "triangular2", "exp_range"}, default "triangular"
        Amplitude policy; ignored when ``scale_fn`` is given.
    gamma : float, default 1.0
        Decay per step of "exp_range": ``scale = gamma ** t``.
    scale_fn : callable, optional
        Your amplitude policy, with values in [0, 1].
    scale_mode : {"cycle", "iterations"}, default "cycle"
        Whether ``scale_fn`` receives the cycle number or the step count.
    cycle_momentum : bool, default True
        Cycle SGD's ``momentum`` (or Adam's beta1) between ``max_momentum`` and
        ``base_momentum``.
    base_momentum, max_momentum : float or list of float, default 0.8 and 0.9
        Momentum at the top and at the bottom of the rate.
    last_epoch : int, default -1
        Step to resume from (see :class:`LRScheduler`).

    Examples
    --------
    >>> from schedules import CyclicLR, lr_sequence
    >>> lr_sequence(CyclicLR, 6, base_lr=0.1, max_lr=0.5, step_size_up=2).round(4).tolist()
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.3]
    """

    def __init__(self, optimizer, base_lr: Floats, max_lr: Floats, step_size_up: int = 2000,
                 step_size_down: Optional[int] = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Optional[Callable[[float], float]] = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: Floats = 0.8, max_momentum: Floats = 0.9,
                 last_epoch: int = -1) -> None:
        # every check first: a rejected call leaves the optimizer untouched
        check_can_start(optimizer, last_epoch)
        base_lrs = per_group("base_lr", optimizer, base_lr)
        self.max_lrs = per_group("max_lr", optimizer, max_lr)
        expect_number("step_size_up", step_size_up, 0.0, low_open=True)
        if step_size_down is not None:
            expect_number("step_size_down", step_size_down, 0.0, low_open=True)
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"scale_mode must be 'cycle' or 'iterations', but got {scale_mode!r}")
        expect_number("gamma", gamma, 0.0, low_open=True)
        if cycle_momentum:
            self.use_beta1 = uses_beta1(optimizer)
            self.base_momentums = per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = per_group("max_momentum", optimizer, max_momentum)

        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        if scale_fn is None:  # the built-in policies fix what they are a function of
            scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.scale_mode = scale_mode
        self.cycle_momentum = cycle_momentum
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
            if cycle_momentum:
                for top, bottom, group in zip(self.max_momentums, self.base_momentums,
                                              optimizer.param_groups, strict=True):
                    set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude factor of the policy at ``x`` (cycle number or step count)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x  # exp_range

    def _height_and_scale(self) -> tuple:
        """Where step ``last_epoch`` is in its cycle: ``h`` in [0, 1], and the amplitude scale."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        return height, scale

    def get_lr(self) -> list:
        height, scale = self._height_and_scale()
        return [base_lr + (max_lr - base_lr) * height * scale
                for base_lr, max_lr in zip(self.base_lrs, self.max_lrs, strict=True)]

    def get_momentum(self) -> Optional[list]:
        if not self.cycle_momentum:
            return None
        height, scale = self._height_and_scale()
        return [top - (top - bottom) * height * scale
                for bottom, top in zip(self.base_momentums, self.max_momentums, strict=True)]

    def state_dict(self) -> dict:
        """As the base class, but a ``scale_fn`` function is not saved (a callable object's
        ``__dict__`` is)."""
        fn = self._scale_fn_custom
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_scale_fn_custom")}
        keep = fn is not None and not isinstance(fn, types.FunctionType)
        state["_scale_fn_custom"] = copy.deepcopy(fn.__dict__) if keep else None
        return state

    _per_group_lists = ("base_lrs", "_last_lr", "max_lrs", "base_momentums", "max_momentums")

    def _check_state_dict(self, state_dict: dict) -> None:
        super()._check_state_dict(state_dict)
        fn_state = state_dict["_scale_fn_custom"]
        if fn_state is not None and not isinstance(fn_state, dict):
            raise ValueError("CyclicLR.load_state_dict: '_scale_fn_custom' must be None or the "
                             f"__dict__ of a scale_fn object, got {type(fn_state).__name__}")
        if fn_state is not None and self._scale_fn_custom is None:
            raise ValueError(
                "CyclicLR.load_state_dict: the state dict holds the attributes of a scale_fn "
                "object, but this scheduler has no scale_fn to give them to")

    def load_state_dict(self, state_dict: dict) -> None:
        self._check_state_dict(state_dict)
        saved = {key: value for key, value in state_dict.items() if key != "_scale_fn_custom"}
        self.__dict__.update(copy.deepcopy(saved))
        fn_state = state_dict.get("_scale_fn_custom")
        if fn_state is not None:
            self._scale_fn_custom.__dict__.update(copy.deepcopy(fn_state))

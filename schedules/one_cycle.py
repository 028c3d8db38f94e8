"""The 1cycle policy: Smith & Topin (2018), "Super-Convergence: Very Fast Training of Neural
Networks Using Large Learning Rates" (arXiv:1708.07120). PyTorch's ``OneCycleLR``.

One cycle over the whole run, in phases that each anneal from one value to another::

    initial_lr = max_lr / div_factor          min_lr = initial_lr / final_div_factor

    two phases (default, as fastai):          three phases (three_phase=True, as the paper):
      1. initial_lr → max_lr  (pct_start)       1. initial_lr → max_lr   (pct_start)
      2. max_lr → min_lr      (the rest)        2. max_lr → initial_lr   (pct_start again)
                                                3. initial_lr → min_lr   (the rest)

Within a phase from step a to step b the value moves from ``start`` to ``end`` with
``p = (t − a) / (b − a)``, along half a cosine (``anneal_strategy="cos"``)::

    end + (start − end) · ½ (1 + cos(π p))

or a straight line (``"linear"``): ``start + (end − start) · p``. Momentum (SGD's
``momentum`` or Adam's beta1) runs the other way, between ``max_momentum`` and
``base_momentum``.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

from .scheduler import (LRScheduler, check_can_start, expect_number, is_int, is_number,
                        per_group, set_momentum, uses_beta1)

Floats = Union[float, Sequence[float]]


def annealing_cos(start: float, end: float, pct: float) -> float:
    """Half a cosine from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def annealing_linear(start: float, end: float, pct: float) -> float:
    """A straight line from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return (end - start) * pct + start


def _phase(end_step: float, lr: tuple, momentum: tuple) -> dict:
    """A phase ends at ``end_step``; values are read from the group keys it names."""
    return {"end_step": end_step, "start_lr": lr[0], "end_lr": lr[1],
            "start_momentum": momentum[0], "end_momentum": momentum[1]}


class OneCycleLR(LRScheduler):
    """Warm up to ``max_lr``, then anneal far below the start, once (call ``step()`` per batch).

    Parameters
    ----------
    max_lr : float or list of float
        Peak rate (one per group if a list).
    total_steps : int, optional
        Length of the cycle; or give ``epochs`` and ``steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
        ``total_steps = epochs · steps_per_epoch`` when ``total_steps`` is not given.
    pct_start : float, default 0.3
        Fraction of the cycle spent warming up, in (0, 1) (at most 0.5 with three phases).
    anneal_strategy : {"cos", "linear"}, default "cos"
    cycle_momentum : bool, default True
        Move the momentum (SGD) or beta1 (Adam) inversely to the rate.
    base_momentum, max_momentum : float or list of float, default 0.85 and 0.95
    div_factor : float, default 25
        ``initial_lr = max_lr / div_factor``.
    final_div_factor : float, default 1e4
        ``min_lr = initial_lr / final_div_factor``.
    three_phase : bool, default False
        The paper's symmetric cycle plus a final annihilation phase.
    last_epoch : int, default -1
        Step to resume from (see :class:`LRScheduler`).

    Notes
    -----
    Stepping past ``total_steps`` raises ``ValueError`` and changes nothing.

    Examples
    --------
    >>> from schedules import OneCycleLR, lr_sequence
    >>> lrs = lr_sequence(OneCycleLR, 5, max_lr=1.0, total_steps=5, pct_start=0.4,
    ...                   anneal_strategy="linear", div_factor=4.0, final_div_factor=2.5)
    >>> lrs.round(4).tolist()
    [0.25, 1.0, 0.7, 0.4, 0.1]
    """

    def __init__(self, optimizer, max_lr: Floats, total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: Floats = 0.85,
                 max_momentum: Floats = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        # every check first: a rejected call leaves the optimizer untouched
        check_can_start(optimizer, last_epoch)
        total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        if not (is_number(pct_start) and 0 < pct_start < 1):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if three_phase and pct_start > 0.5:
            raise ValueError("three_phase=True needs pct_start <= 0.5 (the second phase mirrors "
                             f"the first), but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        expect_number("div_factor", div_factor, 0.0, low_open=True)
        expect_number("final_div_factor", final_div_factor, 0.0, low_open=True)
        if last_epoch + 1 > total_steps:
            raise ValueError(f"Tried to step {last_epoch + 1} times. The specified number of "
                             f"total steps is {total_steps}")
        max_lrs = per_group("max_lr", optimizer, max_lr)
        if cycle_momentum:
            self.use_beta1 = uses_beta1(optimizer)
            max_momentums = per_group("max_momentum", optimizer, max_momentum)
            base_momentums = per_group("base_momentum", optimizer, base_momentum)

        self.total_steps = total_steps
        warmup_end = float(pct_start * total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                _phase(warmup_end, ("initial_lr", "max_lr"), ("max_momentum", "base_momentum")),
                _phase(float(2 * pct_start * total_steps) - 2, ("max_lr", "initial_lr"),
                       ("base_momentum", "max_momentum")),
                _phase(total_steps - 1, ("initial_lr", "min_lr"), ("max_momentum", "max_momentum")),
            ]
        else:
            self._schedule_phases = [
                _phase(warmup_end, ("initial_lr", "max_lr"), ("max_momentum", "base_momentum")),
                _phase(total_steps - 1, ("max_lr", "min_lr"), ("base_momentum", "max_momentum")),
            ]
        self._anneal_func_type = anneal_strategy
        self.cycle_momentum = cycle_momentum
        if last_epoch == -1:
            for peak, group in zip(max_lrs, optimizer.param_groups, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                for top, bottom, group in zip(max_momentums, base_momentums,
                                              optimizer.param_groups, strict=True):
                    set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return annealing_cos(start, end, pct)
        return annealing_linear(start, end, pct)

    def _phase_and_pct(self) -> tuple:
        """The phase that step ``last_epoch`` falls in, and how far into it (0 to 1)."""
        step = self.last_epoch
        start = 0.0
        for number, phase in enumerate(self._schedule_phases):
            end = phase["end_step"]
            if step <= end or number == len(self._schedule_phases) - 1:
                # a phase of length 0 (pct_start · total_steps = 1) is already at its end
                pct = (step - start) / (end - start) if end != start else 1.0
                return phase, pct
            start = end

    def get_lr(self) -> list:
        phase, pct = self._phase_and_pct()
        return [self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                for group in self.optimizer.param_groups]

    def get_momentum(self) -> Optional[list]:
        if not self.cycle_momentum:
            return None
        phase, pct = self._phase_and_pct()
        return [self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                for group in self.optimizer.param_groups]

    def step(self, epoch: Optional[int] = None) -> None:
        """The next step of the cycle; past ``total_steps`` raise and change nothing."""
        next_step = self.last_epoch + 1 if epoch is None else epoch
        if next_step > self.total_steps:
            raise ValueError(f"Tried to step {next_step} times. The specified number of total "
                             f"steps is {self.total_steps}")
        super().step(epoch)


def _total_steps(total_steps, epochs, steps_per_epoch) -> int:
    """``total_steps``, or ``epochs · steps_per_epoch``; PyTorch's messages otherwise."""
    if total_steps is not None:
        if not is_int(total_steps) or total_steps <= 0:
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
    if not is_int(epochs) or epochs <= 0:
        raise ValueError(f"Expected positive integer epochs, but got {epochs}")
    if not is_int(steps_per_epoch) or steps_per_epoch <= 0:
        raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
    return epochs * steps_per_epoch

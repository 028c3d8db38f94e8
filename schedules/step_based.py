"""Schedules that follow a simple rule of the step count (PyTorch's names and semantics).

StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR and PolynomialLR. Each writes
its rule twice: ``get_lr()`` multiplies the current rate by the ratio of two consecutive
values (the chainable form, so it composes with other schedulers), and
``_get_closed_form_lr()`` evaluates the formula at ``last_epoch``.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Iterable

from .scheduler import LRScheduler, expect_increasing, expect_int, expect_number, is_number


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps::

        lr_t = base_lr · gamma ^ floor(t / step_size)

    Parameters
    ----------
    step_size : int
        Period of the decay (positive).
    gamma : float, default 0.1
        Factor applied at each period.

    Examples
    --------
    >>> from schedules import StepLR, lr_sequence
    >>> lr_sequence(StepLR, 6, base_lr=1.0, step_size=2, gamma=0.5).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        expect_int("step_size", step_size)
        expect_number("gamma", gamma, 0.0, low_open=True)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone::

        lr_t = base_lr · gamma ^ (number of milestones ≤ t)

    A milestone listed twice counts twice (as in PyTorch).

    Parameters
    ----------
    milestones : list of int
        Steps at which to decay, in increasing order.
    gamma : float, default 0.1
        Factor applied at each milestone.

    Examples
    --------
    >>> from schedules import MultiStepLR, lr_sequence
    >>> lr_sequence(MultiStepLR, 5, base_lr=1.0, milestones=[1, 3], gamma=0.5).tolist()
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        expect_increasing("milestones", milestones)
        expect_number("gamma", gamma, 0.0, low_open=True)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        decay = self.gamma ** self.milestones[self.last_epoch]
        return [lr * decay for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """A lower constant rate for the first ``total_iters`` steps, then the base rate::

        lr_t = base_lr · factor   for t < total_iters
        lr_t = base_lr            for t ≥ total_iters

    Parameters
    ----------
    factor : float, default 1/3
        Multiplier during the first steps, in (0, 1].
    total_iters : int, default 5
        Number of steps at the lower rate.

    Examples
    --------
    >>> from schedules import ConstantLR, lr_sequence
    >>> lr_sequence(ConstantLR, 4, base_lr=1.0, factor=0.5, total_iters=2).tolist()
    [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if not (is_number(factor) and 0 < factor <= 1):
            raise ValueError(
                f"Constant multiplicative factor expected to be in (0, 1], but got {factor}")
        expect_int("total_iters", total_iters)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        after = self.last_epoch >= self.total_iters
        return [base_lr * (self.factor + after * (1 - self.factor)) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Move the multiplier linearly from ``start_factor`` s to ``end_factor`` e in
    ``total_iters`` T steps (a linear warmup when s < e)::

        lr_t = base_lr · (s + (e − s) · min(t, T) / T)

    Parameters
    ----------
    start_factor : float, default 1/3
        Multiplier at step 0, in (0, 1].
    end_factor : float, default 1.0
        Multiplier from step ``total_iters`` on, in [0, 1].
    total_iters : int, default 5
        Length of the ramp.

    Examples
    --------
    >>> from schedules import LinearLR, lr_sequence
    >>> lr_sequence(LinearLR, 5, base_lr=1.0, start_factor=0.25, total_iters=3).round(4).tolist()
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not (is_number(start_factor) and 0 < start_factor <= 1):
            raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                             f"and less or equal to 1, but got {start_factor}")
        if not (is_number(end_factor) and 0 <= end_factor <= 1):
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1, "
                             f"but got {end_factor}")
        expect_int("total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # factor(t) / factor(t-1), with factor(t) = s + (e - s) t / T, multiplied through by T
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        factor = s + (e - s) * min(T, self.last_epoch) / T
        return [base_lr * factor for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` at every step::

        lr_t = base_lr · gamma ^ t

    Parameters
    ----------
    gamma : float
        Factor per step (positive; above 1 the rate grows, as in an LR range test).

    Examples
    --------
    >>> from schedules import ExponentialLR, lr_sequence
    >>> lr_sequence(ExponentialLR, 3, base_lr=1.0, gamma=0.5).tolist()
    [1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1) -> None:
        expect_number("gamma", gamma, 0.0, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:  # resuming: the loaded rate is already the right one
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the rate to 0 along a polynomial over ``total_iters`` steps::

        lr_t = base_lr · (1 − min(t, T) / T) ^ power

    Parameters
    ----------
    total_iters : int, default 5
        Steps until the rate reaches 0 (it stays there).
    power : float, default 1.0
        Degree of the polynomial (1: linear decay).

    Examples
    --------
    >>> from schedules import PolynomialLR, lr_sequence
    >>> lr_sequence(PolynomialLR, 5, base_lr=1.0, total_iters=4, power=2.0).tolist()
    [1.0, 0.5625, 0.25, 0.0625, 0.0]
    """

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        expect_int("total_iters", total_iters)
        expect_number("power", power, 0.0)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        t, T = self.last_epoch, self.total_iters
        decay = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [lr * decay for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        remaining = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * remaining ** self.power for base_lr in self.base_lrs]

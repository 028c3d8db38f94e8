"""Cosine annealing, with and without warm restarts.

Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR.
Within a run of T steps the rate follows half a cosine from the base rate down to η_min::

    η_t = η_min + ½ (η_max − η_min) (1 + cos(π · T_cur / T))

``CosineAnnealingLR`` is one such run; ``CosineAnnealingWarmRestarts`` starts a new run
(a "warm restart") after T_0, T_0·T_mult, T_0·T_mult², … steps.
"""
from __future__ import annotations

import math
from typing import Optional

from .scheduler import LRScheduler, expect_number, is_int, warn_if_optimizer_not_stepped


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` steps (PyTorch's form).

    Closed form (used by ``step(epoch)``)::

        η_t = η_min + ½ (base_lr − η_min) (1 + cos(π t / T_max))

    Every other step is *recursive*, as in PyTorch, so that it agrees with PyTorch step by
    step and composes with other schedulers: the distance to η_min is multiplied by the
    ratio of two consecutive cosine terms (T = T_max)::

        η_t = η_min + (η_{t-1} − η_min) · (1 + cos(π t / T)) / (1 + cos(π (t−1) / T))

    At the bottom (t − 1 = T_max, 3·T_max, …) the ratio is 0/0, so the step adds the first
    increment of the next half-wave instead: past ``T_max`` the rate climbs back up along the
    cosine, reaching the base rate at ``2·T_max`` (no restart, no clamping).

    Parameters
    ----------
    T_max : int
        Length of the half cosine in steps (positive).
    eta_min : float, default 0
        The lowest rate.

    Examples
    --------
    >>> from schedules import CosineAnnealingLR, lr_sequence
    >>> lr_sequence(CosineAnnealingLR, 5, base_lr=1.0, T_max=4).round(4).tolist()
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        expect_number("T_max", T_max, 0.0, low_open=True)
        expect_number("eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:  # the constructor's step keeps the start (or loaded) rate
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:  # leaving the bottom: 1 + cos(π (t−1)/T) = 0
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs(), strict=True)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine annealing that restarts, each run ``T_mult`` times longer than the last::

        η = η_min + ½ (base_lr − η_min) (1 + cos(π · T_cur / T_i))

    ``T_cur`` counts the steps since the last restart and ``T_i`` is the length of the
    current run (``T_0``, then ``T_0·T_mult``, …). ``step(epoch)`` accepts fractional
    epochs, ``scheduler.step(epoch + i / iters_per_epoch)``, to anneal within an epoch: the
    run containing ``epoch`` is found from the restart times
    ``T_0 (T_mult^n − 1) / (T_mult − 1)``.

    Parameters
    ----------
    T_0 : int
        Length of the first run (positive).
    T_mult : int, default 1
        Growth factor of the run length (an integer ≥ 1).
    eta_min : float, default 0
        The lowest rate.

    Examples
    --------
    >>> from schedules import CosineAnnealingWarmRestarts, lr_sequence
    >>> lr_sequence(CosineAnnealingWarmRestarts, 7, base_lr=1.0, T_0=2, T_mult=2).round(4).tolist()
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not is_int(T_0) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if not is_int(T_mult) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        cosine = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]

    def step(self, epoch: Optional[float] = None) -> None:
        """Advance one step, or jump to ``epoch`` (which may be fractional)."""
        if epoch is not None and epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        if self._step_count == 1:
            warn_if_optimizer_not_stepped(self.optimizer)
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            # run n starts at T_0 (T_mult^n − 1) / (T_mult − 1): solve for n
            n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        self._write(self.get_lr())

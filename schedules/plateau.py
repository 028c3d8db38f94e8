"""Reduce the rate when a watched metric stops improving (PyTorch's ``ReduceLROnPlateau``).

Unlike the other schedulers it is driven by data: ``scheduler.step(val_loss)`` once per
epoch. The rule, with ``best`` the best metric so far::

    improved   = metric < best · (1 − threshold)     mode="min", threshold_mode="rel"
               = metric < best − threshold           mode="min", threshold_mode="abs"
               (and the mirror images for mode="max")
    bad epochs = epochs since the last improvement (reset to 0 during a cooldown)
    if bad epochs > patience:
        lr ← max(lr · factor, min_lr)   for every group (skipped if it would change by ≤ eps)
        start a cooldown of ``cooldown`` epochs, bad epochs ← 0
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import Optional, Sequence, Union

from .scheduler import (EPOCH_DEPRECATION_WARNING, LRScheduler, check_can_start, expect_int,
                        expect_number)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` after ``patience`` epochs without improvement.

    Parameters
    ----------
    optimizer
        The optimizer whose rates are reduced.
    mode : {"min", "max"}, default "min"
        Whether the metric should go down (a loss) or up (an accuracy).
    factor : float, default 0.1
        ``new_lr = lr · factor``, in [0, 1).
    patience : int, default 10
        Epochs without improvement tolerated before reducing.
    threshold : float, default 1e-4
        How much better counts as an improvement.
    threshold_mode : {"rel", "abs"}, default "rel"
        Relative (``best · (1 ∓ threshold)``) or absolute (``best ∓ threshold``).
    cooldown : int, default 0
        Epochs to wait after a reduction before counting bad epochs again.
    min_lr : float or list of float, default 0
        Lower bound on the rate, for all groups or one per group.
    eps : float, default 1e-8
        Reductions smaller than this are skipped.
    verbose
        Removed, as in PyTorch 2.x: passing it raises a ``TypeError`` that says how to
        see the rate instead (``scheduler.get_last_lr()`` after ``scheduler.step``).

    Examples
    --------
    >>> import minigrad, optim
    >>> from schedules import ReduceLROnPlateau
    >>> opt = optim.SGD([minigrad.Parameter([0.0])], lr=1.0)
    >>> scheduler = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
    ...     scheduler.step(loss)
    >>> scheduler.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: Union[float, Sequence[float]] = 0, eps: float = 1e-8,
                 *, verbose=None) -> None:
        if verbose is not None:
            raise TypeError(
                f"ReduceLROnPlateau got verbose={verbose!r}, an argument PyTorch 2.x removed "
                "(it raises TypeError too). To see the learning rate, print "
                "scheduler.get_last_lr() after scheduler.step(metric), e.g. "
                "`print(f'epoch {epoch}: lr {scheduler.get_last_lr()}')`.")
        if isinstance(factor, (int, float)) and factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        expect_number("factor", factor, 0.0, 1.0, high_open=True)
        check_can_start(optimizer, -1)
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"expected {groups} min_lrs, got {len(min_lr)}")
            for value in min_lr:
                expect_number("min_lr", value, 0.0)
        else:
            expect_number("min_lr", min_lr, 0.0)
        _check_modes(mode, threshold_mode)
        expect_int("patience", patience, minimum=0)
        expect_int("cooldown", cooldown, minimum=0)
        expect_number("threshold", threshold, 0.0)
        expect_number("eps", eps, 0.0)

        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * groups
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._reset()

    def _reset(self) -> None:
        """Forget the best value, the bad epochs and the cooldown."""
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: float, epoch: Optional[int] = None) -> None:  # type: ignore[override]
        """Record one epoch's metric; reduce the rates if it has stalled too long."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch

        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during a cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):  # a group was added since the constructor
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs from "
                    f"when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), usually due "
                    "to a new param group being added to the optimizer. Please modify the "
                    "`min_lrs` field to match the length of the `optimizer` param groups.")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the attributes saved by :meth:`state_dict` (checked before any change)."""
        self._check_state_dict(state_dict)
        _check_modes(state_dict["mode"], state_dict["threshold_mode"])
        self.__dict__.update(copy.deepcopy(state_dict))


def _check_modes(mode: str, threshold_mode: str) -> None:
    if mode not in ("min", "max"):
        raise ValueError(f"mode {mode} is unknown!")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold mode {threshold_mode} is unknown!")

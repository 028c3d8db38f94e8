"""SWALR: anneal the learning rate to the constant rate used while weights are averaged.

Stochastic Weight Averaging (Izmailov et al., 2018, arXiv:1803.05407) trains the last
part of a run at a constant (or cyclical) rate and averages the weights it visits (see
:class:`optim.swa_utils.AveragedModel`). ``SWALR`` moves each group's rate from where it
is to ``swa_lr`` over ``anneal_epochs`` steps, then holds it there. PyTorch's
``torch.optim.swa_utils.SWALR``, with the same arguments and the same sequence.
"""
from __future__ import annotations

import math

from .scheduler import LRScheduler, check_can_start, expect_number, per_group


def _cosine_anneal(t: float) -> float:
    return (1 - math.cos(math.pi * t)) / 2


def _linear_anneal(t: float) -> float:
    return t


_ANNEAL_FUNCS = {"cos": _cosine_anneal, "linear": _linear_anneal}


class SWALR(LRScheduler):
    """Anneal every group's rate to ``swa_lr`` in ``anneal_epochs`` steps, then keep it.

    With E = ``anneal_epochs``, s the number of ``step()`` calls so far, t = min(1, s/E)
    and α(t) = (1 − cos πt)/2 (``"cos"``) or t (``"linear"``), the rate at step s is::

        η_s = α(t)·swa_lr + (1 − α(t))·η_start

    where η_start is the group's rate when the scheduler was built. As in PyTorch the
    step is chainable: η_start is recovered from the current rate and the previous α,
    η_start = (η_{s−1} − α_prev·swa_lr) / (1 − α_prev), so another scheduler acting on
    the same groups shifts the curve. With E = 0 the rate is ``swa_lr`` from the start.

    Parameters
    ----------
    optimizer
        Anything with ``param_groups``.
    swa_lr : float or list of float
        The rate to anneal to, for all groups or one per group (stored in each group as
        ``group["swa_lr"]``); non-negative.
    anneal_epochs : int, default 10
        Number of steps of the annealing phase (≥ 0).
    anneal_strategy : {"cos", "linear"}, default "cos"
        The shape of the annealing.
    last_epoch : int, default -1
        As for every scheduler.

    Examples
    --------
    >>> from schedules import lr_sequence
    >>> from schedules.swa import SWALR
    >>> lr_sequence(SWALR, 6, base_lr=1.0, swa_lr=0.2, anneal_epochs=4,
    ...             anneal_strategy="linear").round(4).tolist()
    [1.0, 0.8, 0.6, 0.4, 0.2, 0.2]
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        check_can_start(optimizer, last_epoch)
        swa_lrs = per_group("swa_lr", optimizer, swa_lr)
        for value in swa_lrs:
            expect_number("swa_lr", value, 0.0)
        if anneal_strategy not in _ANNEAL_FUNCS:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) \
                or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        for value, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = value
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_func(self):
        """α(t), the fraction of the way from the start rate to ``swa_lr``."""
        return _ANNEAL_FUNCS[self._anneal_strategy]

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The start rate that gives ``lr`` after a fraction ``alpha`` of the annealing."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        # PyTorch counts scheduler steps here (not last_epoch): 0 in the constructor.
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        length = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / length)))
        alpha = self.anneal_func(max(0, min(1, step / length)))
        groups = self.optimizer.param_groups
        start_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, start_lrs)]

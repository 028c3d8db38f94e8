"""Schedules built from other schedules: one after another, or all at once.

* ``SequentialLR`` runs scheduler 0 until the first milestone, then scheduler 1 (which
  starts from its own beginning), … — e.g. a ``LinearLR`` warmup, then ``CosineAnnealingLR``.
* ``ChainedScheduler`` steps every scheduler at every step; their chainable forms multiply,
  e.g. a ``LinearLR`` warmup times an ``ExponentialLR`` decay.

Both follow PyTorch, including its state dicts (one entry per inner scheduler).
"""
from __future__ import annotations

import copy
from bisect import bisect_right
from typing import Optional, Sequence

from .plateau import ReduceLROnPlateau
from .scheduler import LRScheduler, expect_increasing, length_of


def _check_schedulers(kind: str, optimizer, schedulers: Sequence) -> None:
    for index, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{kind} at index {index} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{index} in the given schedulers sequence.")
        if scheduler.optimizer is not optimizer:
            raise ValueError(
                f"{kind} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(scheduler).__name__} at index {index} with a different one.")


class _CompositeStateMixin:
    """state_dict with one nested state dict per inner scheduler."""

    _schedulers: list

    def state_dict(self) -> dict:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def _check_state_dict(self, state_dict: dict) -> None:
        """The outer dict, then every inner scheduler's, all before any change."""
        super()._check_state_dict(state_dict)  # type: ignore[misc]
        saved = state_dict["_schedulers"]
        if length_of(saved) != len(self._schedulers):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state dict holds {length_of(saved)} "
                f"inner schedulers, this one has {len(self._schedulers)}")
        for scheduler, scheduler_state in zip(self._schedulers, saved):
            scheduler._check_state_dict(scheduler_state)

    def load_state_dict(self, state_dict: dict) -> None:
        self._check_state_dict(state_dict)
        saved = {key: value for key, value in state_dict.items() if key != "_schedulers"}
        self.__dict__.update(copy.deepcopy(saved))
        for scheduler, scheduler_state in zip(self._schedulers, state_dict["_schedulers"],
                                              strict=True):
            scheduler.load_state_dict(scheduler_state)


class SequentialLR(_CompositeStateMixin, LRScheduler):
    """Hand over from one scheduler to the next at each milestone.

    Step ``t`` is driven by scheduler ``i`` = number of milestones ≤ t. At a milestone the
    new scheduler restarts: its rate is its closed form at its own step 0.

    Parameters
    ----------
    optimizer
        The optimizer all the schedulers belong to.
    schedulers : list of schedulers
        Built on ``optimizer`` (their constructors' steps are undone here).
    milestones : list of int
        Strictly increasing steps; one fewer than the schedulers.
    last_epoch : int, default -1

    Examples
    --------
    >>> import minigrad, optim
    >>> from schedules import ExponentialLR, LinearLR, SequentialLR
    >>> opt = optim.SGD([minigrad.Parameter([0.0])], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> scheduler = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(opt.param_groups[0]["lr"]); opt.step(); scheduler.step()
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        kind = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{kind} expects at least one scheduler, but got no scheduler.")
        _check_schedulers(kind, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than "
                f"the number of milestone points, but got number of schedulers {len(schedulers)} "
                f"and the number of milestones to be equal to {len(milestones)}")
        expect_increasing("milestones", milestones, strict=True)
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # back to the start ...
            group["lr"] = group["initial_lr"]
        self.recursive_undo()  # ... as if no inner scheduler had taken its first step
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, scheduler: Optional[LRScheduler] = None) -> None:
        """Take back the constructor's step of every inner scheduler (nested ones too)."""
        scheduler = self if scheduler is None else scheduler
        if hasattr(scheduler, "_schedulers"):
            for inner in scheduler._schedulers:
                self.recursive_undo(inner)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Step the scheduler in charge (restarting it if a milestone is reached)."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_CompositeStateMixin, LRScheduler):
    """Step several chainable schedulers together; their factors multiply.

    Parameters
    ----------
    schedulers : list of schedulers
        Built on the same optimizer; stepped in order at each step.
    optimizer : optional
        Their optimizer (default: the first scheduler's).

    Examples
    --------
    >>> import minigrad, optim
    >>> from schedules import ChainedScheduler, ConstantLR, ExponentialLR
    >>> opt = optim.SGD([minigrad.Parameter([0.0])], lr=1.0)
    >>> scheduler = ChainedScheduler([ConstantLR(opt, factor=0.5, total_iters=2),
    ...                               ExponentialLR(opt, gamma=0.5)])
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(opt.param_groups[0]["lr"]); opt.step(); scheduler.step()
    >>> lrs
    [0.5, 0.25, 0.25, 0.125]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer=None) -> None:
        kind = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{kind} expects at least one scheduler to be chained, but got no "
                             "scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        _check_schedulers(kind, optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()

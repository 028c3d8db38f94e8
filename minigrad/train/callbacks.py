"""Callbacks of :func:`minigrad.train.fit`: the hook protocol, early stopping, the state.

A callback is an object with one or both of the methods ``on_step_end(state)`` (after
every optimizer step) and ``on_epoch_end(state)`` (after every epoch, validation
included), or a plain function, which is called at the end of every epoch. ``state`` is
a :class:`TrainState`: the model, the optimizer, the history so far, counters and
``state.logs``, the record just written (the step's or the epoch's numbers).

A hook ends training by raising :class:`StopTraining`, by returning it (the class or an
instance), or by setting ``state.stop = True``; ``fit`` then returns the history with
``history.stopped_early = True``. Stopping in ``on_step_end`` ends the run after that
step (the unfinished epoch is not recorded); in ``on_epoch_end``, after that epoch.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence


class StopTraining(Exception):
    """Raised (or returned) by a callback hook to end training; the message is kept in
    ``history.stop_reason``."""


@dataclass
class TrainState:
    """What a callback hook sees (and may change: ``stop``).

    Attributes
    ----------
    model, optimizer, scheduler, ema
        The objects given to ``fit``.
    history : History
        Everything recorded so far.
    epoch : int
        The current epoch, from 0.
    step : int
        Optimizer steps taken so far.
    batch : int
        Micro-batches seen in the current epoch.
    logs : dict
        The record just written: the step's (in ``on_step_end``) or the epoch's.
    stop : bool
        Set it to True to end training.
    """

    model: Any
    optimizer: Any
    history: Any
    scheduler: Any = None
    ema: Any = None
    epoch: int = 0
    step: int = 0
    batch: int = 0
    logs: dict = field(default_factory=dict)
    stop: bool = False


HOOKS = ("on_step_end", "on_epoch_end")


def collect_hooks(callbacks: Sequence, name: str) -> List[Callable]:
    """The bound ``name`` hooks of ``callbacks`` (plain functions count as epoch hooks)."""
    hooks = []
    for callback in callbacks:
        if any(hasattr(callback, hook) for hook in HOOKS):
            method = getattr(callback, name, None)
            if method is not None:
                hooks.append(method)
        elif callable(callback):
            if name == "on_epoch_end":
                hooks.append(callback)
        else:
            raise TypeError(f"a callback must define on_step_end and/or on_epoch_end, or be "
                            f"a function; got {type(callback).__name__}")
    return hooks


def run_hooks(hooks: Sequence[Callable], state: TrainState) -> None:
    """Call every hook; turn a returned StopTraining or ``state.stop`` into a raised one."""
    for hook in hooks:
        result = hook(state)
        if result is StopTraining:
            raise StopTraining()
        if isinstance(result, StopTraining):
            raise result
        if state.stop:
            raise StopTraining("state.stop was set")


class EarlyStopping:
    """Stop when a per-epoch value has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A name of ``history.epochs`` (``"train_loss"``, ``"val_accuracy"``, ...).
    patience : int, default 5
        Epochs without improvement tolerated.
    min_delta : float, default 0
        How much better counts as an improvement.
    mode : {"min", "max"}, default "min"
        Whether the value should go down (a loss) or up (an accuracy).
    restore_best : bool, default False
        On stopping, load the model's weights of the best epoch back (kept as a copy of
        ``model.state_dict()`` whenever the value improves).

    Notes
    -----
    Use one instance per run: it remembers the best value.

    Examples
    --------
    >>> stopper = EarlyStopping(monitor="val_loss", patience=1)
    >>> state = TrainState(model=None, optimizer=None, history=None)
    >>> for value in (1.0, 0.5, 0.7):
    ...     state.logs = {"val_loss": value}
    ...     stopper.on_epoch_end(state)
    Traceback (most recent call last):
    ...
    minigrad.train.callbacks.StopTraining: val_loss did not improve for 1 epoch(s) (best 0.5)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = False) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be non-negative, got {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode, self.restore_best = mode, bool(restore_best)
        self.best = math.inf if mode == "min" else -math.inf
        self.wait = 0
        self.best_state: Optional[dict] = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, state: TrainState) -> None:
        if self.monitor not in state.logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which the epochs do "
                           f"not record (they have {sorted(state.logs)})")
        value = float(state.logs[self.monitor])
        if self._improved(value):
            self.best, self.wait = value, 0
            if self.restore_best:
                self.best_state = copy.deepcopy(state.model.state_dict())
            return
        self.wait += 1
        if self.wait >= self.patience:
            if self.restore_best and self.best_state is not None:
                state.model.load_state_dict(self.best_state)
            raise StopTraining(f"{self.monitor} did not improve for {self.patience} "
                               f"epoch(s) (best {self.best:.4g})")

"""The scheduler base class: what every learning-rate schedule shares, as in PyTorch.

A scheduler owns one number, ``last_epoch`` (how many times it has been stepped, minus
one), and writes ``group["lr"]`` of each of its optimizer's parameter groups. It needs
nothing from the optimizer but ``optimizer.param_groups`` (and ``step``, which it wraps to
notice the common mistake of stepping the scheduler first).

The life of a scheduler::

    scheduler = StepLR(optimizer, step_size=30)   # sets group["initial_lr"], then the
                                                  # lr for step 0 (last_epoch = 0)
    for batch in data:
        ...
        optimizer.step()                          # uses the lr for this step
        scheduler.step()                          # last_epoch += 1, writes the next lr

Two ways to compute the next rate, as in PyTorch:

* ``get_lr()`` – the *chainable* form: it usually multiplies the current ``group["lr"]``
  by a factor, so several schedulers can act on the same optimizer one after another
  (``ChainedScheduler``);
* ``_get_closed_form_lr()`` – the rate as a formula of ``last_epoch`` and ``base_lrs``,
  used when ``step(epoch)`` jumps to an epoch (a deprecated PyTorch argument).
"""
from __future__ import annotations

import copy
import functools
import numbers
import warnings
import weakref
from typing import Optional, Sequence

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` is deprecated (as in PyTorch): call "
    "`scheduler.step()` without it. While it is still accepted, a given epoch makes the "
    "scheduler use its closed form, where it has one, instead of the chainable form."
)


class LRScheduler:
    """Base class of the learning-rate schedulers (PyTorch's ``lr_scheduler.LRScheduler``).

    Parameters
    ----------
    optimizer
        Any object with ``param_groups`` (a list of dicts with an ``"lr"`` entry), such as
        an ``optim`` optimizer.
    last_epoch : int, default -1
        ``-1`` starts the schedule. Another value resumes it: every group must then hold an
        ``"initial_lr"`` (saved in the optimizer's state dict), and, as in PyTorch, the
        constructor's own step moves the schedule on to ``last_epoch + 1``.

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``initial_lr``: the rate the schedule is relative to.
    last_epoch : int
        Number of ``step()`` calls since the start (0 right after construction).

    Notes
    -----
    Subclasses write ``get_lr()`` and, where the schedule has a formula of the step
    number, ``_get_closed_form_lr()``; schedules that also move the momentum write
    ``get_momentum()``.
    """

    _is_initial: bool = False  # True only during the constructor's own step
    #: Saved lists with one entry per parameter group (their lengths are checked on load).
    _per_group_lists: tuple = ("base_lrs", "_last_lr")

    def __init__(self, optimizer, last_epoch: int = -1) -> None:
        check_can_start(optimizer, last_epoch)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Write the rate of the first step (the constructor's step, which never warns)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    # ----------------------------------------------------------------- the schedule
    def get_lr(self) -> list:
        """The next rate of every group (chainable form); called by ``step()``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def _current_lrs(self) -> list:
        """The rates the groups hold now: what a chainable step returns to change nothing."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_momentum(self) -> Optional[list]:
        """The next momentum (or Adam's beta1) of every group; None if not scheduled."""
        return None

    def get_last_lr(self) -> list:
        """The rates the scheduler wrote last, one per group (a copy)."""
        return list(self._last_lr)

    def step(self, epoch: Optional[float] = None) -> None:
        """Move to the next step and write its rate into every group.

        Call it after ``optimizer.step()``. ``epoch`` (deprecated) jumps to that epoch
        instead, through the closed form where there is one.
        """
        if self._step_count == 1:
            warn_if_optimizer_not_stepped(self.optimizer)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: Optional[float] = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            lrs = closed_form() if closed_form is not None else self.get_lr()
        self._write(lrs)

    def _write(self, lrs: list) -> None:
        """Set every group's rate (and momentum, if scheduled); remember the rates."""
        momenta = self.get_momentum()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        if momenta is not None:
            for group, momentum in zip(self.optimizer.param_groups, momenta, strict=True):
                set_momentum(group, momentum)
        self._last_lr = self._current_lrs()

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """Every attribute except the optimizer (a copy: later steps do not change it)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the attributes saved by :meth:`state_dict` (checked before any change)."""
        self._check_state_dict(state_dict)
        self.__dict__.update(copy.deepcopy(state_dict))

    def _check_state_dict(self, state_dict: dict) -> None:
        """Raise unless ``state_dict`` could come from :meth:`state_dict` of this scheduler.

        It must have the same keys (``{}``, another class's dict, or one saved with other
        options has others) and lists of the same length where this scheduler keeps one
        entry per parameter group. Subclasses that load more (the inner schedulers of
        ``SequentialLR``) extend this; ``load_state_dict`` calls it before any change.
        """
        kind = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{kind}.load_state_dict expects a dict from state_dict(), got "
                            f"{type(state_dict).__name__}")
        own = self.state_dict()
        missing = [key for key in own if key not in state_dict]
        unknown = [key for key in state_dict if key not in own]
        if missing or unknown:
            parts = ([f"lacks {_names(missing)}"] if missing else []) + \
                ([f"has {_names(unknown)}, which {kind} does not keep"] if unknown else [])
            raise ValueError(f"{kind}.load_state_dict: the state dict {' and '.join(parts)} "
                             "(was it saved by another scheduler, or with other options?)")
        for key in self._per_group_lists:  # the keys are the same now
            mine, saved = own.get(key), state_dict.get(key)
            if isinstance(mine, list) and length_of(saved) != len(mine):
                raise ValueError(
                    f"{kind}.load_state_dict: '{key}' holds one value per parameter group, "
                    f"{len(mine)} here, but the state dict has {length_of(saved)}")


def _names(keys: list) -> str:
    return ", ".join(repr(key) for key in keys)


def length_of(value):
    """The number of items of a saved list (the value itself if it is not a list)."""
    return len(value) if isinstance(value, (list, tuple)) else value


# --------------------------------------------------------------------------- the warning
def _track_optimizer_steps(optimizer) -> None:
    """Wrap ``optimizer.step`` so that it records ``optimizer._opt_called = True``.

    The wrapper is set on the instance and calls the original bound method, so the
    optimizer's own hooks still run. It holds the optimizer only weakly, and it is added
    once however many schedulers share the optimizer.
    """
    original = optimizer.step
    if getattr(original, "_wrapped_by_lr_sched", False):
        return
    function = getattr(original, "__func__", None)  # the class's step, unbound
    if function is None:  # step was already replaced by a plain callable: call it as it is
        function = functools.wraps(original)(lambda opt, *args, **kwargs: original(*args, **kwargs))
    optimizer_ref = weakref.ref(optimizer)  # no cycle optimizer -> step -> optimizer

    @functools.wraps(function)
    def step(*args, **kwargs):
        opt = optimizer_ref()
        opt._opt_called = True
        return function(opt, *args, **kwargs)

    step._wrapped_by_lr_sched = True
    optimizer.step = step


def warn_if_optimizer_not_stepped(optimizer) -> None:
    """PyTorch's check, made at the first ``scheduler.step()`` after construction."""
    if not getattr(optimizer.step, "_wrapped_by_lr_sched", False):
        warnings.warn(
            "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
            "initialization. Please, make sure to call `optimizer.step()` before "
            "`lr_scheduler.step()`.", UserWarning, stacklevel=3)
    elif not getattr(optimizer, "_opt_called", False):
        warnings.warn(
            "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
            "Call them in the opposite order: `optimizer.step()` before "
            "`lr_scheduler.step()`. Otherwise the first value of the learning rate "
            "schedule is skipped.", UserWarning, stacklevel=3)


# --------------------------------------------------------------------------- momentum
def uses_beta1(optimizer) -> bool:
    """Whether the momentum to schedule is Adam's ``betas[0]`` (else SGD's ``momentum``).

    Raises ValueError if the optimizer has neither, with PyTorch's message.
    """
    group = optimizer.param_groups[0]
    if "momentum" not in group and "betas" not in group:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return "betas" in group


def set_momentum(group: dict, value: float) -> None:
    """Write the momentum of a group: ``betas[0]`` for Adam-like groups, else ``momentum``."""
    if "betas" in group:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


# --------------------------------------------------------------------------- validation
def check_can_start(optimizer, last_epoch: int) -> None:
    """The base class's checks, callable by subclasses before they touch the groups."""
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
            or last_epoch < -1:
        raise ValueError(f"Expected integer last_epoch >= -1, but got {last_epoch}")
    if last_epoch != -1:
        for index, group in enumerate(optimizer.param_groups):
            if "initial_lr" not in group:
                raise KeyError(
                    f"param 'initial_lr' is not specified in param_groups[{index}] when "
                    "resuming scheduler with last_epoch >= 0 (load the optimizer's state "
                    "dict first)")


def per_group(name: str, optimizer, value) -> list:
    """One value per parameter group: a list is checked, a scalar is repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has "
                f"{len(value)} values, param_groups has {len(optimizer.param_groups)}.")
        return list(value)
    return [value] * len(optimizer.param_groups)


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def expect_int(name: str, value, minimum: int = 1) -> None:
    """``Expected positive integer <name>, but got <value>`` (PyTorch's message shape)."""
    if not is_int(value) or value < minimum:
        kind = {1: "positive integer", 0: "non-negative integer"}.get(
            minimum, f"integer >= {minimum}")
        raise ValueError(f"Expected {kind} {name}, but got {value}")


def expect_number(name: str, value, low: float = float("-inf"), high: float = float("inf"),
                  low_open: bool = False, high_open: bool = False) -> None:
    """``Expected <name> in [low, high], but got <value>`` (or ``Expected positive <name>``)."""
    ok = is_number(value) and (value > low if low_open else value >= low) \
        and (value < high if high_open else value <= high)
    if ok:
        return
    if high == float("inf") and low == 0:
        kind = "positive" if low_open else "non-negative"
        raise ValueError(f"Expected {kind} {name}, but got {value}")
    if low == float("-inf") and high == float("inf"):
        raise ValueError(f"Expected a number for {name}, but got {value!r}")
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    raise ValueError(f"Expected {name} in {left}{low}, {high}{right}, but got {value}")


def expect_increasing(name: str, values: Sequence, strict: bool = False) -> None:
    """Milestones and the like: integers in (strictly) increasing order."""
    values = list(values)
    if not all(is_int(v) for v in values):
        raise ValueError(f"Expected integer {name}, but got {values}")
    pairs = zip(values, values[1:])
    if not all((a < b) if strict else (a <= b) for a, b in pairs):
        order = "strictly increasing" if strict else "increasing"
        raise ValueError(f"Expected {order} {name}, but got {values}")


"""Schedules given by your own function of the step: LambdaLR and MultiplicativeLR.

Both take ``lr_lambda``, one function for all groups or a list with one per group.
A function cannot be saved in a state dict; a callable *object* can, through its
``__dict__`` (as in PyTorch).
"""
from __future__ import annotations

import copy
import types
from typing import Callable, Sequence, Union

from .scheduler import LRScheduler, check_can_start, length_of

LrLambda = Union[Callable[[int], float], Sequence[Callable[[int], float]]]


def _lambdas_per_group(optimizer, lr_lambda: LrLambda) -> list:
    check_can_start(optimizer, -1)
    groups = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != groups:
            raise ValueError(f"Expected {groups} lr_lambdas, but got {len(lr_lambda)}")
        lambdas = list(lr_lambda)
    else:
        lambdas = [lr_lambda] * groups
    for function in lambdas:
        if not callable(function):
            raise TypeError(f"lr_lambda should be a function, but got {type(function).__name__}")
    return lambdas


class _LambdaStateMixin:
    """state_dict without the functions; callable objects keep their ``__dict__``."""

    lr_lambdas: list

    def state_dict(self) -> dict:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
            for fn in self.lr_lambdas]
        return state

    def _check_state_dict(self, state_dict: dict) -> None:
        super()._check_state_dict(state_dict)  # type: ignore[misc]
        saved = state_dict["lr_lambdas"]
        if length_of(saved) != len(self.lr_lambdas):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state dict has {length_of(saved)} "
                f"lr_lambdas, this scheduler has {len(self.lr_lambdas)} (one per parameter "
                "group)")
        for number, fn_state in enumerate(saved):
            if fn_state is not None and not isinstance(fn_state, dict):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: lr_lambdas[{number}] must be None "
                    f"or the __dict__ of a callable object, got {type(fn_state).__name__}")

    def load_state_dict(self, state_dict: dict) -> None:
        self._check_state_dict(state_dict)
        saved = {key: value for key, value in state_dict.items() if key != "lr_lambdas"}
        self.__dict__.update(copy.deepcopy(saved))
        for fn, fn_state in zip(self.lr_lambdas, state_dict["lr_lambdas"]):
            if fn_state is not None:
                fn.__dict__.update(copy.deepcopy(fn_state))


class LambdaLR(_LambdaStateMixin, LRScheduler):
    """The base rate times your function of the step (PyTorch's ``LambdaLR``)::

        lr_t = base_lr · λ(t)

    Parameters
    ----------
    optimizer
        The optimizer whose rates are set.
    lr_lambda : callable or list of callables
        ``λ(t)``, the factor at step ``t`` (an int); one per group if a list.
    last_epoch : int, default -1
        Step to resume from (see :class:`LRScheduler`).

    Examples
    --------
    >>> import minigrad, optim
    >>> from schedules import LambdaLR
    >>> opt = optim.SGD([minigrad.Parameter([0.0])], lr=0.1)
    >>> scheduler = LambdaLR(opt, lr_lambda=lambda t: 1 / (1 + t))
    >>> opt.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.05]
    """

    def __init__(self, optimizer, lr_lambda: LrLambda, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas_per_group(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [base_lr * lmbda(self.last_epoch)
                for lmbda, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_LambdaStateMixin, LRScheduler):
    """Multiply the current rate by your function of the step (PyTorch's ``MultiplicativeLR``)::

        lr_t = lr_{t-1} · λ(t)   for t ≥ 1,      lr_0 = base_lr

    Parameters
    ----------
    optimizer
        The optimizer whose rates are set.
    lr_lambda : callable or list of callables
        ``λ(t)``, the factor applied at step ``t``; one per group if a list.
    last_epoch : int, default -1
        Step to resume from (see :class:`LRScheduler`).

    Examples
    --------
    >>> import minigrad, optim
    >>> from schedules import MultiplicativeLR
    >>> opt = optim.SGD([minigrad.Parameter([0.0])], lr=0.1)
    >>> scheduler = MultiplicativeLR(opt, lr_lambda=lambda t: 0.5)
    >>> for _ in range(2):
    ...     opt.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.025]
    """

    def __init__(self, optimizer, lr_lambda: LrLambda, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas_per_group(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * lmbda(self.last_epoch)
                for lmbda, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)]

"""Hyper-parameter checks that an optimizer class declares as data.

Each optimizer lists, in its class attribute ``ranges``, which group entries must be
checked and how; the base class runs every check on every parameter group before
anything is stored, so a rejected value never changes an optimizer::

    class Adam(Optimizer):
        ranges = {"lr": Range("learning rate"),
                  "eps": Range("epsilon value"),
                  "betas": Betas(),
                  "weight_decay": Range("weight_decay value")}

A check is any callable ``check(value)`` that raises ``ValueError`` naming the argument
and the allowed range, in PyTorch's words where PyTorch has them
(``Invalid beta parameter at index 0: 1.2``).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

_NUMERIC = (int, float, np.integer, np.floating)


def _is_number(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, _NUMERIC)
            and not math.isnan(value))


def check_range(name: str, value, low: float = 0.0, high: float = math.inf,
                low_open: bool = False, high_open: bool = False) -> None:
    """Raise ``ValueError('Invalid <name>: <value>')`` unless value lies in the range.

    The range is ``[low, high]``; ``low_open`` / ``high_open`` exclude an end.

    Examples
    --------
    >>> check_range("learning rate", 0.1)
    >>> check_range("learning rate", -1)
    Traceback (most recent call last):
    ...
    ValueError: Invalid learning rate: -1 (allowed range [0.0, inf])
    """
    if not _is_number(value):
        raise ValueError(f"Invalid {name}: {value!r} (expected a number)")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"Invalid {name}: {value} (allowed range {left}{low}, {high}{right})")


def check_betas(betas, count: int = 2) -> None:
    """Each beta must lie in [0, 1): ``Invalid beta parameter at index 0: 1.2``."""
    if not isinstance(betas, (tuple, list)) or len(betas) != count:
        raise ValueError(f"Invalid betas: {betas!r} (expected a tuple of {count} numbers)")
    for index, beta in enumerate(betas):
        if not _is_number(beta) or not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


class Range:
    """A number in ``[low, high]`` (ends excluded with ``low_open`` / ``high_open``).

    ``optional=True`` also accepts None (an argument whose None means "choose for me",
    such as Adafactor's relative-step ``lr=None``).

    >>> Range("momentum value", 0.0, 1.0, high_open=True)(0.95)
    >>> Range("momentum value", 0.0, 1.0, high_open=True)(1.0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid momentum value: 1.0 (allowed range [0.0, 1.0))
    """

    def __init__(self, name: str, low: float = 0.0, high: float = math.inf, *,
                 low_open: bool = False, high_open: bool = False, optional: bool = False):
        self.name, self.low, self.high = name, low, high
        self.low_open, self.high_open, self.optional = low_open, high_open, optional

    def __call__(self, value) -> None:
        if value is None and self.optional:
            return
        check_range(self.name, value, self.low, self.high, self.low_open, self.high_open)

    def __repr__(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"Range({self.name!r}, {left}{self.low}, {self.high}{right})"


class Betas:
    """A tuple of ``count`` decay rates, each in [0, 1)."""

    def __init__(self, count: int = 2):
        self.count = count

    def __call__(self, value) -> None:
        check_betas(value, self.count)

    def __repr__(self) -> str:
        return f"Betas({self.count})"


class OneOf:
    """One of a fixed set of values (a string option such as a line-search name).

    >>> OneOf("line_search_fn", (None, "strong_wolfe"))("armijo")
    Traceback (most recent call last):
    ...
    ValueError: Invalid line_search_fn: 'armijo' (allowed: None, 'strong_wolfe')
    """

    def __init__(self, name: str, choices: Sequence):
        self.name, self.choices = name, tuple(choices)

    def __call__(self, value) -> None:
        if value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"Invalid {self.name}: {value!r} (allowed: {allowed})")

    def __repr__(self) -> str:
        return f"OneOf({self.name!r}, {self.choices!r})"


class PositiveInt:
    """A whole number ≥ ``low`` (a period, a history length, a block size).

    >>> PositiveInt("k")(0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid k: 0 (expected an integer >= 1)
    """

    def __init__(self, name: str, low: int = 1):
        self.name, self.low = name, low

    def __call__(self, value) -> None:
        if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                or value < self.low):
            raise ValueError(f"Invalid {self.name}: {value!r} (expected an integer >= {self.low})")

    def __repr__(self) -> str:
        return f"PositiveInt({self.name!r}, {self.low})"

"""Argument checks shared by the data helpers, each raising a ValueError that names
the argument and the value it got."""
from __future__ import annotations

import math
import numbers


def positive_int(name: str, value) -> int:
    """Return ``value`` as an int if it is an integer >= 1, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_float(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite real number >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def open_unit_interval(name: str, value) -> float:
    """Return ``value`` as a float if 0 < value < 1, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)

"""Hypothesis strategies for the minigrad tests: small shapes and well-behaved values.

Gradient checks evaluate the function twice per input element, so shapes stay small
(at most 3 axes of at most 3 elements). Values are drawn where the derivative is smooth:
away from the kinks of relu/abs/clip (``away_from_zero``), inside the domain of log and
sqrt (``positive``), and pairwise apart for max/min (``distinct``), so that the central
difference never straddles a kink.
"""
from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Settings of every property test that runs gradcheck: few examples, no deadline
# (the first call of an op may be slow), small shapes.
gradcheck_settings = settings(max_examples=12, deadline=None)
quick_settings = settings(max_examples=25, deadline=None)

MAX_SIDE = 3


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = MAX_SIDE) -> st.SearchStrategy:
    """Array shapes, e.g. ``()``, ``(3,)``, ``(2, 1, 3)``; ``min_side=0`` allows zero-size."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_pairs(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
                        max_side: int = MAX_SIDE) -> st.SearchStrategy:
    """Two shapes that broadcast together (either side may be the smaller one)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side,
    ).map(lambda b: b.input_shapes)


def values(shape, low: float = -2.0, high: float = 2.0) -> st.SearchStrategy:
    """float64 arrays with entries in ``[low, high]``."""
    return hnp.arrays(np.float64, shape,
                      elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def positive(shape, low: float = 0.2, high: float = 3.0) -> st.SearchStrategy:
    """Entries in ``[low, high]``: inside the domain of log, sqrt and fractional powers."""
    return values(shape, low, high)


def away_from_zero(shape, gap: float = 0.1, high: float = 2.0) -> st.SearchStrategy:
    """Entries with ``gap <= |x| <= high``: never on the kink of relu/abs at 0."""
    entry = st.tuples(st.floats(gap, high), st.sampled_from([-1.0, 1.0])).map(
        lambda ms: ms[0] * ms[1])
    return hnp.arrays(np.float64, shape, elements=entry)


def distinct(shape, gap: float = 0.1) -> st.SearchStrategy:
    """Entries pairwise at least ``gap`` apart and at least ``gap/2`` away from zero.

    Drawn as distinct integers k and mapped to ``gap*k + gap/2``, so there are no ties
    for max/min/maximum and no zeros for relu/abs.
    """
    return hnp.arrays(np.int64, shape, elements=st.integers(-60, 60), unique=True).map(
        lambda a: a * gap + gap / 2)


@st.composite
def axes_for(draw, ndim: int, allow_none: bool = True):
    """An ``axis`` argument for a tensor of ``ndim`` axes: None, an int (maybe negative)
    or a tuple of distinct axes."""
    choices = ["int", "tuple"] if ndim else []
    if allow_none or not choices:
        choices.append("none")
    kind = draw(st.sampled_from(choices))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    picked = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in picked)  # some negative


def reduced_axes(axis, ndim: int) -> tuple:
    """The axes an ``axis`` argument reduces, as non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axis = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axis)


__all__ = [
    "away_from_zero", "axes_for", "broadcastable_pairs", "distinct", "gradcheck_settings",
    "positive", "quick_settings", "reduced_axes", "shapes", "values",
]

"""Reading a learning rate off an LR range-test curve (steepest, valley, minimum).

Pure functions on the recorded curve, so a suggestion can be computed, tested and taught
without running the test or drawing anything. :class:`schedules.LRFinder` uses them.
"""
from __future__ import annotations

import numbers

import numpy as np

SUGGESTION_METHODS = ("steepest", "valley", "minimum")


def suggest_lr(lrs, losses, method: str = "steepest", skip_start: int = 10,
               skip_end: int = 5) -> float:
    """A learning rate read off an LR range-test curve (``lrs`` against ``losses``).

    The first ``skip_start`` points (noisy: the smoothing has not settled and the model
    has hardly moved) and the last ``skip_end`` points (the blow-up) are dropped, and the
    curve is cut before its first non-finite loss (NaN or inf), as fast.ai does.

    Parameters
    ----------
    lrs, losses : sequences of float
        The curve, as in ``LRFinder.history``.
    method : {"steepest", "valley", "minimum"}
        * ``"steepest"`` – the rate where the loss falls fastest: the most negative
          ``d loss / d log(lr)`` (central differences, ``numpy.gradient``), the reading the
          chapters recommend.
        * ``"valley"`` – fast.ai's ``valley``: about halfway down the longest descending
          stretch of the curve (see ``_valley_index``); less sensitive to one noisy slope.
        * ``"minimum"`` – the rate of the lowest loss divided by 10 (fast.ai's
          ``minimum``: the minimum is already at the edge of divergence).
    skip_start, skip_end : int >= 0
        Points dropped at each end before reading.

    Raises
    ------
    ValueError
        For an unknown ``method`` or a bad skip, or when fewer than 2 points remain.

    Examples
    --------
    >>> import numpy as np
    >>> lrs = np.geomspace(1e-4, 1.0, 9)
    >>> losses = [1.0, 0.99, 0.95, 0.8, 0.5, 0.3, 0.25, 0.4, 2.0]
    >>> suggest_lr(lrs, losses, "steepest", skip_start=0, skip_end=0) == float(lrs[4])
    True
    """
    if method not in SUGGESTION_METHODS:
        raise ValueError(f"method must be one of {SUGGESTION_METHODS}, got {method!r}")
    for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    recorded = len(lrs)
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    stop = len(lrs) - skip_end
    lrs, losses = lrs[skip_start:stop], losses[skip_start:stop]
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        lrs, losses = lrs[:bad[0]], losses[:bad[0]]
    if len(losses) < 2:
        raise ValueError(
            f"only {len(losses)} usable point(s) left of the {recorded} "
            f"recorded (skip_start={skip_start}, skip_end={skip_end}, non-finite tail "
            "removed): run a longer range test or skip fewer points")
    return float(_read(method, lrs, losses))


def _read(method: str, lrs: np.ndarray, losses: np.ndarray) -> float:
    """The three readings of a finite, skipped curve (at least 2 points)."""
    if method == "steepest":
        slopes = np.gradient(losses, np.log(lrs))
        return lrs[int(np.argmin(slopes))]
    if method == "minimum":
        return lrs[int(np.argmin(losses))] / 10.0
    return lrs[_valley_index(losses)]


def _valley_index(losses: np.ndarray) -> int:
    """fast.ai's ``valley``: about halfway down the longest descending stretch.

    ``length[i]`` is the length of the longest strictly decreasing subsequence that ends at
    point ``i``. The stretch ends at the first ``i`` with the greatest length and is taken to
    start ``length[end]`` points earlier; the index is ``start + int(L/3) + int(L/6)`` with
    ``L = end - start``. (fast.ai can reach index -1 when the curve falls from its very first
    point and is short; the result is clamped to 0 here.)
    """
    n = len(losses)
    length = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        higher = losses[:i] > losses[i]
        if higher.any():
            length[i] = length[:i][higher].max() + 1
    end = int(np.argmax(length))  # the first point of greatest length
    start = end - int(length[end]) if length[end] > 1 else 0
    span = (end - start) / 3
    return max(0, start + int(span) + int(span / 2))

"""Strong-Wolfe line search and cubic interpolation, on flat vectors (used by LBFGS).

A line search picks the step length t along a descent direction d from x. The strong
Wolfe conditions accept t when, with φ(t) = f(x + t·d) and φ'(t) = ∇f(x + t·d)ᵀd::

    φ(t) ≤ φ(0) + c₁·t·φ'(0)          (sufficient decrease, "Armijo")
    |φ'(t)| ≤ −c₂·φ'(0)                (curvature: the slope has flattened enough)

with 0 < c₁ < c₂ < 1 (here c₁ = 1e-4, c₂ = 0.9). The search follows Nocedal & Wright,
*Numerical Optimization* (2nd ed., 2006): Algorithm 3.5 (bracketing) and Algorithm 3.6
("zoom"), with trial steps from cubic interpolation (their Eq. 3.59). The details —
bounds of extrapolation, the "insufficient progress" safeguard — are PyTorch's, which
ports Mark Schmidt's minFunc (``torch/optim/lbfgs.py``), so LBFGS matches PyTorch.

Everything here is a pure function of NumPy (or CuPy) vectors and Python floats; the
objective is passed in as ``evaluate(t) -> (loss, flat_grad)``.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Tuple


def cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                      bounds: Optional[Tuple[float, float]] = None) -> float:
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2.

    Nocedal & Wright, Eq. (3.59): the cubic that interpolates both values and both
    derivatives has its minimum at::

        d₁ = g₁ + g₂ − 3·(f₁ − f₂)/(x₁ − x₂)
        d₂ = √(d₁² − g₁·g₂)
        x  = x₂ − (x₂ − x₁)·(g₂ + d₂ − d₁)/(g₂ − g₁ + 2·d₂)      (for x₁ ≤ x₂)

    The result is clipped to ``bounds`` (default: the interval between x1 and x2). When
    d₁² < g₁·g₂ the cubic has no minimum and the midpoint of the bounds is returned; so is
    it when a non-finite input makes d₂² NaN.

    Examples
    --------
    >>> cubic_interpolate(0.0, 0.0, -1.0, 2.0, 0.0, 1.0)   # parabola (x − 1)² − 1
    1.0
    """
    if bounds is not None:
        low, high = bounds
    else:
        low, high = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if not d2_square >= 0:          # negative, or NaN from inf/NaN inputs (as PyTorch does)
        return (low + high) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        minimum = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        minimum = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(minimum, low), high)


def strong_wolfe(evaluate: Callable, t: float, d, loss: float, flat_grad, gtd: float,
                 c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                 max_ls: int = 25):
    """Find a step length t along ``d`` that satisfies the strong Wolfe conditions.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(t) -> (loss, flat_grad)``: the objective and its gradient at x + t·d.
    t : float
        First trial step.
    d : ndarray
        The search direction (flat).
    loss, flat_grad, gtd : float, ndarray, float
        φ(0), ∇f(x) and φ'(0) = ∇f(x)ᵀd (negative for a descent direction).
    c1, c2 : float
        Constants of the sufficient-decrease and curvature conditions.
    tolerance_change : float
        Stop zooming once the bracket is shorter than this (scaled by ``max |dᵢ|``).
    max_ls : int
        Most evaluations of the objective.

    Returns
    -------
    (loss, flat_grad, t, evaluations) at the accepted step.

    Notes
    -----
    Phase 1, Nocedal & Wright Algorithm 3.5: grow t (by cubic extrapolation, at most
    ×10) until [t_prev, t] brackets an acceptable step, or t itself is acceptable.
    Phase 2, Algorithm 3.6 ("zoom"): shrink the bracket [low, high] — low always the
    point with the smaller loss — by cubic interpolation until a point satisfies both
    conditions. If a trial lands within 10% of the bracket's ends twice running, it is
    moved to 10% inside (a safeguard against tiny, useless steps).
    """
    d_norm = float(abs(d).max())
    f_new, g_new = evaluate(t)
    evaluations = 1
    gtd_new = float(g_new.dot(d))

    # Phase 1 (Algorithm 3.5): bracket an interval that contains an acceptable step.
    t_prev, f_prev, g_prev, gtd_prev = 0.0, loss, flat_grad, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > loss + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # both conditions hold: accept t
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:  # the slope turned positive: a minimum lies in [t_prev, t]
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Still going down: extrapolate to a longer step, between 1.01·t and 10·t.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_next = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                   bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1

    if ls_iter >= max_ls:  # out of evaluations: fall back to the bracket [0, t]
        bracket, bracket_f, bracket_g = [0.0, t], [loss, f_new], [flat_grad, g_new]

    # Phase 2 (Algorithm 3.6, "zoom"): shrink the bracket around an acceptable step.
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        t, insufficient_progress = _keep_inside(t, bracket, insufficient_progress)

        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1

        if f_new > loss + c1 * t * gtd or f_new >= bracket_f[low]:
            # Not enough decrease (or not below the low end): t becomes the high end.
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # The slope points away from high: the old low becomes the high end.
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new

    return bracket_f[low], bracket_g[low], bracket[low], evaluations


def _keep_inside(t: float, bracket: list, insufficient_progress: bool):
    """Move a trial step that hugs an end of the bracket to 10% inside it.

    Returns the (possibly moved) step and the new "insufficient progress" flag.
    """
    top, bottom = max(bracket), min(bracket)
    margin = 0.1 * (top - bottom)
    if min(top - t, t - bottom) >= margin:
        return t, False
    if insufficient_progress or t >= top or t <= bottom:
        t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
        return t, False
    return t, True

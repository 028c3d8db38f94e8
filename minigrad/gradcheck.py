"""Numerical gradient checking: compare backward() with central differences.

For a function f and a fixed random vector v of f's output shape, the analytic gradient
of the scalar s(x) = Σ v·f(x) (one backward pass) is compared, element by element, with

    (s(x + ε eᵢ) − s(x − ε eᵢ)) / (2ε)

computed in float64. A random v checks every row of the Jacobian at once: a wrong
derivative would have to cancel exactly against v to go unnoticed.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .autograd import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def _as_float64_inputs(inputs):
    """float64 copies of the inputs; floating ones that should be checked require grad."""
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in inputs]
    chosen = [t.requires_grad for t in tensors]
    if not any(chosen):  # nothing marked: check every floating input
        chosen = [t.dtype.kind == "f" for t in tensors]
    copies = []
    for t, check in zip(tensors, chosen):
        # C order, so that reshape(-1) below is a view through which entries are nudged
        data = t.data.astype(np.float64, order="C", copy=True) if t.dtype.kind == "f" else t.data
        copies.append(Tensor(data, requires_grad=check))
    return copies, chosen


def _projected(fn, inputs, projections):
    outputs = fn(*inputs)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    total = None
    for out, v in zip(outputs, projections):
        term = (out * Tensor(v)).sum()
        total = term if total is None else total + term
    return total, outputs


def gradcheck(fn: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    Parameters
    ----------
    fn : callable
        Takes the inputs (Tensors) and returns a Tensor or a tuple of Tensors.
    inputs : sequence
        Tensors or arrays. Those with ``requires_grad=True`` are checked (all floating
        ones when none is marked). They are copied to float64; the originals are not
        changed.
    eps, atol, rtol : float
        Step of the central difference and the tolerance
        ``|analytic − numerical| ≤ atol + rtol·|numerical|``.
    seed : int
        Seed of the random projection vector.
    raise_exception : bool
        Raise :class:`GradcheckError` naming the input and index that disagree (default),
        or return False.

    Notes
    -----
    The numerical evaluations run under ``no_grad`` (they need no graph). A function that
    differentiates inside itself — to check second derivatives through
    ``minigrad.grad(..., create_graph=True)`` — must wrap that call in
    ``minigrad.enable_grad()``.

    Examples
    --------
    >>> import minigrad
    >>> x = minigrad.tensor([0.5, 1.5], requires_grad=True)
    >>> minigrad.gradcheck(lambda t: (t.exp() * t).sum(), [x])
    True
    """
    copies, chosen = _as_float64_inputs(inputs)
    rng = np.random.default_rng(seed)
    outputs = fn(*copies)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    projections = [rng.uniform(0.5, 1.5, size=o.shape) * rng.choice([-1.0, 1.0], size=o.shape)
                   for o in outputs]
    total, _ = _projected(fn, copies, projections)
    checked = [t for t, c in zip(copies, chosen) if c]
    analytic = grad(total, checked, allow_unused=True) if total.requires_grad else [None] * len(checked)

    def scalar_at():
        with _no_grad():
            value, _ = _projected(fn, copies, projections)
        return float(value.data)

    for number, (t, g) in enumerate(zip(checked, analytic)):
        position = [i for i, c in enumerate(chosen) if c][number]
        g = np.zeros(t.shape) if g is None else np.asarray(g.data, dtype=np.float64)
        if g.shape != t.shape:
            return _fail(raise_exception,
                         f"gradcheck: gradient of input {position} has shape {g.shape}, "
                         f"expected {t.shape}")
        flat = t.data.reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            plus = scalar_at()
            flat[i] = original - eps
            minus = scalar_at()
            flat[i] = original
            numerical = (plus - minus) / (2 * eps)
            analytic_i = g.reshape(-1)[i]
            if not abs(analytic_i - numerical) <= atol + rtol * abs(numerical):
                index = np.unravel_index(i, t.shape) if t.ndim else ()
                return _fail(raise_exception,
                             f"gradcheck: input {position} (shape {t.shape}) at index "
                             f"{tuple(int(k) for k in index)}: analytic {analytic_i:.8g} vs "
                             f"numerical {numerical:.8g} (difference "
                             f"{abs(analytic_i - numerical):.3g} > tolerance "
                             f"{atol + rtol * abs(numerical):.3g})")
    return True


def _no_grad():
    from ._config import no_grad

    return no_grad()


def _fail(raise_exception: bool, message: str) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False

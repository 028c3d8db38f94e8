"""Check an optimizer you wrote against the library's, step by step.

Both optimizers start from the same parameters on the same small problems; after every
step the parameters are compared, and the report names the first problem, step,
parameter and element at which they part::

    θ_candidate(t) ≈ θ_reference(t)   for t = 1 .. steps, element by element,
    |a − b| ≤ atol + rtol·|b|         (the rule of ``numpy.allclose``)

The candidate is either an optimizer class, built as ``cls(params, **hyperparams)`` and
driven by ``zero_grad()``, a gradient, ``step()`` (like any ``optim`` class), or a plain
update function ``update(param, grad, state, *, step, **hyperparams)`` that changes
``param`` in place and keeps what it needs in the dict ``state`` (empty before the first
step, one dict per parameter; ``step`` counts from 1).

Examples
--------
>>> import optim
>>> def my_sgd(param, grad, state, *, step, lr):
...     param -= lr * grad
>>> result = compare_with_reference(my_sgd, optim.SGD, hyperparams={"lr": 0.1})
>>> result.passed
True
>>> def sloppy_sgd(param, grad, state, *, step, lr):
...     param -= lr * grad * (1.0 if step < 3 else 1.01)
>>> result = compare_with_reference(sloppy_sgd, optim.SGD, hyperparams={"lr": 0.1})
>>> result.passed, result.step
(False, 3)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence

import numpy as np

from minigrad.tensor import Parameter

__all__ = ["Problem", "CheckResult", "default_problems", "compare_with_reference"]


@dataclass(frozen=True)
class Problem:
    """A small test problem: starting parameters and the gradient at any point.

    ``gradient(params)`` takes the list of current parameter arrays and returns one
    gradient array per parameter, each of the same shape.
    """

    name: str
    initial: Sequence[np.ndarray]
    gradient: Callable[[List[np.ndarray]], List[np.ndarray]]


def _bowl() -> Problem:
    # f(x) = ½ Σ a_i x_i², curvatures a_i from 0.1 to 10 (an ill-conditioned bowl)
    curvature = np.geomspace(0.1, 10.0, 6)
    return Problem("quadratic bowl", [np.linspace(-2.0, 3.0, 6)],
                   lambda params: [curvature * params[0]])


def _rosenbrock() -> Problem:
    # f(x, y) = (1 − x)² + 100 (y − x²)², gradients that change scale by 1000×
    def gradient(params):
        x, y = params[0]
        return [np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])]
    return Problem("Rosenbrock", [np.array([-1.5, 2.0])], gradient)


def _least_squares() -> Problem:
    # f(W, b) = ½ mean ‖X Wᵀ + b − Y‖², two parameters: a matrix and a vector
    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(16, 4)), rng.normal(size=(16, 3))

    def gradient(params):
        weight, bias = params
        residual = (inputs @ weight.T + bias - targets) / len(inputs)
        return [residual.T @ inputs, residual.sum(axis=0)]
    return Problem("least squares (W, b)", [rng.normal(size=(3, 4)), np.zeros(3)], gradient)


def default_problems() -> List[Problem]:
    """The three problems used when none are given: a bowl, Rosenbrock, least squares.

    >>> [p.name for p in default_problems()]
    ['quadratic bowl', 'Rosenbrock', 'least squares (W, b)']
    """
    return [_bowl(), _rosenbrock(), _least_squares()]


@dataclass
class CheckResult:
    """What the comparison found; ``bool(result)`` is ``result.passed``.

    On a mismatch ``problem``, ``step`` (1-based), ``parameter`` (its position),
    ``index`` (the first differing element) and the two values say where; ``error``
    holds the exception if the candidate raised one.
    """

    passed: bool
    steps: int
    problems: List[str]
    problem: Optional[str] = None
    step: Optional[int] = None
    parameter: Optional[int] = None
    index: Optional[tuple] = None
    candidate_value: Optional[float] = None
    reference_value: Optional[float] = None
    error: Optional[BaseException] = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return (f"OK: same parameters as the reference after each of {self.steps} "
                    f"steps on {len(self.problems)} problems ({', '.join(self.problems)}).")
        where = f"on '{self.problem}' at step {self.step}"
        if self.error is not None:
            return f"FAILED {where}: the candidate raised {self.error!r}."
        if self.candidate_value is None:
            return f"FAILED {where}, parameter {self.parameter}: shape or type differs."
        return (f"FAILED {where}, parameter {self.parameter}, element {self.index}: "
                f"candidate {self.candidate_value!r}, reference {self.reference_value!r} "
                f"(difference {self.candidate_value - self.reference_value:.3g}).")

    def _repr_pretty_(self, printer, cycle) -> None:  # how Jupyter shows it
        printer.text(str(self))


class _ClassStepper:
    """Drive an optimizer class: Parameters, ``.grad`` written, ``step()``."""

    def __init__(self, optimizer_cls, initial, hyperparams):
        self.params = [Parameter(np.array(a, dtype=np.float64)) for a in initial]
        self.optimizer = optimizer_cls(self.params, **hyperparams)

    def arrays(self) -> List[np.ndarray]:
        return [p.data for p in self.params]

    def step(self, grads) -> None:
        self.optimizer.zero_grad()
        for p, g in zip(self.params, grads):
            p.grad = np.array(g, dtype=np.float64)
        self.optimizer.step()


class _FunctionStepper:
    """Drive ``update(param, grad, state, *, step, **hyperparams)`` on plain arrays."""

    def __init__(self, update, initial, hyperparams):
        self.update, self.hyperparams = update, dict(hyperparams)
        self.params = [np.array(a, dtype=np.float64) for a in initial]
        self.states = [{} for _ in self.params]
        self.count = 0

    def arrays(self) -> List[np.ndarray]:
        return self.params

    def step(self, grads) -> None:
        self.count += 1
        for param, grad, state in zip(self.params, grads, self.states):
            grad = np.array(grad, dtype=np.float64)
            grad.flags.writeable = False  # an update function must not change grad
            self.update(param, grad, state, step=self.count, **self.hyperparams)


def _stepper(optimizer, initial, hyperparams):
    if isinstance(optimizer, type):
        return _ClassStepper(optimizer, initial, hyperparams)
    return _FunctionStepper(optimizer, initial, hyperparams)


def _first_difference(candidate, reference, rtol, atol):
    """(parameter, index, a, b) of the first mismatch, or None when all agree."""
    for position, (a, b) in enumerate(zip(candidate, reference)):
        a = np.asarray(a)
        if a.shape != b.shape:
            return position, None, None, None
        close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            index = tuple(int(i) for i in np.argwhere(~close)[0])
            return position, index, float(a[index]), float(b[index])
    return None


def compare_with_reference(candidate, reference, *, hyperparams: Optional[Mapping] = None,
                           candidate_hyperparams: Optional[Mapping] = None,
                           problems: Optional[Sequence[Problem]] = None, steps: int = 20,
                           rtol: float = 1e-7, atol: float = 1e-10) -> CheckResult:
    """Step ``candidate`` and ``reference`` side by side; report the first difference.

    Parameters
    ----------
    candidate, reference : optimizer class or update function
        A class is built as ``cls(params, **hyperparams)``; a function is called as
        ``update(param, grad, state, *, step, **hyperparams)`` (see the module notes).
    hyperparams : mapping, optional
        Keyword arguments of both (of the reference only if ``candidate_hyperparams``
        is given).
    candidate_hyperparams : mapping, optional
        The candidate's own keyword arguments, when they are spelled differently
        (e.g. ``beta1``, ``beta2`` for a function and ``betas`` for the class).
    problems : sequence of Problem, optional
        Defaults to :func:`default_problems`. Each starts both from the same point.
    steps : int, default 20
        Steps per problem, at least 1.
    rtol, atol : float
        Tolerances of :func:`numpy.isclose`; float64 throughout, so the defaults are
        tight enough to catch a misplaced ε.

    Returns
    -------
    CheckResult
        ``passed``, and on a mismatch where it happened; ``print(result)`` says it in
        one sentence.

    Notes
    -----
    Each optimizer takes the gradient at its own current point, so after a first
    difference the two paths drift apart; only the first difference is reported.
    Optimizers whose ``step`` needs a closure (LBFGS, SAM, ...) are refused.
    """
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    for role, optimizer in (("candidate", candidate), ("reference", reference)):
        if not callable(optimizer):
            raise TypeError(f"{role} must be an optimizer class or an update function "
                            f"update(param, grad, state, *, step, ...), got {optimizer!r}")
        if getattr(optimizer, "needs_closure", False):
            raise ValueError(f"{role} {optimizer.__name__} needs a closure (a loss to "
                             "re-evaluate); the checker drives step() with gradients only")
    hyperparams = dict(hyperparams or {})
    own = hyperparams if candidate_hyperparams is None else dict(candidate_hyperparams)
    problems = default_problems() if problems is None else list(problems)
    if not problems:
        raise ValueError("problems must hold at least one Problem")
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is compared too
        return _compare(candidate, reference, hyperparams, own, problems, steps, rtol, atol)


def _compare(candidate, reference, hyperparams, own, problems, steps, rtol, atol):
    names = [p.name for p in problems]
    for problem in problems:
        ref = _stepper(reference, problem.initial, hyperparams)
        try:
            cand = _stepper(candidate, problem.initial, own)
        except Exception as error:  # noqa: BLE001  (reported, not hidden)
            return CheckResult(False, steps, names, problem.name, 0, error=error)
        for step in range(1, steps + 1):
            ref.step(problem.gradient([a.copy() for a in ref.arrays()]))
            try:
                cand.step(problem.gradient([np.array(a, dtype=np.float64)
                                            for a in cand.arrays()]))
            except Exception as error:  # noqa: BLE001
                return CheckResult(False, steps, names, problem.name, step, error=error)
            mismatch = _first_difference(cand.arrays(), ref.arrays(), rtol, atol)
            if mismatch is not None:
                parameter, index, a, b = mismatch
                return CheckResult(False, steps, names, problem.name, step, parameter,
                                   index, a, b)
    return CheckResult(True, steps, names)

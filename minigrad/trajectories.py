"""Optimizer trajectories on 2-D landscapes: the paths the chapters draw on contour plots.

The optimizer is the real one (any ``optim`` class); only the loss and its gradient take a
fast path: the landscape's hand-written NumPy gradient (``value_and_grad_numpy``, tested
against the engine's) is written into ``.grad`` of a float64 ``Parameter`` of shape (2,).
That skips the ~100 µs of graph building per step, so ten optimizers × 10 000 steps run in
seconds.

>>> import optim
>>> from minigrad import landscapes
>>> from minigrad.trajectories import run_trajectory, steps_to_reach
>>> run = run_trajectory(landscapes.get("ravine"), optim.SGD, steps=200, lr=0.03)
>>> run["path"].shape, run["loss"].shape
((201, 2), (201,))
>>> steps_to_reach(run["loss"], 0.01) is not None
True
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from .tensor import Parameter

# A run that leaves this radius, or whose loss is not finite, has diverged.
DIVERGED_RADIUS = 1e8


def run_trajectory(landscape, optimizer_cls, steps: int, start=None,
                   scheduler: Optional[Callable] = None, name: Optional[str] = None,
                   **opt_kwargs) -> dict:
    """Run ``optimizer_cls`` for ``steps`` steps on ``landscape`` from ``start``.

    Parameters
    ----------
    landscape : Landscape
        Anything with ``value_and_grad_numpy(xy) -> (float, grad)`` and a ``start``.
    optimizer_cls : type
        An optimizer class, built as ``optimizer_cls([param], **opt_kwargs)``.
    steps : int
        Number of optimizer steps.
    start : (x, y), optional
        Defaults to ``landscape.start``.
    scheduler : callable, optional
        ``optimizer -> scheduler``; ``scheduler.step()`` is called after every step.
    name : str, optional
        Label of the run (default: the optimizer class name).

    Returns
    -------
    dict
        ``path`` (steps + 1, 2): the point before each step and the last one;
        ``loss`` (steps + 1,): f along the path; ``name``; ``diverged`` (bool): the loss
        stopped being finite or the point left radius 1e8 — the rest of the path is NaN.
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    point = np.array(landscape.start if start is None else start, dtype=np.float64).reshape(2)
    param = Parameter(point.copy())
    optimizer = optimizer_cls([param], **opt_kwargs)
    if callable(getattr(optimizer, "train", None)):  # schedule-free: gradients in train mode
        optimizer.train()
    sched = scheduler(optimizer) if scheduler is not None else None
    value_and_grad = landscape.value_and_grad_numpy
    closure = None
    if getattr(optimizer, "needs_closure", False):  # LBFGS, NesterovLookahead, SAM, ...
        def closure():
            value, g = value_and_grad(param.data)
            param.grad = g
            return value

    path = np.full((steps + 1, 2), np.nan)
    loss = np.full(steps + 1, np.nan)
    diverged = False
    isfinite = math.isfinite
    for t in range(steps):
        xy = param.data
        value, g = value_and_grad(xy)
        path[t] = xy
        loss[t] = value
        if not isfinite(value) or abs(xy[0]) > DIVERGED_RADIUS or abs(xy[1]) > DIVERGED_RADIUS:
            diverged = True
            path[t] = np.nan
            loss[t] = np.nan
            break
        param.grad = g
        optimizer.step(closure)
        if sched is not None:
            sched.step()
    else:
        xy = param.data
        value, _ = value_and_grad(xy)
        if isfinite(value) and abs(xy[0]) <= DIVERGED_RADIUS and abs(xy[1]) <= DIVERGED_RADIUS:
            path[steps] = xy
            loss[steps] = value
        else:
            diverged = True
    return {"path": path, "loss": loss, "name": name or optimizer_cls.__name__,
            "diverged": diverged}


def run_many(landscape, optimizers: dict, steps: int, start=None) -> dict:
    """Run several optimizers from the same start: ``{label: run_trajectory(...)}``.

    ``optimizers`` maps a label to ``(optimizer_cls, kwargs)``, to
    ``(optimizer_cls, kwargs, scheduler_factory)``, or to a bare class.
    """
    results = {}
    for label, spec in optimizers.items():
        if isinstance(spec, type):
            cls, kwargs, sched = spec, {}, None
        else:
            cls, kwargs = spec[0], dict(spec[1]) if len(spec) > 1 else {}
            sched = spec[2] if len(spec) > 2 else None
        results[label] = run_trajectory(landscape, cls, steps, start=start, scheduler=sched,
                                        name=label, **kwargs)
    return results


def _final_loss(run: dict) -> float:
    """Final loss of a run, or inf when it diverged or ended above where it started."""
    loss = run["loss"]
    if run["diverged"] or not np.isfinite(loss[-1]) or loss[-1] > loss[0]:
        return math.inf
    return float(loss[-1])


def tune_lr(landscape, optimizer_cls, candidates=None, steps: int = 1000, start=None,
            **kwargs) -> dict:
    """Pick a learning rate by a small search: the lowest final loss without divergence.

    Every candidate runs ``steps`` steps from the same start; a run diverges when its loss
    stops being finite, it leaves radius 1e8, or it ends above its starting loss. Ties go
    to the larger learning rate.

    Returns
    -------
    dict
        ``lr`` (the pick, or None if every candidate diverged), ``final_loss``,
        ``candidates`` (array) and ``final_losses`` (array; inf marks divergence).
    """
    candidates = np.geomspace(1e-4, 1.0, 13) if candidates is None else np.asarray(candidates,
                                                                                   dtype=float)
    finals = np.array([
        _final_loss(run_trajectory(landscape, optimizer_cls, steps, start=start,
                                   lr=float(lr), **kwargs))
        for lr in candidates])
    if not np.isfinite(finals).any():
        return {"lr": None, "final_loss": math.inf, "candidates": candidates,
                "final_losses": finals}
    best = float(finals.min())
    pick = max(i for i, f in enumerate(finals) if f == best)
    return {"lr": float(candidates[pick]), "final_loss": best, "candidates": candidates,
            "final_losses": finals}


def steps_to_reach(loss_history, threshold: float = 0.01, min_value: float = 0.0):
    """The first step at which ``loss - min_value < threshold`` (the chapters' measure of
    convergence speed: "iterations to reach loss < 0.01"); None if it never does."""
    gap = np.asarray(loss_history, dtype=np.float64) - min_value
    hits = np.flatnonzero(gap < threshold)
    return int(hits[0]) if hits.size else None

"""Evaluate a schedule without a model: the rates (and momenta) it gives, step by step.

``lr_sequence`` builds the scheduler on a throw-away optimizer and runs the usual loop,
``optimizer.step()`` then ``scheduler.step()``, so what it returns is exactly what
training would see. Handy for plots and for comparing schedules::

    >>> from schedules import CosineAnnealingLR, lr_sequence
    >>> lr_sequence(CosineAnnealingLR, 3, base_lr=1.0, T_max=2).round(4).tolist()
    [1.0, 0.5, 0.0]

The chapters' own schedules also exist as pure functions ``step -> lr`` (see
:mod:`schedules.warmup`), which need no optimizer at all.
"""
from __future__ import annotations

import inspect
from typing import Callable, Optional, Sequence, Union

import numpy as np

import minigrad
import optim

Floats = Union[float, Sequence[float]]


def lr_sequence(scheduler_cls: Callable, steps: int, base_lr: Floats = 0.1, *,
                metrics: Optional[Sequence[float]] = None, optimizer_cls: Optional[Callable] = None,
                optimizer_kwargs: Optional[dict] = None, **kwargs) -> np.ndarray:
    """The learning rate at steps ``0 .. steps-1`` of ``scheduler_cls(optimizer, **kwargs)``.

    Parameters
    ----------
    scheduler_cls : callable
        A scheduler class, or any function ``optimizer -> scheduler`` (for
        ``SequentialLR``, whose inner schedulers need the optimizer too).
    steps : int
        Number of steps to record.
    base_lr : float or list of float, default 0.1
        The optimizer's rate; a list makes one parameter group per value. It is also
        passed on to schedulers that take a ``base_lr`` (``CyclicLR``).
    metrics : sequence of float, optional
        The metric passed to ``step`` at each step (for ``ReduceLROnPlateau``).
    optimizer_cls : callable, optional
        The throw-away optimizer's class (default ``optim.SGD``); e.g. ``optim.Adam`` to
        see beta1 cycled.
    optimizer_kwargs : dict, optional
        Further arguments of the optimizer (``momentum=0.9``, ``betas=...``).
    **kwargs
        Arguments of the scheduler.

    Returns
    -------
    ndarray
        Shape ``(steps,)`` for a single ``base_lr``, ``(steps, groups)`` for a list.
    """
    return _record(scheduler_cls, steps, base_lr, metrics, optimizer_cls, optimizer_kwargs,
                   kwargs)[0]


def momentum_sequence(scheduler_cls: Callable, steps: int, base_lr: Floats = 0.1, *,
                      metrics: Optional[Sequence[float]] = None,
                      optimizer_cls: Optional[Callable] = None,
                      optimizer_kwargs: Optional[dict] = None, **kwargs) -> np.ndarray:
    """Like :func:`lr_sequence`, for the momentum (SGD) or beta1 (Adam) at each step.

    >>> from schedules import OneCycleLR, momentum_sequence
    >>> momentum_sequence(OneCycleLR, 4, max_lr=1.0, total_steps=4, pct_start=0.5,
    ...                   anneal_strategy="linear").round(4).tolist()
    [0.95, 0.85, 0.9, 0.95]
    """
    return _record(scheduler_cls, steps, base_lr, metrics, optimizer_cls, optimizer_kwargs,
                   kwargs)[1]


def _record(scheduler_cls, steps, base_lr, metrics, optimizer_cls, optimizer_kwargs, kwargs):
    if metrics is not None and len(metrics) < steps - 1:
        raise ValueError(f"Expected at least {steps - 1} metrics for {steps} steps, "
                         f"but got {len(metrics)}")
    optimizer = throwaway_optimizer(base_lr, optimizer_cls, **(optimizer_kwargs or {}))
    wanted = inspect.signature(scheduler_cls).parameters.get("base_lr")
    if wanted is not None and wanted.default is inspect.Parameter.empty:
        kwargs = {"base_lr": base_lr, **kwargs}  # CyclicLR's lower rate is the base rate too
    scheduler = scheduler_cls(optimizer, **kwargs)
    lrs, momenta = [], []
    for step in range(steps):
        lrs.append([group["lr"] for group in optimizer.param_groups])
        momenta.append([_momentum(group) for group in optimizer.param_groups])
        if step == steps - 1:
            break  # the next rate is not asked for (and may not exist, e.g. in OneCycleLR)
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
    single = not isinstance(base_lr, (list, tuple))
    lrs, momenta = np.array(lrs, dtype=float), np.array(momenta, dtype=float)
    return (lrs[:, 0], momenta[:, 0]) if single else (lrs, momenta)


def _momentum(group: dict) -> float:
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum", float("nan"))


def throwaway_optimizer(base_lr: Floats = 0.1, optimizer_cls: Optional[Callable] = None,
                        **optimizer_kwargs):
    """An optimizer over one dummy parameter per group, with rates ``base_lr``."""
    optimizer_cls = optimizer_cls or optim.SGD
    rates = list(base_lr) if isinstance(base_lr, (list, tuple)) else [base_lr]
    groups = [{"params": [minigrad.Parameter(np.zeros(1))], "lr": lr} for lr in rates]
    return optimizer_cls(groups, lr=rates[0], **optimizer_kwargs)

"""Which schedulers and optimizers ``fit`` treats specially, recognised by class name.

Class names (looked up along the class's bases) rather than ``isinstance``, so that the
rules hold for any scheduler with these names, ours or PyTorch's, and so that this
package imports neither ``schedules`` nor ``optim``.
"""
from __future__ import annotations

# Schedulers that move every batch; everything else moves once per epoch.
PER_STEP_SCHEDULERS = frozenset({
    "OneCycleLR", "CyclicLR", "WarmupCosineSchedule", "WarmupLinearSchedule",
    "WarmupPolynomialSchedule", "InverseSqrtSchedule", "WarmupStableDecaySchedule"})
# Optimizers whose closure returns the loss with its graph and does no backward.
DIFFERENTIATE_THEMSELVES = frozenset({"SophiaH"})


def class_names(obj) -> set:
    return {cls.__name__ for cls in type(obj).__mro__}


def steps_on_metric(scheduler) -> bool:
    return "ReduceLROnPlateau" in class_names(scheduler)


def default_scheduler_interval(scheduler) -> str:
    """``"step"`` for a scheduler that moves every optimizer step, else ``"epoch"``.

    Per step: ``OneCycleLR``, ``CyclicLR`` and the warmup schedules (and a
    ``SequentialLR``/``ChainedScheduler`` holding one of them); per epoch: the others,
    ``ReduceLROnPlateau`` included.

    Examples
    --------
    >>> import minigrad, optim, schedules
    >>> opt = optim.SGD([minigrad.Parameter([0.0])], lr=0.1)
    >>> default_scheduler_interval(schedules.OneCycleLR(opt, max_lr=1.0, total_steps=10))
    'step'
    >>> default_scheduler_interval(schedules.StepLR(opt, step_size=2))
    'epoch'
    """
    if class_names(scheduler) & PER_STEP_SCHEDULERS:
        return "step"
    inner = getattr(scheduler, "_schedulers", None) or ()
    return "step" if any(default_scheduler_interval(s) == "step" for s in inner) else "epoch"

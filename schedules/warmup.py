"""The warmup schedules the chapters teach and PyTorch lacks.

Each schedule is written once as a pure function ``step -> lr`` (the math, handy for
plots) and wrapped in a scheduler class with PyTorch's interface (the bookkeeping). The
functions return ``base_lr · f(t)``; with the default ``base_lr=1.0`` they return the
multiplier ``f(t)`` itself. All share the same linear warmup over ``W`` steps::

    f(t) = t / W            for t < W     (0 at step 0, as in the chapters and Hugging Face)

and then decay with progress ``p = min(1, (t − W) / (T − W))`` towards a floor
``r = min_lr_ratio`` (they stay at the floor after ``T = total_steps``):

=========================  ==============================================================
``warmup_cosine``          r + (1 − r) · ½ (1 + cos(π p))      Loshchilov & Hutter (2017)
``warmup_linear``          r + (1 − r) · (1 − p)               Devlin et al. (2019), BERT
``warmup_polynomial``      r + (1 − r) · (1 − p)^power
``inverse_sqrt``           sqrt(W / t)                          Vaswani et al. (2017)
``warmup_stable_decay``    1 for S steps, then a decay over D steps   Hu et al. (2024), MiniCPM
=========================  ==============================================================
"""
from __future__ import annotations

import math

from .scheduler import LRScheduler, expect_int, expect_number

DECAY_SHAPES = ("linear", "cosine", "1-sqrt")


# --------------------------------------------------------------------------- the math
def _progress(step: int, start: int, length: int) -> float:
    """How far ``step`` is into a phase of ``length`` steps starting at ``start``: 0 to 1."""
    return min(1.0, (step - start) / max(1, length))


def warmup_cosine(step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0,
                  base_lr: float = 1.0) -> float:
    """Linear warmup, then cosine decay from 1 to ``min_lr_ratio`` at ``total_steps``.

    >>> [round(warmup_cosine(t, warmup_steps=2, total_steps=6), 4) for t in range(7)]
    [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    if step < warmup_steps:
        return base_lr * (step / warmup_steps)
    p = _progress(step, warmup_steps, total_steps - warmup_steps)
    return base_lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def warmup_linear(step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0,
                  base_lr: float = 1.0) -> float:
    """Linear warmup, then linear decay to ``min_lr_ratio`` at ``total_steps`` (BERT's schedule).

    >>> [warmup_linear(t, warmup_steps=2, total_steps=6) for t in range(7)]
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if step < warmup_steps:
        return base_lr * (step / warmup_steps)
    p = _progress(step, warmup_steps, total_steps - warmup_steps)
    return base_lr * (min_lr_ratio + (1 - min_lr_ratio) * (1 - p))


def warmup_polynomial(step: int, *, warmup_steps: int, total_steps: int, power: float = 1.0,
                      min_lr_ratio: float = 0.0, base_lr: float = 1.0) -> float:
    """Linear warmup, then ``(1 − p)^power`` down to ``min_lr_ratio`` at ``total_steps``.

    >>> [warmup_polynomial(t, warmup_steps=2, total_steps=6, power=2.0) for t in range(7)]
    [0.0, 0.5, 1.0, 0.5625, 0.25, 0.0625, 0.0]
    """
    if step < warmup_steps:
        return base_lr * (step / warmup_steps)
    p = _progress(step, warmup_steps, total_steps - warmup_steps)
    return base_lr * (min_lr_ratio + (1 - min_lr_ratio) * (1 - p) ** power)


def inverse_sqrt(step: int, *, warmup_steps: int, base_lr: float = 1.0) -> float:
    """Linear warmup, then decay as ``1 / sqrt(step)``; the peak, ``base_lr``, is at step W.

    The Transformer's rate, ``d_model^-0.5 · min(n^-0.5, n · W^-1.5)`` for update number
    ``n``, is this schedule with ``base_lr = (d_model · W)^-0.5`` and ``n = step``.

    >>> [inverse_sqrt(t, warmup_steps=4) for t in (0, 2, 4, 16, 64)]
    [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    if step < warmup_steps:
        return base_lr * (step / warmup_steps)
    return base_lr * math.sqrt(warmup_steps / step)


def warmup_stable_decay(step: int, *, warmup_steps: int, stable_steps: int, decay_steps: int,
                        min_lr_ratio: float = 0.0, decay_shape: str = "linear",
                        base_lr: float = 1.0) -> float:
    """Warmup, a long stable phase at the peak, then a short decay to ``min_lr_ratio``.

    With ``p`` the progress through the ``decay_steps``, the decay is ``1 − p`` ("linear"),
    ``½ (1 + cos(π p))`` ("cosine") or ``1 − sqrt(p)`` ("1-sqrt").

    >>> [warmup_stable_decay(t, warmup_steps=2, stable_steps=2, decay_steps=2) for t in range(7)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0]
    """
    if step < warmup_steps:
        return base_lr * (step / warmup_steps)
    if step < warmup_steps + stable_steps:
        return base_lr
    p = _progress(step, warmup_steps + stable_steps, decay_steps)
    if decay_shape == "linear":
        decay = 1 - p
    elif decay_shape == "cosine":
        decay = 0.5 * (1 + math.cos(math.pi * p))
    else:  # "1-sqrt"
        decay = 1 - math.sqrt(p)
    return base_lr * (min_lr_ratio + (1 - min_lr_ratio) * decay)


# --------------------------------------------------------------------------- the schedulers
def _check_warmup_total(warmup_steps: int, total_steps: int, min_lr_ratio: float) -> None:
    expect_int("warmup_steps", warmup_steps, minimum=0)
    expect_int("total_steps", total_steps)
    if total_steps < warmup_steps:
        raise ValueError(f"Expected total_steps >= warmup_steps, but got total_steps="
                         f"{total_steps} and warmup_steps={warmup_steps}")
    expect_number("min_lr_ratio", min_lr_ratio, 0.0, 1.0)


class _ClosedFormSchedule(LRScheduler):
    """A scheduler that evaluates a pure ``step -> lr`` function of this file.

    Subclasses name the function (``schedule``) and the attributes passed to it as
    keywords (``settings``); every group gets ``schedule(step, base_lr=its base rate)``.
    """

    schedule = staticmethod(lambda step, base_lr: base_lr)
    settings: tuple = ()

    def get_lr(self) -> list:
        keywords = {name: getattr(self, name) for name in self.settings}
        return [type(self).schedule(self.last_epoch, base_lr=base_lr, **keywords)
                for base_lr in self.base_lrs]


class WarmupCosineSchedule(_ClosedFormSchedule):
    """Linear warmup over ``warmup_steps``, then cosine decay to ``min_lr_ratio · base_lr``.

    The Transformer-era standard (see :func:`warmup_cosine` for the formula)::

        lr_t = base_lr · t / W                                        t < W
        lr_t = base_lr · (r + (1 − r) · ½ (1 + cos(π (t − W) / (T − W))))   W ≤ t ≤ T

    Parameters
    ----------
    warmup_steps : int
        ``W``: steps of linear warmup from 0 (0 for none).
    total_steps : int
        ``T``: the step at which the floor is reached (the rate stays there after).
    min_lr_ratio : float, default 0.0
        ``r``: the floor as a fraction of the base rate, in [0, 1].
    last_epoch : int, default -1
        Step to resume from (see :class:`LRScheduler`).

    Examples
    --------
    >>> from schedules import WarmupCosineSchedule, lr_sequence
    >>> lr_sequence(WarmupCosineSchedule, 7, base_lr=1.0, warmup_steps=2, total_steps=6,
    ...             min_lr_ratio=0.1).round(4).tolist()
    [0.0, 0.5, 1.0, 0.8682, 0.55, 0.2318, 0.1]
    """

    schedule = staticmethod(warmup_cosine)
    settings = ("warmup_steps", "total_steps", "min_lr_ratio")

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0,
                 last_epoch: int = -1) -> None:
        _check_warmup_total(warmup_steps, total_steps, min_lr_ratio)
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        super().__init__(optimizer, last_epoch)



class WarmupLinearSchedule(_ClosedFormSchedule):
    """Linear warmup, then linear decay to ``min_lr_ratio · base_lr`` at ``total_steps``.

    BERT's schedule, Devlin et al. (2019); see :func:`warmup_linear`.

    Examples
    --------
    >>> from schedules import WarmupLinearSchedule, lr_sequence
    >>> lr_sequence(WarmupLinearSchedule, 5, base_lr=1.0, warmup_steps=1, total_steps=3).tolist()
    [0.0, 1.0, 0.5, 0.0, 0.0]
    """

    schedule = staticmethod(warmup_linear)
    settings = ("warmup_steps", "total_steps", "min_lr_ratio")

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0,
                 last_epoch: int = -1) -> None:
        _check_warmup_total(warmup_steps, total_steps, min_lr_ratio)
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        super().__init__(optimizer, last_epoch)



class WarmupPolynomialSchedule(_ClosedFormSchedule):
    """Linear warmup, then polynomial decay ``(1 − p)^power`` (see :func:`warmup_polynomial`).

    Examples
    --------
    >>> from schedules import WarmupPolynomialSchedule, lr_sequence
    >>> lr_sequence(WarmupPolynomialSchedule, 4, base_lr=1.0, warmup_steps=1, total_steps=3,
    ...             power=2.0).tolist()
    [0.0, 1.0, 0.25, 0.0]
    """

    schedule = staticmethod(warmup_polynomial)
    settings = ("warmup_steps", "total_steps", "power", "min_lr_ratio")

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, power: float = 1.0,
                 min_lr_ratio: float = 0.0, last_epoch: int = -1) -> None:
        _check_warmup_total(warmup_steps, total_steps, min_lr_ratio)
        expect_number("power", power, 0.0)
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.power = power
        self.min_lr_ratio = min_lr_ratio
        super().__init__(optimizer, last_epoch)



class InverseSqrtSchedule(_ClosedFormSchedule):
    """The Transformer's schedule: linear warmup, then ``base_lr · sqrt(W / t)``.

    Vaswani et al. (2017), "Attention Is All You Need" (their W = 4000); see
    :func:`inverse_sqrt`.

    Examples
    --------
    >>> from schedules import InverseSqrtSchedule, lr_sequence
    >>> lr_sequence(InverseSqrtSchedule, 5, base_lr=1.0, warmup_steps=1).round(4).tolist()
    [0.0, 1.0, 0.7071, 0.5774, 0.5]
    """

    schedule = staticmethod(inverse_sqrt)
    settings = ("warmup_steps",)

    def __init__(self, optimizer, warmup_steps: int, last_epoch: int = -1) -> None:
        expect_int("warmup_steps", warmup_steps)
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)



class WarmupStableDecaySchedule(_ClosedFormSchedule):
    """Warmup–stable–decay (WSD): Hu et al. (2024), "MiniCPM" (see :func:`warmup_stable_decay`).

    The rate warms up over ``warmup_steps``, stays at the peak for ``stable_steps`` (as long
    as training goes on, without fixing its end in advance), then decays over
    ``decay_steps`` to ``min_lr_ratio · base_lr``.

    Parameters
    ----------
    warmup_steps, stable_steps, decay_steps : int
        Lengths of the three phases (the warmup and the stable phase may be 0).
    min_lr_ratio : float, default 0.0
        The floor reached at the end of the decay, as a fraction of the base rate.
    decay_shape : {"linear", "cosine", "1-sqrt"}, default "linear"
        Shape of the decay (MiniCPM itself annealed exponentially; "1-sqrt" is from
        Hägele et al., 2024).
    last_epoch : int, default -1
        Step to resume from (see :class:`LRScheduler`).

    Examples
    --------
    >>> from schedules import WarmupStableDecaySchedule, lr_sequence
    >>> lr_sequence(WarmupStableDecaySchedule, 6, base_lr=1.0, warmup_steps=1, stable_steps=2,
    ...             decay_steps=2, decay_shape="cosine").tolist()
    [0.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """

    schedule = staticmethod(warmup_stable_decay)
    settings = ("warmup_steps", "stable_steps", "decay_steps", "min_lr_ratio",
                "decay_shape")

    def __init__(self, optimizer, warmup_steps: int, stable_steps: int, decay_steps: int,
                 min_lr_ratio: float = 0.0, decay_shape: str = "linear",
                 last_epoch: int = -1) -> None:
        expect_int("warmup_steps", warmup_steps, minimum=0)
        expect_int("stable_steps", stable_steps, minimum=0)
        expect_int("decay_steps", decay_steps)
        expect_number("min_lr_ratio", min_lr_ratio, 0.0, 1.0)
        if decay_shape not in DECAY_SHAPES:
            raise ValueError(f"decay_shape must be one of {DECAY_SHAPES}, but got {decay_shape!r}")
        self.warmup_steps = warmup_steps
        self.stable_steps = stable_steps
        self.decay_steps = decay_steps
        self.min_lr_ratio = min_lr_ratio
        self.decay_shape = decay_shape
        super().__init__(optimizer, last_epoch)

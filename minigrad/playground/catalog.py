"""What the playground offers: optimizers, their hyper-parameter controls, schedules.

Everything here is discovered from the library rather than listed by hand, so a new
optimizer in ``optim`` or a new landscape in ``minigrad.landscapes`` shows up in the app
without an app change:

* an optimizer is offered when its class is exported by ``optim`` and a few steps on a
  2-D point run without error (Muon needs matrices, SparseAdam sparse gradients, SAM and
  Lookahead wrap another optimizer: those are left out);
* a control (learning rate, momentum, β1, β2, ε, weight decay) is shown for an optimizer
  when its constructor takes the matching argument; the values a control offers are a
  fixed grid, plus the optimizer's default, minus the values the optimizer's own
  validation (its ``ranges``) rejects.

>>> names = optimizer_names()
>>> names[:3]
('SGD', 'Momentum', 'Nesterov')
>>> "Adam" in names and "Muon" not in names
True
>>> sorted(controls_for("Adam"))
['beta1', 'beta2', 'eps', 'lr', 'weight_decay']
>>> controls_for("Adam")["lr"].default
0.001
"""
from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import numpy as np

import optim
import schedules
from minigrad import landscapes
from minigrad.trajectories import run_trajectory

# The learning rate given to optimizers whose ``lr`` has no default (LARS, MomentumEWA).
FALLBACK_LR = 0.01

# Named settings of an optimizer class that the chapters treat as optimizers of their own.
PRESETS: Dict[str, Tuple[str, dict]] = {
    "Momentum": ("SGD", {"momentum": 0.9}),
    "Nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
}


def _decades(low: int, high: int, mantissas=(1, 2, 3, 5)) -> tuple:
    """1, 2, 3, 5 × 10^k for k in [low, high], then 10^(high + 1)."""
    values = [m * 10.0 ** k for k in range(low, high + 1) for m in mantissas]
    return tuple(float(f"{v:.3g}") for v in values) + (10.0 ** (high + 1),)


_DECAY_RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99,
                0.995, 0.999)


@dataclass(frozen=True)
class Control:
    """One slider: a hyper-parameter and the grid of values it may take.

    ``log`` marks a quantity that spans decades (its nearest grid value is found on a
    log scale).
    """

    key: str
    label: str
    grid: tuple
    log: bool = False


CONTROLS: Dict[str, Control] = {c.key: c for c in (
    Control("lr", "learning rate η", _decades(-5, 0), log=True),
    Control("momentum", "momentum", _DECAY_RATES),
    Control("beta1", "β1", _DECAY_RATES),
    Control("beta2", "β2", (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9995,
                            0.9999)),
    Control("eps", "ε", tuple(10.0 ** k for k in range(-12, 0)), log=True),
    Control("weight_decay", "weight decay", (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1,
                                             0.3, 1.0)),
)}


@dataclass(frozen=True)
class SliderSpec:
    """A control as one optimizer shows it: its allowed values and its default."""

    control: Control
    options: tuple
    default: float

    def snap(self, value) -> float:
        """The allowed value nearest to ``value`` (the default when it is not a number).

        >>> spec = controls_for("Adam")["lr"]
        >>> spec.snap(0.0011), spec.snap("oops"), spec.snap(1e9)
        (0.001, 0.001, 10.0)
        """
        try:
            value = float(value)
        except (TypeError, ValueError):
            return self.default
        if not math.isfinite(value):
            return self.default if math.isnan(value) else self.options[-1 if value > 0 else 0]
        grid = np.asarray(self.options, dtype=float)
        if self.control.log and value > 0 and grid[0] > 0:
            distance = np.abs(np.log(grid) - math.log(value))
        else:
            distance = np.abs(grid - value)
        return float(grid[int(np.argmin(distance))])


# --------------------------------------------------------------------------- optimizers
def _is_optimizer_class(obj) -> bool:
    return (isinstance(obj, type) and issubclass(obj, optim.Optimizer)
            and obj is not optim.Optimizer)


def _signature_defaults(cls: type) -> dict:
    """``{argument: default}`` of the constructor (``optim.required`` when none)."""
    parameters = inspect.signature(cls.__init__).parameters
    return {name: (p.default if p.default is not inspect.Parameter.empty else optim.required)
            for name, p in parameters.items() if name != "self"}


def _base_kwargs(cls: type) -> dict:
    """Arguments every run passes: a learning rate when the class has no default one."""
    return {"lr": FALLBACK_LR} if _signature_defaults(cls).get("lr") is optim.required else {}


def _runs_on_a_point(cls: type, kwargs: dict) -> bool:
    """Whether a few steps on a 2-D quadratic run without error."""
    if getattr(cls, "needs_2d", False):
        return False
    try:
        run_trajectory(landscapes.get("ravine"), cls, steps=3, **kwargs)
    except Exception:  # any failure means: not usable on a single 2-D point
        return False
    return True


@functools.lru_cache(maxsize=None)
def _catalog() -> Dict[str, Tuple[type, dict]]:
    """``{label: (optimizer class, preset kwargs)}``, in the order of ``optim.__all__``."""
    entries: Dict[str, Tuple[type, dict]] = {}
    for name in optim.__all__:
        cls = getattr(optim, name)
        if not _is_optimizer_class(cls) or not _runs_on_a_point(cls, _base_kwargs(cls)):
            continue
        entries[name] = (cls, _base_kwargs(cls))
        for label, (base, preset) in PRESETS.items():
            if base == name:
                entries[label] = (cls, {**_base_kwargs(cls), **preset})
    return entries


def optimizer_names() -> tuple:
    """The labels of every optimizer the playground offers (presets after their class)."""
    return tuple(_catalog())


def optimizer_spec(label: str) -> Tuple[type, dict]:
    """``(optimizer class, preset kwargs)`` of a label; KeyError names the choices."""
    catalog = _catalog()
    if label not in catalog:
        raise KeyError(f"unknown optimizer {label!r}; choose from {list(catalog)}")
    cls, preset = catalog[label]
    return cls, dict(preset)


# --------------------------------------------------------------------------- controls
def _control_defaults(cls: type, preset: dict) -> dict:
    """``{control key: default}`` for the arguments of ``cls`` that have a slider."""
    defaults = {**_signature_defaults(cls), **preset}
    found = {}

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if number(defaults.get("lr")):
        found["lr"] = float(defaults["lr"])
    for argument in ("momentum", "beta"):   # MomentumEWA's β is a momentum coefficient
        if number(defaults.get(argument)):
            found["momentum"] = float(defaults[argument])
    betas = defaults.get("betas")
    if isinstance(betas, tuple) and len(betas) == 2 and all(map(number, betas)):
        found["beta1"], found["beta2"] = map(float, betas)
    for key in ("eps", "weight_decay"):
        if number(defaults.get(key)):
            found[key] = float(defaults[key])
    return found


def optimizer_kwargs(label: str, values: Optional[dict] = None) -> Tuple[type, dict]:
    """``(class, kwargs)`` for a run: preset arguments plus the controls' ``values``.

    >>> cls, kwargs = optimizer_kwargs("Adam", {"lr": 0.1, "beta2": 0.99})
    >>> cls.__name__, kwargs
    ('Adam', {'lr': 0.1, 'betas': (0.9, 0.99)})
    """
    cls, kwargs = optimizer_spec(label)
    values = dict(values or {})
    defaults = _control_defaults(cls, kwargs)
    if "lr" in values:
        kwargs["lr"] = values["lr"]
    if "momentum" in values:
        kwargs["beta" if "beta" in _signature_defaults(cls) else "momentum"] = values["momentum"]
    if "beta1" in values or "beta2" in values:
        kwargs["betas"] = (values.get("beta1", defaults.get("beta1")),
                           values.get("beta2", defaults.get("beta2")))
    for key in ("eps", "weight_decay"):
        if key in values:
            kwargs[key] = values[key]
    return cls, kwargs


def _accepts(label: str, key: str, value: float) -> bool:
    """Whether the optimizer's own validation accepts ``value`` for control ``key``."""
    cls, kwargs = optimizer_kwargs(label, {key: value})
    try:
        cls([_probe_parameter()], **kwargs)
    except (ValueError, TypeError):
        return False
    return True


def _probe_parameter():
    """A fresh (2,) parameter to build optimizers on."""
    from minigrad import Parameter

    return Parameter(np.zeros(2))


@functools.lru_cache(maxsize=None)
def _controls(label: str) -> Dict[str, SliderSpec]:
    cls, preset = optimizer_spec(label)
    specs = {}
    for key, default in _control_defaults(cls, preset).items():
        control = CONTROLS[key]
        candidates = sorted(set(control.grid) | {default})
        options = tuple(v for v in candidates if _accepts(label, key, v))
        if default in options:
            specs[key] = SliderSpec(control, options, default)
    return specs


def controls_for(label: str) -> Dict[str, SliderSpec]:
    """``{control key: SliderSpec}``: the sliders shown for one optimizer."""
    return dict(_controls(label))


# --------------------------------------------------------------------------- schedules
ScheduleFactory = Callable[[object, int], object]

SCHEDULES: Dict[str, Optional[ScheduleFactory]] = {
    "constant": None,
    "StepLR": lambda opt, steps: schedules.StepLR(opt, step_size=max(1, steps // 3)),
    "ExponentialLR": lambda opt, steps: schedules.ExponentialLR(
        opt, gamma=0.01 ** (1.0 / max(1, steps))),
    "CosineAnnealingLR": lambda opt, steps: schedules.CosineAnnealingLR(opt, T_max=max(1, steps)),
    "CosineAnnealingWarmRestarts": lambda opt, steps: schedules.CosineAnnealingWarmRestarts(
        opt, T_0=max(1, steps // 4)),
    "OneCycleLR": lambda opt, steps: schedules.OneCycleLR(
        opt, max_lr=opt.param_groups[0]["lr"], total_steps=max(1, steps),
        cycle_momentum=False),
    "WarmupCosineSchedule": lambda opt, steps: schedules.WarmupCosineSchedule(
        opt, warmup_steps=steps // 10, total_steps=max(1, steps)),
    "WarmupStableDecaySchedule": lambda opt, steps: schedules.WarmupStableDecaySchedule(
        opt, warmup_steps=steps // 10, stable_steps=steps // 2,
        decay_steps=max(1, steps - steps // 10 - steps // 2)),
    "InverseSqrtSchedule": lambda opt, steps: schedules.InverseSqrtSchedule(
        opt, warmup_steps=max(1, steps // 10)),
}
"""Learning-rate schedules from :mod:`schedules`, each sized to the run's length."""


def landscape_names() -> tuple:
    """Every landscape of :mod:`minigrad.landscapes`, in its registry order."""
    return tuple(landscapes.LANDSCAPES)

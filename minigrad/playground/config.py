"""A playground configuration and its round trip through URL query parameters.

A configuration is what the controls show: the surface, the optimizers and their
hyper-parameters, a schedule, the number of steps and the start point. It travels in the
URL as flat ``key=value`` pairs, so a link reproduces the view::

    ?surface=rosenbrock&opt=Adam,SGD&steps=300&Adam.lr=0.01&start=-1.5,2

Reading never fails: unknown names are dropped, numbers are snapped to the nearest value
a control allows, and each thing that was ignored is reported in plain words.

>>> config = Config(surface="beale", optimizers=("Adam",), values={"Adam": {"lr": 0.01}})
>>> to_query_params(config)
{'surface': 'beale', 'opt': 'Adam', 'steps': '300', 'Adam.lr': '0.01'}
>>> from_query_params(to_query_params(config))[0] == config
True
>>> for note in from_query_params({"surface": "moon", "Adam.lr": "-3"})[1]:
...     print(note)
unknown surface 'moon' (using 'rosenbrock')
Adam.lr='-3' is not allowed; using 1e-05
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Dict, List, Mapping, Optional, Tuple

from minigrad import landscapes

from .catalog import SCHEDULES, controls_for, landscape_names, optimizer_names

MIN_STEPS, MAX_STEPS = 1, 2000
DEFAULT_OPTIMIZERS = ("SGD", "Momentum", "RMSprop", "Adam")


@dataclass(frozen=True)
class Config:
    """Everything the page shows, as plain values.

    ``values`` maps an optimizer label to the controls set away from their defaults
    (``{"Adam": {"lr": 0.01}}``); ``start`` None means the surface's classic start.
    """

    surface: str = "rosenbrock"
    optimizers: Tuple[str, ...] = DEFAULT_OPTIMIZERS
    values: Dict[str, Dict[str, float]] = field(default_factory=dict)
    schedule: str = "constant"
    steps: int = 300
    start: Optional[Tuple[float, float]] = None

    def value(self, label: str, key: str) -> float:
        """The value of control ``key`` of optimizer ``label`` (its default if unset)."""
        return self.values.get(label, {}).get(key, controls_for(label)[key].default)

    def start_point(self) -> Tuple[float, float]:
        """The start point, the surface's classic one when none is set."""
        if self.start is not None:
            return self.start
        x, y = landscapes.get(self.surface).start
        return float(x), float(y)


def start_limits(surface: str) -> Tuple[Tuple[float, float], Tuple[float, float]]:
    """The allowed start box: the surface's plotting bounds widened by half each side.

    >>> start_limits("rosenbrock")
    ((-4.0, 4.0), (-3.0, 5.0))
    """
    limits = []
    for low, high in landscapes.get(surface).bounds:
        half = 0.5 * (high - low)
        limits.append((float(low - half), float(high + half)))
    return tuple(limits)


def _number(text: str) -> str:
    return format(float(text), "g")


def to_query_params(config: Config) -> Dict[str, str]:
    """The configuration as flat string pairs; defaults are left out to keep URLs short."""
    params = {"surface": config.surface, "opt": ",".join(config.optimizers),
              "steps": str(int(config.steps))}
    if config.schedule != "constant":
        params["schedule"] = config.schedule
    if config.start is not None:
        params["start"] = ",".join(_number(v) for v in config.start)
    for label in config.optimizers:
        specs = controls_for(label)
        for key, value in sorted(config.values.get(label, {}).items()):
            if key in specs and value != specs[key].default:
                params[f"{label}.{key}"] = _number(value)
    return params


def _first(value) -> str:
    """st.query_params gives strings; plain dicts may give lists: take the last entry."""
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def _read_steps(text: str, notes: List[str]) -> int:
    try:
        steps = float(text)
    except ValueError:
        notes.append(f"steps {text!r} is not a number (using {Config.steps})")
        return Config.steps
    if not math.isfinite(steps):
        notes.append(f"steps {text!r} is not finite (using {Config.steps})")
        return Config.steps
    clipped = int(min(max(round(steps), MIN_STEPS), MAX_STEPS))
    if clipped != steps:
        notes.append(f"steps {text!r} moved into [{MIN_STEPS}, {MAX_STEPS}]: {clipped}")
    return clipped


def _read_start(text: str, surface: str, notes: List[str]) -> Optional[Tuple[float, float]]:
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError:
        notes.append(f"start {text!r} is not two numbers 'x,y' (using the classic start)")
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        notes.append(f"start {text!r} is not finite (using the classic start)")
        return None
    (x0, x1), (y0, y1) = start_limits(surface)
    clipped = (min(max(x, x0), x1), min(max(y, y0), y1))
    if clipped != (x, y):
        notes.append(f"start {text!r} moved into the box [{x0}, {x1}] × [{y0}, {y1}]")
    return clipped


def from_query_params(params: Mapping) -> Tuple[Config, List[str]]:
    """``(Config, notes)`` from query parameters; never raises on bad values.

    Each ignored or corrected entry adds a sentence to ``notes``.
    """
    params = {str(k): _first(v) for k, v in params.items()}
    notes: List[str] = []
    default = Config()
    surface = params.get("surface", default.surface)
    if surface not in landscape_names():
        notes.append(f"unknown surface {surface!r} (using {default.surface!r})")
        surface = default.surface
    known = optimizer_names()
    optimizers = default.optimizers
    if "opt" in params:
        asked = [name.strip() for name in params["opt"].split(",") if name.strip()]
        for name in asked:
            if name not in known:
                notes.append(f"unknown optimizer {name!r} ignored")
        optimizers = tuple(dict.fromkeys(name for name in asked if name in known))
    schedule = params.get("schedule", default.schedule)
    if schedule not in SCHEDULES:
        notes.append(f"unknown schedule {schedule!r} (using 'constant')")
        schedule = default.schedule
    steps = _read_steps(params["steps"], notes) if "steps" in params else default.steps
    start = _read_start(params["start"], surface, notes) if "start" in params else None
    values: Dict[str, Dict[str, float]] = {}
    for name, text in params.items():
        label, dot, key = name.rpartition(".")
        if not dot:
            continue
        specs = controls_for(label) if label in optimizers else {}
        if key not in specs:
            notes.append(f"parameter {name!r} ignored (no such control)")
            continue
        value = specs[key].snap(text)
        if _number(value) != _safe_number(text):
            notes.append(f"{name}={text!r} is not allowed; using {value:g}")
        if value != specs[key].default:
            values.setdefault(label, {})[key] = value
    return replace(default, surface=surface, optimizers=optimizers, values=values,
                   schedule=schedule, steps=steps, start=start), notes


def _safe_number(text: str) -> str:
    try:
        return _number(text)
    except ValueError:
        return text

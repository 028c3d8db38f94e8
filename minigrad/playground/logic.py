"""The playground's computation: runs, the per-iteration table, its CSV, a summary.

Each optimizer runs through :func:`minigrad.trajectories.run_trajectory`, the same loop
the chapters' figures use. Its state is read after every step by a step post-hook,
registered by the scheduler factory that ``run_trajectory`` calls with the optimizer, so
the table shows exactly what the optimizer holds: row t is the point θ_t after t steps,
f(θ_t), the rate η_t used by step t, and the state after step t (m_t, v_t, ...). For
Adam-style state the bias-corrected averages are added:

    m̂_t = m_t / (1 − β1^t),    v̂_t = v_t / (1 − β2^t).

A run that diverges (the loss stops being finite or the point leaves radius 1e8) stops
there: the rows after it are empty and its ``status`` column says ``diverged``.

>>> from minigrad.playground.config import Config
>>> runs = run_config(Config(surface="ravine", optimizers=("Adam",), steps=5))
>>> table = iteration_table(runs)
>>> table["optimizer"][:2], [round(v, 3) for v in table["x"][:2]]
(['Adam', 'Adam'], [-4.5, -4.499])
>>> "m_hat_x" in table and "exp_avg_sq_y" in table
True
"""
from __future__ import annotations

import csv
import io
import math
from typing import Dict, List, Optional

import numpy as np

from minigrad import landscapes
from minigrad.trajectories import run_trajectory, steps_to_reach

from .catalog import SCHEDULES, optimizer_kwargs
from .config import Config


def _state_vectors(state: dict, state_names: tuple) -> Dict[str, np.ndarray]:
    """Copies of the (2,)-shaped state arrays, by name."""
    vectors = {}
    for name in state_names:
        value = state.get(name)
        if isinstance(value, np.ndarray) and value.shape == (2,):
            vectors[name] = value.astype(np.float64, copy=True)
    return vectors


def _adam_counters(state: dict, group: dict) -> tuple:
    """``(t, β1, β2)`` when the state is Adam-style (``exp_avg``, ``exp_avg_sq``, ``step``
    and a ``betas`` group entry), else ``(nan, nan, nan)``."""
    if "exp_avg_sq" in state and "exp_avg" in state and "step" in state and "betas" in group:
        beta1, beta2 = group["betas"]
        return float(state["step"]), float(beta1), float(beta2)
    return (math.nan,) * 3


def bias_corrected(exp_avg: np.ndarray, exp_avg_sq: np.ndarray, counters: np.ndarray):
    """m̂ = m / (1 − β1^t) and v̂ = v / (1 − β2^t), row by row.

    ``counters`` has one row ``(t, β1, β2)`` per row of the (n, 2) averages.

    >>> m, v = bias_corrected(np.array([[0.1, 0.2]]), np.array([[0.001, 0.004]]),
    ...                       np.array([[1.0, 0.9, 0.999]]))
    >>> m.round(6).tolist(), v.round(6).tolist()
    ([[1.0, 2.0]], [[1.0, 4.0]])
    """
    t, beta1, beta2 = (counters[:, i:i + 1] for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        return exp_avg / (1.0 - beta1 ** t), exp_avg_sq / (1.0 - beta2 ** t)


def _recorder(record: dict, schedule: Optional[str], steps: int):
    """A scheduler factory for run_trajectory that also records lr and state per step."""
    make_schedule = SCHEDULES[schedule] if schedule else None

    def factory(optimizer):
        param = optimizer.param_groups[0]["params"][0]
        names = tuple(getattr(type(optimizer), "state_names", ()))

        def after_step(opt, args, kwargs) -> None:
            group = opt.param_groups[0]
            state = opt.state.get(param, {})
            record["lr"].append(math.nan if group.get("lr") is None else float(group["lr"]))
            record["state"].append(_state_vectors(state, names))
            record["counters"].append(_adam_counters(state, group))

        optimizer.register_step_post_hook(after_step)
        return make_schedule(optimizer, steps) if make_schedule is not None else None

    return factory


def first_nonfinite(path: np.ndarray) -> Optional[int]:
    """Index of the first row of ``path`` that is not finite (None if all are).

    >>> first_nonfinite(np.array([[0.0, 1.0], [np.nan, np.nan]]))
    1
    """
    bad = np.flatnonzero(~np.isfinite(path).all(axis=1))
    return int(bad[0]) if bad.size else None


def run_one(label: str, values: dict, surface: str, steps: int, start, schedule: str) -> dict:
    """One optimizer's run: run_trajectory's result plus ``lr``, ``state``, ``stopped_at``
    (the first step whose point is not usable, or None) and ``error`` (a message when the
    optimizer refused its settings; then the path is empty)."""
    landscape = landscapes.get(surface)
    record: dict = {"lr": [], "state": [], "counters": []}
    cls, kwargs = optimizer_kwargs(label, values)
    try:
        with np.errstate(all="ignore"):  # overflow on the way out is what divergence is
            run = run_trajectory(landscape, cls, steps, start=start, name=label,
                                 scheduler=_recorder(record, schedule, steps), **kwargs)
    except Exception as error:  # shown next to the plot; the other runs still draw
        empty = np.full((steps + 1, 2), np.nan)
        return {"name": label, "path": empty, "loss": empty[:, 0].copy(), "diverged": False,
                "lr": empty[:, 0].copy(), "state": {}, "stopped_at": 0,
                "error": f"{type(error).__name__}: {error}"}
    run["stopped_at"] = first_nonfinite(run["path"])
    run["error"] = None
    run["lr"], run["state"] = _per_row(record, steps, run["stopped_at"])
    return run


def _per_row(record: dict, steps: int, stopped_at: Optional[int]):
    """Align recorded steps with rows: row t holds what step t left (row 0: nothing)."""
    rows = steps + 1
    done = max((rows if stopped_at is None else stopped_at) - 1, 0)  # usable steps
    lr = np.full(rows, np.nan)
    lr[1: 1 + done] = record["lr"][:done]
    snapshots = record["state"][:done]
    missing = np.full(2, np.nan)
    state = {}
    for name in dict.fromkeys(name for snapshot in snapshots for name in snapshot):
        state[name] = np.full((rows, 2), np.nan)
        if done:
            state[name][1: 1 + done] = [snapshot.get(name, missing) for snapshot in snapshots]
    if done and "exp_avg" in state and "exp_avg_sq" in state:
        counters = np.array(record["counters"][:done], dtype=float)
        state["m_hat"], state["v_hat"] = (np.full((rows, 2), np.nan) for _ in range(2))
        state["m_hat"][1: 1 + done], state["v_hat"][1: 1 + done] = bias_corrected(
            state["exp_avg"][1: 1 + done], state["exp_avg_sq"][1: 1 + done], counters)
        if np.isnan(counters[:, 0]).all():   # not Adam-style after all
            del state["m_hat"], state["v_hat"]
    return lr, state


def run_config(config: Config) -> List[dict]:
    """Every chosen optimizer's run, in the order chosen."""
    start = config.start_point()
    return [run_one(label, config.values.get(label, {}), config.surface, config.steps, start,
                    config.schedule) for label in config.optimizers]


def iteration_table(runs: List[dict]) -> Dict[str, list]:
    """The per-iteration table of all runs, long format, as ``{column: list}``.

    Columns: ``optimizer``, ``step``, ``x``, ``y``, ``loss``, ``lr``, ``status``, then each
    state vector as two columns (``exp_avg_x``, ``exp_avg_y``, ...). A cell a run does not
    have is NaN. ``status`` is ``"start"`` on row 0, ``"diverged"`` on the row where a
    run stopped, ``"error"`` when it could not start, and empty otherwise; rows after a
    stop are left out.
    """
    state_names = list(dict.fromkeys(name for run in runs for name in run["state"]))
    parts = [_run_columns(run, state_names) for run in runs]
    columns = ["optimizer", "step", "x", "y", "loss", "lr", "status"]
    columns += [f"{name}_{axis}" for name in state_names for axis in "xy"]
    return {column: [v for part in parts for v in part[column]] for column in columns}


def _run_columns(run: dict, state_names: list) -> Dict[str, list]:
    """The table's columns for one run (see :func:`iteration_table`)."""
    rows = len(run["loss"]) if run["stopped_at"] is None else run["stopped_at"] + 1
    status = [""] * rows
    status[0] = "start"
    if run["error"] is not None:
        status[0] = "error"
    elif run["stopped_at"] is not None:
        status[-1] = "diverged"
    columns = {"optimizer": [run["name"]] * rows, "step": list(range(rows)),
               "x": run["path"][:rows, 0].tolist(), "y": run["path"][:rows, 1].tolist(),
               "loss": run["loss"][:rows].tolist(), "lr": run["lr"][:rows].tolist(),
               "status": status}
    nowhere = np.full((rows, 2), np.nan)
    for name in state_names:
        vectors = run["state"].get(name, nowhere)[:rows]
        columns[f"{name}_x"], columns[f"{name}_y"] = vectors[:, 0].tolist(), vectors[:, 1].tolist()
    return columns


def table_csv(table: Dict[str, list]) -> str:
    """The table as CSV text (NaN written as an empty cell).

    >>> print(table_csv({"step": [0, 1], "x": [1.5, float("nan")]}), end="")
    step,x
    0,1.5
    1,
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    for row in zip(*table.values()):
        writer.writerow(["" if isinstance(v, float) and math.isnan(v) else
                         (repr(v) if isinstance(v, float) else v) for v in row])
    return out.getvalue()


def summary(runs: List[dict], surface: str, threshold: float = 0.01) -> List[dict]:
    """One row per run: final point and loss, steps to get within ``threshold`` of the
    minimum value (when the surface knows it), and where the run stopped, in words."""
    min_value = landscapes.get(surface).min_value
    rows = []
    for run in runs:
        finite = run["loss"][np.isfinite(run["loss"])]
        if run["error"] is not None:
            outcome = run["error"]
        elif run["stopped_at"] is not None:
            outcome = f"diverged at step {run['stopped_at']}: the path stops there"
        else:
            outcome = "finished"
        reached = (steps_to_reach(finite, threshold, min_value)
                   if min_value is not None and finite.size else None)
        last = run["path"][len(finite) - 1] if finite.size else (math.nan, math.nan)
        rows.append({"optimizer": run["name"], "final x": float(last[0]),
                     "final y": float(last[1]),
                     "final loss": float(finite[-1]) if finite.size else math.nan,
                     f"steps to loss − min < {threshold:g}": reached, "outcome": outcome})
    return rows

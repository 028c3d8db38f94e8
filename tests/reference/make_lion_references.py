"""Regenerate ``lion_trajectories.npz`` from pytorch_optimizer's Lion (run by hand).

    python tests/reference/make_lion_references.py

The tests read only the npz (the cases, as JSON, and the trajectories), so they run
without torch or pytorch_optimizer. pytorch_optimizer's ``Lion`` is configured as the
authors' rule: ``weight_decouple=True`` (θ ← (1 − ηλ)·θ), ``fixed_decay=False`` (the
decay scaled by η), and its per-parameter loop (``foreach=False``).

Float64, the problems of ``problems.py`` (quadratic, rosenbrock and mlp), two
parameter groups with their own learning rates, the parameters after each step of
``RECORDED_STEPS``.
"""
from __future__ import annotations

import json
import pathlib
import sys
from importlib.metadata import version

import numpy as np
import pytorch_optimizer
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import problems  # noqa: E402

STEPS = 60
RECORDED_STEPS = (1, 2, 5, 20, 60)

# Learning rates of problems.groups(problem)[0] and [1].
CASES = [
    {"name": "lion_default_betas",
     "lrs": {"quadratic": [0.05, 0.02], "rosenbrock": [0.01, 0.005], "mlp": [0.02, 0.01]},
     "kwargs": {"betas": [0.9, 0.99], "weight_decay": 0.0}},
    {"name": "lion_decay",
     "lrs": {"quadratic": [0.03, 0.05], "rosenbrock": [0.02, 0.01], "mlp": [0.01, 0.03]},
     "kwargs": {"betas": [0.95, 0.98], "weight_decay": 0.5}},
]


def run_case(case: dict, problem: str) -> np.ndarray:
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in problems.start(problem)]
    groups = [{"params": [params[i] for i in indices], "lr": lr}
              for indices, lr in zip(problems.groups(problem), case["lrs"][problem])]
    optimizer = pytorch_optimizer.Lion(
        groups, betas=tuple(case["kwargs"]["betas"]),
        weight_decay=case["kwargs"]["weight_decay"], weight_decouple=True,
        fixed_decay=False, foreach=False)
    return problems.record_trajectory(optimizer, params, lambda: problems.loss(problem, params, torch), STEPS, RECORDED_STEPS)


def main() -> None:
    torch.set_default_dtype(torch.float64)
    arrays = {f"{case['name']}/{problem}": run_case(case, problem)
              for case in CASES for problem in problems.PROBLEMS}
    meta = {"cases": CASES, "steps": STEPS, "recorded_steps": list(RECORDED_STEPS),
            "problems": list(problems.PROBLEMS)}
    out = HERE / "lion_trajectories.npz"
    np.savez_compressed(out, meta=np.array(json.dumps(meta)),
                        pytorch_optimizer_version=np.array(version("pytorch_optimizer")),
                        **arrays)
    print(f"wrote {len(arrays)} trajectories to {out} with pytorch_optimizer "
          f"{version('pytorch_optimizer')}")


if __name__ == "__main__":
    main()

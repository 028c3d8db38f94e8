"""Regenerate ``adafactor_trajectories.npz`` from ``torch.optim.Adafactor`` (run by hand).

    python tests/reference/make_adafactor_references.py

The tests read only the npz (the cases as JSON, the trajectories, and the data of the
``tensor3`` problem), so they run without torch. Float64; two parameter groups with
their own learning rates; the parameters after each step of ``RECORDED_STEPS``.

Problems: ``quadratic`` and ``mlp`` from ``problems.py`` (a vector and a 2×2 matrix; a
4-6-3 network, weights in one group, biases in the other), and ``tensor3``, a separable
quadratic ½·Σ a·(x − c)² on a 2×3×4 parameter (factored over its last two dimensions)
and a length-4 vector, whose a, c and starting points are stored in the npz.
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import problems  # noqa: E402

STEPS = 50
RECORDED_STEPS = (1, 10, 50)
PROBLEM_NAMES = ("quadratic", "mlp", "tensor3")

# Learning rates of group 0 and group 1. lr caps ρ = min(lr, 1/√t): 0.3 makes the cap
# bind for t < 12 and 1/√t afterwards; 0.05 binds throughout. The learning rates keep
# every trajectory well conditioned (a 1e-14 change of the start moves step 50 by less
# than 1e-9 relative): climbing the mlp's loss with lr 0.1 on the weights would not be.
CASES = [
    {"name": "defaults", "lrs": [0.3, 0.05], "kwargs": {}},
    {"name": "weight_decay_d", "lrs": [0.3, 0.05],
     "kwargs": {"weight_decay": 0.1, "d": 2.0}},
    {"name": "maximize_eps", "lrs": [0.02, 0.1],
     "kwargs": {"maximize": True, "eps": [1e-3, 0.5]}},
    {"name": "beta2_decay", "lrs": [0.2, 0.05],
     "kwargs": {"beta2_decay": -0.5, "eps": [1e-12, 1e-3]}},
    {"name": "no_history", "lrs": [0.05, 0.3],
     "kwargs": {"beta2_decay": 0.0, "weight_decay": 0.5}},
]


def tensor3_data() -> dict:
    rng = np.random.default_rng(2018)
    return {"tensor3_start_0": rng.standard_normal((2, 3, 4)),
            "tensor3_start_1": rng.standard_normal(4),
            "tensor3_a_0": rng.uniform(0.5, 5.0, (2, 3, 4)),
            "tensor3_a_1": rng.uniform(0.5, 5.0, 4),
            "tensor3_c_0": rng.standard_normal((2, 3, 4)),
            "tensor3_c_1": rng.standard_normal(4)}


def start(problem: str, data: dict) -> list:
    if problem == "tensor3":
        return [data["tensor3_start_0"], data["tensor3_start_1"]]
    return problems.start(problem)


def groups(problem: str) -> list:
    return [[0], [1]] if problem == "tensor3" else problems.groups(problem)


def loss(problem: str, params: list, data: dict):
    if problem == "tensor3":
        return sum(0.5 * (torch.tensor(data[f"tensor3_a_{i}"])
                          * (p - torch.tensor(data[f"tensor3_c_{i}"])) ** 2).sum()
                   for i, p in enumerate(params))
    return problems.loss(problem, params, torch)


def run_case(case: dict, problem: str, data: dict) -> np.ndarray:
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in start(problem, data)]
    param_groups = [{"params": [params[i] for i in indices], "lr": lr}
                    for indices, lr in zip(groups(problem), case["lrs"])]
    kwargs = dict(case["kwargs"])
    if "eps" in kwargs:
        kwargs["eps"] = tuple(kwargs["eps"])
    optimizer = torch.optim.Adafactor(param_groups, foreach=False, **kwargs)
    return problems.record_trajectory(optimizer, params, lambda: loss(problem, params, data), STEPS, RECORDED_STEPS)


def main() -> None:
    torch.set_default_dtype(torch.float64)
    data = tensor3_data()
    arrays = {f"{case['name']}/{problem}": run_case(case, problem, data)
              for case in CASES for problem in PROBLEM_NAMES}
    meta = {"cases": CASES, "steps": STEPS, "recorded_steps": list(RECORDED_STEPS),
            "problems": list(PROBLEM_NAMES)}
    out = HERE / "adafactor_trajectories.npz"
    np.savez_compressed(out, meta=np.array(json.dumps(meta)),
                        torch_version=np.array(torch.__version__), **data, **arrays)
    print(f"wrote {len(arrays)} trajectories to {out} with torch {torch.__version__}")


if __name__ == "__main__":
    main()

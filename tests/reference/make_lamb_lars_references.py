"""Regenerate ``lamb_lars_trajectories.npz`` from pytorch_optimizer (run by hand).

    python tests/reference/make_lamb_lars_references.py

The tests read only the npz (the cases, as JSON, and the trajectories), so they run
without torch or pytorch_optimizer. Each case is written in this project's arguments;
``to_pytorch_optimizer`` translates it to the configuration of pytorch_optimizer's
``Lamb`` / ``LARS`` that computes the same rule:

* LAMB: ``weight_decouple=False`` (λθ added to the Adam ratio, as in the paper),
  ``adam_debias=True`` (no 1/(1 − β1^t) on the step) with our ``bias_correction=False``
  (pytorch_optimizer never corrects v), ``adam=False``, ``pre_norm=False``,
  ``rectify=False``, and its class attribute ``clamp`` set to our ``clamp_value``
  (infinity for None). ``eps=0`` because pytorch_optimizer divides by ‖r‖ + ε in the
  trust ratio where the paper divides by ‖r‖.
* LARS: pytorch_optimizer leaves every parameter with fewer than two dimensions out of
  the rescaling and the decay, which is our ``lars_exclude`` group for those
  parameters; ``eps=0`` because its ratio has no ε; ``dampening=0``.

Float64, the problems of ``problems.py`` (quadratic and mlp), two parameter groups with
their own learning rates, the parameters after each step of ``RECORDED_STEPS``.
"""
from __future__ import annotations

import json
import math
from importlib.metadata import version
import pathlib
import sys

import numpy as np
import pytorch_optimizer
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import problems  # noqa: E402

STEPS = 50
RECORDED_STEPS = (1, 2, 5, 10, 25, 50)
PROBLEM_NAMES = ("quadratic", "mlp")

# Learning rates of problems.groups(problem)[0] and [1]. For LARS the quadratic's
# group 0 and the mlp's group 1 hold the 1-D parameters, which take plain SGD steps.
CASES = [
    {"name": "lamb_decay", "optimizer": "LAMB",
     "lrs": {"quadratic": [0.05, 0.02], "mlp": [0.05, 0.02]},
     "kwargs": {"betas": [0.9, 0.999], "eps": 0.0, "weight_decay": 0.01,
                "bias_correction": False, "clamp_value": None}},
    {"name": "lamb_clamp", "optimizer": "LAMB",
     "lrs": {"quadratic": [0.05, 0.02], "mlp": [0.05, 0.02]},
     "kwargs": {"betas": [0.8, 0.99], "eps": 0.0, "weight_decay": 0.1,
                "bias_correction": False, "clamp_value": 0.5}},
    {"name": "lars_momentum", "optimizer": "LARS",
     "lrs": {"quadratic": [0.02, 1.0], "mlp": [2.0, 0.2]},
     "kwargs": {"momentum": 0.9, "eps": 0.0, "weight_decay": 0.001,
                "trust_coefficient": 0.02, "nesterov": False}},
    {"name": "lars_nesterov", "optimizer": "LARS",
     "lrs": {"quadratic": [0.02, 1.0], "mlp": [2.0, 0.2]},
     "kwargs": {"momentum": 0.8, "eps": 0.0, "weight_decay": 0.01,
                "trust_coefficient": 0.01, "nesterov": True}},
]


def to_pytorch_optimizer(case: dict, groups: list):
    kwargs = dict(case["kwargs"])
    if case["optimizer"] == "LAMB":
        clamp = kwargs.pop("clamp_value")
        assert kwargs.pop("bias_correction") is False
        opt = pytorch_optimizer.Lamb(
            groups, betas=tuple(kwargs["betas"]), eps=kwargs["eps"],
            weight_decay=kwargs["weight_decay"], weight_decouple=False, adam_debias=True,
            adam=False, pre_norm=False, rectify=False, grad_averaging=True, foreach=False)
        opt.clamp = math.inf if clamp is None else clamp
        return opt
    return pytorch_optimizer.LARS(
        groups, momentum=kwargs["momentum"], weight_decay=kwargs["weight_decay"],
        trust_coefficient=kwargs["trust_coefficient"], nesterov=kwargs["nesterov"],
        dampening=0.0, foreach=False)


def run_case(case: dict, problem: str) -> np.ndarray:
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in problems.start(problem)]
    groups = [{"params": [params[i] for i in indices], "lr": lr}
              for indices, lr in zip(problems.groups(problem), case["lrs"][problem])]
    optimizer = to_pytorch_optimizer(case, groups)
    return problems.record_trajectory(optimizer, params, lambda: problems.loss(problem, params, torch), STEPS, RECORDED_STEPS)


def main() -> None:
    torch.set_default_dtype(torch.float64)
    arrays = {f"{case['name']}/{problem}": run_case(case, problem)
              for case in CASES for problem in PROBLEM_NAMES}
    meta = {"cases": CASES, "steps": STEPS, "recorded_steps": list(RECORDED_STEPS),
            "problems": list(PROBLEM_NAMES)}
    out = HERE / "lamb_lars_trajectories.npz"
    np.savez_compressed(out, meta=np.array(json.dumps(meta)),
                        pytorch_optimizer_version=np.array(version("pytorch_optimizer")),
                        **arrays)
    print(f"wrote {len(arrays)} trajectories to {out} with pytorch_optimizer "
          f"{version('pytorch_optimizer')}")


if __name__ == "__main__":
    main()

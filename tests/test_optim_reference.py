"""Every optimizer follows PyTorch's trajectory (stored in tests/reference) to ~1e-10."""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import minigrad
import optim

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import optim_cases  # noqa: E402
import problems  # noqa: E402

TRAJECTORIES = np.load(REFERENCE / "optim_trajectories.npz")


def run_case(case: dict, problem: str) -> np.ndarray:
    params = [minigrad.tensor(a, dtype=np.float64, requires_grad=True)
              for a in problems.start(problem)]
    optimizer = getattr(optim, case["optimizer"])(
        optim_cases.param_groups(case, problem, params), **case["kwargs"])

    def closure():
        optimizer.zero_grad()
        value = problems.loss(problem, params, minigrad)
        value.backward()
        return value

    steps = optim_cases.STEPS_OF.get(case["optimizer"], optim_cases.STEPS)
    rows = []
    for step in range(steps + 1):
        if step in optim_cases.RECORDED_STEPS:
            rows.append(np.concatenate([p.data.ravel() for p in params]))
        if step < steps:
            optimizer.step(closure)
    return np.array(rows)


@pytest.mark.parametrize("problem", problems.PROBLEMS)
@pytest.mark.parametrize("case", optim_cases.CASES, ids=[c["name"] for c in optim_cases.CASES])
def test_trajectory_matches_pytorch(case, problem):
    expected = TRAJECTORIES[f"{case['name']}/{problem}"]
    actual = run_case(case, problem)
    assert actual.shape == expected.shape
    scale = np.maximum(np.abs(expected), 1.0)
    worst = np.max(np.abs(actual - expected) / scale)
    assert worst < 1e-10, f"{case['name']} on {problem}: largest relative difference {worst:.3g}"


def test_every_pytorch_optimizer_has_reference_cases():
    covered = {case["optimizer"] for case in optim_cases.CASES}
    assert covered == set(optim.PYTORCH_OPTIMIZERS)

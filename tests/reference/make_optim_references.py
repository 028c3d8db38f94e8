"""Regenerate ``optim_trajectories.npz`` from PyTorch (run by hand; the tests never need torch).

    python tests/reference/make_optim_references.py

For every case of ``optim_cases.py`` and every problem of ``problems.py``: float64,
two param groups with different learning rates, and the parameters (flattened and
concatenated) after each step listed in ``RECORDED_STEPS``.
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import optim_cases  # noqa: E402
import problems  # noqa: E402


def run_case(case: dict, problem: str) -> np.ndarray:
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in problems.start(problem)]
    optimizer = getattr(torch.optim, case["optimizer"])(
        optim_cases.param_groups(case, problem, params), **case["kwargs"])

    def closure():
        optimizer.zero_grad()
        value = problems.loss(problem, params, torch)
        value.backward()
        return value

    steps = optim_cases.STEPS_OF.get(case["optimizer"], optim_cases.STEPS)
    recorded = [s for s in optim_cases.RECORDED_STEPS if s <= steps]
    rows = []
    for step in range(steps + 1):
        if step in recorded:
            rows.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        if step < steps:
            optimizer.step(closure)
    return np.array(rows)


def main() -> None:
    torch.set_default_dtype(torch.float64)
    arrays = {}
    for case in optim_cases.CASES:
        for problem in problems.PROBLEMS:
            arrays[f"{case['name']}/{problem}"] = run_case(case, problem)
    out = HERE / "optim_trajectories.npz"
    np.savez_compressed(out, torch_version=np.array(torch.__version__), **arrays)
    print(f"wrote {len(arrays)} trajectories to {out} with torch {torch.__version__}")


if __name__ == "__main__":
    main()

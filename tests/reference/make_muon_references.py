"""Regenerate ``muon_trajectories.npz`` from ``torch.optim.Muon`` (run by hand).

    python tests/reference/make_muon_references.py

The tests read only the .npz file: they need no torch.

PyTorch runs Muon's Newton–Schulz iteration in bfloat16, even on the CPU; NumPy has no
bfloat16, so ``optim.Muon`` runs it in the parameter's dtype. To get float64 references,
``Tensor.bfloat16`` is made a plain copy (no dtype change) while PyTorch's own
``Muon.step`` runs: every other line of PyTorch's code (momentum, Nesterov, the
Newton–Schulz products, the learning-rate adjustment, weight decay) runs unchanged, in
float64. One configuration is also stored
as PyTorch computes it, in bfloat16, for a loose comparison.

The problem: two matrices, one wide (2×3) and one tall (4×2), each in its own parameter
group (the second with a larger learning rate), and the loss
``Σ ½·A∘(W − T)² + 0.05·W⁴`` summed over both; 30 steps, the parameters (flattened,
concatenated) after the steps in ``RECORDED_STEPS`` are stored as ``float64``
(configuration × recorded step × value) and ``bfloat16`` (the default configuration,
PyTorch unchanged); the configurations, in that order, as JSON under ``cases``; the
problem's arrays packed in ``problem`` (see ``pack``). The tests read only this file.
"""
from __future__ import annotations

import contextlib
import json
import pathlib

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
SHAPES = ((2, 3), (4, 2))
STEPS = 30
RECORDED_STEPS = (0, 1, 2, 5, 10, 30)
SECOND_GROUP = {"lr": 0.05}   # the tall matrix's group
CONFIGS = {
    "default": dict(lr=0.02),
    "no_nesterov": dict(lr=0.02, nesterov=False, momentum=0.9),
    "match_rms_adamw": dict(lr=0.02, adjust_lr_fn="match_rms_adamw", weight_decay=0.2),
    "original_no_decay": dict(lr=0.03, adjust_lr_fn="original", weight_decay=0.0),
    "convergent_ns_no_momentum": dict(lr=0.02, momentum=0.0, ns_coefficients=(1.875, -1.25, 0.375),
                                      ns_steps=8, eps=1e-3),
}


def problem() -> dict:
    """Start points, curvatures A and targets T of the two matrices (fixed seed)."""
    rng = np.random.default_rng(2024)
    arrays = {}
    for k, shape in enumerate(SHAPES):
        arrays[f"start{k}"] = rng.normal(size=shape)
        arrays[f"curvature{k}"] = rng.uniform(1.0, 4.0, size=shape)
        arrays[f"target{k}"] = rng.normal(size=shape)
    return arrays


def loss(params, data):
    total = 0.0
    for k, w in enumerate(params):
        diff = w - data[f"target{k}"]
        total = total + (0.5 * data[f"curvature{k}"] * diff * diff + 0.05 * w ** 4).sum()
    return total


@contextlib.contextmanager
def newton_schulz_in_float64():
    """Make ``Tensor.bfloat16`` return a copy in the same dtype while the block runs.

    A copy, as the real conversion makes one: PyTorch's iteration then divides it in
    place, which must not touch the momentum buffer (Nesterov off).
    """
    original = torch.Tensor.bfloat16
    torch.Tensor.bfloat16 = lambda self, *args, **kwargs: self.clone()
    try:
        yield
    finally:
        torch.Tensor.bfloat16 = original


def run(kwargs: dict, data: dict) -> np.ndarray:
    tensors = {key: torch.tensor(value) for key, value in data.items()}
    params = [torch.tensor(data[f"start{k}"], requires_grad=True) for k in range(len(SHAPES))]
    groups = [{"params": [params[0]]}, {"params": [params[1]], **SECOND_GROUP}]
    optimizer = torch.optim.Muon(groups, **kwargs)
    rows = []
    for step in range(STEPS + 1):
        if step in RECORDED_STEPS:
            rows.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        if step < STEPS:
            optimizer.zero_grad()
            loss(params, tensors).backward()
            optimizer.step()
    return np.array(rows)


def main() -> None:
    data = problem()
    with newton_schulz_in_float64():
        trajectories = {name: run(kwargs, data) for name, kwargs in CONFIGS.items()}
    bfloat16 = run(CONFIGS["default"], data)
    cases = {"configs": CONFIGS, "second_group": SECOND_GROUP, "steps": STEPS,
             "recorded_steps": RECORDED_STEPS, "shapes": SHAPES}
    out = HERE / "muon_trajectories.npz"
    np.savez_compressed(out, torch_version=np.array(torch.__version__),
                        cases=np.array(json.dumps(cases)), problem=pack(data),
                        float64=np.stack(list(trajectories.values())), bfloat16=bfloat16)
    print(f"wrote {len(trajectories) + 1} trajectories to {out} with torch {torch.__version__}")


def pack(data: dict) -> np.ndarray:
    """The problem as one array of three rows: start, curvature and target, each the
    matrices flattened and concatenated."""
    return np.stack([np.concatenate([data[f"{key}{k}"].ravel() for k in range(len(SHAPES))])
                     for key in ("start", "curvature", "target")])


if __name__ == "__main__":
    main()

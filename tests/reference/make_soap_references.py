"""Regenerate ``soap_trajectories.npz`` from ``pytorch_optimizer.SOAP`` (run by hand).

    python tests/reference/make_soap_references.py

The tests read only the .npz file: they need neither torch nor pytorch_optimizer.

pytorch_optimizer's SOAP follows the authors' code (github.com/nikhilvyas/SOAP) step for
step: the first step only gathers statistics, eigh for the first bases, one power
iteration + QR every ``precondition_frequency`` updates with the second moments
reordered, decoupled decay after the step, the authors' rule for merging axes (in the
cases used here; its rule differs for an axis above the limit). It differs in:

* the QR input is cast to float32, as in the authors' code. Lifted here: the module's
  ``torch.float32`` is made ``torch.float64`` while the references run, so the
  trajectories are float64 throughout (``optim.SOAP`` keeps the parameter's dtype);
* ``normalize_grads`` divides by the update's RMS + ε (the authors: + 1e-30), so that
  option is not stored here (the tests check it against their own transcription);
* with ``merge_dims`` it reshapes a 1-D parameter of size n to (1,), which fails: the
  vector (parameter 1) is left out of those runs (no gradient, never stepped);
* its argument names (``max_precondition_dim``, ``normalize_gradient``,
  ``shampoo_beta=None`` for "use β2"): translated below.

The problem: a wide and a tall matrix, a 2-vector and a 4-D tensor, in two groups (the
tall matrix alone, with twice the learning rate), and the loss
``Σ ½·A∘(W − T − ½·sin(t + φ))² + 0.05·W⁴``, whose targets move with the step t:
with fixed targets the first update would rotate the very gradient its bases were
built from, and the rotated gradient's zero entries would be rounding noise that
Adam's division amplifies (each library's noise differs). 30 steps; the parameters (flattened,
concatenated) after the steps in ``RECORDED_STEPS`` are stored as ``trajectories``
(configuration × recorded step × value), the configurations, in that order, as JSON
under ``cases``, and the problem's arrays packed in ``problem`` (see ``pack``).
"""
from __future__ import annotations

import importlib.metadata
import json
import pathlib

import numpy as np
import torch
import pytorch_optimizer
import pytorch_optimizer.optimizer.soap as soap_module

HERE = pathlib.Path(__file__).resolve().parent
SHAPES = ((2, 3), (2,), (2, 3, 1, 2), (3, 2))  # the last one is the second group
STEPS = 30
RECORDED_STEPS = (2, 10, 30)
SECOND_GROUP = {"lr_factor": 2.0, "weight_decay": 0.05}
CONFIGS = {
    "authors_defaults": {},
    "frequent_refresh": dict(lr=0.01, precondition_frequency=3),
    "betas_shampoo_beta_decay": dict(lr=0.01, betas=(0.9, 0.99), shampoo_beta=0.8,
                                     weight_decay=0.1, precondition_frequency=4),
    "no_bias_correction": dict(lr=0.02, correct_bias=False, precondition_frequency=5),
    "precondition_1d": dict(lr=0.01, precondition_1d=True, precondition_frequency=3),
    "max_precond_dim": dict(lr=0.01, max_precond_dim=2, precondition_frequency=2),
    "merge_dims": dict(lr=0.01, merge_dims=True, max_precond_dim=4, precondition_frequency=3),
    "merge_dims_channels_last": dict(lr=0.01, merge_dims=True, max_precond_dim=4,
                                     data_format="channels_last", precondition_frequency=3),
}
NAMES = {"max_precond_dim": "max_precondition_dim", "normalize_grads": "normalize_gradient"}


def problem() -> dict:
    """Start points, curvatures A, targets T and phases φ (fixed seed)."""
    rng = np.random.default_rng(2409)
    arrays = {}
    for k, shape in enumerate(SHAPES):
        arrays[f"start{k}"] = rng.normal(size=shape)
        arrays[f"curvature{k}"] = rng.uniform(1.0, 4.0, size=shape)
        arrays[f"target{k}"] = rng.normal(size=shape)
        arrays[f"phase{k}"] = rng.uniform(0.0, 2 * np.pi, size=shape)
    return arrays


def loss(params, data, step: int, left_out=()):
    total = 0.0
    for k, w in enumerate(params):
        if k in left_out:
            continue
        target = torch.tensor(data[f"target{k}"] + 0.5 * np.sin(step + data[f"phase{k}"]))
        diff = w - target
        total = total + (0.5 * torch.tensor(data[f"curvature{k}"]) * diff * diff
                         + 0.05 * w ** 4).sum()
    return total


class _Float64Torch:
    """``torch`` with ``float32`` meaning ``float64`` (lifts the QR's float32 cast)."""

    float32 = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


def run(kwargs: dict, data: dict) -> np.ndarray:
    kwargs = {NAMES.get(k, k): v for k, v in kwargs.items()}
    params = [torch.tensor(data[f"start{k}"], requires_grad=True) for k in range(len(SHAPES))]
    left_out = (1,) if kwargs.get("merge_dims") else ()
    stepped = [p for k, p in enumerate(params) if k not in left_out]
    lr = kwargs.get("lr", 3e-3)
    second = {"lr": lr * SECOND_GROUP["lr_factor"], "weight_decay": SECOND_GROUP["weight_decay"]}
    groups = [{"params": stepped[:-1]}, {"params": stepped[-1:], **second}]
    optimizer = pytorch_optimizer.SOAP(groups, **kwargs)
    rows = []
    for step in range(STEPS + 1):
        if step in RECORDED_STEPS:
            rows.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        if step < STEPS:
            optimizer.zero_grad()
            loss(params, data, step, left_out).backward()
            optimizer.step()
    return np.array(rows)


def main() -> None:
    data = problem()
    soap_module.torch = _Float64Torch()
    try:
        trajectories = np.stack([run(kwargs, data) for kwargs in CONFIGS.values()])
    finally:
        soap_module.torch = torch
    cases = {"configs": CONFIGS, "second_group": SECOND_GROUP, "steps": STEPS,
             "recorded_steps": RECORDED_STEPS, "shapes": SHAPES}
    out = HERE / "soap_trajectories.npz"
    version = importlib.metadata.version("pytorch_optimizer")
    np.savez_compressed(out, pytorch_optimizer_version=np.array(version),
                        cases=np.array(json.dumps(cases)), problem=pack(data),
                        trajectories=trajectories)
    print(f"wrote {len(trajectories)} trajectories to {out} with pytorch_optimizer {version}")


def pack(data: dict) -> np.ndarray:
    """The problem as one array of four rows: start, curvature, target and phase, each
    the parameters' arrays flattened and concatenated."""
    return np.stack([np.concatenate([data[f"{key}{k}"].ravel() for k in range(len(SHAPES))])
                     for key in ("start", "curvature", "target", "phase")])


if __name__ == "__main__":
    main()

"""Regenerate ``sparse_adam_trajectories.npz`` from PyTorch (run by hand; tests never need torch).

    python tests/reference/make_sparse_adam_references.py

The problem: a 12 x 3 float64 table ``nn.Embedding(12, 3, padding_idx=0, sparse=True)``
(row 0 starts nonzero, to show that it never moves), ``STEPS`` steps of
``torch.optim.SparseAdam``. Every step calls ``zero_grad(set_to_none=False)``, then,
except at the steps in ``EMPTY_STEPS``, two backward passes on two batches of 8 ids
drawn from 0..9 (so rows 10 and 11 are never seen, ids repeat, some ids carry a zero
weight). The loss of one batch is Σ_j c_j·‖w[id_j] − T_j‖² + 0.1·Σ w[id_j]³, with
T and c given by ``targets`` below (the test computes them the same way).
Recorded: the table after the steps in ``RECORDED_STEPS``, and the final moments and
step count, for two settings (``CASES``).
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
STEPS = 20
EMPTY_STEPS = (11,)
RECORDED_STEPS = (1, 2, 5, 10, 11, 12, 20)
CASES = {"default": dict(lr=0.05),
         "maximize": dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6, maximize=True)}


def targets(step: int, call: int) -> tuple:
    """Targets T (8, 3) and weights c (8,) of batch ``call`` at ``step`` (NumPy, float64)."""
    j = np.arange(8)[:, None]
    k = np.arange(3)[None, :]
    T = np.sin(0.3 * step + 0.7 * j + 1.3 * k + 0.5 * call)
    c = (np.arange(8) % 4 != 1).astype(np.float64)
    return T, c


def run(weight0: np.ndarray, ids: np.ndarray, kwargs: dict) -> dict:
    emb = torch.nn.Embedding(12, 3, padding_idx=0, sparse=True, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(weight0))
    opt = torch.optim.SparseAdam(emb.parameters(), **kwargs)
    sign = -1.0 if kwargs.get("maximize", False) else 1.0
    recorded = []
    for step in range(1, STEPS + 1):
        opt.zero_grad(set_to_none=False)
        if step not in EMPTY_STEPS:
            for call in range(2):
                T, c = targets(step, call)
                out = emb(torch.from_numpy(ids[step - 1, call].astype(np.int64)))
                T, c = torch.from_numpy(T), torch.from_numpy(c)
                loss = (c[:, None] * (out - T) ** 2).sum() + 0.1 * (out ** 3).sum()
                (sign * loss).backward()
        opt.step()
        if step in RECORDED_STEPS:
            recorded.append(emb.weight.detach().numpy().copy())
    state = opt.state[emb.weight]
    return {"weights": np.stack(recorded), "exp_avg": state["exp_avg"].numpy().copy(),
            "exp_avg_sq": state["exp_avg_sq"].numpy().copy(), "step": np.int64(state["step"])}


def main() -> None:
    rng = np.random.default_rng(2024)
    weight0 = rng.normal(size=(12, 3))
    ids = rng.integers(0, 10, size=(STEPS, 2, 8)).astype(np.int8)
    arrays = {"weight0": weight0, "ids": ids}
    for name, kwargs in CASES.items():
        for key, value in run(weight0, ids, kwargs).items():
            arrays[f"{name}/{key}"] = value
    np.savez_compressed(HERE / "sparse_adam_trajectories.npz", **arrays)


if __name__ == "__main__":
    main()

"""Regenerate ``schedule_sequences.npz`` from PyTorch (run by hand; the tests never need torch).

    python tests/reference/make_schedule_references.py

For every case of ``schedule_cases.py``: a float64 optimizer (SGD with momentum, or Adam)
with two param groups, driven by ``schedule_cases.run``; stores ``<case>/lr`` and
``<case>/momentum``, arrays of shape (steps, groups).
"""
from __future__ import annotations

import pathlib
import sys
import warnings

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import schedule_cases  # noqa: E402


def main() -> None:
    torch.set_default_dtype(torch.float64)
    arrays = {}
    for case in schedule_cases.CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecated epoch argument of some cases
            optimizer = schedule_cases.make_optimizer(
                case, torch.optim, lambda: torch.zeros(1, requires_grad=True))
            _, lrs, momenta = schedule_cases.run(case, optimizer, torch.optim.lr_scheduler)
        arrays[f"{case['name']}/lr"] = lrs
        arrays[f"{case['name']}/momentum"] = momenta
    out = HERE / "schedule_sequences.npz"
    np.savez_compressed(out, torch_version=np.array(torch.__version__), **arrays)
    print(f"wrote {len(schedule_cases.CASES)} sequences to {out} with torch {torch.__version__}")


if __name__ == "__main__":
    main()

"""Regenerate ``swa_references.npz`` from PyTorch (run by hand; the tests never need torch).

    python tests/reference/make_swa_references.py

Everything in float64 on the CPU:

State dicts are stored flat: the values of every entry, in state-dict order, raveled and
joined into one float64 vector (the names are in ``<what>/names``).

* ``weights``: (k, n), a sequence of state dicts (parameters and BatchNorm buffers) of the
  model ``Linear(3, 4) → BatchNorm1d(4) → ReLU → Linear(4, 2)``;
  ``averaged/<case>``: (k, n + 1), the ``AveragedModel`` state dict after averaging
  weights 0..k, for the cases of ``AVERAGING_CASES``;
* ``swalr/<case>``: learning rates (steps, groups) of ``SWALR`` for ``SWALR_CASES``;
* ``bn/<case>/...``: a model's state before and after ``update_bn``, its batches, and its
  output on ``check_input`` in eval mode afterwards.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np
import torch
from torch import nn
from torch.optim import swa_utils

HERE = pathlib.Path(__file__).resolve().parent
SEQUENCE_LENGTH = 4
AVERAGING_CASES = {
    # name: (averaging keyword arguments, use_buffers)
    "swa": ({}, False),
    "swa_buffers": ({}, True),
    "ema_avg_fn": ({"avg_fn": swa_utils.get_ema_avg_fn(0.9)}, True),
    "ema_multi": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.9)}, True),
    "ema_multi_075": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.75)}, False),
}
SWALR_STEPS = 14
BASE_LRS = (0.1, 0.02)
SWALR_CASES = {
    f"{strategy}_{epochs}": {"swa_lr": 0.05, "anneal_epochs": epochs,
                             "anneal_strategy": strategy}
    for strategy in ("cos", "linear") for epochs in (0, 1, 3, 10)
}
SWALR_CASES["cos_per_group"] = {"swa_lr": [0.05, 0.001], "anneal_epochs": 4,
                                "anneal_strategy": "cos"}
SWALR_CASES["linear_default"] = {"swa_lr": 0.3, "anneal_strategy": "linear"}
SWITCH_AFTER = 6  # "switch": CosineAnnealingLR(T_max=10) for 6 steps, then SWALR


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def random_state(model: nn.Module, rng: np.random.Generator, k: int) -> dict:
    state = {}
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = np.array(3 * k + 1, dtype=np.int64)
        elif name.endswith("running_var"):
            state[name] = rng.uniform(0.5, 2.0, size=tuple(value.shape))
        else:
            state[name] = rng.normal(size=tuple(value.shape))
    return state


def flat(state: dict) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in state.values()])


def numpy_state(model: nn.Module) -> dict:
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def averaging(arrays: dict, rng: np.random.Generator) -> None:
    model = mlp()
    sequence = [random_state(model, rng, k) for k in range(SEQUENCE_LENGTH)]
    arrays["weights"] = np.stack([flat(state) for state in sequence])
    arrays["weights/names"] = np.array(list(sequence[0]))
    for case, (kwargs, use_buffers) in AVERAGING_CASES.items():
        averaged = swa_utils.AveragedModel(model, use_buffers=use_buffers, **kwargs)
        rows = []
        for state in sequence:
            model.load_state_dict({n: torch.from_numpy(np.array(v)) for n, v in state.items()})
            averaged.update_parameters(model)
            rows.append(flat(numpy_state(averaged)))
        arrays[f"averaged/{case}"] = np.stack(rows)
    arrays["averaged/names"] = np.array(list(averaged.state_dict()))


def swalr_sequence(case: dict) -> np.ndarray:
    params = [torch.zeros(1, requires_grad=True) for _ in BASE_LRS]
    optimizer = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, BASE_LRS)])
    scheduler = swa_utils.SWALR(optimizer, **case)
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(SWALR_STEPS - 1):
        optimizer.step()
        scheduler.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
    return np.array(lrs)


def switch_sequence() -> np.ndarray:
    params = [torch.zeros(1, requires_grad=True) for _ in BASE_LRS]
    optimizer = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, BASE_LRS)])
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(SWITCH_AFTER):
        optimizer.step()
        cosine.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
    swa = swa_utils.SWALR(optimizer, swa_lr=0.01, anneal_epochs=3)
    lrs.append([g["lr"] for g in optimizer.param_groups])
    for _ in range(5):
        optimizer.step()
        swa.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
    return np.array(lrs)


def batch_norm_case(arrays: dict, name: str, model: nn.Module, shapes: list,
                    rng: np.random.Generator) -> None:
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(7, dtype=np.int64)
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, size=tuple(value.shape))
        else:
            state[key] = rng.normal(size=tuple(value.shape))
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    batches = [rng.normal(loc=1.0, scale=2.0, size=shape) for shape in shapes]
    model.eval()
    swa_utils.update_bn([(torch.from_numpy(x), torch.zeros(len(x))) for x in batches], model)
    check = rng.normal(size=shapes[0])
    with torch.no_grad():
        output = model(torch.from_numpy(check)).numpy()
    arrays[f"bn/{name}/before"] = flat(state)
    arrays[f"bn/{name}/names"] = np.array(list(state))
    arrays[f"bn/{name}/batches"] = np.concatenate(batches)
    arrays[f"bn/{name}/batch_sizes"] = np.array([len(x) for x in batches])
    arrays[f"bn/{name}/after"] = flat(numpy_state(model))
    arrays[f"bn/{name}/check_input"] = check
    arrays[f"bn/{name}/check_output"] = output


def main() -> None:
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    rng = np.random.default_rng(2018)
    arrays: dict = {}
    averaging(arrays, rng)
    for case, kwargs in SWALR_CASES.items():
        arrays[f"swalr/{case}"] = swalr_sequence(kwargs)
    arrays["swalr/switch"] = switch_sequence()
    batch_norm_case(arrays, "mlp", mlp(), [(6, 3), (6, 3), (6, 3), (4, 3)], rng)
    conv = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=0.3), nn.ReLU())
    batch_norm_case(arrays, "conv", conv, [(3, 2, 4, 4), (2, 2, 4, 4)], rng)
    out = HERE / "swa_references.npz"
    np.savez_compressed(out, torch_version=np.array(torch.__version__), **arrays)
    size = math.ceil(out.stat().st_size / 1024)
    print(f"wrote {len(arrays)} arrays ({size} KB) to {out} with torch {torch.__version__}")


if __name__ == "__main__":
    main()

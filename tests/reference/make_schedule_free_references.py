"""Regenerate ``schedule_free_trajectories.npz`` from the authors' ``schedulefree`` package.

    python tests/reference/make_schedule_free_references.py

Run by hand (needs torch and schedulefree); the tests read only the npz, which holds
everything they need:

* ``cases``: the configurations, as JSON (optimizer, keyword arguments, the overrides of
  group 1, and external learning-rate changes ``{step: factor}`` applied to every group);
* ``problem/<name>/a``, ``/b``, ``/start``, ``/sizes``: f(θ) = ½·θᵀAθ − bᵀθ on the
  concatenation θ of the parameters (sizes given), gradient Aθ − b;
* ``<problem>/train`` and ``/eval``, one row per case (in the order of ``cases``): the
  parameters (concatenated) at ``recorded_steps``, in train mode (y) and, after
  ``optimizer.eval()``, in eval mode (x) — the run then calls ``optimizer.train()`` and
  goes on, so the round trip is part of the trajectory; ``/z``: the final z;
  ``/groups``: per group, the final ``k, weight_sum, lr_max, scheduled_lr``.

``quadratic`` has one group; ``two_groups`` puts its two parameters in two groups, the
second with half the learning rate and the case's overrides. Everything is float64.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
STEPS = 60
RECORDED_STEPS = (0, 1, 2, 5, 10, 20, 40, 60)
GROUP_KEYS = ("k", "weight_sum", "lr_max", "scheduled_lr")


def _case(name, optimizer, group1=None, lr_changes=None, **kwargs):
    return {"name": name, "optimizer": optimizer, "kwargs": kwargs,
            "group1": group1 or {}, "lr_changes": lr_changes or {}}


CASES = [
    _case("sgd_plain", "SGDScheduleFree", lr=0.2),
    _case("sgd_warmup", "SGDScheduleFree", lr=0.3, warmup_steps=10),
    _case("sgd_weight_decay", "SGDScheduleFree", lr=0.2, weight_decay=0.05),
    _case("sgd_polynomial", "SGDScheduleFree", lr=0.2, momentum=0.5, r=1.0,
          weight_lr_power=0.0),
    _case("sgd_everything", "SGDScheduleFree", {"warmup_steps": 3, "weight_decay": 0.0},
          lr=0.25, momentum=0.7, weight_decay=0.01, warmup_steps=8, r=0.5,
          weight_lr_power=1.0),
    _case("sgd_external_lr_drop", "SGDScheduleFree", lr_changes={"25": 0.5, "45": 0.2},
          lr=0.2, warmup_steps=5),
    _case("adamw_plain", "AdamWScheduleFree", lr=0.05),
    _case("adamw_warmup", "AdamWScheduleFree", lr=0.1, warmup_steps=10),
    _case("adamw_weight_decay", "AdamWScheduleFree", lr=0.05, weight_decay=0.1),
    _case("adamw_betas_eps", "AdamWScheduleFree", lr=0.05, betas=(0.7, 0.95), eps=1e-3),
    _case("adamw_polynomial", "AdamWScheduleFree", lr=0.05, r=2.0, weight_lr_power=0.0),
    _case("adamw_everything", "AdamWScheduleFree", {"warmup_steps": 2, "r": 0.0},
          lr=0.08, betas=(0.8, 0.99), weight_decay=0.02, warmup_steps=6, r=1.0,
          weight_lr_power=3.0, lr_changes={"30": 0.3}),
]


def _problems() -> dict:
    rng = np.random.default_rng(2024)
    problems = {}
    for name, sizes, eigenvalues in (("quadratic", [4], [0.5, 1.0, 2.0, 4.0]),
                                     ("two_groups", [2, 1], [0.5, 1.5, 3.0])):
        n = sum(sizes)
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        problems[name] = {"a": q @ np.diag(eigenvalues) @ q.T, "b": rng.standard_normal(n),
                          "start": rng.standard_normal(n), "sizes": np.array(sizes)}
    return problems


def run_case(case: dict, problem: dict) -> dict:
    import schedulefree
    import torch

    pieces = np.split(problem["start"], np.cumsum(problem["sizes"])[:-1])
    params = [torch.tensor(piece, dtype=torch.float64, requires_grad=True) for piece in pieces]
    groups = [{"params": [params[0]]}]
    if len(params) == 2:
        lr = case["kwargs"]["lr"] * 0.5
        groups.append({"params": [params[1]], "lr": lr, **case["group1"]})
    opt = getattr(schedulefree, case["optimizer"])(groups, foreach=False, **case["kwargs"])
    opt.train()
    a, b = problem["a"], problem["b"]
    train_rows, eval_rows = [], []
    for step in range(STEPS + 1):
        if step in RECORDED_STEPS:
            train_rows.append(np.concatenate([p.detach().numpy().copy() for p in params]))
            opt.eval()
            eval_rows.append(np.concatenate([p.detach().numpy().copy() for p in params]))
            opt.train()
        if step == STEPS:
            break
        for group in opt.param_groups:
            group["lr"] *= case["lr_changes"].get(str(step), 1.0)
        theta = np.concatenate([p.detach().numpy() for p in params])
        grads = np.split(a @ theta - b, np.cumsum(problem["sizes"])[:-1])
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    z = np.concatenate([opt.state[p]["z"].numpy() for p in params])
    counters = np.array([[float(g[key]) for key in GROUP_KEYS] for g in opt.param_groups])
    return {"train": np.array(train_rows), "eval": np.array(eval_rows), "z": z,
            "groups": counters}


def main() -> None:
    from importlib.metadata import version

    import torch

    torch.set_default_dtype(torch.float64)
    problems = _problems()
    arrays = {"cases": np.array(json.dumps(CASES)),
              "recorded_steps": np.array(RECORDED_STEPS), "steps": np.array(STEPS),
              "schedulefree_version": np.array(version("schedulefree"))}
    for name, problem in problems.items():
        for key, value in problem.items():
            arrays[f"problem/{name}/{key}"] = value
    for name, problem in problems.items():
        runs = [run_case(case, problem) for case in CASES]
        for key in runs[0]:
            arrays[f"{name}/{key}"] = np.stack([run[key] for run in runs])
    out = HERE / "schedule_free_trajectories.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(CASES) * len(problems)} trajectories to {out}")


if __name__ == "__main__":
    main()

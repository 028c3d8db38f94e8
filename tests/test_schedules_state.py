"""Checkpoints: a schedule resumed from state dicts mid-way continues bit for bit.

The usual recipe, as in PyTorch: build a fresh optimizer and scheduler, then load the
optimizer's state dict, then the scheduler's (here through pickle, as a file would).
"""
from __future__ import annotations

import pathlib
import pickle
import sys

import numpy as np
import pytest

import minigrad
import optim
import schedules

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "reference"))

import schedule_cases  # noqa: E402

CASES = schedule_cases.CASES
SPLIT = 137  # resume in the middle of every schedule


def new_optimizer(case: dict):
    return schedule_cases.make_optimizer(case, optim, lambda: minigrad.Parameter(np.zeros(1)))


@pytest.mark.filterwarnings("ignore:The epoch parameter")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_resume_from_state_dicts_is_bit_identical(case):
    _, full_lrs, full_momenta = schedule_cases.run(case, new_optimizer(case), schedules)

    first = new_optimizer(case)
    scheduler, _, _ = schedule_cases.run(case, first, schedules, stop=SPLIT)
    saved = pickle.dumps({"optimizer": first.state_dict(), "scheduler": scheduler.state_dict()})

    second = new_optimizer(case)
    resumed, _, _ = schedule_cases.run(case, second, schedules, stop=0)  # fresh, not stepped
    checkpoint = pickle.loads(saved)
    second.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    lrs, momenta = schedule_cases.drive(case, second, resumed, SPLIT, case["steps"])

    assert np.array_equal(lrs, full_lrs[SPLIT:])
    assert np.array_equal(momenta, full_momenta[SPLIT:])


def sgd(lr=0.1, groups=1, momentum=0.0):
    return optim.SGD([{"params": [minigrad.Parameter(np.zeros(1))], "lr": lr}
                      for _ in range(groups)], lr=lr, momentum=momentum)


def test_state_dict_leaves_out_the_optimizer_and_is_a_copy():
    opt = sgd()
    scheduler = schedules.MultiStepLR(opt, milestones=[2, 4])
    state = scheduler.state_dict()
    assert "optimizer" not in state
    assert state["last_epoch"] == 0 and state["base_lrs"] == [0.1]
    for _ in range(5):
        opt.step()
        scheduler.step()
    assert state["last_epoch"] == 0 and state["_last_lr"] == [0.1]  # unchanged by later steps
    assert scheduler.state_dict()["last_epoch"] == 5


def test_load_state_dict_does_not_alias_the_dict():
    opt = sgd()
    scheduler = schedules.StepLR(opt, step_size=3)
    state = scheduler.state_dict()
    scheduler.load_state_dict(state)
    state["base_lrs"].append(99.0)
    assert scheduler.base_lrs == [0.1]


def test_callable_object_lambdas_keep_their_attributes_but_functions_are_not_saved():
    opt = sgd(groups=2)
    scheduler = schedules.LambdaLR(opt, [schedule_cases.Staircase(drop=0.3, every=5),
                                         lambda t: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"drop": 0.3, "every": 5}, None]

    fresh = schedules.LambdaLR(sgd(groups=2), [schedule_cases.Staircase(), lambda t: 1.0])
    fresh.load_state_dict(state)
    assert fresh.lr_lambdas[0].drop == 0.3 and fresh.lr_lambdas[0].every == 5
    assert state["lr_lambdas"] == [{"drop": 0.3, "every": 5}, None]  # the dict is left whole


def test_cyclic_scale_fn_object_is_saved_and_function_is_not():
    class Halving:
        def __init__(self, base=0.5):
            self.base = base

        def __call__(self, cycle):
            return self.base ** (cycle - 1)

    scheduler = schedules.CyclicLR(sgd(), 0.01, 0.1, step_size_up=4, scale_fn=Halving(0.25))
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] == {"base": 0.25}
    pickle.dumps(state)
    fresh = schedules.CyclicLR(sgd(), 0.01, 0.1, step_size_up=4, scale_fn=Halving())
    fresh.load_state_dict(state)
    assert fresh._scale_fn_custom.base == 0.25

    with_function = schedules.CyclicLR(sgd(), 0.01, 0.1, scale_fn=lambda x: 1.0)
    assert with_function.state_dict()["_scale_fn_custom"] is None


def test_composite_state_dicts_nest_the_inner_schedulers():
    opt = sgd()
    warmup = schedules.LinearLR(opt, start_factor=0.1, total_iters=5)
    decay = schedules.ExponentialLR(opt, gamma=0.9)
    sequential = schedules.SequentialLR(opt, [warmup, decay], milestones=[5])
    state = sequential.state_dict()
    assert [inner["last_epoch"] for inner in state["_schedulers"]] == [0, -1]
    assert "optimizer" not in state["_schedulers"][0]
    chained = schedules.ChainedScheduler([schedules.StepLR(opt, 2)])
    assert len(chained.state_dict()["_schedulers"]) == 1

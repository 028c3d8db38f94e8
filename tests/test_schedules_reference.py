"""Every PyTorch scheduler follows PyTorch's own sequences (stored in tests/reference) to 1e-12.

The sequences come from ``tests/reference/make_schedule_references.py`` (torch 2.13, CPU);
the tests themselves never import torch. For each case both the learning rate and the
momentum (SGD's ``momentum`` or Adam's beta1) of two param groups are compared at every one
of ≥ 300 steps, through the scheduler's own loop and through ``lr_sequence``.
"""
from __future__ import annotations

import contextlib
import pathlib
import sys

import numpy as np
import pytest

import minigrad
import optim
import schedules

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import schedule_cases  # noqa: E402

SEQUENCES = np.load(REFERENCE / "schedule_sequences.npz")
CASES = schedule_cases.CASES
IDS = [case["name"] for case in CASES]
TOLERANCE = 1e-12


def new_optimizer(case: dict):
    return schedule_cases.make_optimizer(case, optim, lambda: minigrad.Parameter(np.zeros(1)))


def assert_matches(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, what
    worst = np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), 1.0))
    assert worst <= TOLERANCE, f"{what}: largest difference {worst:.3g}"


def expected_warnings(case: dict):
    """The deprecated epoch argument warns (except in CAWR, as in PyTorch)."""
    if case["epoch_args"] and case["scheduler"] != "CosineAnnealingWarmRestarts":
        return pytest.warns(UserWarning, match="epoch parameter")
    return contextlib.nullcontext()


@pytest.mark.filterwarnings("error")  # no other warning: optimizer.step() always comes first
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sequence_matches_pytorch(case):
    optimizer = new_optimizer(case)
    with expected_warnings(case):
        scheduler, lrs, momenta = schedule_cases.run(case, optimizer, schedules)
    assert len(lrs) >= 300
    assert_matches(lrs, SEQUENCES[f"{case['name']}/lr"], f"{case['name']} lr")
    assert_matches(momenta, SEQUENCES[f"{case['name']}/momentum"], f"{case['name']} momentum")
    assert scheduler.get_last_lr() == [group["lr"] for group in optimizer.param_groups]


PLAIN = [case for case in CASES if not (case["epoch_args"] or case["initial_lrs"])]


@pytest.mark.parametrize("case", PLAIN, ids=[case["name"] for case in PLAIN])
def test_lr_sequence_equals_stepping(case):
    """lr_sequence (a throw-away optimizer) gives what stepping gives, here PyTorch's values."""
    optimizer_cls = optim.Adam if case["optimizer"] == "Adam" else optim.SGD
    optimizer_kwargs = ({"betas": schedule_cases.ADAM_BETAS} if case["optimizer"] == "Adam"
                        else {"momentum": schedule_cases.SGD_MOMENTUM})
    metrics = None
    if case["metrics"]:
        metrics = [schedule_cases.METRICS[case["metrics"]](t) for t in range(case["steps"])]
    common = dict(metrics=metrics, optimizer_cls=optimizer_cls, optimizer_kwargs=optimizer_kwargs)

    def factory(opt):
        return schedule_cases.build(case, opt, schedules)

    lrs = schedules.lr_sequence(factory, case["steps"], list(schedule_cases.LRS), **common)
    momenta = schedules.momentum_sequence(factory, case["steps"], list(schedule_cases.LRS),
                                          **common)
    assert_matches(lrs, SEQUENCES[f"{case['name']}/lr"], f"{case['name']} lr")
    assert_matches(momenta, SEQUENCES[f"{case['name']}/momentum"], f"{case['name']} momentum")


def test_every_pytorch_scheduler_has_reference_cases():
    covered = {case["scheduler"] for case in CASES}
    assert covered == set(schedules.PYTORCH_SCHEDULERS)


def test_main_options_are_covered():
    """The options the issue names each appear in at least one stored case."""
    def has(scheduler, key, value=None):
        return any(case["scheduler"] == scheduler and key in case["kwargs"]
                   and (value is None or case["kwargs"][key] == value) for case in CASES)

    assert has("CyclicLR", "mode", "triangular2") and has("CyclicLR", "mode", "exp_range")
    assert has("CyclicLR", "scale_fn") and has("CyclicLR", "scale_mode", "iterations")
    assert has("OneCycleLR", "three_phase", True) and has("OneCycleLR", "anneal_strategy", "linear")
    assert has("OneCycleLR", "div_factor") and has("OneCycleLR", "final_div_factor")
    assert has("OneCycleLR", "pct_start") and has("OneCycleLR", "steps_per_epoch")
    assert has("CosineAnnealingWarmRestarts", "T_mult")
    assert has("ReduceLROnPlateau", "cooldown") and has("ReduceLROnPlateau", "threshold_mode")
    assert has("ReduceLROnPlateau", "min_lr") and has("ReduceLROnPlateau", "eps")
    assert has("ReduceLROnPlateau", "mode", "max")
    adam = {case["scheduler"] for case in CASES if case["optimizer"] == "Adam"}
    assert adam == {"CyclicLR", "OneCycleLR"}
    assert any(case["epoch_args"] == "fractional" for case in CASES)
    assert all(case["steps"] >= 300 for case in CASES)

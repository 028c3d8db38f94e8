"""Bad arguments give a clear error (PyTorch's message where PyTorch has one), and a rejected
call changes nothing: the optimizer's groups are untouched and its step is not wrapped."""
from __future__ import annotations

import copy
from functools import partial

import numpy as np
import pytest

import minigrad
import optim
import schedules as S


class NoMomentum(optim.Optimizer):
    """An optimizer whose groups have neither ``momentum`` nor ``betas``."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))


def sgd():
    return optim.SGD([{"params": [minigrad.Parameter(np.zeros(1))]},
                      {"params": [minigrad.Parameter(np.zeros(1))], "lr": 0.05}],
                     lr=0.1, momentum=0.9)


def other_optimizer_scheduler():
    return S.StepLR(sgd(), 3)


# Each entry: (id, make, error, message); make(optimizer) does any legitimate preparation
# and returns the rejected call, which must raise before touching anything.
BAD = [
    ("last_epoch", lambda o: partial(S.StepLR, o, 3, last_epoch=-2), ValueError,
     "Expected integer last_epoch >= -1, but got -2"),
    ("not_optimizer", lambda o: partial(S.StepLR, object(), 3), TypeError, "is not an Optimizer"),
    ("lambda_count", lambda o: partial(S.LambdaLR, o, [lambda t: 1.0]), ValueError,
     "Expected 2 lr_lambdas, but got 1"),
    ("lambda_not_callable", lambda o: partial(S.MultiplicativeLR, o, 0.9), TypeError,
     "lr_lambda should be a function"),
    ("step_size_zero", lambda o: partial(S.StepLR, o, 0), ValueError,
     "Expected positive integer step_size, but got 0"),
    ("step_size_float", lambda o: partial(S.StepLR, o, 2.5), ValueError, "step_size"),
    ("step_gamma", lambda o: partial(S.StepLR, o, 3, gamma=-0.1), ValueError,
     "Expected positive gamma, but got -0.1"),
    ("milestones_order", lambda o: partial(S.MultiStepLR, o, [30, 10]), ValueError,
     r"Expected increasing milestones, but got \[30, 10\]"),
    ("milestones_float", lambda o: partial(S.MultiStepLR, o, [1.5, 3]), ValueError,
     "Expected integer milestones"),
    ("constant_factor_zero", lambda o: partial(S.ConstantLR, o, factor=0.0), ValueError,
     "Constant multiplicative factor expected to be in"),
    ("constant_factor_big", lambda o: partial(S.ConstantLR, o, factor=1.5), ValueError,
     "Constant multiplicative factor"),
    ("constant_iters", lambda o: partial(S.ConstantLR, o, total_iters=0), ValueError,
     "Expected positive integer total_iters"),
    ("linear_start", lambda o: partial(S.LinearLR, o, start_factor=0.0), ValueError,
     "Starting multiplicative factor expected to be greater than 0"),
    ("linear_end", lambda o: partial(S.LinearLR, o, end_factor=1.5), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1"),
    ("linear_iters", lambda o: partial(S.LinearLR, o, total_iters=-1), ValueError,
     "Expected positive integer total_iters, but got -1"),
    ("exponential_gamma", lambda o: partial(S.ExponentialLR, o, 0), ValueError,
     "Expected positive gamma"),
    ("polynomial_iters", lambda o: partial(S.PolynomialLR, o, total_iters=0), ValueError,
     "total_iters"),
    ("polynomial_power", lambda o: partial(S.PolynomialLR, o, power=-1.0), ValueError,
     "Expected non-negative power"),
    ("cosine_negative_t_max", lambda o: partial(S.CosineAnnealingLR, o, T_max=-5), ValueError,
     "Expected positive T_max, but got -5"),
    ("cosine_zero_t_max", lambda o: partial(S.CosineAnnealingLR, o, T_max=0), ValueError,
     "T_max"),
    ("cosine_eta_min", lambda o: partial(S.CosineAnnealingLR, o, 10, eta_min="0"), ValueError,
     "eta_min"),
    ("restarts_t0", lambda o: partial(S.CosineAnnealingWarmRestarts, o, T_0=0), ValueError,
     "Expected positive integer T_0, but got 0"),
    ("restarts_t_mult", lambda o: partial(S.CosineAnnealingWarmRestarts, o, 5, T_mult=1.5),
     ValueError, "Expected integer T_mult >= 1, but got 1.5"),
    ("restarts_eta_min", lambda o: partial(S.CosineAnnealingWarmRestarts, o, 5, eta_min="x"),
     ValueError, "Expected float or int eta_min"),
    ("cyclic_step_size", lambda o: partial(S.CyclicLR, o, 0.01, 0.1, step_size_up=0),
     ValueError, "Expected positive step_size_up"),
    ("cyclic_mode", lambda o: partial(S.CyclicLR, o, 0.01, 0.1, mode="square"), ValueError,
     "mode is invalid and scale_fn is None"),
    ("cyclic_scale_mode", lambda o: partial(S.CyclicLR, o, 0.01, 0.1, scale_mode="epochs"),
     ValueError, "scale_mode"),
    ("cyclic_base_lr_count", lambda o: partial(S.CyclicLR, o, [0.01], 0.1), ValueError,
     "base_lr must have the same length as optimizer.param_groups. base_lr has 1 values, "
     "param_groups has 2."),
    ("cyclic_momentum_count", lambda o: partial(S.CyclicLR, o, 0.01, 0.1, max_momentum=[0.9]),
     ValueError, "max_momentum must have the same length"),
    ("one_cycle_no_length", lambda o: partial(S.OneCycleLR, o, 0.1), ValueError,
     r"You must define either total_steps OR \(epochs AND steps_per_epoch\)"),
    ("one_cycle_epochs_only", lambda o: partial(S.OneCycleLR, o, 0.1, epochs=3), ValueError,
     "You must define either total_steps"),
    ("one_cycle_total", lambda o: partial(S.OneCycleLR, o, 0.1, total_steps=0), ValueError,
     "Expected positive integer total_steps, but got 0"),
    ("one_cycle_total_float", lambda o: partial(S.OneCycleLR, o, 0.1, total_steps=10.0),
     ValueError, "Expected positive integer total_steps"),
    ("one_cycle_epochs", lambda o: partial(S.OneCycleLR, o, 0.1, epochs=0, steps_per_epoch=5),
     ValueError, "Expected positive integer epochs, but got 0"),
    ("one_cycle_steps_per_epoch",
     lambda o: partial(S.OneCycleLR, o, 0.1, epochs=2, steps_per_epoch=-5), ValueError,
     "Expected positive integer steps_per_epoch, but got -5"),
    ("one_cycle_pct_zero", lambda o: partial(S.OneCycleLR, o, 0.1, 10, pct_start=0.0),
     ValueError, "Expected float between 0 and 1 pct_start, but got 0.0"),
    ("one_cycle_pct_one", lambda o: partial(S.OneCycleLR, o, 0.1, 10, pct_start=1.0),
     ValueError, "pct_start"),
    ("one_cycle_pct_big", lambda o: partial(S.OneCycleLR, o, 0.1, 10, pct_start=1.5),
     ValueError, "pct_start"),
    ("one_cycle_three_phase_pct",
     lambda o: partial(S.OneCycleLR, o, 0.1, 10, pct_start=0.6, three_phase=True), ValueError,
     "three_phase=True needs pct_start <= 0.5"),
    ("one_cycle_anneal", lambda o: partial(S.OneCycleLR, o, 0.1, 10, anneal_strategy="exp"),
     ValueError, "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    ("one_cycle_div", lambda o: partial(S.OneCycleLR, o, 0.1, 10, div_factor=0), ValueError,
     "Expected positive div_factor"),
    ("one_cycle_max_lr_count", lambda o: partial(S.OneCycleLR, o, [0.1, 0.2, 0.3], 10),
     ValueError, "max_lr must have the same length"),
    ("sequential_empty", lambda o: partial(S.SequentialLR, o, [], []), ValueError,
     "SequentialLR expects at least one scheduler"),
    ("sequential_count", lambda o: partial(S.SequentialLR, o, [S.StepLR(o, 3)], [5]),
     ValueError, "expects number of schedulers provided to be one more"),
    ("sequential_order",
     lambda o: partial(S.SequentialLR, o, [S.StepLR(o, 3), S.StepLR(o, 4), S.StepLR(o, 5)],
                       [20, 10]), ValueError, "Expected strictly increasing milestones"),
    ("sequential_other_optimizer",
     lambda o: partial(S.SequentialLR, o, [S.StepLR(o, 3), other_optimizer_scheduler()], [5]),
     ValueError, "expects all schedulers to belong to the same optimizer"),
    ("sequential_plateau",
     lambda o: partial(S.SequentialLR, o, [S.StepLR(o, 3), S.ReduceLROnPlateau(o)], [5]),
     ValueError, "does not support `ReduceLROnPlateau`"),
    ("sequential_not_scheduler", lambda o: partial(S.SequentialLR, o, [object()], []),
     TypeError, "SequentialLR at index 0 should have `optimizer` as its attribute"),
    ("chained_empty", lambda o: partial(S.ChainedScheduler, []), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained"),
    ("chained_other_optimizer",
     lambda o: partial(S.ChainedScheduler, [S.StepLR(o, 3), other_optimizer_scheduler()]),
     ValueError, "same optimizer"),
    ("plateau_factor", lambda o: partial(S.ReduceLROnPlateau, o, factor=1.0), ValueError,
     r"Factor should be < 1.0."),
    ("plateau_negative_factor", lambda o: partial(S.ReduceLROnPlateau, o, factor=-0.5),
     ValueError, "factor"),
    ("plateau_mode", lambda o: partial(S.ReduceLROnPlateau, o, mode="avg"), ValueError,
     "mode avg is unknown!"),
    ("plateau_threshold_mode", lambda o: partial(S.ReduceLROnPlateau, o, threshold_mode="x"),
     ValueError, "threshold mode x is unknown!"),
    ("plateau_min_lrs", lambda o: partial(S.ReduceLROnPlateau, o, min_lr=[0.1]), ValueError,
     "expected 2 min_lrs, got 1"),
    ("plateau_patience", lambda o: partial(S.ReduceLROnPlateau, o, patience=-1), ValueError,
     "Expected non-negative integer patience, but got -1"),
    ("plateau_cooldown", lambda o: partial(S.ReduceLROnPlateau, o, cooldown=1.5), ValueError,
     "cooldown"),
    ("plateau_eps", lambda o: partial(S.ReduceLROnPlateau, o, eps=-1e-8), ValueError, "eps"),
    ("warmup_negative", lambda o: partial(S.WarmupCosineSchedule, o, -1, 100), ValueError,
     "Expected non-negative integer warmup_steps, but got -1"),
    ("warmup_after_total", lambda o: partial(S.WarmupLinearSchedule, o, 200, 100), ValueError,
     "Expected total_steps >= warmup_steps"),
    ("warmup_ratio", lambda o: partial(S.WarmupCosineSchedule, o, 10, 100, min_lr_ratio=1.5),
     ValueError, r"Expected min_lr_ratio in \[0.0, 1.0\], but got 1.5"),
    ("warmup_power", lambda o: partial(S.WarmupPolynomialSchedule, o, 10, 100, power=-2),
     ValueError, "power"),
    ("inverse_sqrt_warmup", lambda o: partial(S.InverseSqrtSchedule, o, 0), ValueError,
     "Expected positive integer warmup_steps, but got 0"),
    ("wsd_shape", lambda o: partial(S.WarmupStableDecaySchedule, o, 1, 2, 3, decay_shape="exp"),
     ValueError, "decay_shape must be one of"),
    ("wsd_decay_steps", lambda o: partial(S.WarmupStableDecaySchedule, o, 1, 2, 0), ValueError,
     "Expected positive integer decay_steps"),
]


def groups_snapshot(optimizer) -> list:
    return [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            for g in optimizer.param_groups]


@pytest.mark.parametrize("make, error, message", [entry[1:] for entry in BAD],
                         ids=[entry[0] for entry in BAD])
def test_bad_arguments_raise_and_change_nothing(make, error, message):
    optimizer = sgd()
    rejected = make(optimizer)
    before = groups_snapshot(optimizer)
    wrapped_before = "step" in vars(optimizer)
    with pytest.raises(error, match=message):
        rejected()
    assert groups_snapshot(optimizer) == before
    assert ("step" in vars(optimizer)) == wrapped_before


@pytest.mark.parametrize("make", [
    partial(S.CyclicLR, base_lr=0.01, max_lr=0.1),
    partial(S.OneCycleLR, max_lr=0.1, total_steps=10),
], ids=["CyclicLR", "OneCycleLR"])
def test_momentum_cycling_needs_momentum_and_touches_nothing_without(make):
    optimizer = NoMomentum([minigrad.Parameter(np.zeros(1))])
    before = groups_snapshot(optimizer)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with "
                                         "`cycle_momentum` option enabled"):
        make(optimizer)
    assert groups_snapshot(optimizer) == before  # PyTorch's OneCycleLR has set initial_lr here
    make(optimizer, cycle_momentum=False)  # fine without momentum cycling


def test_one_cycle_resumed_past_its_end_is_rejected():
    optimizer = sgd()
    for group in optimizer.param_groups:
        group["initial_lr"] = 0.01
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        S.OneCycleLR(optimizer, 0.1, total_steps=10, last_epoch=10)


def test_warm_restarts_negative_epoch_changes_nothing():
    optimizer = sgd()
    scheduler = S.CosineAnnealingWarmRestarts(optimizer, T_0=5)
    before = scheduler.state_dict()
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        scheduler.step(-1)
    assert scheduler.state_dict() == before


def test_plateau_state_with_unknown_mode_is_rejected():
    scheduler = S.ReduceLROnPlateau(sgd())
    state = dict(scheduler.state_dict(), mode="sideways")
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        scheduler.load_state_dict(state)
    assert scheduler.mode == "min"

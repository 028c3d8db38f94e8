"""The scheduler life cycle: the step-order warning, the optimizer's step wrapper, base_lrs,
resuming with last_epoch, the deprecated epoch argument, and lr_sequence's own behaviour."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigrad
import optim
import schedules

STEP_FIRST = r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"


def sgd(lr=0.1, groups=1, **kwargs):
    return optim.SGD([{"params": [minigrad.Parameter(np.zeros(1))], "lr": lr}
                      for _ in range(groups)], lr=lr, **kwargs)


# --------------------------------------------------------------------------- the warning
@pytest.mark.parametrize("make", [
    lambda opt: schedules.StepLR(opt, step_size=2),
    lambda opt: schedules.OneCycleLR(opt, max_lr=1.0, total_steps=10),
    lambda opt: schedules.CosineAnnealingWarmRestarts(opt, T_0=3),
    lambda opt: schedules.WarmupCosineSchedule(opt, 2, 10),
    lambda opt: schedules.SequentialLR(opt, [schedules.ConstantLR(opt), schedules.StepLR(opt, 2)],
                                       milestones=[3]),
], ids=["StepLR", "OneCycleLR", "CosineAnnealingWarmRestarts", "WarmupCosine", "SequentialLR"])
def test_stepping_the_scheduler_first_warns_once(make):
    scheduler = make(sgd())
    with pytest.warns(UserWarning, match=STEP_FIRST):
        scheduler.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()  # only the first call is checked, as in PyTorch


@pytest.mark.filterwarnings("error")
def test_the_right_order_does_not_warn():
    opt = sgd()
    scheduler = schedules.ExponentialLR(opt, gamma=0.5)
    opt.step()
    scheduler.step()
    assert opt._opt_called is True
    assert scheduler.get_last_lr() == [0.05]


def test_replacing_optimizer_step_after_the_scheduler_warns():
    opt = sgd()
    scheduler = schedules.StepLR(opt, step_size=2)
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match=r"`optimizer.step\(\)` has been overridden"):
        scheduler.step()


def test_the_wrapper_keeps_hooks_results_and_updates():
    w = minigrad.Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    schedules.StepLR(opt, step_size=1, gamma=0.5)
    wrapper = opt.step
    schedules.ExponentialLR(opt, gamma=0.9)  # a second scheduler does not wrap again
    assert opt.step is wrapper and opt.step._wrapped_by_lr_sched

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 5.0
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(w.data, [0.8, -1.6])
    assert opt.step.__name__ == "step"


def test_plateau_does_not_wrap_the_optimizer():
    opt = sgd()
    schedules.ReduceLROnPlateau(opt)
    assert "step" not in vars(opt)


# --------------------------------------------------------------------------- the base class
def test_construction_sets_initial_lr_base_lrs_and_step_zero():
    opt = sgd(groups=2)
    opt.param_groups[1]["initial_lr"] = 0.7  # kept: setdefault, as in PyTorch
    scheduler = schedules.StepLR(opt, step_size=3)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.7]
    assert scheduler.base_lrs == [0.1, 0.7]
    assert scheduler.last_epoch == 0
    assert scheduler.get_last_lr() == [0.1, 0.1]
    last = scheduler.get_last_lr()
    last[0] = 5.0
    assert scheduler.get_last_lr() == [0.1, 0.1]  # a copy


def test_resuming_with_last_epoch_moves_on_one_step_as_pytorch():
    opt = sgd()
    opt.param_groups[0]["initial_lr"] = 1.0
    scheduler = schedules.StepLR(opt, step_size=5, gamma=0.5, last_epoch=9)
    assert scheduler.last_epoch == 10
    assert opt.param_groups[0]["lr"] == 0.1 * 0.5  # chainable: the current rate, decayed


def test_resuming_without_initial_lr_raises_and_changes_nothing():
    opt = sgd()
    with pytest.raises(KeyError, match="initial_lr"):
        schedules.CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    assert "initial_lr" not in opt.param_groups[0] and "step" not in vars(opt)


def test_deprecated_epoch_argument_uses_the_closed_form():
    opt = sgd(lr=1.0)
    scheduler = schedules.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        scheduler.step(7)
    assert scheduler.last_epoch == 7 and opt.param_groups[0]["lr"] == 0.25


def test_one_cycle_past_total_steps_raises_and_changes_nothing():
    opt = sgd(momentum=0.9)
    scheduler = schedules.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        scheduler.step()
    before = (scheduler.state_dict(), [dict(g, params=None) for g in opt.param_groups])
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of "
                                         "total steps is 3"):
        scheduler.step()
    assert (scheduler.state_dict(), [dict(g, params=None) for g in opt.param_groups]) == before


def test_one_cycle_phase_of_length_zero_does_not_divide_by_zero():
    # pct_start · total_steps = 1: PyTorch divides 0 by 0 here; the warmup is already over
    lrs = schedules.lr_sequence(schedules.OneCycleLR, 10, max_lr=1.0, total_steps=10,
                                pct_start=0.1)
    assert lrs[0] == 1.0 and np.all(np.diff(lrs) < 0)


def test_cosine_annealing_rises_again_after_t_max_like_pytorch():
    lrs = schedules.lr_sequence(schedules.CosineAnnealingLR, 9, base_lr=1.0, T_max=4)
    np.testing.assert_allclose(lrs, [1, 0.8535534, 0.5, 0.1464466, 0, 0.1464466, 0.5,
                                     0.8535534, 1], atol=1e-7)


def test_sequential_and_chained_report_their_last_lr():
    opt = sgd(lr=1.0)
    sequential = schedules.SequentialLR(
        opt, [schedules.ConstantLR(opt, factor=0.5, total_iters=10),
              schedules.ExponentialLR(opt, gamma=0.5)], milestones=[2])
    for _ in range(3):
        opt.step()
        sequential.step()
    assert sequential.get_last_lr() == [0.5] == [opt.param_groups[0]["lr"]]


def test_plateau_accepts_array_metrics_and_new_groups():
    opt = sgd(lr=1.0)
    scheduler = schedules.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=0.1)
    opt.add_param_group({"params": [minigrad.Parameter(np.zeros(1))], "lr": 1.0})
    for metric in [np.float64(1.0), minigrad.tensor(2.0), 3.0]:
        scheduler.step(metric)
    assert scheduler.get_last_lr() == [0.25, 0.25]

    per_group = schedules.ReduceLROnPlateau(sgd(), patience=0, min_lr=[0.0])
    per_group.optimizer.add_param_group({"params": [minigrad.Parameter(np.zeros(1))]})
    per_group.step(1.0)
    with pytest.raises(RuntimeError, match="min_lrs"):
        per_group.step(2.0)


# --------------------------------------------------------------------------- lr_sequence
def test_lr_sequence_shapes_and_arguments():
    single = schedules.lr_sequence(schedules.StepLR, 4, base_lr=1.0, step_size=2)
    assert single.shape == (4,) and single.tolist() == [1.0, 1.0, 0.1, 0.1]
    several = schedules.lr_sequence(schedules.StepLR, 4, base_lr=[1.0, 2.0], step_size=2)
    assert several.shape == (4, 2) and several[:, 1].tolist() == [2.0, 2.0, 0.2, 0.2]
    cyclic = schedules.lr_sequence(schedules.CyclicLR, 3, base_lr=0.1, max_lr=0.3,
                                   step_size_up=1)
    np.testing.assert_allclose(cyclic, [0.1, 0.3, 0.1])
    betas = schedules.momentum_sequence(schedules.CyclicLR, 3, base_lr=0.1, max_lr=0.3,
                                        step_size_up=1, optimizer_cls=optim.Adam)
    np.testing.assert_allclose(betas, [0.9, 0.8, 0.9])


def test_lr_sequence_drives_plateau_with_metrics():
    lrs = schedules.lr_sequence(schedules.ReduceLROnPlateau, 5, base_lr=1.0,
                                metrics=[1.0, 1.0, 1.0, 1.0], patience=1, factor=0.5)
    assert lrs.tolist() == [1.0, 1.0, 1.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="metrics"):
        schedules.lr_sequence(schedules.ReduceLROnPlateau, 5, metrics=[1.0])


@pytest.mark.filterwarnings("error")
def test_lr_sequence_equals_a_hand_written_training_loop():
    w = minigrad.Parameter(np.array([3.0]))
    opt = optim.SGD([w], lr=0.5, momentum=0.9)
    scheduler = schedules.OneCycleLR(opt, max_lr=0.5, total_steps=50)
    seen = []
    for _ in range(50):
        seen.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        if len(seen) < 50:
            scheduler.step()
    expected = schedules.lr_sequence(schedules.OneCycleLR, 50, max_lr=0.5, total_steps=50)
    assert seen == expected.tolist()


@pytest.mark.parametrize("module", ["scheduler", "lambda_lr", "step_based", "cosine", "cyclic",
                                    "one_cycle", "plateau", "composite", "warmup", "evaluate"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"schedules.{module}"))
    assert result.failed == 0

"""The chapters' schedules: pure functions = stepping = the chapters' own definitions.

The chapters write these schedules as ``LambdaLR`` factors; those factors are spelled out
here once more, independently of ``schedules.warmup``, as the definitions to meet.
"""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import minigrad
import optim
import schedules as S

W, T = 20, 300  # warmup and total steps used throughout
STEPS = 340     # past total_steps, to see the floor


def chapter_warmup_cosine(step, warmup_steps, total_steps, min_lr_ratio=0.0):
    if step < warmup_steps:
        return float(step) / float(max(1, warmup_steps))
    progress = float(step - warmup_steps) / float(max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def chapter_bert(step, warmup_steps, total_steps):
    return min(step / warmup_steps, (total_steps - step) / (total_steps - warmup_steps))


def chapter_polynomial(step, warmup_steps, total_steps, power=1.0):
    if step < warmup_steps:
        return float(step) / float(max(1, warmup_steps))
    return (1 - (step - warmup_steps) / (total_steps - warmup_steps)) ** power


def vaswani(step_num, d_model, warmup_steps):
    return d_model ** -0.5 * min(step_num ** -0.5, step_num * warmup_steps ** -1.5)


# (scheduler class, pure function, arguments)
SCHEDULES = [
    (S.WarmupCosineSchedule, S.warmup_cosine, dict(warmup_steps=W, total_steps=T)),
    (S.WarmupCosineSchedule, S.warmup_cosine,
     dict(warmup_steps=W, total_steps=T, min_lr_ratio=0.1)),
    (S.WarmupCosineSchedule, S.warmup_cosine, dict(warmup_steps=0, total_steps=T)),
    (S.WarmupLinearSchedule, S.warmup_linear, dict(warmup_steps=W, total_steps=T)),
    (S.WarmupLinearSchedule, S.warmup_linear,
     dict(warmup_steps=W, total_steps=T, min_lr_ratio=0.05)),
    (S.WarmupPolynomialSchedule, S.warmup_polynomial,
     dict(warmup_steps=W, total_steps=T, power=2.0)),
    (S.WarmupPolynomialSchedule, S.warmup_polynomial,
     dict(warmup_steps=W, total_steps=T, power=0.5, min_lr_ratio=0.1)),
    (S.InverseSqrtSchedule, S.inverse_sqrt, dict(warmup_steps=W)),
    (S.WarmupStableDecaySchedule, S.warmup_stable_decay,
     dict(warmup_steps=W, stable_steps=200, decay_steps=80)),
    (S.WarmupStableDecaySchedule, S.warmup_stable_decay,
     dict(warmup_steps=W, stable_steps=200, decay_steps=80, decay_shape="cosine",
          min_lr_ratio=0.1)),
    (S.WarmupStableDecaySchedule, S.warmup_stable_decay,
     dict(warmup_steps=0, stable_steps=100, decay_steps=150, decay_shape="1-sqrt")),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(SCHEDULES)]


@pytest.mark.parametrize("cls, function, kwargs", SCHEDULES, ids=IDS)
def test_pure_function_equals_stepping(cls, function, kwargs):
    rates = [0.3, 0.01]
    stepped = S.lr_sequence(cls, STEPS, base_lr=rates, **kwargs)
    for group, base_lr in enumerate(rates):
        by_formula = [function(t, base_lr=base_lr, **kwargs) for t in range(STEPS)]
        assert stepped[:, group].tolist() == by_formula


@pytest.mark.parametrize("cls, function, kwargs", SCHEDULES, ids=IDS)
def test_epoch_argument_and_resume_give_the_same_rates(cls, function, kwargs):
    opt = optim.SGD([minigrad.Parameter(np.zeros(1))], lr=0.3)
    scheduler = cls(opt, **kwargs)
    for _ in range(150):
        opt.step()
        scheduler.step()
    saved = pickle.dumps((opt.state_dict(), scheduler.state_dict()))
    with pytest.warns(UserWarning, match="epoch parameter"):
        scheduler.step(170)
    assert opt.param_groups[0]["lr"] == function(170, base_lr=0.3, **kwargs)

    fresh_opt = optim.SGD([minigrad.Parameter(np.zeros(1))], lr=0.3)
    fresh = cls(fresh_opt, **kwargs)
    opt_state, scheduler_state = pickle.loads(saved)
    fresh_opt.load_state_dict(opt_state)
    fresh.load_state_dict(scheduler_state)
    fresh_opt.step()
    fresh.step()
    assert fresh.get_last_lr() == [function(151, base_lr=0.3, **kwargs)]


def test_warmup_cosine_is_the_chapters_lambda_until_total_steps_then_its_floor():
    for ratio in (0.0, 0.1):
        ours = S.lr_sequence(S.WarmupCosineSchedule, STEPS, base_lr=5e-4, warmup_steps=W,
                             total_steps=T, min_lr_ratio=ratio)
        chapter = S.lr_sequence(S.LambdaLR, T + 1, base_lr=5e-4,
                                lr_lambda=lambda t: chapter_warmup_cosine(t, W, T, ratio))
        assert ours[:T + 1].tolist() == chapter.tolist()  # bit for bit
        assert np.all(ours[T:] == 5e-4 * ratio)
    assert S.warmup_cosine(W, warmup_steps=W, total_steps=T) == 1.0


def test_warmup_linear_is_berts_recipe():
    ours = [S.warmup_linear(t, warmup_steps=W, total_steps=T) for t in range(T + 1)]
    bert = [chapter_bert(t, W, T) for t in range(T + 1)]
    np.testing.assert_allclose(ours, bert, rtol=0, atol=1e-15)
    assert S.warmup_linear(T + 50, warmup_steps=W, total_steps=T) == 0.0


def test_warmup_polynomial_is_the_chapters_custom_schedule():
    for power in (1.0, 2.0):
        ours = [S.warmup_polynomial(t, warmup_steps=W, total_steps=T, power=power)
                for t in range(T + 1)]
        chapter = [chapter_polynomial(t, W, T, power) for t in range(T + 1)]
        np.testing.assert_allclose(ours, chapter, rtol=0, atol=1e-15)
    assert S.warmup_polynomial(T + 7, warmup_steps=W, total_steps=T, power=0.5) == 0.0


def test_inverse_sqrt_is_the_transformer_schedule():
    d_model, warmup = 512, 4000
    base_lr = (d_model * warmup) ** -0.5
    for n in (1, 10, 1000, 3999, 4000, 4001, 10_000, 100_000):
        ours = S.inverse_sqrt(n, warmup_steps=warmup, base_lr=base_lr)
        assert ours == pytest.approx(vaswani(n, d_model, warmup), rel=1e-12)
    peak = S.inverse_sqrt(warmup, warmup_steps=warmup, base_lr=1.0)
    assert peak == 1.0 and S.inverse_sqrt(4 * warmup, warmup_steps=warmup) == 0.5


def test_warmup_stable_decay_phases():
    kwargs = dict(warmup_steps=10, stable_steps=50, decay_steps=20, min_lr_ratio=0.1)
    values = {shape: [S.warmup_stable_decay(t, decay_shape=shape, **kwargs) for t in range(100)]
              for shape in S.warmup.DECAY_SHAPES}
    for shape, f in values.items():
        assert f[0] == 0.0 and f[5] == 0.5
        assert all(v == 1.0 for v in f[10:61])          # stable, and the decay starts at 1
        assert all(v == pytest.approx(0.1) for v in f[80:])  # the floor from step W + S + D
        assert all(a >= b for a, b in zip(f[10:], f[11:]))   # never rises after warmup
    halfway = {shape: f[70] for shape, f in values.items()}
    assert halfway["linear"] == pytest.approx(0.55)
    assert halfway["cosine"] == pytest.approx(0.55)
    assert halfway["1-sqrt"] == pytest.approx(0.1 + 0.9 * (1 - math.sqrt(0.5)))


def test_warmup_starts_from_zero_and_no_warmup_starts_at_the_peak():
    with_warmup = S.lr_sequence(S.WarmupCosineSchedule, 3, base_lr=1.0, warmup_steps=2,
                                total_steps=10)
    assert with_warmup.tolist()[:3] == [0.0, 0.5, 1.0]
    without = S.lr_sequence(S.WarmupStableDecaySchedule, 2, base_lr=1.0, warmup_steps=0,
                            stable_steps=5, decay_steps=5)
    assert without.tolist() == [1.0, 1.0]

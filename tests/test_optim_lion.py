"""Lion: pytorch_optimizer's trajectories, a scalar transcription of the paper's rule,
steps of exactly ±η, decoupled decay, validation, resume; and the slides' variants."""
from __future__ import annotations

import copy
import json
import math
import pathlib
import re
import sys

import numpy as np
import pytest

import minigrad
import optim
from optim.lion import Lion, lion_update
from optim.teaching import SignEWALion, sign_ewa_lion_update

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import problems  # noqa: E402

STORED = np.load(REFERENCE / "lion_trajectories.npz")
META = json.loads(str(STORED["meta"]))


def tensor(values, dtype=np.float64):
    return minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------- stored references
def run_stored_case(case: dict, problem: str) -> np.ndarray:
    params = [minigrad.tensor(a, dtype=np.float64, requires_grad=True)
              for a in problems.start(problem)]
    groups = [{"params": [params[i] for i in indices], "lr": lr}
              for indices, lr in zip(problems.groups(problem), case["lrs"][problem])]
    opt = Lion(groups, betas=tuple(case["kwargs"]["betas"]),
               weight_decay=case["kwargs"]["weight_decay"])
    return problems.record_trajectory(opt, params, lambda: problems.loss(problem, params, minigrad), META["steps"], META["recorded_steps"])


@pytest.mark.parametrize("problem", META["problems"])
@pytest.mark.parametrize("case", META["cases"], ids=[c["name"] for c in META["cases"]])
def test_trajectory_matches_pytorch_optimizer(case, problem):
    expected = STORED[f"{case['name']}/{problem}"]
    actual = run_stored_case(case, problem)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12)


def test_live_run_matches_pytorch_optimizer():
    torch = pytest.importorskip("torch")
    pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
    rng = np.random.default_rng(11)
    start, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    scale = rng.uniform(0.1, 5.0, (3, 4))
    ours = tensor(start)
    theirs = torch.tensor(start, requires_grad=True)
    opt = Lion([ours], lr=0.03, betas=(0.8, 0.95), weight_decay=0.2)
    ref = pytorch_optimizer.Lion([theirs], lr=0.03, betas=(0.8, 0.95), weight_decay=0.2,
                                 foreach=False)
    for _ in range(40):
        opt.zero_grad()
        ref.zero_grad()
        (minigrad.tensor(scale) * (ours - minigrad.tensor(target)) ** 4).sum().backward()
        (torch.tensor(scale) * (theirs - torch.tensor(target)) ** 4).sum().backward()
        opt.step()
        ref.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=0, atol=1e-12)


# ----------------------------------------------------------------- a scalar transcription
def lion_by_hand(theta: list, grads_of, steps: int, lr: float, beta1: float, beta2: float,
                 wd: float) -> list:
    """The paper's Algorithm 2, one coordinate at a time, in Python floats."""
    theta, m = list(theta), [0.0] * len(theta)
    for _ in range(steps):
        g = grads_of(theta)
        for i in range(len(theta)):
            c = beta1 * m[i] + (1 - beta1) * g[i]
            sign = (c > 0) - (c < 0)
            theta[i] = theta[i] - lr * (sign + wd * theta[i])
            m[i] = beta2 * m[i] + (1 - beta2) * g[i]
    return theta


def test_matches_a_scalar_transcription_of_the_paper():
    centre = [0.3, -1.2, 2.0, 0.0, 0.7]
    curvature = [1.0, 10.0, 0.1, 3.0, 0.5]

    def grads_of(theta):
        return [a * (t - c) + 0.5 * math.sin(3 * t) for a, t, c in zip(curvature, theta, centre)]

    start = [1.0, 1.0, -1.0, 0.5, -0.25]
    expected = lion_by_hand(start, grads_of, 50, lr=0.02, beta1=0.9, beta2=0.99, wd=0.3)
    param, exp_avg = np.array(start), np.zeros(5)
    for _ in range(50):
        grad = np.array(grads_of(param.tolist()))
        lion_update(param, grad, exp_avg, lr=0.02, beta1=0.9, beta2=0.99, weight_decay=0.3)
    np.testing.assert_allclose(param, expected, rtol=0, atol=1e-13)


# ----------------------------------------------------------------- behaviour
def test_every_coordinate_moves_by_exactly_lr_whatever_the_gradient_size():
    w = tensor([5.0, -3.0, 1e-6, -1e6])
    opt = Lion([w], lr=0.25)
    for _ in range(4):
        before = w.data.copy()
        w.grad = np.array([1e-9, -7.0, 3.0, -1e4]) * (1 + np.abs(before))
        opt.step()
        np.testing.assert_allclose(np.abs(w.data - before), 0.25, rtol=1e-15, atol=1e-15)


def test_a_zero_interpolation_does_not_move_and_decay_alone_shrinks():
    w = tensor([2.0, -4.0])
    opt = Lion([w], lr=0.1, weight_decay=0.5)
    for _ in range(10):
        w.grad = np.zeros(2)  # c = 0: sign(0) = 0, only (1 − ηλ)θ is left
        opt.step()
    np.testing.assert_allclose(w.data, np.array([2.0, -4.0]) * 0.95 ** 10, rtol=1e-14)
    np.testing.assert_array_equal(opt.state[w]["exp_avg"], [0.0, 0.0])


def test_the_step_direction_mixes_in_the_new_gradient_but_momentum_keeps_beta2():
    # m = 0.1 after the first step (β2 = 0.9 here), then g = −0.5: c = 0.5·0.1 − 0.25 < 0
    w = tensor([0.0])
    opt = Lion([w], lr=1.0, betas=(0.5, 0.9))
    w.grad = np.array([1.0])
    opt.step()
    assert w.data.tolist() == [-1.0] and opt.state[w]["exp_avg"].tolist() == [pytest.approx(0.1)]
    w.grad = np.array([-0.5])
    opt.step()
    assert w.data.tolist() == [0.0]  # moved back: the new gradient dominates c
    assert opt.state[w]["exp_avg"].tolist() == [pytest.approx(0.9 * 0.1 - 0.05)]


def test_maximize_climbs_the_same_steps_as_minimizing_the_negation():
    a, b = tensor([1.0, -2.0]), tensor([1.0, -2.0])
    up = Lion([a], lr=0.1, maximize=True)
    down = Lion([b], lr=0.1)
    for _ in range(5):
        a.grad = -(2 * a.data - 1)
        b.grad = 2 * b.data - 1
        up.step()
        down.step()
    np.testing.assert_array_equal(a.data, b.data)


def test_keeps_one_buffer_of_state():
    w = minigrad.tensor(np.ones((16, 16), dtype=np.float32), requires_grad=True)
    opt = Lion([w], lr=1e-3)
    w.grad = np.ones((16, 16), dtype=np.float32)
    opt.step()
    assert sorted(opt.state[w]) == ["exp_avg"]
    assert opt.state[w]["exp_avg"].dtype == np.float32
    assert optim.state_bytes_per_param(opt) == 1.0


def test_resume_through_state_dict_is_bit_exact(rng):
    def run(opt, params, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = sum(((p - 0.3) ** 2 * (1 + p * p)).sum() for p in params)
            loss.backward()
            opt.step()

    params = [tensor(rng.standard_normal((3, 2))), tensor(rng.standard_normal(4))]
    opt = Lion([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.05,
               weight_decay=0.1)
    run(opt, params, 7)
    saved, values = copy.deepcopy(opt.state_dict()), [p.data.copy() for p in params]
    run(opt, params, 5)

    others = [tensor(v) for v in values]
    resumed = Lion([{"params": others[:1]}, {"params": others[1:], "lr": 0.9}])
    resumed.load_state_dict(saved)
    run(resumed, others, 5)
    for a, b in zip(params, others):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"betas": (1.0, 0.99)}, "Invalid beta parameter at index 0: 1.0"),
    ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ({"betas": (0.9,)}, "Invalid betas"),
    ({"weight_decay": -0.5}, "Invalid weight_decay value: -0.5"),
])
def test_bad_hyper_parameters_are_refused_and_change_nothing(kwargs, message):
    w = tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=re.escape(message)):
        Lion([w], **kwargs)
    opt = Lion([w], lr=0.1)
    w.grad = np.array([1.0, 1.0])
    opt.step()
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=re.escape(message)):
        opt.add_param_group({"params": [tensor([0.0])], **kwargs})
    assert len(opt.param_groups) == 1
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["exp_avg"],
                                  before["state"][0]["exp_avg"])
    np.testing.assert_array_equal(w.data, [0.9, 1.9])


def test_pytorch_switch_is_accepted_but_not_stored():
    opt = Lion([tensor([1.0])], foreach=None)
    assert "foreach" not in opt.param_groups[0]


# ----------------------------------------------------------------- the chapters' versions
def test_the_slide_that_decays_inside_the_step_is_lion():
    """θ ← θ − η·(sign(c) + λθ), as the slide writes it, is Lion's (1 − ηλ)θ − η·sign(c)."""
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((30, 6))
    slide_theta, slide_m = np.linspace(-1, 1, 6), np.zeros(6)
    param, exp_avg = slide_theta.copy(), np.zeros(6)
    lr, beta1, beta2, wd = 0.01, 0.9, 0.99, 0.3
    for g in grads:
        sign_momentum = np.sign(beta1 * slide_m + (1 - beta1) * g)
        slide_theta = slide_theta - lr * (sign_momentum + wd * slide_theta)
        slide_m = beta2 * slide_m + (1 - beta2) * g
        lion_update(param, g, exp_avg, lr=lr, beta1=beta1, beta2=beta2, weight_decay=wd)
    np.testing.assert_allclose(param, slide_theta, rtol=0, atol=1e-15)
    np.testing.assert_allclose(exp_avg, slide_m, rtol=0, atol=1e-15)


def test_sign_ewa_lion_and_lion_part_after_one_large_gradient():
    """Gradients 100, −1, −1, …: Lion's momentum remembers the 100 for several steps;
    the average of signs forgets its size at once and turns round at step 2."""
    grads = [100.0] + [-1.0] * 5
    lion_w, sign_w = tensor([0.0]), tensor([0.0])
    lion = Lion([lion_w], lr=1.0, betas=(0.9, 0.99))
    simplified = SignEWALion([sign_w], lr=1.0, beta=0.9)
    lion_path, sign_path = [], []
    for g in grads:
        lion_w.grad = sign_w.grad = np.array([g])
        lion.step()
        simplified.step()
        lion_path.append(float(lion_w.data[0]))
        sign_path.append(float(sign_w.data[0]))
    # Lion: c₂ = 0.9·1 − 0.1 > 0, c₃ = 0.9·0.98 − 0.1 > 0, … (m ≈ 1·0.99^k − …)
    assert lion_path == [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]
    # signs: m = 0.1, then 0.09 − 0.1 < 0: back up from step 2 on
    assert sign_path == [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]


def test_sign_ewa_lion_matches_its_formula_and_ignores_gradient_size():
    param, buffer = np.array([0.0, 0.0]), np.zeros(2)
    for g in ([3.0, -1e-8], [1e-8, -5.0], [-2.0, 7.0]):
        sign_ewa_lion_update(param, np.array(g), buffer, lr=0.5, beta=0.8, weight_decay=0.0)
    # buffer: 0.2·(1, −1) → 0.16 + 0.2, −0.16 − 0.2 → 0.8·0.36 − 0.2, −0.8·0.36 + 0.2
    np.testing.assert_allclose(buffer, [0.088, -0.088], atol=1e-15)
    np.testing.assert_array_equal(param, [-1.5, 1.5])
    scaled_param, scaled_buffer = np.array([0.0, 0.0]), np.zeros(2)
    for g in ([300.0, -1.0], [1.0, -0.5], [-0.2, 70.0]):  # other sizes, same signs
        sign_ewa_lion_update(scaled_param, np.array(g), scaled_buffer, lr=0.5, beta=0.8)
    np.testing.assert_array_equal(scaled_param, param)


def test_sign_ewa_lion_first_step_agrees_with_lion_and_decays_like_the_slide():
    a, b = tensor([2.0, -3.0, 0.5]), tensor([2.0, -3.0, 0.5])
    lion = Lion([a], lr=0.1, weight_decay=0.2)
    simplified = SignEWALion([b], lr=0.1, weight_decay=0.2)
    a.grad = b.grad = np.array([0.3, -40.0, 2.0])
    lion.step()
    simplified.step()
    np.testing.assert_allclose(a.data, b.data, rtol=1e-15)
    np.testing.assert_allclose(b.data, [2.0 - 0.1 * (1 + 0.4), -3.0 + 0.1 * (1 + 0.6),
                                        0.5 - 0.1 * (1 + 0.1)], rtol=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    ({"beta": 1.0}, "Invalid beta value: 1.0"),
    ({"lr": -0.1}, "Invalid learning rate: -0.1"),
    ({"weight_decay": -1.0}, "Invalid weight_decay value: -1.0"),
])
def test_sign_ewa_lion_refuses_bad_hyper_parameters(kwargs, message):
    w = tensor([1.0])
    with pytest.raises(ValueError, match=re.escape(message)):
        SignEWALion([w], **kwargs)
    np.testing.assert_array_equal(w.data, [1.0])

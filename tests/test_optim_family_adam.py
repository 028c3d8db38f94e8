"""Adam, AdamW, NAdam and RAdam beyond the PyTorch trajectories: validation, state,
the ``bias_correction`` teaching switch, frozen parameters and dtypes."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import minigrad
import optim

FAMILY = (optim.Adam, optim.AdamW, optim.NAdam, optim.RAdam)


def make_param(values, dtype=np.float64):
    return minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)


def set_grad(p, values):
    p.grad = np.array(values, dtype=p.data.dtype)


def run_steps(optimizer, params, grads_per_step):
    """Give ``params`` the listed gradients (None = no gradient) and step each time."""
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = None if g is None else np.array(g, dtype=p.data.dtype)
        optimizer.step()


# ----------------------------------------------------------------- validation
INVALID = [
    ({"lr": -1}, "Invalid learning rate: -1"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"betas": (1.2, 0.999)}, "Invalid beta parameter at index 0: 1.2"),
    ({"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ({"betas": (-0.1, 0.999)}, "Invalid beta parameter at index 0: -0.1"),
    ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
]


@pytest.mark.parametrize("cls", FAMILY, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kwargs, message", INVALID, ids=[m for _, m in INVALID])
def test_invalid_hyper_parameters_raise_at_construction(cls, kwargs, message):
    p = make_param([1.0, 2.0])
    set_grad(p, [0.5, -0.5])
    with pytest.raises(ValueError, match=re.escape(message)):
        cls([p], **kwargs)
    np.testing.assert_array_equal(p.data, [1.0, 2.0])
    np.testing.assert_array_equal(p.grad, [0.5, -0.5])


def test_nadam_rejects_negative_momentum_decay():
    with pytest.raises(ValueError, match=re.escape("Invalid momentum_decay value: -1")):
        optim.NAdam([make_param([1.0])], momentum_decay=-1)


@pytest.mark.parametrize("cls", FAMILY, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kwargs, message", INVALID, ids=[m for _, m in INVALID])
def test_invalid_param_group_leaves_optimizer_unchanged(cls, kwargs, message):
    p, q = make_param([1.0, 2.0]), make_param([3.0])
    optimizer = cls([p], lr=0.1)
    run_steps(optimizer, [p], [[[0.5, -0.5]]])
    data, state = p.data.copy(), optimizer.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)):
        optimizer.add_param_group({"params": [q], **kwargs})
    assert len(optimizer.param_groups) == 1
    assert q not in optimizer.state
    np.testing.assert_array_equal(q.data, [3.0])
    np.testing.assert_array_equal(p.data, data)
    after = optimizer.state_dict()
    assert after["param_groups"] == state["param_groups"]
    for key, value in state["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)


# ----------------------------------------------------------------- state
PYTORCH_STATE_KEYS = {  # the keys torch.optim puts in each parameter's state
    (optim.Adam, False): {"step", "exp_avg", "exp_avg_sq"},
    (optim.Adam, True): {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    (optim.AdamW, False): {"step", "exp_avg", "exp_avg_sq"},
    (optim.AdamW, True): {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    (optim.NAdam, False): {"step", "mu_product", "exp_avg", "exp_avg_sq"},
    (optim.RAdam, False): {"step", "exp_avg", "exp_avg_sq"},
}


@pytest.mark.parametrize("cls, amsgrad", list(PYTORCH_STATE_KEYS),
                         ids=lambda x: getattr(x, "__name__", f"amsgrad={x}"))
def test_state_keys_after_one_step_match_pytorch(cls, amsgrad):
    p = make_param([1.0, -2.0])
    optimizer = cls([p], **({"amsgrad": True} if amsgrad else {}))
    run_steps(optimizer, [p], [[[0.5, 1.0]]])
    state = optimizer.state[p]
    assert set(state) == PYTORCH_STATE_KEYS[cls, amsgrad]
    assert type(state["step"]) is int and state["step"] == 1
    if "mu_product" in state:
        assert type(state["mu_product"]) is float


@pytest.mark.parametrize("cls, amsgrad", list(PYTORCH_STATE_KEYS),
                         ids=lambda x: getattr(x, "__name__", f"amsgrad={x}"))
def test_state_keys_agree_with_installed_torch(cls, amsgrad):
    torch = pytest.importorskip("torch")
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    p.grad = torch.tensor([0.5, 1.0])
    optimizer = getattr(torch.optim, cls.__name__)([p], **({"amsgrad": True} if amsgrad else {}))
    optimizer.step()
    assert set(optimizer.state[p]) == PYTORCH_STATE_KEYS[cls, amsgrad]


def test_checkpoint_without_bias_correction_key_loads_with_default():
    p = make_param([1.0, -2.0])
    optimizer = optim.Adam([p], lr=0.1)
    run_steps(optimizer, [p], [[[0.5, 1.0]]])
    saved = optimizer.state_dict()
    del saved["param_groups"][0]["bias_correction"]  # as in a PyTorch checkpoint
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["bias_correction"] is True
    run_steps(optimizer, [p], [[[0.5, 1.0]]])
    assert optimizer.state[p]["step"] == 2


# ----------------------------------------------------------------- bias correction switch
@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_first_step_without_bias_correction_by_hand(cls):
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
    g = np.array([2.0, -0.5])
    p = make_param([1.0, 1.0])
    optimizer = cls([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=0,
                    bias_correction=False)
    run_steps(optimizer, [p], [[g]])
    # m = (1 − β1)·g = 0.1·g and v = (1 − β2)·g² = 0.001·g², nothing divided out:
    expected = [1.0 - 0.1 * 0.1 * 2.0 / (math.sqrt(0.001) * 2.0 + 1e-8),
                1.0 + 0.1 * 0.1 * 0.5 / (math.sqrt(0.001) * 0.5 + 1e-8)]
    np.testing.assert_allclose(p.data, expected, rtol=1e-15)
    # ≈ 1 − 0.316 and 1 + 0.316: (1 − β1)/√(1 − β2) ≈ 3.16 times the corrected step lr
    np.testing.assert_allclose(1.0 - p.data, [0.31622776, -0.31622776], rtol=1e-6)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.9, 0.9), (0.5, 0.99)])
def test_without_bias_correction_steps_shrink_by_the_missing_factors(betas):
    """Constant g, ε = 0: uncorrected step t = corrected step · (1 − β1^t)/√(1 − β2^t)."""
    beta1, beta2 = betas
    with_, without = make_param([0.0]), make_param([0.0])
    corrected = optim.Adam([with_], lr=0.01, betas=betas, eps=0.0)
    uncorrected = optim.Adam([without], lr=0.01, betas=betas, eps=0.0, bias_correction=False)
    for t in range(1, 6):
        before_with, before_without = with_.data.copy(), without.data.copy()
        run_steps(corrected, [with_], [[[3.0]]])
        run_steps(uncorrected, [without], [[[3.0]]])
        step_with = before_with - with_.data
        step_without = before_without - without.data
        np.testing.assert_allclose(step_with, 0.01, rtol=1e-12)
        factor = (1 - beta1 ** t) / math.sqrt(1 - beta2 ** t)
        np.testing.assert_allclose(step_without, 0.01 * factor, rtol=1e-12)


def test_bias_correction_default_is_pytorch_behaviour():
    a, b = make_param([1.0, -1.0]), make_param([1.0, -1.0])
    grads = [[[0.3, -2.0]], [[0.1, 1.0]], [[-0.4, 0.5]]]
    run_steps(optim.Adam([a], lr=0.1), [a], grads)
    run_steps(optim.Adam([b], lr=0.1, bias_correction=True), [b], grads)
    np.testing.assert_array_equal(a.data, b.data)
    assert optim.AdamW([a]).defaults["bias_correction"] is True


# ----------------------------------------------------------------- AdamW
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_equals_adam_with_decoupled_weight_decay(amsgrad, rng):
    start, grads = rng.standard_normal((2, 3)), rng.standard_normal((30, 2, 3))
    a, b = make_param(start), make_param(start)
    adamw = optim.AdamW([a], lr=0.05, weight_decay=0.1, amsgrad=amsgrad)
    adam = optim.Adam([b], lr=0.05, weight_decay=0.1, amsgrad=amsgrad,
                      decoupled_weight_decay=True)
    for g in grads:
        run_steps(adamw, [a], [[g]])
        run_steps(adam, [b], [[g]])
        np.testing.assert_array_equal(a.data, b.data)
    for key in adam.state[b]:
        np.testing.assert_array_equal(adamw.state[a][key], adam.state[b][key])


def test_adamw_defaults_and_decoupling_survive_a_checkpoint():
    p = make_param([1.0])
    adamw = optim.AdamW([p])
    assert adamw.defaults["weight_decay"] == 0.01
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
    with pytest.raises(TypeError):
        optim.AdamW([p], decoupled_weight_decay=False)  # as in PyTorch: not an argument
    saved = optim.Adam([p], weight_decay=0.01).state_dict()  # decoupled_weight_decay=False
    adamw.load_state_dict(saved)
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


# ----------------------------------------------------------------- frozen parameters
@pytest.mark.parametrize("cls", FAMILY, ids=lambda c: c.__name__)
def test_frozen_parameter_keeps_its_own_step_count(cls, rng):
    grads_a, grads_b = rng.standard_normal((6, 2)), rng.standard_normal((3, 3))
    a, b = make_param([1.0, -1.0]), make_param([0.5, 0.5, 0.5])
    optimizer = cls([a, b], lr=0.05)
    # b is frozen (grad None) for three steps, then trains.
    run_steps(optimizer, [a, b], [[g, None] for g in grads_a[:3]])
    assert b not in optimizer.state
    np.testing.assert_array_equal(b.data, [0.5, 0.5, 0.5])
    run_steps(optimizer, [a, b], [[ga, gb] for ga, gb in zip(grads_a[3:], grads_b)])
    assert optimizer.state[a]["step"] == 6
    assert optimizer.state[b]["step"] == 3

    # Each parameter moved exactly as if it had had an optimizer of its own.
    alone_a, alone_b = make_param([1.0, -1.0]), make_param([0.5, 0.5, 0.5])
    run_steps(cls([alone_a], lr=0.05), [alone_a], [[g] for g in grads_a])
    run_steps(cls([alone_b], lr=0.05), [alone_b], [[g] for g in grads_b])
    np.testing.assert_array_equal(a.data, alone_a.data)
    np.testing.assert_array_equal(b.data, alone_b.data)


# ----------------------------------------------------------------- dtypes
OPTIONS = [
    (optim.Adam, {}), (optim.Adam, {"amsgrad": True, "weight_decay": 0.1}),
    (optim.Adam, {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    (optim.Adam, {"bias_correction": False}),
    (optim.AdamW, {"amsgrad": True}),
    (optim.NAdam, {"weight_decay": 0.1}),
    (optim.NAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    (optim.RAdam, {"weight_decay": 0.1}),
    (optim.RAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
]


@pytest.mark.parametrize("cls, kwargs", OPTIONS,
                         ids=[f"{c.__name__}-{sorted(k)}" for c, k in OPTIONS])
def test_float32_stays_float32(cls, kwargs, rng):
    p = make_param(rng.standard_normal((4, 3)), dtype=np.float32)
    optimizer = cls([p], lr=0.01, **kwargs)
    run_steps(optimizer, [p], [[rng.standard_normal((4, 3))] for _ in range(10)])
    assert p.data.dtype == np.float32
    assert np.all(np.isfinite(p.data))
    for key, value in optimizer.state[p].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, key
    assert type(optimizer.state[p]["step"]) is int

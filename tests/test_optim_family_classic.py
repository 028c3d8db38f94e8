"""Adagrad, RMSprop, Adadelta, Adamax, Rprop and ASGD beyond the PyTorch trajectories:
validation, state, dtypes, frozen parameters, Rprop's sign rule and ASGD's average."""
from __future__ import annotations

import re

import numpy as np
import pytest

import minigrad
import optim

FAMILY = (optim.Adagrad, optim.RMSprop, optim.Adadelta, optim.Adamax, optim.Rprop, optim.ASGD)


def make_param(values, dtype=np.float64):
    return minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)


def run_steps(optimizer, params, grads_per_step):
    """Give ``params`` the listed gradients (None = no gradient) and step each time."""
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = None if g is None else np.array(g, dtype=p.data.dtype)
        optimizer.step()


# ----------------------------------------------------------------- validation
INVALID = [
    (optim.Adagrad, {"lr": -1}, "Invalid learning rate: -1"),
    (optim.Adagrad, {"lr_decay": -0.1}, "Invalid lr_decay value: -0.1"),
    (optim.Adagrad, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (optim.Adagrad, {"initial_accumulator_value": -1.0},
     "Invalid initial_accumulator_value value: -1.0"),
    (optim.Adagrad, {"eps": -1e-10}, "Invalid epsilon value: -1e-10"),
    (optim.RMSprop, {"lr": -0.5}, "Invalid learning rate: -0.5"),
    (optim.RMSprop, {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    (optim.RMSprop, {"momentum": -0.9}, "Invalid momentum value: -0.9"),
    (optim.RMSprop, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (optim.RMSprop, {"alpha": -0.99}, "Invalid alpha value: -0.99"),
    (optim.Adadelta, {"lr": -1.0}, "Invalid learning rate: -1.0"),
    (optim.Adadelta, {"rho": 1.1}, "Invalid rho value: 1.1"),
    (optim.Adadelta, {"rho": -0.1}, "Invalid rho value: -0.1"),
    (optim.Adadelta, {"eps": -1e-6}, "Invalid epsilon value: -1e-06"),
    (optim.Adadelta, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (optim.Adamax, {"lr": -2e-3}, "Invalid learning rate: -0.002"),
    (optim.Adamax, {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    (optim.Adamax, {"betas": (1.2, 0.999)}, "Invalid beta parameter at index 0: 1.2"),
    (optim.Adamax, {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    (optim.Adamax, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (optim.Rprop, {"lr": -0.01}, "Invalid learning rate: -0.01"),
    (optim.Rprop, {"etas": (1.2, 1.5)}, "Invalid eta values: 1.2, 1.5"),
    (optim.Rprop, {"etas": (0.5, 0.9)}, "Invalid eta values: 0.5, 0.9"),
    (optim.Rprop, {"etas": (0.0, 1.2)}, "Invalid eta values: 0.0, 1.2"),
    (optim.ASGD, {"lr": -0.01}, "Invalid learning rate: -0.01"),
    (optim.ASGD, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
]
INVALID_IDS = [f"{cls.__name__}-{message}" for cls, _, message in INVALID]


@pytest.mark.parametrize("cls, kwargs, message", INVALID, ids=INVALID_IDS)
def test_invalid_hyper_parameters_raise_at_construction(cls, kwargs, message):
    p = make_param([1.0, 2.0])
    p.grad = np.array([0.5, -0.5])
    with pytest.raises(ValueError, match=re.escape(message)):
        cls([p], **kwargs)
    np.testing.assert_array_equal(p.data, [1.0, 2.0])
    np.testing.assert_array_equal(p.grad, [0.5, -0.5])


@pytest.mark.parametrize("cls, kwargs, message", INVALID, ids=INVALID_IDS)
def test_invalid_param_group_leaves_optimizer_unchanged(cls, kwargs, message):
    p, q = make_param([1.0, 2.0]), make_param([3.0])
    optimizer = cls([p], lr=0.1)
    run_steps(optimizer, [p], [[[0.5, -0.5]]])
    data, saved = p.data.copy(), optimizer.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)):
        optimizer.add_param_group({"params": [q], **kwargs})
    assert len(optimizer.param_groups) == 1
    assert q not in optimizer.state
    np.testing.assert_array_equal(q.data, [3.0])
    np.testing.assert_array_equal(p.data, data)
    after = optimizer.state_dict()
    assert after["param_groups"] == saved["param_groups"]
    assert set(after["state"][0]) == set(saved["state"][0])
    for key, value in saved["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)


# ----------------------------------------------------------------- state
CONFIGS = [  # (class, options, the keys torch.optim puts in each parameter's state)
    (optim.Adagrad, {}, {"step", "sum"}),
    (optim.RMSprop, {}, {"step", "square_avg"}),
    (optim.RMSprop, {"momentum": 0.9}, {"step", "square_avg", "momentum_buffer"}),
    (optim.RMSprop, {"centered": True}, {"step", "square_avg", "grad_avg"}),
    (optim.RMSprop, {"momentum": 0.9, "centered": True},
     {"step", "square_avg", "momentum_buffer", "grad_avg"}),
    (optim.Adadelta, {}, {"step", "square_avg", "acc_delta"}),
    (optim.Adamax, {}, {"step", "exp_avg", "exp_inf"}),
    (optim.Rprop, {}, {"step", "prev", "step_size"}),
    (optim.ASGD, {}, {"step", "eta", "mu", "ax"}),
]
CONFIG_IDS = [f"{cls.__name__}-{options}" for cls, options, _ in CONFIGS]


@pytest.mark.parametrize("cls, options, keys", CONFIGS, ids=CONFIG_IDS)
def test_state_keys_after_one_step_match_pytorch(cls, options, keys):
    p = make_param([1.0, -2.0])
    optimizer = cls([p], **options)
    run_steps(optimizer, [p], [[[0.5, 1.0]]])
    state = optimizer.state[p]
    assert set(state) == keys
    assert type(state["step"]) is int and state["step"] == 1
    if cls is optim.ASGD:
        assert type(state["eta"]) is float and type(state["mu"]) is float


@pytest.mark.parametrize("cls, options, keys", CONFIGS, ids=CONFIG_IDS)
def test_state_agrees_with_installed_torch(cls, options, keys):
    """Same keys as torch.optim, and the same values after a few steps (the reference
    trajectories check parameters only, not state such as ASGD's ``ax``)."""
    torch = pytest.importorskip("torch")
    grads = [[0.5, 1.0], [-0.25, 2.0], [0.75, 1.5], [0.5, -1.0]]
    options = {**options, "lr": 0.05}
    if cls is optim.ASGD:
        options.update(t0=1, lambd=0.01)  # averaging (mu < 1) happens within four steps
    mine = make_param([1.0, -2.0])
    theirs = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = cls([mine], **options)
    reference = getattr(torch.optim, cls.__name__)([theirs], **options)
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch keeps step, eta and mu in this dtype
    try:
        for g in grads:
            mine.grad = np.array(g)
            theirs.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
            reference.step()
    finally:
        torch.set_default_dtype(default_dtype)
    assert set(reference.state[theirs]) == keys
    np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-14)
    for key, value in reference.state[theirs].items():
        np.testing.assert_allclose(optimizer.state[mine][key], value.numpy(), rtol=1e-14,
                                   err_msg=key)


@pytest.mark.parametrize("cls, options, keys", CONFIGS, ids=CONFIG_IDS)
def test_float32_stays_float32(cls, options, keys, rng):
    p = make_param(rng.standard_normal((3, 5)), dtype=np.float32)
    extra = {"t0": 1} if cls is optim.ASGD else {}  # also run the averaging branch
    if cls is not optim.Rprop:
        extra["weight_decay"] = 0.01
    optimizer = cls([p], **options, **extra)
    run_steps(optimizer, [p], [[rng.standard_normal((3, 5))] for _ in range(3)])
    assert p.data.dtype == np.float32
    for key, value in optimizer.state[p].items():
        if key != "step" and hasattr(value, "dtype"):
            assert value.dtype == np.float32, key
            assert value.shape == (3, 5), key
    assert np.all(np.isfinite(p.data))


@pytest.mark.parametrize("cls, options, keys", CONFIGS, ids=CONFIG_IDS)
def test_parameter_without_grad_is_skipped_and_keeps_no_state(cls, options, keys):
    used, frozen = make_param([1.0, -2.0]), make_param([3.0, 4.0])
    optimizer = cls([used, frozen], **options)
    run_steps(optimizer, [used, frozen], [[[0.5, 1.0], None], [[0.25, -1.0], None]])
    np.testing.assert_array_equal(frozen.data, [3.0, 4.0])
    assert frozen not in optimizer.state
    assert list(optimizer.state_dict()["state"]) == [0]
    assert optimizer.state[used]["step"] == 2


# ----------------------------------------------------------------- Rprop
def test_rprop_sign_change_rule():
    p = make_param([0.0, 0.0])
    optimizer = optim.Rprop([p], lr=0.1, etas=(0.5, 1.2))
    state = lambda: optimizer.state[p]  # noqa: E731

    run_steps(optimizer, [p], [[[1.0, 1.0]]])  # no previous gradient: Δ stays lr
    np.testing.assert_allclose(p.data, [-0.1, -0.1])
    np.testing.assert_allclose(state()["step_size"], [0.1, 0.1])
    np.testing.assert_array_equal(state()["prev"], [1.0, 1.0])

    run_steps(optimizer, [p], [[[3.0, -2.0]]])  # same sign: Δ·1.2; sign change: Δ·0.5, no move
    np.testing.assert_allclose(state()["step_size"], [0.12, 0.05])
    np.testing.assert_allclose(p.data, [-0.22, -0.1])
    np.testing.assert_array_equal(state()["prev"], [3.0, 0.0])

    run_steps(optimizer, [p], [[[0.5, -2.0]]])  # prev = 0 after the change: Δ kept, moves
    np.testing.assert_allclose(state()["step_size"], [0.144, 0.05])
    np.testing.assert_allclose(p.data, [-0.364, -0.05])
    np.testing.assert_array_equal(state()["prev"], [0.5, -2.0])


def test_rprop_step_size_is_clipped_to_step_sizes():
    p = make_param([0.0, 0.0])
    optimizer = optim.Rprop([p], lr=0.1, etas=(0.5, 2.0), step_sizes=(0.04, 0.3))
    run_steps(optimizer, [p], [[[1.0, 1.0]], [[1.0, -1.0]], [[1.0, 1.0]], [[1.0, -1.0]]])
    # coordinate 0 grows 0.1 → 0.2 → 0.4 (clipped to 0.3) → 0.6 (0.3);
    # coordinate 1 shrinks 0.1 → 0.05, stays (prev = 0), then 0.025 (clipped to 0.04)
    np.testing.assert_allclose(optimizer.state[p]["step_size"], [0.3, 0.04])


# ----------------------------------------------------------------- ASGD
def test_asgd_ax_holds_the_running_average_once_step_exceeds_t0():
    t0 = 3
    p = make_param([1.0, -2.0])
    optimizer = optim.ASGD([p], lr=0.1, t0=t0)
    rng = np.random.default_rng(0)
    iterates = []
    for step in range(1, 11):
        run_steps(optimizer, [p], [[rng.standard_normal(2)]])
        iterates.append(p.data.copy())
        ax = optimizer.state[p]["ax"]
        if step <= t0 + 2:  # μ = 1/max(1, t − 1 − t0) = 1: the "average" is a copy of θ
            np.testing.assert_array_equal(ax, p.data)
        else:  # μ = 1/(t − t0 − 1): the mean of the iterates from step t0 + 2 on
            np.testing.assert_allclose(ax, np.mean(iterates[t0 + 1:], axis=0), rtol=1e-14)
            assert not np.allclose(ax, p.data)
    assert optimizer.state[p]["mu"] == 1 / (10 - t0)


def test_asgd_eta_follows_its_schedule():
    lr, lambd, alpha = 0.1, 0.5, 0.75
    p = make_param([1.0])
    optimizer = optim.ASGD([p], lr=lr, lambd=lambd, alpha=alpha)
    assert optimizer.param_groups[0]["lr"] == lr
    for step in range(1, 4):
        run_steps(optimizer, [p], [[[1.0]]])
        assert optimizer.state[p]["eta"] == pytest.approx(lr / (1 + lambd * lr * step) ** alpha)
    assert optimizer.state[p]["mu"] == 1.0

"""Misuse that must fail loudly (or be handled as PyTorch does), never corrupt a run.

* NaN gradient elements: LBFGS must not store a NaN curvature pair, Rprop must leave the
  coordinate where it is (PyTorch's ``sign(nan)`` is 0).
* Optimizer checkpoints: arrays of the wrong dtype are cast on load, a state of another
  optimizer class or with keys that went through JSON is refused at load, naming the
  problem, and a refused load changes nothing.
* Scheduler checkpoints: ``{}``, another class's dict, or one saved for a different
  number of groups, lambdas or inner schedulers is refused before anything changes.

Gradients are set by hand (``p.grad = ...``), so these tests need no autograd.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minigrad
import schedules
from minigrad.random import default_generator
from optim.adafactor import Adafactor
from optim.adam import Adam
from optim.adam8bit import Adam8bit
from optim.lbfgs import LBFGS, _remember_pair
from optim.rprop import Rprop
from optim.sgd import SGD
from optim.soap import SOAP
from optim.sophia import SophiaH

NAN = float("nan")


def _param(values, dtype=np.float64):
    return minigrad.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def _snapshot(opt) -> dict:
    return copy.deepcopy(opt.state_dict())


def _assert_same(a, b) -> None:
    """Nested dicts, lists and arrays equal (NaN equal to NaN)."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


# ----------------------------------------------------------------- LBFGS and a NaN gradient
def test_lbfgs_does_not_remember_a_pair_whose_curvature_is_nan():
    old_dirs, old_stps, ro = [np.array([1.0, 1.0])], [np.array([1.0, 2.0])], [1 / 3]
    y, s = np.array([NAN, 1.0]), np.array([0.5, 0.5])
    H_diag = _remember_pair(y, s, old_dirs, old_stps, ro, history_size=5, H_diag=0.75)
    assert H_diag == 0.75
    assert len(old_dirs) == len(old_stps) == len(ro) == 1


A = np.array([1.0, 2.0, 3.0, 4.0])


def _lbfgs_with_one_nan_gradient_element(steps: int = 2) -> np.ndarray:
    """0.5·Σ aᵢ(wᵢ − 3)², whose 2nd evaluation reports a NaN for dw₁ (the loss is fine)."""
    w = _param(np.ones(4))
    opt = LBFGS([w], lr=0.5, max_iter=6)
    calls = [0]

    def closure():
        calls[0] += 1
        w.grad = A * (w.data - 3.0)
        if calls[0] == 2:
            w.grad[1] = NAN
        return float(0.5 * (A * (w.data - 3.0) ** 2).sum())

    for _ in range(steps):
        opt.step(closure)
    return w.data.copy()


def test_a_nan_gradient_element_leaves_lbfgs_other_parameters_finite():
    w = _lbfgs_with_one_nan_gradient_element()
    assert np.isnan(w[1])
    assert np.isfinite(w[[0, 2, 3]]).all()


def test_lbfgs_with_a_nan_gradient_element_matches_pytorch():
    torch = pytest.importorskip("torch")
    w = torch.ones(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=0.5, max_iter=6)
    a = torch.tensor(A)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = (0.5 * a * (w - 3.0) ** 2).sum()
        loss.backward()
        if calls[0] == 2:
            w.grad[1] = NAN
        return loss

    for _ in range(2):
        opt.step(closure)
    np.testing.assert_allclose(_lbfgs_with_one_nan_gradient_element(), w.detach().numpy(),
                               rtol=1e-12, atol=0)  # assert_allclose treats NaN == NaN


# ----------------------------------------------------------------- Rprop and a NaN gradient
RPROP_GRADS = [[1.0, 1.0, 1.0], [NAN, 1.0, -1.0], [1.0, 1.0, 1.0], [1.0, -1.0, 1.0]]


def _rprop_trajectory():
    w = _param([1.0, -2.0, 3.0])
    opt = Rprop([w], lr=0.1)
    rows = []
    for grad in RPROP_GRADS:
        w.grad = np.array(grad)
        opt.step()
        state = opt.state[w]
        rows.append((w.data.copy(), state["prev"].copy(), state["step_size"].copy()))
    return rows


def test_rprop_leaves_a_coordinate_with_a_nan_gradient_where_it_is():
    rows = _rprop_trajectory()
    after_nan, prev, step_size = rows[1]
    assert after_nan[0] == 0.9 and step_size[0] == 0.1  # neither moved nor rescaled
    assert np.isnan(prev[0])                           # the NaN is remembered, as in PyTorch
    after, prev, step_size = rows[2]                   # g·g' is NaN again: Δ is kept
    assert after[0] == 0.9 - 0.1 and step_size[0] == 0.1 and prev[0] == 1.0
    assert all(np.isfinite(row[0]).all() for row in rows)


def test_rprop_with_a_nan_gradient_element_matches_pytorch():
    torch = pytest.importorskip("torch")
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Rprop([w], lr=0.1)
    for grad, (ours, prev, step_size) in zip(RPROP_GRADS, _rprop_trajectory()):
        w.grad = torch.tensor(grad, dtype=torch.float64)
        opt.step()
        state = opt.state[w]
        np.testing.assert_array_equal(ours, w.detach().numpy())
        np.testing.assert_array_equal(prev, state["prev"].numpy())  # NaN where torch's is
        np.testing.assert_array_equal(step_size, state["step_size"].numpy())


# ----------------------------------------------------------------- optimizer checkpoints
def _stepped(opt, params, steps: int = 2):
    for _ in range(steps):
        for p in params:
            p.grad = p.data + 1.0
        opt.step()
    return opt


def test_integer_state_arrays_are_cast_to_the_parameter_dtype_on_load():
    w = _param([1.0, -2.0, 3.0], np.float32)
    opt = Adam([w], lr=0.1)
    saved = opt.state_dict()
    saved["state"][0] = {"step": 3, "exp_avg": np.array([1, 0, -1], dtype=np.int64),
                         "exp_avg_sq": np.array([4, 1, 9], dtype=np.int64)}
    opt.load_state_dict(saved)
    state = opt.state[w]
    assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == np.float32
    assert state["step"] == 3 and type(state["step"]) is int
    w.grad = np.ones(3, dtype=np.float32)
    opt.step()  # used to fail: an int64 average cannot take a float update in place
    assert w.data.dtype == np.float32 and state["step"] == 4


def test_integer_state_loads_as_in_pytorch():
    torch = pytest.importorskip("torch")
    exp_avg, exp_avg_sq = [1, 0, -1], [4, 1, 9]
    tw = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.1)
    saved = topt.state_dict()
    saved["state"] = {0: {"step": torch.tensor(3.0), "exp_avg": torch.tensor(exp_avg),
                          "exp_avg_sq": torch.tensor(exp_avg_sq)}}
    topt.load_state_dict(saved)
    tw.grad = torch.ones(3)
    topt.step()

    w = _param([1.0, -2.0, 3.0], np.float32)
    opt = Adam([w], lr=0.1)
    ours = opt.state_dict()
    ours["state"] = {0: {"step": 3, "exp_avg": np.array(exp_avg),
                         "exp_avg_sq": np.array(exp_avg_sq)}}
    opt.load_state_dict(ours)
    w.grad = np.ones(3, dtype=np.float32)
    opt.step()
    assert topt.state[tw]["exp_avg"].dtype == torch.float32
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-6)


def test_a_state_of_another_optimizer_class_is_refused_at_load():
    params = [_param([1.0, 2.0]), _param([3.0])]
    adam_state = _stepped(Adam(params, lr=0.1), params).state_dict()
    sgd = _stepped(SGD([_param([1.0, 2.0]), _param([3.0])], lr=0.1, momentum=0.9),
                   [], 0)
    before = _snapshot(sgd)
    with pytest.raises(ValueError, match="parameter 0 has no 'momentum_buffer', which SGD keeps"):
        sgd.load_state_dict(adam_state)
    _assert_same(_snapshot(sgd), before)

    sgd_state = _stepped(SGD(params, lr=0.1, momentum=0.9), params).state_dict()
    adam = Adam([_param([1.0, 2.0]), _param([3.0])], lr=0.1)
    with pytest.raises(ValueError, match="parameter 0 has no 'step', which Adam keeps"):
        adam.load_state_dict(sgd_state)


def test_an_array_replaced_by_none_is_refused_at_load():
    params = [_param([1.0, 2.0])]
    saved = _stepped(Adam(params, lr=0.1), params).state_dict()
    saved["state"][0]["exp_avg"] = None
    with pytest.raises(ValueError, match="'exp_avg' = NoneType, but Adam keeps an array"):
        Adam([_param([1.0, 2.0])], lr=0.1).load_state_dict(saved)


def test_optional_state_is_required_only_where_the_group_creates_it():
    params = [_param([1.0, 2.0])]
    plain = _stepped(Adam(params, lr=0.1), params).state_dict()
    Adam([_param([1.0, 2.0])], lr=0.1, amsgrad=True).load_state_dict(plain)  # group amsgrad=False
    sgd = SGD([_param([1.0, 2.0])], lr=0.1)  # no momentum: the buffer stays None
    sgd.load_state_dict(_stepped(SGD(params, lr=0.1), params).state_dict())
    assert sgd.state[sgd.param_groups[0]["params"][0]]["momentum_buffer"] is None


def _adam8bit(p):
    return Adam8bit([p], lr=0.01, min_8bit_size=0, block_size=4)


def test_8bit_codes_stay_uint8_and_scales_float32_on_load():
    w = _param(np.linspace(-1.0, 1.0, 6))
    saved = _stepped(_adam8bit(w), [w], 3).state_dict()
    saved["state"][0]["exp_avg_q"] = saved["state"][0]["exp_avg_q"].astype(np.int64)
    fresh = _adam8bit(_param(np.zeros(6)))
    fresh.load_state_dict(saved)
    state = fresh.state[fresh.param_groups[0]["params"][0]]
    assert state["exp_avg_q"].dtype == state["exp_avg_sq_q"].dtype == np.uint8
    assert state["exp_avg_absmax"].dtype == state["exp_avg_sq_absmax"].dtype == np.float32
    np.testing.assert_array_equal(state["exp_avg_q"], saved["state"][0]["exp_avg_q"])


def test_8bit_resume_is_bit_exact_for_float64_parameters():
    w = _param(np.linspace(-1.0, 1.0, 6))
    opt = _stepped(_adam8bit(w), [w], 3)
    saved = copy.deepcopy(opt.state_dict())
    checkpoint_w = w.data.copy()
    _stepped(opt, [w], 2)

    resumed = _param(checkpoint_w)
    fresh = _adam8bit(resumed)
    fresh.load_state_dict(saved)
    _stepped(fresh, [resumed], 2)
    np.testing.assert_array_equal(resumed.data, w.data)
    for key, value in opt.state[w].items():
        _assert_same(fresh.state[resumed][key], value)


def test_adafactor_factor_shapes_are_checked_at_load():
    params = [_param(np.ones((2, 3)))]
    saved = _stepped(Adafactor(params, lr=0.01), params).state_dict()
    saved["state"][0]["row_var"] = np.zeros((3, 1))
    opt = Adafactor([_param(np.ones((2, 3)))], lr=0.01)
    with pytest.raises(ValueError, match=r"'row_var' of shape \(3, 1\), but Adafactor keeps it "
                                         r"in shape \(2, 1\)"):
        opt.load_state_dict(saved)


def test_soap_factor_lists_are_checked_at_load():
    params = [_param(np.ones((2, 3)))]
    saved = _stepped(SOAP(params, lr=0.01), params).state_dict()
    saved["state"][0]["GG"] = saved["state"][0]["GG"][:1]
    opt = SOAP([_param(np.ones((2, 3)))], lr=0.01)
    with pytest.raises(ValueError, match="'GG' that is not a list of 2 items"):
        opt.load_state_dict(saved)
    assert not opt.state


def test_loading_does_not_draw_from_the_random_generator():
    w = _param([1.0, 2.0])
    opt = SophiaH([w], lr=0.01)
    saved = opt.state_dict()
    saved["state"] = {0: {"step": 1, "exp_avg": np.zeros(2), "hessian": np.zeros(2),
                          "probe_seed": 12345}}
    position = default_generator().bit_generator.state
    opt.load_state_dict(saved)  # SophiaH's fresh state draws a seed: it is given back
    assert default_generator().bit_generator.state == position
    assert opt.state[w]["probe_seed"] == 12345


def test_string_parameter_keys_from_json_are_named_in_the_error():
    params = [_param([1.0, 2.0])]
    saved = _stepped(SGD(params, lr=0.1, momentum=0.9), params).state_dict()
    saved["state"] = {str(index): state for index, state in saved["state"].items()}
    opt = SGD([_param([1.0, 2.0])], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="string key '0'.*int"):
        opt.load_state_dict(saved)


def test_a_dict_that_is_not_an_optimizer_checkpoint_is_refused():
    opt = SGD([_param([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="has no 'param_groups'"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="has no 'state'"):
        opt.load_state_dict({})


# ----------------------------------------------------------------- scheduler checkpoints
def _sgd(groups: int = 1):
    return SGD([{"params": [_param([0.0])]} for _ in range(groups)], lr=0.1, momentum=0.9)


def _scheduler_snapshot(scheduler) -> tuple:
    return copy.deepcopy(scheduler.state_dict()), copy.deepcopy(scheduler.optimizer.param_groups)


def _assert_unchanged(scheduler, before) -> None:
    state, groups = before
    _assert_same(scheduler.state_dict(), state)
    for group, saved in zip(scheduler.optimizer.param_groups, groups, strict=True):
        assert {k: v for k, v in group.items() if k != "params"} == \
            {k: v for k, v in saved.items() if k != "params"}


def _stepped_scheduler(scheduler, steps: int = 3):
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
    return scheduler


SCHEDULERS = {
    "StepLR": lambda opt: schedules.StepLR(opt, step_size=2),
    "LambdaLR": lambda opt: schedules.LambdaLR(opt, lambda t: 0.9 ** t),
    "CyclicLR": lambda opt: schedules.CyclicLR(opt, 0.01, 0.1, step_size_up=2),
    "ReduceLROnPlateau": lambda opt: schedules.ReduceLROnPlateau(opt),
    "SequentialLR": lambda opt: schedules.SequentialLR(
        opt, [schedules.LinearLR(opt, total_iters=2), schedules.ExponentialLR(opt, 0.9)], [2]),
    "ChainedScheduler": lambda opt: schedules.ChainedScheduler(
        [schedules.ConstantLR(opt, total_iters=2), schedules.ExponentialLR(opt, 0.9)]),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_an_empty_scheduler_state_is_refused(name):
    scheduler = SCHEDULERS[name](_sgd())
    before = _scheduler_snapshot(scheduler)
    with pytest.raises(ValueError, match=f"{name}.load_state_dict: the state dict lacks "
                                         "'"):
        scheduler.load_state_dict({})
    _assert_unchanged(scheduler, before)


def test_a_state_of_another_scheduler_class_is_refused():
    opt = _sgd()
    exponential = _stepped_scheduler(schedules.ExponentialLR(opt, gamma=0.5))
    before = _scheduler_snapshot(exponential)
    step_state = schedules.StepLR(_sgd(), step_size=2, gamma=0.5).state_dict()
    with pytest.raises(ValueError, match="has 'step_size', which ExponentialLR does not keep"):
        exponential.load_state_dict(step_state)
    _assert_unchanged(exponential, before)


def test_lambda_lr_refuses_a_state_saved_with_another_number_of_lambdas():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, t):
            return self.rate ** t

    two = _stepped_scheduler(schedules.LambdaLR(_sgd(2), [Decay(), Decay()]))
    one = schedules.LambdaLR(_sgd(1), Decay())
    before = _scheduler_snapshot(one)
    with pytest.raises(ValueError, match="one value per parameter group, 1 here, but the "
                                         "state dict has 2"):
        one.load_state_dict(two.state_dict())
    _assert_unchanged(one, before)

    same_groups = one.state_dict()
    same_groups["lr_lambdas"] = [{"rate": 0.25}, {"rate": 0.125}]
    with pytest.raises(ValueError, match="the state dict has 2 lr_lambdas, this scheduler has 1"):
        one.load_state_dict(same_groups)
    _assert_unchanged(one, before)
    assert one.lr_lambdas[0].rate == 0.5


def _sequential(opt, extra: bool = False):
    inner = [schedules.LinearLR(opt, total_iters=2), schedules.ExponentialLR(opt, 0.9)]
    if extra:
        inner.append(schedules.ExponentialLR(opt, 0.5))
    return schedules.SequentialLR(opt, inner, [2, 4] if extra else [2])


def test_sequential_lr_with_another_number_of_schedulers_loads_nothing():
    three = _stepped_scheduler(_sequential(_sgd(), extra=True), 5)
    two = _stepped_scheduler(_sequential(_sgd()), 1)
    before = _scheduler_snapshot(two)
    inner_before = [s.state_dict() for s in two._schedulers]
    with pytest.raises(ValueError, match="holds 3 inner schedulers, this one has 2"):
        two.load_state_dict(three.state_dict())
    _assert_unchanged(two, before)
    for scheduler, state in zip(two._schedulers, inner_before):
        _assert_same(scheduler.state_dict(), state)


def test_sequential_lr_checks_every_inner_state_before_loading_any():
    two = _sequential(_sgd())
    before = _scheduler_snapshot(two)
    saved = _stepped_scheduler(_sequential(_sgd()), 3).state_dict()
    saved["_schedulers"][1] = schedules.StepLR(_sgd(), step_size=2).state_dict()
    with pytest.raises(ValueError, match="ExponentialLR.load_state_dict.*'step_size'"):
        two.load_state_dict(saved)
    _assert_unchanged(two, before)
    assert two._schedulers[0].last_epoch == 0  # the first inner scheduler was not loaded


def test_chained_scheduler_with_another_number_of_schedulers_loads_nothing():
    opt = _sgd()
    chained = schedules.ChainedScheduler([schedules.ConstantLR(opt, total_iters=2)])
    before = _scheduler_snapshot(chained)
    other = _sgd()
    saved = _stepped_scheduler(schedules.ChainedScheduler(
        [schedules.ConstantLR(other, total_iters=2), schedules.ExponentialLR(other, 0.9)]),
        2).state_dict()
    with pytest.raises(ValueError, match="holds 2 inner schedulers, this one has 1"):
        chained.load_state_dict(saved)
    _assert_unchanged(chained, before)


def test_cyclic_lr_refuses_scale_fn_attributes_it_cannot_restore():
    class Halving:
        def __init__(self):
            self.base = 0.5

        def __call__(self, x):
            return self.base ** x

    saved = schedules.CyclicLR(_sgd(), 0.01, 0.1, scale_fn=Halving()).state_dict()
    plain = schedules.CyclicLR(_sgd(), 0.01, 0.1)
    before = _scheduler_snapshot(plain)
    with pytest.raises(ValueError, match="no scale_fn to give them to"):
        plain.load_state_dict(saved)
    _assert_unchanged(plain, before)


def test_a_matching_scheduler_state_still_loads():
    opt = _sgd(2)
    source = _stepped_scheduler(_sequential(opt), 3)
    target = _sequential(_sgd(2))
    target.load_state_dict(source.state_dict())
    assert target.last_epoch == source.last_epoch
    assert [s.last_epoch for s in target._schedulers] == [s.last_epoch for s in source._schedulers]

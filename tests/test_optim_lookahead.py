"""Lookahead (optim.lookahead): slow and fast weights, the shared groups, schedulers,
checkpoints and validation."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import minigrad
import optim
from optim.lookahead import Lookahead, lookahead_update
from optim.sam import SAM
from schedules import CosineAnnealingLR, StepLR

from quartic import A, B, START  # the shared test problem
from quartic import closure_for as _closure, gradient as _grad, problem as _problem


def _train(opt, loss, steps):
    closure = _closure(opt, loss)
    for _ in range(steps):
        if opt.needs_closure:
            opt.step(closure)
        else:
            closure()
            opt.step()


def _flat(params) -> list:
    return [float(v) for p in params for v in p.data.ravel()]


# ----------------------------------------------------------------- against a transcription
def _lookahead_sgd_by_hand(steps, *, lr, momentum, k, alpha):
    """The paper's Algorithm 1 around PyTorch's SGD, on floats, in the authors' form."""
    fast, slow, buf, path = list(START), list(START), None, []
    for t in range(1, steps + 1):
        g = _grad(fast)
        buf = list(g) if buf is None else [momentum * buf[i] + g[i] for i in range(3)]
        fast = [fast[i] - lr * buf[i] for i in range(3)]
        if t % k == 0:  # θ·α + φ·(1 − α), then restart the fast weights from φ
            slow = [fast[i] * alpha + slow[i] * (1 - alpha) for i in range(3)]
            fast = list(slow)
        path.append((list(fast), list(slow)))
    return path


@pytest.mark.parametrize("k, alpha", [(3, 0.5), (5, 0.8), (1, 0.3)])
def test_lookahead_with_sgd_follows_a_transcription_of_the_paper(k, alpha):
    params, loss = _problem()
    opt = Lookahead(optim.SGD(params, lr=0.05, momentum=0.9), k=k, alpha=alpha)
    for fast, slow in _lookahead_sgd_by_hand(20, lr=0.05, momentum=0.9, k=k, alpha=alpha):
        _train(opt, loss, 1)
        np.testing.assert_allclose(_flat(params), fast, rtol=0, atol=1e-12)
        np.testing.assert_allclose([float(v) for p in params
                                    for v in opt.state[p]["slow_param"].ravel()],
                                   slow, rtol=0, atol=1e-12)


def test_alpha_one_is_the_inner_optimizer_and_alpha_zero_returns_every_k_steps():
    params, loss = _problem()
    ref, ref_loss = _problem()
    la = Lookahead(optim.Adam(params, lr=0.05), k=3, alpha=1.0)
    adam = optim.Adam(ref, lr=0.05)
    for _ in range(9):
        _train(la, loss, 1)
        _train(adam, ref_loss, 1)
        for p, q in zip(params, ref):
            np.testing.assert_array_equal(p.data, q.data)

    params, loss = _problem()
    la = Lookahead(optim.SGD(params, lr=0.1), k=4, alpha=0.0)
    for t in range(1, 9):
        _train(la, loss, 1)
        assert (_flat(params) == START) == (t % 4 == 0)


def test_lookahead_update_moves_the_slow_weights_and_restarts_from_them():
    fast, slow = np.array([2.0, -1.0]), np.array([0.0, 1.0])
    lookahead_update(fast, slow, alpha=0.25)
    np.testing.assert_array_equal(slow, [0.5, 0.5])
    np.testing.assert_array_equal(fast, slow)
    assert fast is not slow and not np.shares_memory(fast, slow)


def test_matches_pytorch_optimizer_lookahead_with_adam():
    torch = pytest.importorskip("torch")
    pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
    params, loss = _problem()
    opt = Lookahead(optim.Adam(params, lr=0.05), k=4, alpha=0.6)
    tp = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    ta, tb = torch.tensor(A, dtype=torch.float64), torch.tensor(B, dtype=torch.float64)
    topt = pytorch_optimizer.Lookahead(torch.optim.Adam(tp, lr=0.05), k=4, alpha=0.6)
    for _ in range(20):
        _train(opt, loss, 1)
        topt.zero_grad()
        w = torch.cat(tp)
        (0.5 * w @ (ta @ w) - tb @ w + 0.1 * (w ** 4).sum()).backward()
        topt.step()
        np.testing.assert_allclose(_flat(params), [v for t in tp for v in t.tolist()],
                                   rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    (dict(k=0), r"Invalid k: 0 \(expected an integer >= 1\)"),
    (dict(k=2.5), "Invalid k: 2.5"),
    (dict(k=True), "Invalid k: True"),
    (dict(alpha=-0.1), r"Invalid alpha: -0.1 \(allowed range \[0.0, 1.0\]\)"),
    (dict(alpha=1.5), "Invalid alpha: 1.5"),
    (dict(alpha=float("nan")), "Invalid alpha"),
])
def test_bad_k_and_alpha_are_refused(kwargs, message):
    params, _ = _problem()
    inner = optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match=message):
        Lookahead(inner, **kwargs)


def test_the_optimizer_must_be_an_instance():
    params, _ = _problem()
    with pytest.raises(TypeError, match="instance"):
        Lookahead(optim.SGD)
    with pytest.raises(TypeError, match="not an optimizer"):
        Lookahead(params)


def test_a_rejected_group_or_checkpoint_changes_nothing():
    params, loss = _problem()
    la = Lookahead(optim.SGD([params[0]], lr=0.1, momentum=0.9), k=2)
    _train(la, loss, 3)
    before = copy.deepcopy(la.state_dict())
    with pytest.raises(ValueError, match="Invalid learning rate"):
        la.add_param_group({"params": [params[1]], "lr": -1.0})
    assert len(la.param_groups) == 1
    bad = copy.deepcopy(before)
    bad["state"][0]["slow_param"] = np.zeros(5)
    with pytest.raises(ValueError, match="slow_param"):
        la.load_state_dict(bad)
    bad = copy.deepcopy(before)
    bad["alpha"] = 2.0
    with pytest.raises(ValueError, match="Invalid alpha"):
        la.load_state_dict(bad)
    bad = copy.deepcopy(before)
    bad["optimizer"]["state"][0]["momentum_buffer"] = np.zeros(5)
    with pytest.raises(ValueError):
        la.load_state_dict(bad)
    after = la.state_dict()
    np.testing.assert_array_equal(after["state"][0]["slow_param"],
                                  before["state"][0]["slow_param"])
    np.testing.assert_array_equal(after["optimizer"]["state"][0]["momentum_buffer"],
                                  before["optimizer"]["state"][0]["momentum_buffer"])
    assert after["state"][0]["step"] == 3


# ----------------------------------------------------------------- the inner optimizer
def test_groups_zero_grad_and_add_param_group_go_to_the_inner_optimizer():
    params, loss = _problem()
    inner = optim.SGD([params[0]], lr=0.1)
    la = Lookahead(inner, k=2)
    assert la.param_groups is inner.param_groups and la.defaults is inner.defaults
    assert la.needs_closure is False
    la.add_param_group({"params": [params[1]], "lr": 0.01})
    assert len(inner.param_groups) == 2 and inner.param_groups[1]["lr"] == 0.01
    loss().backward()
    la.zero_grad()
    assert all(p.grad is None for p in params)
    _train(la, loss, 1)
    assert set(la.state) == set(params)   # slow weights for both groups


def test_slow_weights_are_taken_at_the_first_step_not_at_construction():
    params, loss = _problem()
    la = Lookahead(optim.SGD(params, lr=0.1), k=3, alpha=0.5)
    assert len(la.state) == 0
    for p in params:          # e.g. a checkpoint of the model loaded after building la
        p.data[...] = 0.5
    _train(la, loss, 1)
    for p in params:
        np.testing.assert_array_equal(la.state[p]["slow_param"], np.full(p.shape, 0.5))


def test_a_closure_optimizer_inside_lookahead():
    params, loss = _problem()
    la = Lookahead(SAM(params, optim.SGD, rho=0.05, lr=0.05), k=2)
    assert la.needs_closure
    with pytest.raises(TypeError, match="closure"):
        la.step()
    value = la.step(_closure(la, loss))
    assert float(value.data) == pytest.approx(float(_problem()[1]().data))
    _train(la, loss, 3)
    assert all(la.state[p]["step"] == 4 for p in params)


@pytest.mark.parametrize("make_scheduler", [
    lambda opt: StepLR(opt, step_size=2, gamma=0.5),
    lambda opt: CosineAnnealingLR(opt, T_max=6)], ids=["StepLR", "CosineAnnealingLR"])
@pytest.mark.parametrize("on_inner", [False, True], ids=["on Lookahead", "on the inner"])
def test_a_scheduler_drives_the_inner_learning_rate_without_warnings(make_scheduler, on_inner):
    params, loss = _problem()
    inner = optim.SGD(params, lr=0.1)
    la = Lookahead(inner, k=10)                         # no slow step in this test
    scheduler = make_scheduler(inner if on_inner else la)
    closure = _closure(la, loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):
            lr = inner.param_groups[0]["lr"]
            before = [p.data.copy() for p in params]
            closure()
            grads = [p.grad.copy() for p in params]
            la.step()
            for p, b, g in zip(params, before, grads):
                np.testing.assert_allclose(p.data, b - lr * g, rtol=1e-14)
            scheduler.step()
    assert inner.param_groups[0]["lr"] == pytest.approx(scheduler.get_last_lr()[0])
    assert inner.param_groups[0]["lr"] < 0.1


# ----------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("pickled", [False, True])
def test_resume_through_state_dict_is_bit_exact(pickled):
    params, loss = _problem()
    la = Lookahead(optim.Adam(params, lr=0.05), k=5, alpha=0.6)
    _train(la, loss, 7)                                  # in the middle of a cycle
    saved = la.state_dict()
    if pickled:
        saved = pickle.loads(pickle.dumps(saved))
    saved_params = [p.data.copy() for p in params]
    _train(la, loss, 9)

    fresh, fresh_loss = _problem()
    for p, s in zip(fresh, saved_params):
        p.data[...] = s
    la2 = Lookahead(optim.Adam(fresh, lr=1.0), k=2, alpha=0.1)  # the checkpoint's settings win
    la2.load_state_dict(saved)
    assert (la2.k, la2.alpha, la2.param_groups[0]["lr"]) == (5, 0.6, 0.05)
    _train(la2, fresh_loss, 9)
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(la.state[p]["slow_param"], la2.state[q]["slow_param"])
        assert la.state[p]["step"] == la2.state[q]["step"] == 16
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(la.optimizer.state[p][key], la2.optimizer.state[q][key])


def test_state_dict_holds_the_inner_optimizers_and_keeps_float32():
    params, loss = _problem(np.float32)
    la = Lookahead(optim.SGD(params, lr=0.05, momentum=0.9), k=2)
    _train(la, loss, 3)
    sd = la.state_dict()
    assert set(sd) == {"state", "param_groups", "k", "alpha", "optimizer"}
    assert sd["param_groups"] == sd["optimizer"]["param_groups"]
    assert sorted(sd["state"]) == [0, 1] and sorted(sd["optimizer"]["state"]) == [0, 1]
    assert all(s["slow_param"].dtype == np.float32 for s in sd["state"].values())
    assert all(p.data.dtype == np.float32 for p in params)
    sd["state"][0]["slow_param"] += 1.0  # the saved arrays are copies
    np.testing.assert_array_equal(la.state_dict()["state"][0]["slow_param"],
                                  sd["state"][0]["slow_param"] - 1.0)

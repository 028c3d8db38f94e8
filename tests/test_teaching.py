"""The chapters' momentum formulas (optim.teaching) against PyTorch's SGD reformulations."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
import optim

STEPS = 60


def _problem():
    """An ill-conditioned convex quadratic 0.5·wᵀAw − bᵀw over two parameters (float64)."""
    rng = np.random.default_rng(11)
    q, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    a = minigrad.tensor(q @ np.diag(np.geomspace(0.2, 5.0, 7)) @ q.T, dtype=np.float64)
    b = minigrad.tensor(rng.standard_normal(7), dtype=np.float64)
    starts = [rng.standard_normal(3), rng.standard_normal((2, 2))]

    def make_params():
        return [minigrad.tensor(s, dtype=np.float64, requires_grad=True) for s in starts]

    def loss(params):
        z = minigrad.concatenate([p.reshape(-1) for p in params])
        return 0.5 * (z * (a @ z)).sum() - (b * z).sum()

    return make_params, loss


def _closure(opt, loss, params):
    def closure():
        opt.zero_grad()
        value = loss(params)
        value.backward()
        return value
    return closure


@pytest.mark.parametrize("beta", [0.5, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_momentum_ewa_with_scaled_lr_follows_pytorch_momentum(beta, weight_decay):
    make_params, loss = _problem()
    lr = 0.05
    ewa_params, sgd_params = make_params(), make_params()
    ewa = optim.MomentumEWA(ewa_params, lr=lr / (1 - beta), beta=beta, weight_decay=weight_decay)
    sgd = optim.SGD(sgd_params, lr=lr, momentum=beta, weight_decay=weight_decay)
    for _ in range(STEPS):
        ewa.step(_closure(ewa, loss, ewa_params))
        sgd.step(_closure(sgd, loss, sgd_params))
        for p, q in zip(ewa_params, sgd_params):
            np.testing.assert_allclose(p.data, q.data, rtol=0, atol=1e-12)
            # the average is (1 − β) times PyTorch's sum
            np.testing.assert_allclose(ewa.state[p]["momentum_buffer"],
                                       (1 - beta) * sgd.state[q]["momentum_buffer"], atol=1e-12)


def test_momentum_ewa_first_step_and_zero_start():
    w = minigrad.tensor([1.0, -2.0], dtype=np.float64, requires_grad=True)
    opt = optim.MomentumEWA([w], lr=1.0, beta=0.9)
    (w ** 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"], [0.2, -0.4])  # 0.9·0 + 0.1·g
    np.testing.assert_allclose(w.data, [0.8, -1.6])


def test_nesterov_lookahead_agrees_with_pytorch_nesterov_at_the_lookahead_point():
    """SGD(nesterov=True) stores φ = θ − η·μ·v: after every step, SGD's parameter equals
    the look-ahead point of NesterovLookahead, the buffers are equal, and both closures
    are evaluated at the same points (so they return the same losses)."""
    make_params, loss = _problem()
    lr, mu = 0.1, 0.9
    nag_params, sgd_params = make_params(), make_params()
    nag = optim.NesterovLookahead(nag_params, lr=lr, momentum=mu)
    sgd = optim.SGD(sgd_params, lr=lr, momentum=mu, nesterov=True)
    for _ in range(STEPS):
        nag_loss = float(nag.step(_closure(nag, loss, nag_params)).data)
        sgd_loss = float(sgd.step(_closure(sgd, loss, sgd_params)).data)
        assert nag_loss == pytest.approx(sgd_loss, rel=1e-12, abs=1e-12)
        for p, q in zip(nag_params, sgd_params):
            v = nag.state[p]["momentum_buffer"]
            np.testing.assert_allclose(p.data - lr * mu * v, q.data, rtol=0, atol=1e-12)
            np.testing.assert_allclose(v, sgd.state[q]["momentum_buffer"], rtol=0, atol=1e-12)
    # θ and φ differ by η·μ·v, which vanishes at the minimum both converge to
    for _ in range(500):
        nag.step(_closure(nag, loss, nag_params))
        sgd.step(_closure(sgd, loss, sgd_params))
    for p, q in zip(nag_params, sgd_params):
        np.testing.assert_allclose(p.data, q.data, atol=1e-6)


def test_nesterov_lookahead_evaluates_the_gradient_at_the_lookahead_point():
    w = minigrad.tensor([1.0, -2.0], dtype=np.float64, requires_grad=True)
    opt = optim.NesterovLookahead([w], lr=0.1, momentum=0.5)
    seen = []

    def closure():
        opt.zero_grad()
        seen.append(w.data.copy())
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)                      # v = 0: look-ahead is θ itself
    theta = w.data.copy()
    v = opt.state[w]["momentum_buffer"].copy()
    opt.step(closure)
    np.testing.assert_array_equal(seen[0], [1.0, -2.0])
    np.testing.assert_allclose(seen[1], theta - 0.1 * 0.5 * v)
    # v ← μv + ∇f(look-ahead), θ ← θ − ηv
    new_v = 0.5 * v + 2 * seen[1]
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"], new_v)
    np.testing.assert_allclose(w.data, theta - 0.1 * new_v)


def test_nesterov_lookahead_needs_a_closure_and_skips_frozen_parameters():
    w = minigrad.tensor([1.0], dtype=np.float64, requires_grad=True)
    frozen = minigrad.tensor([5.0], dtype=np.float64, requires_grad=True)
    opt = optim.NesterovLookahead([w, frozen], lr=0.1)
    with pytest.raises(TypeError, match="closure"):
        opt.step()

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert frozen not in opt.state and frozen.data.tolist() == [5.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_teaching_optimizers_keep_the_dtype(dtype):
    for cls in (optim.MomentumEWA, optim.NesterovLookahead):
        w = minigrad.tensor(np.ones((2, 3)), dtype=dtype, requires_grad=True)
        opt = cls([w], lr=0.1)
        for _ in range(3):
            opt.step(_closure(opt, lambda ps: (ps[0] ** 2).sum(), [w]))
        assert w.data.dtype == opt.state[w]["momentum_buffer"].dtype == dtype


def test_teaching_validation():
    w = minigrad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Invalid beta value: 1"):
        optim.MomentumEWA([w], lr=0.1, beta=1.0)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.MomentumEWA([w], lr=-1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.NesterovLookahead([w], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        optim.MomentumEWA([w])  # lr has no default (groups may set their own)
    assert optim.MomentumEWA([{"params": [w], "lr": 0.5}]).param_groups[0]["lr"] == 0.5

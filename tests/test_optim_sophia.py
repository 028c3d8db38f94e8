"""Sophia (SophiaG, SophiaH) and its Hessian estimators (optim.hessian).

The trajectories are checked against transcriptions written here with plain loops over
float64 scalars: SophiaG against the authors' released code (Liuhong99/Sophia,
sophia.py, and the refresh loop of train_sophiag.py), SophiaH against the paper's
Algorithms 1 and 3 with the same update rule.
"""
from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from optim.hessian import (gnb_hessian_step, hutchinson_diagonal, hutchinson_probe,
                           sample_labels_from_logits)
from optim.sophia import SophiaG, SophiaH


def _sign(v: float) -> float:
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


def _reference_step(theta, m, h, g, *, lr, beta1, rho, wd, bs, eps):
    """The authors' step for one coordinate list, scalar by scalar (in place)."""
    for i in range(len(theta)):
        theta[i] = theta[i] * (1 - lr * wd)
        m[i] = beta1 * m[i] + (1 - beta1) * g[i]
        ratio = min(abs(m[i]) / (rho * bs * max(h[i], 0.0) + eps), 1.0)
        theta[i] = theta[i] - lr * _sign(m[i]) * ratio


# ----------------------------------------------------------------- problems
A = [[3.0, 0.5, 0.0, 0.2, 0.0, 0.1, 0.0],
     [0.5, 2.0, 0.3, 0.0, 0.0, 0.0, 0.4],
     [0.0, 0.3, 0.5, 0.0, 0.1, 0.0, 0.0],
     [0.2, 0.0, 0.0, 8.0, 0.0, 0.6, 0.0],
     [0.0, 0.0, 0.1, 0.0, 1.0, 0.0, 0.0],
     [0.1, 0.0, 0.0, 0.6, 0.0, 0.2, 0.0],
     [0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 4.0]]
START = [0.8, -1.2, 0.5, 2.0, -0.3, 1.1, -0.7]   # x (3,) then W (2, 2), flattened
TARGET = [0.1, 0.4, -0.2, 0.3, 0.0, -0.5, 0.2]


def _scalar_grad(z, target):
    """∇ of ½(z − t)ᵀA(z − t) + Σ log(1 + eᶻ), by loops."""
    d = [zi - ti for zi, ti in zip(z, target)]
    return [sum(A[i][j] * d[j] for j in range(7)) + 1 / (1 + math.exp(-z[i]))
            for i in range(7)]


def _params(dtype=np.float64):
    x = minigrad.tensor(np.array(START[:3]), dtype=dtype, requires_grad=True)
    w = minigrad.tensor(np.array(START[3:]).reshape(2, 2), dtype=dtype, requires_grad=True)
    return x, w


def _flat(params) -> np.ndarray:
    return np.concatenate([p.data.ravel() for p in params])


def _set_grads(params, g) -> None:
    g = np.asarray(g)
    params[0].grad, params[1].grad = g[:3].copy(), g[3:].reshape(2, 2).copy()


def _loss(params):
    """The same function as _scalar_grad's, with minigrad (for SophiaH's closures)."""
    a = minigrad.tensor(np.array(A))
    t = minigrad.tensor(np.array(TARGET))
    z = minigrad.concatenate([p.reshape(-1) for p in params])
    d = z - t
    return 0.5 * (d * (a @ d)).sum() + (z.exp() + 1.0).log().sum()


# ----------------------------------------------------------------- SophiaG vs the authors
@pytest.mark.parametrize("maximize", [False, True])
def test_sophiag_follows_a_scalar_transcription_of_the_authors_code(maximize):
    """Two groups, a refresh every k steps after the step (the authors' loop), bs = 8."""
    hp = [dict(lr=0.02, betas=(0.9, 0.95), rho=0.05, weight_decay=0.1),
          dict(lr=0.05, betas=(0.8, 0.99), rho=0.3, weight_decay=0.0)]
    k, bs, steps = 3, 8, 40
    params = _params()
    opt = SophiaG([{"params": [params[0]], **hp[0]}, {"params": [params[1]], **hp[1]}],
                  maximize=maximize)
    theta, m, h = list(START), [0.0] * 7, [0.0] * 7
    for t in range(steps):
        g = _scalar_grad(theta, TARGET)
        _set_grads(params, g)
        opt.step(bs=bs)
        g = [-v for v in g] if maximize else g
        for lo, hi, group in ((0, 3, hp[0]), (3, 7, hp[1])):
            th, mm, hh = theta[lo:hi], m[lo:hi], h[lo:hi]
            _reference_step(th, mm, hh, g[lo:hi], lr=group["lr"], beta1=group["betas"][0],
                            rho=group["rho"], wd=group["weight_decay"], bs=bs, eps=1e-15)
            theta[lo:hi], m[lo:hi] = th, mm
        if t % k == k - 1:  # the "sampled-label" gradient: here that of another target
            g_hat = _scalar_grad(theta, [0.0] * 7)
            _set_grads(params, g_hat)
            opt.update_hessian()
            for i, (lo, group) in enumerate(((0, hp[0]), (3, hp[1]))):
                for j in range(lo, lo + (3 if i == 0 else 4)):
                    beta2 = group["betas"][1]
                    h[j] = beta2 * h[j] + (1 - beta2) * g_hat[j] * g_hat[j]
        np.testing.assert_allclose(_flat(params), theta, rtol=1e-12, atol=1e-14)
    stored_h = np.concatenate([opt.state[p]["hessian"].ravel() for p in params])
    np.testing.assert_allclose(stored_h, h, rtol=1e-12)
    assert min(h) > 0 and opt.state[params[0]]["step"] == steps


def test_sophiag_before_any_hessian_is_sign_momentum():
    w = minigrad.tensor([3.0, -1e-4, 0.0, 250.0], dtype=np.float64, requires_grad=True)
    opt = SophiaG([w], lr=0.1, weight_decay=0.0)
    w.grad = np.array([5.0, -1e-6, 0.0, 1e6])
    opt.step()
    np.testing.assert_allclose(w.data, [2.9, -1e-4 + 0.1, 0.0, 249.9], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(opt.state[w]["hessian"], 0.0)   # step never refreshes it


def test_bs_scales_the_hessian_like_rho():
    """ρ·B·h: (ρ, B) and (ρ·B, 1) give the same steps, bit for bit up to rounding."""
    runs = []
    for rho, bs in ((0.04, 50), (2.0, 1)):
        w = minigrad.tensor([1.0, -2.0, 0.5], dtype=np.float64, requires_grad=True)
        opt = SophiaG([w], lr=0.1, rho=rho)
        for _ in range(5):
            w.grad = 0.3 * w.data
            opt.update_hessian()
            w.grad = w.data * np.array([1.0, 2.0, 3.0])
            opt.step(bs=bs)
        runs.append(w.data.copy())
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-14)


# ----------------------------------------------------------------- SophiaH vs the paper
def _probe(opt, p, step, distribution):
    rng = np.random.default_rng((opt.state[p]["probe_seed"], step))
    return hutchinson_probe(p.shape, np.float64, distribution=distribution, generator=rng)


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_sophiah_follows_a_scalar_transcription_of_the_paper(distribution):
    """Hutchinson refresh at steps 1, k+1, … before the update; coupled quadratic + softplus."""
    lr, beta1, beta2, rho, wd, eps, k, steps = 0.03, 0.9, 0.95, 0.5, 0.1, 1e-12, 4, 30
    minigrad.manual_seed(5)
    params = _params()
    opt = SophiaH(params, lr=lr, betas=(beta1, beta2), rho=rho, weight_decay=wd,
                  update_period=k, hessian_distribution=distribution)
    trajectory = []
    for _ in range(steps):
        opt.step(lambda: _loss(params))
        trajectory.append(_flat(params))

    theta, m, h = list(START), [0.0] * 7, [0.0] * 7
    for t in range(steps):
        if t % k == 0:
            u = np.concatenate([_probe(opt, p, t, distribution).ravel() for p in params]).tolist()
            for i in range(7):
                s = 1 / (1 + math.exp(-theta[i]))
                hu_i = sum(A[i][j] * u[j] for j in range(7)) + s * (1 - s) * u[i]
                h[i] = beta2 * h[i] + (1 - beta2) * u[i] * hu_i
        g = _scalar_grad(theta, TARGET)
        _reference_step(theta, m, h, g, lr=lr, beta1=beta1, rho=rho, wd=wd, bs=1, eps=eps)
        np.testing.assert_allclose(trajectory[t], theta, rtol=1e-12, atol=1e-14)
    stored_h = np.concatenate([opt.state[p]["hessian"].ravel() for p in params])
    np.testing.assert_allclose(stored_h, h, rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_sophiah_matches_pytorch_optimizer_on_a_diagonal_quadratic():
    """pytorch_optimizer's (lr, p) is our (lr·p, ρ = p); Rademacher probes are exact here."""
    torch = pytest.importorskip("torch")
    po = pytest.importorskip("pytorch_optimizer")
    a = np.array([0.1, 1.0, 10.0, 100.0])
    x0 = np.array([1.0, -2.0, 0.5, 0.05])
    lr, rho, wd, k = 0.2, 0.05, 0.1, 3

    x = minigrad.tensor(x0, requires_grad=True)
    # their ε is a floor under h (never reached here), ours is added: take ours ≈ 0
    ours = SophiaH([x], lr=lr, rho=rho, weight_decay=wd, update_period=k, eps=1e-300)
    xt = torch.tensor(x0, requires_grad=True)
    theirs = po.SophiaH([xt], lr=lr / rho, p=rho, weight_decay=wd * rho, update_period=k,
                        hessian_distribution="rademacher", foreach=False)
    at = torch.tensor(a)
    for _ in range(25):
        ours.step(lambda: 0.5 * (minigrad.tensor(a) * x * x).sum())
        theirs.zero_grad()
        (0.5 * (at * xt * xt).sum()).backward(create_graph=True)
        theirs.step()
        np.testing.assert_allclose(x.data, xt.detach().numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- Hutchinson's estimator
def _quadratic_gradient(a: np.ndarray):
    x = minigrad.tensor(np.linspace(-1.0, 1.0, a.shape[0]), requires_grad=True)
    (g,) = minigrad.grad(0.5 * (x * (minigrad.tensor(a) @ x)).sum(), [x], create_graph=True)
    return x, g


def test_hutchinson_with_rademacher_probes_is_exact_for_a_diagonal_hessian():
    a = np.diag([0.5, 2.0, 7.0, 30.0])
    x, g = _quadratic_gradient(a)
    rng = np.random.default_rng(0)
    for _ in range(5):
        u = hutchinson_probe(x.shape, np.float64, generator=rng)
        np.testing.assert_array_equal(
            hutchinson_diagonal([g], [x], [u], retain_graph=True)[0], np.diag(a))


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_hutchinson_averages_to_the_diagonal_of_a_full_hessian(distribution):
    rng = np.random.default_rng(1)
    b = rng.standard_normal((5, 5))
    a = b @ b.T + np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    x, g = _quadratic_gradient(a)
    n = 400
    samples = np.array([hutchinson_diagonal([g], [x], [hutchinson_probe(
        x.shape, np.float64, distribution=distribution, generator=rng)], retain_graph=True)[0]
        for _ in range(n)])
    # each sample is u_i·(Au)_i: mean A_ii; 5 standard errors of the mean
    off = a - np.diag(np.diag(a))
    variance = (off ** 2).sum(axis=1) + (2 * np.diag(a) ** 2 if distribution == "gaussian" else 0)
    np.testing.assert_array_less(np.abs(samples.mean(axis=0) - np.diag(a)),
                                 5 * np.sqrt(variance / n))


def test_sophiah_hessian_is_refreshed_every_update_period_steps():
    """On ½·Σ aᵢxᵢ² with Rademacher probes the n-th refresh leaves h = (1 − β2ⁿ)·a."""
    a = np.array([1.0, 4.0, 9.0])
    x = minigrad.tensor([1.0, 1.0, 1.0], dtype=np.float64, requires_grad=True)
    k, beta2 = 4, 0.9
    opt = SophiaH([x], lr=0.01, betas=(0.9, beta2), update_period=k)
    previous, refreshes = np.zeros(3), 0
    for t in range(1, 13):
        opt.step(lambda: 0.5 * (minigrad.tensor(a) * x * x).sum())
        h = opt.state[x]["hessian"]
        if t % k == 1:
            refreshes += 1
            np.testing.assert_allclose(h, (1 - beta2 ** refreshes) * a, rtol=1e-14)
        else:
            np.testing.assert_array_equal(h, previous)
        previous = h.copy()
    assert refreshes == 3 and opt.state[x]["step"] == 12


def test_sophiah_differentiates_the_closure_itself_and_leaves_grad_alone():
    runs = []
    for calls_backward in (False, True):
        minigrad.manual_seed(2)
        params = _params()
        opt = SophiaH(params, lr=0.05, update_period=2, hessian_distribution="gaussian")

        def closure():
            value = _loss(params)
            if calls_backward:
                opt.zero_grad()
                value.backward()
            return value
        for _ in range(6):
            loss = opt.step(closure)
        assert isinstance(loss, minigrad.Tensor)
        assert all((p.grad is None) != calls_backward for p in params)
        runs.append(_flat(params))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_sophiah_skips_a_parameter_the_loss_does_not_use():
    used = minigrad.tensor([1.0, 2.0], requires_grad=True)
    unused = minigrad.tensor([3.0], requires_grad=True)
    opt = SophiaH([used, unused], lr=0.1)
    opt.step(lambda: (used * used).sum())
    assert unused not in opt.state and unused.data.tolist() == [3.0]
    assert opt.state[used]["step"] == 1


@pytest.mark.parametrize("cls", [SophiaG, SophiaH])
def test_maximize_on_minus_the_loss_is_minimize_on_the_loss(cls):
    runs = []
    for maximize in (False, True):
        minigrad.manual_seed(4)
        params = _params()
        opt = cls(params, lr=0.05, rho=0.5, maximize=maximize)
        sign = -1.0 if maximize else 1.0
        for t in range(8):
            if cls is SophiaH:
                opt.step(lambda: sign * _loss(params))
                continue
            if t % 3 == 0:
                _set_grads(params, _scalar_grad(list(_flat(params)), [0.0] * 7))
                opt.update_hessian()
            _set_grads(params, sign * np.array(_scalar_grad(list(_flat(params)), TARGET)))
            opt.step(bs=4)
        runs.append(_flat(params))
    np.testing.assert_array_equal(runs[0], runs[1])


# ----------------------------------------------------------------- the clipped update
@pytest.mark.parametrize("cls", [SophiaG, SophiaH])
def test_no_coordinate_moves_more_than_lr_plus_the_decay(cls):
    lr, wd = 0.01, 0.3
    rng = np.random.default_rng(3)
    w = minigrad.tensor(rng.standard_normal(50) * 5, requires_grad=True)
    scale = minigrad.tensor(10.0 ** rng.uniform(-4, 4, 50))
    opt = cls([w], lr=lr, weight_decay=wd, rho=0.01)
    moved_by_lr = 0
    for t in range(30):
        before = w.data.copy()
        if cls is SophiaH:
            opt.step(lambda: (scale * w * w * w * w).sum() - (scale * w).sum())
        else:
            w.grad = rng.standard_normal(50) * 10.0 ** rng.uniform(-6, 6, 50)
            if t % 5 == 0:
                opt.update_hessian()
            w.grad = rng.standard_normal(50) * 10.0 ** rng.uniform(-6, 6, 50)
            opt.step(bs=16)
        bound = lr * (1 + wd * np.abs(before))
        assert np.all(np.abs(w.data - before) <= bound * (1 + 1e-12))
        moved_by_lr += int(np.sum(np.isclose(np.abs(w.data - before * (1 - lr * wd)), lr)))
    assert moved_by_lr > 0  # the clip is reached, not just respected


# ----------------------------------------------------------------- Gauss–Newton–Bartlett
def test_sampled_labels_are_reproducible_with_manual_seed():
    logits = np.random.default_rng(0).standard_normal((64, 5))
    minigrad.manual_seed(11)
    first = sample_labels_from_logits(logits)
    minigrad.manual_seed(11)
    second = sample_labels_from_logits(minigrad.tensor(logits))
    minigrad.manual_seed(12)
    other = sample_labels_from_logits(logits)
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.int64 and first.shape == (64,)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(sample_labels_from_logits(logits, generator=3),
                                  sample_labels_from_logits(logits, generator=3))


def test_sampled_labels_follow_the_softmax():
    logits = np.tile([[0.0, 1.0, 2.0, -30.0]], (40000, 1))
    labels = sample_labels_from_logits(logits, generator=0)
    expected = np.exp(logits[0]) / np.exp(logits[0]).sum()
    frequencies = np.bincount(labels, minlength=4) / len(labels)
    np.testing.assert_allclose(frequencies, expected, atol=0.01)
    assert labels.max() <= 2  # a class of probability ~1e-14 is not drawn
    three_d = sample_labels_from_logits(np.zeros((2, 3, 7)), generator=0)
    assert three_d.shape == (2, 3) and three_d.min() >= 0 and three_d.max() <= 6


def test_gnb_hessian_step_averages_the_squared_gradient_on_sampled_labels():
    """h = (1 − β2)·ĝ ⊙ ĝ after one refresh, ĝ written out for a linear softmax model."""
    rng = np.random.default_rng(5)
    inputs = rng.standard_normal((6, 3))
    model = nn.Linear(3, 4, dtype=np.float64)
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    opt = SophiaG(model.parameters(), betas=(0.9, 0.8))
    minigrad.manual_seed(21)
    sampled_loss = gnb_hessian_step(model, opt, minigrad.tensor(inputs))

    minigrad.manual_seed(21)
    uniform = minigrad.random.default_generator().random((6, 1))
    z = inputs @ weight.T + bias
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = [int(np.searchsorted(np.cumsum(row), u[0] * row.sum(), side="right"))
              for row, u in zip(p, uniform)]
    onehot = np.eye(4)[labels]
    dz = (p - onehot) / 6
    np.testing.assert_allclose(opt.state[model.weight]["hessian"], 0.2 * (dz.T @ inputs) ** 2,
                               rtol=1e-10)
    np.testing.assert_allclose(opt.state[model.bias]["hessian"], 0.2 * dz.sum(axis=0) ** 2,
                               rtol=1e-10)
    assert sampled_loss == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])))
    assert all(q.grad is None for q in model.parameters())
    np.testing.assert_array_equal(model.weight.data, weight)  # a refresh does not move θ
    np.testing.assert_array_equal(opt.state[model.weight]["exp_avg"], 0.0)


# ----------------------------------------------------------------- a tiny classifier
def _moons_model(seed: int = 0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


def _train(model, opt, x, y, steps, k=10, start=0):
    """The authors' loop for SophiaG (refresh after the step at t ≡ k−1), closures for H."""
    for t in range(start, start + steps):
        if isinstance(opt, SophiaH):
            opt.step(lambda: F.cross_entropy(model(x), y))
            continue
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step(bs=len(x))
        if t % k == k - 1:
            gnb_hessian_step(model, opt, x)


def _accuracy(model, x, y) -> float:
    with minigrad.no_grad():
        return float((model(x).data.argmax(axis=1) == y.data).mean())


@pytest.mark.parametrize("cls,kwargs", [(SophiaG, dict(lr=0.05, rho=0.05, weight_decay=0.0)),
                                        (SophiaH, dict(lr=0.05, rho=0.05, weight_decay=0.0))])
def test_trains_a_tiny_classifier(cls, kwargs):
    from minigrad.data.synthetic import make_moons

    xs, ys = make_moons(200, noise=0.1, seed=0)
    x, y = minigrad.tensor(xs), minigrad.tensor(ys)
    model = _moons_model()
    opt = cls(model.parameters(), **kwargs)
    start = float(F.cross_entropy(model(x), y).data)
    _train(model, opt, x, y, steps=150)
    assert float(F.cross_entropy(model(x), y).data) < start / 4
    assert _accuracy(model, x, y) >= 0.95
    assert all(float(opt.state[p]["hessian"].max()) > 0 for p in model.parameters())


# ----------------------------------------------------------------- checkpoints
def _state_arrays(opt) -> list:
    return [v for s in opt.state_dict()["state"].values() for v in s.values()
            if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("cls", [SophiaG, SophiaH])
def test_resume_is_bit_exact_and_keeps_the_hessian(cls):
    from minigrad.data.synthetic import make_moons

    xs, ys = make_moons(64, noise=0.1, seed=1)
    x, y = minigrad.tensor(xs), minigrad.tensor(ys)
    model = _moons_model()
    opt = cls(model.parameters(), lr=0.02, update_period=3) if cls is SophiaH else \
        cls(model.parameters(), lr=0.02)
    _train(model, opt, x, y, steps=12, k=3)
    saved_model = copy.deepcopy(model.state_dict())
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    assert all(np.any(s["hessian"] != 0) for s in saved["state"].values())
    minigrad.manual_seed(100)
    _train(model, opt, x, y, steps=7, k=3, start=12)

    resumed = _moons_model(seed=9)
    resumed.load_state_dict(saved_model)
    opt2 = cls(resumed.parameters())  # other defaults: the checkpoint brings its own
    opt2.load_state_dict(saved)
    minigrad.manual_seed(100)  # the GNB labels come from minigrad's generator
    _train(resumed, opt2, x, y, steps=7, k=3, start=12)
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(_state_arrays(opt), _state_arrays(opt2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [SophiaG, SophiaH])
def test_float32_parameters_keep_float32_state(cls):
    w = minigrad.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    opt = cls([w], lr=0.1)
    for _ in range(3):
        if cls is SophiaH:
            opt.step(lambda: (w * w * w * w).sum())
        else:
            w.grad = w.data * 2
            opt.update_hessian()
            opt.step()
    assert w.data.dtype == np.float32
    assert all(opt.state[w][key].dtype == np.float32 for key in ("exp_avg", "hessian"))


# ----------------------------------------------------------------- validation
BAD = [("lr", -1.0, "Invalid learning rate"),
       ("betas", (1.0, 0.99), "Invalid beta parameter at index 0"),
       ("betas", (0.9, -0.1), "Invalid beta parameter at index 1"),
       ("rho", -0.5, "Invalid rho value"),
       ("weight_decay", -1e-2, "Invalid weight_decay value"),
       ("eps", -1.0, "Invalid epsilon value")]
BAD_H = [("update_period", 0, "Invalid update_period"),
         ("update_period", 2.5, "Invalid update_period"),
         ("hessian_distribution", "uniform", "Invalid hessian_distribution")]


@pytest.mark.parametrize("cls,key,value,message",
                         [(SophiaG, *bad) for bad in BAD] + [(SophiaH, *bad) for bad in BAD + BAD_H])
def test_bad_hyper_parameters_are_refused_and_change_nothing(cls, key, value, message):
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=message):
        cls([w], **{key: value})
    opt = cls([w])
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": [minigrad.tensor([3.0], requires_grad=True)], key: value})
    assert opt.state_dict()["param_groups"] == before["param_groups"]


@pytest.mark.parametrize("bs", [0, -8, float("nan"), "64"])
def test_a_bad_bs_is_refused_before_anything_changes(bs):
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    opt = SophiaG([w], lr=0.1)
    w.grad = np.array([1.0, 1.0], dtype=np.float32)
    opt.step()
    state, values = copy.deepcopy(opt.state_dict()), w.data.copy()
    with pytest.raises(ValueError, match="Invalid bs"):
        opt.step(bs=bs)
    np.testing.assert_array_equal(w.data, values)
    np.testing.assert_array_equal(opt.state[w]["exp_avg"], state["state"][0]["exp_avg"])
    assert opt.state[w]["step"] == 1


def test_sophiah_needs_a_closure_returning_a_loss_with_its_graph():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    opt = SophiaH([w], lr=0.1)
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step()
    with pytest.raises(TypeError, match="closure must return the loss"):
        opt.step(lambda: 3.0)

    def detached():
        with minigrad.no_grad():
            return (w * w).sum()
    with pytest.raises(TypeError, match="closure must return the loss"):
        opt.step(detached)
    assert not opt.state and w.data.tolist() == [1.0, 2.0]

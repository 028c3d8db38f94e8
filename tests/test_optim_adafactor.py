"""Adafactor: PyTorch's rule against stored torch trajectories (and live torch), the
transformers rule against a hand transcription of Shazeer & Stern, the dispatch of the
chapters' transformers-style calls, O(n + m) state, validation, resume and float32."""
from __future__ import annotations

import copy
import json
import math
import pathlib
import pickle
import re
import sys

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from optim.adafactor import Adafactor, _asks_for_transformers, adafactor_update
from optim.adafactor_shazeer import AdafactorShazeer, adafactor_shazeer_update
from optim.adam import Adam
from optim.memory import state_bytes

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import problems  # noqa: E402

STORED = np.load(REFERENCE / "adafactor_trajectories.npz")
META = json.loads(str(STORED["meta"]))


def tensor(values, dtype=np.float64):
    return minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------- stored torch trajectories
def _start(problem):
    if problem == "tensor3":
        return [STORED["tensor3_start_0"], STORED["tensor3_start_1"]]
    return problems.start(problem)


def _groups(problem):
    return [[0], [1]] if problem == "tensor3" else problems.groups(problem)


def _loss(problem, params):
    if problem == "tensor3":
        return sum(0.5 * (minigrad.tensor(STORED[f"tensor3_a_{i}"])
                          * (p - minigrad.tensor(STORED[f"tensor3_c_{i}"])) ** 2).sum()
                   for i, p in enumerate(params))
    return problems.loss(problem, params, minigrad)


def run_stored_case(case, problem):
    params = [minigrad.tensor(a, dtype=np.float64, requires_grad=True) for a in _start(problem)]
    kwargs = dict(case["kwargs"])
    if "eps" in kwargs:
        kwargs["eps"] = tuple(kwargs["eps"])
    opt = Adafactor([{"params": [params[i] for i in indices], "lr": lr}
                     for indices, lr in zip(_groups(problem), case["lrs"])], **kwargs)
    assert type(opt) is Adafactor
    return problems.record_trajectory(opt, params, lambda: _loss(problem, params), META["steps"], META["recorded_steps"])


@pytest.mark.parametrize("problem", META["problems"])
@pytest.mark.parametrize("case", META["cases"], ids=[c["name"] for c in META["cases"]])
def test_trajectory_matches_torch_adafactor(case, problem):
    expected = STORED[f"{case['name']}/{problem}"]
    actual = run_stored_case(case, problem)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matches_live_torch_including_state_shapes(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shapes = [(2, 3, 4), (5, 3), (4,), ()]
    starts = [rng.standard_normal(s).astype(dtype) for s in shapes]
    curvature = [rng.uniform(0.5, 3.0, s).astype(dtype) for s in shapes]
    theirs = [torch.tensor(s, requires_grad=True) for s in starts]
    ours = [tensor(s, dtype=dtype) for s in starts]
    kwargs = dict(lr=0.2, weight_decay=0.05, d=1.5)  # eps1=None: the dtype's epsilon
    opt_t, opt_o = torch.optim.Adafactor(theirs, **kwargs), Adafactor(ours, **kwargs)
    for _ in range(30):
        for p, q, a in zip(theirs, ours, curvature):
            p.grad = torch.tensor(a) * (p.detach() - 0.3)
            q.grad = a * (q.data - np.asarray(0.3, dtype=dtype))
        opt_t.step()
        opt_o.step()
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=1e-4, atol=2e-5)
    for p, q in zip(theirs, ours):
        np.testing.assert_allclose(q.data, p.detach().numpy(), **tol)
        state_t, state_o = opt_t.state[p], opt_o.state[q]
        assert set(state_o) == set(state_t) and state_o["step"] == int(state_t["step"])
        for key in set(state_t) - {"step"}:
            assert state_o[key].shape == tuple(state_t[key].shape), key
            np.testing.assert_allclose(state_o[key], state_t[key].numpy(), **tol)


# ----------------------------------------------------------------- closed forms of the torch rule
def test_first_step_is_relative_sign_descent_and_exact_for_rank_one_g_squared():
    u, v = np.array([1.0, -2.0, 0.5]), np.array([3.0, 0.25, -1.0, 2.0])
    w = tensor(np.ones((3, 4)) * 0.7 + np.arange(12).reshape(3, 4) * 0.1)
    before = w.data.copy()
    w.grad = np.outer(u, v)  # g² = outer(u², v²) is rank one: R·C/mean(R) rebuilds it exactly
    Adafactor([w], lr=0.3).step()
    alpha = 0.3 * math.sqrt(np.mean(before ** 2))  # ρ = min(0.3, 1/√1), times RMS(θ)
    np.testing.assert_allclose(w.data, before - alpha * np.sign(np.outer(u, v)), rtol=1e-14)


@pytest.mark.parametrize("d, expected_rms", [(1.0, 1.0), (2.0, 1 / math.sqrt(2 ** -0.8))])
def test_update_rms_is_clipped_at_d(d, expected_rms):
    x = tensor([1.0, -1.0, 2.0, -2.0])
    opt = Adafactor([x], lr=1.0, d=d)
    x.grad = np.full(4, 1e-4)
    opt.step()
    before = x.data.copy()
    x.grad = np.ones(4)  # much larger than the average so far: |U| = 1/√(2^-0.8) ≈ 1.32
    opt.step()
    alpha = (1 / math.sqrt(2)) * math.sqrt(np.mean(before ** 2))
    step_rms = math.sqrt(np.mean((x.data - before) ** 2))
    assert step_rms / alpha == pytest.approx(expected_rms, rel=1e-6)


def test_zero_gradient_leaves_only_the_decoupled_weight_decay():
    x = tensor([[1.0, -2.0], [3.0, 0.5]])
    x.grad = np.zeros((2, 2))
    Adafactor([x], lr=0.1, weight_decay=0.2).step()
    np.testing.assert_array_equal(x.data, np.array([[1.0, -2.0], [3.0, 0.5]]) * (1 - 0.1 * 0.2))


def test_eps1_none_means_the_dtype_epsilon():
    for dtype in (np.float32, np.float64):
        results = []
        for eps1 in (None, float(np.finfo(dtype).eps)):
            param = np.array([[1e-9, 2.0], [0.0, -1e-9]], dtype=dtype)
            grad = np.array([[1e-9, 0.0], [0.0, 3.0]], dtype=dtype)
            row, col = np.zeros((2, 1), dtype), np.zeros((1, 2), dtype)
            adafactor_update(param, grad, row, col, None, step=1, lr=0.01, beta2_decay=-0.8,
                             eps1=eps1, eps2=1e-3, d=1.0)
            results.append(param)
        np.testing.assert_array_equal(*results)


# ----------------------------------------------------------------- transformers / paper rule
# Layers as Python lists: a 2x3 matrix (rows of lists), a 3x2 matrix and a vector. The
# gradient of each entry is a·(x − c).
START = [[[0.5, -1.0, 0.3], [0.8, -0.2, 1.1]], [[2.0, -1.5], [0.7, 0.1], [-0.4, 1.2]],
         [0.9, -0.6, 0.05, 1.4]]
CURVATURE = [[[1.0, 2.0, 3.0], [0.5, 4.0, 1.5]], [[0.2, 8.0], [1.0, 2.0], [3.0, 0.5]],
             [1.0, 2.0, 3.0, 4.0]]
TARGET = [[[1.0, 0.0, -1.0], [2.0, 0.5, -0.5]], [[0.3, 0.2], [-0.4, 0.0], [0.1, -0.3]],
          [1.0, -1.0, 0.5, 0.25]]


def _rows(layer):
    return layer if isinstance(layer[0], list) else [layer]


def shazeer_by_hand(steps, lr, eps, clip_threshold, decay_rate, beta1, weight_decay,
                    scale_parameter, relative_step, warmup_init):
    """Shazeer & Stern (2018), Algorithms 4-5 with sums over rows and columns, relative
    steps and update clipping, plus transformers' β1, warm-up and weight decay."""
    eps1, eps2 = eps
    layers = copy.deepcopy(START)
    row_sums = [[0.0] * len(_rows(x)) for x in layers]
    col_sums = [[0.0] * len(_rows(x)[0]) for x in layers]
    vec = [[0.0] * len(x) if not isinstance(x[0], list) else None for x in layers]
    m = [[[0.0] * len(r) for r in _rows(x)] for x in layers]
    for t in range(1, steps + 1):
        for l, layer in enumerate(layers):
            rows = _rows(layer)
            n, k = len(rows), len(rows[0])
            g = [[a * (x - c) for x, a, c in zip(r, ar, cr)]
                 for r, ar, cr in zip(rows, _rows(CURVATURE[l]), _rows(TARGET[l]))]
            rms = math.sqrt(sum(x * x for r in rows for x in r) / (n * k))
            if relative_step:
                rho = min(1e-6 * t if warmup_init else 1e-2, 1 / math.sqrt(t))
            else:
                rho = lr
            alpha = max(eps2, rms) * rho if scale_parameter else rho
            beta2 = 1 - t ** decay_rate
            if vec[l] is None:  # factored: row and column sums of g² + ε1
                for i in range(n):
                    row_sums[l][i] = beta2 * row_sums[l][i] + (1 - beta2) * sum(
                        g[i][j] ** 2 + eps1 for j in range(k))
                for j in range(k):
                    col_sums[l][j] = beta2 * col_sums[l][j] + (1 - beta2) * sum(
                        g[i][j] ** 2 + eps1 for i in range(n))
                total = sum(row_sums[l])
                u = [[g[i][j] / math.sqrt(row_sums[l][i] * col_sums[l][j] / total)
                      for j in range(k)] for i in range(n)]
            else:
                vec[l] = [beta2 * v + (1 - beta2) * (gj ** 2 + eps1)
                          for v, gj in zip(vec[l], g[0])]
                u = [[gj / math.sqrt(v) for gj, v in zip(g[0], vec[l])]]
            u_rms = math.sqrt(sum(x * x for r in u for x in r) / (n * k))
            u = [[alpha * x / max(1.0, u_rms / clip_threshold) for x in r] for r in u]
            if beta1 is not None:
                m[l] = [[beta1 * mi + (1 - beta1) * ui for mi, ui in zip(mr, ur)]
                        for mr, ur in zip(m[l], u)]
                u = m[l]
            new = [[x - weight_decay * alpha * x - ui for x, ui in zip(r, ur)]
                   for r, ur in zip(rows, u)]
            layers[l] = new if isinstance(layer[0], list) else new[0]
    return layers


def run_hand_problem(opt_factory, steps, dtype=np.float64):
    params = [tensor(x, dtype=dtype) for x in START]
    opt = opt_factory(params)
    for _ in range(steps):
        for p, a, c in zip(params, CURVATURE, TARGET):
            p.grad = (np.array(a) * (p.data - np.array(c))).astype(dtype)
        opt.step()
    return params, opt


SHAZEER_OPTIONS = {
    "relative": dict(lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8,
                     beta1=None, weight_decay=0.0, scale_parameter=True, relative_step=True,
                     warmup_init=False),
    "warmup_momentum": dict(lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8,
                            beta1=0.9, weight_decay=0.1, scale_parameter=True,
                            relative_step=True, warmup_init=True),
    "fixed_lr": dict(lr=0.05, eps=(1e-8, 1e-3), clip_threshold=0.5, decay_rate=-0.6,
                     beta1=None, weight_decay=0.01, scale_parameter=False,
                     relative_step=False, warmup_init=False),
    "fixed_lr_scaled": dict(lr=0.1, eps=(1e-30, 0.8), clip_threshold=2.0, decay_rate=-0.8,
                            beta1=0.5, weight_decay=0.0, scale_parameter=True,
                            relative_step=False, warmup_init=False),
}


@pytest.mark.parametrize("name", SHAZEER_OPTIONS)
def test_transformers_rule_matches_a_hand_transcription_of_the_paper(name):
    options = SHAZEER_OPTIONS[name]
    expected = shazeer_by_hand(40, **options)
    params, _ = run_hand_problem(lambda ps: Adafactor(ps, **options), 40)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, np.array(e), rtol=1e-10, atol=1e-14)


def test_relative_steps_follow_the_schedules():
    for warmup, expected in ((False, lambda t: min(1e-2, t ** -0.5)),
                             (True, lambda t: min(1e-6 * t, t ** -0.5))):
        x = tensor([3.0, -4.0])
        opt = Adafactor([x], relative_step=True, warmup_init=warmup, lr=None)
        for t in range(1, 6):
            rms = math.sqrt(np.mean(x.data ** 2))
            x.grad = x.data.copy()
            opt.step()
            assert opt.state[x]["step_size"] == pytest.approx(expected(t) * rms, rel=1e-12)


# ----------------------------------------------------------------- the chapters' calls
@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    from minigrad.data import load_digits

    return load_digits()


def _train_digits(data, make_optimizer, steps):
    x_train, y_train, x_test, y_test = data
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = make_optimizer(model)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        index = rng.integers(0, len(x_train), 64)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(minigrad.tensor(x_train[index])),
                               minigrad.tensor(y_train[index]))
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    with minigrad.no_grad():
        accuracy = float((model(minigrad.tensor(x_test)).data.argmax(axis=1) == y_test).mean())
    return optimizer, np.mean(losses[:10]), np.mean(losses[-10:]), accuracy


def test_chapter_call_with_a_fixed_learning_rate_trains(digits):
    optimizer, first, last, accuracy = _train_digits(digits, lambda model: Adafactor(
        model.parameters(), lr=1e-3, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8,
        beta1=None, weight_decay=0.0, relative_step=False, scale_parameter=False,
        warmup_init=False), steps=200)
    assert type(optimizer) is AdafactorShazeer
    assert last < first / 2 and accuracy >= 0.8


def test_chapter_call_with_relative_steps_and_warmup_trains(digits):
    optimizer, first, last, accuracy = _train_digits(digits, lambda model: Adafactor(
        model.parameters(), scale_parameter=True, relative_step=True, warmup_init=True,
        lr=None), steps=600)
    assert type(optimizer) is AdafactorShazeer and optimizer.param_groups[0]["lr"] is None
    assert last < first - 0.05  # it trains, slowly: the warm-up ρ_t = 10⁻⁶·t is long
    weight = optimizer.param_groups[0]["params"][0]  # α_600 = 10⁻⁶·600·RMS(θ)
    rms = math.sqrt(float(np.mean(weight.data.astype(np.float64) ** 2)))
    assert optimizer.state[weight]["step_size"] == pytest.approx(6e-4 * rms, rel=1e-3)


def test_default_adafactor_trains_the_digits_mlp(digits):
    _, _, _, accuracy = _train_digits(digits, lambda m: Adafactor(m.parameters(), lr=0.03), 200)
    assert accuracy >= 0.9


def test_dispatch_picks_the_rule_from_the_keywords():
    x = tensor([1.0, 2.0])
    assert type(Adafactor([x])) is Adafactor
    assert type(Adafactor([x], 0.1, -0.5)) is Adafactor
    assert type(Adafactor([x], lr=0.1, eps=(1e-30, 1e-3), weight_decay=0.1)) is Adafactor
    assert type(Adafactor([x], None)) is AdafactorShazeer
    assert type(Adafactor([x], lr=None)) is AdafactorShazeer
    opt = Adafactor([x], lr=1e-3, relative_step=False, beta1=0.9)
    assert type(opt) is AdafactorShazeer and opt.defaults["beta1"] == 0.9
    with pytest.raises(TypeError, match="beta2_decay"):
        Adafactor([x], relative_step=True, beta2_decay=-0.5)
    for opt in (Adafactor([x]), Adafactor([x], lr=None)):  # copies rebuild the right class
        assert type(copy.deepcopy(opt)) is type(opt)
        assert type(pickle.loads(pickle.dumps(opt))) is type(opt)


# ----------------------------------------------------------------- memory
@pytest.mark.parametrize("make", [
    lambda ps: Adafactor(ps), lambda ps: Adafactor(ps, lr=None)], ids=["torch", "transformers"])
def test_state_of_an_n_by_m_weight_holds_n_plus_m_numbers(make):
    w = minigrad.tensor(np.ones((512, 256), dtype=np.float32), requires_grad=True)
    b = minigrad.tensor(np.ones(256, dtype=np.float32), requires_grad=True)
    opt = make([w, b])
    w.grad, b.grad = np.full((512, 256), 0.5, np.float32), np.full(256, 0.5, np.float32)
    opt.step()
    assert state_bytes(opt) == (512 + 256) * 4 + 256 * 4  # factored weight, full bias
    adam = Adam([w, b])
    adam.step()
    assert state_bytes(adam) == 2 * (512 * 256 + 256) * 4  # Adam: about 256 times more


def test_beta1_adds_a_full_size_first_moment():
    w = minigrad.tensor(np.ones((512, 256), dtype=np.float32), requires_grad=True)
    opt = Adafactor([w], lr=1e-3, relative_step=False, beta1=0.9)
    w.grad = np.full((512, 256), 0.5, np.float32)
    opt.step()
    assert state_bytes(opt) == (512 + 256) * 4 + 512 * 256 * 4


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (dict(beta2_decay=0.5), "Invalid beta2_decay value: 0.5"),
    (dict(eps=(-1.0, 1e-3)), "Invalid epsilon1 value: -1.0"),
    (dict(eps=(None, -1.0)), "Invalid epsilon2 value: -1.0"),
    (dict(eps=1e-3), "Invalid eps: 0.001"),
    (dict(d=0.5), "Invalid clipping threshold d: 0.5"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (dict(lr=-1.0, relative_step=False), "Invalid learning rate: -1.0"),
    (dict(lr=1e-3, relative_step=True), "Cannot combine manual `lr` and `relative_step=True`"),
    (dict(lr=None, relative_step=False), "Invalid learning rate: None"),
    (dict(relative_step=False, lr=0.1, warmup_init=True), "`warmup_init=True` requires"),
    (dict(lr=None, clip_threshold=0.0), "Invalid clip_threshold value: 0.0"),
    (dict(lr=None, decay_rate=0.2), "Invalid decay_rate value: 0.2"),
    (dict(lr=None, beta1=1.0), "Invalid beta1 value: 1.0"),
    (dict(lr=None, eps=(None, 1e-3)), "Invalid epsilon1 value: None"),
    (dict(lr=None, weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
])
def test_bad_hyper_parameters_are_refused_and_change_nothing(kwargs, message):
    x = tensor([1.0, -2.0])
    with pytest.raises(ValueError, match=re.escape(message)):
        Adafactor([x], **kwargs)
    opt = Adafactor([x], **(dict(lr=None) if _asks_for_transformers((), kwargs) else {}))
    x.grad = np.array([0.5, 0.5])
    opt.step()
    before, values = copy.deepcopy(opt.state_dict()), x.data.copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        opt.add_param_group({"params": [tensor([3.0])], **kwargs})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"].keys() == before["state"].keys() == {0}
    for key, value in before["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)
    np.testing.assert_array_equal(x.data, values)


# ----------------------------------------------------------------- resume, dtypes, grad
FACTORIES = {
    "torch": lambda ps: Adafactor(ps, lr=0.1, weight_decay=0.01),
    "relative": lambda ps: Adafactor(ps, lr=None, warmup_init=True, weight_decay=0.01),
    "momentum": lambda ps: Adafactor(ps, lr=0.02, relative_step=False, beta1=0.9),
}


@pytest.mark.parametrize("how", ["load_state_dict", "pickle"])
@pytest.mark.parametrize("name", FACTORIES)
def test_resume_through_state_dict_is_bit_exact(name, how):
    factory = FACTORIES[name]
    params, opt = run_hand_problem(factory, 7)
    saved_params = [p.data.copy() for p in params]
    saved = opt.state_dict()
    if how == "pickle":
        saved = pickle.loads(pickle.dumps(saved))

    def more(params, opt):
        for _ in range(5):
            for p, a, c in zip(params, CURVATURE, TARGET):
                p.grad = np.array(a) * (p.data - np.array(c))
            opt.step()

    more(params, opt)
    resumed = [tensor(d) for d in saved_params]
    opt2 = factory(resumed)
    opt2.load_state_dict(saved)
    more(resumed, opt2)
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.data, q.data)
        assert opt.state[p].keys() == opt2.state[q].keys()
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(opt2.state[q][key], value)


@pytest.mark.parametrize("name", FACTORIES)
def test_float32_stays_float32_and_grad_is_not_written(name):
    params = [tensor(x, dtype=np.float32) for x in START]
    opt = FACTORIES[name](params)
    for _ in range(3):
        for p in params:
            p.grad = (p.data - 0.5).astype(np.float32)
        grads = [p.grad.copy() for p in params]
        opt.step()
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(p.grad, g)
            assert p.grad.flags.writeable
    for p in params:
        assert p.data.dtype == np.float32
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, key


def test_update_functions_leave_grad_alone_and_return_as_documented():
    grad = np.array([[0.5, -1.0], [2.0, 0.1]])
    grad.flags.writeable = False  # an in-place write to grad would raise
    param = np.full((2, 2), 2.0)
    assert adafactor_update(param, grad, np.zeros((2, 1)), np.zeros((1, 2)), None, step=1,
                            lr=0.01, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0) is None
    rms = math.sqrt(np.mean(param ** 2))
    size = adafactor_shazeer_update(param, grad, np.zeros(2), np.zeros(2), None, step=4,
                                    lr=None, eps1=1e-30, eps2=1e-3, clip_threshold=1.0,
                                    decay_rate=-0.8, beta1=None)
    assert isinstance(size, float) and size == pytest.approx(1e-2 * rms, rel=1e-14)


def test_maximize_climbs():
    for make in (lambda ps: Adafactor(ps, lr=0.1, maximize=True),
                 lambda ps: Adafactor(ps, lr=None, maximize=True)):
        x = tensor([[1.0, -2.0], [0.5, 3.0]])
        opt = make([x])
        start = float((x.data ** 2).sum())
        for _ in range(10):
            x.grad = 2 * x.data
            opt.step()
        assert float((x.data ** 2).sum()) > start

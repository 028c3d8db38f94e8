"""LAMB and LARS: reference trajectories, hand transcriptions of the papers' rules,
validation, zero norms, the clamp, per-group exclusion, per-layer trust ratios, resume."""
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
from minigrad import nn
from minigrad.nn import functional as F
from optim.lamb import LAMB, lamb_update
from optim.lars import LARS, lars_param_groups, lars_update

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import problems  # noqa: E402

STORED = np.load(REFERENCE / "lamb_lars_trajectories.npz")
META = json.loads(str(STORED["meta"]))
CLASSES = {"LAMB": LAMB, "LARS": LARS}


def tensor(values, dtype=np.float64):
    return minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------- stored references
def build(case: dict, problem: str, params: list):
    """The case's optimizer on ``problems.groups(problem)``, each group with its own lr."""
    groups = []
    for indices, lr in zip(problems.groups(problem), case["lrs"][problem]):
        group = {"params": [params[i] for i in indices], "lr": lr}
        if case["optimizer"] == "LARS":  # pytorch_optimizer leaves 1-D parameters out
            group["lars_exclude"] = all(len(params[i].shape) < 2 for i in indices)
        groups.append(group)
    kwargs = dict(case["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return CLASSES[case["optimizer"]](groups, **kwargs)


def run_stored_case(case: dict, problem: str) -> np.ndarray:
    params = [minigrad.tensor(a, dtype=np.float64, requires_grad=True)
              for a in problems.start(problem)]
    opt = build(case, problem, params)
    return problems.record_trajectory(opt, params, lambda: problems.loss(problem, params, minigrad), META["steps"], META["recorded_steps"])


@pytest.mark.parametrize("problem", META["problems"])
@pytest.mark.parametrize("case", META["cases"], ids=[c["name"] for c in META["cases"]])
def test_trajectory_matches_pytorch_optimizer(case, problem):
    expected = STORED[f"{case['name']}/{problem}"]
    actual = run_stored_case(case, problem)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-10)


# ----------------------------------------------------------------- hand transcriptions
# Three layers as lists of Python floats: a 2x3 matrix, a vector, and a zero-initialised
# vector. The gradient of layer l, coordinate i, is a[l][i]·(x − c[l][i]), written out
# in plain Python on one side and with NumPy on the other.
START = [[0.5, -1.0, 0.3, 0.8, -0.2, 1.1], [2.0, -1.5, 0.7], [0.0, 0.0, 0.0, 0.0]]
SHAPES = [(2, 3), (3,), (4,)]
CURVATURE = [[1.0, 2.0, 3.0, 0.5, 4.0, 1.5], [0.2, 8.0, 1.0], [1.0, 2.0, 3.0, 4.0]]
TARGET = [[1.0, 0.0, -1.0, 2.0, 0.5, -0.5], [0.3, 0.2, -0.4], [1.0, -1.0, 0.5, 0.25]]


def hand_gradient(layers):
    return [[a * (x - c) for x, a, c in zip(xs, As, Cs)]
            for xs, As, Cs in zip(layers, CURVATURE, TARGET)]


def run_class(opt_factory, steps: int):
    params = [tensor(np.reshape(x, s)) for x, s in zip(START, SHAPES)]
    opt = opt_factory(params)
    for _ in range(steps):
        for p, a, c in zip(params, CURVATURE, TARGET):
            p.grad = np.reshape(a, p.shape) * (p.data - np.reshape(c, p.shape))
        opt.step()
    return [p.data.ravel().tolist() for p in params], opt, params


def lamb_by_hand(steps, lr, beta1, beta2, eps, weight_decay, bias_correction, clamp):
    """Algorithm 2 of You et al. (2020), one coordinate at a time."""
    layers = copy.deepcopy(START)
    m = [[0.0] * len(x) for x in layers]
    v = [[0.0] * len(x) for x in layers]
    for t in range(1, steps + 1):
        grads = hand_gradient(layers)
        for l, xs in enumerate(layers):
            r = []
            for i, g in enumerate(grads[l]):
                m[l][i] = beta1 * m[l][i] + (1 - beta1) * g
                v[l][i] = beta2 * v[l][i] + (1 - beta2) * g * g
                m_hat = m[l][i] / (1 - beta1 ** t) if bias_correction else m[l][i]
                v_hat = v[l][i] / (1 - beta2 ** t) if bias_correction else v[l][i]
                r.append(m_hat / (math.sqrt(v_hat) + eps) + weight_decay * xs[i])
            w_norm = math.sqrt(sum(x * x for x in xs))
            r_norm = math.sqrt(sum(ri * ri for ri in r))
            phi = w_norm if clamp is None else min(w_norm, clamp)
            trust = phi / r_norm if w_norm > 0 and r_norm > 0 else 1.0
            layers[l] = [x - lr * trust * ri for x, ri in zip(xs, r)]
    return layers


@pytest.mark.parametrize("options", [
    dict(lr=0.05, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, bias_correction=True,
         clamp_value=None),
    dict(lr=0.05, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, bias_correction=True,
         clamp_value=None),
    dict(lr=0.1, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1, bias_correction=False,
         clamp_value=0.9),
], ids=["paper", "decay", "no_correction_clamp"])
def test_lamb_matches_a_hand_transcription_of_the_paper(options):
    expected = lamb_by_hand(30, options["lr"], *options["betas"], options["eps"],
                            options["weight_decay"], options["bias_correction"],
                            options["clamp_value"])
    actual, _, _ = run_class(lambda ps: LAMB(ps, **options), 30)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-13)


def lars_by_hand(steps, lr, momentum, weight_decay, trust, eps, nesterov, excluded):
    """Local learning rate as apex's LARC (scaling mode), then PyTorch's momentum SGD."""
    layers = copy.deepcopy(START)
    buffers = [[0.0] * len(x) for x in layers]
    for _ in range(steps):
        grads = hand_gradient(layers)
        for l, xs in enumerate(layers):
            g = grads[l]
            w_norm = math.sqrt(sum(x * x for x in xs))
            g_norm = math.sqrt(sum(gi * gi for gi in g))
            if l not in excluded and w_norm > 0 and g_norm > 0:
                rate = trust * w_norm / (g_norm + weight_decay * w_norm + eps)
                g = [(gi + weight_decay * x) * rate for gi, x in zip(g, xs)]
            buffers[l] = [momentum * b + gi for b, gi in zip(buffers[l], g)]
            step = ([gi + momentum * b for gi, b in zip(g, buffers[l])] if nesterov
                    else buffers[l])
            layers[l] = [x - lr * s for x, s in zip(xs, step)]
    return layers


@pytest.mark.parametrize("options, excluded", [
    (dict(lr=1.0, momentum=0.9, weight_decay=0.0, trust_coefficient=0.02, eps=1e-8,
          nesterov=False), ()),
    (dict(lr=2.0, momentum=0.8, weight_decay=0.01, trust_coefficient=0.01, eps=1e-8,
          nesterov=True), ()),
    (dict(lr=0.5, momentum=0.5, weight_decay=0.1, trust_coefficient=0.05, eps=1e-3,
          nesterov=False), (1,)),
], ids=["momentum", "nesterov_decay", "excluded_vector"])
def test_lars_matches_a_hand_transcription(options, excluded):
    expected = lars_by_hand(30, options["lr"], options["momentum"], options["weight_decay"],
                            options["trust_coefficient"], options["eps"], options["nesterov"],
                            excluded)

    def factory(params):
        groups = [{"params": [p], "lars_exclude": number in excluded}
                  for number, p in enumerate(params)]
        return LARS(groups, **options)

    actual, _, _ = run_class(factory, 30)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-13)


# ----------------------------------------------------------------- live comparisons
def _run_side_by_side(make_theirs, make_ours, steps=40):
    """40 steps of both optimizers on the mlp problem; the final parameters of each."""
    torch = pytest.importorskip("torch")
    problem = "mlp"
    ours = [minigrad.tensor(a, dtype=np.float64, requires_grad=True)
            for a in problems.start(problem)]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in problems.start(problem)]
    opt_ours, opt_theirs = make_ours(ours), make_theirs(theirs)
    for _ in range(steps):
        opt_ours.zero_grad()
        problems.loss(problem, ours, minigrad).backward()
        opt_ours.step()
        opt_theirs.zero_grad()
        problems.loss(problem, theirs, torch).backward()
        opt_theirs.step()
    return (np.concatenate([p.data.ravel() for p in ours]),
            np.concatenate([p.detach().numpy().ravel() for p in theirs]))


def test_lamb_with_default_eps_stays_close_to_pytorch_optimizer():
    """pytorch_optimizer divides by ‖r‖ + ε in the trust ratio, the paper by ‖r‖."""
    po = pytest.importorskip("pytorch_optimizer")

    def theirs(params):
        opt = po.Lamb(params, lr=0.05, weight_decay=0.01, weight_decouple=False,
                      adam_debias=True, eps=1e-6, foreach=False)
        opt.clamp = math.inf
        return opt

    ours, expected = _run_side_by_side(
        theirs, lambda ps: LAMB(ps, lr=0.05, weight_decay=0.01, eps=1e-6,
                                bias_correction=False))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5)


def test_lars_with_default_eps_stays_close_to_pytorch_optimizer():
    po = pytest.importorskip("pytorch_optimizer")
    ours, expected = _run_side_by_side(
        lambda ps: po.LARS(ps, lr=1.0, momentum=0.9, weight_decay=1e-3,
                           trust_coefficient=0.02, foreach=False),
        lambda ps: LARS(lars_param_groups(ps), lr=1.0, weight_decay=1e-3,
                        trust_coefficient=0.02))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5)


# ----------------------------------------------------------------- validation
INVALID = [
    (LAMB, {"lr": -1}, "Invalid learning rate: -1"),
    (LAMB, {"eps": -1e-6}, "Invalid epsilon value: -1e-06"),
    (LAMB, {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    (LAMB, {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    (LAMB, {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    (LAMB, {"clamp_value": 0.0}, "Invalid clamp_value: 0.0 (allowed range (0.0, inf])"),
    (LARS, {"lr": -1}, "Invalid learning rate: -1"),
    (LARS, {"lr": 0.1, "momentum": 1.0}, "Invalid momentum value: 1.0"),
    (LARS, {"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
    (LARS, {"lr": 0.1, "weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    (LARS, {"lr": 0.1, "trust_coefficient": 0.0}, "Invalid trust_coefficient value: 0.0"),
    (LARS, {"lr": 0.1, "eps": -1.0}, "Invalid epsilon value: -1.0"),
    (LARS, {"lr": 0.1, "momentum": 0.0, "nesterov": True}, "Nesterov momentum requires"),
    (LARS, {"lr": 0.1, "lars_exclude": "yes"}, "Invalid lars_exclude: 'yes'"),
]


@pytest.mark.parametrize("cls, kwargs, message", INVALID, ids=[m for _, _, m in INVALID])
def test_bad_hyper_parameters_are_refused_and_change_nothing(cls, kwargs, message):
    p = tensor([[1.0, 2.0]])
    p.grad = np.array([[0.5, -0.5]])
    with pytest.raises(ValueError, match=re.escape(message)):
        cls([p], **kwargs)
    good = cls([p], lr=0.1)
    good.step()
    before = (p.data.copy(), copy.deepcopy(good.state_dict()))
    q = tensor([3.0])
    with pytest.raises(ValueError, match=re.escape(message)):
        good.add_param_group({"params": [q], **kwargs})
    assert len(good.param_groups) == 1
    np.testing.assert_array_equal(p.data, before[0])
    after = good.state_dict()
    assert after["param_groups"] == before[1]["param_groups"]
    for key, value in before[1]["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)


def test_lars_needs_a_learning_rate():
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        LARS([tensor([[1.0]])])
    assert LARS([{"params": [tensor([[1.0]])], "lr": 0.3}]).param_groups[0]["lr"] == 0.3


# ----------------------------------------------------------------- zero norms
def test_lamb_zero_initialised_layer_takes_a_plain_adam_step():
    w = tensor(np.zeros((2, 2)))
    w.grad = np.array([[0.5, -2.0], [1e-3, 0.0]])
    opt = LAMB([w], lr=0.1)
    opt.step()
    assert opt.state[w]["trust_ratio"] == 1.0
    expected = -0.1 * w.grad / (np.abs(w.grad) + 1e-6)  # m̂ = g, v̂ = g² on step 1
    np.testing.assert_allclose(w.data, expected, rtol=1e-14)


def test_lamb_zero_gradient_gives_trust_ratio_one_and_no_move():
    w = tensor([[1.0, 2.0]])
    w.grad = np.zeros((1, 2))
    opt = LAMB([w], lr=0.1)
    opt.step()
    assert opt.state[w]["trust_ratio"] == 1.0
    np.testing.assert_array_equal(w.data, [[1.0, 2.0]])


def test_lars_zero_initialised_layer_takes_a_plain_sgd_step():
    w = tensor(np.zeros((2, 3)))
    w.grad = np.arange(6.0).reshape(2, 3)
    opt = LARS([w], lr=0.1, weight_decay=0.5)
    opt.step()
    assert opt.state[w]["trust_ratio"] == 1.0
    np.testing.assert_array_equal(w.data, -0.1 * w.grad)


def test_lars_zero_gradient_leaves_the_layer_alone_as_apex_does():
    w = tensor([[1.0, -2.0]])
    w.grad = np.zeros((1, 2))
    opt = LARS([w], lr=0.1, weight_decay=0.5)
    opt.step()
    assert opt.state[w]["trust_ratio"] == 1.0
    np.testing.assert_array_equal(w.data, [[1.0, -2.0]])


def test_update_functions_return_the_trust_ratio_and_leave_grad_alone():
    param, grad = np.array([3.0, 4.0]), np.array([1.0, -1.0])
    grad.flags.writeable = False
    m, v = np.zeros(2), np.zeros(2)
    ratio = lamb_update(param, grad, m, v, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=0.0)
    assert isinstance(ratio, float) and ratio == pytest.approx(5 / math.sqrt(2))
    buffer = np.zeros(2)
    rate = lars_update(param, grad, buffer, lr=0.1, trust_coefficient=0.01)
    assert isinstance(rate, float) and rate > 0
    np.testing.assert_array_equal(grad, [1.0, -1.0])


# ----------------------------------------------------------------- the clamp
@pytest.mark.parametrize("clamp, step_length", [(None, 20.0), (5.0, 5.0), (50.0, 20.0)])
def test_lamb_moves_each_layer_by_lr_times_the_clamped_weight_norm(clamp, step_length):
    start = np.array([[12.0, -16.0]])  # ‖θ‖ = 20
    w = tensor(start)
    w.grad = np.array([[0.3, 7.0]])
    opt = LAMB([w], lr=0.01, weight_decay=0.1, clamp_value=clamp)
    opt.step()
    assert np.linalg.norm(w.data - start) == pytest.approx(0.01 * step_length, rel=1e-12)


def test_a_clamp_above_the_weight_norm_changes_nothing():
    runs = []
    for clamp in (None, 100.0):
        actual, _, _ = run_class(lambda ps: LAMB(ps, lr=0.05, clamp_value=clamp), 10)
        runs.append(actual)
    assert runs[0] == runs[1]


# ----------------------------------------------------------------- per-group exclusion
@pytest.mark.parametrize("norm", [nn.LayerNorm, nn.BatchNorm1d], ids=["layernorm", "batchnorm"])
def test_lars_param_groups_split_weights_from_biases_and_norms(norm):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), norm(3), nn.ReLU(), nn.Linear(3, 2))
    groups = lars_param_groups(model, weight_decay=1e-2)
    assert [name for name, _ in groups[0]["params"]] == ["0.weight", "3.weight"]
    assert [name for name, _ in groups[1]["params"]] == ["0.bias", "1.weight", "1.bias",
                                                         "3.bias"]
    assert groups[0]["weight_decay"] == 1e-2 and "lars_exclude" not in groups[0]
    assert groups[1]["weight_decay"] == 0.0 and groups[1]["lars_exclude"] is True

    opt = LARS(groups, lr=0.5, momentum=0.9, trust_coefficient=0.01)
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((8, 4)))
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    F.cross_entropy(model(x), minigrad.tensor(np.arange(8) % 2)).backward()
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    opt.step()
    for name, p in model.named_parameters():
        ratio = opt.state[p]["trust_ratio"]
        if p.ndim == 1:  # plain SGD: the first momentum step is −η·g
            assert ratio == 1.0
            np.testing.assert_allclose(p.data, before[name] - 0.5 * grads[name], rtol=1e-6)
        else:
            w, g = before[name].astype(np.float64), grads[name].astype(np.float64)
            rate = 0.01 * np.linalg.norm(w) / (np.linalg.norm(g) + 1e-2 * np.linalg.norm(w)
                                               + 1e-8)
            assert ratio == pytest.approx(rate, rel=1e-5) and ratio < 0.1
            np.testing.assert_allclose(p.data, w - 0.5 * rate * (g + 1e-2 * w), rtol=1e-5)


def test_lars_param_groups_accepts_named_pairs_and_plain_tensors():
    w, b = tensor(np.ones((2, 2))), tensor(np.ones(2))
    named = lars_param_groups([("w", w), ("b", b)])
    assert named[0] == {"params": [("w", w)]}
    plain = lars_param_groups([w, b], weight_decay=0.1)
    assert plain[0]["params"][0] is w and plain[1]["params"][0] is b
    assert plain[0]["weight_decay"] == 0.1
    opt = LARS(plain, lr=0.1, weight_decay=0.5)  # the optimizer's decay: weights only
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]


def test_an_excluded_group_ignores_its_weight_decay():
    runs = []
    for decay in (0.0, 0.3):
        w = tensor([[1.0, -2.0]])
        opt = LARS([{"params": [w], "lars_exclude": True, "weight_decay": decay}], lr=0.1)
        for _ in range(3):
            w.grad = np.array([[0.5, 0.5]])
            opt.step()
        runs.append(w.data.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    # buffers 0.5, 0.95, 1.355: plain momentum SGD, no decay
    expected = np.array([[1.0, -2.0]]) - 0.1 * (0.5 + 0.95 + 1.355)
    np.testing.assert_allclose(runs[0], expected, rtol=1e-14)


# ----------------------------------------------------------------- per-layer trust ratios
def test_lamb_trust_ratios_differ_from_layer_to_layer_on_an_mlp():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 4, 32))
    opt = LAMB(model.parameters(), lr=0.01, weight_decay=0.01)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    ratios = [opt.state[p]["trust_ratio"] for p in model.parameters()]
    assert all(isinstance(r, float) and r > 0 for r in ratios)
    assert len({round(r, 6) for r in ratios}) == len(ratios)
    assert max(ratios) / min(ratios) > 1.5, ratios


# ----------------------------------------------------------------- resume, dtype
def _factories():
    return {"LAMB": lambda ps: LAMB(ps, lr=0.05, weight_decay=0.01, clamp_value=2.0),
            "LARS": lambda ps: LARS(lars_param_groups(ps, weight_decay=0.01), lr=1.0,
                                    trust_coefficient=0.02, nesterov=True)}


@pytest.mark.parametrize("name", ["LAMB", "LARS"])
def test_resume_through_state_dict_is_bit_exact(name):
    factory = _factories()[name]
    _, opt, params = run_class(factory, 7)
    saved_params = [p.data.copy() for p in params]
    saved = opt.state_dict()
    for _ in range(5):
        for p, a, c in zip(params, CURVATURE, TARGET):
            p.grad = np.reshape(a, p.shape) * (p.data - np.reshape(c, p.shape))
        opt.step()

    resumed = [tensor(d) for d in saved_params]
    opt2 = factory(resumed)
    opt2.load_state_dict(saved)
    for _ in range(5):
        for p, a, c in zip(resumed, CURVATURE, TARGET):
            p.grad = np.reshape(a, p.shape) * (p.data - np.reshape(c, p.shape))
        opt2.step()
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.data, b.data)
    for p, q in zip(params, resumed):
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(opt2.state[q][key], value)


@pytest.mark.parametrize("name", ["LAMB", "LARS"])
def test_float32_stays_float32_and_grad_is_not_written(name):
    params = [tensor(np.reshape(x, s), dtype=np.float32) for x, s in zip(START, SHAPES)]
    opt = _factories()[name](params)
    for _ in range(3):
        for p in params:
            p.grad = (p.data - 0.5).astype(np.float32)
        grads = [p.grad.copy() for p in params]
        opt.step()
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(p.grad, g)
    for p in params:
        assert p.data.dtype == np.float32
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, key
        assert isinstance(opt.state[p]["trust_ratio"], float)

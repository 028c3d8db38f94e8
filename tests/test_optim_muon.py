"""Muon: PyTorch's trajectories, the Newton–Schulz iteration, the 2-D rule, the AdamW split."""
from __future__ import annotations

import copy
import json
import pathlib

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from optim.adamw import AdamW
from optim.muon import Muon, adjust_lr, muon_update, split_for_muon, zeropower_via_newtonschulz

REFERENCE = np.load(pathlib.Path(__file__).resolve().parent / "reference"
                    / "muon_trajectories.npz")
CASES = json.loads(str(REFERENCE["cases"]))
CONFIG_NAMES = list(CASES["configs"])


# ----------------------------------------------------------------- PyTorch's trajectories
def _unpack_problem() -> dict:
    """start, curvature and target of each matrix, from the packed rows of the file."""
    sizes = [int(np.prod(shape)) for shape in CASES["shapes"]]
    bounds = np.cumsum([0] + sizes)
    data = {}
    for row, key in enumerate(("start", "curvature", "target")):
        for k, shape in enumerate(CASES["shapes"]):
            data[f"{key}{k}"] = REFERENCE["problem"][row, bounds[k]:bounds[k + 1]].reshape(shape)
    return data


PROBLEM = _unpack_problem()


def _loss(params, data):
    total = 0.0
    for k, w in enumerate(params):
        diff = w - minigrad.tensor(data[f"target{k}"])
        curvature = minigrad.tensor(data[f"curvature{k}"])
        total = total + (0.5 * curvature * diff * diff + 0.05 * w ** 4).sum()
    return total


def _run_reference_problem(kwargs: dict, data=PROBLEM) -> np.ndarray:
    params = [minigrad.tensor(data[f"start{k}"].copy(), requires_grad=True) for k in range(2)]
    opt = Muon([{"params": [params[0]]}, {"params": [params[1]], **CASES["second_group"]}],
               **kwargs)
    rows = []
    for step in range(CASES["steps"] + 1):
        if step in CASES["recorded_steps"]:
            rows.append(np.concatenate([p.data.ravel() for p in params]))
        if step < CASES["steps"]:
            opt.zero_grad()
            _loss(params, data).backward()
            opt.step()
    return np.array(rows)


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_follows_pytorch_trajectory_with_newton_schulz_in_float64(config):
    expected = REFERENCE["float64"][CONFIG_NAMES.index(config)]
    got = _run_reference_problem(CASES["configs"][config])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.abs(expected[-1] - expected[0]).max() > 0.5  # the parameters really moved


def test_stays_within_bfloat16_rounding_of_pytorch_unchanged():
    """PyTorch's own run, Newton–Schulz in bfloat16: 30 steps of lr ≤ 0.05 drift < 0.01."""
    got = _run_reference_problem(CASES["configs"]["default"])
    gap = np.abs(got - REFERENCE["bfloat16"]).max()
    assert 0 < gap < 0.01


# ----------------------------------------------------------------- live PyTorch
@pytest.fixture
def torch_newton_schulz_in_float64(monkeypatch):
    torch = pytest.importorskip("torch")
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("this PyTorch has no Muon")
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
    return torch


@pytest.mark.parametrize("kwargs", [dict(lr=0.05, weight_decay=0.03, momentum=0.8),
                                    dict(lr=0.01, nesterov=False, adjust_lr_fn="match_rms_adamw")])
def test_matches_live_pytorch(torch_newton_schulz_in_float64, kwargs):
    torch = torch_newton_schulz_in_float64
    rng = np.random.default_rng(7)
    starts = [rng.normal(size=(5, 3)), rng.normal(size=(3, 3)), rng.normal(size=(2, 7))]
    targets = [rng.normal(size=s.shape) for s in starts]
    ours = [minigrad.tensor(s.copy(), requires_grad=True) for s in starts]
    theirs = [torch.tensor(s.copy(), requires_grad=True) for s in starts]
    opt_ours = Muon([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.03}], **kwargs)
    opt_theirs = torch.optim.Muon([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.03}],
                                  **kwargs)
    for _ in range(12):
        for params, opt, lib in ((ours, opt_ours, minigrad), (theirs, opt_theirs, torch)):
            opt.zero_grad()
            sum(((p - lib.tensor(t)) ** 2 * (p * p + 1)).sum()
                for p, t in zip(params, targets)).backward()
            opt.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=0, atol=1e-12)


def test_newton_schulz_is_pytorchs_up_to_bfloat16():
    torch = pytest.importorskip("torch")
    from torch.optim import _muon

    rng = np.random.default_rng(3)
    for shape in [(4, 9), (9, 4), (6, 6)]:
        g = rng.normal(size=shape).astype(np.float32)
        theirs = _muon._zeropower_via_newtonschulz(torch.tensor(g), (3.4445, -4.7750, 2.0315),
                                                   5, 1e-7).float().numpy()
        ours = zeropower_via_newtonschulz(g)
        assert np.abs(ours - theirs).max() < 0.05 * np.abs(ours).max()


# ----------------------------------------------------------------- Newton–Schulz
@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (5, 5), (1, 4), (16, 64)])
def test_newton_schulz_brings_every_singular_value_near_one(shape, rng):
    g = rng.normal(size=shape) * np.logspace(0, 2, shape[1])  # singular values far apart
    singular_values = np.linalg.svd(zeropower_via_newtonschulz(g), compute_uv=False)
    assert singular_values.min() > 0.5 and singular_values.max() < 1.3


def test_newton_schulz_keeps_the_singular_vectors(rng):
    g = rng.normal(size=(4, 6))
    u, _, vt = np.linalg.svd(g, full_matrices=False)
    converged = zeropower_via_newtonschulz(g, (1.875, -1.25, 0.375), ns_steps=40)
    np.testing.assert_allclose(converged, u @ vt, atol=1e-8)  # the classic quintic: U·Vᵀ


def test_a_tall_matrix_is_handled_as_its_transpose(rng):
    g = rng.normal(size=(8, 3))
    np.testing.assert_array_equal(zeropower_via_newtonschulz(g), zeropower_via_newtonschulz(g.T).T)


def test_newton_schulz_ignores_scale_and_keeps_zero_at_zero(rng):
    g = rng.normal(size=(3, 5))
    np.testing.assert_allclose(zeropower_via_newtonschulz(1e3 * g), zeropower_via_newtonschulz(g),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(zeropower_via_newtonschulz(np.zeros((3, 5))), 0.0)
    tiny = np.full((2, 2), 1e-12)  # below eps = 1e-7: divided by eps, not by its norm
    np.testing.assert_allclose(zeropower_via_newtonschulz(tiny, ns_steps=0), tiny / 1e-7)


def test_zero_newton_schulz_steps_only_normalise(rng):
    g = rng.normal(size=(3, 5))
    np.testing.assert_allclose(zeropower_via_newtonschulz(g, ns_steps=0), g / np.linalg.norm(g))


def test_newton_schulz_keeps_float32_and_refuses_vectors():
    out = zeropower_via_newtonschulz(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="2-D matrix"):
        zeropower_via_newtonschulz(np.ones(3))


# ----------------------------------------------------------------- the update rule
def test_learning_rate_adjustments():
    assert adjust_lr(0.1, None, (8, 2)) == pytest.approx(0.2)      # tall: √(A/B)
    assert adjust_lr(0.1, "original", (2, 8)) == 0.1                # wide: unchanged
    assert adjust_lr(0.1, "match_rms_adamw", (2, 8)) == pytest.approx(0.1 * 0.2 * np.sqrt(8))
    assert adjust_lr(0.1, "match_rms_adamw", (8, 2)) == pytest.approx(0.1 * 0.2 * np.sqrt(8))


def test_weight_decay_uses_the_unadjusted_learning_rate():
    param = np.full((8, 2), 2.0)  # tall: the step's rate is 2·lr, the decay's stays lr
    muon_update(param, np.zeros((8, 2)), np.zeros((8, 2)), lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(param, 2.0 * (1 - 0.1 * 0.5))  # NS(0) = 0: only the decay


def test_first_step_is_the_orthogonalised_gradient_with_or_without_nesterov(rng):
    grad = rng.normal(size=(3, 4))
    steps = []
    for nesterov in (True, False):
        param, buf = np.zeros((3, 4)), np.zeros((3, 4))
        muon_update(param, grad, buf, lr=0.1, weight_decay=0.0, nesterov=nesterov)
        np.testing.assert_allclose(buf, 0.05 * grad)  # B = (1 − μ)·g from B = 0
        steps.append(param)
    np.testing.assert_allclose(steps[0], steps[1], atol=1e-14)
    np.testing.assert_allclose(steps[0], -0.1 * zeropower_via_newtonschulz(grad), atol=1e-14)


def test_second_step_nesterov_looks_ahead(rng):
    g1, g2 = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    for nesterov in (True, False):
        param, buf = np.zeros((2, 3)), np.zeros((2, 3))
        muon_update(param, g1, buf, lr=1.0, weight_decay=0.0, momentum=0.9, nesterov=nesterov)
        before = param.copy()
        muon_update(param, g2, buf, lr=1.0, weight_decay=0.0, momentum=0.9, nesterov=nesterov)
        average = 0.9 * 0.1 * g1 + 0.1 * g2
        direction = 0.1 * g2 + 0.9 * average if nesterov else average
        np.testing.assert_allclose(before - param, zeropower_via_newtonschulz(direction),
                                   atol=1e-13)


def test_state_is_one_momentum_buffer_per_matrix_and_grad_is_untouched(rng):
    w = minigrad.tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    opt = Muon([w], lr=0.02)
    (w * w).sum().backward()
    grad = w.grad.copy()
    opt.step()
    np.testing.assert_array_equal(w.grad, grad)
    state = opt.state_dict()["state"][0]
    assert list(state) == ["momentum_buffer"] and state["momentum_buffer"].dtype == np.float32
    assert w.data.dtype == np.float32


def test_resume_is_bit_exact(rng):
    def run(params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            sum((p ** 4 - p).sum() for p in params).backward()
            opt.step()

    params = [minigrad.tensor(rng.normal(size=s), requires_grad=True) for s in ((3, 5), (4, 2))]
    opt = Muon(params, lr=0.05)
    run(params, opt, 3)
    saved, saved_params = opt.state_dict(), [p.data.copy() for p in params]
    run(params, opt, 4)
    resumed = [minigrad.tensor(a, requires_grad=True) for a in saved_params]
    opt2 = Muon(resumed, lr=0.9)  # the learning rate comes from the checkpoint
    opt2.load_state_dict(saved)
    run(resumed, opt2, 4)
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.data, b.data)


# ----------------------------------------------------------------- checks
def test_refuses_parameters_that_are_not_matrices():
    w = minigrad.tensor(np.ones((2, 3)), requires_grad=True)
    b = minigrad.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"Muon only optimizes 2-D parameters .* shape \(3,\)"):
        Muon([w, b])
    opt = Muon([w])
    with pytest.raises(ValueError, match="give biases, gains and embeddings to another optimizer"):
        opt.add_param_group({"params": [minigrad.tensor(np.ones((2, 2, 2)), requires_grad=True)]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    (dict(eps=-1e-7), "Invalid epsilon value"),
    (dict(ns_steps=100), r"Invalid ns_steps: 100 \(expected an integer in \[0, 100\)\)"),
    (dict(ns_steps=2.5), "Invalid ns_steps: 2.5"),
    (dict(ns_coefficients=(3.4, -4.7)), "Invalid ns_coefficients"),
    (dict(ns_coefficients=(3.4, float("nan"), 2.0)), "ns_coefficients at index 1"),
    (dict(adjust_lr_fn="spectral"), "Invalid adjust_lr_fn: 'spectral'"),
])
def test_refuses_bad_hyper_parameters_and_changes_nothing(kwargs, message):
    w = minigrad.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        Muon([w], **kwargs)
    opt = Muon([w], lr=0.1)
    w.grad = np.ones((2, 3))
    opt.step()
    before, weights = copy.deepcopy(opt.state_dict()), w.data.copy()
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": [minigrad.tensor(np.ones((2, 2)), requires_grad=True)],
                             **kwargs})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["momentum_buffer"],
                                  before["state"][0]["momentum_buffer"])
    np.testing.assert_array_equal(w.data, weights)


# ----------------------------------------------------------------- Muon + AdamW on a model
class TinyLanguageModel(nn.Module):
    """Embedding → hidden Linear → ReLU → LayerNorm → mean over positions → head."""

    def __init__(self, vocab: int = 12, width: int = 8):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.hidden = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens):
        h = self.norm(F.relu(self.hidden(self.embed(tokens))))
        return self.head(h.mean(axis=1))


def test_split_sends_hidden_matrices_to_muon_and_the_rest_to_adamw():
    model = TinyLanguageModel()
    hidden, others = split_for_muon(model.named_parameters())
    assert [name for name, _ in hidden] == ["hidden.weight"]
    assert sorted(name for name, _ in others) == [
        "embed.weight", "head.bias", "head.weight", "hidden.bias", "norm.bias", "norm.weight"]
    everything = {id(p) for p in model.parameters()}
    assert {id(p) for _, p in hidden + others} == everything
    hidden, _ = split_for_muon(model, exclude=())  # without exclusions: every matrix
    assert [name for name, _ in hidden] == ["embed.weight", "hidden.weight", "head.weight"]


def test_muon_and_adamw_train_a_small_model_together():
    _ = minigrad.manual_seed(0)
    model = TinyLanguageModel()
    hidden, others = split_for_muon(model)
    muon, adamw = Muon(hidden, lr=0.05), AdamW(others, lr=0.02)
    assert muon.param_groups[0]["param_names"] == ["hidden.weight"]
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 12, size=(32, 5))
    labels = tokens[:, 0]  # predict the first token of each sequence
    start = {name: p.data.copy() for name, p in model.named_parameters()}
    losses = []
    for _ in range(40):
        muon.zero_grad()
        adamw.zero_grad()
        loss = F.cross_entropy(model(minigrad.tensor(tokens)), minigrad.tensor(labels))
        loss.backward()
        muon.step()
        adamw.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.5 * losses[0]
    for name, p in model.named_parameters():
        assert not np.array_equal(p.data, start[name]), name  # each optimizer moved its own
    assert [len(s) for s in muon.state.values()] == [1]

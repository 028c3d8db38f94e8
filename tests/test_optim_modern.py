"""What every modern optimizer must do, checked the same way for all of them.

Each one: reduces a convex quadratic 100-fold, trains the digits MLP, resumes bit-exactly
through ``state_dict`` (also after pickling), keeps float32 state float32, never writes to
``.grad``, rejects a bad learning rate before anything changes, and has its state memory
measured. The optimizer-specific behaviours live in each optimizer's own test file.
"""
from __future__ import annotations

import copy
import pathlib
import pickle
import re
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

from quartic import closure_for
import minigrad
import optim
from minigrad import nn
from minigrad.nn import functional as F


@dataclass
class Spec:
    """How to build and step one optimizer on a list of parameters or a model."""

    name: str
    builder: object            # an optim class name, or builder(params, **kwargs)
    quadratic: dict            # kwargs that cut the quadratic 100-fold in 200 steps
    mlp: dict                  # kwargs that train the digits MLP in 200 steps
    matrices_only: bool = False  # the quadratic's x is a matrix; MLP biases go elsewhere
    before_step: Optional[Callable] = None  # before_step(opt, closure, t): e.g. Hessian
    after_backward: Optional[Callable] = None  # after_backward(opt): e.g. make grads sparse
    evaluate: Optional[Callable] = None     # evaluate(opt, fn): fn() at the averaged point
    lr_key: str = "lr"
    memory: Optional[float] = None  # expected state bytes per parameter byte (float32)

    def build(self, params, **kwargs):
        if isinstance(self.builder, str):
            return getattr(optim, self.builder)(params, **kwargs)
        return self.builder(params, **kwargs)


def _sophia_hessian(opt, closure, t):
    if t % 10 == 0:
        closure()
        opt.update_hessian()


def _schedule_free_eval(opt, fn):
    opt.eval()
    try:
        return fn()
    finally:
        opt.train()


def _row_sparse_grads(opt):
    """SparseAdam takes only row-sparse gradients: mark every row as touched."""
    from minigrad.sparse import RowSparseGrad

    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = RowSparseGrad.from_dense(p.grad)


def _sam(params, **kwargs):
    return optim.SAM(params, optim.SGD, **kwargs)


def _in_train_mode(name: str):
    """Schedule-free optimizers start in eval mode, like the authors' package."""
    def build(params, **kwargs):
        opt = getattr(optim, name)(params, **kwargs)
        opt.train()
        return opt
    return build


def _lookahead(params, **kwargs):
    return optim.Lookahead(optim.Adam(params, lr=kwargs.pop("lr")), **kwargs)


SPECS = [
    Spec("LAMB", "LAMB", dict(lr=0.05), dict(lr=0.02), memory=2.0),
    Spec("LARS", "LARS", dict(lr=1.0, trust_coefficient=0.02), dict(lr=5.0), memory=1.0),
    Spec("Adafactor", "Adafactor", dict(lr=0.1), dict(lr=0.03), memory=(64 + 128) / (64 * 128)),
    Spec("AdafactorShazeer", "AdafactorShazeer", dict(lr=0.1, relative_step=False),
         dict(lr=0.03, relative_step=False), memory=(64 + 128) / (64 * 128)),
    Spec("Lion", "Lion", dict(lr=0.01), dict(lr=5e-3), memory=1.0),
    # 8-bit: uint8 codes (1 byte) + one float32 absmax per 256 values, per moment
    Spec("Adam8bit", "Adam8bit", dict(lr=0.1, min_8bit_size=1),
         dict(lr=3e-3, min_8bit_size=0), memory=(2 + 2 * 4 / 256) / 4),
    Spec("AdamW8bit", "AdamW8bit", dict(lr=0.1, min_8bit_size=1),
         dict(lr=3e-3, min_8bit_size=0), memory=(2 + 2 * 4 / 256) / 4),
    Spec("SophiaG", "SophiaG", dict(lr=0.05, rho=1e-3, weight_decay=0.0), dict(lr=1e-2),
         before_step=_sophia_hessian, memory=2.0),
    Spec("SophiaH", "SophiaH", dict(lr=0.05, weight_decay=0.0), dict(lr=3e-3), memory=2.0),
    Spec("SAM", _sam, dict(lr=0.05, rho=0.01, momentum=0.9),
         dict(lr=0.1, momentum=0.9, rho=0.05), memory=1.0),
    Spec("ASAM", _sam, dict(lr=0.05, rho=0.05, adaptive=True),
         dict(lr=0.1, momentum=0.9, rho=0.5, adaptive=True)),
    Spec("Lookahead", _lookahead, dict(lr=0.1), dict(lr=1e-2), memory=3.0),
    Spec("SGDScheduleFree", _in_train_mode("SGDScheduleFree"), dict(lr=0.05), dict(lr=1.0),
         evaluate=_schedule_free_eval, memory=1.0),
    Spec("AdamWScheduleFree", _in_train_mode("AdamWScheduleFree"), dict(lr=0.1),
         dict(lr=1e-2),
         evaluate=_schedule_free_eval, memory=2.0),
    Spec("SparseAdam", "SparseAdam", dict(lr=0.05), dict(lr=0.01),
         after_backward=_row_sparse_grads, memory=2.0),
    Spec("Muon", "Muon", dict(lr=0.05, weight_decay=0.0), dict(lr=0.02),
         matrices_only=True, memory=1.0),
    Spec("SOAP", "SOAP", dict(lr=0.05, weight_decay=0.0), dict(lr=1e-2)),
]
IDS = [spec.name for spec in SPECS]


def _step(spec: Spec, opt, closure, t: int):
    if spec.before_step is not None:
        spec.before_step(opt, closure, t)
    if opt.needs_closure:
        return opt.step(closure)
    closure()
    if spec.after_backward is not None:
        spec.after_backward(opt)
    return opt.step()


def _evaluate(spec: Spec, opt, fn):
    return spec.evaluate(opt, fn) if spec.evaluate is not None else fn()


# ----------------------------------------------------------------- a convex quadratic
def _quadratic(spec: Spec, dtype=np.float64):
    """f(x) = ½·Σ aᵢxᵢ², aᵢ from 1 to 10, x₀ = 1 (a 2×5 matrix for matrix-only methods)."""
    a = np.linspace(1.0, 10.0, 10).astype(dtype)
    shape = (2, 5) if spec.matrices_only else (10,)
    x = minigrad.tensor(np.ones(shape, dtype=dtype), requires_grad=True)
    curvature = minigrad.tensor(a.reshape(shape))

    def loss():
        return 0.5 * (curvature * x * x).sum()
    return x, loss


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_reduces_a_convex_quadratic_a_hundredfold(spec):
    x, loss = _quadratic(spec)
    opt = spec.build([x], **spec.quadratic)
    closure = closure_for(opt, loss)

    start = float(loss().data)
    for t in range(200):
        _step(spec, opt, closure, t)
    end = _evaluate(spec, opt, lambda: float(loss().data))
    assert np.isfinite(end) and end < start / 100, f"{spec.name}: {start:.3g} -> {end:.3g}"


# ----------------------------------------------------------------- the digits MLP
@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    from minigrad.data import load_digits

    return load_digits()  # x_train, y_train, x_test, y_test


def _mlp(seed: int = 0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _groups(spec: Spec, model, kwargs: dict):
    """Matrix-only methods get the weights; the biases go to AdamW, stepped alongside."""
    if not spec.matrices_only:
        return spec.build(model.parameters(), **kwargs), None
    weights = [p for p in model.parameters() if p.ndim == 2]
    others = [p for p in model.parameters() if p.ndim != 2]
    return spec.build(weights, **kwargs), optim.AdamW(others, lr=3e-3)


def _train(spec: Spec, model, data, steps: int, opt=None, companion=None, rng_seed=1):
    x_train, y_train, _, _ = data
    if opt is None:
        opt, companion = _groups(spec, model, spec.mlp)
    rng = np.random.default_rng(rng_seed)
    for t in range(steps):
        index = rng.integers(0, len(x_train), 64)
        xb, yb = minigrad.tensor(x_train[index]), minigrad.tensor(y_train[index])

        def closure():
            opt.zero_grad()
            if companion is not None:
                companion.zero_grad()
            value = F.cross_entropy(model(xb), yb)
            value.backward()
            return value

        _step(spec, opt, closure, t)
        if companion is not None:
            companion.step()
    return opt, companion


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_trains_the_digits_mlp(spec, digits):
    model = _mlp()
    opt, _ = _train(spec, model, digits, steps=200)
    _, _, x_test, y_test = digits

    def accuracy():
        with minigrad.no_grad():
            predictions = model(minigrad.tensor(x_test)).data.argmax(axis=1)
        return float((predictions == y_test).mean())

    assert _evaluate(spec, opt, accuracy) >= 0.9


# ----------------------------------------------------------------- state and checkpoints
def _state_arrays(opt) -> list:
    arrays = []

    def collect(value):
        if isinstance(value, np.ndarray):
            arrays.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
    collect(opt.state_dict())
    return arrays


@pytest.mark.parametrize("how", ["load_state_dict", "pickle"])
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_resume_through_state_dict_is_bit_exact(spec, how, digits):
    model = _mlp()
    opt, companion = _train(spec, model, digits, steps=12)
    saved_model = copy.deepcopy(model.state_dict())
    saved = opt.state_dict() if how == "load_state_dict" else pickle.loads(pickle.dumps(opt.state_dict()))
    saved_companion = companion.state_dict() if companion is not None else None
    _train(spec, model, digits, steps=6, opt=opt, companion=companion, rng_seed=2)

    resumed = _mlp(seed=5)  # other initial weights: everything must come from the checkpoint
    resumed.load_state_dict(saved_model)
    opt2, companion2 = _groups(spec, resumed, spec.mlp)
    opt2.load_state_dict(saved)
    if companion2 is not None:
        companion2.load_state_dict(saved_companion)
    _train(spec, resumed, digits, steps=6, opt=opt2, companion=companion2, rng_seed=2)
    for (name, a), (_, b) in zip(model.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"{spec.name}: {name}")
    for a, b in zip(_state_arrays(opt), _state_arrays(opt2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_float32_parameters_keep_float32_state_and_grad_is_not_written(spec):
    x, loss = _quadratic(spec, dtype=np.float32)
    opt = spec.build([x], **spec.quadratic)
    closure = closure_for(opt, loss)

    for t in range(3):
        if spec.before_step is not None:
            spec.before_step(opt, closure, t)
        if opt.needs_closure:
            opt.step(closure)
            continue
        closure()
        if spec.after_backward is not None:
            spec.after_backward(opt)
        grad_before = x.grad.copy()
        opt.step()
        np.testing.assert_array_equal(x.grad, grad_before)
    assert x.data.dtype == np.float32
    for array in _state_arrays(opt):
        assert array.dtype in (np.float32, np.uint8, np.int64), (spec.name, array.dtype)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_bad_learning_rate_is_refused_and_changes_nothing(spec):
    x, loss = _quadratic(spec)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        spec.build([x], **{**spec.quadratic, spec.lr_key: -1.0})
    opt = spec.build([x], **spec.quadratic)
    y, _ = _quadratic(spec)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [y], "lr": -1.0})
    after = opt.state_dict()
    assert len(after["param_groups"]) == len(before["param_groups"])
    np.testing.assert_array_equal(x.data, np.ones(x.shape))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.memory is not None], ids=lambda s: s.name)
def test_state_memory_per_parameter_is_measured(spec):
    w = minigrad.tensor(np.ones((64, 128), dtype=np.float32), requires_grad=True)
    opt = spec.build([w], **spec.quadratic)

    def closure():
        opt.zero_grad()
        value = (w * w).sum()
        value.backward()
        return value

    _step(spec, opt, closure, 0)
    assert optim.state_bytes_per_param(opt) == pytest.approx(spec.memory, abs=0.01)


def test_the_readme_table_shows_the_measured_state_memory():
    """The README's "state" column is the number the memory test above measures."""
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    rows = {}
    for line in readme.splitlines():
        match = re.match(r"\| `(\w+)`[^|]*\|[^|]*\| ([0-9.]+)", line)
        if match:
            rows[match.group(1)] = float(match.group(2))
    checked = 0
    for spec in SPECS:
        if spec.memory is not None and spec.name in rows:
            assert rows[spec.name] == float(f"{spec.memory:.2g}"), spec.name
            checked += 1
    assert checked >= 10

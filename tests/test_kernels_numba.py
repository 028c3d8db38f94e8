"""The numba kernels against the NumPy reference, and how ``backend=`` picks between them.

Every kernel is stepped side by side with the reference update of the same optimizer on
the same data; float32 and float64 results must agree to rounding (in practice, bit for
bit: the kernels do the reference's operations in the reference's order).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

numba = pytest.importorskip("numba")

import minigrad  # noqa: E402
import optim  # noqa: E402
from optim import kernels  # noqa: E402
from optim.kernels import (AUTO_NUMBA_MIN_SIZE, kernel_for, resolve_backend,  # noqa: E402
                           set_default_backend)

# (optimizer class, keyword arguments): every numba kernel and each of its switches.
CASES = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True,
                      bias_correction=False)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    (optim.NAdam, dict(lr=0.01, weight_decay=0.1)),
    (optim.NAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.RAdam, dict(lr=0.01, weight_decay=0.1)),
    (optim.RAdam, dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1,
                       decoupled_weight_decay=True)),  # rectified from step 6 on
    (optim.Adamax, dict(lr=0.01, weight_decay=0.1)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                         initial_accumulator_value=0.1)),
    (optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
    (optim.Adadelta, dict(lr=1.0, weight_decay=0.1)),
    (optim.Lion, dict(lr=0.01, weight_decay=0.1)),
    (optim.LAMB, dict(lr=0.01, weight_decay=0.1)),
    (optim.LAMB, dict(lr=0.01, clamp_value=0.5, bias_correction=False)),
    (optim.Adafactor, dict()),
    (optim.Adafactor, dict(lr=0.1, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5,
                           weight_decay=0.1, maximize=True)),
    (optim.AdafactorShazeer, dict()),
    (optim.AdafactorShazeer, dict(lr=0.01, relative_step=False, scale_parameter=False,
                                  beta1=0.9, weight_decay=0.1, clip_threshold=0.5)),
    (optim.AdafactorShazeer, dict(warmup_init=True, beta1=0.0, decay_rate=-0.5)),
    (optim.SophiaG, dict(lr=0.01)),
    (optim.SophiaG, dict(lr=0.01, betas=(0.5, 0.9), rho=1.0, weight_decay=0.0,
                         maximize=True)),
    (optim.SGDScheduleFree, dict(lr=0.1)),
    (optim.SGDScheduleFree, dict(lr=0.1, momentum=0.5, weight_decay=0.1, warmup_steps=3,
                                 r=1.0)),
    (optim.AdamWScheduleFree, dict(lr=0.01)),
    (optim.AdamWScheduleFree, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1,
                                   warmup_steps=3, weight_lr_power=0.0)),
    (optim.Adam8bit, dict(lr=0.01, min_8bit_size=0)),
    (optim.AdamW8bit, dict(lr=0.01, min_8bit_size=0, block_size=4)),  # a partial block
    (optim.Adam8bit, dict(lr=0.01, weight_decay=0.1)),  # small: float moments, AdamW's step
]
# LAMB's norms are summed in float64 by the kernel, in float32 by the reference: they
# overflow at different sizes, so the extreme-value comparison leaves LAMB out.
FINITE_NORM_CASES = [case for case in CASES if case[0] is not optim.LAMB]
CASE_IDS = [f"{cls.__name__}-{'-'.join(kw) or 'plain'}-{n}" for n, (cls, kw) in enumerate(CASES)]
TOLERANCE = {np.float32: 1e-6, np.float64: 1e-14}


def new_optimizer(cls, params, backend, kwargs):
    """``cls(params, backend=backend, **kwargs)``, ready to step (schedule-free
    optimizers start in eval mode: they are switched to train mode)."""
    optimizer = cls(params, backend=backend, **kwargs)
    if isinstance(optimizer, (optim.SGDScheduleFree, optim.AdamWScheduleFree)):
        optimizer.train()
    return optimizer


def take_step(optimizer):
    """One step. SophiaG then refreshes its Hessian from the same gradient (as
    optim.hessian.gnb_hessian_step does every k steps), so that its ratio is exercised."""
    optimizer.step()
    if isinstance(optimizer, optim.SophiaG):
        optimizer.update_hessian()


def make_pair(cls, kwargs, values, backends=("numpy", "numba")):
    """One parameter and one optimizer per backend, all starting from ``values``."""
    params = {b: minigrad.tensor(values.copy(), requires_grad=True) for b in backends}
    return params, {b: new_optimizer(cls, [params[b]], b, kwargs) for b in backends}


def step_both(params, optimizers, grad):
    for backend, p in params.items():
        p.grad = grad.copy()
        take_step(optimizers[backend])


def assert_same(params, optimizers, rtol):
    reference, fast = params["numpy"], params["numba"]
    np.testing.assert_allclose(fast.data, reference.data, rtol=rtol, atol=0, equal_nan=True)
    state_ref = optimizers["numpy"].state[reference]
    state_fast = optimizers["numba"].state[fast]
    assert state_fast.keys() == state_ref.keys()
    for key, value in state_ref.items():
        if isinstance(value, np.ndarray):
            assert state_fast[key].dtype == value.dtype
            np.testing.assert_allclose(state_fast[key], value, rtol=rtol, atol=0,
                                       equal_nan=True, err_msg=key)
        elif value is None:                    # SGD's buffer before the first momentum step
            assert state_fast[key] is None, key
        else:
            assert state_fast[key] == pytest.approx(value, rel=rtol, nan_ok=True), key


def run_case(cls, kwargs, dtype, size, steps=7, grads=None, values=None):
    rng = np.random.default_rng(size)
    values = rng.standard_normal(size).astype(dtype) if values is None else values
    params, optimizers = make_pair(cls, kwargs, values)
    for step in range(steps):
        grad = rng.standard_normal(size).astype(dtype) if grads is None else grads[step]
        step_both(params, optimizers, grad)
        assert_same(params, optimizers, TOLERANCE[dtype])
    return params, optimizers


# ------------------------------------------------------------------ kernels vs reference
def test_every_numba_kernel_has_a_case():
    kernel_for(optim.SGD.__new__(optim.SGD), "numba")       # imports the kernel modules
    registered = {cls for (backend, cls) in kernels._registry if backend == "numba"}
    # SophiaH steps only with a closure: its own test below, not a CASE
    assert registered and registered <= {cls for cls, _ in CASES} | {optim.SophiaH}


@pytest.mark.parametrize("size", [0, 1, 7], ids=lambda n: f"size{n}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("cls, kwargs", CASES, ids=CASE_IDS)
def test_kernel_matches_reference(cls, kwargs, dtype, size):
    run_case(cls, kwargs, dtype, size)


@pytest.mark.parametrize("cls, kwargs", [CASES[1], CASES[4], CASES[30]],
                         ids=["SGD", "Adam", "Adam8bit"])
def test_kernel_matches_reference_on_a_million_elements(cls, kwargs):
    run_case(cls, kwargs, np.float32, 10**6 + 3, steps=2)


@pytest.mark.parametrize("cls, kwargs", FINITE_NORM_CASES,
                         ids=[CASE_IDS[CASES.index(c)] for c in FINITE_NORM_CASES])
def test_kernel_matches_reference_on_zero_grads_and_extreme_values(cls, kwargs):
    values = np.array([0.0, 1e-30, -1e30, 3e38, -3e38, 1e-45, 1.0, -2.0, np.inf, np.nan],
                      dtype=np.float32)
    grads = [np.zeros(10, dtype=np.float32),
             np.array([1e30, -1e-30, 0.0, 1e-38, -3e38, 1.0, np.inf, -np.inf, np.nan, 2.0],
                      dtype=np.float32),
             np.zeros(10, dtype=np.float32)]
    with np.errstate(all="ignore"):
        run_case(cls, kwargs, np.float32, 10, steps=3, grads=grads, values=values)


@pytest.mark.parametrize("cls, kwargs", CASES, ids=CASE_IDS)
def test_kernel_never_writes_the_gradient(cls, kwargs):
    p = minigrad.tensor(np.linspace(-1, 1, 9, dtype=np.float32), requires_grad=True)
    opt = new_optimizer(cls, [p], "numba", kwargs)
    grad = np.linspace(2, -2, 9, dtype=np.float32)
    for _ in range(2):
        p.grad = grad.copy()
        take_step(opt)
        np.testing.assert_array_equal(p.grad, grad)


@pytest.mark.parametrize("cls, kwargs", [CASES[1], CASES[4], CASES[14], CASES[16]],
                         ids=["SGD", "Adam", "RMSprop", "Lion"])
def test_float16_parameters_are_updated_in_float32_and_stored_back(cls, kwargs):
    rng = np.random.default_rng(3)
    values = rng.standard_normal(33).astype(np.float16)
    fast = minigrad.tensor(values.copy(), requires_grad=True)
    wide = minigrad.tensor(values.astype(np.float32), requires_grad=True)
    fast_opt = cls([fast], backend="numba", **kwargs)
    wide_opt = cls([wide], backend="numpy", **kwargs)
    for _ in range(3):
        grad = rng.standard_normal(33).astype(np.float16)
        fast.grad, wide.grad = grad.copy(), grad.astype(np.float32)
        fast_opt.step()
        wide_opt.step()
        assert fast.data.dtype == np.float16
        # one float32 step from the same float16 starting point, rounded to float16
        for key, value in fast_opt.state[fast].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float16
                wide_opt.state[wide][key][...] = value
        np.testing.assert_array_equal(fast.data, wide.data.astype(np.float16))
        wide.data[...] = fast.data


# ------------------------------------------------------------------ matrices, bs, codes
ADAFACTOR_CASES = [case for case in CASES if case[0] in (optim.Adafactor,
                                                         optim.AdafactorShazeer)]


@pytest.mark.filterwarnings("ignore:Mean of empty slice")     # (0, 3): NaN column means
@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 70), (1, 9), (0, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("cls, kwargs", ADAFACTOR_CASES,
                         ids=[CASE_IDS[CASES.index(c)] for c in ADAFACTOR_CASES])
def test_factored_adafactor_kernels_match_reference_on_matrices(cls, kwargs, dtype, shape):
    # the generic cases are vectors; here the row and column factors (a 3-D parameter is
    # a stack of matrices, each with its own)
    with np.errstate(invalid="ignore"):
        run_case(cls, kwargs, dtype, shape)


def test_sophia_g_kernel_uses_the_batch_size_of_each_step():
    rng = np.random.default_rng(5)
    params, optimizers = make_pair(optim.SophiaG, dict(lr=0.01), rng.standard_normal(64))
    for bs in (1, 64, 5120):
        grad = rng.standard_normal(64)
        for backend, p in params.items():
            p.grad = grad.copy()
            optimizers[backend].step(bs=bs)
            optimizers[backend].update_hessian()
        assert_same(params, optimizers, TOLERANCE[np.float64])


def test_sophia_h_kernel_follows_the_reference_through_hessian_refreshes():
    rng = np.random.default_rng(6)
    scale = minigrad.tensor(rng.uniform(0.5, 50.0, 300))
    params, optimizers = {}, {}
    for backend in ("numpy", "numba"):  # one run after the other, from the same seed:
        minigrad.manual_seed(0)         # the same Hutchinson probes in both
        p = params[backend] = minigrad.tensor(np.linspace(-2, 2, 300), requires_grad=True)
        optimizers[backend] = optim.SophiaH([p], lr=0.05, rho=0.5, update_period=3,
                                            backend=backend)
        for _ in range(12):  # refreshes at steps 1, 4, 7, 10
            optimizers[backend].step(lambda: 0.5 * (scale * p * p).sum())
    assert_same(params, optimizers, TOLERANCE[np.float64])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_8bit_codes_and_absmax_are_the_references_after_20_steps(dtype):
    # heavy-tailed gradients, so that blocks span many decades of the map; 5 blocks of
    # 256, the last one partial
    rng = np.random.default_rng(11)
    grads = [(rng.standard_normal(1100) * rng.uniform(0, 4, 1100) ** 6).astype(dtype)
             for _ in range(20)]
    params, optimizers = make_pair(optim.AdamW8bit, dict(lr=0.01, min_8bit_size=0),
                                   rng.standard_normal(1100).astype(dtype))
    for grad in grads:
        step_both(params, optimizers, grad)
    np.testing.assert_array_equal(params["numba"].data, params["numpy"].data)
    reference = optimizers["numpy"].state[params["numpy"]]
    fast = optimizers["numba"].state[params["numba"]]
    for key in ("exp_avg_q", "exp_avg_sq_q", "exp_avg_absmax", "exp_avg_sq_absmax"):
        assert fast[key].dtype == reference[key].dtype
        np.testing.assert_array_equal(fast[key], reference[key], err_msg=key)


def test_8bit_kernel_refuses_a_changed_block_size_as_the_reference_does():
    p = minigrad.tensor(np.linspace(0, 1, 600, dtype=np.float32), requires_grad=True)
    opt = optim.Adam8bit([p], lr=0.1, min_8bit_size=0, backend="numba")
    p.grad = np.ones(600, dtype=np.float32)
    opt.step()
    opt.param_groups[0]["block_size"] = 128
    values = p.data.copy()
    with pytest.raises(ValueError, match="block_size cannot change"):
        opt.step()
    np.testing.assert_array_equal(p.data, values)
    assert opt.state[p]["step"] == 1


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_8bit_block_quantiser_breaks_ties_and_keeps_nonzero_as_the_reference(signed):
    from optim.kernels import numba_quantized as q
    from optim.quantization import quantize_blockwise

    code_map = q.SIGNED_DYNAMIC_MAP if signed else q.UNSIGNED_DYNAMIC_MAP
    midpoints = q.SIGNED_MIDPOINTS if signed else q.UNSIGNED_MIDPOINTS
    zero = q.SIGNED_ZERO if signed else q.UNSIGNED_ZERO
    tiny = np.float32(1e-9)                     # nearest entry 0, but not 0
    values = np.concatenate([midpoints, code_map, [tiny, -tiny if signed else tiny, 0.0]])
    values = values.astype(np.float32)          # absmax 1: x / absmax is x, ties exact
    codes = np.empty(values.size, dtype=np.uint8)
    absmax = q.quantise_block(values, codes, midpoints, zero)
    expected, expected_absmax = quantize_blockwise(values, code_map, values.size,
                                                   keep_nonzero=True)
    np.testing.assert_array_equal(codes, expected)
    assert absmax == expected_absmax[0] == 1.0


def test_non_contiguous_parameter_is_updated_in_place():
    base = np.arange(24, dtype=np.float32).reshape(6, 4) / 10
    expected = base.copy()
    p = minigrad.tensor(np.zeros((6, 2), dtype=np.float32), requires_grad=True)
    p.data = base[:, ::2]                      # a strided view: reshape(-1) would copy
    reference = minigrad.tensor(expected[:, ::2].copy(), requires_grad=True)
    opt, ref_opt = optim.Adam([p], lr=0.1, backend="numba"), optim.Adam([reference], lr=0.1)
    for _ in range(3):
        p.grad = np.ones((6, 2), dtype=np.float32)
        reference.grad = np.ones((6, 2), dtype=np.float32)
        opt.step()
        ref_opt.step()
    np.testing.assert_array_equal(base[:, ::2], reference.data)   # the view's base moved
    np.testing.assert_array_equal(base[:, 1::2], expected[:, 1::2])


def test_non_contiguous_gradient_uses_the_reference(monkeypatch):
    p = minigrad.tensor(np.ones((4, 4), dtype=np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.5, momentum=0.9, backend="numba")
    calls = []
    monkeypatch.setattr(opt, "_update", lambda *a: calls.append(a) or None)
    p.grad = np.arange(16, dtype=np.float32).reshape(4, 4).T
    opt.step()
    assert len(calls) == 1


@pytest.mark.parametrize("cls", [optim.SGDScheduleFree, optim.AdamWScheduleFree])
def test_schedule_free_steps_through_its_kernel_not_the_reference(cls, monkeypatch):
    p = minigrad.tensor(np.ones(8, dtype=np.float32), requires_grad=True)
    opt = new_optimizer(cls, [p], "numba", {})
    monkeypatch.setattr(opt, "_update", lambda *a, **k: pytest.fail("reference called"))
    p.grad = np.full(8, 0.5, dtype=np.float32)
    opt.step()
    assert not np.array_equal(p.data, np.ones(8, dtype=np.float32))


def test_a_group_kernel_gets_each_groups_parameters_in_one_call():
    class GroupSGD(optim.SGD):
        pass

    calls = []

    @kernels.register_group("numba", GroupSGD)
    def halve_all(params, grads, states, group):
        calls.append((group["lr"], [p.shape for p in params]))
        for p in params:
            p.data[...] *= 0.5  # in place, as a kernel writes (no version bump)

    ps = [minigrad.tensor(np.ones(n, dtype=np.float32), requires_grad=True) for n in (3, 5, 7)]
    without_grad = minigrad.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    opt = GroupSGD([{"params": ps[:2]}, {"params": [ps[2], without_grad], "lr": 0.2}],
                   lr=0.1, backend="numba")
    for p in ps:
        p.grad = np.ones_like(p.data)
    versions = [p._version for p in ps]
    opt.step()
    assert calls == [(0.1, [(3,), (5,)]), (0.2, [(7,)])]
    assert all((p.data == 0.5).all() for p in ps) and (without_grad.data == 1).all()
    assert [p._version for p in ps] == [v + 1 for v in versions]

    reference = GroupSGD([ps[0]], lr=0.1, backend="numpy")  # the reference ignores it
    reference.step()
    assert len(calls) == 2 and np.allclose(ps[0].data, 0.4)


# ------------------------------------------------------------------ whole optimizers
WHOLE_OPTIMIZER_CASES = {"SGD": CASES[2], "Adam": CASES[4], "RMSprop": CASES[14],
                         "Lion": CASES[16], "Adafactor": CASES[19],
                         "AdafactorShazeer": CASES[22], "SophiaG": CASES[24],
                         "SGDScheduleFree": CASES[27], "AdamWScheduleFree": CASES[29],
                         "Adam8bit": CASES[30]}


@pytest.mark.parametrize("cls, kwargs", WHOLE_OPTIMIZER_CASES.values(),
                         ids=WHOLE_OPTIMIZER_CASES.keys())
def test_optimizers_agree_over_100_steps_with_every_backend(cls, kwargs):
    rng = np.random.default_rng(7)
    shapes = [(3,), (AUTO_NUMBA_MIN_SIZE,), (5, 7)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = {}
    for backend in ("numpy", "numba", "auto"):
        params = [minigrad.tensor(v.copy(), requires_grad=True) for v in start]
        opt = new_optimizer(cls, params, backend, kwargs)
        grads = np.random.default_rng(8)
        for _ in range(100):
            for p in params:
                p.grad = grads.standard_normal(p.shape).astype(np.float32)
            take_step(opt)
        results[backend] = [p.data for p in params]
    for backend in ("numba", "auto"):
        for fast, reference in zip(results[backend], results["numpy"]):
            np.testing.assert_allclose(fast, reference, rtol=1e-6, atol=1e-7)


def test_state_dict_has_pytorch_layout_and_loads_across_backends():
    p = minigrad.tensor(np.ones(5, dtype=np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1, backend="numba")
    p.grad = np.ones(5, dtype=np.float32)
    opt.step()
    saved = opt.state_dict()
    assert "backend" not in saved["param_groups"][0]
    assert "backend" not in saved["state"][0]
    q = minigrad.tensor(p.data.copy(), requires_grad=True)
    other = optim.Adam([q], lr=0.1, backend="numpy")
    other.load_state_dict(saved)
    for optimizer, param in ((opt, p), (other, q)):
        param.grad = np.full(5, 0.5, dtype=np.float32)
        optimizer.step()
    np.testing.assert_array_equal(p.data, q.data)
    assert "backend: numba" in repr(opt)


# ------------------------------------------------------------------ selection
def test_auto_uses_numba_from_the_threshold_on():
    small = minigrad.tensor(np.zeros(AUTO_NUMBA_MIN_SIZE - 1, dtype=np.float32))
    large = minigrad.tensor(np.zeros(AUTO_NUMBA_MIN_SIZE, dtype=np.float32))
    assert resolve_backend("auto", small) == "numpy"
    assert resolve_backend("auto", large) == "numba"
    assert resolve_backend("numba", small) == "numba"
    assert resolve_backend("numpy", large) == "numpy"


def test_auto_without_numba_falls_back_to_numpy_silently(monkeypatch):
    monkeypatch.setattr(kernels, "_numba_importable", lambda: False)
    large = minigrad.tensor(np.ones(AUTO_NUMBA_MIN_SIZE, dtype=np.float32), requires_grad=True)
    assert resolve_backend("auto", large) == "numpy"
    opt = optim.Adam([large], lr=0.1)
    large.grad = np.ones_like(large.data)
    opt.step()
    np.testing.assert_allclose(large.data, 0.9, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numba", "cupy"])
def test_explicit_backend_without_its_library_fails_at_construction(monkeypatch, backend):
    monkeypatch.setattr(kernels, "_numba_importable", lambda: False)
    monkeypatch.setattr(kernels, "cupy_available", lambda: False)
    p = minigrad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match=f"backend='{backend}'") as error:
        optim.SGD([p], lr=0.1, backend=backend)
    assert ("pip install -e '.[fast]'" if backend == "numba" else "cuda12") in str(error.value)
    with pytest.raises(RuntimeError, match=backend):
        set_default_backend(backend)
    assert optim.get_default_backend() == "auto"


def test_unknown_backend_names_the_allowed_values():
    p = minigrad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'numpy', 'numba'"):
        optim.Adam([p], backend="fortran")
    with pytest.raises(ValueError, match="'auto'"):
        set_default_backend("fast")


def test_default_backend_applies_to_optimizers_without_one(monkeypatch):
    p = minigrad.tensor(np.ones(AUTO_NUMBA_MIN_SIZE, dtype=np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    used = []
    monkeypatch.setattr(opt, "_update", lambda *a: used.append("numpy"))
    p.grad = np.ones_like(p.data)
    try:
        set_default_backend("numpy")
        opt.step()
        set_default_backend("numba")
        opt.step()
    finally:
        set_default_backend("auto")
    assert used == ["numpy"]


def test_optimizer_without_a_kernel_uses_its_reference_update():
    p = minigrad.tensor(np.ones(AUTO_NUMBA_MIN_SIZE, dtype=np.float32), requires_grad=True)
    assert kernel_for(optim.Rprop([p]), "numba") is None
    opt = optim.Rprop([p], lr=0.1, backend="numba")
    p.grad = np.ones_like(p.data)
    opt.step()
    np.testing.assert_allclose(p.data, 0.9, rtol=1e-6)


def test_subclass_with_its_own_update_does_not_inherit_the_kernel():
    class Doubling(optim.Adam):
        def _update(self, p, grad, state, group):
            p.data *= 2

    p = minigrad.tensor(np.ones(AUTO_NUMBA_MIN_SIZE, dtype=np.float32), requires_grad=True)
    opt = Doubling([p], backend="numba")
    p.grad = np.ones_like(p.data)
    opt.step()
    np.testing.assert_array_equal(p.data, 2)


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already without JIT")
def test_kernels_pass_as_plain_python_with_the_jit_disabled():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "matches_reference and size7 and float64"],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout

"""The GPU path: CuPy kernels, their host-side plans and source, device transfers.

Three kinds of tests:

* CPU, always: the plans' bookkeeping, the multi-tensor chunk table, DataLoader devices.
* CPU, with a C++ compiler: every kernel rule (the very C source the GPU compiles) is
  compiled for the host and stepped against the NumPy reference, NaN and inf included;
  8-bit Adam's RawKernel source too: its per-element functions against the reference,
  and its block loop (emulated, and the kernel run with one thread per block) keeping
  the reference's codes and absmax over several steps.
* GPU (skipped without CuPy and a GPU): every kernel (the modern optimizers' staged
  ones too) against the reference on the
  device, float16, non-contiguous parameters, one launch per group, the digits MLP
  trained end to end, and the optimizer state's round trip through the host.
"""
from __future__ import annotations

import ctypes
import functools
import shutil
import subprocess

import numpy as np
import pytest

import minigrad
import optim
from minigrad.backend import cupy_available
from minigrad.data import DataLoader, TensorDataset
from optim.kernels import cupy_elementwise, cupy_source
from optim.kernels.cupy_modern_plans import MODERN_PLANS
from optim.kernels.cupy_modern_source import MODERN_RULES
from optim.kernels.cupy_plans import PLANS
from optim.kernels.cupy_source import RULES
from optim.schedule_free import _ScheduleFree, schedule_free_coefficients

#: Every rule, the PyTorch family's and the modern optimizers'.
ALL_RULES = {**RULES, **MODERN_RULES}

gpu = pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")

# (class, hyper-parameters): every rule and every branch of every rule at least once.
CONFIGS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, weight_decay=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    (optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (optim.Adadelta, dict(weight_decay=0.1)),
    (optim.Adam, dict(lr=0.1)),
    (optim.Adam, dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    (optim.Adam, dict(lr=0.1, bias_correction=False)),
    (optim.Adam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.AdamW, dict(lr=0.1, amsgrad=True)),
    (optim.NAdam, dict(lr=0.1, weight_decay=0.1)),
    (optim.NAdam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.RAdam, dict(lr=0.1, betas=(0.5, 0.6), weight_decay=0.1)),  # rectified by step 3
    (optim.RAdam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.Adamax, dict(lr=0.1, weight_decay=0.1)),
    (optim.Lion, dict(lr=0.1)),
    (optim.Lion, dict(lr=0.1, weight_decay=0.5)),
]
IDS = [f"{cls.__name__}-{'-'.join(map(str, kwargs.values()))}" for cls, kwargs in CONFIGS]

# The modern optimizers: staged plans, stepped as their own step() would (see _drive).
MODERN_CONFIGS = [
    (optim.Adafactor, dict()),
    (optim.Adafactor, dict(lr=0.1, weight_decay=0.1, d=1.5, eps=(1e-3, 1e-3))),
    (optim.SophiaG, dict(lr=0.1, rho=0.05)),
    (optim.SophiaG, dict(lr=0.1, weight_decay=0.0, rho=10.0, eps=1e-3)),  # ratios < 1
    (optim.SophiaH, dict(lr=0.1, rho=50.0, weight_decay=0.2)),
    (optim.SGDScheduleFree, dict(lr=0.5)),
    (optim.SGDScheduleFree, dict(lr=0.5, weight_decay=0.1, warmup_steps=2)),
    (optim.AdamWScheduleFree, dict(lr=0.1)),
    (optim.AdamWScheduleFree, dict(lr=0.1, weight_decay=0.1, warmup_steps=2, r=1.0)),
    (optim.LAMB, dict(lr=0.1)),
    (optim.LAMB, dict(lr=0.1, weight_decay=0.1, clamp_value=2.0)),
    (optim.LAMB, dict(lr=0.1, bias_correction=False)),
    (optim.AdafactorShazeer, dict()),
    (optim.AdafactorShazeer, dict(beta1=0.9, weight_decay=0.1, warmup_init=True)),
    (optim.AdafactorShazeer, dict(lr=0.1, relative_step=False, scale_parameter=False,
                                  clip_threshold=0.5, decay_rate=-0.5, beta1=0.5,
                                  eps=(1e-3, 1e-3))),
]
MODERN_IDS = [f"{cls.__name__}-{'-'.join(map(str, kwargs.values()))}"
              for cls, kwargs in MODERN_CONFIGS]
#: Adafactor factors a matrix's second moment and keeps a vector's: both shapes.
SHAPES = [(9,), (3, 3)]
STEPS = 3


def _values(dtype, size: int = 9, seed: int = 0, special: bool = True) -> tuple:
    """A parameter and STEPS gradients; the gradients hold 0, inf and NaN somewhere."""
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(size).astype(dtype)
    grads = [rng.standard_normal(size).astype(dtype) for _ in range(STEPS)]
    if special:
        grads[0][0] = 0.0
        grads[1][1] = np.inf
        grads[2][2] = np.nan
        param[3] = np.inf
    return param, grads


def _reference(cls, kwargs, param, grads):
    """The NumPy reference, stepped through the class's own ``_update``."""
    p = minigrad.tensor(param.copy(), requires_grad=True)
    opt = cls([p], **kwargs)
    with np.errstate(all="ignore"):
        for g in grads:
            p.grad = g.copy()
            opt.step()
    return p.data, opt.state[p]


def _drive(cls, kwargs, param, grads, make_update, xp=np):
    """Step ``cls`` over ``grads`` as its own ``step()`` does around ``_update``, with
    ``make_update(opt)`` (``opt._update`` or a kernel) as the update.

    The schedule-free per-group coefficients go in as ``lr=`` and ``ckp1=``; SophiaG
    steps with ``bs=8``; both Sophias refresh the Hessian average after each step (ĝ ⊙ ĝ
    for SophiaG, a signed stand-in for Hutchinson's estimate for SophiaH), so that the
    later steps meet a non-zero h, negative entries included.
    """
    minigrad.manual_seed(0)  # SophiaH draws its probe seed when the state is created
    p = minigrad.tensor(xp.asarray(param), requires_grad=True)
    opt = cls([p], **kwargs)
    group = opt.param_groups[0]
    state = opt._init_state(p, group)
    opt._step_bs = 8.0
    update = make_update(opt)
    rng = np.random.default_rng(1)
    with np.errstate(all="ignore"):
        for g in map(xp.asarray, grads):
            if isinstance(opt, _ScheduleFree):
                lr, group["lr_max"], group["weight_sum"], ckp1 = schedule_free_coefficients(
                    group["k"], group["lr"], group["lr_max"], group["weight_sum"],
                    warmup_steps=group["warmup_steps"], r=group["r"],
                    weight_lr_power=group["weight_lr_power"])
                update(p, g, state, group, lr=lr, ckp1=ckp1)
                group["k"] += 1
                continue
            update(p, g, state, group)
            if isinstance(opt, (optim.SophiaG, optim.SophiaH)):
                estimate = (g * g if isinstance(opt, optim.SophiaG) else xp.asarray(
                    rng.standard_normal(param.shape).astype(param.dtype)))
                optim.sophia_hessian_ema(state["hessian"], estimate, beta2=group["betas"][1])
    return p.data, state


# ---------------------------------------------------------------- CPU, always
@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_plan_keeps_the_scalar_state_of_the_reference(cls, kwargs):
    param, grads = _values(np.float64, special=False)
    _, expected = _reference(cls, kwargs, param, grads)
    p = minigrad.tensor(param.copy(), requires_grad=True)
    opt = cls([p], **kwargs)
    group = opt.param_groups[0]
    state = opt._init_state(p, group)
    for g in grads:
        rule, scalars, arrays = PLANS[cls](p, g, state, group)
        assert len(scalars) == len(rule.scalars) and len(arrays) == len(rule.arrays)
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        if value is None:
            assert state[key] is None, key
        elif not hasattr(value, "shape"):
            assert state[key] == pytest.approx(value, rel=1e-15), key


@pytest.mark.parametrize("cls, kwargs", MODERN_CONFIGS, ids=MODERN_IDS)
def test_staged_plan_keeps_the_scalar_state_of_the_reference(cls, kwargs, monkeypatch):
    from optim.kernels import kernel_for

    param, grads = _values(np.float64, special=False)
    _, expected = _drive(cls, kwargs, param, grads, lambda opt: opt._update)
    launches = []

    def count(rule, param, grad, arrays, scalars):
        assert len(scalars) == len(rule.scalars) and len(arrays) == len(rule.arrays)
        launches.append(rule.name)

    monkeypatch.setattr(cupy_elementwise, "launch", count)
    _, state = _drive(cls, kwargs, param, grads, lambda opt: kernel_for(opt, "cupy"))
    two_launches = (optim.LAMB, optim.Adafactor, optim.AdafactorShazeer)
    assert len(launches) == STEPS * (2 if cls in two_launches else 1)
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, int):  # step, probe_seed (LAMB's trust ratio: below)
            assert state[key] == value, key


def test_modern_optimizers_have_a_cupy_kernel_and_no_group_kernel():
    from optim.kernels import _group_registry, _registry

    import optim.kernels.cupy_multi_tensor  # noqa: F401  (registers the group kernels)

    for cls in MODERN_PLANS:
        assert ("cupy", cls) in _registry and ("cupy", cls) not in _group_registry
    assert not set(MODERN_PLANS) & set(PLANS)


def test_every_rule_names_each_array_and_scalar_in_its_body():
    for rule in ALL_RULES.values():
        assert rule.body.isascii(), rule.name  # CUDA source: plain ASCII, comments too
        for name in rule.arrays + rule.scalars:
            assert name in rule.body, (rule.name, name)


def test_chunk_table_covers_every_element_once():
    from optim.kernels.cupy_source import CHUNK

    sizes = np.array([1, CHUNK, CHUNK + 1, 3 * CHUNK - 1, 7])
    # a pure NumPy helper of the GPU module, re-stated here: no CuPy on the CPU
    chunks = -(-sizes // CHUNK)
    tensor = np.repeat(np.arange(len(sizes)), chunks)
    first = (np.arange(len(tensor)) - np.repeat(np.cumsum(chunks) - chunks, chunks)) * CHUNK
    covered = [0] * len(sizes)
    for k, start in zip(tensor, first):
        covered[k] += min(start + CHUNK, sizes[k]) - start
    assert covered == sizes.tolist()


def test_multi_tensor_source_has_one_kernel_named_after_its_rule():
    for rule in ALL_RULES.values():
        source = cupy_source.multi_tensor_source(rule, "float", "float", "float")
        assert source.count("__global__") == 1
        assert f"void {rule.name}_multi_tensor(" in source
        assert "cuda_fp16" not in source
    half = cupy_source.multi_tensor_source(RULES["adam"], "__half", "__half", "float")
    assert "#include <cuda_fp16.h>" in half


def test_data_loader_device_cpu_yields_numpy_batches():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    loader = DataLoader(TensorDataset(X, np.arange(6)), batch_size=4, device="cpu")
    xb, yb = next(iter(loader))
    assert isinstance(xb.data, np.ndarray) and xb.device == "cpu"
    np.testing.assert_array_equal(xb.data, X[:4])
    assert "device='cpu'" in repr(loader)


def test_data_loader_rejects_an_unknown_device_before_any_batch():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        DataLoader(TensorDataset(np.zeros((2, 1))), device="tpu")


@pytest.mark.skipif(cupy_available(), reason="checks the message shown without a GPU")
def test_data_loader_on_cuda_without_a_gpu_names_the_extra():
    with pytest.raises(RuntimeError, match=r"cuda12"):
        DataLoader(TensorDataset(np.zeros((2, 1))), device="cuda")


# ---------------------------------------------------------------- CPU, C++ twin of the rules
_HOST_PRELUDE = """
#include <cmath>
#define __device__
#define __forceinline__ inline
using std::sqrt; using std::fabs;
"""


def _host_function(rule, ctype: str) -> str:
    array = {"p": "param[i]", "g": "grad[i]"}
    array.update({name: f"arrays[{k}][i]" for k, name in enumerate(rule.arrays)})
    load, store = cupy_source._load_and_store(rule, array.__getitem__)
    scalars = cupy_source._scalar_locals(rule, lambda index, name: f"scalars[{index}]")
    return f"""
extern "C" void run_{rule.name}(long long n, P* param, const G* grad, S** arrays,
                                const double* scalars) {{
    typedef compute_type<P>::type C;
    {scalars}
    for (long long i = 0; i < n; ++i) {{
        {load}
        {rule.body}
        {store}
    }}
}}"""


@pytest.fixture(scope="module")
def host_rules(tmp_path_factory):
    """The rules compiled for the CPU, one shared library per dtype."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("needs a C++ compiler to run the kernel rules on the CPU")
    libraries = {}
    for dtype, ctype in ((np.float32, "float"), (np.float64, "double")):
        source = (_HOST_PRELUDE + f"typedef {ctype} P; typedef {ctype} G; typedef {ctype} S;\n"
                  + cupy_source.PREAMBLE
                  + "".join(_host_function(rule, ctype) for rule in ALL_RULES.values()))
        folder = tmp_path_factory.mktemp(ctype)
        (folder / "rules.cpp").write_text(source)
        # -O1 without -ffast-math and without FMA contraction: IEEE arithmetic, like NumPy
        subprocess.run([compiler, "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o",
                        str(folder / "rules.so"), str(folder / "rules.cpp")], check=True)
        libraries[np.dtype(dtype)] = ctypes.CDLL(str(folder / "rules.so"))
    return libraries


def _run_on_host(library, rule, param, grad, arrays, scalars) -> None:
    pointer = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    table = (ctypes.c_void_p * max(len(arrays), 1))(*[pointer(a) for a in arrays])
    scalar_values = np.array(scalars, dtype=np.float64)
    getattr(library, f"run_{rule.name}")(
        ctypes.c_longlong(param.size), pointer(param), pointer(grad), table,
        pointer(scalar_values))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_kernel_rule_matches_the_reference_on_the_cpu(host_rules, cls, kwargs, dtype):
    param, grads = _values(dtype)
    expected, expected_state = _reference(cls, kwargs, param, grads)
    p = minigrad.tensor(param.copy(), requires_grad=True)
    opt = cls([p], **kwargs)
    group = opt.param_groups[0]
    state = opt._init_state(p, group)
    for g in grads:
        rule, scalars, arrays = PLANS[cls](p, g, state, group)
        _run_on_host(host_rules[np.dtype(dtype)], rule, p.data, g, arrays, scalars)
    tolerance = dict(rtol=4e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=0)
    np.testing.assert_allclose(p.data, expected, equal_nan=True, **tolerance)
    for key, value in expected_state.items():
        if hasattr(value, "shape"):
            np.testing.assert_allclose(state[key], value, equal_nan=True, **tolerance)


@pytest.mark.parametrize("shape", SHAPES, ids=["vector", "matrix"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "special"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", MODERN_CONFIGS, ids=MODERN_IDS)
def test_staged_kernel_matches_the_reference_on_the_cpu(host_rules, cls, kwargs, dtype,
                                                        special, shape, monkeypatch):
    """The registered CuPy kernel itself, its launches run by the host-compiled rules.

    Also with finite values only: an inf in θ makes LAMB's norms, hence every
    coordinate, NaN (as in the reference), which would hide the rest.
    """
    from optim.kernels import kernel_for

    library = host_rules[np.dtype(dtype)]
    monkeypatch.setattr(cupy_elementwise, "launch", functools.partial(_run_on_host, library))
    param, grads = _values(dtype, special=special)
    param, grads = param.reshape(shape), [g.reshape(shape) for g in grads]
    frozen = [g.copy() for g in grads]
    expected, expected_state = _drive(cls, kwargs, param, grads, lambda opt: opt._update)
    got, state = _drive(cls, kwargs, param, grads, lambda opt: kernel_for(opt, "cupy"))
    for g, before in zip(grads, frozen):
        np.testing.assert_array_equal(g, before)  # the gradient is never written
    tolerance = dict(rtol=4e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=0)
    np.testing.assert_allclose(got, expected, equal_nan=True, **tolerance)
    assert state.keys() == expected_state.keys()
    for key, value in expected_state.items():
        if hasattr(value, "shape"):
            assert state[key].dtype == value.dtype, key
            np.testing.assert_allclose(state[key], value, equal_nan=True, **tolerance)
        else:
            assert state[key] == pytest.approx(value, rel=tolerance["rtol"], nan_ok=True), key


def test_kernel_rule_never_writes_the_gradient(host_rules):
    param, grads = _values(np.float32, special=False)
    grad = grads[0]
    before = grad.copy()
    p = minigrad.tensor(param, requires_grad=True)
    opt = optim.Adam([p], weight_decay=0.1)
    state = opt._init_state(p, opt.param_groups[0])
    rule, scalars, arrays = PLANS[optim.Adam](p, grad, state, opt.param_groups[0])
    _run_on_host(host_rules[np.dtype(np.float32)], rule, p.data, grad, arrays, scalars)
    np.testing.assert_array_equal(grad, before)


def test_kernel_rules_compile_for_the_gpu_with_nvrtc():
    cupy = pytest.importorskip("cupy")
    compiler = pytest.importorskip("cupy.cuda.compiler")
    try:
        compiler._NVRTCProgram('extern "C" __global__ void k() {}', "k.cu").compile(
            ("-arch=compute_70",))
    except Exception as error:  # CuPy without the NVRTC library
        pytest.skip(f"NVRTC is not usable here: {type(error).__name__}")
    del cupy
    for rule in ALL_RULES.values():
        for ctype in ("float", "double"):
            source = cupy_source.multi_tensor_source(rule, ctype, ctype, ctype)
            compiler._NVRTCProgram(source, "k.cu").compile(
                ("-arch=compute_70",) + cupy_source.OPTIONS)
    from optim.kernels.cupy_quantized import kernel_source

    for ctype in ("float", "double"):  # 8-bit Adam's RawKernel
        compiler._NVRTCProgram(kernel_source(ctype), "k.cu").compile(
            ("-arch=compute_70",) + cupy_source.OPTIONS)


# ---------------------------------------------------------------- GPU
def _on_gpu(cls, kwargs, param, grads, kernel_name: str):
    """Step a GPU copy of the parameter with the reference or with the CuPy kernel."""
    import cupy
    from optim.kernels import kernel_for

    p = minigrad.tensor(cupy.asarray(param), requires_grad=True)
    opt = cls([p], **kwargs)
    group = opt.param_groups[0]
    state = opt._init_state(p, group)
    update = kernel_for(opt, "cupy") if kernel_name == "cupy" else opt._update
    for g in grads:
        update(p, cupy.asarray(g), state, group)
    return p.data, state


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=IDS)
def test_cupy_kernel_matches_the_reference_on_the_gpu(cls, kwargs, dtype):
    param, grads = _values(dtype, size=1000 + 7)
    expected, expected_state = _on_gpu(cls, kwargs, param, grads, "numpy")
    got, state = _on_gpu(cls, kwargs, param, grads, "cupy")
    tolerance = dict(rtol=4e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=0)
    np.testing.assert_allclose(got.get(), expected.get(), equal_nan=True, **tolerance)
    for key, value in expected_state.items():
        if hasattr(value, "shape"):
            assert type(state[key]) is type(value)  # still on the GPU
            np.testing.assert_allclose(state[key].get(), value.get(), equal_nan=True,
                                       **tolerance)
        else:
            assert state[key] == pytest.approx(value, rel=1e-15)


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", MODERN_CONFIGS, ids=MODERN_IDS)
def test_staged_cupy_kernel_matches_the_reference_on_the_gpu(cls, kwargs, dtype):
    import cupy
    from optim.kernels import kernel_for

    param, grads = _values(dtype, size=31 * 33)
    param, grads = param.reshape(31, 33), [g.reshape(31, 33) for g in grads]
    expected, expected_state = _drive(cls, kwargs, param, grads, lambda opt: opt._update,
                                      xp=cupy)
    got, state = _drive(cls, kwargs, param, grads, lambda opt: kernel_for(opt, "cupy"),
                        xp=cupy)
    tolerance = dict(rtol=4e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=0)
    np.testing.assert_allclose(got.get(), expected.get(), equal_nan=True, **tolerance)
    for key, value in expected_state.items():
        if hasattr(value, "shape"):
            assert type(state[key]) is type(value)  # still on the GPU
            np.testing.assert_allclose(state[key].get(), value.get(), equal_nan=True,
                                       **tolerance)
        else:
            assert state[key] == pytest.approx(value, rel=1e-5, nan_ok=True), key


@gpu
@pytest.mark.parametrize("cls, kwargs", MODERN_CONFIGS[::2], ids=MODERN_IDS[::2])
def test_staged_cupy_kernel_computes_float16_in_float32(cls, kwargs):
    import cupy
    from optim.kernels import kernel_for

    param, grads = _values(np.float16, size=257, special=False)
    expected, _ = _drive(cls, kwargs, param.astype(np.float32),
                         [g.astype(np.float32) for g in grads], lambda opt: opt._update,
                         xp=cupy)
    got, _ = _drive(cls, kwargs, param, grads, lambda opt: kernel_for(opt, "cupy"), xp=cupy)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.get().astype(np.float32), expected.get(), rtol=4e-3,
                               atol=4e-3)


@gpu
def test_modern_optimizers_step_through_their_own_step_on_the_gpu():
    """``step()`` picks the CuPy kernel (SophiaG's ``bs``, schedule-free keywords)."""
    import cupy

    rng = np.random.default_rng(0)
    start = rng.standard_normal((4, 5)).astype(np.float32)
    for cls, kwargs in MODERN_CONFIGS:
        if cls is optim.SophiaH:
            continue  # needs a closure; its kernel is checked above
        runs = []
        for backend in ("numpy", "cupy"):
            p = minigrad.tensor(cupy.asarray(start), requires_grad=True)
            opt = cls([p], backend=backend, **kwargs)
            if isinstance(opt, _ScheduleFree):
                opt.train()
            for _ in range(3):
                p.grad = 2 * p.data
                opt.step(**({"bs": 16} if cls is optim.SophiaG else {}))
                if cls is optim.SophiaG:
                    opt.update_hessian()
            runs.append(p.data.get())
        np.testing.assert_allclose(runs[1], runs[0], rtol=4e-6, atol=1e-7,
                                   err_msg=cls.__name__)


@gpu
@pytest.mark.parametrize("cls, kwargs", CONFIGS[::3], ids=IDS[::3])
def test_cupy_kernel_computes_float16_in_float32(cls, kwargs):
    param, grads = _values(np.float16, size=257, special=False)
    expected, _ = _on_gpu(cls, kwargs, param.astype(np.float32),
                          [g.astype(np.float32) for g in grads], "numpy")
    got, state = _on_gpu(cls, kwargs, param, grads, "cupy")
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.get().astype(np.float32), expected.get(), rtol=4e-3, atol=4e-3)


@gpu
@pytest.mark.parametrize("size", [0, 1, 7, 10**6 + 3])
def test_cupy_adam_sizes_and_a_non_contiguous_parameter(size):
    import cupy
    from optim.kernels import kernel_for

    rng = np.random.default_rng(size)
    base = cupy.asarray(rng.standard_normal((size, 2)).astype(np.float32))
    grad = cupy.asarray(rng.standard_normal(size).astype(np.float32))
    column = minigrad.Tensor(base[:, 0])  # a strided view: the kernel must write through it
    opt = optim.Adam([column], lr=0.1)
    state = opt._init_state(column, opt.param_groups[0])
    reference_param = minigrad.tensor(base[:, 0].copy())
    reference_state = opt._init_state(reference_param, opt.param_groups[0])
    kernel_for(opt, "cupy")(column, grad, state, opt.param_groups[0])
    opt._update(reference_param, grad, reference_state, opt.param_groups[0])
    np.testing.assert_allclose(base[:, 0].get(), reference_param.data.get(), rtol=4e-6)


@gpu
def test_one_launch_per_group_matches_one_launch_per_parameter():
    import cupy
    from optim.kernels.cupy_multi_tensor import group_step

    rng = np.random.default_rng(0)
    shapes = [(3,), (16385,), (5, 7), (0,), (1,)]
    for cls, kwargs in CONFIGS:
        params = [minigrad.tensor(cupy.asarray(rng.standard_normal(s).astype(np.float32)),
                                  requires_grad=True) for s in shapes]
        grads = [cupy.asarray(rng.standard_normal(s).astype(np.float32)) for s in shapes]
        copies = [minigrad.tensor(p.data.copy(), requires_grad=True) for p in params]
        opt, reference = cls(params, **kwargs), cls(copies, **kwargs)
        states = [opt._init_state(p, opt.param_groups[0]) for p in params]
        for _ in range(2):
            group_step(params, grads, states, opt.param_groups[0], PLANS[cls])
            for p, g in zip(copies, grads):
                p.grad = g
            reference.step()
        for p, q in zip(params, copies):
            np.testing.assert_allclose(p.data.get(), q.data.get(), rtol=4e-6, atol=1e-7,
                                       err_msg=cls.__name__)


@gpu
def test_digits_mlp_trains_on_the_gpu_end_to_end():
    pytest.importorskip("sklearn")
    from minigrad import nn
    from minigrad.data import load_digits
    import minigrad.nn.functional as F

    minigrad.manual_seed(0)
    X, y = load_digits(split=False)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True, device="cuda")
    losses = []
    for _ in range(5):
        for xb, yb in loader:
            assert xb.device == "cuda"
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert all(p.device == "cuda" for p in model.parameters())
    assert all(type(a) is type(p.data) for p in model.parameters()
               for a in opt.state[p].values() if hasattr(a, "shape"))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


@gpu
def test_optimizer_state_dict_is_on_the_host_and_loads_back_to_the_gpu():
    import cupy

    p = minigrad.tensor(cupy.arange(4, dtype=cupy.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = cupy.ones(4, dtype=cupy.float32)
    opt.step()
    saved = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for v in saved["state"][0].values()
               if hasattr(v, "shape"))
    fresh = optim.Adam([p], lr=0.1)
    fresh.load_state_dict(saved)
    assert all(isinstance(v, cupy.ndarray) for v in fresh.state[p].values()
               if hasattr(v, "shape"))
    np.testing.assert_array_equal(fresh.state[p]["exp_avg"].get(), saved["state"][0]["exp_avg"])


# ---------------------------------------------------------------- 8-bit Adam (RawKernel)
from optim.kernels import cupy_quantized  # noqa: E402
from optim.quantization import (SIGNED_DYNAMIC_MAP, UNSIGNED_DYNAMIC_MAP,  # noqa: E402
                                dequantize_blockwise, quantize_blockwise)

EIGHT_BIT_CONFIGS = [
    (optim.Adam8bit, dict(lr=0.01, min_8bit_size=0)),
    (optim.AdamW8bit, dict(lr=0.01, min_8bit_size=0, block_size=4)),  # many blocks
    (optim.AdamW8bit, dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.5, min_8bit_size=0,
                           block_size=100)),                          # a partial block
    (optim.Adam8bit, dict(lr=0.01, weight_decay=0.1)),  # small: float moments, AdamW's rule
]
EIGHT_BIT_IDS = [f"{cls.__name__}-{'-'.join(map(str, kwargs.values()))}"
                 for cls, kwargs in EIGHT_BIT_CONFIGS]

# The CUDA keywords as plain C++, so the whole kernel source compiles for the host too.
_KERNEL_HOST_STUBS = """
#define __global__
#define __shared__
#define __constant__
struct HostIndex { unsigned x; };
static HostIndex threadIdx, blockIdx, blockDim;
float shared[1 << 16];
inline void __syncthreads() {}
using std::min;
"""

# Array-wide wrappers of the per-element functions, and the kernel run with one thread.
_QUANTIZED_WRAPPERS = """
extern "C" void dequantize_all(long long n, const unsigned char* codes, float absmax,
                               int is_signed, float* out) {
    for (long long i = 0; i < n; ++i)
        out[i] = dequantize(is_signed ? SIGNED_MAP : UNSIGNED_MAP, codes[i], absmax);
}
extern "C" void adam_all(long long n, P* param, const P* grad, float* m, float* v,
                         const double* s) {
    for (long long i = 0; i < n; ++i)
        adam_element(param[i], grad[i], m[i], v[i], (P)s[0], (int)s[1], (float)s[2],
                     (P)s[3], (float)s[4], (P)s[5], (float)s[6], (float)s[7], (float)s[8]);
}
extern "C" void quantise_all(long long n, const float* x, float absmax, int is_signed,
                             unsigned char* codes) {
    for (long long i = 0; i < n; ++i)
        codes[i] = (unsigned char)(is_signed
            ? nearest_code(normalise(x[i], absmax), SIGNED_MIDPOINTS, SIGNED_ZERO)
            : nearest_code(normalise(x[i], absmax), UNSIGNED_MIDPOINTS, UNSIGNED_ZERO));
}
extern "C" float stored(float absmax) { return stored_absmax(absmax); }
extern "C" void run_kernel_one_thread(int blocks, P* param, const P* grad,
        unsigned char* m_q, unsigned char* v_q, float* m_absmax, float* v_absmax,
        long long n, int block_size, const double* s) {
    blockDim.x = 1;
    threadIdx.x = 0;
    for (int b = 0; b < blocks; ++b) {
        blockIdx.x = b;
        adam8bit_blockwise(param, grad, m_q, v_q, m_absmax, v_absmax, n, block_size,
                           (P)s[0], (int)s[1], (float)s[2], (P)s[3], (float)s[4], (P)s[5],
                           (float)s[6], (float)s[7], (float)s[8]);
    }
}
"""


@pytest.fixture(scope="module")
def host_quantized(tmp_path_factory):
    """8-bit Adam's CUDA source compiled for the CPU, one shared library per dtype."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("needs a C++ compiler to run the kernel functions on the CPU")
    libraries = {}
    for dtype, ctype in ((np.float32, "float"), (np.float64, "double")):
        source = (_HOST_PRELUDE + _KERNEL_HOST_STUBS + cupy_quantized.kernel_source(ctype)
                  + _QUANTIZED_WRAPPERS)
        folder = tmp_path_factory.mktemp("q" + ctype)
        (folder / "quantized.cpp").write_text(source)
        subprocess.run([compiler, "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o",
                        str(folder / "quantized.so"), str(folder / "quantized.cpp")],
                       check=True)
        library = ctypes.CDLL(str(folder / "quantized.so"))
        library.stored.restype = ctypes.c_float
        libraries[np.dtype(dtype)] = library
    return libraries


def _ptr(array):
    return array.ctypes.data_as(ctypes.c_void_p)


def _c_float(x):
    return ctypes.c_float(float(x))


def _host_quantise(library, x, absmax, signed: bool):
    codes = np.empty(x.size, dtype=np.uint8)
    library.quantise_all(ctypes.c_longlong(x.size), _ptr(x), _c_float(absmax), int(signed),
                         _ptr(codes))
    return codes


class _HostBlockLoop:
    """Stands in for ``raw_kernel(ctype)``: the kernel's block loop, emulated in Python
    (one quantisation block at a time), calling the host-compiled C functions for
    every per-element step; the block's absmax is NumPy's max (NaN propagates)."""

    def __init__(self, library):
        self.library, self.launches = library, 0

    def __call__(self, grid, block, args, shared_mem=0):
        param, grad, m_q, v_q, m_absmax, v_absmax, n, block_size, *scalars = args
        assert block[0] == cupy_quantized.threads_for(int(block_size))
        assert shared_mem == cupy_quantized.shared_bytes(int(block_size))
        self.launches += 1
        lib, size = self.library, int(block_size)
        param, grad = param.reshape(-1), grad.reshape(-1)
        m_q, v_q = m_q.reshape(-1), v_q.reshape(-1)
        table = np.array([float(s) for s in scalars], dtype=np.float64)
        for b in range(grid[0]):
            part = slice(b * size, min((b + 1) * size, int(n)))
            count = ctypes.c_longlong(part.stop - part.start)
            m = np.empty(part.stop - part.start, dtype=np.float32)
            v = np.empty_like(m)
            lib.dequantize_all(count, _ptr(m_q[part]), _c_float(m_absmax[b]), 1, _ptr(m))
            lib.dequantize_all(count, _ptr(v_q[part]), _c_float(v_absmax[b]), 0, _ptr(v))
            p, g = param[part].copy(), grad[part].copy()
            lib.adam_all(count, _ptr(p), _ptr(g), _ptr(m), _ptr(v), _ptr(table))
            param[part] = p
            m_scale, v_scale = np.max(np.abs(m)), np.max(np.abs(v))
            m_q[part] = _host_quantise(lib, m, m_scale, signed=True)
            v_q[part] = _host_quantise(lib, v, v_scale, signed=False)
            m_absmax[b] = lib.stored(_c_float(m_scale))
            v_absmax[b] = lib.stored(_c_float(v_scale))


class _HostKernelOneThread(_HostBlockLoop):
    """Stands in for ``raw_kernel(ctype)``: the whole kernel compiled for the host, run
    block after block with one thread each (its loops, indices and shared memory; the
    reduction then has one candidate)."""

    def __call__(self, grid, block, args, shared_mem=0):
        param, grad, m_q, v_q, m_absmax, v_absmax, n, block_size, *scalars = args
        assert shared_mem == cupy_quantized.shared_bytes(int(block_size))
        self.launches += 1
        table = np.array([float(s) for s in scalars], dtype=np.float64)
        self.library.run_kernel_one_thread(
            int(grid[0]), _ptr(param), _ptr(grad), _ptr(m_q), _ptr(v_q), _ptr(m_absmax),
            _ptr(v_absmax), ctypes.c_longlong(int(n)), int(block_size), _ptr(table))


def _values_8bit(dtype, size: int, steps: int = 5, special: bool = True) -> tuple:
    """A parameter and ``steps`` gradients; with ``special``, 0, inf and NaN in places."""
    rng = np.random.default_rng(3)
    param = rng.standard_normal(size).astype(dtype)
    grads = [(rng.standard_normal(size) * 10.0 ** rng.integers(-6, 2, size)).astype(dtype)
             for _ in range(steps)]
    if special:
        grads[0][:5] = 0.0
        grads[1][1] = np.inf
        grads[2][size - 2] = np.nan
        param[3] = np.inf
    return param, grads


def test_8bit_kernel_source_is_one_ascii_kernel_with_exact_maps():
    for ctype in ("float", "double"):
        source = cupy_quantized.kernel_source(ctype)
        assert source.isascii() and source.count("__global__") == 1
        assert f"typedef {ctype} P;" in source
    for value in np.concatenate([SIGNED_DYNAMIC_MAP, UNSIGNED_DYNAMIC_MAP]):
        written = "%.8e" % float(np.float32(value))
        assert np.float32(float(written)) == np.float32(value)  # the literal reads back
    assert cupy_quantized.threads_for(1) == 1
    assert cupy_quantized.shared_bytes(256) == 4 * (2 * 256 + 2 * 256)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_8bit_nearest_code_is_the_references_ties_and_zero_included(host_quantized, signed):
    code_map = SIGNED_DYNAMIC_MAP if signed else UNSIGNED_DYNAMIC_MAP
    code_map = np.asarray(code_map, dtype=np.float32)
    midpoints = (code_map[1:] + code_map[:-1]) / np.float32(2)
    tiny = np.float32(1e-9)
    x = np.concatenate([code_map, midpoints,                 # exact entries, exact ties
                        np.nextafter(midpoints, np.float32(2)),
                        np.nextafter(midpoints, np.float32(-2)),
                        [0.0, -0.0, tiny, -tiny, 1.0, -1.0],
                        np.random.default_rng(0).uniform(-1, 1, 2000)]).astype(np.float32)
    if not signed:
        x = np.abs(x)
    x = np.append(x, np.float32(1.0))  # absmax 1: x / absmax is x itself
    expected, absmax = quantize_blockwise(x, code_map, block_size=x.size, keep_nonzero=True)
    library = host_quantized[np.dtype(np.float32)]
    got = _host_quantise(library, x, absmax[0], signed)
    np.testing.assert_array_equal(got, expected)
    # a block of zeros, and blocks with a NaN or an inf: the reference's codes and absmax
    for special in (0.0, np.nan, np.inf):
        block = np.array([0.5, special, 0.0, 0.25], dtype=np.float32)
        if special == 0.0:
            block[:] = 0.0
        expected, absmax = quantize_blockwise(block, code_map, block_size=4,
                                              keep_nonzero=True)
        scale = np.max(np.abs(block))
        np.testing.assert_array_equal(_host_quantise(library, block, scale, signed), expected)
        np.testing.assert_array_equal(library.stored(_c_float(scale)), absmax[0])


def test_8bit_dequantize_is_the_references_for_every_code(host_quantized):
    library = host_quantized[np.dtype(np.float32)]
    codes = np.arange(256, dtype=np.uint8)
    for absmax in (0.0, 1.0, 3.7e-5, 2.5e30, np.nan):
        for signed, code_map in ((True, SIGNED_DYNAMIC_MAP), (False, UNSIGNED_DYNAMIC_MAP)):
            expected = dequantize_blockwise(codes, np.array([absmax], np.float32), code_map,
                                            block_size=256)
            got = np.empty(256, dtype=np.float32)
            library.dequantize_all(ctypes.c_longlong(256), _ptr(codes), _c_float(absmax),
                                   int(signed), _ptr(got))
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_8bit_adam_element_is_adams_step_with_float32_moments(host_quantized, dtype):
    param, grads = _values_8bit(dtype, 64, steps=1, special=False)
    grad = grads[0]
    grad[5], grad[6], grad[7], param[8] = 0.0, np.inf, np.nan, -np.inf
    rng = np.random.default_rng(1)
    m = rng.standard_normal(64).astype(np.float32)
    v = np.abs(rng.standard_normal(64)).astype(np.float32)
    v[9], m[10] = 0.0, np.nan
    lr, beta1, beta2, eps, weight_decay, step = 0.01, 0.9, 0.999, 1e-8, 0.1, 3
    expected_p, expected_m, expected_v = param.copy(), m.copy(), v.copy()
    with np.errstate(all="ignore"):
        optim.adam_update(expected_p, grad, expected_m, expected_v, step=step, lr=lr,
                          beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                          decoupled_weight_decay=True)
    scalars = np.array([1 - lr * weight_decay, 1, beta1, 1 - beta1, beta2, 1 - beta2, eps,
                        np.sqrt(1 - beta2 ** step), lr / (1 - beta1 ** step)])
    host_quantized[np.dtype(dtype)].adam_all(ctypes.c_longlong(64), _ptr(param), _ptr(grad),
                                             _ptr(m), _ptr(v), _ptr(scalars))
    np.testing.assert_array_equal(m, expected_m)
    np.testing.assert_array_equal(v, expected_v)
    np.testing.assert_array_equal(param, expected_p)


@pytest.mark.parametrize("host", [_HostBlockLoop, _HostKernelOneThread],
                         ids=["block-loop", "kernel"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "special"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", EIGHT_BIT_CONFIGS, ids=EIGHT_BIT_IDS)
def test_8bit_kernel_keeps_the_references_codes_and_absmax_on_the_cpu(
        host_quantized, host_rules, cls, kwargs, dtype, special, host, monkeypatch):
    """The registered CuPy kernel over five steps, its launch run on the host: by an
    emulation of the block loop that calls the compiled per-element functions, or by
    the compiled kernel itself, one thread per block (the small tensors' AdamW rule by
    the host-compiled rule)."""
    from optim.kernels import kernel_for

    loop = host(host_quantized[np.dtype(dtype)])
    monkeypatch.setattr(cupy_quantized, "raw_kernel", lambda ctype: loop)
    monkeypatch.setattr(cupy_elementwise, "launch",
                        functools.partial(_run_on_host, host_rules[np.dtype(dtype)]))
    param, grads = _values_8bit(dtype, 601, special=special)
    param, grads = param.reshape(601, 1), [g.reshape(601, 1) for g in grads]
    expected, expected_state = _drive(cls, kwargs, param, grads, lambda opt: opt._update)
    got, state = _drive(cls, kwargs, param, grads, lambda opt: kernel_for(opt, "cupy"))
    assert loop.launches == (len(grads) if kwargs.get("min_8bit_size") == 0 else 0)
    assert state.keys() == expected_state.keys()
    for key, value in expected_state.items():
        if hasattr(value, "shape"):
            assert state[key].dtype == value.dtype, key
            np.testing.assert_array_equal(state[key], value, err_msg=key)  # codes: exact
        else:
            assert state[key] == value, key
    np.testing.assert_array_equal(got, expected)


def _assert_8bit_states_equal(got, state, expected, expected_state):
    """Codes and absmax identical (on the GPU still), θ within a few ulp."""
    assert state.keys() == expected_state.keys()
    for key, value in expected_state.items():
        if hasattr(value, "shape"):
            assert type(state[key]) is type(value), key  # still on the GPU
            np.testing.assert_array_equal(state[key].get(), value.get(), err_msg=key)
        else:
            assert state[key] == value, key
    tolerance = dict(rtol=1e-13) if got.dtype == np.float64 else dict(rtol=4e-6, atol=1e-7)
    np.testing.assert_allclose(got.get(), expected.get(), equal_nan=True, **tolerance)


@gpu
@pytest.mark.parametrize("special", [False, True], ids=["finite", "special"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", EIGHT_BIT_CONFIGS, ids=EIGHT_BIT_IDS)
def test_8bit_cupy_kernel_keeps_the_references_codes_on_the_gpu(cls, kwargs, dtype, special):
    import cupy
    from optim.kernels import kernel_for

    param, grads = _values_8bit(dtype, 1000 + 7, special=special)
    expected, expected_state = _drive(cls, kwargs, param, grads, lambda opt: opt._update,
                                      xp=cupy)
    got, state = _drive(cls, kwargs, param, grads, lambda opt: kernel_for(opt, "cupy"),
                        xp=cupy)
    # the small tensors' float path is AdamW's elementwise rule: a few ulp, not bit for bit
    small = kwargs.get("min_8bit_size") != 0
    if small:
        tolerance = dict(rtol=4e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13)
        np.testing.assert_allclose(got.get(), expected.get(), equal_nan=True, **tolerance)
        return
    _assert_8bit_states_equal(got, state, expected, expected_state)


@gpu
def test_8bit_cupy_kernel_steps_through_step_float16_and_views_by_the_reference():
    """``step()`` with backend="cupy" picks the kernel; float16 parameters and a
    non-contiguous one take the reference's path (on the GPU); codes bit for bit."""
    import cupy

    rng = np.random.default_rng(0)
    for dtype, view in ((np.float32, False), (np.float64, False), (np.float16, False),
                        (np.float32, True)):
        start = rng.standard_normal((300, 20)).astype(dtype)
        runs = []
        for backend in ("numpy", "cupy"):
            data = cupy.asarray(start)
            p = minigrad.Tensor(data[:, ::2] if view else data, requires_grad=True)
            opt = optim.AdamW8bit([p], lr=0.01, min_8bit_size=0, backend=backend)
            for _ in range(4):
                p.grad = 2 * p.data + 0.1
                opt.step()
            runs.append((p.data, opt.state[p]))
        (expected, expected_state), (got, state) = runs
        _assert_8bit_states_equal(got, state, expected, expected_state)

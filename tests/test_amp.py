"""Mixed precision: autocast's op lists and casts, GradScaler's schedule and contract
(against PyTorch's rules, stored by hand and live), float16 underflow and its cure."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.amp import FLOAT32_OPS, LOWER_PRECISION_OPS, GradScaler, autocast
from minigrad.amp import get_autocast_dtype, is_autocast_enabled
from minigrad.amp.autocast import autocast_lower
from minigrad.amp.grad_scaler import update_scale
from minigrad.nn import functional as F
from optim.sgd import SGD

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)


def leaf(rng, shape, dtype=np.float32, requires_grad=True):
    return minigrad.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


# ================================================================= autocast: the op lists
def test_lower_precision_ops_compute_in_float16(rng):
    a, b = leaf(rng, (4, 3)), leaf(rng, (3, 5))
    w, bias = leaf(rng, (5, 3)), leaf(rng, (5,))
    image, kernel = leaf(rng, (2, 3, 6, 6)), leaf(rng, (4, 3, 3, 3))
    ops = {"matmul": lambda: minigrad.matmul(a, b),
           "linear": lambda: F.linear(a, w, bias),
           "conv2d": lambda: F.conv2d(image, kernel, leaf(rng, (4,)), padding=1)}
    assert set(ops) == set(LOWER_PRECISION_OPS)
    for name, op in ops.items():
        assert op().dtype == F32, name
        with autocast():
            assert op().dtype == F16, name
            assert (a @ b).dtype == F16  # the operator goes through matmul
    with autocast():
        y = F.linear(a, w, bias)
    expected = a.data.astype(F16) @ w.data.astype(F16).T + bias.data.astype(F16)
    np.testing.assert_array_equal(y.data, expected)


def float32_ops(rng):
    """One call per op of FLOAT32_OPS, on float16 inputs."""
    h = minigrad.tensor(rng.standard_normal((4, 3)).astype(np.float16))
    p = minigrad.tensor(rng.uniform(0.1, 0.9, (4, 3)).astype(np.float16))
    labels = np.array([0, 2, 1, 0])
    return {
        "sum": lambda: h.sum(), "mean": lambda: h.mean(axis=0),
        "logsumexp": lambda: h.logsumexp(axis=1),
        "softmax": lambda: F.softmax(h, dim=1), "log_softmax": lambda: F.log_softmax(h, dim=1),
        "layer_norm": lambda: F.layer_norm(h, (3,)),
        "batch_norm": lambda: F.batch_norm(h, None, None, training=True),
        "mse_loss": lambda: F.mse_loss(h, p), "l1_loss": lambda: F.l1_loss(h, p),
        "nll_loss": lambda: F.nll_loss(h, labels),
        "cross_entropy": lambda: F.cross_entropy(h, labels),
        "binary_cross_entropy": lambda: F.binary_cross_entropy(p, p),
        "binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(h, p),
    }


def test_float32_ops_cast_float16_inputs_up(rng):
    ops = float32_ops(rng)
    assert set(ops) == set(FLOAT32_OPS)
    for name, op in ops.items():
        assert op().dtype == F16, name  # outside autocast: the input's dtype
        with autocast():
            assert op().dtype == F32, name


def test_other_ops_keep_their_input_dtype_and_mixed_inputs_promote(rng):
    h, x = leaf(rng, (3, 4), np.float16), leaf(rng, (3, 4))
    with autocast():
        for op in (minigrad.relu, minigrad.exp, minigrad.tanh, lambda t: t.max(axis=1)):
            assert op(h).dtype == F16 and op(x).dtype == F32
        assert (h + x).dtype == F32 and (h * 2.0).dtype == F16


def test_float64_and_integer_tensors_are_never_cast(rng):
    d = leaf(rng, (3, 3), np.float64)
    n = minigrad.tensor(np.arange(9).reshape(3, 3))
    with autocast():
        assert (d @ d).dtype == F64 and F.linear(d, d).dtype == F64
        assert d.sum().dtype == F64 and F.softmax(d).dtype == F64
        assert (n @ n).dtype == np.int64 and n.sum().dtype == np.int64


def test_float32_dtype_gives_a_full_precision_control_run(rng):
    a, b = leaf(rng, (4, 3)), leaf(rng, (3, 2))
    with autocast(dtype=minigrad.float32):
        np.testing.assert_array_equal((a @ b).data, a.data @ b.data)
        assert F.softmax(a.astype(np.float16)).dtype == F32


def test_gradients_flow_back_to_float32_master_weights(rng):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = leaf(rng, (16, 6), requires_grad=False), rng.integers(0, 3, 16)

    F.cross_entropy(model(x), y).backward()
    reference = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    with autocast():
        loss = F.cross_entropy(model(x), y)
    assert loss.dtype == F32
    loss.backward()
    for p, g in zip(model.parameters(), reference):
        assert p.dtype == F32 and p.grad.dtype == F32
        np.testing.assert_allclose(p.grad, g, rtol=0, atol=5e-3 * np.abs(g).max())


def test_conv_gradients_reach_float32_weights(rng):
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = leaf(rng, (2, 2, 5, 5), requires_grad=False)
    (conv(x) ** 2).mean().backward()
    reference = conv.weight.grad.copy()
    conv.zero_grad()
    with autocast():
        out = conv(x)
        loss = (out ** 2).mean()
    assert out.dtype == F16
    loss.backward()
    assert conv.weight.grad.dtype == F32 and conv.bias.grad.dtype == F32
    np.testing.assert_allclose(conv.weight.grad, reference, atol=5e-3 * np.abs(reference).max())


# ================================================================= autocast: regions
def test_regions_nest_and_restore_the_outer_settings(rng):
    a = leaf(rng, (2, 2))
    assert not is_autocast_enabled()
    with autocast():
        assert is_autocast_enabled() and (a @ a).dtype == F16
        with autocast(enabled=False):
            assert not is_autocast_enabled() and (a @ a).dtype == F32
            with autocast(dtype=np.float32):
                assert get_autocast_dtype() == F32
            assert get_autocast_dtype() == F16
        with autocast(dtype=None):  # PyTorch's "the default": float16
            assert get_autocast_dtype() == F16
        assert (a @ a).dtype == F16
    assert not is_autocast_enabled() and (a @ a).dtype == F32


def test_settings_come_back_after_an_exception():
    with pytest.raises(KeyError):
        with autocast():
            raise KeyError("boom")
    assert not is_autocast_enabled()


def test_decorator_autocasts_each_call(rng):
    a = leaf(rng, (2, 2))

    @autocast()
    def forward(t):
        """Doc kept."""
        return t @ t

    assert forward(a).dtype == F16 and forward.__doc__ == "Doc kept."
    assert (a @ a).dtype == F32
    with pytest.raises(TypeError, match="needs a callable"):
        autocast()(3)


def test_same_instance_can_be_reentered(rng):
    a, region = leaf(rng, (2, 2)), autocast()
    with region:
        with autocast(enabled=False):
            with region:
                assert (a @ a).dtype == F16
            assert (a @ a).dtype == F32
    assert not is_autocast_enabled()


def test_state_is_thread_local(rng):
    a, seen = leaf(rng, (2, 2)), []
    with autocast():
        worker = threading.Thread(target=lambda: seen.append((a @ a).dtype))
        worker.start()
        worker.join()
    assert seen == [F32]


def test_enabled_false_and_other_device_types_are_pass_throughs(rng):
    a = leaf(rng, (2, 2))
    with autocast(enabled=False):
        assert (a @ a).dtype == F32
    with autocast(device_type="cuda"):  # the tensors live on the CPU
        assert (a @ a).dtype == F32 and is_autocast_enabled("cuda")
        assert not is_autocast_enabled("cpu")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"device_type": "tpu"}, ValueError, "device_type"),
    ({"dtype": np.int32}, TypeError, "dtype"),
    ({"dtype": "bfloat16"}, TypeError, "bfloat16"),
    ({"dtype": "float128-ish"}, TypeError, "dtype"),
])
def test_bad_autocast_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        autocast(**kwargs)


# ================================================================= autocast: weight cache
def test_a_weight_is_cast_once_per_region_and_the_cache_is_dropped_after(rng):
    w, x = leaf(rng, (3, 3)), leaf(rng, (3, 3), requires_grad=False)
    with autocast():
        first = autocast_lower(w)
        assert autocast_lower(w) is first
        assert autocast_lower(x) is not autocast_lower(x)  # only leaves that require grad
        with minigrad.no_grad():
            assert autocast_lower(w) is not first
        with minigrad.no_grad():
            w.data = w.data * 2  # an in-place change: cast anew
        assert autocast_lower(w) is not first
    with autocast():
        assert autocast_lower(w) is not first
    with autocast(cache_enabled=False):
        assert autocast_lower(w) is not autocast_lower(w)


def test_cached_weight_used_twice_gets_both_gradients(rng):
    w = leaf(rng, (3, 3))
    x = leaf(rng, (2, 3), requires_grad=False)
    ((x @ w) @ w).sum().backward()
    reference = w.grad.copy()
    w.grad = None
    with autocast():
        loss = ((x @ w) @ w).sum()
    loss.backward()
    np.testing.assert_allclose(w.grad, reference, atol=5e-3 * np.abs(reference).max())


def test_autocast_dtypes_agree_with_pytorch_where_its_cpu_lists_agree(rng):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    h = rng.standard_normal((4, 3)).astype(np.float16)
    labels = np.array([0, 1, 2, 0])
    ours = minigrad.tensor(x), minigrad.tensor(w), minigrad.tensor(h)
    theirs = torch.tensor(x), torch.tensor(w), torch.tensor(h)
    calls = {
        "matmul": (lambda x, w, h: x @ w.T, lambda x, w, h: x @ w.T),
        "linear": (lambda x, w, h: F.linear(x, w), lambda x, w, h: tF.linear(x, w)),
        "mse_loss": (lambda x, w, h: F.mse_loss(h, h), lambda x, w, h: tF.mse_loss(h, h)),
        "cross_entropy": (lambda x, w, h: F.cross_entropy(h, labels),
                          lambda x, w, h: tF.cross_entropy(h, torch.tensor(labels))),
    }
    for name, (mine, reference) in calls.items():
        with autocast():
            got = mine(*ours)
        with torch.autocast("cpu", dtype=torch.float16):
            expected = reference(*theirs)
        assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), name
        np.testing.assert_allclose(got.data.astype(np.float64),
                                   expected.detach().double().numpy(), rtol=2e-3, atol=2e-3)


# ================================================================= GradScaler: schedule
def make_problem(dtype=np.float32):
    w = minigrad.Parameter(np.array([1.0, -2.0, 0.5], dtype=dtype))
    return w, SGD([w], lr=0.1)


def run_schedule(scaler, pattern):
    """Set a finite or infinite gradient per step; record (scale, tracker, stepped)."""
    w, opt = make_problem()
    scaler.scale(minigrad.tensor(1.0))
    history = []
    for overflow in pattern:
        w.grad = np.array([1.0, np.inf if overflow else 2.0, 3.0], dtype=np.float32)
        before = w.data.copy()
        scaler.step(opt)
        scaler.update()
        history.append((scaler.get_scale(), scaler._get_growth_tracker(),
                        not np.array_equal(before, w.data)))
    return history


# Written by hand from torch.amp.GradScaler's rules, init_scale=8, growth_interval=3:
# an overflow halves the scale and restarts the count; 3 clean steps in a row double it.
PATTERN = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0]
EXPECTED = [(8.0, 1), (8.0, 2), (16.0, 0), (8.0, 0), (8.0, 1), (8.0, 2), (4.0, 0), (2.0, 0),
            (2.0, 1), (2.0, 2), (4.0, 0), (4.0, 1)]


def test_scale_schedule_follows_pytorch_rules():
    history = run_schedule(GradScaler(init_scale=8.0, growth_interval=3), PATTERN)
    assert [(s, t) for s, t, _ in history] == EXPECTED
    assert [stepped for _, _, stepped in history] == [not o for o in PATTERN]


def test_scale_schedule_and_unscaled_grads_match_pytorch_live():
    torch = pytest.importorskip("torch")
    settings = dict(init_scale=3.3, growth_factor=1.7, backoff_factor=0.3, growth_interval=2)
    pattern = [0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    ours, theirs = GradScaler(**settings), torch.amp.GradScaler("cpu", **settings)
    assert ours.state_dict() == theirs.state_dict()  # before the first scale()
    w, opt = make_problem()
    p = torch.nn.Parameter(torch.zeros(3))
    topt = torch.optim.SGD([p], lr=0.1)
    ours.scale(minigrad.tensor(1.0))
    theirs.scale(torch.tensor(1.0))
    for overflow in pattern:
        grad = np.array([0.7, np.inf if overflow else 2.3, -1.1], dtype=np.float32)
        w.grad, p.grad = grad.copy(), torch.tensor(grad)
        ours.unscale_(opt)
        theirs.unscale_(topt)
        np.testing.assert_array_equal(w.grad, p.grad.numpy())
        ours.step(opt)
        theirs.step(topt)
        ours.update()
        theirs.update()
        assert ours.state_dict() == theirs.state_dict()


def test_scale_never_grows_past_float32_range():
    big = np.float32(3e38)
    scale, tracker = update_scale(big, 0, False, growth_factor=2.0, backoff_factor=0.5,
                                  growth_interval=1)
    assert scale == big and tracker == 0


def test_an_overflow_in_any_optimizer_backs_off_once_and_skips_only_that_one():
    (w1, opt1), (w2, opt2) = make_problem(), make_problem()
    scaler = GradScaler(init_scale=4.0)
    scaler.scale(minigrad.tensor(1.0))
    w1.grad = np.ones(3, dtype=np.float32)
    w2.grad = np.array([1.0, np.nan, 1.0], dtype=np.float32)
    before1, before2 = w1.data.copy(), w2.data.copy()
    scaler.step(opt1)
    assert scaler.step(opt2) is None
    scaler.update()
    assert not np.array_equal(w1.data, before1)
    np.testing.assert_array_equal(w2.data, before2)
    assert scaler.get_scale() == 2.0


# ================================================================= GradScaler: contract
class Recorder:
    """The smallest optimizer: param_groups and a step that returns a value."""

    def __init__(self, params):
        self.param_groups = [{"params": params}]
        self.calls = []

    def step(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return "stepped"


def test_step_returns_the_optimizer_value_and_forwards_arguments():
    w, _ = make_problem()
    opt, scaler = Recorder([w]), GradScaler()
    scaler.scale(minigrad.tensor(1.0))
    w.grad = np.full(3, 2.0 ** 16, dtype=np.float32)
    assert scaler.step(opt, 1, key=2) == "stepped"
    assert opt.calls == [((1,), {"key": 2})]
    np.testing.assert_array_equal(w.grad, np.ones(3))


def test_calls_out_of_order_raise_like_pytorch():
    w, opt = make_problem()
    scaler = GradScaler()
    with pytest.raises(RuntimeError, match="did not use scaler.scale"):
        scaler.unscale_(opt)
    scaler.scale(minigrad.tensor(1.0))
    with pytest.raises(RuntimeError, match="No inf checks were recorded prior to update"):
        scaler.update()
    w.grad = np.ones(3, dtype=np.float32)
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this "
                                           r"optimizer since the last update\(\)"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called"):
        scaler.step(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0.0)
    w.grad = None
    with pytest.raises(RuntimeError, match="No inf checks were recorded for this optimizer"):
        scaler.step(opt)


def test_float16_gradients_are_refused_and_left_unchanged():
    w = minigrad.Parameter(np.ones(3, dtype=np.float16))
    v, _ = make_problem()
    v.grad = np.full(3, 4.0, dtype=np.float32)
    w.grad = np.full(3, 4.0, dtype=np.float16)
    scaler = GradScaler(init_scale=4.0)
    scaler.scale(minigrad.tensor(1.0))
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        scaler.unscale_(SGD([v, w], lr=0.1))
    np.testing.assert_array_equal(v.grad, 4.0)


def test_scale_multiplies_tensors_in_nested_lists_and_tuples():
    scaler = GradScaler(init_scale=4.0)
    a, b = minigrad.tensor([1.0, 2.0]), minigrad.tensor(np.ones(2, dtype=np.float16))
    scaled = scaler.scale([a, (b, a)])
    assert isinstance(scaled, list) and isinstance(scaled[1], tuple)
    assert scaled[0].tolist() == [4.0, 8.0] and scaled[1][0].dtype == F16
    assert [t.tolist() for t in scaler.scale(iter([a]))] == [[4.0, 8.0]]
    half_loss = minigrad.tensor(np.float16(1.0))
    assert scaler.scale(half_loss).dtype == F32  # two 0-d tensors promote, as in PyTorch
    with pytest.raises(ValueError, match="Tensor or an iterable of Tensors"):
        scaler.scale([a, 3.0])


def test_disabled_scaler_is_a_pass_through():
    w, _ = make_problem()
    opt, scaler = Recorder([w]), GradScaler(enabled=False)
    loss = minigrad.tensor(3.0)
    assert scaler.scale(loss) is loss and not scaler.is_enabled()
    w.grad = np.full(3, np.inf, dtype=np.float32)
    scaler.unscale_(opt)
    assert scaler.step(opt) == "stepped"
    scaler.update()
    assert scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    scaler.load_state_dict({})


def test_state_dict_has_pytorch_keys_and_resumes_exactly():
    settings = dict(init_scale=1024.0, growth_interval=2)
    pattern = [0, 1, 0, 0, 0, 1, 0, 0, 0]
    scaler = GradScaler(**settings)
    assert scaler.state_dict() == {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                                   "growth_interval": 2, "_growth_tracker": 0}
    run_schedule(scaler, pattern[:5])
    saved = scaler.state_dict()
    assert saved == {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                     "growth_interval": 2, "_growth_tracker": 1}
    continued = run_schedule(scaler, pattern[5:])
    resumed = GradScaler(init_scale=1.0, growth_interval=7)
    resumed.load_state_dict(saved)
    assert run_schedule(resumed, pattern[5:]) == continued
    with pytest.raises(RuntimeError, match="empty"):
        resumed.load_state_dict({})
    before = resumed.state_dict()
    with pytest.raises(ValueError, match="backoff_factor"):
        resumed.load_state_dict({**saved, "backoff_factor": 2.0})
    assert resumed.state_dict() == before


def test_update_with_new_scale_sets_it():
    scaler = GradScaler()
    scaler.scale(minigrad.tensor(1.0))
    scaler.update(new_scale=0.1)
    assert scaler.get_scale() == float(np.float32(0.1))
    scaler.update(new_scale=minigrad.tensor(8.0))
    assert scaler.get_scale() == 8.0
    with pytest.raises(ValueError, match="new_scale"):
        scaler.update(new_scale=0.0)


@pytest.mark.parametrize("name, value, error", [
    ("init_scale", 0.0, ValueError), ("init_scale", -1.0, ValueError),
    ("init_scale", float("inf"), ValueError), ("init_scale", float("nan"), ValueError),
    ("init_scale", "big", TypeError),
    ("growth_factor", 1.0, ValueError), ("growth_factor", 0.5, ValueError),
    ("backoff_factor", 0.0, ValueError), ("backoff_factor", 1.0, ValueError),
    ("backoff_factor", 1.5, ValueError),
    ("growth_interval", 0, ValueError), ("growth_interval", 1.5, TypeError),
    ("growth_interval", True, TypeError),
])
def test_bad_scaler_arguments_are_named(name, value, error):
    with pytest.raises(error, match=name):
        GradScaler(**{name: value})
    if name != "init_scale":
        scaler = GradScaler()
        with pytest.raises(error, match=name):
            getattr(scaler, f"set_{name}")(value)
        assert scaler.state_dict() == GradScaler().state_dict()


def test_unknown_device_is_refused_and_cuda_without_a_gpu_disables():
    with pytest.raises(ValueError, match="device"):
        GradScaler(device="tpu")
    if not minigrad.cupy_available():
        with pytest.warns(UserWarning, match="Disabling"):
            assert not GradScaler(device="cuda").is_enabled()


# ================================================================= underflow and its cure
def tiny_loss_problem(rng):
    """A linear layer whose loss is so small that its float16 gradients underflow."""
    layer = nn.Linear(8, 4)
    x = leaf(rng, (16, 8), requires_grad=False)
    target = leaf(rng, (16, 4), requires_grad=False)
    return layer, x, target, 1e-8


def test_float16_gradients_underflow_without_scaling_and_recover_with_it(rng):
    layer, x, target, tiny = tiny_loss_problem(rng)
    # float64 reference of d(tiny·mse)/dW
    w64, b64 = layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64)
    residual = x.data.astype(np.float64) @ w64.T + b64 - target.data
    reference = tiny * 2.0 * residual.T @ x.data.astype(np.float64) / residual.size
    assert np.abs(reference).max() > 1e-9

    with autocast():
        loss = F.mse_loss(layer(x), target) * tiny
    loss.backward()
    assert layer.weight.grad.dtype == F32
    assert np.all(layer.weight.grad == 0) and np.all(layer.bias.grad == 0)  # flushed to zero

    layer.zero_grad()
    opt, scaler = SGD(layer.parameters(), lr=0.1), GradScaler(init_scale=2.0 ** 20)
    with autocast():
        loss = F.mse_loss(layer(x), target) * tiny
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    assert layer.weight.grad.dtype == F32
    np.testing.assert_allclose(layer.weight.grad, reference, rtol=0,
                               atol=1e-2 * np.abs(reference).max())


def test_mixed_precision_step_equals_the_float32_step_within_float16_rounding(rng):
    minigrad.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    x, y = leaf(rng, (32, 8), requires_grad=False), rng.integers(0, 3, 32)
    start = [p.data.copy() for p in model.parameters()]

    opt = SGD(model.parameters(), lr=0.5)
    F.cross_entropy(model(x), y).backward()
    opt.step()
    full = [p.data - s for p, s in zip(model.parameters(), start)]

    for p, s in zip(model.parameters(), start):
        p.data = s.copy()
    model.zero_grad()
    opt, scaler = SGD(model.parameters(), lr=0.5), GradScaler()
    with autocast():
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 2.0 ** 16  # no overflow, no growth yet
    for p, s, delta in zip(model.parameters(), start, full):
        assert p.dtype == F32 and p.grad.dtype == F32
        np.testing.assert_allclose(p.data - s, delta, rtol=0, atol=5e-3 * np.abs(delta).max())

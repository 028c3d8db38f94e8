"""8-bit Adam: the dynamic maps and the block-wise quantiser (against bitsandbytes' stored
output and brute force), a scalar transcription of one step, the gap to 32-bit Adam,
memory, the 32-bit fallback, decay, validation, non-finite values and resume."""
from __future__ import annotations

import copy
import pathlib
import pickle
import re

import numpy as np
import pytest

import minigrad
import optim
from minigrad import nn
from minigrad.nn import functional as F
from optim.adam import Adam, adam_update
from optim.adam8bit import Adam8bit, AdamW8bit, adam8bit_update
from optim.adamw import AdamW
from optim.quantization import (SIGNED_DYNAMIC_MAP, UNSIGNED_DYNAMIC_MAP, create_dynamic_map,
                                dequantize_blockwise, num_blocks, quantize_blockwise)

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
STORED = np.load(REFERENCE / "adam8bit_quantization.npz")
MAPS = {"signed": SIGNED_DYNAMIC_MAP, "unsigned": UNSIGNED_DYNAMIC_MAP}
ZERO = {"signed": 127, "unsigned": 0}


def tensor(values, dtype=np.float32):
    return minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------- the maps
@pytest.mark.parametrize("kind", ["signed", "unsigned"])
def test_maps_are_256_increasing_float32_values_with_exact_zero_and_one(kind):
    table = MAPS[kind]
    assert table.shape == (256,) and table.dtype == np.float32
    assert np.all(np.diff(table) > 0)  # strictly monotone: every code is a distinct value
    assert table[ZERO[kind]] == 0.0 and table[-1] == 1.0
    assert table.min() >= (-1.0 if kind == "signed" else 0.0)
    np.testing.assert_array_equal(create_dynamic_map(kind == "signed"), table)
    with pytest.raises(ValueError):
        table[0] = 0.5  # the shared maps are read-only


def test_signed_map_is_symmetric_except_for_plus_one():
    negatives, positives = SIGNED_DYNAMIC_MAP[:127], SIGNED_DYNAMIC_MAP[128:]
    np.testing.assert_array_equal(-negatives[::-1], positives[:-1])
    assert positives[-1] == 1.0 and -1.0 not in SIGNED_DYNAMIC_MAP
    assert SIGNED_DYNAMIC_MAP[0] == pytest.approx(-(1 - 0.9 / 128), abs=1e-7)  # −0.99297


@pytest.mark.parametrize("kind, per_decade", [("signed", [64, 32, 16, 8, 4, 2, 1]),
                                              ("unsigned", [128, 64, 32, 16, 8, 4, 2])])
def test_maps_spread_their_values_over_seven_decades_like_a_float(kind, per_decade):
    positive = MAPS[kind][MAPS[kind] > 0][:-1].astype(np.float64)  # without the exact 1
    counts = [int(np.sum((positive >= 0.1 * 10.0 ** -e) & (positive < 10.0 ** -e)))
              for e in range(7)]
    assert counts == per_decade


@pytest.mark.parametrize("kind", ["signed", "unsigned"])
def test_maps_are_the_authors_maps(kind):
    np.testing.assert_allclose(MAPS[kind], STORED[f"{kind}_map"], rtol=0, atol=6e-8)


@pytest.mark.parametrize("kind", ["signed", "unsigned"])
def test_codes_are_those_of_bitsandbytes_except_at_near_ties(kind):
    x = STORED["x"] if kind == "signed" else np.abs(STORED["x"])
    codes, absmax = quantize_blockwise(x, MAPS[kind], int(STORED["block_size"]))
    np.testing.assert_array_equal(absmax, STORED[f"{kind}_absmax"])
    theirs = STORED[f"{kind}_codes"]
    differ = np.nonzero(codes != theirs)[0]
    assert len(differ) <= 3
    ratio = x[differ] / np.repeat(absmax, 256)[differ]
    ours_off = np.abs(ratio - MAPS[kind][codes[differ]])
    theirs_off = np.abs(ratio - MAPS[kind][theirs[differ]])
    assert np.all(ours_off <= theirs_off) and np.all(theirs_off - ours_off < 1e-5)


# ----------------------------------------------------------------- the quantiser
def brute_force_codes(x, table, block_size):
    codes = np.empty(x.size, dtype=np.int64)
    flat = x.ravel().astype(np.float64)
    for start in range(0, flat.size, block_size):
        block = flat[start:start + block_size]
        scale = np.abs(block).max() or 1.0
        distance = np.abs(block[:, None] / scale - table.astype(np.float64)[None, :])
        codes[start:start + block_size] = distance.argmin(axis=1)
    return codes


@pytest.mark.parametrize("kind", ["signed", "unsigned"])
def test_each_element_takes_the_nearest_code_of_its_block(kind, rng):
    x = (rng.standard_normal(1000) * 10.0 ** rng.uniform(-6, 2, 1000)).astype(np.float32)
    x = x if kind == "signed" else np.abs(x)
    codes, absmax = quantize_blockwise(x, MAPS[kind], block_size=128)
    assert codes.dtype == np.uint8 and absmax.dtype == np.float32
    assert absmax.shape == (num_blocks(1000, 128),) == (8,)
    expected = brute_force_codes(x, MAPS[kind], 128)
    assert np.mean(codes == expected) > 0.999  # a float32 near-tie may go either way


@pytest.mark.parametrize("block_size", [1, 7, 64, 256, 4096])
def test_round_trip_error_is_at_most_half_a_code_gap_of_the_block_absmax(block_size, rng):
    x = (rng.standard_normal((37, 29)) * 10.0 ** rng.uniform(-3, 3, (37, 29))).astype(np.float32)
    codes, absmax = quantize_blockwise(x, SIGNED_DYNAMIC_MAP, block_size)
    restored = dequantize_blockwise(codes, absmax, SIGNED_DYNAMIC_MAP, block_size)
    assert restored.shape == x.shape and restored.dtype == np.float32
    scale = np.repeat(absmax, block_size)[:x.size].reshape(x.shape)
    # the widest gap (top decade, and −1 to the lowest code) is 0.9/64; half of it:
    assert np.all(np.abs(restored - x) <= scale * (0.9 / 128) * (1 + 1e-5))
    # and each block's largest positive element comes back exactly (1 is a code)
    blocks = np.pad(x.ravel(), (0, -x.size % block_size)).reshape(-1, block_size)
    back = np.pad(restored.ravel(), (0, -x.size % block_size)).reshape(-1, block_size)
    top = blocks.argmax(axis=1)
    positive = blocks.max(axis=1) == np.abs(blocks).max(axis=1)
    np.testing.assert_array_equal(back[np.arange(len(top)), top][positive],
                                  blocks[np.arange(len(top)), top][positive])


def test_relative_error_is_small_for_values_near_their_block_absmax(rng):
    x = rng.uniform(0.1, 1.0, 4096).astype(np.float32) * rng.choice([-1, 1], 4096)
    codes, absmax = quantize_blockwise(x, SIGNED_DYNAMIC_MAP)
    restored = dequantize_blockwise(codes, absmax, SIGNED_DYNAMIC_MAP)
    assert np.max(np.abs(restored - x) / np.abs(x)) < 0.071  # ≤ half a gap / 0.1


def test_zeros_stay_exact_zeros_in_any_block():
    x = np.zeros(600, dtype=np.float32)
    x[300:310] = np.linspace(-2, 3, 10)
    x[305] = 0.0
    for data, table in ((x, SIGNED_DYNAMIC_MAP), (np.abs(x), UNSIGNED_DYNAMIC_MAP)):
        codes, absmax = quantize_blockwise(data, table, 256)
        assert absmax[0] == 0.0 and absmax[2] == 0.0
        restored = dequantize_blockwise(codes, absmax, table, 256)
        np.testing.assert_array_equal(restored[data == 0], 0.0)
        assert not np.any(np.signbit(restored[data == 0]))


def test_a_block_of_equal_values_is_exact_when_positive_and_off_by_the_map_end_when_negative():
    positive = np.full(256, 0.37, dtype=np.float32)
    codes, absmax = quantize_blockwise(positive, SIGNED_DYNAMIC_MAP)
    np.testing.assert_array_equal(codes, 255)
    np.testing.assert_array_equal(dequantize_blockwise(codes, absmax, SIGNED_DYNAMIC_MAP),
                                  positive)
    codes, absmax = quantize_blockwise(-positive, SIGNED_DYNAMIC_MAP)
    np.testing.assert_array_equal(codes, 0)  # −1 is not a code: the lowest is −0.99297
    restored = dequantize_blockwise(codes, absmax, SIGNED_DYNAMIC_MAP)
    np.testing.assert_allclose(restored, -0.37 * (1 - 0.9 / 128), rtol=1e-6)


def test_a_nan_or_inf_makes_only_its_own_block_decode_to_nan():
    x = np.linspace(-1, 1, 768).astype(np.float32)
    x[10], x[600] = np.nan, np.inf
    codes, absmax = quantize_blockwise(x, SIGNED_DYNAMIC_MAP, 256)
    assert np.isnan(absmax[0]) and np.isfinite(absmax[1]) and np.isnan(absmax[2])
    assert np.all(codes[:256] == 127) and np.all(codes[512:] == 127)  # the code of 0
    restored = dequantize_blockwise(codes, absmax, SIGNED_DYNAMIC_MAP, 256)
    assert np.all(np.isnan(restored[:256])) and np.all(np.isnan(restored[512:]))
    assert np.all(np.abs(restored[256:512] - x[256:512]) <= 0.0071)


def test_keep_nonzero_stores_tiny_values_as_the_smallest_code_of_their_sign():
    x = np.array([1.0, 1e-9, -1e-9, 0.0, 1e-8], dtype=np.float32)
    plain, _ = quantize_blockwise(x, SIGNED_DYNAMIC_MAP)
    kept, _ = quantize_blockwise(x, SIGNED_DYNAMIC_MAP, keep_nonzero=True)
    assert plain.tolist() == [255, 127, 127, 127, 127]
    assert kept.tolist() == [255, 128, 126, 127, 128]
    squares, _ = quantize_blockwise(x * x, UNSIGNED_DYNAMIC_MAP, keep_nonzero=True)
    assert squares.tolist() == [255, 1, 1, 0, 1]


def test_quantiser_writes_into_given_arrays_and_reads_absmax_as_float32():
    x = np.linspace(-3, 2, 300).reshape(20, 15).astype(np.float32)
    out, absmax_out = np.zeros((20, 15), np.uint8), np.zeros(3, np.float64)
    codes, absmax = quantize_blockwise(x, SIGNED_DYNAMIC_MAP, 128, out=out,
                                       absmax_out=absmax_out)
    assert codes is out and absmax is absmax_out
    fresh_codes, fresh_absmax = quantize_blockwise(x, SIGNED_DYNAMIC_MAP, 128)
    np.testing.assert_array_equal(out, fresh_codes)
    a = dequantize_blockwise(out, absmax_out, SIGNED_DYNAMIC_MAP, 128)
    b = dequantize_blockwise(out, fresh_absmax, SIGNED_DYNAMIC_MAP, 128)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------- one step, by hand
def adam8bit_step_by_hand(theta, grad, codes_m, codes_v, absmax_m, absmax_v, *, step, lr,
                          beta1, beta2, eps, wd, block_size):
    """One step written from the paper's description: element by element, in floats."""
    n = len(theta)
    signed, unsigned = SIGNED_DYNAMIC_MAP.tolist(), UNSIGNED_DYNAMIC_MAP.tolist()
    m = [signed[codes_m[i]] * absmax_m[i // block_size] for i in range(n)]
    v = [unsigned[codes_v[i]] * absmax_v[i // block_size] for i in range(n)]
    theta = list(theta)
    for i in range(n):
        m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
        v[i] = beta2 * v[i] + (1 - beta2) * grad[i] ** 2
        m_hat, v_hat = m[i] / (1 - beta1 ** step), v[i] / (1 - beta2 ** step)
        theta[i] = theta[i] * (1 - lr * wd) - lr * m_hat / (v_hat ** 0.5 + eps)

    def store(values, table):
        codes, scales = [], []
        for start in range(0, n, block_size):
            block = values[start:start + block_size]
            scale = max(abs(value) for value in block)
            scales.append(scale)
            for value in block:
                r = value / scale if scale else 0.0
                k = min(range(256), key=lambda j: abs(r - table[j]))
                if table[k] == 0.0 and r != 0.0:  # nonzero is never stored as 0
                    k += 1 if r > 0 else -1
                codes.append(k)
        return codes, scales

    return (theta,) + store(m, signed) + store(v, unsigned)


def test_one_step_matches_a_transcription_of_the_paper(rng):
    n, block_size = 200, 64  # blocks of 64, 64, 64 and 8
    param = tensor(rng.standard_normal(n))
    opt = Adam8bit([param], lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1,
                   min_8bit_size=0, block_size=block_size)
    stored = [[127] * n, [0] * n, [0.0] * 4, [0.0] * 4]  # fresh state: codes of 0
    for t in range(1, 7):
        grad = (rng.standard_normal(n) * 10.0 ** rng.uniform(-5, 0, n)).astype(np.float32)
        grad[rng.random(n) < 0.2] = 0.0
        theta = param.data.tolist()
        param.grad = grad
        opt.step()
        theta, codes_m, absmax_m, codes_v, absmax_v = adam8bit_step_by_hand(
            theta, grad.tolist(), *stored, step=t, lr=0.01, beta1=0.8, beta2=0.95,
            eps=1e-6, wd=0.1, block_size=block_size)
        state = opt.state[param]
        assert state["step"] == t
        np.testing.assert_allclose(param.data, theta, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(state["exp_avg_absmax"], absmax_m, rtol=1e-5)
        np.testing.assert_allclose(state["exp_avg_sq_absmax"], absmax_v, rtol=1e-5)
        assert np.mean(state["exp_avg_q"] == codes_m) > 0.99      # float32 near-ties aside
        assert np.mean(state["exp_avg_sq_q"] == codes_v) > 0.99
        # the next step starts from the optimizer's own state, so no error accumulates
        stored = [state[key].tolist() for key in ("exp_avg_q", "exp_avg_sq_q",
                                                  "exp_avg_absmax", "exp_avg_sq_absmax")]


# ----------------------------------------------------------------- against 32-bit Adam
def test_first_step_is_adams_and_small_tensors_are_plain_adamw():
    big = tensor(np.linspace(-1, 1, 5000))
    small = tensor(np.linspace(-1, 1, 100))
    twins = [tensor(np.linspace(-1, 1, 5000)), tensor(np.linspace(-1, 1, 100))]
    opt = AdamW8bit([big, small], lr=0.01, weight_decay=0.1)
    reference = AdamW(twins, lr=0.01, weight_decay=0.1)
    rng = np.random.default_rng(5)
    for t in range(5):
        grads = [rng.standard_normal(5000).astype(np.float32),
                 rng.standard_normal(100).astype(np.float32)]
        big.grad, small.grad = grads
        twins[0].grad, twins[1].grad = [g.copy() for g in grads]
        opt.step()
        reference.step()
        if t == 0:
            np.testing.assert_array_equal(big.data, twins[0].data)
        np.testing.assert_array_equal(small.data, twins[1].data)
    assert "exp_avg_q" in opt.state[big] and "exp_avg" in opt.state[small]
    assert not np.array_equal(big.data, twins[0].data)  # the 8-bit rounding shows later


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    from minigrad.data import load_digits

    return load_digits()


def _train_digits(data, make, steps=200):
    x_train, y_train, x_test, y_test = data
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    start = [p.data.copy() for p in model.parameters()]
    opt = make(model.parameters())
    rng = np.random.default_rng(1)
    for _ in range(steps):
        index = rng.integers(0, len(x_train), 64)
        opt.zero_grad()
        F.cross_entropy(model(minigrad.tensor(x_train[index])),
                        minigrad.tensor(y_train[index])).backward()
        opt.step()
    with minigrad.no_grad():
        loss = float(F.cross_entropy(model(minigrad.tensor(x_train)),
                                     minigrad.tensor(y_train)).data)
        accuracy = float((model(minigrad.tensor(x_test)).data.argmax(axis=1) == y_test).mean())
    return start, [p.data for p in model.parameters()], loss, accuracy


def test_digits_mlp_trajectory_stays_close_to_32_bit_adam(digits):
    """The numbers quoted in Adam8bit's docstring: loss 0.2217 vs 0.2211, accuracy 0.916
    for both, every tensor within 8% of Adam's movement after 200 steps."""
    start, eight, loss8, acc8 = _train_digits(
        digits, lambda ps: Adam8bit(ps, lr=3e-3, min_8bit_size=0))
    _, full, loss32, acc32 = _train_digits(digits, lambda ps: Adam(ps, lr=3e-3))
    assert abs(loss8 - loss32) < 5e-3 and abs(acc8 - acc32) < 0.02 and acc8 >= 0.9
    for s, a, b in zip(start, eight, full):
        assert np.linalg.norm(a - b) <= 0.1 * np.linalg.norm(b - s)


def test_a_tiny_second_moment_is_not_rounded_to_zero_under_a_nonzero_first():
    """Exact nearest rounding would store v = 0 beside m ≠ 0 and step by m/ε next."""
    lr, block = 1e-3, 256
    grad1 = np.zeros(block, dtype=np.float32)
    grad1[0], grad1[1] = 1.0, 1e-4  # v₁ = 1e-11 is 1e-8 of the block's largest v
    param = np.zeros(block, dtype=np.float32)
    q_m, q_v = np.full(block, 127, np.uint8), np.zeros(block, np.uint8)
    a_m, a_v = np.zeros(1, np.float32), np.zeros(1, np.float32)
    settings = dict(lr=lr, beta1=0.9, beta2=0.999, eps=1e-8)
    adam8bit_update(param, grad1, q_m, q_v, a_m, a_v, step=1, **settings)
    assert q_v[1] == 1 and q_m[1] > 127  # both stored nonzero

    # what exact nearest rounding (the library's rule) would have stored instead
    m_exact = dequantize_blockwise(*quantize_blockwise(
        0.1 * grad1, SIGNED_DYNAMIC_MAP), SIGNED_DYNAMIC_MAP)
    v_exact = dequantize_blockwise(*quantize_blockwise(
        0.001 * grad1 ** 2, UNSIGNED_DYNAMIC_MAP), UNSIGNED_DYNAMIC_MAP)
    assert v_exact[1] == 0 and m_exact[1] != 0
    naive = param.copy()
    adam_update(naive, np.zeros(block, np.float32), m_exact, v_exact, step=2, **settings)

    before = param.copy()
    adam8bit_update(param, np.zeros(block, np.float32), q_m, q_v, a_m, a_v, step=2,
                    **settings)
    full_m, full_v = 0.1 * grad1.astype(np.float64), 0.001 * grad1.astype(np.float64) ** 2
    adam32 = before.astype(np.float64)
    adam_update(adam32, np.zeros(block), full_m, full_v, step=2, **settings)
    assert abs(naive[1] - before[1]) > 100 * lr  # m/ε: a jump
    assert abs(param[1] - before[1]) <= abs(adam32[1] - before[1]) <= lr  # never larger


# ----------------------------------------------------------------- memory
def test_state_takes_about_two_bytes_per_parameter():
    minigrad.manual_seed(0)
    model = nn.Linear(256, 256)  # a 65,536-element weight (8-bit) and a 256 bias (32-bit)
    count = sum(p.data.size for p in model.parameters())
    x = minigrad.tensor(np.ones((4, 256), dtype=np.float32))
    for cls, expected in ((Adam8bit, 2.0545), (Adam, 8.0)):
        opt = cls(model.parameters(), lr=1e-3)
        model(x).sum().backward()
        opt.step()
        assert optim.state_bytes(opt) / count == pytest.approx(expected, abs=1e-4)
        model.zero_grad()
    weight_only = Adam8bit([model.weight], lr=1e-3)
    model(x).sum().backward()
    weight_only.step()
    assert optim.state_bytes(weight_only) / model.weight.data.size == 2.03125
    state = weight_only.state[model.weight]
    assert state["exp_avg_q"].dtype == state["exp_avg_sq_q"].dtype == np.uint8
    assert state["exp_avg_q"].shape == model.weight.shape
    assert state["exp_avg_absmax"].shape == state["exp_avg_sq_absmax"].shape == (256,)
    assert state["exp_avg_absmax"].dtype == np.float32


# ----------------------------------------------------------------- decay, NaN, maximize
def test_weight_decay_is_decoupled_in_both_classes():
    assert AdamW8bit([tensor([1.0])]).defaults["weight_decay"] == 1e-2
    assert Adam8bit([tensor([1.0])]).defaults["weight_decay"] == 0
    a, b = tensor(np.ones(300)), tensor(np.ones(300))
    first = Adam8bit([a], lr=0.1, weight_decay=0.5, min_8bit_size=0)
    second = AdamW8bit([b], lr=0.1, weight_decay=0.5, min_8bit_size=0)
    for _ in range(5):
        a.grad = np.zeros(300, np.float32)
        b.grad = np.zeros(300, np.float32)
        first.step()
        second.step()
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_allclose(a.data, 0.95 ** 5, rtol=1e-6)  # zero gradient: decay only
    np.testing.assert_array_equal(first.state[a]["exp_avg_absmax"], 0.0)


def test_a_nan_gradient_spreads_to_its_block_only(rng):
    w = tensor(rng.standard_normal(512))
    opt = Adam8bit([w], lr=0.01, min_8bit_size=0)
    grad = rng.standard_normal(512).astype(np.float32)
    grad[3] = np.nan
    w.grad = grad
    opt.step()
    assert np.isnan(w.data[3]) and np.isfinite(np.delete(w.data, 3)).all()
    w.grad = rng.standard_normal(512).astype(np.float32)
    opt.step()
    assert np.isnan(w.data[:256]).all() and np.isfinite(w.data[256:]).all()


def test_maximize_climbs_like_minimizing_the_negation(rng):
    start = rng.standard_normal(300)
    a, b = tensor(start), tensor(start)
    up = Adam8bit([a], lr=0.01, min_8bit_size=0, maximize=True)
    down = Adam8bit([b], lr=0.01, min_8bit_size=0)
    for _ in range(4):
        a.grad = -(a.data - 0.5)
        b.grad = b.data - 0.5
        up.step()
        down.step()
    np.testing.assert_array_equal(a.data, b.data)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, message", [
    ({"amsgrad": True}, "Invalid amsgrad: True (8-bit Adam does not support AMSGrad"),
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ({"block_size": 0}, "Invalid block_size: 0 (expected an integer >= 1)"),
    ({"block_size": 2.5}, "Invalid block_size: 2.5"),
    ({"min_8bit_size": -1}, "Invalid min_8bit_size: -1 (expected an integer >= 0)"),
])
@pytest.mark.parametrize("cls", [Adam8bit, AdamW8bit])
def test_bad_hyper_parameters_are_refused_and_change_nothing(cls, kwargs, message):
    w = tensor(np.linspace(0, 1, 300))
    with pytest.raises(ValueError, match=re.escape(message)):
        cls([w], **kwargs)
    opt = cls([w], lr=0.1, min_8bit_size=0)
    w.grad = np.ones(300, np.float32)
    opt.step()
    before, values = copy.deepcopy(opt.state_dict()), w.data.copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        opt.add_param_group({"params": [tensor([0.0])], **kwargs})
    assert len(opt.param_groups) == 1
    after = opt.state_dict()
    for key, value in before["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)
    np.testing.assert_array_equal(w.data, values)


def test_changing_block_size_after_the_state_exists_is_refused_without_a_change():
    w = tensor(np.linspace(0, 1, 600))
    opt = Adam8bit([w], lr=0.1, min_8bit_size=0)
    w.grad = np.ones(600, np.float32)
    opt.step()
    opt.param_groups[0]["block_size"] = 128
    values, codes = w.data.copy(), opt.state[w]["exp_avg_q"].copy()
    with pytest.raises(ValueError, match="block_size cannot change"):
        opt.step()
    np.testing.assert_array_equal(w.data, values)
    np.testing.assert_array_equal(opt.state[w]["exp_avg_q"], codes)
    assert opt.state[w]["step"] == 1


# ----------------------------------------------------------------- resume
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["load_state_dict", "pickle"])
def test_resume_through_state_dict_is_bit_exact(dtype, how, rng):
    def run(opt, params, steps):
        for _ in range(steps):
            opt.zero_grad()
            sum(((p - 0.25) ** 2 * (1 + p * p)).sum() for p in params).backward()
            opt.step()

    shapes = [(30, 20), (70,), (5,)]  # two 8-bit tensors (one with a partial block), one not
    params = [tensor(rng.standard_normal(s), dtype) for s in shapes]
    opt = AdamW8bit([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], lr=0.05,
                    min_8bit_size=50, block_size=64)
    run(opt, params, 6)
    saved, values = opt.state_dict(), [p.data.copy() for p in params]
    saved = copy.deepcopy(saved) if how == "load_state_dict" else pickle.loads(pickle.dumps(saved))
    run(opt, params, 5)

    others = [tensor(v, dtype) for v in values]
    resumed = AdamW8bit([{"params": others[:2]}, {"params": others[2:]}], lr=0.5,
                        min_8bit_size=50, block_size=64)
    resumed.load_state_dict(saved)
    run(resumed, others, 5)
    for a, b in zip(params, others):
        np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(params, others):
        for key, value in opt.state[a].items():
            np.testing.assert_array_equal(resumed.state[b][key], value)
    assert resumed.state[others[0]]["exp_avg_q"].dtype == np.uint8

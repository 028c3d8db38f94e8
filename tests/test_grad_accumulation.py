"""Gradient accumulation: N micro-batches with loss/N give the big batch's gradient
(exactly, in float64), a short last group is divided by its own size, and with a
GradScaler the scale stays fixed while one step's gradients are summed."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.amp import GradScaler, autocast
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn import functional as F
from optim.sgd import SGD

ROWS, FEATURES, CLASSES = 28, 5, 3
MICRO_BATCH = 4  # 28 rows: 7 micro-batches, all of 4 rows
EXACT = dict(rtol=0, atol=1e-12)


def make_data(rng, dtype):
    X = rng.standard_normal((ROWS, FEATURES)).astype(dtype)
    y = rng.integers(0, CLASSES, ROWS)
    return X, y


def make_model(dtype):
    minigrad.manual_seed(7)
    return nn.Sequential(nn.Linear(FEATURES, 6, dtype=dtype), nn.Tanh(),
                         nn.Linear(6, CLASSES, dtype=dtype))


def grads(model):
    return [p.grad.copy() for p in model.parameters()]


def params(model):
    return [p.data.copy() for p in model.parameters()]


def assert_all_close(got, expected, **tolerance):
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, **tolerance)


def train_epoch(model, loader, optimizer, scaler, accumulation_steps, max_norm=None,
                use_amp=False):
    """One epoch with gradient accumulation, the loop this file teaches.

    Every micro-batch has the same number of rows, so the mean loss of a group of k
    micro-batches is the sum of their mean losses divided by k. The last group of an
    epoch may be short (7 micro-batches in groups of 3: 3, 3, 1): it is divided by its
    own size, so that its step equals a big-batch step on those rows.

    With a GradScaler every micro-batch loss is scaled, and ``unscale_`` (to clip),
    ``step`` and ``update`` happen once per group: the scale must not change while a
    group's gradients are being summed. ``GradScaler(enabled=False)`` turns the same
    loop into plain float32 training.
    """
    num_batches = len(loader)
    optimizer.zero_grad()
    for i, (xb, yb) in enumerate(loader):
        group_start = i - i % accumulation_steps
        group_size = min(accumulation_steps, num_batches - group_start)
        with autocast(enabled=use_amp):
            loss = F.cross_entropy(model(xb), yb) / group_size
        scaler.scale(loss).backward()
        if i + 1 == group_start + group_size:  # the group's last micro-batch
            if max_norm is not None:
                scaler.unscale_(optimizer)  # true gradients, once per step
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()


def train_epoch_big_batches(model, loader, optimizer, max_norm=None):
    for xb, yb in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        if max_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()


# ================================================================= float64: exact equality
def test_micro_batches_with_loss_over_n_give_the_big_batch_gradient(rng):
    X, y = make_data(rng, np.float64)
    model = make_model(np.float64)
    F.cross_entropy(model(minigrad.tensor(X)), y).backward()
    big = grads(model)

    model.zero_grad()
    loader = DataLoader(TensorDataset(X, y), batch_size=7)  # 4 micro-batches
    for xb, yb in loader:
        (F.cross_entropy(model(xb), yb) / len(loader)).backward()  # .grad adds up
    assert_all_close(grads(model), big, **EXACT)


def test_micro_batches_of_unequal_size_are_weighted_by_their_rows(rng):
    X, y = make_data(rng, np.float64)
    model = make_model(np.float64)
    F.cross_entropy(model(minigrad.tensor(X)), y).backward()
    big = grads(model)

    loader = DataLoader(TensorDataset(X, y), batch_size=12)  # 12, 12 and 4 rows
    model.zero_grad()
    for xb, yb in loader:
        (F.cross_entropy(model(xb), yb) * (len(yb) / ROWS)).backward()
    assert_all_close(grads(model), big, **EXACT)

    model.zero_grad()
    for xb, yb in loader:  # loss / N over-weights the 4 rows of the short micro-batch
        (F.cross_entropy(model(xb), yb) / len(loader)).backward()
    assert not np.allclose(grads(model)[0], big[0], rtol=1e-3)


def test_epochs_with_a_short_last_group_match_big_batch_training(rng):
    X, y = make_data(rng, np.float64)
    data = TensorDataset(X, y)
    micro = DataLoader(data, batch_size=MICRO_BATCH)  # 7 micro-batches: groups 3, 3, 1
    big = DataLoader(data, batch_size=3 * MICRO_BATCH)  # 12, 12 and 4 rows

    model, reference = make_model(np.float64), make_model(np.float64)
    opt = SGD(model.parameters(), lr=0.3, momentum=0.9)
    ref_opt = SGD(reference.parameters(), lr=0.3, momentum=0.9)
    for _ in range(2):
        train_epoch(model, micro, opt, GradScaler(enabled=False), accumulation_steps=3)
        train_epoch_big_batches(reference, big, ref_opt)
        assert_all_close(params(model), params(reference), **EXACT)
    assert opt.state[model[0].weight]["momentum_buffer"] is not None


def test_dividing_the_short_last_group_by_accumulation_steps_is_wrong(rng):
    X, y = make_data(rng, np.float64)
    data = TensorDataset(X, y)
    micro, big = DataLoader(data, batch_size=MICRO_BATCH), DataLoader(data, batch_size=12)
    model, reference = make_model(np.float64), make_model(np.float64)
    opt, ref_opt = SGD(model.parameters(), lr=0.3), SGD(reference.parameters(), lr=0.3)

    opt.zero_grad()
    for i, (xb, yb) in enumerate(micro):  # the usual loop, plus a step for the leftover
        (F.cross_entropy(model(xb), yb) / 3).backward()
        if (i + 1) % 3 == 0 or i + 1 == len(micro):
            opt.step()
            opt.zero_grad()
    train_epoch_big_batches(reference, big, ref_opt)
    # the first two steps agree, the last one is a third of what it should be
    gap = np.abs(params(model)[0] - params(reference)[0]).max()
    assert gap > 1e-3


# ================================================================= with a GradScaler
def test_scaled_accumulation_with_clipping_matches_float32_bit_for_bit(rng):
    X, y = make_data(rng, np.float32)
    micro = DataLoader(TensorDataset(X, y), batch_size=MICRO_BATCH)
    model, reference = make_model(np.float32), make_model(np.float32)
    opt, ref_opt = SGD(model.parameters(), lr=0.5), SGD(reference.parameters(), lr=0.5)
    scaler = GradScaler(init_scale=2.0 ** 10, growth_interval=2)

    for _ in range(2):  # 3 optimizer steps per epoch
        train_epoch(model, micro, opt, scaler, accumulation_steps=3, max_norm=0.05)
        train_epoch(reference, micro, ref_opt, GradScaler(enabled=False),
                    accumulation_steps=3, max_norm=0.05)
        # powers of two scale exactly: the unscaled gradients are the float32 ones
        for got, expected in zip(params(model), params(reference)):
            np.testing.assert_array_equal(got, expected)
    # 6 steps, growth every 2 clean ones: the scale counts steps, not the 14 micro-batches
    assert scaler.get_scale() == 2.0 ** 13


def test_an_update_per_micro_batch_is_refused(rng):
    X, y = make_data(rng, np.float32)
    model = make_model(np.float32)
    scaler = GradScaler()
    xb, yb = next(iter(DataLoader(TensorDataset(X, y), batch_size=MICRO_BATCH)))
    scaler.scale(F.cross_entropy(model(xb), yb) / 3).backward()
    with pytest.raises(RuntimeError, match="No inf checks were recorded prior to update"):
        scaler.update()  # before the group's step: nothing to update from


def test_unscaling_per_micro_batch_is_refused(rng):
    X, y = make_data(rng, np.float32)
    model = make_model(np.float32)
    opt, scaler = SGD(model.parameters(), lr=0.1), GradScaler()
    loader = DataLoader(TensorDataset(X, y), batch_size=MICRO_BATCH)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called"):
        for xb, yb in loader:  # the second unscale_ would mix scaled and unscaled sums
            scaler.scale(F.cross_entropy(model(xb), yb) / 3).backward()
            scaler.unscale_(opt)


def test_a_scale_change_inside_a_group_corrupts_the_sum(rng):
    """Why ``update`` waits for the end of the group: gradients summed under two scales
    cannot be unscaled by one."""
    X, y = make_data(rng, np.float32)
    (x1, y1), (x2, y2) = list(DataLoader(TensorDataset(X, y), batch_size=14))
    model = make_model(np.float32)
    opt, scaler = SGD(model.parameters(), lr=0.1), GradScaler(init_scale=1024.0)
    weight = model[0].weight

    F.cross_entropy(model(x1), y1).backward()
    g1 = weight.grad.copy()
    model.zero_grad()
    F.cross_entropy(model(x2), y2).backward()
    g2 = weight.grad.copy()
    model.zero_grad()

    scaler.scale(F.cross_entropy(model(x1), y1)).backward()
    scaler.update(new_scale=256.0)  # a scale change between micro-batches
    scaler.scale(F.cross_entropy(model(x2), y2)).backward()
    scaler.unscale_(opt)
    np.testing.assert_allclose(weight.grad, 4 * g1 + g2, rtol=1e-5, atol=1e-7)
    assert not np.allclose(weight.grad, g1 + g2, rtol=1e-3)


def test_an_overflowing_micro_batch_skips_the_whole_step_and_backs_off_once(rng):
    X, y = make_data(rng, np.float32)
    micro = DataLoader(TensorDataset(X, y), batch_size=MICRO_BATCH)
    model = make_model(np.float32)
    opt, scaler = SGD(model.parameters(), lr=0.5), GradScaler(init_scale=2.0 ** 10)
    start = params(model)
    for i, (xb, yb) in enumerate(list(micro)[:3]):
        scaler.scale(F.cross_entropy(model(xb), yb) / 3).backward()
        if i == 1:
            model[0].weight.grad[0, 0] = np.inf  # as a float16 overflow would leave it
    assert scaler.step(opt) is None
    scaler.update()
    for got, expected in zip(params(model), start):
        np.testing.assert_array_equal(got, expected)
    assert scaler.get_scale() == 2.0 ** 9


def test_mixed_precision_accumulation_tracks_the_float32_run(rng):
    X, y = make_data(rng, np.float32)
    micro = DataLoader(TensorDataset(X, y), batch_size=MICRO_BATCH)
    model = make_model(np.float32)
    reference = copy.deepcopy(model)
    start = params(model)
    opt, ref_opt = SGD(model.parameters(), lr=0.5), SGD(reference.parameters(), lr=0.5)
    scaler = GradScaler()
    for _ in range(2):
        train_epoch(model, micro, opt, scaler, accumulation_steps=3, max_norm=1.0,
                    use_amp=True)
        train_epoch(reference, micro, ref_opt, GradScaler(enabled=False),
                    accumulation_steps=3, max_norm=1.0)
    for got, expected, first in zip(params(model), params(reference), start):
        assert got.dtype == np.float32
        change = np.abs(expected - first).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-2 * change)

"""A leaf's ``.grad`` never shares memory with anything else.

Backward gives a leaf the gradient array it computed, without a copy, when nothing else
holds that memory. Each test below builds a graph where some other object *does* hold
the gradient (another leaf, a view, an op, a retained non-leaf, a seed, a result of
``minigrad.grad``) and checks that changing ``.grad`` in place leaves that object alone.
"""
from __future__ import annotations

import weakref

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.autograd import Function
from minigrad.tensor import Tensor


def leaf(*shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    return minigrad.tensor(values, requires_grad=True)


def constant(*shape, seed=1):
    return minigrad.tensor(np.random.default_rng(seed).standard_normal(shape))


def assert_separate(*arrays):
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


class Probe(Function):
    """Identity whose backward records each gradient it passes on, as a hook would."""

    def __init__(self, seen: list):
        self.seen = seen

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        self.seen.append(gy)
        return gy


class AddAsMatrix(Function):
    """y = (a + b) as a 2×3 matrix; its backward hands both inputs views of one array."""

    def forward(self, a, b):
        return (a + b).reshape(2, 3)

    def backward(self, gy):
        g = gy * 1.0
        return g.reshape(6), g.reshape(6)


class TimesSaved(Function):
    """y = Σ c·x with c saved on the node; its backward returns c itself (gy is 1)."""

    def forward(self, x):
        self.c = np.arange(1.0, x.size + 1).reshape(x.shape).copy()
        return (self.c * x).sum()

    def backward(self, gy):
        return Tensor._make(self.c)


class Triple(Function):
    """y = 3x; its backward records (weakly) the array it makes."""

    made: list = []

    def forward(self, x):
        return 3 * x

    def backward(self, gy):
        g = gy * 3.0
        Triple.made.append(weakref.ref(g.data))
        return g


# ------------------------------------------------------------------ the hand-over itself
def test_a_new_gradient_becomes_grad_without_a_copy():
    x = leaf(4)
    Triple.made.clear()
    Triple()(x).sum().backward()
    assert x.grad is Triple.made[0]()
    np.testing.assert_array_equal(x.grad, np.full(4, 3.0))


def test_linear_weight_gradients_are_row_major_writable_and_separate():
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((6, 5)))
    nn.functional.cross_entropy(model(x), minigrad.tensor([0, 1, 2, 0, 1, 2])).backward()
    grads = [p.grad for p in model.parameters()]
    for p, g in zip(model.parameters(), grads):
        assert g.shape == p.shape and g.dtype == p.dtype
        assert g.flags.c_contiguous and g.flags.writeable
    assert_separate(*grads, *(p.data for p in model.parameters()), x.data)


# ------------------------------------------------------------------ the same gradient twice
def test_two_leaves_given_the_same_gradient_get_separate_arrays():
    a, b, w = leaf(3), leaf(3, seed=2), constant(3)
    ((a + b) * w).sum().backward()  # Add passes the new array w·1 to both leaves
    assert_separate(a.grad, b.grad)
    a.grad += 1.0
    np.testing.assert_allclose(b.grad, w.data)


def test_reshaped_views_of_one_gradient_reaching_two_leaves_are_copied():
    a, b, w = leaf(6), leaf(6, seed=2), constant(2, 3)
    ((a.reshape(2, 3) + b.reshape(2, 3)) * w).sum().backward()
    assert_separate(a.grad, b.grad)
    a.grad.fill(0.0)
    np.testing.assert_allclose(b.grad, w.data.reshape(6))


def test_views_of_one_new_array_reaching_two_leaves_are_copied():
    a, b, w = leaf(6), leaf(6, seed=2), constant(2, 3)
    (AddAsMatrix()(a, b) * w).sum().backward()
    assert_separate(a.grad, b.grad)
    a.grad.fill(0.0)
    np.testing.assert_allclose(b.grad, w.data.reshape(6))


def test_transposed_views_of_one_gradient_reaching_two_leaves_are_copied():
    a, b, w = leaf(3, 2), leaf(3, 2, seed=2), constant(2, 3)
    ((a.T + b.T) * w).sum().backward()
    assert_separate(a.grad, b.grad)
    b.grad *= 0.0
    np.testing.assert_allclose(a.grad, w.data.T)


def test_broadcast_gradients_become_writable_separate_arrays():
    a, b = leaf(3), leaf(3, seed=2)
    (a + b).sum().backward()  # the gradient of a sum is a read-only broadcast of 1
    assert_separate(a.grad, b.grad)
    a.grad += 1.0
    np.testing.assert_array_equal(a.grad, np.full(3, 2.0))
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_expanded_leaf_used_twice_gets_the_sum_of_both_uses():
    x, w = leaf(1, 4), constant(3, 4)
    e = x.expand(3, 4)
    (e * w + e).sum().backward()
    np.testing.assert_allclose(x.grad, (w.data + 1.0).sum(axis=0, keepdims=True))
    x.grad.fill(0.0)
    np.testing.assert_array_equal(e.data, np.broadcast_to(x.data, (3, 4)))


def test_x_plus_x_gives_one_array_with_twice_the_gradient():
    x, w = leaf(3), constant(3)
    ((x + x) * w).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * w.data)
    assert_separate(x.grad, x.data, w.data)


def test_a_shared_parameter_gets_the_sum_of_both_uses_in_its_own_array():
    shared, other = nn.Linear(3, 3), nn.Linear(3, 3)
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    shared(other(shared(x))).sum().backward()
    with_sum = shared.weight.grad.copy()
    assert_separate(shared.weight.grad, other.weight.grad, shared.bias.grad)
    other.weight.grad.fill(0.0)
    np.testing.assert_array_equal(shared.weight.grad, with_sum)


# ------------------------------------------------------------------ someone else holds it
def test_a_gradient_that_is_an_ops_saved_array_is_copied():
    x = leaf(2, 2)
    y = TimesSaved()(x)
    y.backward(retain_graph=True)
    saved = y.grad_fn.c.copy()
    x.grad += 100.0
    np.testing.assert_array_equal(y.grad_fn.c, saved)
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * saved + 100.0)


def test_a_gradient_a_rule_kept_while_passing_it_on_is_copied():
    x, w = leaf(3), constant(3)
    seen: list = []
    (Probe(seen)(x) * w).sum().backward()  # Mul makes w·1; the probe keeps it
    assert_separate(x.grad, seen[0].data)
    x.grad.fill(0.0)
    np.testing.assert_allclose(seen[0].data, w.data)


def test_retain_grad_of_a_non_leaf_keeps_its_own_array():
    a, b, w = leaf(3), leaf(3, seed=2), constant(3)
    h = a * 2.0
    h.retain_grad()
    ((h + b) * w).sum().backward()  # the same gradient reaches h and b
    assert_separate(h.grad, b.grad, a.grad)
    b.grad.fill(0.0)
    np.testing.assert_allclose(h.grad, w.data)


def test_a_seed_passed_to_backward_is_not_used_as_grad():
    a, b = leaf(3), leaf(3, seed=2)
    seed = np.array([1.0, 2.0, 3.0])
    (a + b).backward(seed)
    (a * 1.0).backward(minigrad.tensor(seed))
    assert_separate(a.grad, b.grad, seed)
    a.grad.fill(0.0)
    b.grad.fill(0.0)
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])


def test_a_leaf_that_is_its_own_output_copies_its_seed():
    x = leaf(3)
    seed = minigrad.tensor([1.0, 2.0, 3.0], dtype=np.float64)
    x.backward(seed)
    x.grad.fill(0.0)
    np.testing.assert_array_equal(seed.data, [1.0, 2.0, 3.0])


def test_results_of_minigrad_grad_do_not_share_memory_with_grad():
    x, w = leaf(3), constant(3)
    loss = (x * w).sum()
    (g,) = minigrad.grad(loss, x, retain_graph=True)
    loss.backward()
    assert_separate(g.data, x.grad)
    x.grad += 1.0
    np.testing.assert_allclose(g.data, w.data)


def test_create_graph_gradients_stay_apart_from_grad():
    x = leaf(3)
    (g,) = minigrad.grad((x ** 3).sum(), x, create_graph=True)
    g.sum().backward()  # second derivative 6x into x.grad
    assert_separate(g.data, x.grad)
    first = g.data.copy()
    x.grad.fill(0.0)
    np.testing.assert_array_equal(g.data, first)


def test_backward_with_create_graph_fills_grad_with_separate_arrays():
    a, b, w = leaf(3), leaf(3, seed=2), constant(3)
    ((a + b) * w).sum().backward(create_graph=True)
    assert_separate(a.grad, b.grad)
    a.grad += 1.0
    np.testing.assert_allclose(b.grad, w.data)


# ------------------------------------------------------------------ later passes
def test_a_second_backward_adds_into_the_same_array():
    x, w = leaf(3), constant(3)
    (x * w).sum().backward()
    first = x.grad
    (x * w).sum().backward()
    assert x.grad is first
    np.testing.assert_allclose(x.grad, 2 * w.data)


def test_gradients_from_two_graphs_never_share_memory():
    a, b, w = leaf(3), leaf(3, seed=2), constant(3)
    loss = (a * w).sum() + (b * w).sum()
    loss.backward()
    assert_separate(a.grad, b.grad, w.data)
    b.grad.fill(0.0)
    np.testing.assert_allclose(a.grad, w.data)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_then_backward_gives_the_fresh_gradient(set_to_none):
    model = nn.Linear(3, 2)
    x = minigrad.tensor(np.ones((4, 3)))
    model(x).sum().backward()
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad(set_to_none=set_to_none)
    model(x).sum().backward()
    for p, g in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad, g)

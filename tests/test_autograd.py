"""The backward pass and minigrad.grad: paths that share a node, accumulation, what .grad
looks like, deep graphs, higher-order gradients, in-place detection, no_grad, and an
end-to-end minimisation of the Rosenbrock function.
"""
import math
import time

import numpy as np
import pytest

import minigrad
from minigrad import Function, Tensor


def leaf(values, dtype=np.float64):
    return minigrad.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def assert_owned_grad(t):
    """``t.grad`` is an owned, writable, C-contiguous array of t's shape and dtype."""
    g = t.grad
    assert isinstance(g, np.ndarray)
    assert g.shape == t.shape and g.dtype == t.dtype
    assert g.flags.owndata and g.base is None
    assert g.flags.writeable
    assert g.flags.c_contiguous
    assert not np.shares_memory(g, t.data)


# ====================================================================== shared nodes
def test_leaf_used_on_several_paths_gets_the_sum_of_all_paths():
    x = leaf([0.5, -1.0, 2.0])
    y = x * x + x * 3.0 + x.exp() - x
    y.sum().backward()
    a = x.data
    np.testing.assert_allclose(x.grad, 2 * a + 3 + np.exp(a) - 1)


def test_non_leaf_used_on_several_paths_gets_the_sum_of_all_paths():
    x = leaf([0.5, -1.0, 2.0])
    y = x * x
    z = y + y * y  # dz/dy = 1 + 2y, dy/dx = 2x
    z.sum().backward()
    a = x.data
    np.testing.assert_allclose(x.grad, (1 + 2 * a * a) * 2 * a)


def test_same_tensor_as_both_operands():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, -4.0])
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])
    x.grad = None
    (x - x).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0])
    x.grad = None
    (x / x).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0], atol=1e-15)


def test_diamond_graph_with_broadcasting_sums_both_branches():
    a = leaf([[1.0], [2.0]])            # (2, 1)
    b = a * minigrad.tensor([1.0, 2.0, 3.0])  # (2, 3)
    c = a.exp()                           # (2, 1)
    d = (b * c).sum()                     # uses a through b and through c
    d.backward()
    av = a.data
    expected = 6.0 * np.exp(av) + 6.0 * av * np.exp(av)  # d/da [6 a e^a]
    np.testing.assert_allclose(a.grad, expected)


def test_fan_out_of_many_uses_adds_every_contribution():
    x = leaf(2.0)
    total = x * 0.0
    for i in range(1, 101):
        total = total + x * float(i)
    total.backward()
    assert x.grad == pytest.approx(5050.0)


class CountingSquare(Function):
    """y = x² that counts how often backward runs."""

    calls = 0

    def forward(self, x):
        return x * x

    def backward(self, gy):
        type(self).calls += 1
        (x,) = self.inputs
        return gy * 2.0 * x


def test_each_node_runs_backward_once_however_many_paths_use_it():
    CountingSquare.calls = 0
    x = leaf([1.0, 2.0])
    y = CountingSquare()(x)
    z = y * 2.0 + y * y + y.exp().sum()
    z.sum().backward()
    assert CountingSquare.calls == 1
    a, yv = x.data, x.data ** 2
    np.testing.assert_allclose(x.grad, (2.0 + 2 * yv + 2 * np.exp(yv)) * 2 * a)


# ====================================================================== .grad arrays
def test_grad_is_owned_after_the_sum_backward_whose_gradient_is_a_broadcast():
    x = leaf([1.0, 2.0, 3.0], np.float32)
    x.sum().backward()
    assert_owned_grad(x)
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])
    x.grad[0] = 10.0  # writable, and nothing else changes
    assert x.grad[1] == 1.0


def test_grad_is_owned_after_broadcast_to_and_expand():
    x = leaf([[1.0], [2.0]], np.float32)
    x.broadcast_to((3, 2, 4)).sum().backward()
    assert_owned_grad(x)
    np.testing.assert_array_equal(x.grad, np.full((2, 1), 12.0))
    s = leaf(1.0, np.float32)
    s.expand(5).sum().backward()
    assert_owned_grad(s)
    assert s.grad == 5.0


def test_grad_is_c_contiguous_when_the_gradient_flows_through_a_transpose():
    x = leaf(np.arange(6.0).reshape(2, 3), np.float32)
    w = minigrad.tensor(np.arange(6.0).reshape(3, 2))
    (x.T * w).sum().backward()
    assert_owned_grad(x)
    np.testing.assert_array_equal(x.grad, w.data.T)


def test_grads_of_two_parameters_are_different_arrays_not_sharing_memory():
    a, b = leaf([1.0, 2.0], np.float32), leaf([3.0, 4.0], np.float32)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad, b.grad)
    assert_owned_grad(a)
    assert_owned_grad(b)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_grads_from_a_shared_gradient_do_not_alias_after_two_backward_calls():
    a, b = leaf(np.ones((2, 2))), leaf(np.ones((2, 2)))
    y = a - b
    y.backward(np.ones((2, 2)), retain_graph=True)
    y.backward(np.ones((2, 2)))
    assert not np.shares_memory(a.grad, b.grad)
    np.testing.assert_array_equal(a.grad, 2 * np.ones((2, 2)))
    np.testing.assert_array_equal(b.grad, -2 * np.ones((2, 2)))


def test_grad_does_not_alias_the_gradient_passed_to_backward():
    seed = np.ones((2, 3), dtype=np.float32)
    x = leaf(np.zeros((2, 3)), np.float32)
    x.backward(seed)
    assert_owned_grad(x)
    assert not np.shares_memory(x.grad, seed)
    z = leaf(np.zeros(6), np.float32)
    z.reshape(2, 3).backward(seed)  # reshape's backward gives a view of the seed
    assert_owned_grad(z)
    assert not np.shares_memory(z.grad, seed)
    seed[...] = 7.0
    assert x.grad[0, 0] == 1.0 and z.grad[0] == 1.0


def test_grad_of_a_zero_dim_parameter_is_a_zero_dim_array():
    x = leaf(3.0, np.float32)
    (x * x).backward()
    assert_owned_grad(x)
    assert x.grad == 6.0


def test_grad_keeps_the_parameter_dtype_when_the_graph_promotes():
    x = leaf([1.0, 2.0], np.float32)
    y = x * minigrad.tensor(np.array([3.0, 4.0]))  # float64 output
    assert y.dtype == np.float64
    y.sum().backward()
    assert_owned_grad(x)
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ====================================================================== accumulation
def test_backward_adds_to_existing_grad_so_two_calls_double_it():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    assert_owned_grad(x)


def test_backward_may_be_called_twice_on_a_graph_retained_by_the_first_call():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_grad_set_to_none_starts_accumulating_afresh():
    x = leaf([1.0, 2.0])
    y = (3.0 * x).sum()
    y.backward(retain_graph=True)
    x.grad = None
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_backward_with_a_gradient_computes_a_vector_jacobian_product():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(np.array([1.0, 0.5, -1.0]), retain_graph=True)
    np.testing.assert_allclose(x.grad, [2.0, 2.0, -6.0])
    x.grad = None
    y.backward(minigrad.tensor([1.0, 1.0, 1.0], dtype=np.float64))
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_backward_on_a_one_element_tensor_needs_no_gradient():
    x = leaf([[2.0]])
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad, [[3.0]])


def test_backward_on_a_leaf_gives_ones():
    x = leaf(2.0)
    x.backward()
    assert x.grad == 1.0


def test_backward_on_a_non_scalar_without_a_gradient_is_an_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)"):
        (x * 2.0).backward()


def test_backward_with_a_gradient_of_the_wrong_shape_is_an_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2,\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_on_a_tensor_that_does_not_require_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigrad.tensor([1.0]).sum().backward()


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    y = x * 2.0
    y.sum().backward()
    assert y.grad is None  # not retained: only leaves keep .grad


def test_leaves_that_do_not_require_grad_get_no_grad():
    x, c = leaf([1.0]), minigrad.tensor([2.0])
    (x * c).sum().backward()
    assert c.grad is None


# ====================================================================== deep graphs
def test_backward_through_a_100000_node_chain_is_iterative():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    start = time.perf_counter()
    y.backward(retain_graph=True)
    (g,) = minigrad.grad(y, x)  # minigrad.grad walks the same chain
    assert time.perf_counter() - start < 20
    np.testing.assert_allclose(x.grad, 1.0000001 ** 100_000, rtol=1e-9)
    np.testing.assert_allclose(g.data, x.grad, rtol=1e-12)


def test_a_deep_chain_of_additions_passes_the_gradient_unchanged():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(20_000):
        y = y + 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


# ====================================================================== minigrad.grad
def test_grad_returns_tensors_and_leaves_dot_grad_untouched():
    x = leaf([1.0, 2.0])
    (g,) = minigrad.grad((x ** 3).sum(), x)
    assert isinstance(g, Tensor)
    np.testing.assert_allclose(g.data, [3.0, 12.0])
    assert x.grad is None
    assert not g.requires_grad and g.grad_fn is None


def test_grad_with_several_inputs_and_grad_outputs():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = a * b
    ga, gb = minigrad.grad(y, [a, b], grad_outputs=minigrad.tensor(np.array([1.0, -1.0])))
    np.testing.assert_allclose(ga.data, [3.0, -4.0])
    np.testing.assert_allclose(gb.data, [1.0, -2.0])
    with pytest.raises(ValueError, match="grad_outputs"):
        minigrad.grad([y], [a], grad_outputs=[None, None])


def test_grad_of_several_outputs_adds_their_gradients():
    x = leaf([1.0, 2.0])
    (g,) = minigrad.grad([(x * x).sum(), (3.0 * x).sum()], [x])
    np.testing.assert_allclose(g.data, [5.0, 7.0])


def test_grad_with_respect_to_a_non_leaf_input():
    x = leaf([1.0, -2.0])
    y = x * 2.0
    z = (y ** 2).sum()
    gy, gx = minigrad.grad(z, [y, x], retain_graph=True)
    np.testing.assert_allclose(gy.data, 2 * y.data)
    np.testing.assert_allclose(gx.data, 8 * x.data)
    (gy_only,) = minigrad.grad(z, y)
    np.testing.assert_allclose(gy_only.data, 2 * y.data)


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 3.0).sum()
    with pytest.raises(RuntimeError, match=r"input 1 .*not used.*allow_unused"):
        minigrad.grad(y, [x, unused], retain_graph=True)
    gx, gu = minigrad.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.data, [3.0])
    assert gu is None


def test_grad_with_respect_to_a_tensor_that_does_not_require_grad_is_an_error():
    x = leaf([1.0])
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="input 0 of grad.*does not require grad"):
        minigrad.grad(y, minigrad.tensor([1.0]))
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigrad.grad(y, minigrad.tensor([1, 2]))  # integer tensor
    with pytest.raises(RuntimeError, match="output 0 of grad.*does not require grad"):
        minigrad.grad(minigrad.tensor(1.0), x)


def test_grad_with_create_graph_is_differentiable_again():
    x = leaf([1.0, 2.0])
    (g,) = minigrad.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (h,) = minigrad.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_backward_of_a_create_graph_gradient_accumulates_the_second_derivative():
    x = leaf([0.3, 0.7])
    (g,) = minigrad.grad(x.sin().sum(), x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad, -np.sin(x.data))


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _rosenbrock_gradient(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def _rosenbrock_hessian(x, y):
    return np.array([[2 - 400 * y + 1200 * x * x, -400 * x], [-400 * x, 200.0]])


@pytest.mark.parametrize("point", [(-1.0, 1.0), (0.0, 0.0), (1.0, 1.0), (0.5, -0.3), (2.0, 3.0)])
@pytest.mark.parametrize("v", [(1.0, 0.0), (0.0, 1.0), (0.3, -0.7)])
def test_hessian_vector_product_of_rosenbrock_matches_the_analytic_hessian(point, v):
    p = leaf(point)
    f = _rosenbrock(p[0], p[1])
    (g,) = minigrad.grad(f, p, create_graph=True)
    np.testing.assert_allclose(g.data, _rosenbrock_gradient(*point), rtol=1e-12)
    (hv,) = minigrad.grad((g * minigrad.tensor(np.array(v))).sum(), p)
    np.testing.assert_allclose(hv.data, _rosenbrock_hessian(*point) @ np.array(v), rtol=1e-12,
                               atol=1e-12)


def test_full_rosenbrock_hessian_from_two_scalar_inputs():
    x, y = leaf(0.7), leaf(-0.4)
    gx, gy = minigrad.grad(_rosenbrock(x, y), [x, y], create_graph=True)
    row_x = [t.item() for t in minigrad.grad(gx, [x, y], retain_graph=True)]
    row_y = [t.item() for t in minigrad.grad(gy, [x, y])]
    np.testing.assert_allclose([row_x, row_y], _rosenbrock_hessian(0.7, -0.4), rtol=1e-12)


def _normal_pdf(a):
    return np.exp(-a * a / 2) / math.sqrt(2 * math.pi)


def _sig(a):
    return 1 / (1 + np.exp(-a))


SECOND_DERIVATIVES = {
    "sin": (minigrad.sin, lambda a: -np.sin(a)),
    "cos": (minigrad.cos, lambda a: -np.cos(a)),
    "tanh": (minigrad.tanh, lambda a: -2 * np.tanh(a) * (1 - np.tanh(a) ** 2)),
    "sigmoid": (minigrad.sigmoid, lambda a: _sig(a) * (1 - _sig(a)) * (1 - 2 * _sig(a))),
    "exp": (minigrad.exp, np.exp),
    "log": (minigrad.log, lambda a: -1 / a ** 2),
    "sqrt": (minigrad.sqrt, lambda a: -0.25 * a ** -1.5),
    "gelu": (minigrad.gelu, lambda a: _normal_pdf(a) * (2 - a * a)),
    "softplus": (minigrad.softplus, lambda a: _sig(a) * (1 - _sig(a))),
    "erf": (minigrad.erf, lambda a: -4 * a / math.sqrt(math.pi) * np.exp(-a * a)),
    "cube": (lambda t: t ** 3, lambda a: 6 * a),
    "reciprocal": (lambda t: 1.0 / t, lambda a: 2 / a ** 3),
    "exp2": (lambda t: 2.0 ** t, lambda a: math.log(2) ** 2 * 2.0 ** a),
    "relu": (minigrad.relu, np.zeros_like),
    "abs": (minigrad.abs, np.zeros_like),
}


@pytest.mark.parametrize("name", list(SECOND_DERIVATIVES))
def test_double_grad_of_elementwise_op_equals_the_analytic_second_derivative(name):
    fn, second = SECOND_DERIVATIVES[name]
    a = np.array([0.3, 0.8, 1.7, 2.5]) * (1 if name in ("log", "sqrt") else [1, -1, 1, -1])
    x = leaf(a)
    (g,) = minigrad.grad(fn(x).sum(), x, create_graph=True)
    if not g.requires_grad:  # a piecewise-linear op: its derivative is constant
        np.testing.assert_array_equal(second(a), 0.0)
        return
    (h,) = minigrad.grad(g.sum(), x, allow_unused=True)
    h = np.zeros_like(a) if h is None else h.data
    np.testing.assert_allclose(h, second(a), rtol=1e-10, atol=1e-12)


GRADGRAD_FUNCTIONS = {
    "gelu_tanh": lambda x: minigrad.gelu(x, approximate="tanh"),
    "leaky_relu_times_x": lambda x: minigrad.leaky_relu(x, 0.1) * x,
    "softplus_beta": lambda x: minigrad.softplus(x, beta=2.0),
    "tensor_pow": lambda x: (x.abs() + 0.5) ** x,
    "div": lambda x: x / (x * x + 1.0),
    "matmul": lambda x: (x.reshape(2, 3) @ x.reshape(3, 2)),
    "matmul_vector": lambda x: x @ x,
    "sum_axis_keepdims": lambda x: x.reshape(2, 3).sum(axis=1, keepdims=True) ** 2,
    "mean_var_std": lambda x: x.mean() * x.var() + x.reshape(2, 3).std(axis=1),
    "logsumexp": lambda x: x.reshape(3, 2).logsumexp(axis=0) ** 2,
    "max_min": lambda x: x.max() ** 2 + (x.reshape(2, 3).min(axis=0) ** 3).sum(),
    "maximum_minimum": lambda x: minigrad.maximum(x, 0.1) ** 2 * minigrad.minimum(x, 1.5),
    "clip": lambda x: x.clip(-0.5, 0.5) ** 2,
    "where": lambda x: minigrad.where(x.data > 0, x ** 2, x ** 3),
    "indexing": lambda x: x[[0, 0, 3]] ** 2 + x[1:3].sum() * x[-1],
    "mask_indexing": lambda x: x[x.data > 0] ** 3,
    "cat_stack_pad": lambda x: minigrad.pad(minigrad.cat([x, x ** 2]), 1)
                               * minigrad.stack([x, x]).sum(),
    "broadcast": lambda x: (x.reshape(2, 1, 3) * x.reshape(1, 6, 1)).sum(axis=1) ** 2,
    "transpose_expand": lambda x: x.reshape(2, 3).T.expand(2, 3, 2) ** 2,
    "clone_astype": lambda x: x.clone().astype(np.float64) ** 2,
}


@pytest.mark.parametrize("name", list(GRADGRAD_FUNCTIONS))
def test_backward_rules_are_differentiable_gradgradcheck(name):
    fn = GRADGRAD_FUNCTIONS[name]
    a = np.array([0.35, -0.8, 1.25, 0.6, -1.45, 0.95])

    def gradient(t):  # gradcheck evaluates under no_grad; the inner grad needs a graph
        with minigrad.enable_grad():
            (g,) = minigrad.grad(fn(t).sum(), t, create_graph=True)
        return g * 1.0

    assert minigrad.gradcheck(gradient, [a])


def test_hessian_vector_product_from_the_docstring():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (g,) = minigrad.grad((x ** 3).sum(), x, create_graph=True)
    (hv,) = minigrad.grad((g * minigrad.tensor([1.0, 1.0])).sum(), x)
    assert hv.data.tolist() == [6.0, 12.0]


# ====================================================================== in-place detection
def _data_isub(t):
    t.data -= 1


def _data_assign(t):
    t.data = t.data * 2


MODIFICATIONS = {
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(1.0, alpha=2.0),
    "mul_": lambda t: t.mul_(2.0),
    "div_": lambda t: t.div_(2.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(3.0),
    "copy_": lambda t: t.copy_(np.full(t.shape, 5.0)),
    "clamp_": lambda t: t.clamp_(0.0, 0.1),
    "setitem": lambda t: t.__setitem__(0, 5.0),
    "data_isub": _data_isub,
    "data_assign": _data_assign,
}


@pytest.mark.parametrize("name", list(MODIFICATIONS))
def test_modifying_a_saved_constant_before_backward_is_detected(name):
    x, w = leaf([1.0, 2.0]), minigrad.tensor([3.0, 4.0])
    y = (x * w).sum()
    with minigrad.no_grad():
        MODIFICATIONS[name](w)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


@pytest.mark.parametrize("name", list(MODIFICATIONS))
def test_modifying_a_saved_leaf_under_no_grad_before_backward_is_detected(name):
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    with minigrad.no_grad():
        MODIFICATIONS[name](x)
    with pytest.raises(RuntimeError, match=r"in-place.*input \d of Mul"):
        y.backward()
    with pytest.raises(RuntimeError, match="in-place"):
        minigrad.grad(y, x)


@pytest.mark.parametrize("name", ["add_", "mul_", "zero_", "copy_", "setitem", "data_isub"])
def test_modifying_a_saved_intermediate_before_backward_is_detected(name):
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum()
    with minigrad.no_grad():
        MODIFICATIONS[name](h)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_modifying_a_tensor_after_backward_is_allowed():
    x, w = leaf([1.0, 2.0]), minigrad.tensor([3.0, 4.0])
    (x * w).sum().backward()
    w.add_(1.0)
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


INPLACE_METHODS = [name for name in MODIFICATIONS if not name.startswith("data")]


@pytest.mark.parametrize("name", INPLACE_METHODS)
def test_in_place_op_on_a_leaf_that_requires_grad_raises_in_grad_mode(name):
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place"):
        MODIFICATIONS[name](x)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


@pytest.mark.parametrize("name", INPLACE_METHODS)
def test_in_place_op_on_a_leaf_is_allowed_under_no_grad(name):
    x = leaf([1.0, 2.0])
    version = x._version
    with minigrad.no_grad():
        MODIFICATIONS[name](x)
    assert x._version == version + 1


def test_in_place_op_on_a_non_leaf_in_the_graph_raises():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="in-place"):
        y.add_(1.0)


# ====================================================================== no_grad, detach
def test_no_grad_builds_no_graph_and_restores_grad_mode():
    x = leaf([1.0, 2.0])
    assert minigrad.is_grad_enabled()
    with minigrad.no_grad():
        assert not minigrad.is_grad_enabled()
        y = x * 2.0 + x.exp()
        with minigrad.enable_grad():
            z = x * 3.0
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_restores_grad_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with minigrad.no_grad():
            1 / 0
    assert minigrad.is_grad_enabled()


def test_parameter_update_under_no_grad_is_the_optimizer_pattern():
    p = minigrad.Parameter(np.array([1.0, 2.0]))
    (p * p).sum().backward()
    with minigrad.no_grad():
        p.data -= 0.5 * p.grad
        p.sub_(np.array([0.0, 1.0]))
    np.testing.assert_allclose(p.data, [0.0, -1.0])
    assert p.requires_grad and p.is_leaf


def test_detach_shares_data_and_stops_the_gradient():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])  # d was a constant
    h = (x * 3.0).detach()
    assert h.is_leaf and not h.requires_grad


# ====================================================================== end to end
def test_gradient_descent_with_momentum_minimises_rosenbrock():
    start = time.perf_counter()
    p = minigrad.Parameter(np.array([-1.0, 1.0]))
    velocity = np.zeros(2)
    lr, momentum = 1e-3, 0.9
    for _ in range(3000):
        p.grad = None
        loss = _rosenbrock(p[0], p[1])
        loss.backward()
        with minigrad.no_grad():
            velocity = momentum * velocity + p.grad
            p.data -= lr * velocity
    np.testing.assert_allclose(p.data, [1.0, 1.0], atol=1e-3)
    assert loss.item() < 1e-6
    assert time.perf_counter() - start < 5


def test_newton_step_from_hessian_vector_products_solves_a_quadratic():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    x = leaf([0.0, 0.0])
    A, B = minigrad.tensor(a), minigrad.tensor(b)
    f = 0.5 * (x @ (A @ x)) - B @ x
    (g,) = minigrad.grad(f, x, create_graph=True)
    hessian = np.stack([minigrad.grad(g[i], x, retain_graph=True)[0].data for i in range(2)])
    step = np.linalg.solve(hessian, g.data)
    np.testing.assert_allclose(x.data - step, np.linalg.solve(a, b), rtol=1e-12)

"""Every differentiable op: forward values against NumPy, gradients against central
differences (``minigrad.gradcheck``) on hypothesis-drawn shapes, the conventions at kinks
and ties, broadcasting, dtypes, 0-d and zero-size tensors, and the errors for bad input.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import Tensor
from strategies import (away_from_zero, axes_for, broadcastable_pairs, distinct,
                        gradcheck_settings, positive, quick_settings, reduced_axes, shapes,
                        values)

FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def assert_gradcheck(fn, *arrays):
    """gradcheck ``fn`` at float64 copies of ``arrays`` (all of them checked)."""
    assert minigrad.gradcheck(fn, [np.asarray(a, dtype=np.float64) for a in arrays])


def leaf(values, dtype=np.float64):
    return minigrad.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def grad_of(fn, *arrays, dtype=np.float64):
    """Gradients of sum(fn(*inputs)) with respect to each input, as arrays (backward())."""
    inputs = [leaf(a, dtype) for a in arrays]
    fn(*inputs).sum().backward()
    return [x.grad for x in inputs]


# ====================================================================== element-wise
UNARY_OPS = [
    ("neg", lambda x: -x, values),
    ("pos", lambda x: +x * 1.0, values),
    ("exp", minigrad.exp, values),
    ("exp_method", lambda x: x.exp(), values),
    ("log", minigrad.log, positive),
    ("sqrt", minigrad.sqrt, positive),
    ("abs", minigrad.abs, away_from_zero),
    ("sin", minigrad.sin, values),
    ("cos", minigrad.cos, values),
    ("tanh", minigrad.tanh, values),
    ("sigmoid", minigrad.sigmoid, lambda s: values(s, -8.0, 8.0)),
    ("relu", minigrad.relu, away_from_zero),
    ("leaky_relu", lambda x: minigrad.leaky_relu(x, 0.1), away_from_zero),
    ("gelu", minigrad.gelu, values),
    ("gelu_tanh", lambda x: minigrad.gelu(x, approximate="tanh"), values),
    ("softplus", minigrad.softplus, lambda s: values(s, -5.0, 5.0)),
    ("softplus_beta", lambda x: minigrad.softplus(x, beta=2.0), values),
    ("erf", minigrad.erf, values),
    ("pow_int", lambda x: x ** 3, values),
    ("pow_negative_int", lambda x: x ** -2, lambda s: away_from_zero(s, gap=0.5)),
    ("pow_fraction", lambda x: x ** 1.5, positive),
    ("pow_np_float64", lambda x: x ** np.float64(2.5), positive),
    ("rpow_scalar_base", lambda x: 2.0 ** x, values),
    ("sub_from_scalar", lambda x: 3.0 - x, values),
    ("div_scalar", lambda x: x / 3, values),
    ("rdiv_scalar", lambda x: 2.0 / x, lambda s: away_from_zero(s, gap=0.5)),
    ("mul_np_float64", lambda x: x * np.float64(2.0) + np.float64(1.0), values),
    ("clip_both", lambda x: minigrad.clip(x, -0.5, 0.5), distinct),  # distinct: k/10 + .05
    ("clip_min", lambda x: x.clip(min=0.3), distinct),
    ("clamp_max", lambda x: x.clamp(max=-0.3), distinct),
    ("maximum_scalar", lambda x: minigrad.maximum(x, 0.0), away_from_zero),
    ("minimum_scalar", lambda x: minigrad.minimum(0.0, x), away_from_zero),
]


@pytest.mark.parametrize("name, fn, domain", UNARY_OPS, ids=[op[0] for op in UNARY_OPS])
@gradcheck_settings
@given(data=st.data(), shape=shapes(min_side=0))
def test_unary_op_gradient_matches_central_differences(name, fn, domain, data, shape):
    x = data.draw(domain(shape))
    out = fn(minigrad.tensor(x))
    assert out.shape == shape
    assert_gradcheck(fn, x)


NUMPY_UNARY = [
    ("exp", minigrad.exp, np.exp),
    ("log", minigrad.log, np.log),
    ("sqrt", minigrad.sqrt, np.sqrt),
    ("abs", minigrad.abs, np.abs),
    ("sin", minigrad.sin, np.sin),
    ("cos", minigrad.cos, np.cos),
    ("tanh", minigrad.tanh, np.tanh),
    ("sigmoid", minigrad.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    ("relu", minigrad.relu, lambda a: np.maximum(a, 0)),
    ("leaky_relu", lambda x: minigrad.leaky_relu(x, 0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    ("softplus", minigrad.softplus, lambda a: np.log1p(np.exp(a))),
    ("erf", minigrad.erf, np.vectorize(math.erf)),
    ("gelu", minigrad.gelu,
     lambda a: a * 0.5 * (1 + np.vectorize(math.erf)(a / math.sqrt(2)))),
    ("gelu_tanh", lambda x: minigrad.gelu(x, approximate="tanh"),
     lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
]


@pytest.mark.parametrize("name, op, reference", NUMPY_UNARY, ids=[c[0] for c in NUMPY_UNARY])
def test_unary_op_forward_matches_numpy(name, op, reference, rng):
    a = rng.normal(size=(3, 4)) * 2
    if name in ("log", "sqrt"):
        a = np.abs(a) + 0.5
    np.testing.assert_allclose(op(minigrad.tensor(a)).data, reference(a), rtol=1e-12,
                               atol=1e-12)


def test_sigmoid_does_not_overflow_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = minigrad.sigmoid(minigrad.tensor([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])


def test_softplus_is_linear_above_the_threshold_with_unit_gradient():
    x = leaf([30.0, 5.0], np.float32)
    y = minigrad.softplus(x, beta=1.0, threshold=20.0)
    y.sum().backward()
    assert y.data[0] == np.float32(30.0)
    np.testing.assert_allclose(x.grad, [1.0, 1 / (1 + np.exp(-5.0))], rtol=1e-6)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        minigrad.gelu(minigrad.tensor([1.0]), approximate="fast")


# ----------------------------------------------------------------- tie conventions
def test_relu_derivative_at_zero_is_zero():
    (g,) = grad_of(minigrad.relu, [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_abs_derivative_at_zero_is_zero():
    (g,) = grad_of(minigrad.abs, [-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


def test_leaky_relu_derivative_at_zero_is_the_negative_slope():
    (g,) = grad_of(lambda x: minigrad.leaky_relu(x, 0.1), [-1.0, 0.0, 2.0])
    np.testing.assert_allclose(g, [0.1, 0.1, 1.0])


def test_maximum_and_minimum_split_the_gradient_equally_on_ties():
    a, b = [1.0, 2.0, 3.0], [1.0, 0.0, 5.0]
    ga, gb = grad_of(minigrad.maximum, a, b)
    np.testing.assert_array_equal(ga, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0, 1.0])
    ga, gb = grad_of(minigrad.minimum, a, b)
    np.testing.assert_array_equal(ga, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 1.0, 0.0])


def test_maximum_tie_split_with_broadcasting_sums_the_halves():
    ga, gb = grad_of(minigrad.maximum, [[1.0], [2.0]], [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(ga, [[2.0], [3.0]])  # 0.5 + 0.5 + 1, then 1 + 1 + 1
    np.testing.assert_array_equal(gb, [0.5, 0.5, 0.0])


def test_max_reduction_shares_the_gradient_equally_among_tied_maxima():
    (g,) = grad_of(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5, 0.0])
    (g,) = grad_of(lambda x: x.max(axis=1), [[1.0, 1.0, 1.0], [2.0, 0.0, 2.0]])
    np.testing.assert_allclose(g, [[1 / 3, 1 / 3, 1 / 3], [0.5, 0.0, 0.5]])
    (g,) = grad_of(lambda x: x.max(axis=0, keepdims=True) * 4, [[5.0, 1.0], [5.0, 2.0]])
    np.testing.assert_array_equal(g, [[2.0, 0.0], [2.0, 4.0]])


def test_min_reduction_shares_the_gradient_equally_among_tied_minima():
    (g,) = grad_of(lambda x: x.min(), [[0.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(g, [[1 / 3, 0.0], [1 / 3, 1 / 3]])
    (g,) = grad_of(lambda x: x.min(axis=-1), [[3.0, 1.0, 1.0], [2.0, 5.0, 7.0]])
    np.testing.assert_array_equal(g, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_clip_passes_the_gradient_at_the_bounds_and_blocks_it_outside():
    (g,) = grad_of(lambda x: minigrad.clip(x, 0.0, 1.0), [-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    (g,) = grad_of(lambda x: x.clamp(min=0.0), [-1.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


def test_clip_rejects_missing_or_crossed_bounds():
    x = minigrad.tensor([1.0])
    with pytest.raises(ValueError, match="at least one"):
        minigrad.clip(x)
    with pytest.raises(ValueError, match="must not exceed"):
        minigrad.clip(x, 2.0, 1.0)


def test_where_sends_the_gradient_to_the_chosen_branch():
    ga, gb = grad_of(lambda a, b: minigrad.where(np.array([True, False, True]), a, b),
                     [1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(ga, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.0])


def test_where_accepts_a_tensor_condition_and_python_scalars():
    x = minigrad.tensor([-1.0, 2.0])
    y = minigrad.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(y.data, [0.0, 2.0])
    z = minigrad.where(np.array([True, False]), 1.0, 0.0)
    np.testing.assert_array_equal(z.data, [1.0, 0.0])
    assert z.dtype == minigrad.get_default_dtype()


def test_tensor_exponent_gradient_at_zero_base_is_finite():
    a, b = leaf([0.0, 2.0]), leaf([2.0, 3.0])
    (a ** b).sum().backward()
    np.testing.assert_allclose(a.grad, [0.0, 12.0])
    np.testing.assert_allclose(b.grad, [0.0, 8.0 * np.log(2.0)])


# ====================================================================== binary ops
def _second(strategy_fn, offset=0.0):
    return lambda s: strategy_fn(s).map(lambda a: a + offset)


BINARY_OPS = [
    ("add", lambda a, b: a + b, values, values),
    ("sub", lambda a, b: a - b, values, values),
    ("mul", lambda a, b: a * b, values, values),
    ("div", lambda a, b: a / b, values, lambda s: away_from_zero(s, gap=0.5)),
    ("pow", lambda a, b: a ** b, positive, values),
    ("maximum", minigrad.maximum, distinct, _second(distinct, 0.03)),
    ("minimum", minigrad.minimum, distinct, _second(distinct, 0.03)),
    ("add_fn", minigrad.add, values, values),
    ("sub_method", lambda a, b: a.sub(b), values, values),
    ("mul_fn", minigrad.mul, values, values),
    ("div_method", lambda a, b: a.div(b), values, lambda s: away_from_zero(s, gap=0.5)),
    ("pow_fn", minigrad.pow, positive, values),
]


@pytest.mark.parametrize("name, fn, left, right", BINARY_OPS, ids=[op[0] for op in BINARY_OPS])
@gradcheck_settings
@given(data=st.data(), shape_pair=broadcastable_pairs(min_side=0))
def test_binary_op_gradient_matches_central_differences_with_broadcasting(
        name, fn, left, right, data, shape_pair):
    a = data.draw(left(shape_pair[0]), label="a")
    b = data.draw(right(shape_pair[1]), label="b")
    out = fn(minigrad.tensor(a), minigrad.tensor(b))
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert_gradcheck(fn, a, b)


@gradcheck_settings
@given(data=st.data(), shapes_=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3,
                                                                 max_side=3))
def test_where_gradient_matches_central_differences_with_broadcasting(data, shapes_):
    cond_shape, a_shape, b_shape = shapes_.input_shapes
    condition = data.draw(hnp.arrays(np.bool_, cond_shape), label="condition")
    a, b = data.draw(values(a_shape), label="a"), data.draw(values(b_shape), label="b")
    out = minigrad.where(condition, minigrad.tensor(a), minigrad.tensor(b))
    np.testing.assert_array_equal(out.data, np.where(condition, a, b))
    assert_gradcheck(lambda x, y: minigrad.where(condition, x, y), a, b)


def _where_alternating(a, b):
    """where() with a condition of the broadcast shape: True, False, True, ..."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    return minigrad.where(np.arange(math.prod(shape)).reshape(shape) % 2 == 0, a, b)


BROADCAST_PAIRS = [((3, 1), (1, 4)), ((), (2, 3)), ((4,), (2, 4)),
                   ((1, 4), (3, 1)), ((2, 3), ()), ((2, 4), (4,))]
BROADCAST_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": minigrad.maximum,
    "minimum": minigrad.minimum,
    "where": _where_alternating,
}


@pytest.mark.parametrize("name", list(BROADCAST_OPS))
@pytest.mark.parametrize("shape_a, shape_b", BROADCAST_PAIRS)
def test_broadcast_gradient_is_summed_back_to_each_input_shape(name, shape_a, shape_b, rng):
    fn = BROADCAST_OPS[name]
    n_a, n_b = math.prod(shape_a), math.prod(shape_b)
    # positive, distinct values: valid for pow and free of max/min ties
    a = (rng.permutation(n_a) * 0.1 + 0.55).reshape(shape_a)
    b = (rng.permutation(n_b) * 0.1 + 0.52).reshape(shape_b)
    ta, tb = leaf(a, np.float32), leaf(b, np.float32)
    fn(ta, tb).sum().backward()
    assert ta.grad.shape == shape_a and tb.grad.shape == shape_b
    assert ta.grad.dtype == np.float32 and tb.grad.dtype == np.float32
    # the summed-back gradient equals the gradient with explicitly broadcast inputs
    out_shape = np.broadcast_shapes(shape_a, shape_b)
    wa, wb = leaf(np.broadcast_to(a, out_shape)), leaf(np.broadcast_to(b, out_shape))
    fn(wa, wb).sum().backward()
    np.testing.assert_allclose(ta.grad, _sum_to_shape(wa.grad, shape_a), rtol=1e-5)
    np.testing.assert_allclose(tb.grad, _sum_to_shape(wb.grad, shape_b), rtol=1e-5)
    assert_gradcheck(fn, a, b)


def _sum_to_shape(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def test_add_with_broadcast_counts_how_often_each_input_was_used():
    ga, gb = grad_of(lambda a, b: a + b, np.ones((3, 1)), np.ones((1, 4)))
    np.testing.assert_array_equal(ga, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(gb, np.full((1, 4), 3.0))


def test_mul_with_broadcast_sums_the_other_operand():
    a, b = np.array([[1.0], [2.0], [3.0]]), np.array([[1.0, 10.0, 100.0, 1000.0]])
    ga, gb = grad_of(lambda x, y: x * y, a, b)
    np.testing.assert_array_equal(ga, np.full((3, 1), 1111.0))
    np.testing.assert_array_equal(gb, np.full((1, 4), 6.0))


def test_scalar_and_array_operands_on_either_side():
    x = minigrad.tensor([1.0, 2.0])
    np.testing.assert_array_equal((x + 1).data, [2.0, 3.0])
    np.testing.assert_array_equal((1 + x).data, [2.0, 3.0])
    np.testing.assert_array_equal((1 - x).data, [0.0, -1.0])
    np.testing.assert_array_equal((2 / x).data, [2.0, 1.0])
    np.testing.assert_array_equal((2 ** x).data, [2.0, 4.0])
    np.testing.assert_array_equal((np.array([3.0, 4.0]) * x).data, [3.0, 8.0])
    np.testing.assert_array_equal((np.array([3.0, 4.0]) - x).data, [2.0, 2.0])
    assert isinstance(np.array([3.0, 4.0]) * x, Tensor)


def test_integer_division_gives_the_default_float_dtype():
    y = minigrad.tensor([1, 2]) / minigrad.tensor([2, 4])
    assert y.dtype == minigrad.get_default_dtype()
    np.testing.assert_array_equal(y.data, [0.5, 0.5])


# ====================================================================== matmul
MATMUL_SHAPES = [
    ((3,), (3,)),            # 1-D · 1-D: a scalar
    ((3,), (3, 4)),          # 1-D · 2-D
    ((2, 3), (3,)),          # 2-D · 1-D
    ((2, 3), (3, 4)),        # 2-D · 2-D
    ((5, 2, 3), (3, 4)),     # batched · matrix
    ((3,), (2, 3, 4)),       # vector · batch
    ((2, 2, 3), (3,)),       # batch · vector
    ((2, 1, 2, 3), (3, 3, 2)),  # batch dims broadcast on both sides
    ((1, 2, 3), (4, 3, 2)),
    ((2, 0), (0, 3)),        # empty inner dimension: zeros
    ((0, 3), (3, 2)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_matches_numpy_and_gradcheck(shape_a, shape_b, rng):
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    out = minigrad.tensor(a) @ minigrad.tensor(b)
    expected = np.matmul(a, b)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    ga, gb = grad_of(lambda x, y: x @ y, a, b)
    assert ga.shape == shape_a and gb.shape == shape_b
    assert_gradcheck(lambda x, y: x @ y, a, b)
    assert_gradcheck(minigrad.matmul, a, b)


@st.composite
def matmul_operand_shapes(draw):
    batch_a, batch_b = draw(broadcastable_pairs(max_dims=2))
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    a_shape = (k,) if draw(st.booleans()) else batch_a + (n, k)
    b_shape = (k,) if draw(st.booleans()) else batch_b + (k, m)
    return a_shape, b_shape


@gradcheck_settings
@given(data=st.data(), operand_shapes=matmul_operand_shapes())
def test_matmul_gradient_matches_central_differences_for_drawn_shapes(data, operand_shapes):
    a = data.draw(values(operand_shapes[0]), label="a")
    b = data.draw(values(operand_shapes[1]), label="b")
    np.testing.assert_allclose((minigrad.tensor(a) @ b).data, np.matmul(a, b), atol=1e-12)
    assert_gradcheck(lambda x, y: x @ y, a, b)


def test_matmul_with_an_array_on_the_left_uses_the_reflected_operator(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    out = a @ minigrad.tensor(b)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, a @ b)


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        minigrad.tensor(np.ones((2, 3))) @ minigrad.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        minigrad.tensor(np.ones(3)) @ minigrad.tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(3, 3, 1\)"):
        minigrad.tensor(np.ones((2, 2, 3))) @ minigrad.tensor(np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match="at least one dimension"):
        minigrad.matmul(minigrad.tensor(2.0), minigrad.tensor([1.0]))


# ====================================================================== reductions
NUMPY_REDUCTIONS = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "var": np.var,
    "std": np.std,
    "logsumexp": lambda a, axis=None, keepdims=False: np.log(
        np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
}


@pytest.mark.parametrize("name", list(NUMPY_REDUCTIONS))
@gradcheck_settings
@given(data=st.data(), shape=shapes(min_dims=0, max_dims=3))
def test_reduction_matches_numpy_and_gradcheck_for_any_axis_and_keepdims(name, data, shape):
    axis = data.draw(axes_for(len(shape)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    if name == "std":  # sqrt(var) has an infinite slope at var = 0
        assume(math.prod(shape[a] for a in reduced_axes(axis, len(shape))) >= 2)
    # distinct values: no ties for max/min, a nonzero variance for std
    x = data.draw(distinct(shape), label="x")
    op = getattr(minigrad, name)
    out = op(minigrad.tensor(x), axis=axis, keepdims=keepdims)
    expected = NUMPY_REDUCTIONS[name](x, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert_gradcheck(lambda t: op(t, axis=axis, keepdims=keepdims), x)
    method = getattr(minigrad.tensor(x), name)(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(method.data, out.data)


@pytest.mark.parametrize("name", list(NUMPY_REDUCTIONS))
def test_reduction_accepts_pytorch_dim_and_keepdim_aliases(name, rng):
    x = minigrad.tensor(rng.normal(size=(2, 3, 4)))
    op = getattr(minigrad, name)
    for dim in (1, -1, (0, 2)):
        np.testing.assert_allclose(op(x, dim=dim, keepdim=True).data,
                                   op(x, axis=dim, keepdims=True).data)
        np.testing.assert_allclose(getattr(x, name)(dim=dim).data, op(x, axis=dim).data)
    assert op(x, dim=1, keepdim=True).shape == (2, 1, 4)
    with pytest.raises(TypeError, match="either axis or its alias dim"):
        op(x, axis=0, dim=0)


@pytest.mark.parametrize("name", list(NUMPY_REDUCTIONS))
def test_reduction_rejects_out_of_range_and_repeated_axes(name):
    x = minigrad.tensor(np.ones((2, 3)))
    op = getattr(minigrad, name)
    with pytest.raises(ValueError, match="out of range"):
        op(x, axis=2)
    with pytest.raises(ValueError, match="out of range"):
        op(x, axis=-3)
    with pytest.raises(ValueError, match="repeats"):
        op(x, axis=(1, -1))
    with pytest.raises(TypeError, match="integer"):
        op(x, axis=1.0)


@pytest.mark.parametrize("name", list(NUMPY_REDUCTIONS))
@pytest.mark.parametrize("axis", [0, -1, None, (0,)])
def test_reduction_of_a_zero_dim_tensor_accepts_axis_zero_and_minus_one(name, axis):
    if name == "std":
        pytest.skip("std of one value is 0, where sqrt has no derivative")
    x = leaf(1.5)
    y = getattr(minigrad, name)(x, axis=axis)
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == ()
    expected = {"var": 0.0, "sum": 1.0, "mean": 1.0, "max": 1.0, "min": 1.0, "logsumexp": 1.0}
    np.testing.assert_allclose(x.grad, expected[name])


def test_var_and_std_use_ddof_and_its_correction_alias(rng):
    a = rng.normal(size=(4, 5))
    x = minigrad.tensor(a)
    np.testing.assert_allclose(minigrad.var(x, axis=0, ddof=1).data, np.var(a, axis=0, ddof=1))
    np.testing.assert_allclose(x.std(dim=1, correction=1).data, np.std(a, axis=1, ddof=1))
    assert_gradcheck(lambda t: t.var(axis=1, ddof=1), a)
    assert_gradcheck(lambda t: t.std(axis=0, ddof=1), a)
    with pytest.raises(ValueError, match="degrees of freedom"):
        minigrad.var(minigrad.tensor([1.0]), ddof=1)


def test_logsumexp_is_stable_for_large_inputs():
    x = leaf([1000.0, 1000.0])
    y = x.logsumexp()
    np.testing.assert_allclose(y.data, 1000.0 + np.log(2.0))
    y.backward()
    np.testing.assert_allclose(x.grad, [0.5, 0.5])


def test_mean_of_an_integer_tensor_is_rejected():
    with pytest.raises(TypeError, match="floating"):
        minigrad.tensor([1, 2, 3]).mean()


def test_max_of_a_zero_size_tensor_is_a_clear_error():
    with pytest.raises(ValueError, match="zero-size"):
        minigrad.tensor(np.zeros((0, 3))).max(axis=0)
    with pytest.raises(ValueError, match="zero-size"):
        minigrad.tensor(np.zeros(0)).min()


# ====================================================================== shapes
@st.composite
def reshape_targets(draw, shape):
    size = math.prod(shape)
    candidates = [(size,), (-1,), tuple(reversed(shape)), (1,) + shape, shape + (1,)]
    if size % 2 == 0 and size:
        candidates += [(2, -1), (-1, 2)]
    return draw(st.sampled_from(candidates))


@quick_settings
@given(data=st.data(), shape=shapes(min_side=0))
def test_reshape_matches_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape))
    target = data.draw(reshape_targets(shape))
    out = minigrad.tensor(x).reshape(target)
    np.testing.assert_array_equal(out.data, x.reshape(target))
    np.testing.assert_array_equal(minigrad.reshape(minigrad.tensor(x), *target).data,
                                  x.reshape(target))
    np.testing.assert_array_equal(minigrad.tensor(x).view(target).data, x.reshape(target))
    assert_gradcheck(lambda t: t.reshape(target) * np.arange(1.0, 1 + x.size).reshape(
        out.shape), x)


def test_reshape_to_an_incompatible_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        minigrad.tensor(np.ones((2, 3))).reshape(4, 2)


@quick_settings
@given(data=st.data(), shape=shapes())
def test_transpose_and_permute_match_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    t = minigrad.tensor(x)
    np.testing.assert_array_equal(t.transpose(perm).data, x.transpose(perm))
    np.testing.assert_array_equal(t.transpose(*perm).data, x.transpose(perm))
    np.testing.assert_array_equal(t.permute(*perm).data, x.transpose(perm))
    np.testing.assert_array_equal(t.T.data, x.T)
    np.testing.assert_array_equal(t.transpose().data, x.T)
    weights = np.arange(1.0, 1 + x.size).reshape(x.transpose(perm).shape)
    assert_gradcheck(lambda u: minigrad.permute(u, perm) * weights, x)
    assert_gradcheck(lambda u: u.T * weights.reshape(x.T.shape), x)


@quick_settings
@given(data=st.data(), shape=shapes(min_dims=1))
def test_swapaxes_matches_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape))
    a0 = data.draw(st.integers(-len(shape), len(shape) - 1))
    a1 = data.draw(st.integers(-len(shape), len(shape) - 1))
    out = minigrad.tensor(x).swapaxes(a0, a1)
    np.testing.assert_array_equal(out.data, np.swapaxes(x, a0, a1))
    weights = np.arange(1.0, 1 + x.size).reshape(out.shape)
    assert_gradcheck(lambda t: minigrad.swapaxes(t, a0, a1) * weights, x)


def test_transpose_rejects_an_axis_list_that_is_not_a_permutation():
    with pytest.raises(ValueError, match="permutation"):
        minigrad.tensor(np.ones((2, 3))).transpose(0, 0)


@quick_settings
@given(data=st.data(), shape=shapes(max_side=2))
def test_squeeze_and_unsqueeze_match_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape))
    t = minigrad.tensor(x)
    np.testing.assert_array_equal(t.squeeze().data, np.squeeze(x))
    ones = [i for i, s in enumerate(shape) if s == 1]
    if ones:
        axis = data.draw(st.sampled_from(ones))
        negative = axis - len(shape)
        np.testing.assert_array_equal(t.squeeze(axis).data, np.squeeze(x, axis))
        np.testing.assert_array_equal(t.squeeze(dim=negative).data, np.squeeze(x, axis))
        assert_gradcheck(lambda u: u.squeeze(axis) * 2.0, x)
    position = data.draw(st.integers(-len(shape) - 1, len(shape)))
    out = t.unsqueeze(position)
    np.testing.assert_array_equal(out.data, np.expand_dims(x, position))
    assert_gradcheck(lambda u: minigrad.unsqueeze(u, position) * 3.0, x)
    assert_gradcheck(lambda u: minigrad.squeeze(u) * 3.0, x)


def test_squeeze_of_an_axis_that_is_not_one_keeps_the_shape():
    assert minigrad.tensor(np.ones((2, 1))).squeeze(0).shape == (2, 1)


@st.composite
def broadcast_targets(draw, shape):
    new_lead = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    stretched = tuple(draw(st.integers(0, 3)) if s == 1 else s for s in shape)
    return new_lead + stretched


@quick_settings
@given(data=st.data(), shape=shapes(max_side=2))
def test_expand_and_broadcast_to_match_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape))
    target = data.draw(broadcast_targets(shape))
    t = minigrad.tensor(x)
    expected = np.broadcast_to(x, target)
    np.testing.assert_array_equal(t.broadcast_to(target).data, expected)
    np.testing.assert_array_equal(t.expand(*target).data, expected)
    keep = target[:len(target) - len(shape)] + tuple(
        -1 if s != 1 else target[len(target) - len(shape) + i] for i, s in enumerate(shape))
    np.testing.assert_array_equal(t.expand(keep).data, expected)
    weights = np.arange(1.0, 1 + expected.size).reshape(target)
    assert_gradcheck(lambda u: minigrad.broadcast_to(u, target) * weights, x)
    assert_gradcheck(lambda u: minigrad.expand(u, target) * weights, x)


def test_broadcast_to_an_incompatible_shape_is_an_error():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        minigrad.tensor(np.ones(3)).broadcast_to((4,))


@quick_settings
@given(data=st.data(), shape=shapes(min_dims=0, max_dims=3, min_side=0))
def test_flatten_matches_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape))
    t = minigrad.tensor(x)
    np.testing.assert_array_equal(t.flatten().data, x.reshape(-1))
    if len(shape) >= 2:
        start = data.draw(st.integers(0, len(shape) - 1))
        end = data.draw(st.integers(start, len(shape) - 1))
        expected = x.reshape(shape[:start] + (-1,) + shape[end + 1:]) if x.size else \
            x.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])
        out = minigrad.flatten(t, start, end - len(shape))
        np.testing.assert_array_equal(out.data, expected)
    assert_gradcheck(lambda u: u.flatten() * 2.0, x)


# ====================================================================== indexing
@quick_settings
@given(data=st.data(), shape=shapes(min_dims=1))
def test_basic_indexing_matches_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape), label="x")
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True),
                      label="index")
    out = minigrad.tensor(x)[index]
    np.testing.assert_array_equal(out.data, x[index])
    assert_gradcheck(lambda t: t[index] * 2.0, x)
    g = grad_of(lambda t: t[index], x)[0]
    expected = np.zeros(shape)
    expected[index] = 1.0
    np.testing.assert_array_equal(g, expected)


@quick_settings
@given(data=st.data(), shape=shapes(min_dims=1))
def test_integer_array_indexing_accumulates_repeated_indices(data, shape):
    x = data.draw(values(shape), label="x")
    index = data.draw(hnp.integer_array_indices(shape, result_shape=shapes(1, 2, 1, 4)),
                      label="index")
    out = minigrad.tensor(x)[index]
    np.testing.assert_array_equal(out.data, x[index])
    g = grad_of(lambda t: t[index], x)[0]
    expected = np.zeros(shape)
    np.add.at(expected, index, 1.0)  # each element counted once per time it is picked
    np.testing.assert_array_equal(g, expected)
    assert_gradcheck(lambda t: t[index] * 2.0, x)


@quick_settings
@given(data=st.data(), shape=shapes(min_dims=1))
def test_boolean_mask_indexing_matches_numpy_and_gradcheck(data, shape):
    x = data.draw(values(shape), label="x")
    mask = data.draw(hnp.arrays(np.bool_, shape), label="mask")
    row_mask = data.draw(hnp.arrays(np.bool_, shape[:1]), label="row_mask")
    t = minigrad.tensor(x)
    np.testing.assert_array_equal(t[mask].data, x[mask])
    np.testing.assert_array_equal(t[row_mask].data, x[row_mask])
    np.testing.assert_array_equal(t[minigrad.tensor(mask)].data, x[mask])
    g = grad_of(lambda u: u[mask], x)[0]
    np.testing.assert_array_equal(g, mask.astype(np.float64))
    assert_gradcheck(lambda u: u[mask] * 2.0, x)
    assert_gradcheck(lambda u: u[row_mask] * 2.0, x)


def test_repeated_integer_indices_accumulate_their_gradients():
    (g,) = grad_of(lambda t: t[[0, 0, 2, 0]], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    (g,) = grad_of(lambda t: t[np.array([1, 1]), np.array([0, 0])] * minigrad.tensor([2.0, 5.0]),
                   np.zeros((2, 2)))
    np.testing.assert_array_equal(g, [[0.0, 0.0], [7.0, 0.0]])
    (g,) = grad_of(lambda t: t[minigrad.tensor([1, 1, 1])], [1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 3.0])


def test_mixed_slice_and_integer_array_index(rng):
    x = rng.normal(size=(3, 4, 2))
    index = (slice(None, None, -1), np.array([0, 3, 3]), Ellipsis)
    out = minigrad.tensor(x)[index]
    np.testing.assert_array_equal(out.data, x[index])
    assert_gradcheck(lambda t: t[index] * 2.0, x)
    assert_gradcheck(lambda t: t[1:, None, -1] * 2.0, x)


def test_indexing_a_one_dim_tensor_with_an_int_gives_a_zero_dim_tensor():
    x = leaf([1.0, 2.0, 3.0])
    y = x[1]
    assert y.shape == () and y.item() == 2.0
    (y * 5).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 5.0, 0.0])


def test_iterating_a_tensor_yields_differentiable_rows():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    total = None
    for row in x:
        total = row.sum() if total is None else total + row.sum() * 2
    total.backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [2.0, 2.0]])


# ====================================================================== joining, padding
@st.composite
def cat_operands(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    arrays = []
    for size in sizes:
        piece = list(shape)
        piece[axis] = size
        arrays.append(draw(values(tuple(piece))))
    return arrays, axis


@quick_settings
@given(operands=cat_operands())
def test_concatenate_and_cat_match_numpy_and_gradcheck(operands):
    arrays, axis = operands
    expected = np.concatenate(arrays, axis=axis)
    tensors = [minigrad.tensor(a) for a in arrays]
    np.testing.assert_array_equal(minigrad.concatenate(tensors, axis=axis).data, expected)
    np.testing.assert_array_equal(minigrad.cat(tensors, dim=axis).data, expected)
    weights = np.arange(1.0, 1 + expected.size).reshape(expected.shape)
    assert_gradcheck(lambda *ts: minigrad.cat(list(ts), axis) * weights, *arrays)


@quick_settings
@given(data=st.data(), shape=shapes(min_dims=0, max_dims=2, min_side=0), n=st.integers(1, 3))
def test_stack_matches_numpy_and_gradcheck(data, shape, n):
    arrays = [data.draw(values(shape)) for _ in range(n)]
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    expected = np.stack(arrays, axis=axis)
    out = minigrad.stack([minigrad.tensor(a) for a in arrays], axis=axis)
    np.testing.assert_array_equal(out.data, expected)
    np.testing.assert_array_equal(
        minigrad.stack([minigrad.tensor(a) for a in arrays], dim=axis).data, expected)
    weights = np.arange(1.0, 1 + expected.size).reshape(expected.shape)
    assert_gradcheck(lambda *ts: minigrad.stack(list(ts), axis) * weights, *arrays)


def test_concatenate_and_stack_reject_mismatched_shapes():
    a, b = minigrad.tensor(np.ones((2, 3))), minigrad.tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(3, 2\)"):
        minigrad.concatenate([a, b], axis=0)
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(3, 2\)"):
        minigrad.stack([a, b])
    with pytest.raises(ValueError, match="at least one"):
        minigrad.cat([])
    with pytest.raises(ValueError, match="zero-dimensional"):
        minigrad.cat([minigrad.tensor(1.0), minigrad.tensor(2.0)])
    with pytest.raises(ValueError, match="out of range"):
        minigrad.cat([a, a], axis=2)


def test_concatenate_of_mixed_float_dtypes_sends_each_gradient_in_its_own_dtype():
    a, b = leaf([1.0, 2.0], np.float32), leaf([3.0], np.float64)
    y = minigrad.cat([a, b])
    assert y.dtype == np.float64
    (y * minigrad.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, [1.0, 2.0])
    np.testing.assert_array_equal(b.grad, [3.0])


@st.composite
def pad_widths(draw, ndim):
    kind = draw(st.sampled_from(["int", "pair", "per_axis"]))
    if kind == "int":
        return draw(st.integers(0, 2))
    if kind == "pair":
        return (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    return tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim))


@quick_settings
@given(data=st.data(), shape=shapes(min_dims=1, min_side=0), value=st.floats(-2, 2))
def test_pad_matches_numpy_and_gradcheck(data, shape, value):
    x = data.draw(values(shape))
    widths = data.draw(pad_widths(len(shape)))
    expected = np.pad(x, widths, mode="constant", constant_values=value)
    out = minigrad.pad(minigrad.tensor(x), widths, value=value)
    np.testing.assert_array_equal(out.data, expected)
    weights = np.arange(1.0, 1 + expected.size).reshape(expected.shape)
    assert_gradcheck(lambda t: minigrad.pad(t, widths, value) * weights, x)


def test_pad_rejects_negative_widths():
    with pytest.raises(ValueError, match="non-negative"):
        minigrad.pad(minigrad.tensor(np.ones(3)), (-1, 0))


# ====================================================================== dtypes
DTYPE_OPS = {
    "add_python_float": lambda x: x + 2.0,
    "radd_python_int": lambda x: 2 + x,
    "sub_numpy_float64": lambda x: x - np.float64(1.0),
    "rsub_numpy_float64": lambda x: np.float64(1.0) - x,
    "mul_numpy_float64": lambda x: x * np.float64(2.0),
    "rmul_numpy_float64": lambda x: np.float64(2.0) * x,
    "mul_zero_dim_float64_array": lambda x: x * np.array(2.0),
    "mul_zero_dim_float64_tensor": lambda x: minigrad.tensor(np.float64(2.0)) * x,
    "div_python_int": lambda x: x / 3,
    "rdiv_python_float": lambda x: 1.0 / x,
    "div_numpy_float64": lambda x: x / np.float64(3.0),
    "pow_int": lambda x: x ** 2,
    "pow_float": lambda x: x ** 0.5,
    "pow_numpy_float64": lambda x: x ** np.float64(2.0),
    "pow_numpy_int64": lambda x: x ** np.int64(3),
    "rpow_python_float": lambda x: 2.0 ** x,
    "pow_tensor": lambda x: x ** x,
    "neg": lambda x: -x,
    "exp": minigrad.exp, "log": minigrad.log, "sqrt": minigrad.sqrt, "abs": minigrad.abs,
    "sin": minigrad.sin, "cos": minigrad.cos, "tanh": minigrad.tanh,
    "sigmoid": minigrad.sigmoid, "relu": minigrad.relu,
    "leaky_relu": lambda x: minigrad.leaky_relu(x, 0.1),
    "gelu": minigrad.gelu, "gelu_tanh": lambda x: minigrad.gelu(x, approximate="tanh"),
    "softplus": minigrad.softplus, "softplus_beta": lambda x: minigrad.softplus(x, beta=2.0),
    "erf": minigrad.erf,
    "maximum_python_float": lambda x: minigrad.maximum(x, 0.5),
    "minimum_numpy_float64": lambda x: minigrad.minimum(x, np.float64(0.5)),
    "where_python_float": lambda x: minigrad.where(x.data > 0.5, x, 0.0),
    "where_numpy_float64": lambda x: minigrad.where(x.data > 0.5, np.float64(1.0), x),
    "clip_python_float": lambda x: x.clip(0.3, 0.6),
    "clip_numpy_float64": lambda x: x.clip(np.float64(0.3), np.float64(0.6)),
    "sum": lambda x: x.sum(axis=0), "mean": lambda x: x.mean(axis=1),
    "max": lambda x: x.max(axis=-1), "min": lambda x: x.min(),
    "var": lambda x: x.var(axis=0), "std": lambda x: x.std(axis=1),
    "logsumexp": lambda x: x.logsumexp(axis=1),
    "matmul": lambda x: x @ x.T, "matmul_vector": lambda x: x[0] @ x.T,
    "reshape": lambda x: x.reshape(-1), "transpose": lambda x: x.T,
    "swapaxes": lambda x: x.swapaxes(0, 1), "unsqueeze": lambda x: x.unsqueeze(0),
    "expand": lambda x: x.unsqueeze(0).expand(2, 2, 3),
    "getitem": lambda x: x[1, ::2], "getitem_array": lambda x: x[[0, 0, 1]],
    "cat": lambda x: minigrad.cat([x, x * 2], axis=1),
    "stack": lambda x: minigrad.stack([x, x]), "pad": lambda x: minigrad.pad(x, 1),
    "astype_roundtrip": lambda x: x.astype(np.float64).astype(x.dtype),
    "clone": lambda x: x.clone(),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float16", "float32", "float64"])
@pytest.mark.parametrize("name", list(DTYPE_OPS))
def test_op_keeps_the_float_dtype_in_forward_and_gradient(name, dtype):
    values_ = np.array([[0.2, 0.45, 0.7], [0.8, 0.35, 0.6]])
    x = leaf(values_, dtype)
    y = DTYPE_OPS[name](x)
    assert y.dtype == dtype
    assert np.all(np.isfinite(y.data))
    (g,) = minigrad.grad(y.sum(), x, retain_graph=True)
    assert g.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == dtype and x.grad.shape == x.shape


def test_second_derivative_keeps_float32():
    x = leaf([0.3, 0.6], np.float32)
    (g,) = minigrad.grad((x.sin() * x.exp()).sum(), x, create_graph=True)
    (h,) = minigrad.grad(g.sum(), x)
    assert g.dtype == np.float32 and h.dtype == np.float32


def test_mixed_float_dtypes_promote_like_numpy_and_gradients_keep_input_dtypes():
    a, b = leaf([1.0, 2.0], np.float32), leaf([3.0, 4.0], np.float64)
    y = a * b
    assert y.dtype == np.float64
    ga, gb = minigrad.grad(y.sum(), [a, b])
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_array_equal(ga.data, [3.0, 4.0])


def test_zero_dim_float64_tensor_with_float32_tensor_gives_float32_and_own_gradients():
    s = leaf(2.0, np.float64)
    x = leaf([1.0, 2.0], np.float32)
    y = s * x
    assert y.dtype == np.float32
    y.sum().backward()
    assert s.grad.dtype == np.float64 and s.grad.shape == ()
    assert x.grad.dtype == np.float32
    assert s.grad == 3.0


# ====================================================================== 0-d and zero-size
END_TO_END_OPS = {
    "arith": lambda x: (x * 2.0 + 1.0) / 3.0 - x ** 2,
    "unary": lambda x: x.exp() + x.sin() + x.tanh() + x.sigmoid() + minigrad.gelu(x),
    "kinks": lambda x: x.relu() + x.abs() + x.clip(-1.0, 1.0) + minigrad.maximum(x, 0.0),
    "sum": lambda x: x.sum(), "mean_keepdims": lambda x: x.mean(keepdims=True),
    "reshape": lambda x: x.reshape(-1) * 2.0, "transpose": lambda x: x.T * 2.0,
    "unsqueeze": lambda x: x.unsqueeze(0) * 2.0, "flatten": lambda x: x.flatten() * 2.0,
    "getitem_ellipsis": lambda x: x[...] * 2.0, "getitem_none": lambda x: x[None] * 2.0,
    "broadcast": lambda x: x.broadcast_to((2,) + x.shape) * 2.0,
    "stack": lambda x: minigrad.stack([x, x * 3.0]),
    "where": lambda x: minigrad.where(x.data > 0, x, -x),
    "add_broadcast": lambda x: x + minigrad.tensor(np.ones((2,) + x.shape)),
}


@pytest.mark.parametrize("shape", [(), (0,), (2, 0), (0, 3)], ids=str)
@pytest.mark.parametrize("name", list(END_TO_END_OPS))
def test_zero_dim_and_zero_size_tensors_work_forward_and_backward(name, shape):
    a = np.linspace(-0.7, 0.9, math.prod(shape)).reshape(shape) if shape else np.array(0.4)
    x = leaf(a, np.float32)
    y = END_TO_END_OPS[name](x)
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == shape and x.grad.dtype == np.float32
    assert_gradcheck(END_TO_END_OPS[name], a)


def test_zero_size_matmul_and_concatenate_backward():
    a, b = leaf(np.ones((2, 0))), leaf(np.ones((0, 3)))
    y = a @ b
    np.testing.assert_array_equal(y.data, np.zeros((2, 3)))
    y.sum().backward()
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)
    c, d = leaf(np.ones((0, 2))), leaf(np.ones((3, 2)))
    minigrad.cat([c, d]).sum().backward()
    assert c.grad.shape == (0, 2)
    np.testing.assert_array_equal(d.grad, np.ones((3, 2)))


def test_zero_size_sum_is_zero_and_mean_is_nan():
    x = leaf(np.zeros((0, 3)), np.float32)
    np.testing.assert_array_equal(x.sum(axis=0).data, np.zeros(3))
    assert x.sum().item() == 0.0
    assert np.isnan(x.mean().item())
    x.sum().backward()
    assert x.grad.shape == (0, 3)


def test_zero_dim_tensor_gradient_matches_the_analytic_derivative():
    x = leaf(0.5)
    y = x.sin() * x.exp() + x ** 3
    y.backward()
    expected = math.cos(0.5) * math.exp(0.5) + math.sin(0.5) * math.exp(0.5) + 3 * 0.25
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad, expected)

"""Property tests: minigrad's ops against PyTorch on drawn shapes, dtypes and indices.

For every drawn case the op runs on a minigrad tensor and on a torch tensor holding the
same values; the result's dtype, shape and values must agree, and so must the
gradient of Σ w·op(x) for a drawn weight w. Shapes include 0-d tensors, size-1 axes that
broadcast and axes of size 0. Needs PyTorch (skipped without it).
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.nn import functional as F
from strategies import axes_for, broadcastable_pairs, distinct, positive, shapes, values

torch = pytest.importorskip("torch")

checks = settings(max_examples=15, deadline=None)
FLOATS = [np.float32, np.float64]
ALL_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16,
              np.float32, np.float64]


def _torch_dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _tolerance(*dtypes) -> dict:
    """float64 tolerances only when every dtype involved is float64 (a float64 input of a
    float32 op gets a gradient computed in float32)."""
    if all(np.dtype(d) == np.float64 for d in dtypes):
        return dict(rtol=1e-9, atol=1e-12)
    return dict(rtol=1e-4, atol=1e-5)


def _check_same(ours, theirs) -> None:
    """Same dtype, shape and values (NaN where the other has NaN)."""
    assert str(ours.dtype) == _torch_dtype_name(theirs)
    assert ours.shape == tuple(theirs.shape)
    expected = theirs.detach().numpy()
    np.testing.assert_allclose(np.asarray(ours.data, dtype=np.float64),
                               expected.astype(np.float64), **_tolerance(ours.dtype))


def _compare(fn_ours, fn_theirs, arrays, weight_seed: int = 0) -> None:
    """Run both, compare the results, then the gradients of Σ w·result."""
    ours = [minigrad.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y, t = fn_ours(*ours), fn_theirs(*theirs)
    _check_same(y, t)
    if not t.requires_grad:
        return
    w = np.random.default_rng(weight_seed).uniform(0.5, 1.5, size=y.shape).astype(y.dtype)
    (y * minigrad.tensor(w)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for mine, reference in zip(ours, theirs):
        if reference.grad is None:
            continue
        got = mine.grad if mine.grad is not None else np.zeros(mine.shape, mine.dtype)
        assert got.dtype == mine.dtype and got.shape == mine.shape
        np.testing.assert_allclose(got.astype(np.float64),
                                   reference.grad.numpy().astype(np.float64),
                                   **_tolerance(mine.dtype, y.dtype))


@st.composite
def float_pair(draw, low=-2.0, high=2.0, min_side=0):
    """Two broadcastable float arrays (0-d, size-1 and size-0 axes allowed), each float32
    or float64."""
    shape_a, shape_b = draw(broadcastable_pairs(min_dims=0, max_dims=3, min_side=min_side))
    a = draw(values(shape_a, low, high)).astype(draw(st.sampled_from(FLOATS)))
    b = draw(values(shape_b, low, high)).astype(draw(st.sampled_from(FLOATS)))
    return a, b


# ============================================================ element-wise binary ops
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "maximum": (minigrad.maximum, torch.maximum),
    "minimum": (minigrad.minimum, torch.minimum),
}


@pytest.mark.parametrize("name", list(BINARY))
@checks
@given(pair=float_pair())
def test_binary_ops_broadcast_and_differentiate_like_pytorch(name, pair):
    _compare(*BINARY[name], pair)


@checks
@given(pair=float_pair(), seed=st.integers(0, 3))
def test_division_like_pytorch(pair, seed):
    a, b = pair
    b = np.where(np.abs(b) < 0.25, 0.5, b).astype(b.dtype)  # away from zero
    _compare(lambda x, y: x / y, lambda x, y: x / y, [a, b], seed)


@checks
@given(shape_pair=broadcastable_pairs(min_dims=0, max_dims=2, min_side=0), data=st.data())
def test_power_with_a_tensor_exponent_like_pytorch(shape_pair, data):
    base = data.draw(positive(shape_pair[0]))
    exponent = data.draw(values(shape_pair[1], -1.5, 1.5))
    _compare(lambda x, y: x ** y, lambda x, y: x ** y, [base, exponent])


@checks
@given(x=shapes(0, 3, min_side=0).flatmap(positive), c=st.sampled_from([2, 3, 0.5, -1.0, 1.5]))
def test_power_with_a_number_like_pytorch(x, c):
    _compare(lambda t: t ** c, lambda t: t ** c, [x])


# ============================================================ dtypes and promotion
@st.composite
def any_array(draw, shape):
    dtype = np.dtype(draw(st.sampled_from(ALL_DTYPES)))
    if dtype.kind == "b":
        return draw(hnp.arrays(dtype, shape))
    return draw(hnp.arrays(dtype, shape, elements=st.integers(0, 3)))


@settings(max_examples=60, deadline=None)
@given(shape_pair=broadcastable_pairs(min_dims=0, max_dims=2, min_side=0), data=st.data(),
       op=st.sampled_from(["add", "mul", "eq", "lt", "ge", "ne"]))
def test_mixed_dtype_results_have_pytorch_dtype_and_values(shape_pair, data, op):
    a = data.draw(any_array(shape_pair[0]))
    b = data.draw(any_array(shape_pair[1]))
    ours = getattr(minigrad.tensor(a), f"__{op}__")(minigrad.tensor(b))
    theirs = getattr(torch.tensor(a), f"__{op}__")(torch.tensor(b))
    assert str(ours.dtype) == _torch_dtype_name(theirs)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@settings(max_examples=40, deadline=None)
@given(x=shapes(0, 2, min_side=0).flatmap(any_array),
       scalar=st.sampled_from([True, False, 0, 3, -2, 0.5, 2.0, np.float64(1.5), np.int64(2)]),
       op=st.sampled_from(["add", "mul", "radd", "rmul", "truediv", "eq", "gt"]))
def test_tensor_with_scalar_results_have_pytorch_dtype(x, scalar, op):
    with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 is inf or NaN in both
        ours = getattr(minigrad.tensor(x), f"__{op}__")(scalar)
    theirs = getattr(torch.tensor(x), f"__{op}__")(scalar)
    assert str(ours.dtype) == _torch_dtype_name(theirs)
    np.testing.assert_allclose(np.asarray(ours.data, np.float64),
                               theirs.numpy().astype(np.float64), rtol=1e-3)


# ============================================================ unary ops
UNARY = {
    "exp": (lambda t: t.exp(), torch.exp, values),
    "log": (lambda t: t.log(), torch.log, positive),
    "sqrt": (lambda t: t.sqrt(), torch.sqrt, positive),
    "tanh": (lambda t: t.tanh(), torch.tanh, values),
    "sigmoid": (lambda t: t.sigmoid(), torch.sigmoid, values),
    "sin": (lambda t: t.sin(), torch.sin, values),
    "erf": (lambda t: t.erf(), torch.erf, values),
    "softplus": (F.softplus, torch.nn.functional.softplus, values),
    "gelu": (F.gelu, torch.nn.functional.gelu, values),
    "relu": (lambda t: t.relu(), torch.relu, distinct),
    "abs": (lambda t: t.abs(), torch.abs, distinct),
    "neg": (lambda t: -t, lambda t: -t, values),
}


@pytest.mark.parametrize("name", list(UNARY))
@checks
@given(shape=shapes(0, 3, min_side=0), dtype=st.sampled_from(FLOATS), data=st.data())
def test_unary_ops_like_pytorch(name, shape, dtype, data):
    ours, theirs, strategy = UNARY[name]
    x = data.draw(strategy(shape)).astype(dtype)
    _compare(ours, theirs, [x])


# ============================================================ reductions
def _dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
@checks
@given(shape=shapes(0, 3, min_side=0), dtype=st.sampled_from(FLOATS), keepdims=st.booleans(),
       data=st.data())
def test_sums_over_any_axes_like_pytorch(name, shape, dtype, keepdims, data):
    axis = data.draw(axes_for(len(shape)))
    x = data.draw(values(shape)).astype(dtype)
    dims = _dims(axis, len(shape))
    if name == "logsumexp":
        theirs = lambda t: torch.logsumexp(t, dim=dims, keepdim=keepdims)  # noqa: E731
    elif axis is None and not keepdims:
        theirs = lambda t: getattr(t, name)()  # noqa: E731
    else:
        theirs = lambda t: getattr(t, name)(dim=dims, keepdim=keepdims)  # noqa: E731
    _compare(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), theirs, [x])


@pytest.mark.parametrize("name", ["max", "min"])
@checks
@given(shape=shapes(0, 3, min_side=0), keepdims=st.booleans(), data=st.data())
def test_max_and_min_over_any_axes_like_pytorch_amax(name, shape, keepdims, data):
    axis = data.draw(axes_for(len(shape)))
    dims = _dims(axis, len(shape))
    assume(all(shape[d] > 0 for d in (dims if isinstance(dims, tuple) else (dims,))))
    x = data.draw(distinct(shape))
    if 0 in shape:  # an empty result: nothing to compare but the shape
        y = getattr(minigrad.tensor(x), name)(axis=axis, keepdims=keepdims)
        t = getattr(torch, "a" + name)(torch.tensor(x), dim=dims, keepdim=keepdims)
        assert y.shape == tuple(t.shape)
        return
    _compare(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
             lambda t: getattr(torch, "a" + name)(t, dim=dims, keepdim=keepdims), [x])


@pytest.mark.parametrize("name", ["var", "std"])
@checks
@given(shape=shapes(0, 3, min_side=1), ddof=st.sampled_from([0, 1]), keepdims=st.booleans(),
       data=st.data())
def test_var_and_std_like_pytorch(name, shape, ddof, keepdims, data):
    axis = data.draw(axes_for(len(shape)))
    dims = _dims(axis, len(shape))
    count = int(np.prod([shape[d] for d in (dims if isinstance(dims, tuple) else (dims,))]))
    assume(count > ddof and count >= 2)  # std of one value has no derivative
    x = data.draw(distinct(shape))
    _compare(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims, ddof=ddof),
             lambda t: getattr(t, name)(dim=dims, keepdim=keepdims, correction=ddof), [x])


@checks
@given(shape=shapes(1, 3, min_side=0), data=st.data())
def test_argmax_and_argmin_like_pytorch(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    assume(shape[axis] > 0)
    x = data.draw(distinct(shape))
    for name in ("argmax", "argmin"):
        y = getattr(minigrad.tensor(x), name)(axis=axis)
        t = getattr(torch.tensor(x), name)(dim=axis)
        assert y.dtype == np.int64 and y.shape == tuple(t.shape)
        np.testing.assert_array_equal(y.data, t.numpy())


@checks
@given(shape=shapes(0, 3, min_side=1), data=st.data())
def test_float16_mean_and_sum_like_pytorch(shape, data):
    x = (data.draw(values(shape, 0.0, 4.0)) * 1000).astype(np.float16)
    for name in ("sum", "mean"):
        y = getattr(minigrad.tensor(x), name)()
        t = getattr(torch.tensor(x), name)()
        assert y.dtype == np.float16
        np.testing.assert_allclose(float(y.item()), float(t.item()), rtol=2e-3)


# ============================================================ indexing
def _positive_steps(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, slice) or p.step is None or p.step > 0 for p in parts)


@checks
@given(shape=shapes(1, 3, min_side=0), data=st.data())
def test_basic_indexing_like_pytorch(shape, data):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    assume(_positive_steps(index))  # PyTorch has no negative steps
    x = data.draw(values(shape))
    _compare(lambda t: t[index], lambda t: t[index], [x])


@checks
@given(shape=shapes(1, 3, min_side=1), data=st.data())
def test_integer_array_indexing_accumulates_like_pytorch(shape, data):
    index = data.draw(hnp.integer_array_indices(shape, result_shape=shapes(1, 2, max_side=4)))
    x = data.draw(values(shape))
    _compare(lambda t: t[index], lambda t: t[tuple(torch.tensor(i) for i in index)], [x])


@checks
@given(shape=shapes(1, 3, min_side=0), data=st.data())
def test_boolean_mask_indexing_like_pytorch(shape, data):
    mask = data.draw(hnp.arrays(np.bool_, shape))
    x = data.draw(values(shape))
    _compare(lambda t: t[mask], lambda t: t[torch.tensor(mask)], [x])


# ============================================================ matrix products
@checks
@given(n=st.integers(1, 3), k=st.integers(0, 3), m=st.integers(1, 3),
       batch=st.sampled_from([(), (2,), (1,)]), other_batch=st.sampled_from([(), (2,)]),
       vector=st.sampled_from(["none", "left", "right"]), data=st.data())
def test_matmul_with_batches_and_vectors_like_pytorch(n, k, m, batch, other_batch, vector, data):
    a_shape = (k,) if vector == "left" else batch + (n, k)
    b_shape = (k,) if vector == "right" else other_batch + (k, m)
    a = data.draw(values(a_shape))
    b = data.draw(values(b_shape))
    _compare(lambda x, y: x @ y, lambda x, y: x @ y, [a, b])

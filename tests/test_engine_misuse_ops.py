"""Ops under misuse: comparisons, type promotion, float16 reductions, logsumexp at
infinities, checked ``.grad`` assignment and reductions of empty tensors.

Each test names the behaviour PyTorch has and that minigrad lacked: ``==`` that compared
identities, int64 × float32 giving float64, float16 means that overflowed, NaN from
logsumexp, ``.grad`` that accepted any array, ``max`` that refused an empty tensor.
"""
import numpy as np
import pytest

import minigrad
import optim
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn.utils import clip_grad_norm_
from minigrad.ops._util import promote_types, result_type
from minigrad.sparse import RowSparseGrad
from optim.adam import Adam
from optim.sgd import SGD

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
CODES = {"b": "bool", "u1": "uint8", "i1": "int8", "i2": "int16", "i4": "int32",
         "i8": "int64", "f2": "float16", "f4": "float32", "f8": "float64"}

# torch.result_type(a, b), rows a and columns b in the order of DTYPES (PyTorch 2.13).
# Both with dimensions:
DIM_DIM = """
     b u1 i1 i2 i4 i8 f2 f4 f8
    u1 u1 i2 i2 i4 i8 f2 f4 f8
    i1 i2 i1 i2 i4 i8 f2 f4 f8
    i2 i2 i2 i2 i4 i8 f2 f4 f8
    i4 i4 i4 i4 i4 i8 f2 f4 f8
    i8 i8 i8 i8 i8 i8 f2 f4 f8
    f2 f2 f2 f2 f2 f2 f2 f4 f8
    f4 f4 f4 f4 f4 f4 f4 f4 f8
    f8 f8 f8 f8 f8 f8 f8 f8 f8
"""
# a with dimensions, b 0-d: b matters only when of a higher kind (bool < int < float)
DIM_ZERO_D = """
     b u1 i1 i2 i4 i8 f2 f4 f8
    u1 u1 u1 u1 u1 u1 f2 f4 f8
    i1 i1 i1 i1 i1 i1 f2 f4 f8
    i2 i2 i2 i2 i2 i2 f2 f4 f8
    i4 i4 i4 i4 i4 i4 f2 f4 f8
    i8 i8 i8 i8 i8 i8 f2 f4 f8
    f2 f2 f2 f2 f2 f2 f2 f2 f2
    f4 f4 f4 f4 f4 f4 f4 f4 f4
    f8 f8 f8 f8 f8 f8 f8 f8 f8
"""
# a with dimensions, b a Python True, 2 and 2.5 (the default dtype float32)
DIM_SCALAR = """
     b i8 f4
    u1 u1 f4
    i1 i1 f4
    i2 i2 f4
    i4 i4 f4
    i8 i8 f4
    f2 f2 f2
    f4 f4 f4
    f8 f8 f8
"""
SCALARS = [True, 2, 2.5]


def _table(text):
    return [[CODES[code] for code in line.split()] for line in text.strip().splitlines()]


def _array(dtype, dims=True):
    return np.ones((2,) if dims else (), dtype=dtype)


def _stored_cases():
    cases = []
    for i, a in enumerate(DTYPES):
        for j, b in enumerate(DTYPES):
            cases.append((a, True, b, True, _table(DIM_DIM)[i][j]))
            cases.append((a, True, b, False, _table(DIM_ZERO_D)[i][j]))
            cases.append((b, False, a, True, _table(DIM_ZERO_D)[i][j]))  # either order
            cases.append((a, False, b, False, _table(DIM_DIM)[i][j]))  # two 0-d: as two dimensioned
    return cases


# ============================================================ == and != are element-wise
def test_equality_is_element_wise_and_gives_a_bool_tensor():
    a, b = minigrad.tensor([1, 2, 3]), minigrad.tensor([1, 0, 3])
    eq, ne = a == b, a != b
    assert eq.dtype == np.bool_ and ne.dtype == np.bool_
    np.testing.assert_array_equal(eq.data, [True, False, True])
    np.testing.assert_array_equal(ne.data, [False, True, False])


def test_accuracy_from_equality_counts_the_matches():
    logits = minigrad.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    y = minigrad.tensor([0, 1, 1, 1])
    correct = logits.argmax(axis=1) == y
    assert correct.astype(np.float32).mean().item() == pytest.approx(0.75)


def test_equality_broadcasts_and_takes_scalars_and_arrays():
    t = minigrad.tensor([[1.0, 2.0], [3.0, 2.0]])
    np.testing.assert_array_equal((t == 2).data, [[False, True], [False, True]])
    np.testing.assert_array_equal((2 == t).data, (t == 2).data)
    np.testing.assert_array_equal((t != np.array([1.0, 2.0])).data,
                                  [[False, False], [True, False]])
    np.testing.assert_array_equal((t == minigrad.tensor([3.0, 2.0])).data, [[False, True], [True, True]])


def test_comparisons_of_tensors_that_require_grad_are_outside_the_graph():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    for result in (w == 1.0, w != 1.0, w < 2.0, w >= w):
        assert not result.requires_grad and result.grad_fn is None


def test_comparison_with_none_or_a_string_is_false_like_pytorch():
    t = minigrad.tensor([1.0, 2.0])
    assert (t == None) is False  # noqa: E711 - the comparison under test
    assert (t != None) is True  # noqa: E711
    assert (t == "a") is False


def test_comparisons_promote_like_arithmetic():
    # int64 and float32 compare in float32 (PyTorch), not float64 (NumPy): 2**24 + 1
    # rounds to 2**24 in float32
    i = minigrad.tensor(np.array([2 ** 24 + 1]))
    f = minigrad.tensor(np.array([2.0 ** 24], dtype=np.float32))
    assert (i == f).data.tolist() == [True]


def test_tensors_stay_hashable_by_identity():
    a, b = minigrad.tensor([1.0, 2.0]), minigrad.tensor([1.0, 2.0])
    assert hash(a) != hash(b)
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert len({a, b, a}) == 2


def test_optimizers_keep_equal_valued_parameters_apart():
    """Parameters with the same values are different keys of the state and positions in
    state_dict; equality that compares values must not merge them."""
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    q = nn.Parameter(np.ones(3, dtype=np.float32))
    opt = Adam([p, q], lr=0.1)
    p.grad = np.full(3, 1.0, np.float32)
    q.grad = np.full(3, -1.0, np.float32)
    opt.step()
    assert opt.state[p]["exp_avg"][0] > 0 > opt.state[q]["exp_avg"][0]
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1]
    fresh = Adam([p, q], lr=0.1)
    fresh.load_state_dict(saved)
    np.testing.assert_array_equal(fresh.state[q]["exp_avg"], opt.state[q]["exp_avg"])
    with pytest.raises(ValueError, match="duplicate"):
        SGD([p, p], lr=0.1)
    SGD([p, q], lr=0.1)  # equal values, different parameters: allowed
    opt.add_param_group({"params": [nn.Parameter(np.ones(3, dtype=np.float32))]})


# ============================================================ type promotion as in PyTorch
def test_the_issue_examples_promote_to_float32():
    i = minigrad.tensor(np.array([1, 2, 3]))
    f = minigrad.tensor(np.array([0.5, 0.5, 0.5], dtype=np.float32))
    assert (i * f).dtype == np.float32
    assert (i * 2.5).dtype == np.float32
    assert (2.5 * i).dtype == np.float32
    assert (i / 2).dtype == np.float32
    assert (i ** 0.5).dtype == np.float32


def test_int_tensor_times_python_float_takes_the_default_dtype():
    minigrad.set_default_dtype(np.float64)
    assert (minigrad.tensor(np.array([1, 2])) * 2.5).dtype == np.float64


@pytest.mark.parametrize("a, a_dims, b, b_dims, expected", _stored_cases())
def test_every_dtype_pair_follows_pytorch(a, a_dims, b, b_dims, expected):
    x, y = minigrad.tensor(_array(a, a_dims)), minigrad.tensor(_array(b, b_dims))
    assert result_type(x, y) == np.dtype(expected)
    assert (x + y).dtype == np.dtype(expected)
    assert (x * y).dtype == np.dtype(expected)
    quotient = np.dtype(expected) if np.dtype(expected).kind == "f" else np.dtype(np.float32)
    assert (x / y).dtype == quotient


@pytest.mark.parametrize("i, a", list(enumerate(DTYPES)))
def test_every_dtype_with_python_scalars_follows_pytorch(i, a):
    x = minigrad.tensor(_array(a))
    for scalar, expected in zip(SCALARS, _table(DIM_SCALAR)[i]):
        assert result_type(x, scalar) == np.dtype(expected)
        assert (x + scalar).dtype == np.dtype(expected)
        assert (scalar * x).dtype == np.dtype(expected)


def test_stored_tables_match_live_pytorch():
    torch = pytest.importorskip("torch")
    for a, a_dims, b, b_dims, expected in _stored_cases():
        ta = torch.ones((2,) if a_dims else (), dtype=getattr(torch, a))
        tb = torch.ones((2,) if b_dims else (), dtype=getattr(torch, b))
        assert str(torch.result_type(ta, tb)) == f"torch.{expected}", (a, a_dims, b, b_dims)
    for i, a in enumerate(DTYPES):
        ta = torch.ones(2, dtype=getattr(torch, a))
        for scalar, expected in zip(SCALARS, _table(DIM_SCALAR)[i]):
            assert str(torch.result_type(ta, scalar)) == f"torch.{expected}"


def test_promote_types_differs_from_numpy_only_between_ints_and_floats():
    for a in DTYPES:
        for b in DTYPES:
            ours, numpy = promote_types(a, b), np.promote_types(a, b)
            mixed = (np.dtype(a).kind == "f") != (np.dtype(b).kind == "f")
            assert ours == numpy or mixed, (a, b)


def test_mixed_dtype_gradients_reach_the_float_input_in_its_dtype():
    w = minigrad.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    counts = minigrad.tensor(np.array([3, 4]))
    (w * counts).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_small_integer_scalars_wrap_like_pytorch():
    t = minigrad.tensor(np.array([1], dtype=np.int8))
    assert (t * 300).data.tolist() == [44] and (t * 300).dtype == np.int8


def test_concatenate_promotes_like_pytorch():
    joined = minigrad.cat([minigrad.tensor(np.array([1, 2])),
                           minigrad.tensor(np.array([0.5], dtype=np.float32))])
    assert joined.dtype == np.float32


# ============================================================ float16 reductions in float32
def _half(values):
    return minigrad.tensor(np.asarray(values, dtype=np.float16))


def test_float16_mean_of_many_ones_is_one():
    m = _half(np.ones(100_000)).mean()
    assert m.dtype == np.float16 and m.item() == 1.0


def test_float16_mse_loss_of_an_image_is_finite():
    rng = np.random.default_rng(0)
    image = rng.standard_normal((256, 256)).astype(np.float16)  # a normalised image
    target = rng.standard_normal((256, 256)).astype(np.float16)
    loss = F.mse_loss(_half(image), _half(target))  # Σ of squares ≈ 131 000 > 65 504
    expected = np.mean((image.astype(np.float64) - target.astype(np.float64)) ** 2)
    assert loss.dtype == np.float16
    assert loss.item() == pytest.approx(expected, rel=2e-3)


def test_float16_sum_over_an_outer_axis_does_not_overflow_midway():
    # NumPy adds rows one by one in float16 here: 60000 + 60000 is already inf
    column = np.array([60000.0, 60000.0, -60000.0, -59008.0], np.float16)
    total = _half(np.tile(column[:, None], (1, 3))).sum(axis=0)
    assert total.dtype == np.float16 and total.data.tolist() == [992.0] * 3


@pytest.mark.parametrize("name", ["var", "std"])
def test_float16_var_and_std_of_large_values_are_finite(name):
    values = np.tile(np.array([-10.0, 10.0], dtype=np.float16), 50_000)  # Σ squares: 1e7
    result = getattr(_half(values), name)()
    expected = getattr(values.astype(np.float64), name)()
    assert result.dtype == np.float16
    assert result.item() == pytest.approx(expected, rel=1e-3)


def test_float16_reductions_still_differentiate_in_float16():
    values = np.tile(np.array([-1.0, 1.0], dtype=np.float16), 500)
    x = minigrad.tensor(values, requires_grad=True)
    (x.mean() + x.std()).backward()
    assert x.grad.dtype == np.float16
    expected = 1e-3 + values.astype(np.float64) / 1000  # d std/dx = (x − mean)/(n·std)
    np.testing.assert_allclose(x.grad.astype(np.float64), expected, rtol=1e-3)


def test_float16_gradient_norm_is_computed_in_float32():
    w = nn.Parameter(np.zeros(4, dtype=np.float16))
    w.grad = np.full(4, 300.0, dtype=np.float16)  # squares overflow float16, the norm does not
    total = clip_grad_norm_([w], max_norm=1e6)
    assert total.dtype == np.float16 and total.item() == 600.0
    assert minigrad.monitor.grad_norms([w])[1] == 600.0


def test_float16_reductions_in_autocast_stay_float32():
    from minigrad.amp import autocast

    x = _half(np.arange(4.0))
    with autocast():
        assert x.mean().dtype == np.float32 and x.var().dtype == np.float32
        assert x.std().dtype == np.float32 and x.sum().dtype == np.float32


# ============================================================ logsumexp at infinities
INF = np.inf


@pytest.mark.parametrize("values, value, grad", [
    ([-INF, -INF], -INF, [np.nan, np.nan]),
    ([INF, 0.0], INF, [np.nan, 0.0]),
    ([INF, -INF], INF, [np.nan, 0.0]),
    ([-INF, 1.0], 1.0, [0.0, 1.0]),
    ([1000.0, 0.0], 1000.0, [1.0, 0.0]),
])
def test_logsumexp_at_infinities_matches_pytorch(values, value, grad):
    x = minigrad.tensor(values, dtype=np.float64, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = minigrad.logsumexp(x)
        y.backward()
    assert y.item() == value
    np.testing.assert_array_equal(x.grad, grad)  # NaN only where PyTorch has NaN


def test_logsumexp_rows_with_infinities_leave_the_other_rows_alone():
    x = minigrad.tensor([[-INF, -INF], [0.0, np.log(3.0)], [INF, 1.0]], dtype=np.float64,
                        requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.logsumexp(axis=1)
        y.sum().backward()
    np.testing.assert_allclose(y.data, [-INF, np.log(4.0), INF])
    np.testing.assert_allclose(x.grad[1], [0.25, 0.75])
    assert x.grad[2, 1] == 0.0


def test_logsumexp_of_an_empty_axis_is_minus_infinity():
    y = minigrad.tensor(np.zeros((0, 3))).logsumexp(axis=0)
    np.testing.assert_array_equal(y.data, [-INF] * 3)


def test_logsumexp_matches_live_pytorch_at_infinities():
    torch = pytest.importorskip("torch")
    cases = [[-INF, -INF], [INF, 0.0], [INF, INF], [-INF, 2.0], [np.nan, 1.0], [3.0, -1.0]]
    for values in cases:
        ours = minigrad.tensor(values, dtype=np.float64, requires_grad=True)
        theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        with np.errstate(invalid="ignore"):
            y = ours.logsumexp()
            y.backward()
        t = torch.logsumexp(theirs, 0)
        t.backward()
        np.testing.assert_array_equal(y.data, t.detach().numpy())
        np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_logsumexp_has_a_second_derivative():
    x = minigrad.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    (g,) = minigrad.grad(x.logsumexp(), [x], create_graph=True)
    (h,) = minigrad.grad((g * minigrad.tensor([1.0, 0.0, 0.0], dtype=np.float64)).sum(), [x])
    p = np.exp(x.data) / np.exp(x.data).sum()
    np.testing.assert_allclose(h.data, p[0] * (np.eye(3)[0] - p))  # row 0 of diag(p) − ppᵀ


# ============================================================ .grad assignment is checked
def test_grad_of_another_shape_is_refused():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    opt = SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        p.grad = np.ones(1, dtype=np.float32)  # would broadcast into a (1,) momentum buffer
    assert p.grad is None
    p.grad = np.ones(3, dtype=np.float32)
    opt.step()
    assert opt.state[p]["momentum_buffer"].shape == (3,)


def test_grad_of_another_dtype_is_refused():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    with pytest.raises(RuntimeError, match="assigned grad has data of a different type"):
        p.grad = np.ones(3)  # float64: would make float64 optimizer state


def test_grad_that_is_not_an_array_is_refused():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="assigned grad expected"):
        p.grad = [1.0, 2.0, 3.0]


def test_a_tensor_assigned_to_grad_gives_its_array_and_adam_steps():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    g = minigrad.tensor([1.0, -1.0, 2.0])
    p.grad = g
    assert type(p.grad) is np.ndarray and p.grad is g.data
    opt = Adam([p], lr=0.1)
    opt.step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1, -0.1], rtol=1e-5)
    assert opt.state[p]["exp_avg"].dtype == np.float32


def test_row_sparse_gradient_is_kept_as_it_is():
    p = nn.Parameter(np.zeros((4, 2), dtype=np.float32))
    g = RowSparseGrad(np.zeros((4, 2), dtype=np.float32), rows=[1])
    p.grad = g
    assert p.grad is g and p.grad.rows.tolist() == [1]


def test_numpy_scalar_is_a_0d_gradient():
    p = minigrad.tensor(1.0, requires_grad=True)
    p.grad = np.float32(2.0) * p.data  # NumPy gives a scalar, not a 0-d array
    assert isinstance(p.grad, np.ndarray) and p.grad.shape == () and p.grad == 2.0


def test_backward_and_none_still_work_after_the_checks():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    (p * p).sum().backward()
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [4.0, 4.0])
    p.grad = None
    assert p.grad is None
    model = nn.Linear(2, 1)
    model(minigrad.tensor([[1.0, 2.0]])).sum().backward()
    model.double()  # .to() converts data, then grad: both float64, accepted
    assert model.weight.grad.dtype == np.float64
    optim.SGD(model.parameters(), lr=0.1).step()


# ============================================================ reductions of empty tensors
@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_reducing_an_empty_tensor_over_a_non_empty_axis_is_empty(name):
    x = minigrad.tensor(np.zeros((0, 1)))
    result = getattr(x, name)(axis=1)
    assert result.shape == (0,)
    assert getattr(x, name)(axis=1, keepdims=True).shape == (0, 1)


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_reducing_over_an_axis_of_size_zero_is_a_clear_error(name):
    x = minigrad.tensor(np.zeros((0, 1)))
    with pytest.raises(ValueError, match="axis 0, which has size 0"):
        getattr(x, name)(axis=0)
    with pytest.raises(ValueError, match="zero-size"):
        getattr(x, name)()


def test_max_over_a_non_empty_axis_of_an_empty_tensor_differentiates():
    x = minigrad.tensor(np.zeros((0, 3)), requires_grad=True)
    x.max(axis=1).sum().backward()
    assert x.grad.shape == (0, 3)


def test_argmax_gives_int64_positions_like_pytorch():
    x = minigrad.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]], requires_grad=True)
    assert x.argmax(axis=1).data.tolist() == [1, 0]  # ties: the first
    assert x.argmin(dim=1, keepdim=True).data.tolist() == [[0], [1]]
    assert x.argmax().item() == 3 and x.argmax().dtype == np.int64
    assert not x.argmax().requires_grad

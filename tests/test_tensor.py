"""The Tensor object: creation and dtype rules, requires_grad, conversions, printing,
identity hashing, in-place methods and the factory functions."""
import numpy as np
import pytest

import minigrad
from minigrad import Parameter, Tensor


# ====================================================================== creation, dtypes
def test_python_floats_and_lists_become_float32_by_default():
    assert minigrad.get_default_dtype() == np.float32
    assert minigrad.tensor([1.0]).dtype == np.float32
    assert minigrad.tensor(1.0).dtype == np.float32
    assert minigrad.tensor([[1.0, 2], [3, 4]]).dtype == np.float32


def test_python_ints_become_int64_and_bools_stay_bool():
    assert minigrad.tensor([1, 2]).dtype == np.int64
    assert minigrad.tensor(3).dtype == np.int64
    assert minigrad.tensor([True, False]).dtype == np.bool_


def test_ndarrays_and_numpy_scalars_keep_their_dtype():
    for dtype in (np.float16, np.float32, np.float64, np.int32, np.int64):
        assert minigrad.tensor(np.zeros(2, dtype=dtype)).dtype == dtype
    assert minigrad.tensor(np.float64(1.5)).dtype == np.float64
    assert minigrad.tensor(np.float16(1.5)).shape == ()


def test_dtype_argument_overrides_the_inferred_dtype():
    assert minigrad.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert minigrad.tensor(np.zeros(2), dtype=minigrad.float16).dtype == np.float16


def test_set_default_dtype_changes_what_python_numbers_become():
    minigrad.set_default_dtype(np.float64)
    assert minigrad.get_default_dtype() == np.float64
    assert minigrad.tensor([1.0]).dtype == np.float64
    assert minigrad.zeros(2).dtype == np.float64
    assert (minigrad.tensor([1, 2]) / minigrad.tensor([2, 2])).dtype == np.float64
    minigrad.set_default_dtype(np.float16)
    assert minigrad.tensor(1.0).dtype == np.float16
    minigrad.set_default_dtype(np.float32)
    assert minigrad.tensor([1.0]).dtype == np.float32


def test_set_default_dtype_rejects_non_float_dtypes():
    with pytest.raises(TypeError, match="float16, float32 and float64"):
        minigrad.set_default_dtype(np.int64)
    assert minigrad.get_default_dtype() == np.float32


def test_tensor_copies_its_input():
    source = np.array([1.0, 2.0])
    t = minigrad.tensor(source)
    source[0] = 9.0
    assert t.data[0] == 1.0
    u = minigrad.tensor(t)
    u.data[1] = 7.0
    assert t.data[1] == 2.0


def test_unsupported_dtypes_are_rejected():
    with pytest.raises(TypeError, match="unsupported dtype"):
        minigrad.tensor(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="unsupported dtype"):
        minigrad.tensor(np.array([1 + 2j]))


def test_factories_follow_the_default_dtype_and_their_arguments():
    assert minigrad.zeros(2, 3).shape == (2, 3)
    assert minigrad.zeros((2, 3)).dtype == np.float32
    assert minigrad.ones(2, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(minigrad.full((2,), 7.0).data, [7.0, 7.0])
    assert minigrad.arange(3).dtype == np.int64
    assert minigrad.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert minigrad.linspace(0, 1, 5).shape == (5,)
    np.testing.assert_array_equal(minigrad.eye(2).data, np.eye(2))
    x = minigrad.randn(3, requires_grad=True)
    assert x.requires_grad and x.dtype == np.float32
    like = minigrad.zeros_like(minigrad.tensor(np.ones((2, 2))))
    assert like.shape == (2, 2) and like.dtype == np.float64
    assert minigrad.ones_like(x).dtype == np.float32
    with pytest.raises(ValueError, match="non-negative"):
        minigrad.zeros(-1)


def test_manual_seed_makes_random_factories_reproducible():
    minigrad.manual_seed(3)
    a = minigrad.rand(4)
    minigrad.manual_seed(3)
    b = minigrad.rand(4)
    np.testing.assert_array_equal(a.data, b.data)


# ====================================================================== requires_grad
@pytest.mark.parametrize("make", [
    lambda: minigrad.tensor([1, 2], requires_grad=True),
    lambda: minigrad.tensor([True], requires_grad=True),
    lambda: minigrad.tensor([1, 2]).requires_grad_(),
    lambda: Parameter(np.arange(3)),
    lambda: minigrad.zeros(2, dtype=np.int64, requires_grad=True),
], ids=["tensor", "bool", "requires_grad_", "Parameter", "zeros"])
def test_integer_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(RuntimeError,
                       match="floating point dtype can require gradients, got (int64|bool)"):
        make()


def test_float16_float32_float64_tensors_can_require_grad():
    for dtype in (np.float16, np.float32, np.float64):
        x = minigrad.tensor(np.ones(2, dtype=dtype), requires_grad=True)
        (x * x).sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_requires_grad_can_be_turned_off_only_on_a_leaf():
    x = minigrad.tensor([1.0], requires_grad=True)
    assert x.requires_grad_(False) is x and not x.requires_grad
    x.requires_grad_()
    y = x * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_parameter_requires_grad_by_default_and_accepts_tensors():
    p = Parameter(minigrad.tensor([1.0, 2.0]))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    assert not Parameter(np.zeros(2), requires_grad=False).requires_grad


def test_results_of_ops_on_grad_tensors_are_non_leaves_with_a_grad_fn():
    x = minigrad.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    z = minigrad.tensor([1.0]) * 2.0
    assert not z.requires_grad and z.is_leaf


# ====================================================================== conversions
def test_item_returns_a_python_number_for_one_element_tensors():
    assert minigrad.tensor(2.5).item() == 2.5
    assert isinstance(minigrad.tensor([[2.5]]).item(), float)
    assert isinstance(minigrad.tensor(3).item(), int)
    x = minigrad.tensor(1.5, requires_grad=True)
    assert x.item() == 1.5  # item works on tensors that require grad
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        minigrad.tensor([1.0, 2.0]).item()


def test_numpy_refuses_tensors_that_require_grad_and_points_to_detach():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    array = x.detach().numpy()
    assert isinstance(array, np.ndarray)
    np.testing.assert_array_equal(array, [1.0, 2.0])
    np.testing.assert_array_equal(minigrad.tensor([3.0]).numpy(), [3.0])


def test_tolist_float_int_and_bool_conversions():
    assert minigrad.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert float(minigrad.tensor(2.5)) == 2.5
    assert int(minigrad.tensor(3.0)) == 3
    assert bool(minigrad.tensor([1.0])) is True
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(minigrad.tensor([1.0, 2.0]))


def test_len_and_shape_properties():
    x = minigrad.tensor(np.zeros((3, 2)))
    assert len(x) == 3
    assert x.shape == (3, 2) and x.ndim == 2 and x.size == 6 and x.numel() == 6
    assert x.device == "cpu" and x.xp is np
    with pytest.raises(TypeError, match="0-d"):
        len(minigrad.tensor(1.0))


def test_comparisons_give_boolean_tensors_outside_the_graph():
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [False, True, True])
    np.testing.assert_array_equal((x <= minigrad.tensor([1.0, 1.0, 4.0])).data,
                                  [True, False, True])
    np.testing.assert_array_equal((x >= 2.0).data, [False, True, True])
    np.testing.assert_array_equal((x < 2.0).data, [True, False, False])


def test_astype_to_and_clone_are_differentiable():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * 3.0).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert x.to(np.float16).dtype == np.float16
    assert x.to("cpu") is x
    c = x.clone()
    assert c is not x and not np.shares_memory(c.data, x.data)
    assert c.requires_grad and c.grad_fn is not None


# ====================================================================== printing, hashing
def test_repr_shows_values_and_only_the_interesting_extras():
    assert repr(minigrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(minigrad.tensor(1.5)) == "tensor(1.5)"
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2.0) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(minigrad.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"
    assert repr(minigrad.tensor(np.zeros(1))) == "tensor([0.], dtype=float64)"
    assert repr(Parameter(np.array([1.0]))).startswith("Parameter containing:\ntensor([1.]")
    multi_line = repr(minigrad.tensor(np.arange(4.0).reshape(2, 2)))
    assert multi_line == "tensor([[0., 1.],\n        [2., 3.]], dtype=float64)"


def test_tensor_hash_is_identity_so_equal_values_are_distinct_keys():
    a, b = minigrad.tensor([1.0]), minigrad.tensor([1.0])
    assert hash(a) == id(a) and hash(a) != hash(b)
    state = {a: "a", b: "b"}
    assert state[a] == "a" and state[b] == "b"
    assert len({a, b, a}) == 2
    assert a in state and minigrad.tensor([1.0]) not in state
    p = Parameter(np.zeros(2))
    assert {p: 1}[p] == 1


# ====================================================================== in-place methods
def test_in_place_methods_change_values_under_no_grad_and_return_self():
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with minigrad.no_grad():
        assert x.add_(1.0) is x
        np.testing.assert_array_equal(x.data, [2.0, 3.0, 4.0])
        x.add_(np.array([1.0, 1.0, 1.0]), alpha=-2.0)
        np.testing.assert_array_equal(x.data, [0.0, 1.0, 2.0])
        x.mul_(minigrad.tensor([2.0, 2.0, 2.0]))
        x.div_(4.0)
        np.testing.assert_array_equal(x.data, [0.0, 0.5, 1.0])
        x.clamp_(0.25, 0.75)
        np.testing.assert_array_equal(x.data, [0.25, 0.5, 0.75])
        x[0] = 9.0
        x.copy_(np.array([1.0, 1.0, 1.0]))
        x.fill_(2.0)
        np.testing.assert_array_equal(x.data, [2.0, 2.0, 2.0])
        x.zero_()
    np.testing.assert_array_equal(x.data, [0.0, 0.0, 0.0])
    assert x.dtype == np.float32 and x.requires_grad


def test_in_place_methods_keep_the_dtype_of_the_tensor():
    x = minigrad.tensor(np.ones(2, dtype=np.float32))
    x.mul_(np.float64(3.0))
    x.add_(np.array([0.5, 0.5]))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.data, [3.5, 3.5])


def test_in_place_methods_on_a_tensor_without_grad_work_in_grad_mode():
    x = minigrad.tensor([1.0, 2.0])
    x.add_(1.0)
    x[1] = 0.0
    np.testing.assert_array_equal(x.data, [2.0, 0.0])


def test_in_place_changes_and_data_assignment_bump_the_version():
    x = minigrad.tensor([1.0, 2.0])
    versions = [x._version]
    x.add_(1.0)
    versions.append(x._version)
    x[0] = 3.0
    versions.append(x._version)
    x.data -= 1.0
    versions.append(x._version)
    x.data = np.array([0.0, 0.0], dtype=np.float32)
    versions.append(x._version)
    assert versions == sorted(set(versions)) and len(versions) == 5


def test_assigning_data_keeps_an_array_and_the_dtype():
    x = minigrad.tensor([1.0, 2.0])
    x.data = [3.0, 4.0]
    assert isinstance(x.data, np.ndarray) and x.dtype == np.float32
    np.testing.assert_array_equal(x.data, [3.0, 4.0])


def test_in_place_add_and_sub_keep_an_integer_dtype():
    counter = minigrad.tensor(np.array(3, dtype=np.int64))
    counter.add_(1)
    counter.sub_(2, alpha=2)
    assert counter.dtype == np.int64 and counter.item() == 0


def test_importing_minigrad_makes_its_subpackages_available():
    import subprocess
    import sys

    code = "import minigrad; print(minigrad.nn.Linear.__name__, minigrad.data.DataLoader.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Linear", "DataLoader"]

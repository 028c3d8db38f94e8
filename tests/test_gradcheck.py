"""minigrad.gradcheck itself: it accepts correct gradients, catches wrong ones (naming
the input and the index), and leaves the caller's tensors alone."""
import re

import numpy as np
import pytest

import minigrad
from minigrad import Function, GradcheckError


class WrongSquare(Function):
    """y = x², with the factor 2 of the derivative forgotten."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x


class MulWrongAtOneIndex(Function):
    """y = a·b whose gradient for b is wrong at the single index (1, 2)."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        spoil = np.ones(b.shape)
        spoil[1, 2] = 1.5
        return gy * b, gy * a * minigrad.tensor(spoil)


class SlightlyOffSin(Function):
    """y = sin x with a derivative 0.01 % too large."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * minigrad.cos(x) * (1 + 1e-4)


class WrongShape(Function):
    """y = 2x whose backward returns a gradient of the wrong shape."""

    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        return gy.sum()


def test_gradcheck_returns_true_for_correct_gradients(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3,))
    assert minigrad.gradcheck(lambda x, y: (x * y).tanh() @ y, [a, b]) is True
    assert minigrad.gradcheck(lambda x: x.exp().sum(), [np.array(0.3)]) is True
    assert minigrad.gradcheck(lambda x: (x * 2, x.sin()), [a]) is True  # several outputs


def test_gradcheck_raises_for_a_wrong_backward_naming_input_and_index():
    x = minigrad.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3,\)\) at index \(0,\)"):
        minigrad.gradcheck(lambda t: WrongSquare()(t), [x])


def test_gradcheck_names_the_second_input_and_the_exact_wrong_index(rng):
    a, b = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2, 4\)\) at index \(1, 2\)"):
        minigrad.gradcheck(lambda x, y: MulWrongAtOneIndex()(x, y), [a, b])


def test_gradcheck_error_reports_analytic_and_numerical_values():
    pattern = r"analytic (\S+) vs numerical (\S+) "
    with pytest.raises(GradcheckError, match=pattern) as info:
        minigrad.gradcheck(lambda t: WrongSquare()(t), [np.array([3.0])])
    analytic, numerical = (float(v) for v in re.search(pattern, str(info.value)).groups())
    assert numerical == pytest.approx(2 * analytic, rel=1e-6)  # the forgotten factor 2


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_gradcheck_returns_false_instead_of_raising_when_asked():
    x = np.array([0.5, 2.0])
    assert minigrad.gradcheck(lambda t: WrongSquare()(t), [x], raise_exception=False) is False
    assert minigrad.gradcheck(lambda t: t * t, [x], raise_exception=False) is True


def test_gradcheck_tolerance_decides_about_small_errors():
    x = np.array([0.3, 1.1, -0.7])
    assert minigrad.gradcheck(lambda t: SlightlyOffSin()(t), [x])
    assert not minigrad.gradcheck(lambda t: SlightlyOffSin()(t), [x], atol=0.0, rtol=1e-7,
                                  raise_exception=False)


def test_gradcheck_reports_a_gradient_of_the_wrong_shape():
    with pytest.raises(GradcheckError, match=r"gradient of input 0 has shape \(\)"):
        minigrad.gradcheck(lambda t: WrongShape()(t), [np.ones(3)])


def test_gradcheck_does_not_change_the_callers_tensors():
    x = minigrad.tensor([0.25, 0.5, 0.75], requires_grad=True)  # float32
    w = minigrad.tensor(np.array([1.0, 2.0, 3.0]))
    before, version = x.data.copy(), x._version
    data_object = x.data
    assert minigrad.gradcheck(lambda a, b: (a * b).sin(), [x, w])
    assert x.data is data_object and x.dtype == np.float32
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None and w.grad is None
    assert x.requires_grad and not w.requires_grad
    assert x._version == version
    np.testing.assert_array_equal(w.data, [1.0, 2.0, 3.0])


def test_gradcheck_does_not_change_plain_array_inputs():
    a = np.array([[0.1, 0.2], [0.3, 0.4]])
    before = a.copy()
    assert minigrad.gradcheck(lambda t: t.exp(), [a])
    np.testing.assert_array_equal(a, before)


def test_gradcheck_checks_only_the_inputs_that_require_grad():
    x = minigrad.tensor([0.5, 2.0], requires_grad=True)
    c = minigrad.tensor([1.0, 3.0])  # not checked: its wrong gradient goes unnoticed
    assert minigrad.gradcheck(lambda a, b: a * WrongSquare()(b), [x, c])
    c.requires_grad_()
    assert not minigrad.gradcheck(lambda a, b: a * WrongSquare()(b), [x, c],
                                  raise_exception=False)


def test_gradcheck_passes_integer_inputs_through_unchecked():
    x = np.array([1.0, 2.0, 3.0])
    index = np.array([0, 0, 2])
    assert minigrad.gradcheck(lambda t, i: t[i] * 2.0, [x, index])


def test_gradcheck_accepts_an_input_the_function_does_not_use():
    a, b = np.array([1.0, 2.0]), np.array([3.0])
    assert minigrad.gradcheck(lambda x, y: x * 2.0, [a, b])


def test_gradcheck_works_on_non_contiguous_inputs(rng):
    transposed = rng.normal(size=(3, 4)).T  # a Fortran-ordered view
    weights = np.arange(12.0).reshape(4, 3)
    assert minigrad.gradcheck(lambda t: t * weights, [transposed])
    as_tensor = minigrad.Tensor(rng.normal(size=(3, 4)).T, requires_grad=True)
    assert minigrad.gradcheck(lambda t: (t * weights).sum(), [as_tensor])


def test_gradcheck_computes_in_float64_whatever_the_input_dtype():
    x = minigrad.tensor(np.array([0.3, 0.9], dtype=np.float16), requires_grad=True)
    seen = []

    def fn(t):
        seen.append(t.dtype)
        return t ** 3

    assert minigrad.gradcheck(fn, [x], atol=1e-8, rtol=1e-6)
    assert set(seen) == {np.dtype(np.float64)}

"""optim.checker: a correct candidate passes, a wrong one is caught where it first differs."""
import numpy as np
import pytest

import optim
from optim.checker import CheckResult, Problem, compare_with_reference, default_problems

ADAM = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8}
ADAM_FN = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def textbook_adam(param, grad, state, *, step, lr, beta1, beta2, eps, eps_inside=False):
    if not state:
        state["m"], state["v"] = np.zeros_like(param), np.zeros_like(param)
    m, v = state["m"], state["v"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    if eps_inside:  # the "efficient" variant: ε added before the bias correction of √v
        param -= lr * m_hat / ((np.sqrt(v) + eps) / np.sqrt(1 - beta2 ** step))
    else:
        param -= lr * m_hat / (np.sqrt(v_hat) + eps)


def test_correct_update_function_passes_against_adam():
    result = compare_with_reference(textbook_adam, optim.Adam, hyperparams=ADAM,
                                    candidate_hyperparams=ADAM_FN)
    assert result.passed and bool(result)
    assert "OK" in str(result)


def test_the_same_class_on_both_sides_passes():
    assert compare_with_reference(optim.RMSprop, optim.RMSprop, hyperparams={"lr": 0.01})


def test_a_different_optimizer_fails_at_the_first_step():
    result = compare_with_reference(optim.Adam, optim.AdamW, hyperparams=ADAM)
    assert not result.passed
    assert (result.problem, result.step, result.parameter) == ("quadratic bowl", 1, 0)


def test_misplaced_epsilon_is_caught_with_default_tolerances():
    eps_moved = dict(ADAM_FN, eps_inside=True, eps=1e-3)
    result = compare_with_reference(textbook_adam, optim.Adam, hyperparams=dict(ADAM, eps=1e-3),
                                    candidate_hyperparams=eps_moved)
    assert not result.passed and result.step == 1


@pytest.mark.parametrize("bad_step", [1, 4, 7])
def test_reports_the_step_where_the_candidate_first_differs(bad_step):
    def drifting_sgd(param, grad, state, *, step, lr):
        param -= lr * grad * (1.001 if step == bad_step else 1.0)

    result = compare_with_reference(drifting_sgd, optim.SGD, hyperparams={"lr": 0.01})
    assert result.step == bad_step
    assert result.problem == "quadratic bowl"
    assert result.index == (0,)  # every element drifts; the first one is reported
    assert result.candidate_value != result.reference_value
    assert f"step {bad_step}" in str(result)


def test_names_the_parameter_that_differs():
    def bias_frozen_sgd(param, grad, state, *, step, lr):
        if param.ndim == 2:
            param -= lr * grad

    result = compare_with_reference(bias_frozen_sgd, optim.SGD, hyperparams={"lr": 0.01},
                                    problems=default_problems()[2:])
    assert (result.problem, result.step, result.parameter) == ("least squares (W, b)", 1, 1)


def test_candidate_that_raises_is_reported_not_propagated():
    def broken(param, grad, state, *, step, lr):
        grad *= 2  # writing to grad is not allowed: it is read-only here

    result = compare_with_reference(broken, optim.SGD, hyperparams={"lr": 0.01})
    assert not result.passed and result.step == 1
    assert isinstance(result.error, ValueError)
    assert "raised" in str(result)


def test_custom_problem_and_steps():
    problem = Problem("line", [np.array([4.0])], lambda params: [2 * params[0]])
    result = compare_with_reference(optim.SGD, optim.SGD, hyperparams={"lr": 0.1},
                                    problems=[problem], steps=3)
    assert isinstance(result, CheckResult) and result.passed
    assert result.problems == ["line"] and result.steps == 3


@pytest.mark.parametrize("kwargs, match", [({"steps": 0}, "steps"), ({"rtol": -1.0}, "rtol"),
                                           ({"problems": []}, "problems")])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_with_reference(optim.SGD, optim.SGD, hyperparams={"lr": 0.1}, **kwargs)


def test_optimizer_that_needs_a_closure_is_refused():
    with pytest.raises(ValueError, match="closure"):
        compare_with_reference(optim.SGD, optim.LBFGS, hyperparams={"lr": 0.1})


def test_not_an_optimizer_raises_type_error():
    with pytest.raises(TypeError, match="update function"):
        compare_with_reference(42, optim.SGD, hyperparams={"lr": 0.1})

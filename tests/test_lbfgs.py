"""LBFGS beyond the PyTorch trajectories: the line search, the two-loop recursion, the class."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
import optim
from optim.lbfgs import lbfgs_direction
from optim.line_search import cubic_interpolate, strong_wolfe

C1, C2 = 1e-4, 0.9


# ----------------------------------------------------------------- cubic interpolation
def test_cubic_interpolate_finds_the_minimum_of_a_cubic():
    f = lambda x: x ** 3 - 3 * x          # local minimum at x = 1  # noqa: E731
    df = lambda x: 3 * x ** 2 - 3         # noqa: E731
    assert cubic_interpolate(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0)) == pytest.approx(1.0)
    # the points may come in either order
    assert cubic_interpolate(2.0, f(2.0), df(2.0), 0.0, f(0.0), df(0.0)) == pytest.approx(1.0)


def test_cubic_interpolate_is_exact_on_a_parabola_and_respects_bounds():
    f = lambda x: (x - 0.3) ** 2           # noqa: E731
    df = lambda x: 2 * (x - 0.3)           # noqa: E731
    assert cubic_interpolate(-1.0, f(-1.0), df(-1.0), 1.0, f(1.0), df(1.0)) == pytest.approx(0.3)
    clipped = cubic_interpolate(-1.0, f(-1.0), df(-1.0), 1.0, f(1.0), df(1.0), bounds=(0.5, 2.0))
    assert clipped == 0.5


def test_cubic_interpolate_without_a_minimum_returns_the_midpoint():
    # slopes −5 at both ends but a secant slope of −4: the cubic has no critical point
    assert cubic_interpolate(0.0, 0.0, -5.0, 1.0, -4.0, -5.0, bounds=(2.0, 4.0)) == 3.0


def test_cubic_interpolate_with_a_non_finite_value_returns_the_midpoint():
    # infinite losses at both points make d2^2 NaN; PyTorch falls back to the midpoint
    assert cubic_interpolate(0.0, float("inf"), -1.0, 2.0, float("inf"), 1.0) == 1.0
    assert cubic_interpolate(0.0, 1.0, float("nan"), 2.0, 0.0, 1.0, bounds=(0.0, 1.0)) == 0.5


# ----------------------------------------------------------------- strong Wolfe
def _problem(rng, dim):
    a = rng.standard_normal((dim, dim))
    a = a @ a.T + 0.1 * np.eye(dim)
    b = rng.standard_normal(dim)
    f = lambda x: float(0.5 * x @ a @ x - b @ x + np.sum(np.cos(3 * x)))  # noqa: E731
    g = lambda x: a @ x - b - 3 * np.sin(3 * x)                           # noqa: E731
    return f, g, rng.standard_normal(dim)


@pytest.mark.parametrize("first_step", [1e-3, 1.0, 30.0])  # extrapolate, accept, zoom
def test_strong_wolfe_returns_a_point_that_satisfies_both_conditions(rng, first_step):
    checked = 0
    for _ in range(50):
        f, g, x = _problem(rng, int(rng.integers(1, 5)))
        d = -g(x)
        loss, grad = f(x), g(x)
        gtd = float(grad @ d)
        calls = []

        def evaluate(t):
            calls.append(t)
            return f(x + t * d), g(x + t * d)

        new_loss, new_grad, t, evals = strong_wolfe(evaluate, first_step, d, loss, grad, gtd)
        assert evals == len(calls) <= 26
        assert new_loss == f(x + t * d)
        np.testing.assert_array_equal(new_grad, g(x + t * d))
        if evals < 25:  # not cut short: the strong Wolfe conditions hold
            assert new_loss <= loss + C1 * t * gtd
            assert abs(float(new_grad @ d)) <= -C2 * gtd + 1e-12
            checked += 1
    assert checked > 40


def test_strong_wolfe_stops_after_max_ls_evaluations_with_a_decrease(rng):
    f, g, x = _problem(rng, 3)
    d = -g(x)
    evaluate = lambda t: (f(x + t * d), g(x + t * d))  # noqa: E731
    new_loss, _, t, evals = strong_wolfe(evaluate, 1e-6, d, f(x), g(x), float(g(x) @ d), max_ls=2)
    assert evals <= 3 and new_loss <= f(x)


# ----------------------------------------------------------------- two-loop recursion
def _dense_bfgs_inverse(pairs, gamma, n):
    """H from H₀ = γI by the BFGS update H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ."""
    h = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        left = np.eye(n) - rho * np.outer(s, y)
        h = left @ h @ left.T + rho * np.outer(s, s)
    return h


def test_two_loop_recursion_equals_the_dense_bfgs_inverse_hessian(rng):
    n = 6
    a = rng.standard_normal((n, n))
    hessian = a @ a.T + np.eye(n)
    pairs = []
    for _ in range(4):
        s = rng.standard_normal(n)
        pairs.append((s, hessian @ s))   # y = A s: positive curvature
    old_stps = [s for s, _ in pairs]
    old_dirs = [y for _, y in pairs]
    ro = [1.0 / (y @ s) for s, y in pairs]
    s, y = pairs[-1]
    gamma = (s @ y) / (y @ y)
    grad = rng.standard_normal(n)
    before = [v.copy() for v in old_dirs + old_stps + [grad]]

    al = [None] * 10
    d = lbfgs_direction(grad, old_dirs, old_stps, ro, gamma, al=al)

    np.testing.assert_allclose(d, -_dense_bfgs_inverse(pairs, gamma, n) @ grad, rtol=1e-10)
    assert all(isinstance(v, float) for v in al[:4]) and al[4:] == [None] * 6
    for old, new in zip(before, old_dirs + old_stps + [grad]):
        np.testing.assert_array_equal(old, new)  # inputs untouched


def test_two_loop_recursion_satisfies_the_secant_condition(rng):
    s, y = rng.standard_normal(5), rng.standard_normal(5)
    if y @ s < 0:
        y = -y
    # H y = s for the newest pair, so the direction for "gradient" y is −s
    d = lbfgs_direction(y, [y], [s], [1.0 / (y @ s)], (s @ y) / (y @ y))
    np.testing.assert_allclose(d, -s, rtol=1e-12)


# ----------------------------------------------------------------- the class
def _quadratic(dtype=np.float64):
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    a = minigrad.tensor(q @ np.diag(np.geomspace(0.5, 10, 5)) @ q.T, dtype=dtype)
    b = minigrad.tensor(rng.standard_normal(5), dtype=dtype)
    w = minigrad.tensor(rng.standard_normal(5), dtype=dtype, requires_grad=True)
    return w, lambda: 0.5 * (w * (a @ w)).sum() - (b * w).sum()


def _closure(opt, loss_fn, calls=None):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        if calls is not None:
            calls.append(loss)
        return loss
    return closure


def test_defaults_and_max_eval():
    w = minigrad.tensor([1.0], requires_grad=True)
    opt = optim.LBFGS([w])
    assert opt.defaults == dict(lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7,
                                tolerance_change=1e-9, history_size=100, line_search_fn=None)
    assert optim.LBFGS([w], max_iter=10).defaults["max_eval"] == 12
    assert optim.LBFGS([w], max_iter=10, max_eval=3).defaults["max_eval"] == 3


def test_rejections():
    w, v = minigrad.tensor([1.0], requires_grad=True), minigrad.tensor([2.0], requires_grad=True)
    message = r"LBFGS doesn't support per-parameter options \(parameter groups\)"
    with pytest.raises(ValueError, match=message):
        optim.LBFGS([{"params": [w]}, {"params": [v]}])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.LBFGS([w], lr=-1)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([w], line_search_fn="armijo")
    opt = optim.LBFGS([w])
    with pytest.raises(TypeError):
        opt.step()
    opt.add_param_group({"params": [v]})
    with pytest.raises(ValueError, match="parameter groups"):
        opt.step(lambda: (w * w).sum())


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_state_keys_evaluations_and_returned_loss(line_search_fn):
    w, loss_fn = _quadratic()
    opt = optim.LBFGS([w], lr=0.2, max_iter=6, history_size=3, line_search_fn=line_search_fn)
    calls = []
    for _ in range(3):
        first = len(calls)
        returned = opt.step(_closure(opt, loss_fn, calls))
        assert returned is calls[first]  # the loss at the starting point
        assert len(calls) - first <= opt.defaults["max_eval"] + 1
    state = opt.state[w]
    assert set(state) == {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro",
                          "H_diag", "prev_flat_grad", "prev_loss", "al"}
    assert state["func_evals"] == len(calls)
    assert 1 <= len(state["old_dirs"]) == len(state["old_stps"]) == len(state["ro"]) <= 3
    assert len(state["al"]) == 3


def test_strong_wolfe_solves_a_quadratic():
    w, loss_fn = _quadratic()
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe")
    opt.step(_closure(opt, loss_fn))
    w.grad = None
    loss_fn().backward()
    assert np.abs(w.grad).max() < 1e-6


def test_stationary_start_returns_at_once():
    w = minigrad.tensor([0.0, 0.0], dtype=np.float64, requires_grad=True)
    opt = optim.LBFGS([w])
    calls = []
    opt.step(_closure(opt, lambda: (w * w).sum(), calls))
    assert len(calls) == 1 and opt.state[w]["func_evals"] == 1
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_float32_stays_float32_and_several_parameters_share_one_flat_state(line_search_fn):
    a = minigrad.tensor(np.ones((2, 3)), dtype=np.float32, requires_grad=True)
    b = minigrad.tensor(np.full(4, -2.0), dtype=np.float32, requires_grad=True)
    opt = optim.LBFGS([a, b], lr=0.5, max_iter=4, line_search_fn=line_search_fn)
    loss_fn = lambda: ((a - 3.0) ** 2).sum() + ((b + 1.0) ** 2).sum()  # noqa: E731
    for _ in range(3):
        opt.step(_closure(opt, loss_fn))
    assert a.data.dtype == b.data.dtype == np.float32
    state = opt.state[a]
    assert b not in opt.state  # global state lives under the first parameter
    assert state["d"].shape == state["prev_flat_grad"].shape == (10,)
    assert all(v.dtype == np.float32 for v in [state["d"], *state["old_dirs"], *state["old_stps"]])
    assert float(loss_fn().data) < 1e-3


def test_loaded_history_lists_are_cast_to_the_parameter_dtype():
    w64 = minigrad.tensor(np.array([1.5, -0.5]), dtype=np.float64, requires_grad=True)
    opt64 = optim.LBFGS([w64], max_iter=4)

    def closure():
        opt64.zero_grad()
        loss = ((w64 - 1.0) ** 2 * minigrad.tensor([1.0, 3.0], dtype=np.float64)).sum()
        loss.backward()
        return loss

    opt64.step(closure)
    saved = opt64.state_dict()
    assert saved["state"][0]["old_dirs"]  # the step built a history
    w32 = minigrad.tensor(np.array([1.5, -0.5]), dtype=np.float32, requires_grad=True)
    opt32 = optim.LBFGS([w32], max_iter=4)
    opt32.load_state_dict(saved)
    state = opt32.state[w32]
    assert all(d.dtype == np.float32 for d in state["old_dirs"] + state["old_stps"])
    assert saved["state"][0]["old_dirs"][0].dtype == np.float64  # the source is untouched

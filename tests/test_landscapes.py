"""minigrad.landscapes: minima, grid vs callable, batches, analytic gradients, Hessians."""
import numpy as np
import pytest

import minigrad
from minigrad import landscapes
from minigrad.landscapes import LANDSCAPES, Landscape

NAMES = sorted(LANDSCAPES)


@pytest.fixture(params=NAMES)
def land(request):
    return landscapes.get(request.param)


def _random_points(land, rng, n=8):
    (x0, x1), (y0, y1) = land.bounds
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def test_registry_has_the_issue_surfaces():
    assert set(NAMES) == {"nonconvex_bowl", "rosenbrock", "beale", "rastrigin", "himmelblau",
                          "booth", "goldstein_price", "six_hump_camel", "ravine", "saddle"}
    assert isinstance(landscapes.get("Goldstein-Price"), landscapes.GoldsteinPrice)
    with pytest.raises(KeyError):
        landscapes.get("nope")


def test_attributes(land):
    assert isinstance(land, Landscape) and land.name in LANDSCAPES
    (x0, x1), (y0, y1) = land.bounds
    assert x0 < x1 and y0 < y1
    assert x0 <= land.start[0] <= x1 and y0 <= land.start[1] <= y1
    for m in land.minima:
        assert x0 <= m[0] <= x1 and y0 <= m[1] <= y1


def test_minima_have_zero_gradient_and_min_value(land):
    if land.name == "saddle":
        assert land.minima == [] and land.min_value is None
        return
    assert land.minima
    for m in land.minima:
        np.testing.assert_allclose(land.gradient(m), 0.0, atol=1e-8)
        value = land(minigrad.tensor(np.array(m, dtype=np.float64))).item()
        assert value == pytest.approx(land.min_value, abs=1e-12)
        assert land.classify(m) == "minimum"


def test_min_value_is_below_the_grid(land):
    if land.min_value is None:
        return
    Z = land.evaluate_grid(100)[2]
    assert Z.min() >= land.min_value - 1e-12


def test_grid_equals_callable(land):
    x = np.linspace(*land.bounds[0], 7)
    y = np.linspace(*land.bounds[1], 5)
    X, Y, Z = land.grid(x, y)
    assert X.shape == Y.shape == Z.shape == (5, 7)
    for i in range(5):
        for j in range(7):
            p = minigrad.tensor(np.array([X[i, j], Y[i, j]]))
            assert land(p).item() == pytest.approx(Z[i, j], rel=1e-12, abs=1e-12)
    X, Y, Z = land.evaluate_grid(20)
    assert Z.shape == (20, 20) and np.isfinite(Z).all()


def test_batch_equals_per_point(land, rng):
    P = _random_points(land, rng)
    batch = land(minigrad.tensor(P))
    assert batch.shape == (len(P),)
    single = [land(minigrad.tensor(p)).item() for p in P]
    np.testing.assert_allclose(batch.data, single, rtol=1e-12)


def test_batch_gradients_flow(land, rng):
    P = minigrad.tensor(_random_points(land, rng), requires_grad=True)
    land(P).sum().backward()
    expected = np.array([land.gradient(p) for p in P.data])
    np.testing.assert_allclose(P.grad, expected, rtol=1e-10, atol=1e-10)


def test_numpy_gradient_equals_autograd(land, rng):
    P = _random_points(land, rng, n=12)
    values, grads = land.value_and_grad_numpy(P)
    assert values.shape == (12,) and grads.shape == (12, 2)
    for p, v, g in zip(P, values, grads):
        v1, g1 = land.value_and_grad_numpy(p)
        assert isinstance(v1, float) and g1.shape == (2,)
        assert v1 == pytest.approx(v, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(g1, g, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, land.gradient(p), rtol=1e-9, atol=1e-9)


def test_rosenbrock_hessian_at_minimum():
    f = landscapes.Rosenbrock()
    np.testing.assert_allclose(f.hessian((1.0, 1.0)), [[802.0, -400.0], [-400.0, 200.0]])
    assert f.classify((1.0, 1.0)) == "minimum"
    assert (f.hessian_eigenvalues((1.0, 1.0)) > 0).all()


def test_hessian_of_quadratics_is_exact():
    np.testing.assert_allclose(landscapes.Booth().hessian((0.3, -2.0)), [[10, 8], [8, 10]])
    np.testing.assert_allclose(landscapes.Ravine(condition=50).hessian((1.0, 1.0)),
                               [[1, 0], [0, 50]])


def test_hessian_matches_finite_differences(land, rng):
    p = _random_points(land, rng, n=1)[0]
    eps = 1e-5
    fd = np.array([(land.gradient(p + eps * e) - land.gradient(p - eps * e)) / (2 * eps)
                   for e in np.eye(2)])
    np.testing.assert_allclose(land.hessian(p), fd, rtol=1e-4, atol=1e-4 * (1 + np.abs(fd).max()))


def test_saddle_and_maximum_classification():
    s = landscapes.Saddle()
    np.testing.assert_allclose(s.hessian((0.0, 0.0)), [[2, 0], [0, -2]])
    assert s.classify((0.0, 0.0)) == "saddle"
    # Himmelblau has a local maximum near (-0.270845, -0.923039).
    assert landscapes.Himmelblau().classify((-0.270845, -0.923039)) == "maximum"


def test_levels_log_spaced_for_rosenbrock():
    levels = landscapes.Rosenbrock().levels(30)
    assert levels.shape == (30,) and np.all(np.diff(levels) > 0)
    ratios = levels[1:] / levels[:-1]            # min_value == 0: geometric sequence
    np.testing.assert_allclose(ratios, ratios[0])
    assert levels[-1] / levels[0] >= 1e3


def test_levels_linear_where_no_decades():
    for name in ("rastrigin", "saddle", "nonconvex_bowl", "six_hump_camel"):
        levels = landscapes.get(name).levels(12)
        np.testing.assert_allclose(np.diff(levels), np.diff(levels)[0])


def test_levels_shifted_by_min_value():
    levels = landscapes.GoldsteinPrice().levels(10)
    assert levels[0] > 3.0
    ratios = (levels[1:] - 3.0) / (levels[:-1] - 3.0)
    np.testing.assert_allclose(ratios, ratios[0])


def test_bad_shape():
    with pytest.raises(ValueError):
        landscapes.Rosenbrock()(minigrad.tensor(np.zeros(3)))

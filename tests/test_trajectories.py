"""minigrad.trajectories: real optimizers on the landscapes' NumPy fast path."""
import math

import numpy as np
import pytest

import optim
from minigrad import landscapes
from minigrad.trajectories import run_many, run_trajectory, steps_to_reach, tune_lr


def test_sgd_converges_on_the_quadratic_ravine():
    f = landscapes.get("ravine")
    run = run_trajectory(f, optim.SGD, steps=500, lr=0.03)
    assert run["path"].shape == (501, 2) and run["loss"].shape == (501,)
    assert run["name"] == "SGD" and not run["diverged"]
    np.testing.assert_allclose(run["path"][0], f.start)
    assert run["loss"][-1] < 1e-6
    np.testing.assert_allclose(run["path"][-1], [0.0, 0.0], atol=1e-3)


def test_path_and_loss_agree():
    f = landscapes.get("rosenbrock")
    run = run_trajectory(f, optim.Adam, steps=50, lr=0.01)
    np.testing.assert_allclose(run["loss"], f.value_and_grad_numpy(run["path"])[0])


def test_sgd_trajectory_equals_hand_written_gradient_descent():
    f = landscapes.get("rosenbrock")
    lr, steps = 1e-3, 300
    run = run_trajectory(f, optim.SGD, steps=steps, lr=lr)
    xy = np.array(f.start, dtype=np.float64)
    path = [xy.copy()]
    for _ in range(steps):
        x, y = xy
        grad = np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])
        xy = xy - lr * grad
        path.append(xy.copy())
    np.testing.assert_allclose(run["path"], np.array(path), rtol=1e-13, atol=1e-15)


def test_custom_start_and_scheduler():
    f = landscapes.get("ravine")
    seen = []

    class Halve:                      # a minimal scheduler: halves lr every step
        def __init__(self, opt):
            self.opt = opt

        def step(self):
            for group in self.opt.param_groups:
                group["lr"] *= 0.5
            seen.append(self.opt.param_groups[0]["lr"])

    run = run_trajectory(f, optim.SGD, steps=4, start=(1.0, 0.0), scheduler=Halve, lr=0.5)
    assert seen == [0.25, 0.125, 0.0625, 0.03125]
    # x_{t+1} = (1 - lr_t) x_t on f = x^2/2 (y = 0).
    expected = np.cumprod([1.0, 0.5, 0.75, 0.875, 0.9375])
    np.testing.assert_allclose(run["path"][:, 0], expected)


def test_divergence_is_flagged():
    run = run_trajectory(landscapes.get("ravine"), optim.SGD, steps=2000, lr=1.0)
    assert run["diverged"]
    assert np.isnan(run["loss"][-1])


def test_lbfgs_runs_with_a_closure():
    run = run_trajectory(landscapes.get("booth"), optim.LBFGS, steps=5, lr=1.0)
    np.testing.assert_allclose(run["path"][-1], [1.0, 3.0], atol=1e-3)


def test_run_many():
    f = landscapes.get("nonconvex_bowl")
    runs = run_many(f, {"sgd": (optim.SGD, {"lr": 0.1}),
                        "momentum": (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
                        "adam": optim.Adam}, steps=100)
    assert list(runs) == ["sgd", "momentum", "adam"]
    for label, run in runs.items():
        assert run["name"] == label and run["path"].shape == (101, 2)
        np.testing.assert_allclose(run["path"][0], [2.5, 2.5])


def test_steps_to_reach():
    assert steps_to_reach([1.0, 0.5, 0.02, 0.009, 0.001]) == 3
    assert steps_to_reach([1.0, 0.5], threshold=0.01) is None
    assert steps_to_reach([5.0, 3.005], min_value=3.0) == 1
    run = run_trajectory(landscapes.get("ravine"), optim.SGD, steps=500, lr=0.03)
    k = steps_to_reach(run["loss"], 0.01)
    assert k is not None and run["loss"][k] < 0.01 <= run["loss"][k - 1]


def test_tune_lr_picks_a_good_finite_lr():
    f = landscapes.get("rosenbrock")
    result = tune_lr(f, optim.Adam, candidates=np.geomspace(1e-4, 1, 13), steps=300)
    assert math.isfinite(result["lr"]) and result["lr"] in result["candidates"]
    finals = result["final_losses"]
    assert result["final_loss"] == finals.min()
    assert result["final_loss"] < np.max(finals)
    finite = finals[np.isfinite(finals)]
    assert result["final_loss"] < finite.max()


def test_tune_lr_rejects_divergent_candidates():
    result = tune_lr(landscapes.get("ravine"), optim.SGD, candidates=[0.01, 0.03, 1.0],
                     steps=300)
    assert result["lr"] == pytest.approx(0.03)
    assert math.isinf(result["final_losses"][-1])


def test_ten_optimizers_are_fast():
    import time

    f = landscapes.get("rosenbrock")
    specs = {f"adam{i}": (optim.Adam, {"lr": 1e-2}) for i in range(10)}
    t0 = time.perf_counter()
    runs = run_many(f, specs, steps=1000)
    assert time.perf_counter() - t0 < 5.0          # ~0.2 s expected: 10 000 steps in all
    assert all(r["loss"][-1] < r["loss"][0] for r in runs.values())

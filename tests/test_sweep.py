"""minigrad.sweep (grids of configurations on any executor) and its heat map.

The sweep's promise is that the table does not depend on where the work ran: serial, a
pool of spawned processes and a dask cluster must give the same rows (all but the
"seconds" column), in grid order, with failed configurations recorded among the others.
The heat map is checked on the data it draws (image array, tick labels, cell texts,
hatched patches), not on pixels.
"""
import concurrent.futures
import re
import subprocess
import sys
import threading
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from minigrad.plot.heatmap import sweep_heatmap  # noqa: E402
from minigrad.sweep import grid, grid_configs, to_table, train_moons  # noqa: E402

# A small sweep of the example objective: 2 optimizers that train, one name that fails.
MOONS_SPACE = {"optimizer": ["SGD", "Adam", "NoSuchOptimizer"], "lr": [0.05, 0.5],
               "seed": [0, 1], "steps": [30]}


def without_seconds(rows):
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def serial_moons():
    return grid(train_moons, MOONS_SPACE)


def divide(a, b):
    return a / b


# -- the grid --------------------------------------------------------------------------

def test_grid_order_is_nested_loops_with_the_last_key_fastest():
    configs = grid_configs({"optimizer": ["SGD", "Adam"], "lr": [1e-3, 1e-2], "seed": [0, 1]})
    expected = [{"optimizer": o, "lr": lr, "seed": s}
                for o in ("SGD", "Adam") for lr in (1e-3, 1e-2) for s in (0, 1)]
    assert configs == expected
    assert [list(c) for c in configs] == [["optimizer", "lr", "seed"]] * 8
    assert grid_configs({}) == [{}]


@pytest.mark.parametrize("space, error, match", [
    ({"lr": 0.1}, TypeError, r"space\['lr'\] must be a list"),
    ({"optimizer": "Adam"}, TypeError, r"write \['Adam'\]"),
    ({"lr": []}, ValueError, "is empty"),
    ({"error": [1]}, ValueError, "reserved"),
    ({"seconds": [1]}, ValueError, "reserved"),
    ([("lr", [0.1])], TypeError, "must be a dict"),
])
def test_bad_spaces_are_rejected_before_anything_runs(space, error, match):
    calls = []
    with pytest.raises(error, match=match):
        grid(lambda **kw: calls.append(kw) or 0.0, space)
    assert calls == []


def test_rows_hold_config_then_returned_keys_then_error_and_seconds():
    rows = grid(lambda a, b: {"sum": a + b, "product": a * b}, {"a": [1, 2], "b": [3]})
    assert [list(row) for row in rows] == [["a", "b", "sum", "product", "error", "seconds"]] * 2
    assert [(row["sum"], row["product"], row["error"]) for row in rows] == [(4, 3, None),
                                                                          (5, 6, None)]
    assert all(isinstance(row["seconds"], float) and row["seconds"] >= 0 for row in rows)


def test_a_number_is_recorded_as_result():
    rows = grid(divide, {"a": [1.0], "b": [4.0]})
    assert rows[0]["result"] == 0.25


def test_a_failed_configuration_is_recorded_and_the_others_still_run():
    rows = grid(divide, {"a": [1.0, 2.0], "b": [0.0, 2.0]})
    assert [row["result"] for row in rows] == [None, 0.5, None, 1.0]
    failed = rows[0]["error"]
    assert failed.startswith("ZeroDivisionError: float division by zero\n")
    assert "in divide" in failed and "return a / b" in failed   # the traceback summary
    assert "_call" not in failed                                  # not the sweep's frames
    assert rows[1]["error"] is None and rows[3]["error"] is None


@pytest.mark.parametrize("returned, match", [
    ([1.0], "TypeError: fn must return a dict or a number, got list"),
    ({"a": 1.0}, "ValueError: fn returned keys \\['a'\\] that clash"),
    ({"error": 1.0}, "ValueError: fn returned keys \\['error'\\]"),
])
def test_unusable_return_values_fail_that_configuration(returned, match):
    rows = grid(lambda a: returned, {"a": [1]})
    assert rows[0]["error"] is not None
    assert re.match(match, rows[0]["error"])


def test_a_space_that_does_not_fit_the_signature_is_rejected_at_once():
    with pytest.raises(TypeError, match=r"cannot take the sweep's arguments \['a', 'c'\]"):
        grid(divide, {"a": [1.0], "c": [2.0]})


def test_results_come_back_in_grid_order_whatever_order_they_finish_in():
    finished = []
    lock = threading.Lock()

    def slow_first(i):
        time.sleep(0.1 * (3 - i))
        with lock:
            finished.append(i)
        return i * 10

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        rows = grid(slow_first, {"i": [0, 1, 2, 3]}, pool)
    assert finished == [3, 2, 1, 0]
    assert [(row["i"], row["result"]) for row in rows] == [(0, 0), (1, 10), (2, 20), (3, 30)]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"executor": "threads"}, ValueError, "executor must be 'serial', 'process'"),
    ({"executor": 3}, TypeError, "got int"),
    ({"processes": 0}, ValueError, "positive integer"),
    ({"processes": 2, "executor": "serial"}, ValueError, "applies only to executor='process'"),
])
def test_bad_executor_arguments_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        grid(divide, {"a": [1.0], "b": [1.0]}, **kwargs)


# -- the example objective ---------------------------------------------------------------

def test_train_moons_is_reproducible_and_learns():
    first = train_moons("Adam", lr=0.05, seed=3, steps=30)
    assert first == train_moons("Adam", lr=0.05, seed=3, steps=30)
    assert first != train_moons("Adam", lr=0.05, seed=4, steps=30)
    untrained = train_moons("Adam", lr=0.05, seed=3, steps=0)
    assert first["final_loss"] < 0.7 * untrained["final_loss"]
    assert first["accuracy"] >= 0.8


def test_train_moons_names_an_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'Nesterov'"):
        train_moons("Nesterov", steps=1)


# -- other executors give the serial table ----------------------------------------------

def check_moons_table(rows, serial_rows):
    assert without_seconds(rows) == without_seconds(serial_rows)
    assert len(rows) == 12
    failed = [row for row in rows if row["error"] is not None]
    assert [row["optimizer"] for row in failed] == ["NoSuchOptimizer"] * 4
    assert all(row["error"].startswith("ValueError: unknown optimizer 'NoSuchOptimizer'")
               and row["final_loss"] is None for row in failed)
    assert all(np.isfinite(row["final_loss"]) for row in rows if row["error"] is None)


def test_a_process_pool_gives_the_serial_table(serial_moons):
    rows = grid(train_moons, MOONS_SPACE, processes=2)
    check_moons_table(rows, serial_moons)


def test_process_mode_rejects_functions_workers_cannot_import():
    def local(a):
        return a

    for fn in (lambda a: a, local):
        with pytest.raises(TypeError, match="must be picklable.*not a lambda"):
            grid(fn, {"a": [1]}, "process")
    with concurrent.futures.ProcessPoolExecutor(1) as pool:  # not started: nothing submitted
        with pytest.raises(TypeError, match="ProcessPoolExecutor"):
            grid(local, {"a": [1]}, pool)


def test_a_dask_cluster_gives_the_serial_table(serial_moons):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install "
                              "'minigrad-optim[distributed]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rows = grid(train_moons, MOONS_SPACE, client)
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    check_moons_table(rows, serial_moons)


def test_dask_is_never_imported_without_a_client():
    code = ("import sys, concurrent.futures as cf\n"
            "from minigrad.sweep import grid, train_moons\n"
            "assert grid(pow, {'base': [2], 'exp': [3]})[0]['result'] == 8\n"
            "with cf.ThreadPoolExecutor(1) as pool:\n"
            "    assert grid(train_moons, {'steps': [1]}, pool)[0]['error'] is None\n"
            "assert not {'dask', 'distributed'} & set(sys.modules), 'dask was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the table ---------------------------------------------------------------------------

def test_to_table_gives_typed_columns():
    rows = [{"optimizer": "SGD", "seed": 0, "lr": 0.1, "loss": 0.5, "ok": True, "error": None},
            {"optimizer": "Adam", "seed": 1, "lr": 1, "loss": None, "ok": False,
             "error": "ValueError: diverged"}]
    table = to_table(rows)
    assert list(table) == ["optimizer", "seed", "lr", "loss", "ok", "error"]
    np.testing.assert_array_equal(table["optimizer"], ["SGD", "Adam"])
    assert table["optimizer"].dtype.kind == "U"
    assert table["seed"].dtype == np.int64 and table["lr"].dtype == np.float64
    np.testing.assert_array_equal(table["loss"], [0.5, np.nan])
    assert table["ok"].dtype == bool
    assert table["error"].dtype == object and table["error"].tolist() == [
        None, "ValueError: diverged"]
    assert np.isnan(to_table([{"a": 1}, {"b": 2}])["a"][1])  # a missing entry is NaN


def test_to_table_of_a_sweep(serial_moons):
    table = to_table(serial_moons)
    assert set(table) == {"optimizer", "lr", "seed", "steps", "final_loss", "accuracy",
                          "error", "seconds"}
    assert all(len(column) == 12 for column in table.values())
    assert np.isnan(table["final_loss"][table["optimizer"] == "NoSuchOptimizer"]).all()


# -- the heat map ------------------------------------------------------------------------

@pytest.fixture
def no_pyplot_figures_left():
    plt.close("all")
    yield
    assert plt.get_fignums() == []


def texts(ax):
    return [t.get_text() for t in ax.texts if t.get_gid() == "cell"]


def test_heatmap_of_a_sweep_draws_the_mean_over_seeds(serial_moons, no_pyplot_figures_left):
    fig = sweep_heatmap(serial_moons)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["SGD", "Adam", "NoSuchOptimizer"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["$5\\times10^{-2}$", "$5\\times10^{-1}$"]
    table = to_table(serial_moons)
    for i, name in enumerate(["SGD", "Adam"]):
        for j, lr in enumerate([0.05, 0.5]):
            cell = (table["optimizer"] == name) & (table["lr"] == lr)
            assert image[i, j] == pytest.approx(table["final_loss"][cell].mean(), rel=1e-12)
    assert image.mask[2].all() and not image.mask[:2].any()
    assert [p.get_gid() for p in ax.patches] == ["failed", "failed"]
    assert all(p.get_hatch() == "//" for p in ax.patches)
    assert texts(ax)[-2:] == ["failed", "failed"]
    assert texts(ax)[0] == f"{image[0, 0]:.3g}"
    assert ax.get_xlabel() == "lr" and ax.get_ylabel() == "optimizer"


def make_rows():
    rows = []
    for name in ("SGD", "Adam"):
        for lr in (1e-3, 3e-3, 1e-2):
            for seed in (0, 1, 2):
                rows.append({"optimizer": name, "lr": lr, "seed": seed,
                             "loss": lr * 100 + seed, "error": None})
    return rows


def test_heatmap_reductions_and_labels(no_pyplot_figures_left):
    rows = make_rows()
    image = sweep_heatmap(rows, value="loss", reduce="max").axes[0].images[0].get_array()
    np.testing.assert_allclose(image, [[2.1, 2.3, 3.0], [2.1, 2.3, 3.0]])
    fig = sweep_heatmap(rows, value="loss", reduce=lambda v: v[0], log_x=False, fmt="{:.1f}")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.1, 0.3, 1.0]] * 2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.001", "0.003", "0.01"]
    assert texts(ax) == ["0.1", "0.3", "1.0"] * 2
    labels = [t.get_text() for t in sweep_heatmap(rows, value="loss").axes[0]
              .get_xticklabels()]
    assert labels == ["$10^{-3}$", "$3\\times10^{-3}$", "$10^{-2}$"]


def test_heatmap_marks_partly_failed_and_diverged_cells(no_pyplot_figures_left):
    rows = make_rows()
    rows[0].update(loss=None, error="RuntimeError: boom")        # SGD, 1e-3, one seed of 3
    rows[3]["loss"] = float("nan")                               # SGD, 3e-3: diverged
    rows = [row for row in rows if not (row["optimizer"] == "Adam" and row["lr"] == 1e-2)]
    ax = sweep_heatmap(rows, value="loss").axes[0]
    image = ax.images[0].get_array()
    assert image[0, 0] == pytest.approx(np.mean([0.1 + 1, 0.1 + 2]))
    assert image.mask[0, 1] and image.mask[1, 2]
    assert sorted(p.get_gid() for p in ax.patches) == ["nonfinite", "partly_failed"]
    assert texts(ax)[:2] == ["1.6\n1/3 failed", "nan"]
    assert len(texts(ax)) == 5                                    # the empty cell has none


def test_heatmap_with_numeric_rows_puts_small_values_at_the_bottom(no_pyplot_figures_left):
    rows = [{"momentum": m, "lr": lr, "loss": m + lr} for m in (0.9, 0.0, 0.5)
            for lr in (0.1, 0.01)]
    ax = sweep_heatmap(rows, y="momentum", value="loss").axes[0]
    assert ax.images[0].origin == "lower"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "0.5", "0.9"]
    np.testing.assert_allclose(ax.images[0].get_array()[:, 0], [0.01, 0.51, 0.91])


def test_heatmap_draws_into_a_given_axes(no_pyplot_figures_left):
    from minigrad.plot.style import new_figure

    fig, axes = new_figure(1, 2)
    assert sweep_heatmap(make_rows(), value="loss", ax=axes[1]) is fig
    assert len(axes[1].images) == 1 and len(axes[0].images) == 0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x": "momentum"}, KeyError, "no key 'momentum'"),
    ({"value": "accuracy"}, KeyError, "no successful row has the key 'accuracy'"),
    ({"reduce": "mode"}, ValueError, "reduce must be one of"),
    ({"x": "seed"}, ValueError, "log_x=True labels powers of ten"),
    ({"value": "optimizer", "x": "seed", "log_x": False}, TypeError, "must hold numbers"),
])
def test_heatmap_rejects_bad_arguments(kwargs, error, match, no_pyplot_figures_left):
    kwargs = {"value": "loss", **kwargs}
    with pytest.raises(error, match=match):
        sweep_heatmap(make_rows(), **kwargs)
    with pytest.raises(ValueError, match="at least one row"):
        sweep_heatmap([])

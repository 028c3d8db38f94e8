"""The Optimizer Playground's computation, without Streamlit: runs, table, CSV, URL."""
import csv
import io
import math
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optim
import schedules
from minigrad import landscapes
from minigrad.playground import catalog, launch
from minigrad.playground.config import (MAX_STEPS, Config, from_query_params, start_limits,
                                        to_query_params)
from minigrad.playground.figure import figure_png, playground_figure
from minigrad.playground.logic import iteration_table, run_config, summary, table_csv
from minigrad.trajectories import run_trajectory

OPTIMIZERS = catalog.optimizer_names()
SURFACES = catalog.landscape_names()


def _final_state_by_hand(label, surface, steps):
    """The optimizer's state after ``steps`` steps, from run_trajectory directly."""
    cls, kwargs = catalog.optimizer_kwargs(label)
    captured = {}

    def keep(optimizer):
        captured["optimizer"] = optimizer

    run = run_trajectory(landscapes.get(surface), cls, steps, scheduler=keep, **kwargs)
    optimizer = captured["optimizer"]
    param = optimizer.param_groups[0]["params"][0]
    return run, optimizer.state.get(param, {})


# ------------------------------------------------------------------ catalog
def test_every_optimizer_class_that_runs_on_a_point_is_offered():
    for name in optim.PYTORCH_OPTIMIZERS:
        assert name in OPTIMIZERS
    assert {"Momentum", "Nesterov", "Lion", "LAMB", "AdamWScheduleFree"} <= set(OPTIMIZERS)


def test_matrix_only_sparse_and_wrapper_optimizers_are_left_out():
    for name in ("Muon", "SparseAdam", "SAM", "Lookahead"):
        assert name not in OPTIMIZERS


def test_controls_follow_the_constructor_arguments():
    assert set(catalog.controls_for("Adam")) == {"lr", "beta1", "beta2", "eps", "weight_decay"}
    assert set(catalog.controls_for("SGD")) == {"lr", "momentum", "weight_decay"}
    assert "momentum" not in catalog.controls_for("Adam")
    assert catalog.controls_for("AdamW")["weight_decay"].default == 0.01


@pytest.mark.parametrize("label", OPTIMIZERS)
def test_every_slider_value_is_accepted_by_its_optimizer(label):
    for key, spec in catalog.controls_for(label).items():
        assert spec.default in spec.options
        assert list(spec.options) == sorted(spec.options)
        for value in spec.options:
            cls, kwargs = catalog.optimizer_kwargs(label, {key: value})
            cls([catalog._probe_parameter()], **kwargs)  # raises if out of range


def test_nesterov_offers_no_zero_momentum_because_sgd_rejects_it():
    assert 0.0 not in catalog.controls_for("Nesterov")["momentum"].options
    assert 0.0 in catalog.controls_for("SGD")["momentum"].options


def test_learning_rate_slider_spans_decades_on_a_log_grid():
    spec = catalog.controls_for("Adam")["lr"]
    assert spec.control.log
    assert min(spec.options) <= 1e-4 and max(spec.options) >= 1.0
    assert spec.snap(0.0011) == 0.001 and spec.snap(1e-9) == min(spec.options)


# ------------------------------------------------------------------ runs
@pytest.mark.parametrize("label", OPTIMIZERS)
def test_every_optimizer_runs_on_a_surface_and_records_its_state(label):
    steps = 12
    runs = run_config(Config(surface="booth", optimizers=(label,), steps=steps))
    (run,) = runs
    expected, state = _final_state_by_hand(label, "booth", steps)
    np.testing.assert_array_equal(run["path"], expected["path"])
    assert run["error"] is None
    table = iteration_table(runs)
    assert table["step"] == list(range(steps + 1))
    np.testing.assert_array_equal(table["x"], expected["path"][:, 0])
    for name in getattr(catalog.optimizer_spec(label)[0], "state_names", ()):
        value = state.get(name)
        if isinstance(value, np.ndarray) and value.shape == (2,) and run["stopped_at"] is None:
            assert table[f"{name}_x"][-1] == float(value[0])
            assert table[f"{name}_y"][-1] == float(value[1])
            assert math.isnan(table[f"{name}_x"][0])  # row 0: before any step


@pytest.mark.parametrize("surface", SURFACES)
def test_every_surface_runs_and_draws_from_its_classic_start(surface):
    runs = run_config(Config(surface=surface, optimizers=("SGD", "Adam"), steps=15))
    start = landscapes.get(surface).start
    for run in runs:
        np.testing.assert_allclose(run["path"][0], start)
    fig = playground_figure(surface, runs)
    paths = [line for line in fig.axes[0].get_lines() if line.get_gid() == "path"]
    assert [line.get_label().split(" ")[0] for line in paths] == ["SGD", "Adam"]
    assert len(fig.axes[1].get_lines()) == 2


def test_bias_corrected_averages_follow_their_definition():
    runs = run_config(Config(surface="ravine", optimizers=("Adam",), steps=6))
    table = iteration_table(runs)
    for t in range(1, 7):
        assert table["m_hat_x"][t] == pytest.approx(table["exp_avg_x"][t] / (1 - 0.9 ** t))
        assert table["v_hat_y"][t] == pytest.approx(table["exp_avg_sq_y"][t] / (1 - 0.999 ** t))


@pytest.mark.parametrize("name", [name for name in catalog.SCHEDULES if name != "constant"])
def test_each_schedule_drives_the_learning_rate_column(name):
    steps = 20
    runs = run_config(Config(surface="ravine", optimizers=("SGD",), steps=steps, schedule=name,
                             values={"SGD": {"lr": 0.01}}))
    rates = iteration_table(runs)["lr"][1:]
    factory = catalog.SCHEDULES[name]
    expected = schedules.lr_sequence(lambda opt: factory(opt, steps), steps, base_lr=0.01)
    np.testing.assert_allclose(rates, expected)


# ------------------------------------------------------------------ divergence
def _diverging_runs():
    return run_config(Config(surface="rosenbrock", optimizers=("SGD", "Adam"), steps=100,
                             values={"SGD": {"lr": 1.0}}))


def test_a_diverging_run_stops_and_the_table_says_where():
    sgd, adam = _diverging_runs()
    assert sgd["diverged"] and sgd["stopped_at"] is not None
    assert adam["stopped_at"] is None
    table = iteration_table([sgd, adam])
    sgd_rows = [i for i, name in enumerate(table["optimizer"]) if name == "SGD"]
    assert len(sgd_rows) == sgd["stopped_at"] + 1
    assert table["status"][sgd_rows[-1]] == "diverged"
    assert table["status"][sgd_rows[0]] == "start"
    assert np.isfinite(table["x"][: len(sgd_rows) - 1]).all()
    assert "diverged at step" in summary([sgd, adam], "rosenbrock")[0]["outcome"]


def test_a_diverging_path_is_drawn_only_up_to_its_last_finite_point():
    sgd, adam = _diverging_runs()
    fig = playground_figure("rosenbrock", [sgd, adam])
    (sgd_line, adam_line) = [l for l in fig.axes[0].get_lines() if l.get_gid() == "path"]
    assert len(sgd_line.get_xdata()) == sgd["stopped_at"]
    assert np.isfinite(sgd_line.get_xdata()).all()
    assert "diverged" in sgd_line.get_label()
    assert len(adam_line.get_xdata()) == 101
    assert figure_png(fig).startswith(b"\x89PNG")


def test_settings_an_optimizer_refuses_are_reported_not_raised():
    from minigrad.playground.logic import run_one

    run = run_one("Adam", {"lr": -1.0}, "ravine", 5, (1.0, 1.0), "constant")
    assert "learning rate" in run["error"]
    assert iteration_table([run])["status"] == ["error"]
    assert figure_png(playground_figure("ravine", [run])).startswith(b"\x89PNG")


# ------------------------------------------------------------------ URL
CONFIGS = [
    Config(),
    Config(surface="beale", optimizers=("Adam", "Nesterov"), steps=77, schedule="OneCycleLR",
           values={"Adam": {"lr": 0.05, "beta2": 0.99}, "Nesterov": {"momentum": 0.95}},
           start=(-1.25, 2.5)),
    Config(surface="saddle", optimizers=(), steps=1),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_query_params_round_trip(config):
    params = to_query_params(config)
    assert all(isinstance(v, str) for v in params.values())
    again, notes = from_query_params(params)
    assert again == config and notes == []


def test_query_params_leave_defaults_out():
    params = to_query_params(Config(values={"Adam": {"lr": 0.001}}))
    assert "Adam.lr" not in params


@pytest.mark.parametrize("params, expected", [
    ({"Adam.lr": "nan"}, ("Adam", "lr", 0.001)),
    ({"Adam.lr": "inf"}, ("Adam", "lr", 10.0)),
    ({"Adam.lr": "1e999"}, ("Adam", "lr", 10.0)),
    ({"Adam.beta1": "1.5"}, ("Adam", "beta1", 0.999)),
    ({"SGD.momentum": "abc"}, ("SGD", "momentum", 0.0)),
])
def test_bad_numbers_in_the_url_become_allowed_values(params, expected):
    config, notes = from_query_params(params)
    label, key, value = expected
    assert config.value(label, key) == value
    assert notes


def test_bad_steps_and_start_in_the_url_are_clipped_or_ignored():
    config, notes = from_query_params({"steps": "1e9", "start": "nan,1"})
    assert config.steps == MAX_STEPS and config.start is None and len(notes) == 2
    config, _ = from_query_params({"surface": "ravine", "start": "-1e6,3"})
    (x_low, _), (_, y_high) = start_limits("ravine")
    assert config.start == (x_low, min(3.0, y_high))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["surface", "opt", "steps", "schedule", "start",
                                        "Adam.lr", "SGD.momentum", "x.y", "Adam.nope"]),
                       st.one_of(st.text(max_size=12),
                                 st.floats(allow_nan=True).map(str))))
def test_any_query_string_gives_a_valid_config(params):
    config, _ = from_query_params(params)
    assert config.surface in SURFACES
    assert set(config.optimizers) <= set(OPTIMIZERS)
    assert 1 <= config.steps <= MAX_STEPS
    for label, values in config.values.items():
        for key, value in values.items():
            assert value in catalog.controls_for(label)[key].options


# ------------------------------------------------------------------ CSV
def test_csv_holds_every_row_and_column_of_the_table():
    runs = _diverging_runs()
    table = iteration_table(runs)
    text = table_csv(table)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(table)
    assert len(rows) == len(table["step"]) + 1
    assert "nan" not in text.lower() and "inf" not in text.lower()
    column = rows[0].index("loss")
    for row, loss in zip(rows[1:], table["loss"]):
        assert (row[column] == "") if math.isnan(loss) else float(row[column]) == loss


# ------------------------------------------------------------------ launcher
def test_launcher_serves_the_app_script_on_the_asked_port():
    command = launch.streamlit_command(8765)
    assert command[command.index("--server.port") + 1] == "8765"
    assert command[4] == launch.APP and command[4].endswith("app.py")


def test_launcher_rejects_a_port_out_of_range():
    with pytest.raises(SystemExit):
        launch.main(["--port", "70000"])


def test_stopping_the_launcher_stops_the_server():
    pytest.importorskip("streamlit", reason="the server needs Streamlit")
    psutil = pytest.importorskip("psutil")
    launcher = subprocess.Popen([sys.executable, "-m", "minigrad.playground", "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
    children = []
    try:
        assert "http://localhost:" in launcher.stdout.readline()
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:
            children = psutil.Process(launcher.pid).children(recursive=True)
            time.sleep(0.1)
        assert children, "the launcher started no server"
        launcher.terminate()  # SIGTERM, as `kill` sends
        launcher.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive
    finally:
        for process in [launcher] + children:
            try:
                process.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        launcher.stdout.close()


"""minigrad.plot: figures are checked on the data they draw, not on pixels.

Each test reads back what the Axes hold (line data, bar heights, scales, labels, legends,
marker positions) and compares it with the numbers the figure was asked to show.
"""
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import minigrad  # noqa: E402
import optim  # noqa: E402
import schedules  # noqa: E402
from minigrad import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _no_pyplot_figures_left():
    """The plot functions never go through pyplot, so no figure may be left open."""
    plt.close("all")
    yield
    assert plt.get_fignums() == []


class Bowl:
    """A tiny stand-in for a minigrad.landscapes object (the duck-typed interface)."""

    name = "bowl"
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    minima = np.array([[1.0, 1.0]])
    start = np.array([-1.5, 2.5])

    def evaluate_grid(self, n):
        X, Y = np.meshgrid(np.linspace(*self.bounds[0], n), np.linspace(*self.bounds[1], n))
        return X, Y, (X - 1.0) ** 2 + 4.0 * (Y - 1.0) ** 2

    def levels(self, n):
        return np.geomspace(0.01, 30.0, n)


def lines_by_gid(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def assert_labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel()


def legend_texts(ax):
    assert ax.get_legend() is not None
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --- style ------------------------------------------------------------------------------

def test_palette_is_okabe_ito_and_style_is_scoped():
    assert set(plot.PALETTE) <= set(plot.OKABE_ITO.values())
    assert plot.OKABE_ITO["vermillion"] == "#D55E00" and plot.OKABE_ITO["blue"] == "#0072B2"
    before = matplotlib.rcParams["font.size"]
    with plot.style():
        assert matplotlib.rcParams["font.size"] >= 14
        colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert tuple(colours) == plot.PALETTE
    assert matplotlib.rcParams["font.size"] == before


def test_new_figure_is_a_pyplot_free_figure():
    fig, ax = plot.new_figure()
    assert isinstance(fig, Figure) and fig.axes == [ax]
    fig, axes = plot.new_figure(1, 2)
    assert axes.shape == (2,)


def test_lines_use_the_palette():
    fig = plot.loss_curves({"a": [1, 2], "b": [2, 1]})
    colours = [matplotlib.colors.to_hex(l.get_color()).upper() for l in fig.axes[0].get_lines()]
    assert colours == list(plot.PALETTE[:2])


# --- ewa ------------------------------------------------------------------------------

def test_ewa_reproduces_the_chapters_temperature_trace():
    theta = [35, 33, 36, 34, 38]
    np.testing.assert_allclose(plot.ewa(theta, 0.9), [3.5, 6.45, 9.405, 11.8645, 14.47805])
    corrected = plot.ewa(theta, 0.9, bias_correction=True)
    np.testing.assert_allclose(corrected[:2], [35.0, 6.45 / 0.19])


def test_bias_corrected_ewa_of_a_constant_is_the_constant():
    np.testing.assert_allclose(plot.ewa(np.full(50, 7.0), 0.98, bias_correction=True), 7.0)
    assert plot.ewa(np.full(3, 7.0), 0.98)[0] == pytest.approx(0.14)


def test_ewa_figure_draws_data_biased_and_corrected():
    values = plot.temperatures(40)
    fig = plot.ewa_figure(values, beta=0.9)
    ax = fig.axes[0]
    data, biased, corrected = ax.get_lines()
    days = np.arange(1, 41)
    np.testing.assert_allclose(data.get_xydata(), np.c_[days, values])
    np.testing.assert_allclose(biased.get_ydata(), plot.ewa(values, 0.9))
    np.testing.assert_allclose(corrected.get_ydata(), plot.ewa(values, 0.9, True))
    assert len(legend_texts(ax)) == 3
    assert_labelled(ax)


# --- loss, schedules, norms -----------------------------------------------------------

def test_loss_curves_log_scale_and_values():
    runs = {"SGD": [1.0, 0.5, 0.25, 0.2], "Adam": [1.0, 0.1, 0.01]}
    ax = plot.loss_curves(runs).axes[0]
    assert ax.get_yscale() == "log"
    for line, (name, losses) in zip(ax.get_lines(), runs.items()):
        np.testing.assert_allclose(line.get_xydata(), np.c_[np.arange(len(losses)), losses])
    assert legend_texts(ax) == ["SGD", "Adam"]
    assert_labelled(ax)
    assert plot.loss_curves(runs, log=False).axes[0].get_yscale() == "linear"


def test_loss_curves_accept_trajectory_dicts():
    runs = [{"name": "GD", "loss": np.array([3.0, 2.0]), "path": np.zeros((2, 2))}]
    ax = plot.loss_curves(runs).axes[0]
    assert ax.get_lines()[0].get_label() == "GD"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [3.0, 2.0])


def test_schedule_curves_evaluate_schedulers_and_mark_warmup():
    fig = plot.schedule_curves(
        {"warmup + cosine": (schedules.WarmupCosineSchedule,
                             {"warmup_steps": 10, "total_steps": 50}),
         "step": (schedules.StepLR, {"step_size": 20, "gamma": 0.5}),
         "given": np.linspace(0.1, 0.0, 50)},
        steps=50, base_lr=0.1, warmup_steps=10)
    ax = fig.axes[0]
    paths = [line for line in ax.get_lines() if line.get_gid() != "warmup"]
    expected = [schedules.lr_sequence(schedules.WarmupCosineSchedule, 50, base_lr=0.1,
                                      warmup_steps=10, total_steps=50),
                schedules.lr_sequence(schedules.StepLR, 50, base_lr=0.1, step_size=20,
                                      gamma=0.5),
                np.linspace(0.1, 0.0, 50)]
    for line, values in zip(paths, expected):
        np.testing.assert_allclose(line.get_xydata(), np.c_[np.arange(50), values])
    (warmup,) = lines_by_gid(ax, "warmup")
    assert np.all(np.asarray(warmup.get_xdata()) == 10)
    assert ax.get_yscale() == "linear" and "end of warmup" in legend_texts(ax)
    assert_labelled(ax)


def test_schedule_curves_log_option_and_missing_steps():
    ax = plot.schedule_curves({"exp": 0.1 * 0.9 ** np.arange(30)}, log=True).axes[0]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="steps"):
        plot.schedule_curves({"cos": (schedules.CosineAnnealingLR, {"T_max": 5})})


def test_grad_norms_before_and_after_clip_grad_norm():
    rng = np.random.default_rng(0)
    w = minigrad.Parameter(np.zeros(20, dtype=np.float64))
    before, after = [], []
    for scale in (0.1, 5.0, 0.5, 20.0):
        w.grad = rng.normal(size=20) * scale
        before.append(float(minigrad.nn.utils.clip_grad_norm_([w], max_norm=1.0).data))
        after.append(float(np.linalg.norm(w.grad)))
    ax = plot.grad_norms(before, after, max_norm=1.0).axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), before)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), after)
    (threshold,) = lines_by_gid(ax, "max_norm")
    assert np.all(np.asarray(threshold.get_ydata()) == 1.0)
    assert ax.get_yscale() == "log" and len(legend_texts(ax)) == 3
    assert_labelled(ax)


def test_grad_norms_default_after_is_the_clipped_norm():
    ax = plot.grad_norms([0.5, 8.0], max_norm=2.0, log=False).axes[0]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.5, 2.0])
    assert ax.get_yscale() == "linear"
    with pytest.raises(ValueError):
        plot.grad_norms([1.0])


def test_weight_norms_adam_l2_vs_adamw():
    def norms(cls, **kwargs):
        w = minigrad.Parameter(np.full(10, 3.0))
        opt, out = cls([w], lr=0.05, weight_decay=0.1, **kwargs), []
        for _ in range(30):
            w.grad = np.sin(np.arange(10.0)) * 100.0  # large gradients: L2 is washed out
            opt.step()
            out.append(float(np.linalg.norm(w.data)))
        return np.array(out)

    runs = {"Adam + L2": norms(optim.Adam), "AdamW": norms(optim.AdamW)}
    ax = plot.weight_norms(runs).axes[0]
    for line, values in zip(ax.get_lines(), runs.values()):
        np.testing.assert_allclose(line.get_xydata(), np.c_[np.arange(30), values])
    assert legend_texts(ax) == ["Adam + L2", "AdamW"]
    assert_labelled(ax)
    assert plot.weight_norms(runs, log=True).axes[0].get_yscale() == "log"


# --- effective learning rates ---------------------------------------------------------

def test_effective_learning_rates_of_adam_and_rmsprop_after_one_step():
    g = np.array([1e-3, 0.1, 10.0])
    w = minigrad.Parameter(np.zeros(3))
    adam = optim.Adam([w], lr=0.01)
    w.grad = g.copy()
    adam.step()
    np.testing.assert_allclose(plot.effective_learning_rates(adam), 0.01 / (np.abs(g) + 1e-8))
    v = minigrad.Parameter(np.zeros(3))
    rms = optim.RMSprop([v], lr=0.01, alpha=0.99)
    v.grad = g.copy()
    rms.step()
    np.testing.assert_allclose(plot.effective_learning_rates(rms),
                               0.01 / (np.sqrt(0.01 * g**2) + 1e-8))
    with pytest.raises(ValueError):
        plot.effective_learning_rates(optim.SGD([minigrad.Parameter(np.zeros(2))], lr=0.1))


def test_effective_lr_figure_sorted_log_and_nominal_line():
    w = minigrad.Parameter(np.zeros(4))
    adam = optim.Adam([w], lr=0.01)
    w.grad = np.array([1.0, 0.01, 100.0, 0.1])
    adam.step()
    ax = plot.effective_lr({"Adam": adam, "given": [0.3, 0.1, 0.2]}, lr=0.01).axes[0]
    first, second = ax.get_lines()[:2]
    np.testing.assert_allclose(first.get_ydata(),
                               np.sort(plot.effective_learning_rates(adam))[::-1])
    np.testing.assert_allclose(second.get_xydata(), [[0, 0.3], [1, 0.2], [2, 0.1]])
    (nominal,) = lines_by_gid(ax, "lr")
    assert np.all(np.asarray(nominal.get_ydata()) == 0.01)
    assert ax.get_yscale() == "log" and len(legend_texts(ax)) == 3
    assert_labelled(ax)


# --- memory ---------------------------------------------------------------------------

def test_memory_bars_heights_are_the_measured_ratios():
    ratios = plot.measure_state_ratios(shape=(8, 16))
    assert ratios == {"SGD": 0.0, "SGD + momentum": 1.0, "RMSprop": 1.0, "Adam": 2.0,
                      "AMSGrad": 3.0}
    ax = plot.memory_bars(ratios).axes[0]
    assert [bar.get_height() for bar in ax.patches] == list(ratios.values())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(ratios)
    assert ax.get_ylabel()


def test_modern_optimizers_memory_is_measured_on_a_matrix():
    ratios = plot.measure_state_ratios(plot.modern_configs(), shape=(128, 64))
    assert ratios["Adafactor"] == pytest.approx((128 + 64) / (128 * 64))  # a row and a column
    assert ratios["Lion"] == ratios["Muon"] == 1.0
    assert ratios["8-bit Adam"] == pytest.approx((2 + 2 * 4 / 256) / 4)  # codes + absmax
    assert ratios["SOAP"] == pytest.approx(2 + 2 * (128 ** 2 + 64 ** 2) / (128 * 64))
    assert ratios["Adam"] == ratios["SophiaG"] == ratios["LAMB"] == 2.0


def test_memory_bars_measure_optimizers_passed_in():
    w = minigrad.Parameter(np.zeros(8, dtype=np.float32))
    adam = optim.Adam([w], lr=0.1)
    w.grad = np.ones(8, dtype=np.float32)
    adam.step()
    ax = plot.memory_bars({"Adam": adam, "SGD": 0.0}).axes[0]
    assert [bar.get_height() for bar in ax.patches] == [optim.state_bytes_per_param(adam), 0.0]


# --- surfaces and trajectories --------------------------------------------------------

def test_surface_and_contour_pair():
    fig = plot.surface_and_contour(Bowl(), n=40, n_levels=8)
    ax3d, ax = fig.axes[:2]
    assert ax3d.name == "3d" and ax.name == "rectilinear"
    assert ax3d.get_zlabel() == "loss"
    (minimum,) = lines_by_gid(ax, "minimum")
    np.testing.assert_allclose(minimum.get_xydata(), Bowl.minima)
    assert fig.get_suptitle() == "bowl"
    assert_labelled(ax)
    assert_labelled(ax3d)


def test_surface_and_contour_from_plain_arrays():
    X, Y = np.meshgrid(np.linspace(-1, 1, 20), np.linspace(-1, 1, 20))
    fig = plot.surface_and_contour((X, Y, X**2 + Y**2))
    assert isinstance(fig, Figure) and lines_by_gid(fig.axes[1], "minimum") == []


def test_trajectories_on_contours_marks_start_end_minimum():
    a = np.array([[-1.5, 2.5], [-0.5, 1.5], [0.5, 1.2], [0.9, 1.0]])
    b = np.array([[-1.5, 2.5], [0.0, 0.0], [1.5, -0.5]])
    runs = [{"name": "GD", "path": a, "loss": np.ones(4)}, {"name": "Adam", "path": b}]
    ax = plot.trajectories_on_contours(Bowl(), runs, n=50).axes[0]
    paths = lines_by_gid(ax, "path")
    np.testing.assert_allclose(paths[0].get_xydata(), a)
    np.testing.assert_allclose(paths[1].get_xydata(), b)
    starts, ends = lines_by_gid(ax, "start"), lines_by_gid(ax, "end")
    np.testing.assert_allclose([s.get_xydata()[0] for s in starts], [a[0], b[0]])
    np.testing.assert_allclose([e.get_xydata()[0] for e in ends], [a[-1], b[-1]])
    assert [s.get_color() for s in starts] == [p.get_color() for p in paths]
    (minimum,) = lines_by_gid(ax, "minimum")
    np.testing.assert_allclose(minimum.get_xydata(), [[1.0, 1.0]])
    assert {"GD", "Adam", "start", "end", "minimum"} == set(legend_texts(ax))
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_title() == "bowl"
    assert_labelled(ax)


def test_trajectories_accept_a_mapping_or_one_array():
    X, Y = np.meshgrid(np.linspace(-1, 1, 10), np.linspace(-1, 1, 10))
    path = np.array([[0.5, 0.5], [0.0, 0.1]])
    for given in ({"x": path}, path):
        ax = plot.trajectories_on_contours((X, Y, X**2 + Y**2), given).axes[0]
        np.testing.assert_allclose(lines_by_gid(ax, "path")[0].get_xydata(), path)


def _heavy_ball(steps, lr, beta, scale, start):
    x, v, out = np.array(start, float), np.zeros(2), [np.array(start, float)]
    for _ in range(steps):
        v = beta * v + (1 - beta) * scale * x
        x = x - lr * v
        out.append(x)
    return np.array(out)


def test_momentum_ravine_paths_and_picture():
    scale, start = np.array([0.5, 20.0]), (-9.0, 1.5)
    gd = _heavy_ball(40, 0.095, 0.0, scale, start)
    mom = _heavy_ball(40, 0.095, 0.9, scale, start)
    fig = plot.momentum_ravine(40)
    left, right = fig.axes
    np.testing.assert_allclose(lines_by_gid(left, "path")[0].get_xydata(), gd)
    np.testing.assert_allclose(lines_by_gid(right, "path")[0].get_xydata(), mom)

    def zigzags(path):  # how often the step across the ravine changes direction
        dy = np.diff(path[:, 1])
        return int(np.sum(np.sign(dy[1:]) != np.sign(dy[:-1])))

    assert zigzags(gd) > 3 * zigzags(mom)
    assert np.linalg.norm(mom[-1]) < np.linalg.norm(gd[-1])
    for ax in (left, right):
        np.testing.assert_allclose(lines_by_gid(ax, "start")[0].get_xydata(), [start])
        np.testing.assert_allclose(lines_by_gid(ax, "minimum")[0].get_xydata(), [[0, 0]])
        assert legend_texts(ax)


# --- every function ---------------------------------------------------------------------

FIGURES = {
    "surface_and_contour": lambda: plot.surface_and_contour(Bowl(), n=20),
    "trajectories_on_contours": lambda: plot.trajectories_on_contours(Bowl(), Bowl.minima),
    "momentum_ravine": lambda: plot.momentum_ravine(5),
    "loss_curves": lambda: plot.loss_curves([1.0, 0.1]),
    "schedule_curves": lambda: plot.schedule_curves({"c": [0.1, 0.1]}),
    "ewa_figure": lambda: plot.ewa_figure(),
    "grad_norms": lambda: plot.grad_norms([1.0, 3.0], max_norm=1.0),
    "weight_norms": lambda: plot.weight_norms({"AdamW": [1.0, 0.9]}),
    "effective_lr": lambda: plot.effective_lr({"Adam": [0.1, 0.01]}),
    "memory_bars": lambda: plot.memory_bars({"SGD": 0.0}),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_function_returns_a_figure_and_leaves_rcparams_alone(name):
    before = dict(matplotlib.rcParams)
    fig = FIGURES[name]()
    assert isinstance(fig, Figure) and fig.axes
    fig.canvas.draw()  # renders on Agg without a window
    assert dict(matplotlib.rcParams) == before


def test_importing_plot_does_not_import_optim_or_schedules():
    code = ("import sys, minigrad.plot; "
            "print('optim' in sys.modules, 'schedules' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"MPLBACKEND": "Agg"},
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("module", ["style", "surfaces", "curves", "memory"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"minigrad.plot.{module}"))
    assert result.failed == 0 and result.attempted > 0

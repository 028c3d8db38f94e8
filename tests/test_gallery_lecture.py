"""The gallery as an instructor uses it: paths inside the axes, one text style, clean log
axes, slide formats, figures as functions, and trajectory figures that show their point."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")
from matplotlib.text import Text  # noqa: E402

from minigrad.gallery import FORMATS, REGISTRY, figure  # noqa: E402
from minigrad.gallery.__main__ import main  # noqa: E402
from minigrad.gallery.landscapes import CONTRASTS, contrast_runs  # noqa: E402
from minigrad.plot.style import FONT_SIZES, MAX_WIDTH  # noqa: E402

STILL = [name for name, entry in REGISTRY.items() if entry.kind == "png"]
TRAJECTORY_FIGURES = [name for name in STILL if name.startswith("trajectories_")]
LIGHT = ["adam_vs_adamw", "rosenbrock_comparison", "lr_schedules", "scheduler_comparison",
         "cosine_schedules", "onecycle", "loss_surface", "sgd_variants", "lion_vs_adam",
         "sam_flat_minimum", "momentum_ravine", *TRAJECTORY_FIGURES]


@pytest.fixture(scope="module")
def figures():
    return {name: figure(name, quick=True) for name in LIGHT}


def _final_loss(runs, prefix):
    (label,) = [label for label in runs if label.startswith(prefix)]
    return float(runs[label]["loss"][-1])


def test_figure_returns_a_figure_that_can_be_tweaked_and_saved(tmp_path):
    fig = figure("onecycle", quick=True)
    fig.axes[0].set_title("redrawn")
    fig.savefig(tmp_path / "onecycle.svg")
    assert (tmp_path / "onecycle.svg").read_text().lstrip().startswith("<")
    with pytest.raises(KeyError, match="unknown figure"):
        figure("no_such_figure")


def test_every_path_stays_inside_its_axes(figures):
    for name, fig in figures.items():
        for ax in fig.axes:
            (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
            for line in ax.get_lines():
                if line.get_gid() not in ("path", "start", "end", "exit"):
                    continue
                x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
                tolerance = 1e-9 * max(x1 - x0, y1 - y0)
                assert np.all((x >= x0 - tolerance) & (x <= x1 + tolerance)), (name, line)
                assert np.all((y >= y0 - tolerance) & (y <= y1 + tolerance)), (name, line)


def test_a_path_that_leaves_is_cut_at_the_edge_and_marked():
    from minigrad.plot import trajectories_on_contours

    X, Y = np.meshgrid(np.linspace(-1, 1, 20), np.linspace(-1, 1, 20))
    fig = trajectories_on_contours((X, Y, X**2 + Y**2), {"runaway": [[0, 0], [0.5, 0], [4, 0]]})
    ax = fig.axes[0]
    path = [line for line in ax.get_lines() if line.get_gid() == "path"][0]
    exits = [line for line in ax.get_lines() if line.get_gid() == "exit"]
    assert np.asarray(path.get_xdata()).max() == pytest.approx(ax.get_xlim()[1])
    assert len(exits) == 1 and not [l for l in ax.get_lines() if l.get_gid() == "end"]


def test_every_text_uses_one_of_the_three_sizes_and_figures_fit_a_slide(figures):
    for name, fig in figures.items():
        sizes = {text.get_fontsize() for text in fig.findobj(Text) if text.get_text()}
        assert sizes <= set(map(float, FONT_SIZES)), (name, sizes)
        assert fig.get_figwidth() <= MAX_WIDTH, name


def test_log_axes_draw_no_value_that_is_not_positive(figures):
    for name, fig in figures.items():
        for ax in fig.axes:
            if ax.name != "rectilinear" or ax.get_yscale() != "log":
                continue
            for line in ax.get_lines():
                if line.get_transform() != ax.transData:  # axvline: y in Axes units
                    continue
                y = np.asarray(line.get_ydata(), float)
                assert not np.any(y[np.isfinite(y)] <= 0), (name, line.get_label())


def test_a_schedule_starting_at_zero_leaves_a_gap_on_a_log_axis():
    from minigrad.plot import schedule_curves

    fig = schedule_curves({"warmup": [0.0, 0.01, 0.1]}, log=True)
    assert np.isnan(fig.axes[0].get_lines()[0].get_ydata()[0])


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "png"])
def test_format_option_writes_that_format_and_the_index_links_it(tmp_path, fmt):
    assert main(["--out", str(tmp_path), "--only", "onecycle", "--quick", "--format", fmt]) == 0
    written = tmp_path / f"onecycle.{fmt}"
    head = written.read_bytes()[:64]
    assert head.startswith(b"%PDF") if fmt == "pdf" else b"<svg" in written.read_bytes()[:2000]
    assert f"(onecycle.{fmt})" in (tmp_path / "index.md").read_text(encoding="utf-8")
    assert not (tmp_path / "onecycle.png").exists() and head


def test_every_contrast_figure_draws_its_runs(figures):
    for name in CONTRASTS:
        runs = contrast_runs(name)
        drawn = {line.get_label(): line for line in figures[f"trajectories_{name}"].axes[0]
                 .get_lines() if line.get_gid() == "path"}
        assert set(drawn) == set(runs)
        for label, run in runs.items():
            assert np.allclose(drawn[label].get_xydata()[0], run["path"][0])


def test_saddle_sgd_stalls_and_adam_escapes():
    runs = contrast_runs("saddle")
    assert _final_loss(runs, "Adam") < -1.0 < 0.0 < _final_loss(runs, "SGD")
    assert _final_loss(runs, "Momentum") > 0.0


def test_rastrigin_momentum_escapes_the_local_minimum_that_traps_sgd_and_adam():
    runs = contrast_runs("rastrigin")
    start = next(iter(runs.values()))["path"][0]
    assert start[0] != -start[1] and start[0] != start[1]  # off the diagonals
    assert _final_loss(runs, "Momentum") < _final_loss(runs, "SGD") - 2.0
    assert _final_loss(runs, "Momentum") < _final_loss(runs, "Adam") - 2.0
    sgd_end, adam_end = runs["SGD, lr=0.002"]["path"][-1], runs["Adam, lr=0.1"]["path"][-1]
    assert np.allclose(sgd_end, adam_end, atol=0.05)  # the same local minimum


def test_nonconvex_bowl_momentum_and_rmsprop_cross_the_ring_sgd_and_adam_do_not():
    runs = contrast_runs("nonconvex_bowl")
    radius = {label: float(np.hypot(*run["path"][-1])) for label, run in runs.items()}
    for prefix in ("SGD", "Adam"):
        (label,) = [lab for lab in runs if lab.startswith(prefix)]
        assert 1.5 < radius[label] < 2.5
    assert _final_loss(runs, "Momentum") < 1e-3
    assert _final_loss(runs, "RMSprop") < 0.1 < _final_loss(runs, "SGD")


def test_goldstein_price_momentum_finds_the_global_minimum_that_sgd_and_adam_miss():
    runs = contrast_runs("goldstein_price")
    assert _final_loss(runs, "Momentum") < 3.5
    assert _final_loss(runs, "SGD") > 10 * _final_loss(runs, "Momentum")
    assert _final_loss(runs, "Adam") > 10.0


def test_learning_rates_are_stated_in_captions_and_legends():
    for name, contrast in CONTRASTS.items():
        for label, (_, kwargs) in contrast.optimizers.items():
            assert "lr=" in label
            lr = f"{kwargs['lr']:g}".replace("e-0", "e-")
            assert f"lr={lr}" in label and f"lr {lr}" in contrast.caption, (name, label)


def test_adam_vs_adamw_explains_the_decay_against_gradient_scale(figures):
    from minigrad.gallery.figures import decay_per_step

    scales = np.array([1e-3, 1.0, 10.0])
    rates = decay_per_step(scales, steps=20, size=20)
    assert np.allclose(rates["AdamW"], 1e-3 * 0.01, rtol=0.05)
    assert rates["Adam + L2"][0] > 10 * rates["AdamW"][0]  # small gradients: decayed more
    assert rates["Adam + L2"][2] < rates["AdamW"][2] / 5  # large gradients: barely decayed
    fig = figures["adam_vs_adamw"]
    assert len(fig.axes) == 2
    assert [l for l in fig.axes[1].get_lines() if l.get_gid() == "typical_gradient"]


def test_every_gallery_figure_gets_the_uniform_sizes_whatever_it_asked_for():
    from minigrad.gallery import register, unregister
    from minigrad.plot import new_figure

    @register("test_odd_sizes", "A figure drawn with sizes of its own.")
    def odd(quick=False):
        fig, ax = new_figure(figsize=(20, 4))
        ax.set_title("tiny", fontsize=8)
        ax.annotate("huge", (0.5, 0.5), fontsize=30)
        return fig

    try:
        fig = figure("test_odd_sizes")
        sizes = {text.get_fontsize() for text in fig.findobj(Text) if text.get_text()}
        assert sizes <= set(map(float, FONT_SIZES)) and fig.get_figwidth() <= MAX_WIDTH
    finally:
        unregister("test_odd_sizes")


def test_sgd_variants_momentum_overshoots_and_nesterov_damps():
    fig = figure("sgd_variants", quick=True)
    loss = {line.get_label(): np.asarray(line.get_ydata()) for line in fig.axes[0].get_lines()}
    assert np.any(np.diff(loss["Momentum"]) > 0)  # the loss goes back up: overshoot
    assert loss["Nesterov"][-1] < loss["Momentum"][-1] / 1e3
    assert np.all(np.diff(loss["SGD"]) < 0) and loss["SGD"][-1] < loss["Nesterov"][-1]

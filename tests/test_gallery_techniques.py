"""Gallery figures of the training techniques: each renders in quick mode and draws the
numbers that the library computes (gradient histograms, EMA curves, per-layer rates,
sweep means, clipping records)."""
import copy

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from matplotlib.patches import Rectangle, StepPatch  # noqa: E402
from PIL import Image  # noqa: E402

from minigrad.gallery import REGISTRY  # noqa: E402
from minigrad.gallery import techniques  # noqa: E402
from minigrad.plot.techniques import (layer_lr_bars, log_magnitudes,  # noqa: E402
                                      magnitude_histograms, short_number)
from minigrad.sweep import to_table  # noqa: E402

NAMES = ["mixed_precision_underflow", "ema_vs_raw", "llrd_learning_rates", "sweep_heatmap",
         "grad_norm_clipping_monitor"]


COMPUTATIONS = ["precision_gradients", "ema_validation_losses", "moons_sweep"]


@pytest.fixture(scope="module")
def made():
    """Every figure of the module, made once in quick mode, and what the library computed
    for it (the return values of the computing functions, recorded on the way)."""
    computed = {}

    def recording(name, function):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            computed[name] = copy.deepcopy(result)
            return result
        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        for name in COMPUTATIONS:
            patch.setattr(techniques, name, recording(name, getattr(techniques, name)))
        figures = {name: REGISTRY[name].make(quick=True) for name in NAMES}
    assert set(computed) == set(COMPUTATIONS)
    return figures, computed


@pytest.fixture(scope="module")
def figures(made):
    return made[0]


@pytest.fixture(scope="module")
def computed(made):
    return made[1]


def _with_gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


def _total_variation(values):
    return float(np.abs(np.diff(np.asarray(values, dtype=float))).sum())


# ------------------------------------------------------------------ every figure
@pytest.mark.parametrize("name", NAMES)
def test_each_figure_is_registered_and_renders_a_png(figures, name, tmp_path):
    entry = REGISTRY[name]
    assert entry.kind == "png" and len(entry.caption) > 80
    path = tmp_path / entry.filename
    figures[name].savefig(path, dpi=30)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100


# ------------------------------------------------------------------ mixed precision
def test_float16_without_scaling_flushes_gradients_that_the_scaler_recovers(figures, computed):
    fig = figures["mixed_precision_underflow"]
    assert len(fig.axes) == 3
    zeros = [_with_gid(ax.patches, "zeros")[0].get_height() for ax in fig.axes]
    float32, float16, scaled = zeros
    assert float32 == 0 and scaled == 0
    assert float16 > 0.5 * computed["precision_gradients"]["float32"].size


def test_histograms_draw_the_computed_gradients_and_the_float16_limits(figures, computed):
    fig = figures["mixed_precision_underflow"]
    grads = dict(computed["precision_gradients"])
    scale = grads.pop("scale")
    assert scale == 2.0 ** 16
    for ax, values in zip(fig.axes, grads.values()):
        counts, edges, _ = _with_gid(ax.patches, "histogram")[0].get_data()
        logs, zeros = log_magnitudes(values)
        np.testing.assert_array_equal(counts, np.histogram(logs, bins=edges)[0])
        assert _with_gid(ax.patches, "zeros")[0].get_height() == zeros
        assert counts.sum() + zeros == values.size  # nothing falls outside the bins
        lines = sorted(line.get_xdata()[0] for line in _with_gid(ax.lines, "threshold"))
        assert np.log10(2.0 ** -24) in lines and np.log10(2.0 ** -14) in lines
    # the scaled panel also shows float16's limits moved down by the scale
    shifted = [line.get_xdata()[0] for line in _with_gid(fig.axes[2].lines, "threshold")]
    assert np.log10(2.0 ** -24 / scale) in shifted


def test_gradient_scaling_recovers_the_float32_gradients(computed):
    grads = computed["precision_gradients"]
    reference, scaled = grads["float32"], grads["float16 + GradScaler"]
    relative = np.abs(scaled - reference) / np.abs(reference)
    assert np.median(relative) < 1e-2
    float16 = grads["float16"]
    assert np.median(np.abs(float16 - reference) / np.abs(reference)) > 0.5


# ------------------------------------------------------------------ EMA
def test_ema_curve_is_drawn_and_smoother_than_the_raw_curve(figures, computed):
    ax = figures["ema_vs_raw"].axes[0]
    raw, ema = _with_gid(ax.lines, "raw")[0], _with_gid(ax.lines, "ema")[0]
    curves = computed["ema_validation_losses"]
    np.testing.assert_allclose(raw.get_ydata(), curves["raw"])
    np.testing.assert_allclose(ema.get_ydata(), curves["ema"])
    np.testing.assert_array_equal(ema.get_xdata(), curves["step"])
    assert _total_variation(ema.get_ydata()) < 0.5 * _total_variation(raw.get_ydata())


def test_ema_is_folded_in_after_every_step():
    # decay 0 makes the EMA the current weights, and the first update copies them
    curves = techniques.ema_validation_losses(steps=2, every=1, decay=0.0)
    np.testing.assert_allclose(curves["ema"], curves["raw"], rtol=1e-6)
    curves = techniques.ema_validation_losses(steps=1, every=1, decay=0.99)
    np.testing.assert_allclose(curves["ema"], curves["raw"], rtol=1e-6)


# ------------------------------------------------------------------ per-layer rates
def test_llrd_bars_are_the_rates_of_the_param_groups(figures):
    from optim.param_groups import discriminative_lr_groups, layerwise_lr_decay_groups

    ax = figures["llrd_learning_rates"].axes[0]
    model = techniques.six_layer_model()
    expected = [[g["lr"] for g in layerwise_lr_decay_groups(model, lr=1e-3, decay=0.65)],
                [g["lr"] for g in discriminative_lr_groups(model, lr=1e-3, factor=2.6)]]
    drawn = [list(container.datavalues) for container in ax.containers]
    np.testing.assert_allclose(drawn, expected, rtol=1e-12)
    depth = np.arange(5, -1, -1)
    np.testing.assert_allclose(drawn[0], 1e-3 * 0.65 ** depth)
    np.testing.assert_allclose(drawn[1], 1e-3 / 2.6 ** depth)
    assert ax.get_yscale() == "log" and len(ax.get_xticklabels()) == 6


# ------------------------------------------------------------------ sweep
def test_heatmap_cells_are_the_means_of_the_sweep_table(figures, computed):
    ax = figures["sweep_heatmap"].axes[0]
    table = to_table(computed["moons_sweep"])
    assert set(table["seed"].tolist()) == {0}
    image = np.asarray(ax.images[0].get_array())
    optimizers = [t.get_text() for t in ax.get_yticklabels()]
    assert optimizers == list(techniques.SWEEP_OPTIMIZERS)
    for i, name in enumerate(optimizers):
        for j, lr in enumerate(techniques.SWEEP_LRS):
            chosen = (table["optimizer"] == name) & (table["lr"] == lr)
            assert chosen.sum() == 1
            assert image[i, j] == pytest.approx(table["final_loss"][chosen].mean())


def test_full_sweep_averages_three_seeds(monkeypatch):
    from minigrad import sweep

    captured = {}

    def fake_grid(fn, space, executor=None, **kwargs):
        captured.update(space=space, executor=executor)
        return []

    monkeypatch.setattr(sweep, "grid", fake_grid)
    techniques.moons_sweep(quick=False)
    assert captured["space"]["seed"] == [0, 1, 2] and captured["executor"] == "serial"


# ------------------------------------------------------------------ gradient norms
def test_clipping_monitor_draws_the_recorded_norms(figures):
    left, right = figures["grad_norm_clipping_monitor"].axes[:2]
    before = _with_gid(left.lines, "before")[0].get_ydata()
    after = _with_gid(left.lines, "after")[0].get_ydata()
    max_norm = _with_gid(left.lines, "max_norm")[0].get_ydata()[0]
    assert (before > max_norm).sum() >= 5  # the early steps are clipped ...
    np.testing.assert_allclose(after, np.minimum(before, max_norm), rtol=1e-5)
    weights = [line for line in right.lines if str(line.get_gid()).endswith("weight")]
    assert len(weights) == 3
    # ... and the total is the norm of the per-parameter norms (weights are part of it)
    assert np.all(np.sqrt(sum(line.get_ydata() ** 2 for line in weights)) <= before + 1e-6)


# ------------------------------------------------------------------ plot functions
def test_magnitude_histograms_counts_zeros_apart_and_checks_its_arguments():
    values = {"a": np.array([0.0, 0.0, 1e-3, -2e-3, 5.0]), "b": np.array([1e-2])}
    fig = magnitude_histograms(values, bins=[-4, -2, 0, 2], thresholds={"t": 1e-3})
    first = fig.axes[0]
    assert _with_gid(first.patches, "zeros")[0].get_height() == 2
    np.testing.assert_array_equal(_with_gid(first.patches, "histogram")[0].get_data()[0],
                                  [2, 0, 1])
    assert isinstance(_with_gid(first.patches, "zeros")[0], Rectangle)
    assert isinstance(_with_gid(first.patches, "histogram")[0], StepPatch)
    default = magnitude_histograms(values)  # default bins hold every value
    counts = _with_gid(default.axes[0].patches, "histogram")[0].get_data()[0]
    assert counts.sum() == 3
    with pytest.raises(ValueError, match="increasing"):
        magnitude_histograms(values, bins=[0, 0])
    with pytest.raises(KeyError, match="c"):
        magnitude_histograms(values, panel_thresholds={"c": {"t": 1.0}})
    with pytest.raises(ValueError):
        magnitude_histograms({})


def test_layer_lr_bars_checks_lengths_and_labels():
    fig = layer_lr_bars({"a": [1e-4, 1e-3]}, ["bottom", "top"], log=False)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bottom", "top"]
    assert ax.get_yscale() == "linear"
    with pytest.raises(ValueError, match="one rate per layer"):
        layer_lr_bars({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ValueError, match="labels"):
        layer_lr_bars({"a": [1.0, 2.0]}, ["only one"])


def test_short_number():
    assert [short_number(v) for v in (1.2e-4, 8.4e-6, 1.0, 0.0)] == \
        ["1.2e-4", "8.4e-6", "1e0", "0"]

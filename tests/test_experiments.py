"""The experiments (minigrad.experiments), their figures (minigrad.plot.experiments) and
their gallery entries: tiny runs return the documented structure with finite numbers,
the robust qualitative claims hold at small scale, the figures draw the data given."""
import math

import numpy as np
import pytest

import minigrad
import optim
from minigrad.experiments import (as_images, batch_size_experiment, char_transformer,
                                  large_batch_simulation, optimizer_comparison,
                                  peak_step_bytes, resnet_schedulers, scheduler_ablation,
                                  sgd_vs_adam_generalisation, transformer_warmup,
                                  warmup_experiment)
from minigrad.experiments._common import (batch_stream, classification_data, mlp,
                                          train_steps)

pytest.importorskip("sklearn")  # the experiments default to the scikit-learn digits
pytest.importorskip("matplotlib")

TINY = {"hidden": (8,)}


def _finite(*arrays):
    return all(np.all(np.isfinite(np.asarray(a, dtype=float))) for a in arrays)


def _toy_data(n_train=96, n_test=48, shape=(4, 4), classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_train + n_test, *shape)).astype(np.float32)
    y = rng.integers(0, classes, n_train + n_test)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


# ---------------------------------------------------------------- shared pieces
def test_classification_data_subsets_and_casts():
    x, y, x_test, y_test = classification_data(_toy_data(), n_train=40)
    assert x.shape == (40, 4, 4) and x.dtype == np.float32 and y.dtype == np.int64
    assert x_test.shape == (48, 4, 4)
    with pytest.raises(ValueError, match="x_train, y_train, x_test, y_test"):
        classification_data((x, y))


def test_batch_stream_gives_equal_batches_and_reshuffles_each_epoch():
    x, y = np.arange(10)[:, None], np.arange(10)
    stream = batch_stream(x, y, 4, np.random.default_rng(0))
    batches = [next(stream)[1] for _ in range(4)]
    assert all(len(b) == 4 for b in batches)
    first_epoch = np.concatenate(batches[:2])
    assert len(set(first_epoch)) == 8  # no row twice within an epoch
    with pytest.raises(ValueError, match="batch_size"):
        next(batch_stream(x, y, 11, np.random.default_rng(0)))


def test_accumulated_steps_equal_full_batch_steps():
    x, y, _, _ = classification_data(_toy_data(shape=(6,)))
    runs = []
    for k in (1, 4):
        model = mlp([6, 8, 3], seed=0)
        record = train_steps(model, optim.SGD(model.parameters(), lr=0.5),
                             batch_stream(x, y, 32, np.random.default_rng(0)), 5,
                             accumulation_steps=k)
        runs.append((record["loss"], model[0].weight.data.copy()))
    (full_loss, full_weight), (accumulated_loss, accumulated_weight) = runs
    np.testing.assert_allclose(accumulated_loss, full_loss, rtol=1e-4)
    np.testing.assert_allclose(accumulated_weight, full_weight, rtol=1e-4, atol=1e-6)


def test_peak_step_bytes_falls_with_the_micro_batch_and_leaves_weights_alone():
    x, y, _, _ = classification_data(_toy_data(n_train=256, shape=(16,)))
    model = mlp([16, 64, 3], seed=0)
    before = [p.data.copy() for p in model.parameters()]
    direct, accumulated = peak_step_bytes(model, x, y, 1), peak_step_bytes(model, x, y, 8)
    assert 0 < accumulated < direct
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


# ---------------------------------------------------------------- batch size
def test_batch_size_experiment_structure_and_fewer_steps_for_larger_batches():
    result = batch_size_experiment((16, 64), epochs=2, n_train=128, **TINY)
    assert result["batch_size"].tolist() == [16, 64]
    assert result["steps_per_epoch"].tolist() == [8, 2]
    assert result["train_loss"].shape == result["epoch_seconds"].shape == (2, 2)
    assert result["test_accuracy"].shape == result["seconds_per_epoch"].shape == (2,)
    assert _finite(*result.values())
    assert np.all((result["test_accuracy"] >= 0) & (result["test_accuracy"] <= 1))
    assert np.all(result["seconds_per_epoch"] > 0)


def test_batch_size_experiment_takes_user_images():
    result = batch_size_experiment((32,), epochs=1, data=_toy_data(), **TINY)
    assert result["steps_per_epoch"].tolist() == [3]  # 96 rows of 4×4 images, flattened


def test_large_batch_simulation_accumulation_matches_the_direct_run():
    runs = large_batch_simulation(batch_size=128, micro_batch=32, steps=4, warmup_steps=2,
                                  **TINY)
    names = [run["name"] for run in runs]
    assert names == ["SGD, batch 128", "LARS, batch 128", "LARS, 32 × 4 accumulated",
                     "LAMB, batch 128", "Adam, batch 128"]
    for run in runs:
        assert run["loss"].shape == run["grad_norm"].shape == run["lr"].shape == (4,)
        assert _finite(run["loss"], run["grad_norm"], run["test_accuracy"])
    direct, accumulated = runs[1], runs[2]
    assert accumulated["accumulation_steps"] == 4 and accumulated["rows_per_pass"] == 32
    np.testing.assert_allclose(accumulated["loss"], direct["loss"], rtol=1e-4)
    assert accumulated["peak_bytes"] < direct["peak_bytes"]
    np.testing.assert_allclose(direct["lr"], [0.1, 0.2, 0.2, 0.2])  # 0.1·128/64, warmed up


def test_warmup_avoids_the_early_spike_at_a_large_batch():
    runs = warmup_experiment(batch_size=512, steps=10, warmup_steps=10, hidden=(128, 64))
    no_warmup, warmup = runs
    assert [no_warmup["name"], warmup["name"]] == ["no warmup", "warmup (10 steps)"]
    np.testing.assert_allclose(warmup["lr"], 0.1 * np.arange(1, 11) / 10)
    assert np.all(no_warmup["lr"] == 0.1)
    assert no_warmup["loss"][0] == pytest.approx(warmup["loss"][0])  # same start
    assert no_warmup["loss"].max() > 2 * warmup["loss"].max()
    assert no_warmup["grad_norm"].max() > 2 * warmup["grad_norm"].max()


# ---------------------------------------------------------------- optimizers
def test_optimizer_comparison_one_curve_per_optimizer():
    runs = optimizer_comparison(epochs=1, n_train=64, batch_size=32, **TINY)
    assert [run["name"] for run in runs] == ["SGD", "Momentum", "Nesterov", "RMSprop",
                                            "Adam", "AdamW", "Lion"]
    for run in runs:
        assert run["loss"].shape == (2,) and run["test_accuracy"].shape == (1,)
        assert _finite(run["loss"], run["train_loss"], run["test_loss"], run["grad_norm"])
    assert runs[0]["loss"][0] == pytest.approx(runs[4]["loss"][0])  # same weights, batch


def test_optimizer_comparison_takes_classes_and_functions():
    runs = optimizer_comparison({"Adam": optim.Adam,
                                 "Adam, lr 0.01": lambda model: optim.Adam(
                                     model.parameters(), lr=0.01)},
                                epochs=1, n_train=32, batch_size=32, **TINY)
    assert [run["lr"][0] for run in runs] == [1e-3, 0.01]


def test_sgd_vs_adam_generalisation_records_train_and_test_each_epoch():
    runs = sgd_vs_adam_generalisation(epochs=2, n_train=48, batch_size=16, **TINY)
    assert [run["name"] for run in runs] == ["SGD + momentum", "Adam"]
    for run in runs:
        for key in ("train_eval_loss", "train_accuracy", "test_loss", "test_accuracy"):
            assert run[key].shape == (2,) and _finite(run[key])


# ---------------------------------------------------------------- schedulers
def test_scheduler_ablation_five_schedules_with_their_shapes():
    runs = scheduler_ablation(epochs=3, n_train=64, batch_size=16, lr=0.1, **TINY)
    lrs = {run["name"]: run["lr"] for run in runs}
    assert list(lrs) == ["constant", "StepLR", "cosine", "OneCycleLR", "warmup + cosine"]
    assert all(len(lr) == 12 for lr in lrs.values())
    assert np.all(lrs["constant"] == 0.1)
    np.testing.assert_allclose(lrs["StepLR"][[0, 3, 4, 8]], [0.1, 0.1, 0.01, 0.001])
    assert lrs["cosine"][0] == 0.1 and np.all(np.diff(lrs["cosine"]) < 0)
    assert lrs["OneCycleLR"][0] == pytest.approx(0.1 / 25) and lrs["OneCycleLR"].max() <= 0.1
    assert lrs["warmup + cosine"][0] == 0.0
    for run in runs:
        assert run["test_accuracy"].shape == (3,)
        assert run["final_test_accuracy"] == run["test_accuracy"][-1]
        assert _finite(run["loss"], run["test_loss"])


def test_resnet_schedulers_on_tiny_images():
    from schedules import CosineAnnealingLR

    data = classification_data(None)
    data = (data[0][:32], data[1][:32], data[2][:16], data[3][:16])
    runs = resnet_schedulers({"constant": lambda opt, total: None,
                              "cosine": lambda opt, total: CosineAnnealingLR(opt, total)},
                             epochs=1, batch_size=16, width=2, data=data)
    assert [run["name"] for run in runs] == ["constant", "cosine"]
    for run in runs:
        assert run["loss"].shape == (2,) and _finite(run["loss"], run["test_accuracy"])


def test_as_images():
    assert as_images(np.zeros((5, 64))).shape == (5, 1, 8, 8)
    assert as_images(np.zeros((5, 28, 28))).shape == (5, 1, 28, 28)
    assert as_images(np.zeros((5, 3, 4, 4))).shape == (5, 3, 4, 4)
    with pytest.raises(ValueError, match="square"):
        as_images(np.zeros((5, 10)))


# ---------------------------------------------------------------- transformer
TINY_TRANSFORMER = dict(d_model=8, nhead=2, num_layers=1, dim_feedforward=8, context=8,
                        batch_size=4)


def test_char_transformer_is_causal():
    minigrad.manual_seed(0)
    model = char_transformer(10, context=6, d_model=8, nhead=2, num_layers=2,
                             dim_feedforward=8)
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    changed = ids.copy()
    changed[0, 4] = 9
    a, b = model(minigrad.tensor(ids)).data, model(minigrad.tensor(changed)).data
    assert a.shape == (1, 6, 10)
    np.testing.assert_allclose(a[0, :4], b[0, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0, 4:], b[0, 4:])


def test_transformer_warmup_runs_both_and_warms_up():
    runs = transformer_warmup(steps=4, warmup_steps=2, lr=0.01, **TINY_TRANSFORMER)
    no_warmup, warmup = runs
    assert [no_warmup["name"], warmup["name"]] == ["no warmup", "warmup (2 steps)"]
    assert no_warmup["lr"][0] == 0.01 and warmup["lr"][:3].tolist() == [0.0, 0.005, 0.01]
    vocabulary = len(set(minigrad.experiments.TEXT))
    for run in runs:
        assert run["loss"].shape == run["grad_norm"].shape == (4,)
        assert _finite(run["loss"], run["grad_norm"], run["val_loss"])
        assert abs(run["loss"][0] - math.log(vocabulary)) < 1.0  # starts near uniform
    assert no_warmup["loss"][0] == pytest.approx(warmup["loss"][0])


# ---------------------------------------------------------------- figures
def test_run_panels_draw_the_given_numbers():
    from minigrad.plot import ewa
    from minigrad.plot.experiments import run_panels

    runs = [{"name": "a", "loss": [3.0, 2.0, np.inf], "acc": [0.5, 0.8], "x": 0.8,
             "linestyle": "--"},
            {"name": "b", "loss": [3.0, 1.0, 0.5], "acc": [0.6, 0.9], "x": 0.9}]
    fig = run_panels(runs, [{"key": "loss", "log": True, "smooth": 0.5},
                            {"key": ("acc", "x"), "xlabel": "epoch", "start": 1,
                             "key_labels": ("train", "test")}],
                     bars=[{"key": "acc", "label": "final"}], title="T")
    loss_ax, acc_ax, bar_ax = fig.axes
    lines = loss_ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    assert lines[0].get_linestyle() == "--" and loss_ax.get_yscale() == "log"
    np.testing.assert_allclose(lines[1].get_ydata(), ewa([3.0, 1.0, 0.5], 0.5, True))
    assert np.isnan(lines[0].get_ydata()[-1])  # the infinite loss is left out
    assert [line.get_label() for line in acc_ax.get_lines()] == ["a, train", "a, test",
                                                                "b, train", "b, test"]
    assert acc_ax.get_lines()[0].get_xdata().tolist() == [1, 2]
    assert [p.get_gid() for p in bar_ax.patches] == ["acc|a", "acc|b"]
    assert [float(p.get_width()) for p in bar_ax.patches] == [0.8, 0.9]
    assert bar_ax.get_xlabel() == "final" and fig._suptitle.get_text() == "T"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="smooth"):
        run_panels(runs, [{"key": "loss", "smooth": 1.0}])


def test_batch_size_figure_draws_the_result():
    from minigrad.plot.experiments import batch_size_figure

    result = {"batch_size": np.array([16, 64]), "train_loss": np.array([[2.0, 1.0],
                                                                        [2.2, 1.8]]),
              "test_accuracy": np.array([0.9, 0.8]), "seconds_per_epoch": [0.5, 0.1],
              "steps_per_epoch": [8, 2]}
    fig = batch_size_figure(result)
    losses, accuracy, seconds = fig.axes
    assert [line.get_label() for line in losses.get_lines()] == ["batch 16", "batch 64"]
    np.testing.assert_array_equal(losses.get_lines()[1].get_ydata(), [2.2, 1.8])
    np.testing.assert_array_equal(accuracy.get_lines()[0].get_xdata(), [16, 64])
    np.testing.assert_array_equal(seconds.get_lines()[0].get_ydata(), [0.5, 0.1])
    assert [t.get_text() for t in seconds.texts] == ["8 steps", "2 steps"]


GALLERY_LINES = {  # figure -> the labels of the first panel's lines, in quick mode
    "batch_size_experiment": ["batch 16", "batch 64", "batch 256"],
    "large_batch_simulation": ["SGD, batch 128", "LARS, batch 128",
                               "LARS, 32 × 4 accumulated", "LAMB, batch 128",
                               "Adam, batch 128"],
    "warmup_large_batch": ["no warmup", "warmup (3 steps)"],
    "optimizer_comparison_digits": ["SGD", "Momentum", "Nesterov", "RMSprop", "Adam",
                                    "AdamW", "Lion"],
    "sgd_vs_adam_generalisation": ["SGD + momentum, train", "SGD + momentum, test",
                                   "Adam, train", "Adam, test"],
    "scheduler_ablation": ["constant", "StepLR", "cosine", "OneCycleLR", "warmup + cosine"],
    "resnet_schedulers": ["constant", "StepLR", "cosine", "OneCycleLR", "warmup + cosine"],
    "transformer_warmup": ["no warmup", "warmup (3 steps)"],
}


@pytest.mark.parametrize("name", list(GALLERY_LINES))
def test_gallery_figure_renders_in_quick_mode(name):
    from matplotlib.figure import Figure

    from minigrad.gallery import experiments as figures  # noqa: F401  (registers them)
    from minigrad.gallery.registry import REGISTRY

    fig = REGISTRY[name].make(quick=True)
    assert isinstance(fig, Figure)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == GALLERY_LINES[name]
    for ax in fig.axes:
        for line in ax.get_lines():
            assert np.isfinite(np.asarray(line.get_ydata(), float)).any()

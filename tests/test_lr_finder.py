"""The LR range test (``schedules.LRFinder``): the ramp, divergence, cycling, accumulation,
exact restoration of model and optimizer, the suggestions, the plot and the validation.

The problem is the chapters' small linear regression (``make_linear_regression``) fitted by
``nn.Linear`` with ``F.mse_loss``, using SGD with momentum and Adam.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
import optim
from minigrad import nn
from minigrad.data import DataLoader, TensorDataset, make_linear_regression
from schedules import LRFinder

N_FEATURES = 10
OPTIMIZERS = {
    "sgd_momentum": lambda model: optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
    "adam": lambda model: optim.Adam(model.parameters(), lr=1e-3),
}


# ---------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def data():
    X, y, _ = make_linear_regression(n_samples=512, n_features=N_FEATURES, noise=0.1, seed=3)
    return X, y


def make_loader(data, batch_size=32):
    return DataLoader(TensorDataset(*data), batch_size=batch_size)


def make_model(seed=0):
    minigrad.manual_seed(seed)
    return nn.Linear(N_FEATURES, 1)


def full_loss(model, data):
    with minigrad.no_grad():
        return F.mse_loss(model(minigrad.tensor(data[0])), minigrad.tensor(data[1])).item()


def train(model, optimizer, loader, steps):
    """Plain training for ``steps`` batches; the last gradients are left in ``.grad``."""
    done = 0
    while done < steps:
        for xb, yb in loader:
            optimizer.zero_grad()
            F.mse_loss(model(xb), yb).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return model


def two_group_sgd(model):
    """SGD with momentum and two groups of different rates (weight, bias)."""
    return optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.002}],
                     lr=0.01, momentum=0.9, nesterov=True)


def assert_same(a, b, where="state"):
    """Recursive equality; arrays must be bit-identical (same dtype, same values)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


class Record:
    """Everything the finder must leave as it found it."""

    def __init__(self, model, optimizer):
        self.params = [(p, p.data, p.data.copy()) for p in model.parameters()]
        self.grads = [(p, p.grad, None if p.grad is None else p.grad.copy())
                      for p in model.parameters()]
        self.optimizer_state = optimizer.state_dict()
        self.groups = list(optimizer.param_groups)
        self.group_list = optimizer.param_groups
        self.lrs = [group["lr"] for group in optimizer.param_groups]
        self.training = model.training

    def check(self, model, optimizer):
        for p, data, saved in self.params:
            assert np.array_equal(p.data, saved) and p.data.dtype == saved.dtype
            assert p.data is data  # restored in place
        for p, grad, saved in self.grads:
            if saved is None:
                assert p.grad is None
            else:
                assert p.grad is grad and np.array_equal(p.grad, saved)
        assert_same(optimizer.state_dict(), self.optimizer_state)
        assert optimizer.param_groups is self.group_list
        assert all(a is b for a, b in zip(optimizer.param_groups, self.groups))
        assert [group["lr"] for group in optimizer.param_groups] == self.lrs
        assert model.training == self.training


class CountingLoader:
    """A re-iterable loader that counts epochs started and batches handed out."""

    def __init__(self, loader):
        self.loader, self.epochs, self.batches = loader, 0, 0

    def __iter__(self):
        self.epochs += 1
        for batch in self.loader:
            self.batches += 1
            yield batch


# ---------------------------------------------------------------------- restoration
@pytest.mark.parametrize("make_optimizer", [OPTIMIZERS["sgd_momentum"], OPTIMIZERS["adam"],
                                            two_group_sgd],
                         ids=["sgd_momentum", "adam", "sgd_two_groups"])
def test_range_test_restores_model_and_optimizer_bit_for_bit(data, make_optimizer):
    loader = make_loader(data)
    model = make_model()
    optimizer = make_optimizer(model)
    train(model, optimizer, loader, 5)  # momentum buffers / moments exist, grads are set
    model.bias.grad = None              # one gradient missing, one present
    model.eval()
    twin = make_model()
    twin_optimizer = make_optimizer(twin)
    train(twin, twin_optimizer, loader, 5)

    record = Record(model, optimizer)
    history = LRFinder(model, optimizer, F.mse_loss).range_test(loader, end_lr=10)
    assert len(history["lr"]) > 10  # it really trained
    record.check(model, optimizer)

    # training goes on exactly as if the test had never run
    train(model, optimizer, loader, 3)
    train(twin, twin_optimizer, loader, 3)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.data, q.data)
    assert_same(optimizer.state_dict(), twin_optimizer.state_dict())


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_range_test_restores_everything_when_the_criterion_raises(data, name):
    loader = make_loader(data)
    model = make_model()
    optimizer = OPTIMIZERS[name](model)
    train(model, optimizer, loader, 4)
    calls = []

    def failing_criterion(prediction, target):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("criterion failed mid-test")
        return F.mse_loss(prediction, target)

    record = Record(model, optimizer)
    finder = LRFinder(model, optimizer, failing_criterion)
    with pytest.raises(RuntimeError, match="mid-test"):
        finder.range_test(loader, start_lr=1e-3, end_lr=1.0, num_iter=20)
    assert len(calls) == 7  # six steps were taken before the failure
    record.check(model, optimizer)
    assert finder.history is None


def test_range_test_restores_the_scheduler_step_flag(data):
    from schedules import StepLR

    model = make_model()
    optimizer = OPTIMIZERS["sgd_momentum"](model)
    StepLR(optimizer, step_size=10)  # wraps optimizer.step to record _opt_called
    assert not getattr(optimizer, "_opt_called", False)
    LRFinder(model, optimizer, F.mse_loss).range_test(make_loader(data), num_iter=5)
    assert not getattr(optimizer, "_opt_called", False)
    assert optimizer.param_groups[0]["initial_lr"] == 0.01


# ---------------------------------------------------------------------- the ramp
def test_exp_ramp_is_geometric_and_every_group_gets_it(data):
    model = make_model()
    optimizer = two_group_sgd(model)
    seen = []

    def spy(prediction, target):
        seen.append([group["lr"] for group in optimizer.param_groups])
        return F.mse_loss(prediction, target)

    start, end, n = 1e-6, 1e-2, 40
    history = LRFinder(model, optimizer, spy).range_test(make_loader(data), start_lr=start,
                                                         end_lr=end, num_iter=n)
    lrs = np.array(history["lr"])
    expected = start * (end / start) ** (np.arange(n) / (n - 1))
    assert len(lrs) == n == len(history["loss"])
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    np.testing.assert_allclose(lrs, np.geomspace(start, end, n), rtol=1e-12)
    assert lrs[0] == start and lrs[-1] == end
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], (end / start) ** (1 / (n - 1)), rtol=1e-12)
    # the rate of step i is the one recorded for step i, in every group alike
    assert seen == [[lr, lr] for lr in history["lr"]]
    assert all(isinstance(v, float) for v in history["lr"] + history["loss"])


def test_linear_ramp(data):
    model = make_model()
    optimizer = OPTIMIZERS["sgd_momentum"](model)
    start, end, n = 1e-4, 0.05, 25
    history = LRFinder(model, optimizer, F.mse_loss).range_test(
        make_loader(data), start_lr=start, end_lr=end, num_iter=n, step_mode="linear")
    lrs = np.array(history["lr"])
    assert len(lrs) == n
    np.testing.assert_allclose(lrs, np.linspace(start, end, n), rtol=1e-12)
    np.testing.assert_allclose(np.diff(lrs), (end - start) / (n - 1), rtol=1e-9)


def test_loss_is_smoothed_with_an_ema_whose_first_point_is_raw(data):
    model = make_model()
    optimizer = OPTIMIZERS["sgd_momentum"](model)
    raw = []

    def spy(prediction, target):
        loss = F.mse_loss(prediction, target)
        raw.append(loss.item())
        return loss

    smooth_f = 0.3
    history = LRFinder(model, optimizer, spy).range_test(
        make_loader(data), start_lr=1e-5, end_lr=1e-2, num_iter=15, smooth_f=smooth_f)
    expected = [raw[0]]
    for value in raw[1:]:
        expected.append(smooth_f * value + (1 - smooth_f) * expected[-1])
    np.testing.assert_allclose(history["loss"], expected, rtol=1e-6)

    model2 = make_model()
    raw.clear()
    unsmoothed = LRFinder(model2, OPTIMIZERS["sgd_momentum"](model2),
                          spy).range_test(make_loader(data), start_lr=1e-5, end_lr=1e-2,
                                          num_iter=15, smooth_f=0.0)
    np.testing.assert_allclose(unsmoothed["loss"], raw, rtol=1e-6)


# ---------------------------------------------------------------------- divergence, cycling
@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_stops_early_when_the_loss_diverges(data, name):
    model = make_model()
    optimizer = OPTIMIZERS[name](model)
    num_iter, diverge_th = 200, 5
    finder = LRFinder(model, optimizer, F.mse_loss)
    history = finder.range_test(make_loader(data), start_lr=1e-5, end_lr=1e3,
                                num_iter=num_iter, diverge_th=diverge_th)
    losses = history["loss"]
    assert 20 < len(losses) < num_iter
    assert len(history["lr"]) == len(losses)
    assert history["lr"][-1] < 1e3
    # the last point is the first that crossed the threshold (or became non-finite)
    last = losses[-1]
    assert not math.isfinite(last) or last > diverge_th * min(losses[:-1])
    for i in range(1, len(losses) - 1):
        assert losses[i] <= diverge_th * min(losses[:i + 1])
    assert finder.best_loss == min(v for v in losses if math.isfinite(v))


def test_cycles_a_loader_shorter_than_num_iter(data):
    loader = CountingLoader(make_loader((data[0][:96], data[1][:96]), batch_size=32))  # 3
    model = make_model()
    history = LRFinder(model, OPTIMIZERS["sgd_momentum"](model),
                       F.mse_loss).range_test(loader, start_lr=1e-5, end_lr=1e-3, num_iter=10)
    assert len(history["lr"]) == 10
    assert loader.batches == 10
    assert loader.epochs == 4  # 3 + 3 + 3 + 1 batches


def test_a_loader_without_batches_is_an_error_and_changes_nothing(data):
    model = make_model()
    optimizer = OPTIMIZERS["adam"](model)
    record = Record(model, optimizer)
    with pytest.raises(ValueError, match="no batches"):
        LRFinder(model, optimizer, F.mse_loss).range_test([], num_iter=5)
    record.check(model, optimizer)


def test_accumulation_steps_match_one_big_batch(data):
    # two batches of 16 accumulated (each loss halved) give the gradient of one batch of 32
    small = CountingLoader(make_loader(data, batch_size=16))
    model_a = make_model()
    hist_a = LRFinder(model_a, OPTIMIZERS["sgd_momentum"](model_a),
                      F.mse_loss).range_test(small, start_lr=1e-4, end_lr=0.05, num_iter=30,
                                             accumulation_steps=2)
    assert small.batches == 60  # two batches per step

    model_b = make_model()
    hist_b = LRFinder(model_b, OPTIMIZERS["sgd_momentum"](model_b),
                      F.mse_loss).range_test(make_loader(data, batch_size=32), start_lr=1e-4,
                                             end_lr=0.05, num_iter=30)
    assert hist_a["lr"] == hist_b["lr"]
    np.testing.assert_allclose(hist_a["loss"], hist_b["loss"], rtol=1e-4)


# ---------------------------------------------------------------------- suggestions
@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_suggestions_lie_in_the_stable_band(data, name):
    loader = make_loader(data)
    model = make_model()
    finder = LRFinder(model, OPTIMIZERS[name](model), F.mse_loss)
    history = finder.range_test(loader, start_lr=1e-5, end_lr=1e3, num_iter=200)
    lr_diverged = history["lr"][-1]
    assert len(history["lr"]) < 200
    initial = full_loss(make_model(), data)

    def loss_after(lr, steps=60):
        fresh = make_model()
        opt = OPTIMIZERS[name](fresh)
        for group in opt.param_groups:
            group["lr"] = lr
        with np.errstate(over="ignore", invalid="ignore"):  # the 10x run overflows
            train(fresh, opt, loader, steps)
            return full_loss(fresh, data)

    slow = loss_after(history["lr"][0])  # the bottom of the sweep barely trains
    assert slow > 0.9 * initial
    for method in ("steepest", "valley", "minimum"):
        lr = finder.suggestion(method)
        assert history["lr"][0] < lr < lr_diverged, method
        trained = loss_after(lr)
        assert trained < 0.1 * initial, (method, lr, trained, initial)
    exploded = loss_after(10 * lr_diverged)
    assert not math.isfinite(exploded) or exploded > 10 * initial


def test_suggestion_ignores_a_nan_tail(data):
    model = make_model()
    calls = []

    def nan_after_60(prediction, target):
        calls.append(1)
        loss = F.mse_loss(prediction, target)
        return loss * float("nan") if len(calls) > 60 else loss

    finder = LRFinder(model, OPTIMIZERS["sgd_momentum"](model), nan_after_60)
    history = finder.range_test(make_loader(data), start_lr=1e-5, end_lr=1.0, num_iter=100)
    assert len(history["loss"]) == 61 and math.isnan(history["loss"][-1])  # stopped at NaN
    assert all(math.isfinite(v) for v in history["loss"][:60])
    clean = {"lr": history["lr"][:60], "loss": history["loss"][:60]}
    for method in ("steepest", "valley", "minimum"):
        with_nan = finder.suggestion(method, skip_end=0)
        assert math.isfinite(with_nan)
        finder.history = clean
        assert finder.suggestion(method, skip_end=0) == with_nan
        finder.history = history


def _reference_valley(lrs, losses):
    """fast.ai's valley, written out with its nested loops, for comparison."""
    n = len(losses)
    best_start, best_end = 0, 0
    runs = [1] * n
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and runs[i] < runs[j] + 1:
                runs[i] = runs[j] + 1
            if runs[best_end] < runs[i]:
                best_end = i
                best_start = best_end - runs[best_end]
    third = (best_end - best_start) / 3
    return lrs[best_start + int(third) + int(third / 2)]


def test_suggestion_methods_on_a_known_curve():
    finder = LRFinder(make_model(), OPTIMIZERS["sgd_momentum"](make_model()),
                      F.mse_loss)
    lrs = np.geomspace(1e-6, 10.0, 121)
    x = np.log10(lrs)
    # flat, then a sigmoid drop centred at 1e-3 (steepest there), then a blow-up after 1e-1
    losses = 2.0 - 1.5 / (1 + np.exp(-3 * (x + 3))) + np.exp(3 * (x + 1)) * 0.05
    finder.history = {"lr": list(lrs), "loss": list(losses)}
    steepest = finder.suggestion("steepest")
    assert abs(np.log10(steepest) + 3) <= 0.1
    i_min = int(np.argmin(losses[10:-5])) + 10
    assert finder.suggestion("minimum") == pytest.approx(lrs[i_min] / 10, rel=1e-12)
    valley = finder.suggestion("valley")
    assert valley == _reference_valley(lrs[10:-5], losses[10:-5])
    assert lrs[10] < valley < lrs[i_min]

    rng = np.random.default_rng(0)
    for _ in range(20):  # noisy curves: same index as fast.ai's loops
        noisy = losses + rng.normal(0, 0.05, size=losses.shape)
        finder.history = {"lr": list(lrs), "loss": list(noisy)}
        assert finder.suggestion("valley", skip_start=0, skip_end=0) == \
            _reference_valley(lrs, noisy)


def test_steepest_is_measured_against_log_lr_also_for_a_linear_sweep():
    finder = LRFinder(make_model(), OPTIMIZERS["sgd_momentum"](make_model()),
                      F.mse_loss)
    lrs = np.linspace(1e-3, 1.0, 300)  # a linear sweep: log-lr spacing shrinks as lr grows
    losses = 2.0 - 1.5 / (1 + np.exp(-4 * (np.log10(lrs) + 1)))  # steepest in log lr at 0.1
    finder.history = {"lr": list(lrs), "loss": list(losses)}
    assert abs(np.log10(finder.suggestion("steepest")) + 1) < 0.02


def test_suggestion_skips_the_noisy_start_and_the_end():
    finder = LRFinder(make_model(), OPTIMIZERS["sgd_momentum"](make_model()),
                      F.mse_loss)
    lrs = list(np.geomspace(1e-5, 1.0, 50))
    losses = list(np.linspace(1.0, 0.5, 50))
    losses[2] = 0.0                      # an early dip: the lowest and steepest point
    losses[-1] = -1.0                    # a spurious last point
    finder.history = {"lr": lrs, "loss": losses}
    assert finder.suggestion("minimum") == pytest.approx(lrs[44] / 10)
    assert finder.suggestion("minimum", skip_start=0, skip_end=0) == pytest.approx(lrs[-1] / 10)
    assert finder.suggestion("steepest", skip_start=0) != lrs[10]


# ---------------------------------------------------------------------- the plot
@pytest.fixture(scope="module")
def finished_finder(data):
    model = make_model()
    finder = LRFinder(model, OPTIMIZERS["sgd_momentum"](model), F.mse_loss)
    finder.range_test(make_loader(data), start_lr=1e-5, end_lr=1e3, num_iter=150)
    return finder


def _agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def test_plot_draws_the_history_on_a_log_axis_and_marks_the_suggestion(finished_finder):
    _agg()
    from matplotlib.figure import Figure

    fig = finished_finder.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    line = ax.lines[0]
    assert np.array_equal(line.get_xdata(), finished_finder.history["lr"])
    assert np.array_equal(line.get_ydata(), finished_finder.history["loss"], equal_nan=True)
    assert ax.get_xscale() == "log"
    marker = ax.lines[1]
    assert list(marker.get_xdata()) == [finished_finder.suggestion("steepest")]
    fig.canvas.draw()  # renders without error

    valley = finished_finder.plot(suggestion="valley").axes[0].lines[1]
    assert list(valley.get_xdata()) == [finished_finder.suggestion("valley")]


def test_plot_on_given_axes_linear_axis_and_no_suggestion(finished_finder):
    _agg()
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert finished_finder.plot(ax=ax, log_lr=False, suggestion=None) is fig
    assert ax.get_xscale() == "linear"
    assert len(ax.lines) == 1
    assert np.array_equal(ax.lines[0].get_xdata(), finished_finder.history["lr"])


def test_plot_never_opens_a_pyplot_window(finished_finder):
    _agg()
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    finished_finder.plot()
    assert plt.get_fignums() == before


def test_plot_of_a_short_test_warns_and_draws_the_curve(data):
    _agg()
    model = make_model()
    finder = LRFinder(model, OPTIMIZERS["sgd_momentum"](model), F.mse_loss)
    finder.range_test(make_loader(data), num_iter=8)
    with pytest.warns(UserWarning, match="no suggestion"):
        fig = finder.plot()
    assert len(fig.axes[0].lines[0].get_xdata()) == 8


# ---------------------------------------------------------------------- validation
BAD_RANGE_TEST = [
    dict(start_lr=1.0, end_lr=1.0),
    dict(start_lr=1.0, end_lr=0.1),
    dict(start_lr=0.0),
    dict(start_lr=-1e-3),
    dict(start_lr=float("nan")),
    dict(end_lr=float("inf")),
    dict(num_iter=1),
    dict(num_iter=0),
    dict(num_iter=10.0),
    dict(num_iter=True),
    dict(step_mode="cosine"),
    dict(step_mode="Exp"),
    dict(smooth_f=1.0),
    dict(smooth_f=-0.1),
    dict(smooth_f=float("nan")),
    dict(diverge_th=1.0),
    dict(diverge_th=0.5),
    dict(diverge_th=float("inf")),
    dict(accumulation_steps=0),
    dict(accumulation_steps=1.5),
]


@pytest.mark.parametrize("kwargs", BAD_RANGE_TEST, ids=lambda kw: "-".join(map(str, kw.items())))
def test_bad_range_test_arguments_raise_and_change_nothing(data, kwargs):
    loader = CountingLoader(make_loader(data))
    model = make_model()
    optimizer = OPTIMIZERS["sgd_momentum"](model)
    train(model, optimizer, make_loader(data), 2)
    record = Record(model, optimizer)
    finder = LRFinder(model, optimizer, F.mse_loss)
    with pytest.raises(ValueError):
        finder.range_test(loader, **kwargs)
    record.check(model, optimizer)
    assert loader.epochs == 0 and finder.history is None


def test_bad_loader_and_batches(data):
    model = make_model()
    optimizer = OPTIMIZERS["sgd_momentum"](model)
    finder = LRFinder(model, optimizer, F.mse_loss)
    with pytest.raises(ValueError, match="loader"):
        finder.range_test(None)
    record = Record(model, optimizer)
    X = minigrad.tensor(data[0][:8])
    with pytest.raises(ValueError, match="pair"):
        finder.range_test([(X, X, X)], num_iter=3)
    record.check(model, optimizer)


def test_suggestion_and_plot_before_range_test_raise():
    model = make_model()
    finder = LRFinder(model, OPTIMIZERS["sgd_momentum"](model), F.mse_loss)
    with pytest.raises(ValueError, match="range_test"):
        finder.suggestion()
    with pytest.raises(ValueError, match="range_test"):
        finder.plot()


def test_bad_suggestion_arguments(finished_finder):
    for kwargs in (dict(method="fastest"), dict(skip_start=-1), dict(skip_end=-2),
                   dict(skip_start=1.5)):
        with pytest.raises(ValueError):
            finished_finder.suggestion(**kwargs)
    with pytest.raises(ValueError, match="usable point"):
        finished_finder.suggestion(skip_start=len(finished_finder.history["lr"]))
    with pytest.raises(ValueError, match="suggestion"):
        finished_finder.plot(suggestion="fastest")


def test_constructor_checks_its_arguments():
    model = make_model()
    optimizer = OPTIMIZERS["sgd_momentum"](model)
    with pytest.raises(TypeError, match="model"):
        LRFinder(object(), optimizer, F.mse_loss)
    with pytest.raises(TypeError, match="Optimizer"):
        LRFinder(model, object(), F.mse_loss)
    with pytest.raises(TypeError, match="criterion"):
        LRFinder(model, optimizer, "mse")


def test_reset_is_a_harmless_no_op(data):
    model = make_model()
    optimizer = OPTIMIZERS["adam"](model)
    finder = LRFinder(model, optimizer, F.mse_loss)
    finder.range_test(make_loader(data), num_iter=20)
    record = Record(model, optimizer)
    finder.reset()
    record.check(model, optimizer)


def test_suggest_lr_reads_the_same_rate_as_the_finder_and_rejects_bad_methods():
    from schedules import suggest_lr

    lrs = np.geomspace(1e-5, 1.0, 30)
    losses = np.concatenate([np.linspace(2.0, 0.2, 25), [0.3, 0.9, 3.0, np.nan, np.nan]])
    steepest = suggest_lr(lrs, losses, "steepest", skip_start=2, skip_end=1)
    assert lrs[2] <= steepest <= lrs[24]
    assert suggest_lr(lrs, losses, "minimum", skip_start=0, skip_end=0) == pytest.approx(lrs[24] / 10)
    with pytest.raises(ValueError, match="method must be one of"):
        suggest_lr(lrs, losses, "fastest")
    with pytest.raises(ValueError, match="usable point"):
        suggest_lr(lrs[:3], losses[:3], "steepest", skip_start=2, skip_end=0)

"""minigrad.train.fit: the history it returns, scheduler stepping, accumulation, clipping,
scalers, weight averaging, closure and schedule-free optimizers, callbacks, Ctrl-C and
the progress bar."""
from __future__ import annotations

import copy
import io
import signal

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.data import DataLoader, TensorDataset, make_linear_regression, make_moons
from minigrad.nn import functional as F
from minigrad.train import (EarlyStopping, History, StopTraining, accuracy,
                            default_scheduler_interval, fit)
from optim.adam import Adam
from optim.lbfgs import LBFGS
from optim.sam import SAM
from optim.schedule_free import SGDScheduleFree
from optim.sgd import SGD
from optim.sophia import SophiaH
from optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from schedules import (OneCycleLR, ReduceLROnPlateau, StepLR, WarmupCosineSchedule,
                       lr_sequence, momentum_sequence)

EXACT = dict(rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- data and models
def moons(n=64, batch_size=16, flip=False, dtype=np.float32):
    X, y = make_moons(n, noise=0.1, seed=1, dtype=dtype)
    return DataLoader(TensorDataset(X, 1 - y if flip else y), batch_size=batch_size)


def mlp(dtype=np.float32, seed=0, hidden=8):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, hidden, dtype=dtype), nn.Tanh(),
                         nn.Linear(hidden, 2, dtype=dtype))


def regression(n=32, batch_size=8):
    X, y, _ = make_linear_regression(n_samples=n, n_features=3, seed=0, dtype=np.float64)
    return X, y, DataLoader(TensorDataset(X, y), batch_size=batch_size)


def linear_model(seed=0):
    minigrad.manual_seed(seed)
    return nn.Linear(3, 1, dtype=np.float64)


def params(model):
    return [p.data.copy() for p in model.parameters()]


def assert_params_equal(a, b, **tolerance):
    for x, y in zip(params(a), params(b)):
        if tolerance:
            np.testing.assert_allclose(x, y, **tolerance)
        else:
            np.testing.assert_array_equal(x, y)


class StopAfter:
    """A callback that stops training after ``steps`` optimizer steps."""

    def __init__(self, steps):
        self.steps = steps

    def on_step_end(self, state):
        if state.step == self.steps:
            return StopTraining


# --------------------------------------------------------------------------- the history
def test_loss_decreases_and_the_history_is_complete():
    model = mlp()
    loader, val = moons(), moons(n=32, batch_size=32)
    history = fit(model, F.cross_entropy, Adam(model.parameters(), lr=0.05), loader,
                  epochs=6, val_loader=val, metrics={"accuracy": accuracy}, progress=False)
    steps, epochs = history.steps, history.epochs
    assert isinstance(history, History) and history.num_steps == 6 * len(loader) == 24
    assert set(steps) == {"epoch", "loss", "lr", "lrs", "momentum", "grad_norm"}
    assert all(v.shape[0] == 24 for v in steps.values())
    assert steps["lrs"].shape == (24, 1) and np.all(steps["lr"] == 0.05)
    assert np.all(steps["momentum"] == 0.9)  # Adam's beta1
    assert steps["epoch"].tolist() == np.repeat(np.arange(6), 4).tolist()
    assert np.all(np.isfinite(steps["grad_norm"]) & (steps["grad_norm"] > 0))
    assert set(epochs) == {"epoch", "train_loss", "train_accuracy", "val_loss",
                           "val_accuracy", "steps", "time"}
    assert epochs["steps"].tolist() == [4, 8, 12, 16, 20, 24]
    assert np.all(epochs["time"] > 0)
    # the epoch's training loss is the mean of its (equal-sized) batch losses
    np.testing.assert_allclose(epochs["train_loss"], steps["loss"].reshape(6, 4).mean(1))
    assert epochs["train_loss"][-1] < 0.6 * epochs["train_loss"][0]
    assert epochs["val_loss"][-1] < epochs["val_loss"][0]
    assert epochs["val_accuracy"][-1] >= 0.8
    assert not history.interrupted and not history.stopped_early
    plain = history.to_dict()
    assert plain["steps"]["loss"] is not steps["loss"] and plain["interrupted"] is False


def test_validation_numbers_are_those_of_the_final_model_in_eval_mode():
    model = mlp()
    val = moons(n=40, batch_size=16)  # 16, 16, 8 rows: a row-weighted mean
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(),
                  epochs=2, val_loader=val, metrics={"accuracy": accuracy}, progress=False)
    X, y = val.dataset.tensors
    with minigrad.no_grad():
        outputs = model(minigrad.tensor(X))
        loss = F.cross_entropy(outputs, y).item()
    assert history.epochs["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert history.epochs["val_accuracy"][-1] == pytest.approx(accuracy(outputs, y))


def test_plot_draws_the_step_and_epoch_losses():
    model = mlp()
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(),
                  epochs=2, val_loader=moons(32, 32), progress=False)
    line = history.plot().axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), history.steps["loss"])
    assert len(history.plot(per="epoch").axes[0].get_lines()) == 2


def test_accuracy_of_class_scores_binary_logits_and_one_hot_targets():
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    assert accuracy(minigrad.tensor(scores), minigrad.tensor(np.array([0, 2]))) == 0.5
    assert accuracy(scores, np.eye(3)[[0, 1]]) == 1.0
    assert accuracy(np.array([-0.5, 0.5, 2.0]), np.array([0.0, 1.0, 0.0])) == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- schedulers
def test_a_one_cycle_schedule_moves_every_step_with_its_momentum():
    model, loader = mlp(), moons()  # 4 batches per epoch
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = OneCycleLR(opt, max_lr=0.5, total_steps=12)
    history = fit(model, F.cross_entropy, opt, loader, epochs=3, scheduler=scheduler,
                  progress=False)
    expected = dict(max_lr=0.5, total_steps=12, optimizer_kwargs=dict(momentum=0.9))
    np.testing.assert_array_equal(history.steps["lr"], lr_sequence(OneCycleLR, 12, **expected))
    np.testing.assert_array_equal(history.steps["momentum"],
                                  momentum_sequence(OneCycleLR, 12, **expected))


def test_a_step_schedule_moves_every_epoch_unless_told_otherwise():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.4)
    history = fit(model, F.cross_entropy, opt, moons(), epochs=3,
                  scheduler=StepLR(opt, step_size=1, gamma=0.5), progress=False)
    np.testing.assert_array_equal(history.steps["lr"], np.repeat([0.4, 0.2, 0.1], 4))

    model = mlp()
    opt = SGD(model.parameters(), lr=0.4)
    history = fit(model, F.cross_entropy, opt, moons(), epochs=1, scheduler_interval="step",
                  scheduler=StepLR(opt, step_size=1, gamma=0.5), progress=False)
    np.testing.assert_array_equal(history.steps["lr"], 0.4 * 0.5 ** np.arange(4))


def test_warmup_schedules_move_once_per_accumulated_step():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.2)
    scheduler = WarmupCosineSchedule(opt, warmup_steps=2, total_steps=6)
    # 4 micro-batches, 3 per step: steps of 3 and 1 micro-batches, 2 steps per epoch
    history = fit(model, F.cross_entropy, opt, moons(), epochs=3, scheduler=scheduler,
                  accumulation_steps=3, progress=False)
    assert history.num_steps == 6
    np.testing.assert_allclose(history.steps["lr"], lr_sequence(
        WarmupCosineSchedule, 6, base_lr=0.2, warmup_steps=2, total_steps=6), **EXACT)
    assert default_scheduler_interval(scheduler) == "step"


def replay_plateau(values, lr, **kwargs):
    """The rate of each epoch when ReduceLROnPlateau is fed ``values`` one per epoch."""
    opt = SGD([minigrad.Parameter([0.0])], lr=lr)
    scheduler = ReduceLROnPlateau(opt, **kwargs)
    rates = []
    for value in values:
        rates.append(opt.param_groups[0]["lr"])
        scheduler.step(value)
    return np.array(rates)


def test_reduce_on_plateau_watches_the_validation_loss_once_per_epoch():
    # the validation labels are flipped: the better the model, the worse that loss
    kwargs = dict(factor=0.5, patience=0)
    model = mlp()
    opt = SGD(model.parameters(), lr=0.5)
    history = fit(model, F.cross_entropy, opt, moons(), epochs=4, val_loader=moons(flip=True),
                  scheduler=ReduceLROnPlateau(opt, **kwargs), progress=False)
    per_epoch = history.steps["lr"].reshape(4, 4)
    assert np.all(per_epoch == per_epoch[:, :1])  # constant within an epoch
    expected = replay_plateau(history.epochs["val_loss"], 0.5, **kwargs)
    np.testing.assert_array_equal(per_epoch[:, 0], expected)
    assert expected[-1] < 0.5  # it did reduce

    model = mlp()
    opt = SGD(model.parameters(), lr=0.5)
    history = fit(model, F.cross_entropy, opt, moons(), epochs=4, val_loader=moons(flip=True),
                  scheduler=ReduceLROnPlateau(opt, **kwargs), monitor="train_loss",
                  progress=False)
    expected = replay_plateau(history.epochs["train_loss"], 0.5, **kwargs)
    np.testing.assert_array_equal(history.steps["lr"].reshape(4, 4)[:, 0], expected)


# --------------------------------------------------------------------------- accumulation
def test_accumulated_steps_with_a_short_last_group_equal_big_batches():
    X, y = make_moons(28, noise=0.2, seed=3, dtype=np.float64)
    data = TensorDataset(X, y)
    micro = DataLoader(data, batch_size=4)       # 7 micro-batches: steps of 3, 3 and 1
    big = DataLoader(data, batch_size=12)        # 12, 12 and 4 rows
    model, reference = mlp(np.float64), mlp(np.float64)
    accumulated = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.3, momentum=0.9),
                      micro, epochs=2, accumulation_steps=3, clip_grad_norm=0.5,
                      progress=False)
    plain = fit(reference, F.cross_entropy, SGD(reference.parameters(), lr=0.3, momentum=0.9),
                big, epochs=2, clip_grad_norm=0.5, progress=False)
    assert accumulated.num_steps == plain.num_steps == 6
    assert_params_equal(model, reference, **EXACT)
    for key in ("loss", "grad_norm", "grad_norm_clipped"):
        np.testing.assert_allclose(accumulated.steps[key], plain.steps[key], **EXACT)


# --------------------------------------------------------------------------- clipping
def test_clipping_records_the_norm_before_and_after():
    model = mlp()
    loader = moons()
    xb, yb = next(iter(loader))
    probe = copy.deepcopy(model)
    F.cross_entropy(probe(xb), yb).backward()
    first_norm = np.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum())
                             for p in probe.parameters()))
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), loader, epochs=2,
                  clip_grad_norm=0.05, progress=False)
    before, after = history.steps["grad_norm"], history.steps["grad_norm_clipped"]
    assert before[0] == pytest.approx(first_norm, rel=1e-5)
    assert np.all(before > 0.05)  # so every step was clipped
    np.testing.assert_allclose(after, 0.05, rtol=1e-4)


# --------------------------------------------------------------------------- scalers
class FakeScaler:
    """The GradScaler protocol with a fixed scale, logging every call."""

    def __init__(self, scale=8.0):
        self.scale_value, self.calls = scale, []

    def scale(self, loss):
        self.calls.append("scale")
        return loss * self.scale_value

    def unscale_(self, optimizer):
        self.calls.append("unscale_")
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad /= self.scale_value

    def step(self, optimizer):
        self.calls.append("step")
        optimizer.step()

    def update(self):
        self.calls.append("update")

    def get_scale(self):
        return self.scale_value


def test_a_scaler_is_called_in_the_protocol_order_and_changes_nothing_exact():
    model, reference, loader = mlp(), mlp(), moons()
    scaler = FakeScaler(8.0)  # a power of two: scaling and unscaling are exact
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), loader, epochs=1,
                  accumulation_steps=2, clip_grad_norm=0.1, scaler=scaler, progress=False)
    plain = fit(reference, F.cross_entropy, SGD(reference.parameters(), lr=0.5), loader,
                epochs=1, accumulation_steps=2, clip_grad_norm=0.1, progress=False)
    assert scaler.calls == ["scale", "scale", "unscale_", "step", "update"] * 2
    assert_params_equal(model, reference)
    np.testing.assert_array_equal(history.steps["grad_norm"], plain.steps["grad_norm"])
    assert np.all(history.steps["scale"] == 8.0)


def test_minigrad_amp_grad_scaler_drives_the_same_steps():
    amp = pytest.importorskip("minigrad.amp")
    model, reference, loader = mlp(), mlp(), moons()
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), loader, epochs=1,
                  scaler=amp.GradScaler(init_scale=2.0 ** 10), clip_grad_norm=1.0,
                  progress=False)
    fit(reference, F.cross_entropy, SGD(reference.parameters(), lr=0.5), loader, epochs=1,
        clip_grad_norm=1.0, progress=False)
    assert_params_equal(model, reference)
    assert np.all(history.steps["scale"] == 2.0 ** 10)


# --------------------------------------------------------------------------- weight averaging
def test_ema_is_updated_after_every_step_like_a_hand_written_loop():
    model, manual, loader = mlp(), mlp(), moons()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.8))
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), loader, epochs=2,
                  ema=ema, progress=False)

    manual_ema = AveragedModel(manual, multi_avg_fn=get_ema_multi_avg_fn(0.8))
    opt = SGD(manual.parameters(), lr=0.5)
    for _ in range(2):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(manual(xb), yb).backward()
            opt.step()
            manual_ema.update_parameters(manual)
    assert ema.n_averaged.item() == history.num_steps == 8
    assert_params_equal(model, manual)
    assert_params_equal(ema.module, manual_ema.module)


# --------------------------------------------------------------------------- closures
def manual_closure_run(model, opt, loader, epochs):
    for _ in range(epochs):
        for xb, yb in loader:
            def closure():
                opt.zero_grad()
                loss = F.mse_loss(model(xb), yb)
                loss.backward()
                return loss
            opt.step(closure)


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: LBFGS(ps, lr=0.5, max_iter=5),
    lambda ps: SAM(ps, SGD, rho=0.05, lr=0.05, momentum=0.5),
], ids=["LBFGS", "SAM"])
def test_closure_optimizers_train_like_a_hand_written_closure_loop(make_optimizer):
    X, y, loader = regression()
    model, manual = linear_model(), linear_model()
    history = fit(model, F.mse_loss, make_optimizer(model.parameters()), loader, epochs=3,
                  progress=False)
    manual_closure_run(manual, make_optimizer(manual.parameters()), loader, 3)
    assert_params_equal(model, manual)
    assert history.num_steps == 12
    assert history.epochs["train_loss"][-1] < 0.2 * history.epochs["train_loss"][0]


def test_a_closure_step_over_accumulated_micro_batches_equals_one_big_batch():
    X, y, _ = regression()
    micro = DataLoader(TensorDataset(X, y), batch_size=4)
    big = DataLoader(TensorDataset(X, y), batch_size=12)  # 12, 12, 8 rows vs 3+3+2 micro
    model, reference = linear_model(), linear_model()
    fit(model, F.mse_loss, SAM(model.parameters(), SGD, rho=0.1, lr=0.05), micro, epochs=2,
        accumulation_steps=3, progress=False)
    # the last step has 2 micro-batches of 4 rows: equal micro-batches make it exact
    fit(reference, F.mse_loss, SAM(reference.parameters(), SGD, rho=0.1, lr=0.05), big,
        epochs=2, progress=False)
    assert_params_equal(model, reference, **EXACT)


def test_sophia_h_gets_a_closure_returning_the_loss_with_its_graph():
    X, y, loader = regression()
    model = linear_model()
    history = fit(model, F.mse_loss, SophiaH(model.parameters(), lr=0.05, rho=0.5,
                                             update_period=1, weight_decay=0.0),
                  loader, epochs=4, progress=False)
    assert np.all(np.isnan(history.steps["grad_norm"]))
    assert history.epochs["train_loss"][-1] < history.epochs["train_loss"][0]


# --------------------------------------------------------------------------- schedule-free
def test_schedule_free_optimizers_train_in_train_mode_and_validate_in_eval_mode():
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.1), nn.Linear(8, 2))
    opt = SGDScheduleFree(model.parameters(), lr=0.5)
    seen = {"train": set(), "validate": set()}

    def spying_loss(outputs, targets):
        phase = "train" if minigrad.is_grad_enabled() else "validate"
        seen[phase].add((model.training, opt.param_groups[0]["train_mode"]))
        return F.cross_entropy(outputs, targets)

    val = moons(32, 32)
    history = fit(model, spying_loss, opt, moons(), epochs=2, val_loader=val, progress=False)
    assert seen == {"train": {(True, True)}, "validate": {(False, False)}}
    assert opt.param_groups[0]["train_mode"] is False  # as it was: a new one is in eval mode
    X, y = val.dataset.tensors
    model.eval()
    with minigrad.no_grad():  # validation saw x, the averaged point
        assert F.cross_entropy(model(minigrad.tensor(X)), y).item() == pytest.approx(
            history.epochs["val_loss"][-1], rel=1e-6)

    opt.train()
    fit(model, F.cross_entropy, opt, moons(), epochs=1, val_loader=val, progress=False)
    assert opt.param_groups[0]["train_mode"] is True


def test_the_model_modes_are_restored():
    model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    model.eval()
    fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.1), moons(), epochs=1,
        val_loader=moons(32, 32), progress=False)
    assert not any(m.training for m in model.modules())


# --------------------------------------------------------------------------- callbacks
def test_callbacks_see_every_step_and_epoch_and_can_stop():
    seen = []

    class Recorder:
        def on_step_end(self, state):
            seen.append(("step", state.step, state.logs["loss"]))

        def on_epoch_end(self, state):
            seen.append(("epoch", state.epoch, state.logs["train_loss"]))

    def stop_after_two_epochs(state):
        if state.epoch == 1:
            state.stop = True

    model = mlp()
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(),
                  epochs=5, callbacks=[Recorder(), stop_after_two_epochs], progress=False)
    assert [kind for kind, *_ in seen] == ["step"] * 4 + ["epoch"] + ["step"] * 4 + ["epoch"]
    assert [n for kind, n, _ in seen if kind == "step"] == list(range(1, 9))
    assert history.stopped_early and history.num_epochs == 2 and history.num_steps == 8
    assert seen[4][2] == history.epochs["train_loss"][0]


def test_early_stopping_on_a_rising_validation_loss_restores_the_best_weights():
    model = mlp()
    stopper = EarlyStopping("val_loss", patience=2, restore_best=True)
    best = {}

    def remember(state):
        if state.logs["val_loss"] <= min(state.history.epochs["val_loss"]):
            best["params"] = params(state.model)

    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(),
                  epochs=20, val_loader=moons(flip=True), callbacks=[remember, stopper],
                  progress=False)
    val_loss = history.epochs["val_loss"]
    assert history.stopped_early and "val_loss" in history.stop_reason
    assert history.num_epochs == int(np.argmin(val_loss)) + 3 < 20
    for got, want in zip(params(model), best["params"]):
        np.testing.assert_array_equal(got, want)


def test_a_step_hook_returning_stop_training_ends_the_run_after_that_step():
    model = mlp()
    history = fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(),
                  epochs=3, callbacks=[StopAfter(6)], progress=False)
    assert history.num_steps == 6 and history.num_epochs == 1 and history.stopped_early


# --------------------------------------------------------------------------- Ctrl-C
def reference_after(steps, make_optimizer=lambda ps: SGD(ps, lr=0.5, momentum=0.9), **kwargs):
    """Model and optimizer after exactly ``steps`` optimizer steps."""
    model = mlp()
    opt = make_optimizer(model.parameters())
    fit(model, F.cross_entropy, opt, moons(), epochs=3, callbacks=[StopAfter(steps)],
        progress=False, **kwargs)
    return model, opt


def assert_same_state(opt, ref_opt):
    for p, q in zip(opt.param_groups[0]["params"], ref_opt.param_groups[0]["params"]):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.grad is None
        assert opt.state[p].keys() == ref_opt.state[q].keys()
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(value, ref_opt.state[q][key])


def test_ctrl_c_in_the_loss_abandons_the_unfinished_step():
    calls = []

    def interrupted_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 6:  # the second micro-batch of the third step
            raise KeyboardInterrupt
        return F.cross_entropy(outputs, targets)

    model = mlp()
    opt = SGD(model.parameters(), lr=0.5, momentum=0.9)
    history = fit(model, interrupted_loss, opt, moons(), epochs=3, accumulation_steps=2,
                  progress=False)
    assert history.interrupted and history.num_steps == 2 and history.num_epochs == 1
    _, ref_opt = reference_after(2, accumulation_steps=2)
    assert_same_state(opt, ref_opt)


def test_ctrl_c_in_a_callback_stops_after_that_step():
    def interrupt(state):
        raise KeyboardInterrupt

    class InterruptAt:
        def on_step_end(self, state):
            if state.step == 5:
                raise KeyboardInterrupt

    model = mlp()
    opt = SGD(model.parameters(), lr=0.5, momentum=0.9)
    history = fit(model, F.cross_entropy, opt, moons(), epochs=3, callbacks=[InterruptAt()],
                  progress=False)
    assert history.interrupted and history.num_steps == 5
    assert_same_state(opt, reference_after(5)[1])


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's SIGINT handler is not installed")
def test_a_real_ctrl_c_during_an_optimizer_step_waits_for_the_step_to_finish():
    model = mlp()
    opt = Adam(model.parameters(), lr=0.05)
    count = []

    def press_ctrl_c(optimizer, args, kwargs):  # runs inside step(), before the update
        count.append(1)
        if len(count) == 3:
            signal.raise_signal(signal.SIGINT)

    opt.register_step_pre_hook(press_ctrl_c)
    history = fit(model, F.cross_entropy, opt, moons(), epochs=2, progress=False)
    assert history.interrupted and history.num_steps == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert_same_state(opt, reference_after(3, lambda ps: Adam(ps, lr=0.05))[1])


def test_ctrl_c_inside_a_closure_undoes_the_half_done_sam_step():
    calls = []

    def interrupted_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 8:  # step 4's second evaluation, at the perturbed point w + ε
            raise KeyboardInterrupt
        return F.cross_entropy(outputs, targets)

    make = lambda ps: SAM(ps, SGD, rho=0.1, lr=0.5, momentum=0.9)  # noqa: E731
    model = mlp()
    opt = make(model.parameters())
    history = fit(model, interrupted_loss, opt, moons(), epochs=2, progress=False)
    assert history.interrupted and history.num_steps == 3
    assert_same_state(opt, reference_after(3, make)[1])


# --------------------------------------------------------------------------- progress
def test_nothing_is_printed_without_progress_or_without_a_terminal(capsys):
    for progress in (False, True):  # capsys's stderr is not a terminal
        model = mlp()
        fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(), epochs=2,
            val_loader=moons(32, 32), progress=progress)
        assert capsys.readouterr() == ("", "")


def test_a_terminal_gets_one_bar_per_epoch_with_loss_and_lr(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    model = mlp()
    fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(), epochs=2,
        progress=True)
    text = terminal.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert "4/4" in text and "train_loss=" in text and "lr=" in text


# --------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=-1), "epochs"),
    (dict(accumulation_steps=0), "accumulation_steps"),
    (dict(clip_grad_norm=0.0), "clip_grad_norm"),
    (dict(scheduler_interval="batch"), "scheduler_interval"),
    (dict(monitor="val_loss"), "monitor"),  # no validation loader
    (dict(metrics={"loss": accuracy}), "metrics"),
])
def test_bad_arguments_are_rejected_before_training(kwargs, match):
    model = mlp()
    before = params(model)
    arguments = {"epochs": 1, "progress": False, **kwargs}
    epochs = arguments.pop("epochs")
    with pytest.raises(ValueError, match=match):
        fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.5), moons(), epochs,
            **arguments)
    for got, want in zip(params(model), before):
        np.testing.assert_array_equal(got, want)


def test_combinations_that_cannot_work_are_rejected():
    model = linear_model()
    _, _, loader = regression()
    with pytest.raises(ValueError, match="scaler"):
        fit(model, F.mse_loss, LBFGS(model.parameters()), loader, 1, scaler=FakeScaler(),
            progress=False)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, F.mse_loss, opt, loader, 1, scheduler=ReduceLROnPlateau(opt),
            scheduler_interval="step", progress=False)
    with pytest.raises(TypeError, match="callback"):
        fit(model, F.mse_loss, opt, loader, 1, callbacks=[42], progress=False)

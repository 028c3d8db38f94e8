"""GradNormRecorder: per-parameter and total gradient norms before and after clipping."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.monitor import GradNormRecorder, grad_norms
from minigrad.nn.utils import clip_grad_norm_


def make_model(dtype=np.float32) -> nn.Module:
    minigrad.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype=dtype)


def backward(model: nn.Module, scale: float, rng: np.random.Generator) -> None:
    """Fresh gradients whose size grows with ``scale``."""
    model.zero_grad()
    dtype = next(model.parameters()).dtype
    x = minigrad.tensor(rng.normal(size=(16, 5)).astype(dtype))
    (scale * (model(x) ** 2).mean()).backward()


SCALES = (0.01, 1.0, 30.0, 1000.0, 0.1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_total_before_clipping_is_what_clip_grad_norm_returns(dtype, norm_type):
    model, rng = make_model(dtype), np.random.default_rng(0)
    recorder = GradNormRecorder(model, norm_type=norm_type)
    returned = []
    for scale in SCALES:
        backward(model, scale, rng)
        returned.append(recorder.clip_grad_norm_(max_norm=1.0).item())
    assert recorder.before.tolist() == returned  # computed the same way: equal, not close

    # and against a plain clip_grad_norm_ call on the same gradients
    backward(model, 5.0, rng)
    total = recorder.record("before_clip")
    assert total == clip_grad_norm_(model.parameters(), 1.0, norm_type=norm_type).item()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_after_clipping_the_total_is_at_most_max_norm(dtype):
    model, rng = make_model(dtype), np.random.default_rng(1)
    recorder = GradNormRecorder(model)
    for scale in SCALES:
        backward(model, scale, rng)
        recorder.clip_grad_norm_(max_norm=0.5)
    # float32 rounds the clipped norm to within an ulp of max_norm, on either side
    slack = 1e-6 if dtype == np.float32 else 0.0
    assert np.all(recorder.after <= 0.5 * (1 + slack))
    clipped = recorder.before > 0.5
    assert clipped.any() and (~clipped).any()
    np.testing.assert_allclose(recorder.after[clipped], 0.5, rtol=1e-5)
    np.testing.assert_array_equal(recorder.after[~clipped], recorder.before[~clipped])
    assert recorder.max_norm == 0.5


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_per_parameter_squares_sum_to_the_total_square(dtype, rtol):
    model, rng = make_model(dtype), np.random.default_rng(2)
    recorder = GradNormRecorder(model)
    for scale in SCALES:
        backward(model, scale, rng)
        recorder.clip_grad_norm_(max_norm=1.0)
    for stage in ("before_clip", "after_clip"):
        table = np.stack(list(recorder.per_parameter(stage).values()), axis=1)
        np.testing.assert_allclose((table ** 2).sum(axis=1), recorder.totals(stage) ** 2,
                                   rtol=rtol)
    direct = [np.linalg.norm(p.grad.astype(np.float64)) for p in model.parameters()]
    last = [norms[-1] for norms in recorder.per_parameter("after_clip").values()]
    np.testing.assert_allclose(last, direct, rtol=rtol)


def test_manual_records_around_a_clip_equal_the_wrapper():
    model, rng = make_model(), np.random.default_rng(3)
    manual, wrapper = GradNormRecorder(model), GradNormRecorder(model)
    for scale in SCALES:
        backward(model, scale, rng)
        saved = [p.grad.copy() for p in model.parameters()]
        manual.record("before_clip")
        clip_grad_norm_(model.parameters(), max_norm=1.0)
        manual.record("after_clip")
        for p, g in zip(model.parameters(), saved):
            p.grad = g
        wrapper.clip_grad_norm_(max_norm=1.0)
    for stage in ("before_clip", "after_clip"):
        np.testing.assert_array_equal(manual.totals(stage), wrapper.totals(stage))


def test_recording_does_not_change_the_gradients():
    model, rng = make_model(), np.random.default_rng(4)
    backward(model, 10.0, rng)
    saved = [p.grad.copy() for p in model.parameters()]
    GradNormRecorder(model).record()
    for p, g in zip(model.parameters(), saved):
        np.testing.assert_array_equal(p.grad, g)


def test_names_follow_the_input():
    model = nn.Linear(3, 2)
    assert GradNormRecorder(model).names == ["weight", "bias"]
    assert GradNormRecorder(model.named_parameters()).names == ["weight", "bias"]
    assert GradNormRecorder(model.parameters()).names == ["0", "1"]
    assert GradNormRecorder(model.weight).names == ["0"]


def test_parameters_without_gradient_are_nan_and_left_out_of_the_total():
    a = minigrad.Parameter(np.zeros(2))
    b = minigrad.Parameter(np.zeros(3))
    recorder = GradNormRecorder([("a", a), ("b", b)])
    assert recorder.record() == 0.0  # no gradient at all
    a.grad = np.array([3.0, 4.0])
    assert recorder.record() == 5.0
    per = recorder.per_parameter()
    np.testing.assert_array_equal(per["a"], [np.nan, 5.0])
    assert np.isnan(per["b"]).all()
    per_parameter, total = grad_norms([a, b])
    assert total == 5.0 and np.isnan(per_parameter[1])


def test_any_stage_name_and_plain_data_out():
    model, rng = make_model(), np.random.default_rng(5)
    recorder = GradNormRecorder(model)
    backward(model, 1.0, rng)
    recorder.record("after_unscale")
    recorder.clip_grad_norm_(1.0)
    assert recorder.stages == ["after_unscale", "before_clip", "after_clip"]
    data = recorder.as_dict()
    assert set(data["after_unscale"]) == {"total", "per_parameter"}
    assert list(data["before_clip"]["per_parameter"]) == ["0.weight", "0.bias", "2.weight",
                                                          "2.bias"]
    assert data["after_clip"]["total"].shape == (1,)
    assert recorder.totals("never recorded").shape == (0,)
    recorder.reset()
    assert recorder.stages == [] and recorder.max_norm is None


def test_a_failed_clip_records_nothing():
    p = minigrad.Parameter(np.zeros(2))
    p.grad = np.array([np.inf, 1.0])
    recorder = GradNormRecorder([p])
    with pytest.raises(RuntimeError, match="non-finite"):
        recorder.clip_grad_norm_(1.0, error_if_nonfinite=True)
    assert recorder.stages == []


def test_bad_arguments_are_rejected():
    model = nn.Linear(2, 2)
    recorder = GradNormRecorder(model)
    with pytest.raises(ValueError, match="max_norm"):
        recorder.clip_grad_norm_(-1.0)
    with pytest.raises(ValueError, match="stage"):
        recorder.record("")
    with pytest.raises(ValueError, match="norm_type"):
        GradNormRecorder(model, norm_type=0)
    with pytest.raises(ValueError, match="empty"):
        GradNormRecorder([])


def test_plot_draws_before_after_and_the_threshold():
    pytest.importorskip("matplotlib")
    model, rng = make_model(), np.random.default_rng(6)
    recorder = GradNormRecorder(model)
    for scale in SCALES:
        backward(model, scale, rng)
        recorder.clip_grad_norm_(max_norm=1.0)
    fig = recorder.plot()
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), recorder.before)
    np.testing.assert_allclose(lines[1].get_ydata(), recorder.after)
    assert any(line.get_gid() == "max_norm" for line in lines)

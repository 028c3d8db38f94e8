"""Weight averaging (AveragedModel, update_bn) and SWALR follow PyTorch's swa_utils.

The reference values come from ``tests/reference/make_swa_references.py`` (torch 2.13,
float64, CPU); these tests read only the stored npz. A few live comparisons at other
settings run when torch is installed.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import nn
from optim.sgd import SGD
from optim.swa_utils import (AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn,
                             get_swa_avg_fn, get_swa_multi_avg_fn, update_bn)
from schedules.cosine import CosineAnnealingLR
from schedules.swa import SWALR

REFERENCE = np.load(pathlib.Path(__file__).resolve().parent / "reference" / "swa_references.npz")
TOLERANCE = 1e-12
AVERAGING_CASES = {
    "swa": ({}, False),
    "swa_buffers": ({}, True),
    "ema_avg_fn": ({"avg_fn": get_ema_avg_fn(0.9)}, True),
    "ema_multi": ({"multi_avg_fn": get_ema_multi_avg_fn(0.9)}, True),
    "ema_multi_075": ({"multi_avg_fn": get_ema_multi_avg_fn(0.75)}, False),
}
BASE_LRS = (0.1, 0.02)
SWALR_CASES = {
    f"{strategy}_{epochs}": {"swa_lr": 0.05, "anneal_epochs": epochs,
                             "anneal_strategy": strategy}
    for strategy in ("cos", "linear") for epochs in (0, 1, 3, 10)
}
SWALR_CASES["cos_per_group"] = {"swa_lr": [0.05, 0.001], "anneal_epochs": 4,
                                "anneal_strategy": "cos"}
SWALR_CASES["linear_default"] = {"swa_lr": 0.3, "anneal_strategy": "linear"}


# --------------------------------------------------------------------------- helpers
def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(),
                         nn.Linear(4, 2)).double()


def unflat(vector: np.ndarray, template: dict) -> dict:
    """Split a flat reference vector into arrays shaped and typed like ``template``."""
    state, start = {}, 0
    for name, value in template.items():
        size = int(np.prod(value.shape))
        state[name] = vector[start:start + size].reshape(value.shape).astype(value.dtype)
        start += size
    assert start == vector.size
    return state


def assert_state_close(actual: dict, expected: dict, what: str) -> None:
    assert list(actual) == list(expected), what
    for name, value in expected.items():
        if value.dtype.kind == "i":
            np.testing.assert_array_equal(actual[name], value, err_msg=f"{what}: {name}")
        else:
            np.testing.assert_allclose(actual[name], value, rtol=TOLERANCE, atol=TOLERANCE,
                                       err_msg=f"{what}: {name}")


def weight_sequence(model: nn.Module) -> list:
    names = REFERENCE["weights/names"].tolist()
    assert names == list(model.state_dict())
    return [unflat(row, model.state_dict()) for row in REFERENCE["weights"]]


def sgd_two_groups() -> SGD:
    params = [minigrad.Parameter(np.zeros(1)) for _ in BASE_LRS]
    return SGD([{"params": [p], "lr": lr} for p, lr in zip(params, BASE_LRS)])


def lr_rows(optimizer) -> list:
    return [group["lr"] for group in optimizer.param_groups]


# --------------------------------------------------------------------------- AveragedModel
@pytest.mark.parametrize("case", list(AVERAGING_CASES))
def test_averaged_model_matches_torch_after_each_update(case):
    kwargs, use_buffers = AVERAGING_CASES[case]
    model = mlp()
    averaged = AveragedModel(model, use_buffers=use_buffers, **kwargs)
    assert REFERENCE["averaged/names"].tolist() == list(averaged.state_dict())
    for k, weights in enumerate(weight_sequence(model)):
        model.load_state_dict(weights)
        averaged.update_parameters(model)
        expected = unflat(REFERENCE[f"averaged/{case}"][k], averaged.state_dict())
        assert_state_close(averaged.state_dict(), expected, f"{case}, update {k}")


def test_swa_is_the_mean_of_the_weights_seen():
    model = mlp()
    averaged = AveragedModel(model)
    sequence = weight_sequence(model)
    for weights in sequence:
        model.load_state_dict(weights)
        averaged.update_parameters(model)
    for name, _ in model.named_parameters():
        mean = np.mean([weights[name] for weights in sequence], axis=0)
        np.testing.assert_allclose(averaged.module.state_dict()[name], mean, rtol=1e-13)
    assert averaged.n_averaged.item() == len(sequence)


@pytest.mark.parametrize("kwargs", [{"avg_fn": get_ema_avg_fn(0.5)},
                                    {"multi_avg_fn": get_ema_multi_avg_fn(0.5)}])
def test_first_update_copies_the_model_whatever_the_average(kwargs):
    model = mlp()
    averaged = AveragedModel(model, **kwargs)
    for p in model.parameters():
        p.data += 1.0
    averaged.update_parameters(model)
    for (name, mine), (_, theirs) in zip(averaged.module.named_parameters(),
                                         model.named_parameters()):
        np.testing.assert_array_equal(mine.data, theirs.data, err_msg=name)


def test_without_use_buffers_the_buffers_follow_the_model():
    model = mlp()
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    for weights in weight_sequence(model):
        model.load_state_dict(weights)
        averaged.update_parameters(model)
        for (name, mine), (_, theirs) in zip(averaged.module.named_buffers(),
                                             model.named_buffers()):
            np.testing.assert_array_equal(mine.data, theirs.data, err_msg=name)


def test_swa_multi_avg_fn_agrees_with_the_default_average():
    model = mlp()
    default, multi = AveragedModel(model), AveragedModel(model, multi_avg_fn=get_swa_multi_avg_fn())
    for weights in weight_sequence(model):
        model.load_state_dict(weights)
        default.update_parameters(model)
        multi.update_parameters(model)
    for (name, a), (_, b) in zip(default.named_parameters(), multi.named_parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-14, atol=1e-15, err_msg=name)


def test_ema_with_decay_zero_is_the_model_exactly():
    model = mlp()
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.0))
    for weights in weight_sequence(model):
        model.load_state_dict(weights)
        averaged.update_parameters(model)
        for (name, a), (_, b) in zip(averaged.module.named_parameters(),
                                     model.named_parameters()):
            np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_forward_calls_the_averaged_copy_not_the_model():
    model = nn.Linear(2, 1)
    averaged = AveragedModel(model)
    averaged.update_parameters(model)
    model.weight.data[...] = 100.0
    x = minigrad.ones(3, 2)
    np.testing.assert_array_equal(averaged(x).data, averaged.module(x).data)
    assert not np.allclose(averaged(x).data, model(x).data)
    assert averaged.module is not model
    assert averaged.module.weight is not model.weight


def test_state_dict_round_trip_resumes_the_average_exactly():
    model = mlp()
    sequence = weight_sequence(model)
    straight = AveragedModel(model, use_buffers=True)
    for weights in sequence:
        model.load_state_dict(weights)
        straight.update_parameters(model)

    first = AveragedModel(model, use_buffers=True)
    for weights in sequence[:2]:
        model.load_state_dict(weights)
        first.update_parameters(model)
    resumed = AveragedModel(mlp(), use_buffers=True)
    resumed.load_state_dict(first.state_dict())
    assert resumed.n_averaged.item() == 2
    for weights in sequence[2:]:
        model.load_state_dict(weights)
        resumed.update_parameters(model)
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_device_argument_places_the_copy():
    averaged = AveragedModel(nn.Linear(2, 2), device="cpu")
    assert all(p.device == "cpu" for p in averaged.parameters())
    assert averaged.n_averaged.device == "cpu"


def test_float32_model_stays_float32():
    model = nn.Linear(3, 2)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn())
    for _ in range(3):
        model.weight.data += 1.0
        averaged.update_parameters(model)
    assert averaged.module.weight.dtype == np.float32


def test_bad_arguments_are_rejected():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="avg_fn and multi_avg_fn"):
        AveragedModel(model, avg_fn=get_swa_avg_fn(), multi_avg_fn=get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match="Module"):
        AveragedModel(np.zeros(3))
    for decay in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="decay"):
            get_ema_avg_fn(decay)
        with pytest.raises(ValueError, match="decay"):
            get_ema_multi_avg_fn(decay)


def test_a_model_that_does_not_match_raises_and_changes_nothing():
    model = nn.Linear(2, 2)
    averaged = AveragedModel(model)
    averaged.update_parameters(model)
    before = {k: v.copy() for k, v in averaged.state_dict().items()}
    for other in (nn.Linear(3, 2), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))):
        with pytest.raises(ValueError):
            averaged.update_parameters(other)
    for key, value in averaged.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


# --------------------------------------------------------------------------- update_bn
def batch_norm_model(name: str) -> nn.Module:
    if name == "mlp":
        return mlp()
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=0.3),
                         nn.ReLU()).double()


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_update_bn_matches_torch(name):
    model = batch_norm_model(name)
    assert REFERENCE[f"bn/{name}/names"].tolist() == list(model.state_dict())
    model.load_state_dict(unflat(REFERENCE[f"bn/{name}/before"], model.state_dict()))
    splits = np.cumsum(REFERENCE[f"bn/{name}/batch_sizes"])[:-1]
    batches = np.split(REFERENCE[f"bn/{name}/batches"], splits)
    loader = [(minigrad.tensor(x), minigrad.tensor(np.zeros(len(x)))) for x in batches]
    model.eval()
    momentum = model[1].momentum

    update_bn(loader, model)

    expected = unflat(REFERENCE[f"bn/{name}/after"], model.state_dict())
    assert_state_close(model.state_dict(), expected, name)
    assert model[1].momentum == momentum and not model.training
    output = model(minigrad.tensor(REFERENCE[f"bn/{name}/check_input"])).data
    np.testing.assert_allclose(output, REFERENCE[f"bn/{name}/check_output"], rtol=1e-11,
                               atol=1e-12)


def test_update_bn_accepts_plain_batches_and_an_averaged_model():
    model = mlp()
    averaged = AveragedModel(model)
    averaged.update_parameters(model)
    rng = np.random.default_rng(1)
    batches = [rng.normal(size=(5, 3)) for _ in range(3)]
    update_bn([minigrad.tensor(x) for x in batches], averaged)
    as_tensors = averaged.module[1].running_mean.data.copy()
    update_bn(batches, averaged)  # arrays work too
    np.testing.assert_array_equal(averaged.module[1].running_mean.data, as_tensors)
    assert averaged.module[1].num_batches_tracked.item() == 3
    assert averaged.training


def test_update_bn_without_batch_norm_changes_nothing():
    model = nn.Linear(3, 2)
    model.eval()
    update_bn([minigrad.ones(2, 3)], model)
    assert not model.training


# --------------------------------------------------------------------------- SWALR
def run_swalr(optimizer, steps: int, **kwargs) -> list:
    scheduler = SWALR(optimizer, **kwargs)
    rows = [lr_rows(optimizer)]
    for _ in range(steps - 1):
        optimizer.step()
        scheduler.step()
        rows.append(lr_rows(optimizer))
    return rows


@pytest.mark.parametrize("case", list(SWALR_CASES))
def test_swalr_matches_torch(case):
    expected = REFERENCE[f"swalr/{case}"]
    actual = np.array(run_swalr(sgd_two_groups(), len(expected), **SWALR_CASES[case]))
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_swalr_after_another_schedule_matches_torch():
    expected = REFERENCE["swalr/switch"]
    optimizer = sgd_two_groups()
    cosine = CosineAnnealingLR(optimizer, T_max=10)
    rows = [lr_rows(optimizer)]
    for _ in range(6):
        optimizer.step()
        cosine.step()
        rows.append(lr_rows(optimizer))
    rows += run_swalr(optimizer, len(expected) - len(rows), swa_lr=0.01, anneal_epochs=3)
    np.testing.assert_allclose(np.array(rows), expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_swalr_ends_at_swa_lr_and_stays():
    rows = run_swalr(sgd_two_groups(), 12, swa_lr=0.05, anneal_epochs=5)
    assert rows[0] == list(BASE_LRS)
    for row in rows[5:]:
        np.testing.assert_allclose(row, [0.05, 0.05], rtol=1e-15)


def test_swalr_resumes_from_its_state_dict():
    optimizer = sgd_two_groups()
    scheduler = SWALR(optimizer, swa_lr=0.01, anneal_epochs=6, anneal_strategy="linear")
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    saved, saved_lrs = scheduler.state_dict(), lr_rows(optimizer)
    straight = []
    for _ in range(6):
        optimizer.step()
        scheduler.step()
        straight.append(lr_rows(optimizer))

    other = sgd_two_groups()
    for group, lr in zip(other.param_groups, saved_lrs):
        group["lr"] = lr
    resumed = SWALR(other, swa_lr=0.01, anneal_epochs=6)  # cos until the state is loaded
    for group, lr in zip(other.param_groups, saved_lrs):
        group["lr"] = lr
    resumed.load_state_dict(saved)
    assert resumed.anneal_func(0.5) == 0.5  # linear again
    replay = []
    for _ in range(6):
        other.step()
        resumed.step()
        replay.append(lr_rows(other))
    assert replay == straight


@pytest.mark.parametrize("kwargs, match", [
    ({"swa_lr": -0.1}, "swa_lr"),
    ({"swa_lr": [0.1]}, "swa_lr"),
    ({"swa_lr": [0.1, -1.0]}, "swa_lr"),
    ({"swa_lr": 0.1, "anneal_epochs": -1}, "anneal_epochs"),
    ({"swa_lr": 0.1, "anneal_epochs": 2.5}, "anneal_epochs"),
    ({"swa_lr": 0.1, "anneal_strategy": "exp"}, "anneal_strategy"),
])
def test_swalr_rejects_bad_arguments_and_leaves_the_groups_alone(kwargs, match):
    optimizer = sgd_two_groups()
    before = [dict(group) for group in optimizer.param_groups]
    with pytest.raises(ValueError, match=match):
        SWALR(optimizer, **kwargs)
    assert [dict(group) for group in optimizer.param_groups] == before


def test_swalr_is_reexported_lazily_by_swa_utils():
    from optim.swa_utils import SWALR as reexported

    assert reexported is SWALR
    code = ("import sys, optim.swa_utils as s; "
            "assert not any(m.startswith('schedules') for m in sys.modules); "
            "s.SWALR; assert 'schedules.swa' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=pathlib.Path(__file__).resolve().parents[1])


# --------------------------------------------------------------------------- live torch
def test_float32_ema_and_swa_match_torch_live():
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as ref

    rng = np.random.default_rng(5)
    model, reference = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    mine = [AveragedModel(model), AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn())]
    theirs = [ref.AveragedModel(reference),
              ref.AveragedModel(reference, multi_avg_fn=ref.get_ema_multi_avg_fn())]
    for _ in range(5):
        weight = rng.normal(size=(3, 4)).astype(np.float32)
        bias = rng.normal(size=3).astype(np.float32)
        model.load_state_dict({"weight": weight, "bias": bias})
        reference.load_state_dict({"weight": torch.from_numpy(weight),
                                   "bias": torch.from_numpy(bias)})
        for a, b in zip(mine, theirs):
            a.update_parameters(model)
            b.update_parameters(reference)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a.module.weight.data, b.module.weight.detach().numpy(),
                                   rtol=1e-6, atol=1e-7)


def test_swalr_matches_torch_live_at_other_settings():
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as ref

    for strategy, epochs in (("cos", 7), ("linear", 2)):
        params = [torch.zeros(1, requires_grad=True) for _ in BASE_LRS]
        optimizer = torch.optim.SGD([{"params": [p], "lr": lr}
                                     for p, lr in zip(params, BASE_LRS)])
        scheduler = ref.SWALR(optimizer, swa_lr=0.003, anneal_epochs=epochs,
                              anneal_strategy=strategy)
        expected = [lr_rows(optimizer)]
        for _ in range(11):
            optimizer.step()
            scheduler.step()
            expected.append(lr_rows(optimizer))
        actual = run_swalr(sgd_two_groups(), 12, swa_lr=0.003, anneal_epochs=epochs,
                           anneal_strategy=strategy)
        np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE)

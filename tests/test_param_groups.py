"""Parameter-group recipes: weight-decay exemptions, layer-wise rates, batch-size scaling."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn
from optim.adamw import AdamW
from optim.param_groups import (discriminative_lr_groups, layerwise_lr_decay_groups,
                                scale_lr_linear, scale_lr_sqrt, weight_decay_groups)
from optim.sgd import SGD


class Encoder(nn.Module):
    """Embedding-like direct parameter, a stack of blocks, a norm and a head."""

    def __init__(self):
        super().__init__()
        self.pos = minigrad.Parameter(np.zeros((3, 4), dtype=np.float32))
        self.blocks = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.norm(self.blocks(x + self.pos)))


def names(groups) -> list:
    return [g["param_names"] for g in groups]


def assert_partition(groups, model) -> None:
    """Every parameter of ``model`` is in exactly one group."""
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


# --------------------------------------------------------------------------- weight decay
def test_biases_and_normalisation_parameters_get_no_weight_decay():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 8),
                          nn.LayerNorm(8), nn.Linear(8, 2))
    decay, no_decay = weight_decay_groups(model, weight_decay=0.05)
    assert decay["param_names"] == ["0.weight", "2.weight", "4.weight"]
    assert no_decay["param_names"] == ["0.bias", "1.weight", "1.bias", "2.bias", "3.weight",
                                       "3.bias", "4.bias"]
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.05, 0.0)
    assert_partition([decay, no_decay], model)


def test_normalisation_parameters_are_exempt_whatever_their_shape():
    model = nn.Sequential(nn.Linear(6, 6), nn.LayerNorm((2, 3)))
    decay, no_decay = weight_decay_groups(model, 0.1)
    assert no_decay["param_names"] == ["0.bias", "1.weight", "1.bias"]
    decay, _ = weight_decay_groups(model, 0.1, skip_norm=False)
    assert decay["param_names"] == ["0.weight", "1.weight"]  # the bias is skipped by name


def test_skip_names_match_whole_names_or_dotted_suffixes():
    model = Encoder()
    decay, no_decay = weight_decay_groups(model, 0.1, skip=("pos", "head.weight"), skip_1d=False,
                                          skip_norm=False)
    assert no_decay["param_names"] == ["pos", "head.weight"]
    assert "blocks.0.bias" in decay["param_names"]  # "bias" is no longer skipped
    _, no_decay = weight_decay_groups(model, 0.1, skip="bias", skip_1d=False, skip_norm=False)
    assert no_decay["param_names"] == ["blocks.0.bias", "blocks.1.bias", "norm.bias",
                                       "head.bias"]


def test_named_pairs_and_plain_parameters_are_accepted():
    model = nn.Linear(3, 2)
    from_pairs = weight_decay_groups(model.named_parameters(), 0.1)
    assert names(from_pairs) == [["weight"], ["bias"]]
    plain = weight_decay_groups(model.parameters(), 0.1)
    assert [g["params"] for g in plain] == [[model.weight], [model.bias]]
    assert all("param_names" not in g for g in plain)
    with pytest.raises(TypeError, match="mix"):
        weight_decay_groups([("weight", model.weight), model.bias], 0.1)
    with pytest.raises(TypeError, match="single tensor"):
        weight_decay_groups(model.weight, 0.1)


def test_adamw_decays_only_the_first_group():
    model = nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))
    for p in model.parameters():
        p.data[...] = 1.0
        p.grad = np.zeros_like(p.data)
    optimizer = AdamW(weight_decay_groups(model, weight_decay=0.5), lr=0.1)
    assert optimizer.param_groups[0]["param_names"] == ["0.weight"]
    optimizer.step()
    np.testing.assert_allclose(model[0].weight.data, 1 - 0.1 * 0.5)
    for p in (model[0].bias, model[1].weight, model[1].bias):
        np.testing.assert_array_equal(p.data, 1.0)
    restored = AdamW(weight_decay_groups(model, weight_decay=0.5), lr=0.1)
    restored.load_state_dict(optimizer.state_dict())


@pytest.mark.parametrize("value", [-0.1, float("nan"), "0.1", None])
def test_bad_weight_decay_is_rejected_by_name(value):
    with pytest.raises(ValueError, match="weight_decay"):
        weight_decay_groups(nn.Linear(2, 2), value)


# --------------------------------------------------------------------------- layer-wise rates
def test_llrd_gives_the_top_layer_lr_and_each_layer_below_decay_times_less():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Dropout(0.1),
                          nn.Linear(8, 8), nn.Linear(8, 2))
    groups = layerwise_lr_decay_groups(model, lr=0.01, decay=0.8)
    assert names(groups) == [["0.weight", "0.bias"], ["2.weight", "2.bias"],
                             ["4.weight", "4.bias"], ["5.weight", "5.bias"]]
    np.testing.assert_allclose([g["lr"] for g in groups],
                               [0.01 * 0.8 ** 3, 0.01 * 0.8 ** 2, 0.01 * 0.8, 0.01],
                               rtol=1e-15)
    assert_partition(groups, model)


def test_model_children_are_layers_and_own_parameters_join_the_lowest():
    model = Encoder()
    groups = layerwise_lr_decay_groups(model, lr=1.0, decay=0.5)
    assert names(groups) == [["pos", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                              "blocks.1.bias"], ["norm.weight", "norm.bias"],
                             ["head.weight", "head.bias"]]
    assert [g["lr"] for g in groups] == [0.25, 0.5, 1.0]


def test_an_explicit_layer_list_splits_a_stack_into_blocks():
    model = Encoder()
    layers = [("blocks.0", model.blocks[0]), ("blocks.1", model.blocks[1]),
              ("norm", model.norm), ("head", model.head)]
    groups = layerwise_lr_decay_groups(layers, lr=1.0, decay=0.5)
    assert names(groups)[0] == ["blocks.0.weight", "blocks.0.bias"]
    assert [g["lr"] for g in groups] == [0.125, 0.25, 0.5, 1.0]
    unnamed = layerwise_lr_decay_groups([model.blocks[0], model.head], lr=1.0, decay=0.5)
    assert names(unnamed) == [["0.weight", "0.bias"], ["1.weight", "1.bias"]]
    with pytest.raises(TypeError, match="layer 1"):
        layerwise_lr_decay_groups([model.head, model.head.weight], lr=1.0, decay=0.5)
    with pytest.raises(ValueError, match="no layer"):
        layerwise_lr_decay_groups([nn.ReLU()], lr=1.0, decay=0.5)


def test_a_shared_parameter_belongs_to_the_lowest_layer_only():
    first, last = nn.Linear(3, 3), nn.Linear(3, 3)
    last.weight = first.weight
    groups = layerwise_lr_decay_groups([first, last], lr=1.0, decay=0.5)
    assert names(groups) == [["0.weight", "0.bias"], ["1.bias"]]
    SGD(groups, lr=1.0)  # no parameter twice


def test_llrd_with_weight_decay_splits_each_layer():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    groups = layerwise_lr_decay_groups(model, lr=1.0, decay=0.5, weight_decay=0.01)
    summary = [(g["param_names"], g["lr"], g["weight_decay"]) for g in groups]
    assert summary == [(["0.weight"], 0.25, 0.01), (["0.bias"], 0.25, 0.0),
                       (["1.weight", "1.bias"], 0.5, 0.0),
                       (["2.weight"], 1.0, 0.01), (["2.bias"], 1.0, 0.0)]
    assert_partition(groups, model)


def test_the_groups_drive_an_optimizer_and_a_scheduler():
    from schedules.step_based import StepLR

    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    optimizer = SGD(layerwise_lr_decay_groups(model, lr=0.1, decay=0.5), lr=1.0, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.1)
    optimizer.step()
    scheduler.step()
    np.testing.assert_allclose(scheduler.get_last_lr(), [0.005, 0.01])


@pytest.mark.parametrize("decay", [0.0, -0.5, 1.01, float("nan")])
def test_decay_outside_zero_one_is_rejected(decay):
    with pytest.raises(ValueError, match="decay"):
        layerwise_lr_decay_groups(nn.Linear(2, 2), lr=0.1, decay=decay)


def test_negative_lr_and_weight_decay_are_rejected():
    with pytest.raises(ValueError, match="Invalid lr"):
        layerwise_lr_decay_groups(nn.Linear(2, 2), lr=-0.1, decay=0.9)
    with pytest.raises(ValueError, match="Invalid lr"):
        discriminative_lr_groups(nn.Linear(2, 2), lr=-0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        layerwise_lr_decay_groups(nn.Linear(2, 2), lr=0.1, decay=0.9, weight_decay=-1.0)


def test_discriminative_rates_divide_by_2_6_per_layer_down():
    layers = [nn.Linear(3, 3) for _ in range(4)]
    groups = discriminative_lr_groups(layers, lr=0.01)
    np.testing.assert_allclose([g["lr"] for g in groups],
                               [0.01 / 2.6 ** 3, 0.01 / 2.6 ** 2, 0.01 / 2.6, 0.01], rtol=1e-15)
    llrd = layerwise_lr_decay_groups(layers, lr=0.01, decay=1 / 2.6)
    np.testing.assert_allclose([g["lr"] for g in groups], [g["lr"] for g in llrd], rtol=1e-14)


def test_discriminative_rates_can_be_anchored_at_the_bottom_layer():
    layers = [nn.Linear(3, 3) for _ in range(4)]
    groups = discriminative_lr_groups(layers, lr=1e-3 * 2.6 ** 3)
    np.testing.assert_allclose([g["lr"] for g in groups], [1e-3 * 2.6 ** i for i in range(4)],
                               rtol=1e-14)


@pytest.mark.parametrize("factor", [0.5, 0.0, -2.6, float("inf")])
def test_discriminative_factor_below_one_is_rejected(factor):
    with pytest.raises(ValueError, match="factor"):
        discriminative_lr_groups(nn.Linear(2, 2), lr=0.1, factor=factor)


# --------------------------------------------------------------------------- batch size
def test_linear_scaling_rule():
    assert scale_lr_linear(0.1, batch_size=8192) == pytest.approx(3.2, rel=1e-15)
    assert scale_lr_linear(0.1, batch_size=256) == 0.1
    assert scale_lr_linear(0.4, batch_size=64, base_batch_size=256) == pytest.approx(0.1)
    assert scale_lr_linear(0.1, batch_size=np.int64(512)) == pytest.approx(0.2)


def test_square_root_scaling_rule():
    assert scale_lr_sqrt(1e-3, batch_size=131072, base_batch_size=4096) == pytest.approx(
        1e-3 * math.sqrt(32), rel=1e-15)
    assert scale_lr_sqrt(0.1, batch_size=1024) == pytest.approx(0.2, rel=1e-15)
    doubled = scale_lr_sqrt(0.01, batch_size=512)
    assert doubled / 0.01 == pytest.approx(math.sqrt(2))


@pytest.mark.parametrize("function", [scale_lr_linear, scale_lr_sqrt])
@pytest.mark.parametrize("kwargs, match", [
    ({"base_lr": -0.1, "batch_size": 64}, "base_lr"),
    ({"base_lr": float("nan"), "batch_size": 64}, "base_lr"),
    ({"base_lr": 0.1, "batch_size": 0}, "batch_size"),
    ({"base_lr": 0.1, "batch_size": -32}, "batch_size"),
    ({"base_lr": 0.1, "batch_size": 64.0}, "batch_size"),
    ({"base_lr": 0.1, "batch_size": True}, "batch_size"),
    ({"base_lr": 0.1, "batch_size": 64, "base_batch_size": 0}, "base_batch_size"),
])
def test_scaling_rejects_bad_input_by_name(function, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(**kwargs)

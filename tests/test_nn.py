"""Behaviour of minigrad.nn: Module bookkeeping, layers, initialisation and utilities."""
import copy
import math
from collections import OrderedDict

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck, nn
from minigrad.nn import init
from minigrad.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                               vector_to_parameters)

RNG = np.random.default_rng(0)


def f64(*shape):
    return minigrad.tensor(RNG.standard_normal(shape), dtype=np.float64)


def gradcheck_module(module, *inputs):
    """gradcheck a module's output with respect to its inputs and all its parameters.

    gradcheck differentiates with respect to float64 copies of what it is given, so the
    copies of the parameters are swapped into the module while it runs.
    """
    module.double()
    names = [name for name, _ in module.named_parameters()]
    params = [p for _, p in module.named_parameters()]

    def run(*tensors):
        xs, ps = tensors[:len(inputs)], tensors[len(inputs):]
        saved = []
        for name, t in zip(names, ps):
            owner_path, _, leaf = name.rpartition(".")
            owner = module.get_submodule(owner_path)
            saved.append((owner, leaf, owner._parameters[leaf]))
            owner._parameters[leaf] = t
        try:
            return module(*xs)
        finally:
            for owner, leaf, original in saved:
                owner._parameters[leaf] = original

    return gradcheck(run, [*inputs, *params])


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)

    def forward(self, x):
        return F.relu(self.norm(self.fc(x)))


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 3))

    def forward(self, x):
        return self.decoder(self.encoder(x))


# --- Module bookkeeping -----------------------------------------------------------------

def test_named_parameters_are_dotted_paths_in_registration_order():
    names = [name for name, _ in AutoEncoder().named_parameters()]
    assert names == ["encoder.fc.weight", "encoder.fc.bias", "encoder.norm.weight",
                     "encoder.norm.bias", "decoder.0.weight", "decoder.0.bias",
                     "decoder.2.weight", "decoder.2.bias"]


def test_children_modules_and_named_modules():
    model = AutoEncoder()
    assert [type(c).__name__ for c in model.children()] == ["Encoder", "Sequential"]
    assert [name for name, _ in model.named_modules()] == [
        "", "encoder", "encoder.fc", "encoder.norm", "decoder", "decoder.0", "decoder.1",
        "decoder.2"]
    assert len(list(model.modules())) == 8


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_plain_attributes_and_tensors_are_not_registered():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = 2.0
            self.constant = minigrad.ones(3)
            self.w = nn.Parameter(np.zeros(2, dtype=np.float32))

    model = Model()
    assert [name for name, _ in model.named_parameters()] == ["w"]
    assert model.scale == 2.0 and model.w.requires_grad


def test_assigning_a_tensor_to_a_parameter_slot_raises_and_none_is_allowed():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = minigrad.ones(2, 2)
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer(minigrad.ones(1, 2)).shape == (1, 2)


def test_assigning_before_init_raises_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_delattr_unregisters_and_unknown_attribute_raises():
    model = AutoEncoder()
    del model.decoder
    assert all(not n.startswith("decoder") for n, _ in model.named_parameters())
    with pytest.raises(AttributeError, match="has no attribute 'decoder'"):
        model.decoder


def test_zero_grad_sets_none_or_zeros_in_place():
    layer = nn.Linear(3, 2)
    layer(minigrad.ones(4, 3)).sum().backward()
    grad_array = layer.weight.grad
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is grad_array and not grad_array.any()
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_train_and_eval_are_recursive_and_return_self():
    model = AutoEncoder()
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")


def test_apply_visits_children_before_parent():
    visited = []
    AutoEncoder().apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "AutoEncoder" and visited[0] == "Linear"
    assert len(visited) == 8


def test_requires_grad_false_freezes_all_parameters():
    model = AutoEncoder().requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_repr_is_nested_like_pytorch():
    model = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3, bias=False), act=nn.ReLU(),
                                      block=nn.Sequential(nn.Dropout(0.1))))
    assert repr(model) == (
        "Sequential(\n"
        "  (fc): Linear(in_features=2, out_features=3, bias=False)\n"
        "  (act): ReLU()\n"
        "  (block): Sequential(\n"
        "    (0): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")")


def test_to_dtype_converts_floating_parameters_grads_and_buffers_in_place():
    model = AutoEncoder()
    weight = model.encoder.fc.weight
    model(minigrad.randn(4, 3)).sum().backward()
    version = weight._version
    assert model.to(np.float64) is model
    assert model.encoder.fc.weight is weight  # same Parameter object
    assert weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert weight._version > version
    assert model.encoder.norm.running_mean.dtype == np.float64
    assert model.encoder.norm.num_batches_tracked.dtype == np.int64
    assert model.float().encoder.fc.weight.dtype == np.float32


def test_deepcopy_gives_independent_parameters():
    model = AutoEncoder()
    clone = copy.deepcopy(model)
    with minigrad.no_grad():
        clone.encoder.fc.weight.fill_(0.0)
    assert model.encoder.fc.weight.data.any()


def test_small_mlp_learns_xor_with_plain_gradient_descent():
    minigrad.manual_seed(0)
    x = minigrad.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = minigrad.tensor([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    loss_fn = nn.CrossEntropyLoss()
    first = loss_fn(model(x), y).item()
    for _ in range(300):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        for p in model.parameters():
            p.data -= 0.5 * p.grad
    assert loss.item() < 0.05 < first
    assert (model(x).data.argmax(axis=1) == y.data).all()


# --- containers --------------------------------------------------------------------------

def test_sequential_indexing_len_iter_slicing_and_append():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[-1], nn.Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    model.append(nn.Sigmoid())
    assert len(model) == 4 and model(minigrad.ones(5, 2)).shape == (5, 1)
    with pytest.raises(IndexError, match="out of range"):
        model[4]


def test_sequential_forward_chains_modules():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    x = minigrad.randn(4, 2)
    np.testing.assert_allclose(model(x).data, np.tanh(model[0](x).data))


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    layers.insert(0, nn.Identity())
    assert len(layers) == 4 and isinstance(layers[0], nn.Identity)
    assert [n for n, _ in layers.named_parameters()][:2] == ["1.weight", "1.bias"]

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

    assert len(list(Stack().parameters())) == 6


# --- state_dict ----------------------------------------------------------------------------

def test_state_dict_shares_memory_with_parameters_and_buffers():
    model = AutoEncoder()
    state = model.state_dict()
    assert list(state) == [
        "encoder.fc.weight", "encoder.fc.bias", "encoder.norm.weight", "encoder.norm.bias",
        "encoder.norm.running_mean", "encoder.norm.running_var",
        "encoder.norm.num_batches_tracked", "decoder.0.weight", "decoder.0.bias",
        "decoder.2.weight", "decoder.2.bias"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["encoder.fc.weight"] is model.encoder.fc.weight.data  # PyTorch's semantics
    assert state["encoder.norm.running_mean"] is model.encoder.norm.running_mean.data
    snapshot = copy.deepcopy(state)
    state["encoder.fc.weight"][...] = 0.0
    assert not model.encoder.fc.weight.data.any() and snapshot["encoder.fc.weight"].any()
    assert model.state_dict(keep_vars=True)["encoder.fc.weight"] is model.encoder.fc.weight


def test_state_dict_round_trip_reproduces_outputs_and_buffers():
    source = AutoEncoder()
    source(minigrad.randn(8, 3))  # moves the running statistics
    target = AutoEncoder()
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = minigrad.randn(5, 3)
    np.testing.assert_array_equal(source.eval()(x).data, target.eval()(x).data)
    assert target.encoder.norm.num_batches_tracked.item() == 1


def test_load_state_dict_keeps_dtype_and_parameter_identity():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    state = {k: v.astype(np.float64) + 1.0 for k, v in layer.state_dict().items()}
    layer.load_state_dict(state)
    assert layer.weight is weight and weight.dtype == np.float32
    np.testing.assert_allclose(weight.data, state["weight"], rtol=1e-6)


def test_load_state_dict_strict_lists_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(2, 2))
    state = model.state_dict()
    del state["0.bias"]
    state["0.extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0.bias"') as info:
        model.load_state_dict(state)
    assert 'Unexpected key(s) in state_dict: "0.extra"' in str(info.value)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["0.extra"]


def test_load_state_dict_shape_mismatch_raises_and_copies_nothing():
    model = nn.Sequential(nn.Linear(2, 3))
    before = copy.deepcopy(model.state_dict())
    bad = {"0.weight": np.zeros((2, 3)), "0.bias": np.zeros(3)}
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: .*\(2, 3\).*\(3, 2\)"):
        model.load_state_dict(bad, strict=False)
    np.testing.assert_array_equal(model[0].bias.data, before["0.bias"])


def test_non_persistent_buffers_stay_out_of_state_dict():
    module = nn.Module()
    module.register_buffer("cache", minigrad.zeros(2), persistent=False)
    module.register_buffer("count", minigrad.zeros(1))
    assert list(module.state_dict()) == ["count"]
    assert [n for n, _ in module.named_buffers()] == ["cache", "count"]


# --- Linear, Identity, Flatten ------------------------------------------------------------

def test_linear_forward_matches_numpy_and_shapes():
    layer = nn.Linear(3, 2)
    x = minigrad.randn(4, 5, 3)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data,
                               rtol=1e-6)
    assert layer(x).dtype == np.float32


def test_linear_gradcheck():
    assert gradcheck_module(nn.Linear(3, 2), f64(4, 3))


def test_linear_default_init_matches_pytorch_bounds():
    minigrad.manual_seed(0)
    layer = nn.Linear(400, 200)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(w.mean()) < 0.1 * bound


def test_linear_dtype_argument_and_no_bias():
    layer = nn.Linear(2, 3, bias=False, dtype=np.float64)
    assert layer.weight.dtype == np.float64 and layer.bias is None
    assert repr(layer) == "Linear(in_features=2, out_features=3, bias=False)"


def test_manual_seed_makes_initialisation_reproducible():
    minigrad.manual_seed(42)
    a = nn.Linear(4, 4).weight.data.copy()
    minigrad.manual_seed(42)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.data, a)


def test_identity_and_flatten():
    x = minigrad.randn(2, 3, 4, 5)
    assert nn.Identity(54, unused=True)(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)


# --- activations ------------------------------------------------------------------------

@pytest.mark.parametrize("module, function", [
    (nn.ReLU(), F.relu), (nn.Tanh(), F.tanh), (nn.Sigmoid(), F.sigmoid),
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)), (nn.GELU(), F.gelu),
    (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0)),
    (nn.Softmax(dim=0), lambda x: F.softmax(x, dim=0)),
    (nn.LogSoftmax(dim=1), lambda x: F.log_softmax(x, dim=1)),
])
def test_activation_modules_apply_their_function_and_gradcheck(module, function):
    x = f64(3, 4)
    np.testing.assert_allclose(module(x).data, function(x).data)
    assert gradcheck(module, [x])


def test_activation_reprs():
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"


# --- Dropout -----------------------------------------------------------------------------

def test_dropout_module_follows_train_and_eval():
    drop = nn.Dropout(0.5)
    x = minigrad.ones(2000)
    out = drop(x)
    assert abs((out.data == 0).mean() - 0.5) < 0.05
    np.testing.assert_allclose(out.data.mean(), 1.0, atol=0.1)
    assert drop.eval()(x) is x


def test_dropout_module_reproducible_with_manual_seed():
    drop = nn.Dropout(0.3)
    minigrad.manual_seed(7)
    a = drop(minigrad.ones(50)).data
    minigrad.manual_seed(7)
    np.testing.assert_array_equal(drop(minigrad.ones(50)).data, a)


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


# --- Embedding ---------------------------------------------------------------------------

def test_embedding_lookup_and_standard_normal_init():
    minigrad.manual_seed(0)
    emb = nn.Embedding(500, 40)
    assert emb.weight.data.std() == pytest.approx(1.0, rel=0.03)
    idx = minigrad.tensor([[1, 2], [499, 1]])
    np.testing.assert_array_equal(emb(idx).data, emb.weight.data[idx.data])
    assert emb(idx).shape == (2, 2, 40)


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 3, padding_idx=-1)
    assert emb.padding_idx == 3 and not emb.weight.data[3].any()
    with minigrad.no_grad():
        emb.weight[3] = 5.0  # the value passes through, the gradient does not
    out = emb(minigrad.tensor([3, 1, 3]))
    np.testing.assert_array_equal(out.data[0], [5.0, 5.0, 5.0])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[3], np.zeros(3))
    np.testing.assert_array_equal(emb.weight.grad[1], np.ones(3))


def test_embedding_gradcheck_and_out_of_range_error():
    emb = nn.Embedding(5, 2)  # (a padding row would, by design, disagree with gradcheck)
    assert gradcheck_module(emb, np.array([[0, 4], [2, 2]]))
    with pytest.raises(IndexError, match="index 5 is out of range"):
        emb(minigrad.tensor([5]))


def test_embedding_from_pretrained_is_frozen_by_default():
    emb = nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(minigrad.tensor([2])).data, [[0.0, 0.0, 1.0]])


# --- LayerNorm ---------------------------------------------------------------------------

def test_layer_norm_module_matches_numpy():
    norm = nn.LayerNorm(4)
    with minigrad.no_grad():
        norm.weight.copy_(np.array([1.0, 2.0, 3.0, 4.0]))
        norm.bias.fill_(0.5)
    x = minigrad.randn(3, 4)
    ref = (x.data - x.data.mean(-1, keepdims=True)) / np.sqrt(x.data.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(norm(x).data, ref * [1, 2, 3, 4] + 0.5, rtol=1e-5, atol=1e-6)
    assert norm(x).dtype == np.float32
    assert [n for n, _ in nn.LayerNorm((2, 3), bias=False).named_parameters()] == ["weight"]
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []


def test_layer_norm_gradcheck():
    norm = nn.LayerNorm((2, 3))
    with minigrad.no_grad():
        init.normal_(norm.weight)
        init.normal_(norm.bias)
    assert gradcheck_module(norm, f64(2, 2, 3))


# --- BatchNorm -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_training_uses_batch_stats_and_updates_running_stats(shape):
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    x = f64(*shape)
    axes = (0,) if len(shape) == 2 else (0, 2)
    out = bn(x)
    mean, var = x.data.mean(axis=axes, keepdims=True), x.data.var(axis=axes, keepdims=True)
    np.testing.assert_allclose(out.data, (x.data - mean) / np.sqrt(var + 1e-5), rtol=1e-10)
    unbiased = x.data.var(axis=axes, ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean.reshape(3), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * unbiased, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    bn(f64(8, 2))
    bn.eval()
    x = f64(3, 2)
    expected = (x.data - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-10)
    assert bn.num_batches_tracked.item() == 1  # eval does not count batches


def test_batch_norm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(1, momentum=None, dtype=np.float64)
    batches = [f64(5, 1) for _ in range(3)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.data.mean() for b in batches]))


def test_batch_norm_without_running_stats_always_uses_batch_stats():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    x = minigrad.randn(10, 2)
    np.testing.assert_allclose(bn(x).data.mean(axis=0), 0.0, atol=1e-5)
    assert list(bn.state_dict()) == []


def test_batch_norm_gradcheck_in_training_mode():
    bn = nn.BatchNorm1d(2)
    with minigrad.no_grad():
        init.normal_(bn.weight)
    assert gradcheck_module(bn, f64(4, 2, 3))


def test_batch_norm_input_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        bn(minigrad.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(minigrad.randn(1, 3))
    with pytest.raises(ValueError, match="channels"):
        bn(minigrad.randn(4, 2))


def test_batch_norm_2d_normalises_each_channel():
    bn = nn.BatchNorm2d(3)
    out = bn(minigrad.randn(4, 3, 5, 5) * 3 + 1)
    np.testing.assert_allclose(out.data.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.data.std(axis=(0, 2, 3)), 1.0, rtol=1e-3)


# --- RNN ---------------------------------------------------------------------------------

def np_rnn(rnn, x, h0, act=np.tanh):
    """Reference Elman RNN on (L, N, H_in) arrays."""
    layer_input, finals = x, []
    for k in range(rnn.num_layers):
        p = {name: getattr(rnn, f"{name}_l{k}").data for name in
             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        h, outputs = h0[k], []
        for t in range(x.shape[0]):
            h = act(layer_input[t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
            outputs.append(h)
        layer_input = np.stack(outputs)
        finals.append(h)
    return layer_input, np.stack(finals)


def test_rnn_parameter_names_shapes_and_init_bounds():
    minigrad.manual_seed(0)
    rnn = nn.RNN(3, 20, num_layers=2)
    shapes = {name: p.shape for name, p in rnn.named_parameters()}
    assert shapes == {"weight_ih_l0": (20, 3), "weight_hh_l0": (20, 20), "bias_ih_l0": (20,),
                      "bias_hh_l0": (20,), "weight_ih_l1": (20, 20), "weight_hh_l1": (20, 20),
                      "bias_ih_l1": (20,), "bias_hh_l1": (20,)}
    bound = 1 / math.sqrt(20)
    assert all(np.abs(p.data).max() <= bound for p in rnn.parameters())
    assert np.abs(rnn.weight_hh_l0.data).max() > 0.95 * bound


def test_rnn_matches_numpy_with_and_without_h0():
    rnn = nn.RNN(3, 4, num_layers=2, dtype=np.float64)
    x, h0 = f64(5, 2, 3), f64(2, 2, 4)
    out, h_n = rnn(x, h0)
    ref_out, ref_h = np_rnn(rnn, x.data, h0.data)
    assert out.shape == (5, 2, 4) and h_n.shape == (2, 2, 4)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-10)
    np.testing.assert_allclose(h_n.data, ref_h, rtol=1e-10)
    out0, _ = rnn(x)
    np.testing.assert_allclose(out0.data, np_rnn(rnn, x.data, np.zeros((2, 2, 4)))[0], rtol=1e-10)


def test_rnn_batch_first_unbatched_and_relu():
    rnn = nn.RNN(3, 4, nonlinearity="relu", batch_first=True, dtype=np.float64)
    x = f64(2, 5, 3)
    out, h_n = rnn(x)
    ref, ref_h = np_rnn(rnn, x.data.swapaxes(0, 1), np.zeros((1, 2, 4)), act=lambda a: np.maximum(a, 0))
    np.testing.assert_allclose(out.data, ref.swapaxes(0, 1), rtol=1e-10)
    assert out.shape == (2, 5, 4) and h_n.shape == (1, 2, 4)
    single, h_single = rnn(x[0])  # unbatched (L, H_in)
    assert single.shape == (5, 4) and h_single.shape == (1, 4)
    np.testing.assert_allclose(single.data, out.data[0], rtol=1e-10)


def test_rnn_gradcheck():
    rnn = nn.RNN(2, 3, num_layers=2)
    assert gradcheck_module(rnn, f64(3, 2, 2), f64(2, 2, 3))


def test_rnn_input_errors():
    rnn = nn.RNN(3, 4)
    with pytest.raises(ValueError, match="input_size"):
        rnn(minigrad.randn(5, 2, 2))
    with pytest.raises(ValueError, match="hidden size"):
        rnn(minigrad.randn(5, 2, 3), minigrad.randn(1, 3, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


# --- Conv2d and pooling ---------------------------------------------------------------------

def test_conv2d_shapes_init_bounds_and_repr():
    minigrad.manual_seed(0)
    conv = nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1)
    assert conv.weight.shape == (16, 8, 3, 3) and conv.bias.shape == (16,)
    bound = 1 / math.sqrt(8 * 3 * 3)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.99 * bound
    assert conv(minigrad.randn(2, 8, 9, 9)).shape == (2, 16, 5, 5)
    assert repr(conv) == "Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"


def test_conv2d_module_equals_functional_and_gradchecks():
    conv = nn.Conv2d(2, 4, (2, 3), padding=1, groups=2)
    x = minigrad.randn(1, 2, 4, 4)
    np.testing.assert_allclose(conv(x).data, F.conv2d(x, conv.weight, conv.bias, padding=1, groups=2).data)
    assert gradcheck_module(nn.Conv2d(2, 2, 2, stride=2), f64(1, 2, 4, 4))


def test_conv2d_keeps_float32():
    assert nn.Conv2d(1, 1, 2)(minigrad.randn(1, 1, 3, 3)).dtype == np.float32


def test_pooling_modules():
    x = minigrad.randn(2, 3, 6, 6)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)
    assert nn.MaxPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 6, 6)
    assert nn.AvgPool2d(3)(x).shape == (2, 3, 2, 2)
    assert gradcheck(nn.MaxPool2d(2, 1), [f64(1, 1, 3, 3)])


# --- loss modules -----------------------------------------------------------------------

def test_loss_modules_match_functional():
    x, y = minigrad.randn(4, 3), minigrad.randn(4, 3)
    target = minigrad.tensor([0, 2, 1, 2])
    prob = minigrad.rand(4, 3)
    weight = minigrad.tensor([1.0, 2.0, 0.5])
    assert nn.MSELoss()(x, y).item() == F.mse_loss(x, y).item()
    assert nn.L1Loss(reduction="sum")(x, y).item() == F.l1_loss(x, y, reduction="sum").item()
    assert nn.CrossEntropyLoss(weight, label_smoothing=0.1)(x, target).item() == pytest.approx(
        F.cross_entropy(x, target, weight, label_smoothing=0.1).item())
    assert nn.NLLLoss(ignore_index=2)(F.log_softmax(x, 1), target).item() == pytest.approx(
        F.nll_loss(F.log_softmax(x, 1), target, ignore_index=2).item())
    assert nn.BCEWithLogitsLoss(pos_weight=weight)(x, prob).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(x, prob, pos_weight=weight).item())
    assert nn.BCELoss()(prob, prob).item() == pytest.approx(F.binary_cross_entropy(prob, prob).item())


def test_loss_weight_is_a_buffer_and_reduction_is_validated():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    assert list(loss.state_dict()) == ["weight"]
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="average")


# --- init ----------------------------------------------------------------------------------

def test_calculate_gain_matches_pytorch_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(1.4142135623730951)
    assert init.calculate_gain("leaky_relu") == pytest.approx(1.4141428569978354)  # √(2/1.0001)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(0.5773502691896258)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fans_follow_pytorch_rule_including_receptive_field():
    assert init._calculate_fan_in_and_fan_out(minigrad.zeros(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(minigrad.zeros(16, 8, 3, 3)) == (72, 144)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(minigrad.zeros(5))


def test_xavier_and_kaiming_bounds_and_stds():
    gen = np.random.default_rng(0)
    w = init.xavier_uniform_(minigrad.zeros(300, 200), generator=gen)
    bound = math.sqrt(6 / 500)  # 0.10954...
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    w = init.xavier_normal_(minigrad.zeros(300, 200), gain=2.0, generator=gen)
    assert w.data.std() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.02)
    w = init.kaiming_normal_(minigrad.zeros(64, 8, 3, 3), nonlinearity="relu", generator=gen)
    assert w.data.std() == pytest.approx(1 / 6, rel=0.03)  # √2 / √72
    w = init.kaiming_uniform_(minigrad.zeros(64, 8, 3, 3), mode="fan_out", nonlinearity="relu",
                              generator=gen)
    assert np.abs(w.data).max() <= math.sqrt(6 / 576)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(minigrad.zeros(2, 2), mode="fan_avg")


def test_init_is_in_place_keeps_dtype_and_bumps_version_on_parameters():
    p = nn.Parameter(np.zeros((3, 4), dtype=np.float32))
    array, version = p.data, p._version
    assert init.normal_(p, std=2.0) is p
    assert p.data is array and p.dtype == np.float32 and p._version > version
    init.constant_(p, 0.5)
    assert (p.data == 0.5).all()
    init.zeros_(p), init.ones_(p)
    assert (p.data == 1.0).all()


def test_init_generator_makes_draws_reproducible():
    a = init.uniform_(minigrad.zeros(5), -1, 1, generator=3).data.copy()
    np.testing.assert_array_equal(init.uniform_(minigrad.zeros(5), -1, 1, generator=3).data, a)
    assert a.min() >= -1 and a.max() < 1


def test_trunc_normal_and_orthogonal():
    w = init.trunc_normal_(minigrad.zeros(2000), std=1.0, a=-0.5, b=1.0, generator=0)
    assert w.data.min() >= -0.5 and w.data.max() <= 1.0 and w.data.std() > 0.3
    q = init.orthogonal_(minigrad.zeros(3, 5, dtype=np.float64), gain=2.0, generator=0)
    np.testing.assert_allclose(q.data @ q.data.T, 4 * np.eye(3), atol=1e-12)


# --- utils ---------------------------------------------------------------------------------

def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros(len(g), dtype=np.float32))
        p.grad = np.array(g, dtype=np.float32)
        params.append(p)
    return params


def test_clip_grad_norm_returns_pre_clip_norm_and_scales_grads():
    params = _params_with_grads([3.0, 4.0], [12.0])
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(13.0) and total.ndim == 0 and total.dtype == np.float32
    clipped = np.sqrt(sum((p.grad ** 2).sum() for p in params))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(params[0].grad, np.array([3, 4]) / (13 + 1e-6), rtol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = _params_with_grads([0.3, 0.4])
    assert clip_grad_norm_(params, max_norm=1.0).item() == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad, np.array([0.3, 0.4], dtype=np.float32))


def test_clip_grad_norm_inf_norm_and_single_tensor():
    params = _params_with_grads([3.0, -4.0], [2.0])
    assert clip_grad_norm_(params, 2.0, norm_type=float("inf")).item() == pytest.approx(4.0)
    np.testing.assert_allclose(params[0].grad, [1.5, -2.0], rtol=1e-5)
    (single,) = _params_with_grads([6.0, 8.0])
    assert clip_grad_norm_(single, 5.0).item() == pytest.approx(10.0)
    np.testing.assert_allclose(single.grad, [3.0, 4.0], rtol=1e-5)


def test_clip_grad_norm_non_finite():
    params = _params_with_grads([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert np.isnan(clip_grad_norm_(params, 1.0).item())


def test_clip_grad_norm_without_grads_returns_zero():
    assert clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0


def test_clip_grad_value_clamps_in_place():
    params = _params_with_grads([-3.0, 0.5, 2.0])
    grad = params[0].grad
    clip_grad_value_(params, 1.0)
    assert params[0].grad is grad
    np.testing.assert_array_equal(grad, [-1.0, 0.5, 1.0])


def test_parameters_to_vector_round_trip():
    model = nn.Linear(3, 2)
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    vector_to_parameters(vec * 0 + 1, model.parameters())
    assert (model.weight.data == 1).all() and model.weight.dtype == np.float32
    with pytest.raises(ValueError, match="8"):
        vector_to_parameters(minigrad.zeros(5), model.parameters())


# --- comparison with PyTorch, when it is installed -----------------------------------------

def _copy_to_torch(ours, theirs):
    import torch

    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})


def test_modules_equal_torch_after_loading_the_same_state():
    torch = pytest.importorskip("torch")
    pairs = [
        (nn.Linear(3, 4, dtype=np.float64), torch.nn.Linear(3, 4).double(), (2, 3)),
        (nn.LayerNorm(3, dtype=np.float64), torch.nn.LayerNorm(3).double(), (2, 3)),
        (nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64), torch.nn.Conv2d(2, 3, 3, padding=1).double(),
         (2, 2, 5, 5)),
    ]
    for ours, theirs, shape in pairs:
        _copy_to_torch(ours, theirs)
        x = RNG.standard_normal(shape)
        xs, tx = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours(xs).sum().backward()
        theirs(tx).sum().backward()
        np.testing.assert_allclose(xs.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad, dict(theirs.named_parameters())[name].grad.numpy(),
                                       rtol=1e-10, atol=1e-12)


def test_batch_norm_and_rnn_equal_torch():
    torch = pytest.importorskip("torch")
    bn, tbn = nn.BatchNorm1d(3, dtype=np.float64), torch.nn.BatchNorm1d(3).double()
    for _ in range(2):
        x = RNG.standard_normal((5, 3, 4))
        np.testing.assert_allclose(bn(minigrad.tensor(x)).data, tbn(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
    for key, value in tbn.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[key], value.numpy(), rtol=1e-12)
    rnn = nn.RNN(3, 4, num_layers=2, batch_first=True, dtype=np.float64)
    trnn = torch.nn.RNN(3, 4, num_layers=2, batch_first=True).double()
    _copy_to_torch(rnn, trnn)
    x, h0 = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 2, 4))
    out, h = rnn(minigrad.tensor(x), minigrad.tensor(h0))
    tout, th = trnn(torch.tensor(x), torch.tensor(h0))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(h.data, th.detach().numpy(), rtol=1e-10)


def test_clip_grad_norm_equals_torch():
    torch = pytest.importorskip("torch")
    grads = [RNG.standard_normal(4), RNG.standard_normal((2, 3))]
    for norm_type in (2.0, 1.0, float("inf"), 3.0):
        ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
        theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, t, g in zip(ours, theirs, grads):
            p.grad, t.grad = g.copy(), torch.tensor(g)
        total = clip_grad_norm_(ours, 0.5, norm_type=norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type=norm_type)
        assert total.item() == pytest.approx(ttotal.item(), rel=1e-12)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)

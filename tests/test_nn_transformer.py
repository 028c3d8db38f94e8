"""MultiheadAttention, scaled_dot_product_attention and the Transformer layers.

Numbers: every case of tests/reference/nn_cases.py (outputs, attention weights and the
gradients of all parameters and inputs, float64) matches PyTorch to 1e-10, from the
stored file and, where torch is installed, live.
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import minigrad
from minigrad import gradcheck, nn
from minigrad.nn.attention import multi_head_attention_forward, scaled_dot_product_attention
from optim.adam import Adam

REFERENCE = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REFERENCE))

import nn_cases  # noqa: E402

STORED, STORED_CASES = nn_cases.load(REFERENCE / "nn_references.npz")
RESNET_KINDS = ("basic_block", "resnet")
CASES = [case for case in nn_cases.CASES if case["kind"] not in RESNET_KINDS]
RNG = np.random.default_rng(0)


def f64(*shape, requires_grad=False):
    return minigrad.tensor(RNG.standard_normal(shape), dtype=np.float64,
                           requires_grad=requires_grad)


@pytest.fixture(scope="module")
def live_reference():
    pytest.importorskip("torch")
    import make_nn_references

    return make_nn_references.build_all()


# ------------------------------------------------------------------ against PyTorch
def test_stored_file_is_made_from_the_current_cases():
    assert STORED_CASES == json.loads(json.dumps(nn_cases.CASES))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_matches_stored_pytorch_reference(case):
    reference = STORED[case["name"]]
    nn_cases.compare(nn_cases.run_minigrad(case, reference), reference)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_matches_live_pytorch(case, live_reference):
    prefix = case["name"] + "/"
    reference = {k[len(prefix):]: v for k, v in live_reference.items() if k.startswith(prefix)}
    nn_cases.compare(nn_cases.run_minigrad(case, reference), reference)


TORCH_MODULES = [
    ("MultiheadAttention", dict(embed_dim=8, num_heads=2)),
    ("MultiheadAttention", dict(embed_dim=8, num_heads=2, kdim=3, vdim=5)),
    ("MultiheadAttention", dict(embed_dim=8, num_heads=4, bias=False, add_bias_kv=True)),
    ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16)),
    ("TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, bias=False,
                                     norm_first=True)),
    ("TransformerDecoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16)),
    ("Transformer", dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                         dim_feedforward=16)),
]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("name, kwargs", TORCH_MODULES)
def test_state_dict_keys_and_shapes_equal_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(**kwargs).state_dict()
    theirs = getattr(torch.nn, name)(**kwargs).state_dict()
    assert list(ours) == list(theirs)
    assert [v.shape for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]


def test_encoder_stack_state_dict_equals_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 3, nn.LayerNorm(8))
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), 3,
                                         torch.nn.LayerNorm(8), enable_nested_tensor=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_square_subsequent_mask_equals_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Transformer.generate_square_subsequent_mask(5, dtype=np.float64)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ------------------------------------------------------------------ masks and weights
def test_square_subsequent_mask_blocks_the_future():
    mask = nn.Transformer.generate_square_subsequent_mask(4).data
    assert mask.dtype == minigrad.get_default_dtype()
    assert np.all(np.isneginf(mask[np.triu_indices(4, 1)]))
    assert np.all(mask[np.tril_indices(4)] == 0)


def test_masked_keys_get_exactly_zero_weight_and_rows_sum_to_one():
    attn = nn.MultiheadAttention(8, 2).double()
    x = f64(5, 3, 8)
    padding = np.zeros((3, 5), dtype=bool)
    padding[1, 3:] = True
    causal = nn.Transformer.generate_square_subsequent_mask(5, dtype=np.float64)
    _, weights = attn(x, x, x, key_padding_mask=padding, attn_mask=causal,
                      average_attn_weights=False)
    w = weights.data
    assert w.shape == (3, 2, 5, 5)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert np.all(w[1, :, :, 3:] == 0)
    assert np.all(w[:, :, np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0)


def test_boolean_and_float_masks_give_the_same_result():
    attn = nn.MultiheadAttention(8, 2).double()
    x = f64(4, 2, 8)
    blocked = RNG.random((4, 4)) < 0.5
    blocked[:, 0] = False
    as_float = np.where(blocked, -np.inf, 0.0)
    out_bool, w_bool = attn(x, x, x, attn_mask=blocked)
    out_float, w_float = attn(x, x, x, attn_mask=as_float)
    np.testing.assert_array_equal(out_bool.data, out_float.data)
    np.testing.assert_array_equal(w_bool.data, w_float.data)


def test_average_attn_weights_is_the_mean_over_heads_and_need_weights_false_gives_none():
    attn = nn.MultiheadAttention(8, 4).double()
    q, kv = f64(3, 2, 8), f64(6, 2, 8)
    out, averaged = attn(q, kv, kv)
    _, per_head = attn(q, kv, kv, average_attn_weights=False)
    out_only, none = attn(q, kv, kv, need_weights=False)
    assert averaged.shape == (2, 3, 6) and per_head.shape == (2, 4, 3, 6)
    np.testing.assert_allclose(averaged.data, per_head.data.mean(axis=1), rtol=1e-14)
    assert none is None
    np.testing.assert_array_equal(out.data, out_only.data)


def test_batch_first_is_a_transpose_of_sequence_first():
    minigrad.manual_seed(3)
    seq_first = nn.MultiheadAttention(8, 2, kdim=5, vdim=3).double()
    batch_first = nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True).double()
    batch_first.load_state_dict(seq_first.state_dict())
    q, k, v = f64(4, 2, 8), f64(6, 2, 5), f64(6, 2, 3)
    out, weights = seq_first(q, k, v)
    out_bf, weights_bf = batch_first(*(t.transpose(1, 0, 2) for t in (q, k, v)))
    np.testing.assert_allclose(out_bf.data, out.data.transpose(1, 0, 2), rtol=1e-13)
    np.testing.assert_allclose(weights_bf.data, weights.data, rtol=1e-13)


def test_encoder_layer_batch_first_matches_sequence_first():
    seq_first = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0).double()
    batch_first = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    batch_first.load_state_dict(seq_first.state_dict())
    src = f64(5, 3, 8)
    np.testing.assert_allclose(batch_first(src.transpose(1, 0, 2)).data,
                               seq_first(src).data.transpose(1, 0, 2), rtol=1e-12)


def test_sdpa_boolean_mask_means_allowed_unlike_multihead_attention():
    q, k, v = f64(2, 3, 4), f64(2, 5, 4), f64(2, 5, 4)
    allowed = np.ones((3, 5), dtype=bool)
    allowed[:, 3:] = False
    masked = scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    truncated = scaled_dot_product_attention(q, k[:, :3], v[:, :3])
    np.testing.assert_allclose(masked.data, truncated.data, rtol=1e-13)


def test_dropout_on_attention_weights_only_in_training():
    attn = nn.MultiheadAttention(8, 2, dropout=0.5).double()
    x = f64(6, 2, 8)
    minigrad.manual_seed(0)
    _, dropped = attn(x, x, x, average_attn_weights=False)
    attn.eval()
    _, kept = attn(x, x, x, average_attn_weights=False)
    dropped, kept = dropped.data, kept.data
    zero = dropped == 0
    assert 0.2 < zero.mean() < 0.8
    np.testing.assert_allclose(dropped[~zero], 2 * kept[~zero], rtol=1e-13)


# ------------------------------------------------------------------ rejections
def test_is_causal_needs_the_mask():
    attn = nn.MultiheadAttention(4, 2)
    x = minigrad.randn(3, 1, 4)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        attn(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        nn.TransformerEncoderLayer(4, 2, 8)(x, is_causal=True)
    with pytest.raises(RuntimeError, match="is_causal"):
        scaled_dot_product_attention(x, x, x, attn_mask=np.ones((1, 1), bool), is_causal=True)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(embed_dim=6, num_heads=4), ValueError, "divisible"),
    (dict(embed_dim=0, num_heads=1), ValueError, "greater than 0"),
    (dict(embed_dim=4, num_heads=2, dropout=1.5), ValueError, "dropout"),
])
def test_bad_constructor_arguments_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.MultiheadAttention(**kwargs)


def test_bad_masks_are_rejected():
    attn = nn.MultiheadAttention(4, 2)
    x = minigrad.randn(3, 2, 4)
    with pytest.raises(RuntimeError, match="attn_mask"):
        attn(x, x, x, attn_mask=np.zeros((3, 4), dtype=bool))
    with pytest.raises(RuntimeError, match="key_padding_mask"):
        attn(x, x, x, key_padding_mask=np.zeros((3, 3), dtype=bool))
    with pytest.raises(TypeError, match="only bool and floating"):
        attn(x, x, x, attn_mask=np.zeros((3, 3), dtype=np.int64))


def test_unknown_activation_is_rejected_and_callables_are_accepted():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(4, 2, 8, activation="swish")
    layer = nn.TransformerEncoderLayer(4, 2, 8, activation=nn.GELU(), dropout=0.0)
    assert "activation.approximate" not in layer.state_dict()  # a module without state
    assert layer(minigrad.randn(3, 2, 4)).shape == (3, 2, 4)


# ------------------------------------------------------------------ gradients and structure
def test_gradcheck_multi_head_attention_with_masks_and_extra_keys():
    q, k, v = f64(2, 1, 4), f64(3, 1, 4), f64(3, 1, 4)
    in_w, in_b, out_w, out_b = f64(12, 4), f64(12), f64(4, 4), f64(4)
    bias_k, bias_v, float_mask = f64(1, 1, 4), f64(1, 1, 4), f64(2, 3)
    padding = np.array([[False, False, True]])

    def attention(q, k, v, in_w, in_b, out_w, out_b, bias_k, bias_v, float_mask):
        out, weights = multi_head_attention_forward(
            q, k, v, 4, 2, in_w, in_b, bias_k, bias_v, True, 0.0, out_w, out_b,
            key_padding_mask=padding, attn_mask=float_mask, average_attn_weights=False)
        return out, weights

    assert gradcheck(attention, [q, k, v, in_w, in_b, out_w, out_b, bias_k, bias_v,
                                 float_mask])


def test_encoder_clones_are_independent():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), num_layers=3)
    weights = [layer.linear1.weight for layer in encoder.layers]
    assert len({id(w) for w in weights}) == 3
    assert len(list(encoder.parameters())) == 3 * len(list(encoder.layers[0].parameters()))


def test_float32_modules_give_float32_outputs():
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True)
    out = layer(minigrad.randn(2, 5, 8),
                src_mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=True)
    assert out.dtype == np.float32


def test_transformer_checks_batch_and_feature_sizes():
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="batch number"):
        model(minigrad.randn(4, 2, 8), minigrad.randn(3, 3, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        model(minigrad.randn(4, 2, 6), minigrad.randn(3, 2, 6))
    assert model(minigrad.randn(4, 2, 8), minigrad.randn(3, 2, 8)).shape == (3, 2, 8)


class CharModel(nn.Module):
    """A one-layer causal character model: embeddings, a pre-norm block, a linear head."""

    def __init__(self, vocab: int, d_model: int = 16, length: int = 12):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(0.1 * RNG.standard_normal((length, d_model)).astype(np.float32))
        self.block = nn.TransformerEncoderLayer(d_model, 2, 32, dropout=0.0, batch_first=True,
                                                norm_first=True)
        self.head = nn.Linear(d_model, vocab)
        self.mask = nn.Transformer.generate_square_subsequent_mask(length)

    def forward(self, idx):
        x = self.embed(idx) + self.pos
        return self.head(self.block(x, src_mask=self.mask, is_causal=True))


def test_tiny_character_transformer_learns_in_30_steps():
    minigrad.manual_seed(0)
    text = "attention is all you need. " * 8
    vocab = sorted(set(text))
    ids = np.array([vocab.index(c) for c in text])
    model = CharModel(len(vocab))
    optimizer = Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(30):
        starts = rng.integers(0, len(ids) - 13, size=16)
        batch = np.stack([ids[s:s + 13] for s in starts])
        logits = model(minigrad.tensor(batch[:, :-1]))
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)),
                                           minigrad.tensor(batch[:, 1:].reshape(-1)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * losses[0]

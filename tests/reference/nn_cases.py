"""The attention, Transformer and ResNet cases of ``nn_references.npz``, without torch.

``make_nn_references.py`` runs every case through PyTorch and stores the results; the
tests run the same case through minigrad (``run_minigrad``) and compare (``compare``).
A case names a module kind and its constructor arguments, its inputs as
``[kind, shape]`` specs, which inputs are passed positionally (``args``) and which by
keyword (``keywords``: argument -> input), other call arguments (``call``), and the mode
(``train``, default True).
"""
from __future__ import annotations

import json

import numpy as np

E, H, L, S, N = 4, 2, 3, 4, 2  # embed dim, heads, target and source lengths, batch
SEED = 0
SEED = 0

_MHA_MASKS = {"key_padding_mask": "kpm", "attn_mask": "mask"}
CASES = [
    # MultiheadAttention: inputs named in "args" (positional) and "keywords" (name -> input)
    dict(name="mha_self_seq_first", kind="mha", kwargs=dict(embed_dim=E, num_heads=H),
         inputs={"x": ["normal", [L, N, E]]}, args=["x", "x", "x"]),
    dict(name="mha_cross_batch_first_bool_masks", kind="mha",
         kwargs=dict(embed_dim=E, num_heads=H, batch_first=True),
         inputs={"q": ["normal", [N, L, E]], "k": ["normal", [N, S, E]],
                 "v": ["normal", [N, S, E]], "kpm": ["padding", [N, S]],
                 "mask": ["blocked", [L, S]]},
         args=["q", "k", "v"], keywords=_MHA_MASKS, call=dict(average_attn_weights=False)),
    dict(name="mha_float_masks_3d", kind="mha", kwargs=dict(embed_dim=E, num_heads=H),
         inputs={"q": ["normal", [L, N, E]], "kv": ["normal", [S, N, E]],
                 "kpm": ["normal", [N, S]], "mask": ["normal", [N * H, L, S]]},
         args=["q", "kv", "kv"], keywords=_MHA_MASKS),
    dict(name="mha_causal_no_weights", kind="mha", kwargs=dict(embed_dim=E, num_heads=H),
         inputs={"x": ["normal", [L, N, E]], "mask": ["causal", L]},
         args=["x", "x", "x"], keywords={"attn_mask": "mask"},
         call=dict(need_weights=False, is_causal=True)),
    dict(name="mha_causal_bool_padding", kind="mha",
         kwargs=dict(embed_dim=E, num_heads=H, batch_first=True),
         inputs={"x": ["normal", [N, L, E]], "mask": ["causal_bool", L],
                 "kpm": ["padding", [N, L]]},
         args=["x", "x", "x"], keywords=_MHA_MASKS, call=dict(is_causal=True)),
    dict(name="mha_kdim_vdim_no_bias", kind="mha",
         kwargs=dict(embed_dim=E, num_heads=H, kdim=3, vdim=2, bias=False, batch_first=True),
         inputs={"q": ["normal", [N, L, E]], "k": ["normal", [N, S, 3]],
                 "v": ["normal", [N, S, 2]]},
         args=["q", "k", "v"], call=dict(average_attn_weights=False)),
    dict(name="mha_bias_kv_zero_attn", kind="mha",
         kwargs=dict(embed_dim=E, num_heads=H, add_bias_kv=True, add_zero_attn=True),
         inputs={"q": ["normal", [L, N, E]], "k": ["normal", [S, N, E]],
                 "v": ["normal", [S, N, E]], "kpm": ["padding", [N, S]],
                 "mask": ["blocked", [L, S]]},
         args=["q", "k", "v"], keywords=_MHA_MASKS, call=dict(average_attn_weights=False)),
    dict(name="mha_unbatched", kind="mha", kwargs=dict(embed_dim=E, num_heads=4),
         inputs={"q": ["normal", [L, E]], "kv": ["normal", [S, E]], "kpm": ["padding", [1, S]]},
         args=["q", "kv", "kv"], keywords={"key_padding_mask": "kpm"}, squeeze=["kpm"]),
    dict(name="mha_dropout_eval", kind="mha",
         kwargs=dict(embed_dim=E, num_heads=H, dropout=0.5), train=False,
         inputs={"x": ["normal", [L, N, E]]}, args=["x", "x", "x"]),
    dict(name="sdpa_bool_allowed", kind="sdpa",
         inputs={"q": ["normal", [N, H, L, 3]], "k": ["normal", [N, H, S, 3]],
                 "v": ["normal", [N, H, S, 2]], "mask": ["allowed", [L, S]]},
         args=["q", "k", "v"], keywords={"attn_mask": "mask"}),
    dict(name="sdpa_causal_scaled", kind="sdpa",
         inputs={"q": ["normal", [N, L, 4]], "k": ["normal", [N, L, 4]],
                 "v": ["normal", [N, L, 4]]},
         args=["q", "k", "v"], call=dict(is_causal=True, scale=0.3)),
    # Transformer layers (dropout is 0 in training mode, or eval mode)
    dict(name="encoder_post_norm_relu_padding", kind="encoder_layer", train=False,
         kwargs=dict(d_model=E, nhead=H, dim_feedforward=6),
         inputs={"src": ["normal", [S, N, E]], "kpm": ["padding", [N, S]]},
         args=["src"], keywords={"src_key_padding_mask": "kpm"}),
    dict(name="encoder_pre_norm_gelu_causal", kind="encoder_layer",
         kwargs=dict(d_model=E, nhead=H, dim_feedforward=6, dropout=0.0, activation="gelu",
                     batch_first=True, norm_first=True),
         inputs={"src": ["normal", [N, S, E]], "mask": ["causal", S]},
         args=["src"], keywords={"src_mask": "mask"}, call=dict(is_causal=True)),
    dict(name="encoder_no_bias_bool_mask", kind="encoder_layer",
         kwargs=dict(d_model=E, nhead=4, dim_feedforward=5, dropout=0.0, bias=False,
                     layer_norm_eps=1e-3),
         inputs={"src": ["normal", [S, N, E]], "mask": ["blocked", [S, S]],
                 "kpm": ["padding", [N, S]]},
         args=["src"], keywords={"src_mask": "mask", "src_key_padding_mask": "kpm"}),
    dict(name="encoder_stack_with_norm", kind="encoder",
         kwargs=dict(layer=dict(d_model=E, nhead=H, dim_feedforward=6, dropout=0.0,
                                batch_first=True), num_layers=2, norm=True),
         inputs={"src": ["normal", [N, S, E]], "mask": ["causal", S]},
         args=["src"], keywords={"mask": "mask"}),
    dict(name="decoder_layer_pre_norm", kind="decoder_layer",
         kwargs=dict(d_model=E, nhead=H, dim_feedforward=6, dropout=0.0, norm_first=True),
         inputs={"tgt": ["normal", [L, N, E]], "memory": ["normal", [S, N, E]],
                 "mask": ["causal", L], "mkpm": ["padding", [N, S]]},
         args=["tgt", "memory"],
         keywords={"tgt_mask": "mask", "memory_key_padding_mask": "mkpm"}),
    dict(name="transformer_small", kind="transformer",
         kwargs=dict(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1,
                     dim_feedforward=6, dropout=0.0, batch_first=True),
         inputs={"src": ["normal", [N, S, E]], "tgt": ["normal", [N, L, E]],
                 "mask": ["causal", L], "skpm": ["padding", [N, S]]},
         args=["src", "tgt"],
         keywords={"tgt_mask": "mask", "src_key_padding_mask": "skpm",
                   "memory_key_padding_mask": "skpm"}),
    # ResNet (training mode: BatchNorm uses batch statistics and updates its buffers)
    dict(name="basic_block_identity", kind="basic_block",
         kwargs=dict(inplanes=3, planes=3), inputs={"x": ["normal", [2, 3, 5, 5]]},
         args=["x"]),
    dict(name="basic_block_downsample", kind="basic_block",
         kwargs=dict(inplanes=2, planes=4, stride=2, downsample=True),
         inputs={"x": ["normal", [2, 2, 5, 5]]}, args=["x"]),
    dict(name="basic_block_eval", kind="basic_block", train=False,
         kwargs=dict(inplanes=2, planes=3, stride=1, downsample=True),
         inputs={"x": ["normal", [2, 2, 4, 4]]}, args=["x"]),
    dict(name="resnet_tiny", kind="resnet",
         kwargs=dict(layers=[1, 2], num_classes=3, in_channels=1, width=2),
         inputs={"x": ["normal", [2, 1, 6, 6]]}, args=["x"]),
]


def exact32(values: np.ndarray) -> np.ndarray:
    """float64 values that float32 holds exactly (so they are stored in half the space)."""
    return np.asarray(values).astype(np.float32).astype(np.float64)


def make_input(spec, rng: np.random.Generator) -> np.ndarray:
    """An input array from its spec ``[kind, shape]`` (masks never block a whole row)."""
    kind, shape = spec
    if kind == "normal":
        return exact32(rng.standard_normal(shape))
    if kind == "padding":  # True (= padding) at the last b positions of sequence b
        batch, length = shape
        return np.arange(length)[None, :] >= length - np.arange(batch)[:, None]
    if kind == "blocked":  # True = may not attend; the first key is always open
        mask = rng.random(shape) < 0.4
        mask[..., 0] = False
        return mask
    if kind == "allowed":  # True = may attend (SDPA's convention)
        mask = rng.random(shape) < 0.6
        mask[..., 0] = True
        return mask
    if kind == "causal":
        return np.triu(np.full((shape, shape), -np.inf), k=1)
    if kind == "causal_bool":
        return np.triu(np.ones((shape, shape), dtype=bool), k=1)
    raise ValueError(f"unknown input kind {kind!r}")



def load(path) -> dict:
    """``{case name: {entry: array}}`` from the packed file (see ``make_nn_references.pack``)."""
    with np.load(path) as packed:
        index = json.loads(str(packed["index"]))
        vectors = {name: packed[name] for name in ("exact32", "float64", "bool")}
        cases = json.loads(str(packed["cases"]))
    out = {case["name"]: {} for case in cases}
    for key, (vector, offset, shape) in index.items():
        case, _, entry = key.partition("/")
        size = int(np.prod(shape, dtype=np.int64))
        values = vectors[vector][offset:offset + size].reshape(shape)
        out[case][entry] = values if vector == "bool" else values.astype(np.float64)
    return out, cases


def build_minigrad(case: dict):
    """The minigrad module of a case, in float64 (None for the functional SDPA cases)."""
    from minigrad import nn

    kind, kwargs = case["kind"], dict(case.get("kwargs", {}))
    if kind == "mha":
        module = nn.MultiheadAttention(**kwargs)
    elif kind == "encoder_layer":
        module = nn.TransformerEncoderLayer(**kwargs)
    elif kind == "decoder_layer":
        module = nn.TransformerDecoderLayer(**kwargs)
    elif kind == "encoder":
        norm = nn.LayerNorm(kwargs["layer"]["d_model"]) if kwargs["norm"] else None
        module = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kwargs["layer"]),
                                       kwargs["num_layers"], norm)
    elif kind == "transformer":
        module = nn.Transformer(**kwargs)
    elif kind == "basic_block":
        down = kwargs.pop("downsample", False)
        planes, stride = kwargs["planes"], kwargs.get("stride", 1)
        downsample = nn.Sequential(nn.Conv2d(kwargs["inplanes"], planes, 1, stride=stride,
                                             bias=False), nn.BatchNorm2d(planes)) if down else None
        module = nn.BasicBlock(**kwargs, downsample=downsample)
    elif kind == "resnet":
        module = nn.ResNet(nn.BasicBlock, **kwargs)
    elif kind == "sdpa":
        return None
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return module.double()


def run_minigrad(case: dict, reference: dict) -> dict:
    """Run a case through minigrad with the reference's state and inputs; the results
    under the reference's entry names (outputs, gradients, buffers after the call)."""
    import minigrad
    from minigrad.nn.attention import scaled_dot_product_attention

    module = build_minigrad(case)
    masks = set(case.get("keywords", {}).values())
    tensors = {}
    for name, spec in case["inputs"].items():
        value = reference[f"in/{name}"]
        value = value[0] if name in case.get("squeeze", []) else value
        grad = spec[0] == "normal" and name not in masks
        tensors[name] = minigrad.Tensor(np.array(value), requires_grad=grad)
    args = [tensors[name] for name in case["args"]]
    keywords = {key: tensors[name] for key, name in case.get("keywords", {}).items()}
    keywords.update(case.get("call", {}))
    if module is None:
        outputs = scaled_dot_product_attention(*args, **keywords)
    else:
        state = {key[len("state/"):]: value for key, value in reference.items()
                 if key.startswith("state/")}
        module.load_state_dict(state)
        module.train(case.get("train", True))
        outputs = module(*args, **keywords)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    results, loss = {}, None
    for i, out in enumerate(outputs):
        if out is None:
            continue
        results[f"out/{i}"] = out.data
        term = (out * minigrad.Tensor(reference.get(f"proj/{i}", np.zeros(out.shape)))).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for name, tensor in tensors.items():
        if tensor.requires_grad:
            grad = tensor.grad
            results[f"grad/in/{name}"] = grad[None] if name in case.get("squeeze", []) else grad
    if module is not None:
        for key, param in module.named_parameters():
            results[f"grad/state/{key}"] = param.grad
        results.update({f"after/{key}": buf.data for key, buf in module.named_buffers()})
    return results


def compare(ours: dict, reference: dict, rtol: float = 1e-10, atol: float = 1e-10) -> None:
    """Every output, gradient and buffer of the reference matches, and nothing is extra."""
    expected = sorted(k for k in reference if k.split("/")[0] in ("out", "grad", "after"))
    assert sorted(ours) == expected
    for key in expected:
        np.testing.assert_allclose(ours[key], reference[key], rtol=rtol, atol=atol, err_msg=key)

"""Attention, with ``torch.nn``'s names: ``scaled_dot_product_attention`` and
``MultiheadAttention`` (Vaswani et al., 2017, "Attention Is All You Need", arXiv:1706.03762).

Each query position takes an average of the value vectors, weighted by how well the
query matches each key:

    Attention(Q, K, V) = softmax(Q Kᵀ / √d + M) V,

d the length of one query (and key) vector and M an additive mask: 0 where a query may
look, −∞ where it may not (exp(−∞) = 0, so a masked key gets weight exactly 0). A float
mask is added as it is (a learnt or hand-made bias); a boolean mask becomes 0 / −∞.

Multi-head attention projects the inputs, splits the E features into h heads of
d = E/h features, attends in every head separately, joins the heads and projects again:

    headᵢ = Attention(Q W_Qᵢᵀ, K W_Kᵢᵀ, V W_Vᵢᵀ),   out = [head₁ … head_h] W_Oᵀ + b_O.

Two conventions for boolean masks coexist in PyTorch, and are kept here:
``MultiheadAttention`` (and the Transformer layers) read True as *blocked*;
``scaled_dot_product_attention`` reads True as *allowed*.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .. import backend
from ..ops import concatenate, pad, reshape, swapaxes, transpose, unsqueeze
from ..ops._util import as_tensor
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import Linear, _empty_parameter
from .module import Module

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward",
           "MultiheadAttention"]


def _additive_mask(mask, name: str, like: Tensor, true_means_blocked: bool = True):
    """A boolean or float mask as a Tensor to add to the scores (−∞ where blocked).

    A float mask keeps its graph (it may be a learnt bias); it is cast to ``like``'s dtype.
    """
    if mask is None:
        return None
    array = mask.data if isinstance(mask, Tensor) else mask
    if not backend.is_array(array):
        array = np.asarray(array)
    if array.dtype == bool:
        array = backend.to_device(array, like.device)
        blocked = array if true_means_blocked else ~array
        xp = backend.get_array_module(array)
        return Tensor(xp.where(blocked, -math.inf, 0.0).astype(like.dtype))
    if array.dtype.kind != "f":
        raise TypeError(f"only bool and floating types of {name} are supported, "
                        f"got dtype {array.dtype}")
    mask = mask if isinstance(mask, Tensor) else Tensor(backend.to_device(array, like.device))
    return mask if mask.dtype == like.dtype else mask.astype(like.dtype)


def _attend(q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor], scale: float,
            dropout_p: float, training: bool) -> tuple:
    """softmax(q kᵀ · scale + bias) v over the last two axes; returns (output, weights)."""
    scores = (q * scale) @ swapaxes(k, -1, -2)
    if bias is not None:
        scores = scores + bias
    weights = F.softmax(scores, dim=-1)
    weights = F.dropout(weights, dropout_p, training)
    return weights @ v, weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None
                                 ) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V, the core of every attention layer.

    Parameters
    ----------
    query, key, value : Tensor
        Shapes (…, L, E), (…, S, E) and (…, S, Ev); the leading axes broadcast.
    attn_mask : Tensor or array, optional
        Broadcastable to (…, L, S). Boolean: **True means "may attend"** (PyTorch's SDPA
        convention, the opposite of ``MultiheadAttention``'s); float: added to the scores.
    dropout_p : float
        Dropout on the attention weights (always applied when > 0, as in PyTorch).
    is_causal : bool
        Let query i see keys 0..i only (a lower-triangular L×S mask); ``attn_mask``
        must then be None.
    scale : float, optional
        1/√E when None.

    Returns
    -------
    Tensor of shape (…, L, Ev).
    """
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    length, source = query.shape[-2], key.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should "
                               "not be set when is_causal=True")
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    bias = _additive_mask(attn_mask, "attn_mask", query, true_means_blocked=False)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    out, _ = _attend(query, key, value, bias, scale, dropout_p, True)
    return out


def _split_heads(x: Tensor, num_heads: int) -> Tensor:
    """(T, N, E) -> (N, heads, T, E/heads)."""
    length, batch, embed = x.shape
    return transpose(reshape(x, (length, batch, num_heads, embed // num_heads)), 1, 2, 0, 3)


def _pad_last(mask: Optional[Tensor]) -> Optional[Tensor]:
    """One more key column, open (0), for an appended bias or zero key."""
    return None if mask is None else pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)], 0.0)


def multi_head_attention_forward(
        query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
        in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
        out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
        need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
        q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
        static_v=None, average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
    """Multi-head attention on sequence-first inputs (``torch.nn.functional``'s function).

    query (L, N, E), key (S, N, E_k), value (S, N, E_v), or unbatched (L, E) etc.
    ``attn_mask`` (L, S) or (N·heads, L, S) and ``key_padding_mask`` (N, S): boolean
    (True = blocked) or float (added). ``is_causal`` is a hint that ``attn_mask`` is the
    causal mask; the mask itself is what is applied, so it must be given.
    Returns ``(output (L, N, E), weights)``; weights are (N, L, S) averaged over heads,
    (N, heads, L, S) with ``average_attn_weights=False``, None without ``need_weights``.
    """
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"query, key and value must all be 2-D (unbatched) or 3-D "
                         f"(batched), got shapes {query.shape}, {key.shape}, {value.shape}")
    if not batched:
        query, key, value = unsqueeze(query, 1), unsqueeze(key, 1), unsqueeze(value, 1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask[None]
    length, batch, embed_dim = query.shape
    source = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"was expecting embedding dimension of {embed_dim_to_check}, "
                         f"but got {embed_dim}")
    if embed_dim % num_heads:
        raise ValueError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if key.shape[:2] != value.shape[:2]:
        raise ValueError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                         f"value's {value.shape[:2]}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                           "Transformer.generate_square_subsequent_mask to create this mask.")

    # 1. Project: q = x W_Qᵀ + b_Q, and the same for keys and values.
    if not use_separate_proj_weight:
        q_proj_weight, k_proj_weight, v_proj_weight = (
            in_proj_weight[i * embed_dim:(i + 1) * embed_dim] for i in range(3))
    biases = (None,) * 3 if in_proj_bias is None else tuple(
        in_proj_bias[i * embed_dim:(i + 1) * embed_dim] for i in range(3))
    q = F.linear(query, q_proj_weight, biases[0])
    k = F.linear(key, k_proj_weight, biases[1])
    v = F.linear(value, v_proj_weight, biases[2])

    # 2. Masks as additive biases broadcastable to (N, heads, L, S).
    mask = _additive_mask(attn_mask, "attn_mask", q)
    if mask is not None:
        expected = {2: (length, source), 3: (batch * num_heads, length, source)}.get(mask.ndim)
        if mask.shape != expected:
            raise RuntimeError(f"attn_mask of shape {mask.shape} should be {(length, source)} "
                               f"or {(batch * num_heads, length, source)}")
        mask = reshape(mask, (1, 1, length, source) if mask.ndim == 2
                       else (batch, num_heads, length, source))
    padding = _additive_mask(key_padding_mask, "key_padding_mask", q)
    if padding is not None:
        if padding.shape != (batch, source):
            raise RuntimeError(f"key_padding_mask of shape {padding.shape} should be "
                               f"{(batch, source)}")
        padding = reshape(padding, (batch, 1, 1, source))

    # 3. Optional learnt key/value appended to every sequence (add_bias_kv).
    if bias_k is not None and bias_v is not None:
        k = concatenate([k, bias_k.expand(1, batch, embed_dim)], axis=0)
        v = concatenate([v, bias_v.expand(1, batch, embed_dim)], axis=0)
        mask, padding = _pad_last(mask), _pad_last(padding)
    elif bias_k is not None or bias_v is not None:
        raise ValueError("bias_k and bias_v must be given together")

    # 4. Split into heads: (N, heads, T, d).
    head_dim = embed_dim // num_heads
    q = _split_heads(q, num_heads)
    k = _split_heads(k, num_heads) if static_k is None else reshape(
        static_k, (batch, num_heads, -1, head_dim))
    v = _split_heads(v, num_heads) if static_v is None else reshape(
        static_v, (batch, num_heads, -1, head_dim))
    if add_zero_attn:  # one more key and value, all zeros
        zeros = Tensor(k.xp.zeros((batch, num_heads, 1, head_dim), dtype=k.dtype))
        k = concatenate([k, zeros], axis=2)
        v = concatenate([v, zeros], axis=2)
        mask, padding = _pad_last(mask), _pad_last(padding)
    bias = mask if padding is None else padding if mask is None else mask + padding

    # 5. Attend in every head, join the heads, project the result.
    out, weights = _attend(q, k, v, bias, 1.0 / math.sqrt(head_dim),
                           dropout_p if training else 0.0, training)
    out = reshape(transpose(out, 2, 0, 1, 3), (length, batch, embed_dim))
    out = F.linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        weights = None
    elif average_attn_weights:
        weights = weights.mean(axis=1)
    if not batched:
        out = out[:, 0]
        weights = None if weights is None else weights[0]
    return out, weights


class MultiheadAttention(Module):
    """Multi-head attention with ``torch.nn.MultiheadAttention``'s parameters and forward.

    Parameters
    ----------
    embed_dim : int
        E, the feature size of queries and of the output; a multiple of ``num_heads``.
    num_heads : int
        Number of heads h; each works on E/h features.
    dropout : float, default 0.0
        Dropout on the attention weights, in training mode.
    bias : bool, default True
        Biases in the input and output projections.
    add_bias_kv : bool, default False
        Append a learnt key ``bias_k`` and value ``bias_v`` (1, 1, E) to every sequence.
    add_zero_attn : bool, default False
        Append a key and a value of zeros (after the projections) to every sequence.
    kdim, vdim : int, optional
        Feature sizes of key and value (E when None). When both equal E, one packed
        ``in_proj_weight`` (3E, E) holds W_Q, W_K, W_V stacked; otherwise the separate
        ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim).
    batch_first : bool, default False
        Inputs and output are (N, L, E) instead of (L, N, E).
    dtype : optional
        The parameters' dtype (the default dtype when None).

    Notes
    -----
    ``in_proj_bias`` is (3E,), ``out_proj`` a ``Linear(E, E)``. Initialisation as
    PyTorch: Xavier-uniform projection weights, zero biases, Xavier-normal bias_k/bias_v.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> attn = nn.MultiheadAttention(8, num_heads=2, batch_first=True)
    >>> x = minigrad.randn(3, 5, 8)
    >>> out, weights = attn(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty_parameter((3 * embed_dim, embed_dim), dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = _empty_parameter((embed_dim, embed_dim), dtype)
            self.k_proj_weight = _empty_parameter((embed_dim, self.kdim), dtype)
            self.v_proj_weight = _empty_parameter((embed_dim, self.vdim), dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty_parameter((3 * embed_dim,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _empty_parameter((1, 1, embed_dim), dtype)
            self.bias_v = _empty_parameter((1, 1, embed_dim), dtype)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections, zero biases, Xavier-normal bias_k and bias_v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights)``.

        Shapes: query (L, N, E), key (S, N, kdim), value (S, N, vdim) — batch first if
        ``batch_first`` — or unbatched (L, E), (S, kdim), (S, vdim).
        ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N·heads, L, S): boolean,
        True = *may not attend*, or float, added to the scores. ``is_causal=True`` only
        asserts that ``attn_mask`` is the causal mask (which must be given).
        The weights are (N, L, S) averaged over heads, (N, heads, L, S) with
        ``average_attn_weights=False``, and None when ``need_weights=False``.
        """
        batched = as_tensor(query).ndim == 3
        if self.batch_first and batched:
            query, key, value = (swapaxes(x, 0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            out = swapaxes(out, 0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")

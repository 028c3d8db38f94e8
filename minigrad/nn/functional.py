"""Stateless functions behind the layers (``import minigrad.nn.functional as F``).

Names and arguments follow ``torch.nn.functional``. Most functions are compositions of
minigrad ops; the ones every training step runs are single ops with their own derivative
(``linear`` is ``Linear``, ``softmax`` and ``log_softmax`` are ``Softmax`` and
``LogSoftmax``, ``cross_entropy`` is ``CrossEntropy``). Either way the backward rules are
written with Tensor ops, so gradients of any order come from the ops' own rules. The losses live
in ``_losses.py`` and the convolution family in ``_conv_ops.py``; both are re-exported
here.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from .. import backend
from .._config import no_grad
from ..amp.autocast import autocast_float32, autocast_lower
from ..ops import (gelu, leaky_relu, relu, reshape, sigmoid, softplus, sqrt,
                   tanh, where)
from ..ops import pad as _pad_numpy_style
from ..ops._util import as_tensor
from ..ops.linalg import Linear
from ..ops.softmax import LogSoftmax, Softmax
from ..random import resolve_generator
from ..sparse import embedding_rows
from ..tensor import Tensor
from ._conv_ops import avg_pool2d, conv2d, max_pool2d
from ._losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                      l1_loss, mse_loss, nll_loss)

__all__ = [
    "linear", "relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softplus", "softmax",
    "log_softmax", "dropout", "embedding", "layer_norm", "batch_norm", "pad", "one_hot",
    "conv2d", "max_pool2d", "avg_pool2d", "cross_entropy", "nll_loss", "mse_loss",
    "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "scaled_dot_product_attention", "multi_head_attention_forward",
]


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = x Wᵀ + b, with ``weight`` of shape (out_features, in_features).

    One op, ``Linear``, for the layer's case: a matrix ``weight``, a bias of shape
    (out_features,) or none, all of one floating dtype. Anything else (a 1-D weight, a
    bias broadcast another way, mixed dtypes, mismatched shapes) is computed as
    ``input @ weight.T + bias``, whose ops promote dtypes and name the shapes in errors.
    """
    input, weight, bias = autocast_lower(as_tensor(input), weight, bias)  # float16 in autocast
    if _is_layer_case(input, weight, bias):
        return Linear()(input, weight) if bias is None else Linear()(input, weight, bias)
    out = input @ weight.T
    return out if bias is None else out + bias


def _is_layer_case(x: Tensor, weight, bias) -> bool:
    """Whether ``Linear`` computes ``linear(x, weight, bias)`` (see ``linear``)."""
    if not isinstance(weight, Tensor) or weight.ndim != 2 or x.ndim == 0:
        return False
    if x.dtype != weight.dtype or x.dtype.kind != "f" or x.shape[-1] != weight.shape[1]:
        return False
    return bias is None or (isinstance(bias, Tensor) and bias.dtype == x.dtype
                            and bias.shape == weight.shape[:1])


# ------------------------------------------------------------------ softmax family
def _softmax_dim(dim, axis) -> int:
    if axis is not None:
        if dim not in (None, -1) and dim != axis:
            raise TypeError("pass either dim or its alias axis, not both")
        return axis
    return -1 if dim is None else dim


def log_softmax(input: Tensor, dim: Optional[int] = -1, *, axis: Optional[int] = None,
                dtype=None) -> Tensor:
    """log softmax(x)ᵢ = xᵢ − log Σⱼ exp(xⱼ) = (xᵢ − m) − log Σⱼ exp(xⱼ − m), m = max x.

    Shifting by the maximum m (a constant: the result does not depend on it) keeps every
    exponent ≤ 0, so logits of ±1e4 give finite values, and it keeps full precision
    near the maximum. ``dim`` (or NumPy's ``axis``) defaults to the last axis.
    """
    x = as_tensor(input)
    x = autocast_float32(x) if dtype is None else x.astype(dtype)  # float32 in autocast
    return LogSoftmax(_softmax_dim(dim, axis))(x)


def softmax(input: Tensor, dim: Optional[int] = -1, *, axis: Optional[int] = None,
            dtype=None) -> Tensor:
    """softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m), m = max x: never overflows."""
    x = as_tensor(input)
    x = autocast_float32(x) if dtype is None else x.astype(dtype)  # float32 in autocast
    return Softmax(_softmax_dim(dim, axis))(x)


# ------------------------------------------------------------------ regularisation
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            *, generator=None) -> Tensor:
    """Inverted dropout: zero each entry with probability p, scale the rest by 1/(1 − p).

    y = x · m / (1 − p) with m ~ Bernoulli(1 − p), so E[y] = x and nothing needs
    rescaling at evaluation time, where (``training=False``) the input is returned as is.

    Parameters
    ----------
    input : Tensor
    p : float
        Probability of zeroing an entry, in [0, 1].
    training : bool
        Apply dropout (True) or return ``input`` unchanged (False).
    inplace : bool
        Accepted for PyTorch compatibility; the input is never modified.
    generator : numpy.random.Generator or int, optional
        Source of the mask; the default generator (``minigrad.manual_seed``) if None.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = resolve_generator(generator).random(x.shape) >= p
    mask = (keep / (1.0 - p)).astype(x.dtype)
    return x * Tensor(backend.to_device(mask, x.device))


# ------------------------------------------------------------------ lookup tables
def _check_indices(indices, num_embeddings: int):
    """The raw integer index array, after checking dtype and range."""
    array = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if array.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers (int64), got dtype {array.dtype}")
    if array.size and (int(array.min()) < 0 or int(array.max()) >= num_embeddings):
        bad = int(array.min()) if int(array.min()) < 0 else int(array.max())
        raise IndexError(f"embedding: index {bad} is out of range for an embedding table "
                         f"with {num_embeddings} rows (valid: 0..{num_embeddings - 1})")
    return array


def embedding(input, weight: Tensor, padding_idx: Optional[int] = None, *,
              sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by integer ``input``: out[..., :] = weight[input[...], :].

    The gradient is scattered back (adding for repeated indices). Rows picked at
    ``padding_idx`` pass their value but no gradient. With ``sparse=True`` the gradient
    of ``weight`` is a :class:`minigrad.sparse.RowSparseGrad`: the same dense values,
    plus the indices of the rows looked up (for ``optim.SparseAdam``).
    """
    indices = _check_indices(input, weight.shape[0])
    if padding_idx is not None:
        padding_idx = padding_idx % weight.shape[0]
    if sparse:
        return embedding_rows(weight, indices, padding_idx)
    out = weight[indices]
    if padding_idx is not None:
        trainable = (indices != padding_idx)[..., None]
        out = where(trainable, out, out.detach())
    return out


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor with a trailing axis of size ``num_classes``: 1 at each index."""
    indices = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: needs integer class indices, got dtype {indices.dtype}")
    if num_classes < 0:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes})")
    xp = backend.get_array_module(indices)
    return Tensor((indices[..., None] == xp.arange(num_classes)).astype(np.int64))


# ------------------------------------------------------------------ normalisation
def _normalize(x: Tensor, axes: tuple, eps: float) -> tuple:
    """(x − mean) / √(var + eps) over ``axes`` (biased variance); also returns mean, var."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / sqrt(var + eps), mean, var


def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes of each sample, then scale and shift.

    y = (x − E[x]) / √(Var[x] + ε) · γ + β, with the biased variance.
    """
    x, weight, bias = autocast_float32(as_tensor(input), weight, bias)  # float32 in autocast
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: expected input with trailing shape {shape}, "
                         f"got input of shape {x.shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out, _, _ = _normalize(x, axes, eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) over the batch and any spatial axes.

    Training: the batch mean and biased variance normalise, and the running estimates
    move towards them, running ← (1 − momentum)·running + momentum·batch, using the
    *unbiased* variance n/(n − 1)·Var for ``running_var`` (PyTorch's rule). Evaluation
    (``training=False``): the running estimates normalise.
    """
    x, weight, bias = autocast_float32(as_tensor(input), weight, bias)  # float32 in autocast
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        n = x.size // c
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, "
                             f"got input size {x.shape}")
        out, mean, var = _normalize(x, axes, eps)
        if running_mean is not None and running_var is not None:
            with no_grad():
                running_mean.copy_((1 - momentum) * running_mean.data
                                   + momentum * mean.data.reshape(c))
                running_var.copy_((1 - momentum) * running_var.data
                                  + momentum * var.data.reshape(c) * (n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False")
        out = (x - reshape(running_mean, shape)) / sqrt(reshape(running_var, shape) + eps)
    if weight is not None:
        out = out * reshape(weight, shape)
    return out if bias is None else out + reshape(bias, shape)


# ------------------------------------------------------------------ padding
def pad(input: Tensor, pad, mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """Constant padding with PyTorch's convention: ``pad`` lists (before, after) pairs
    starting from the **last** axis, e.g. ``(1, 1, 2, 2)`` pads the last axis by 1 and
    the one before by 2.

    An int or a nested per-axis list uses NumPy's convention instead (``minigrad.pad``).
    """
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    x = as_tensor(input)
    value = 0.0 if value is None else value
    if isinstance(pad, int) or any(isinstance(p, (tuple, list)) for p in pad):
        return _pad_numpy_style(x, pad, value)
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: needs an even number of values, at most 2 per axis; got {pad}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return _pad_numpy_style(x, widths, value)


# Attention is built from the functions above, so its module imports this one: imported
# last, it is still reachable as F.scaled_dot_product_attention.
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402

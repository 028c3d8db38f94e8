"""Loss functions (re-exported by ``minigrad.nn.functional``), with PyTorch's semantics.

Every loss computes one value per element and then applies ``reduction``: ``'mean'``
(the default), ``'sum'`` or ``'none'`` (the per-element losses).
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from ..amp.autocast import autocast_float32
from ..autograd import Function
from ..backend import get_array_module
from ..ops import clip, log, reshape, softplus, where
from ..ops._util import as_tensor
from ..ops.softmax import Softmax, log_softmax_array
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: "
                         f"use 'mean', 'sum' or 'none'")


def _check_label_smoothing(label_smoothing: float) -> None:
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _constant_like(value, x: Tensor) -> Tensor:
    """A weight as a Tensor of ``x``'s floating dtype (no silent float64 promotion)."""
    value = as_tensor(value, like=x)
    return value.astype(x.dtype) if value.dtype != x.dtype else value


def _same_shape_target(input, target, name: str, strict: bool) -> tuple:
    """Input and target as Tensors; a shape mismatch warns (or raises when ``strict``)."""
    input = autocast_float32(as_tensor(input))  # float32 in autocast (and so the target)
    target = as_tensor(target, like=input)
    if target.dtype != input.dtype and input.dtype.kind == "f":
        target = target.astype(input.dtype)  # no silent float64 promotion
    if target.shape != input.shape:
        message = (f"{name}: target size {target.shape} is different from input size "
                   f"{input.shape}")
        if strict:
            raise ValueError(message)
        warnings.warn(message + "; they are broadcast, which is rarely what you want",
                      UserWarning, stacklevel=3)
    return input, target


# ------------------------------------------------------------------ regression
def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Squared error (x − y)², reduced."""
    input, target = _same_shape_target(input, target, "mse_loss", strict=False)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Absolute error ``|x − y|``, reduced."""
    input, target = _same_shape_target(input, target, "l1_loss", strict=False)
    return _reduce((input - target).abs(), reduction)


# ------------------------------------------------------------------ classification
def _class_targets(input: Tensor, target, ignore_index: int, name: str):
    """Check integer class targets against ``input`` (N, C, d1, …) or (C,); return the array."""
    array = target.data if isinstance(target, Tensor) else np.asarray(target)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices (dtype int64), "
                        f"got dtype {array.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a 0-d tensor")
    expected = () if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if array.shape != expected:
        raise ValueError(f"{name}: expected target of shape {expected} for input of shape "
                         f"{input.shape}, got {array.shape}")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    counted = array[array != ignore_index]
    outside = counted[(counted < 0) | (counted >= classes)]
    if outside.size:
        raise ValueError(f"{name}: target {int(outside.reshape(-1)[0])} is out of bounds for "
                         f"{classes} classes (expected 0 <= target < {classes}, or "
                         f"ignore_index={ignore_index})")
    return array


def _rows(logp: Tensor) -> Tensor:
    """(N, C, d1, …) or (C,) log-probabilities as (M, C): one row per target."""
    if logp.ndim == 1:
        return logp.reshape(1, -1)
    if logp.ndim == 2:
        return logp  # already one row per target
    classes_last = (0,) + tuple(range(2, logp.ndim)) + (1,)
    return logp.permute(classes_last).reshape(-1, logp.shape[1])


def _weighted_class_loss(logp: Tensor, target, weight, ignore_index: int, reduction: str,
                         label_smoothing: float, name: str) -> Tensor:
    """The shared core of ``nll_loss`` and ``cross_entropy`` on log-probabilities.

    With wᵢ = weight[tᵢ] (0 where tᵢ = ignore_index) and C classes, the loss of target i is

        ℓᵢ = −(1 − ε)·wᵢ·log pᵢ,tᵢ − (ε / C)·Σ_c weight[c]·log pᵢ,c   (0 if ignored)

    'sum' adds the ℓᵢ, and 'mean' divides that sum by Σᵢ wᵢ (PyTorch's weighted mean).
    """
    _check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    array = _class_targets(logp, target, ignore_index, name)
    rows = _rows(logp)
    classes = rows.shape[1]
    xp = get_array_module(rows.data)
    flat = xp.asarray(array).reshape(-1)
    counted = flat != ignore_index
    safe = xp.where(counted, flat, 0)  # any valid row index; its loss is masked out
    mask = Tensor(counted.astype(rows.dtype))
    if weight is None:
        w = mask
    else:
        weight = _constant_like(weight, rows)
        if weight.shape != (classes,):
            raise ValueError(f"{name}: weight must have shape ({classes},), got {weight.shape}")
        w = weight[safe] * mask
    loss = -(w * rows[xp.arange(rows.shape[0]), safe])
    if label_smoothing > 0.0:
        spread = rows if weight is None else rows * weight
        loss = (1.0 - label_smoothing) * loss - (label_smoothing / classes) * spread.sum(axis=1) * mask
    if reduction == "none":
        return loss.reshape(array.shape)
    total = loss.sum()
    return total / w.sum() if reduction == "mean" else total


def nll_loss(input: Tensor, target, weight: Optional[Tensor] = None, *,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer targets, given log-probabilities ``input``.

    ``input`` is (N, C), (N, C, d1, …) or (C,); ``target`` holds class indices of shape
    (N,), (N, d1, …) or (). ℓᵢ = −weight[tᵢ]·input[i, tᵢ]; 'mean' divides by Σ weight[tᵢ].
    """
    input = autocast_float32(as_tensor(input))  # float32 in autocast
    return _weighted_class_loss(input, target, weight, ignore_index, reduction, 0.0,
                                "nll_loss")


class CrossEntropy(Function):
    """Cross-entropy of logits x (M, C), one row per target, reduced:

        ℓᵢ = −Σ_c qᵢ_c · log softmax(xᵢ)_c          gxᵢ = (softmax(xᵢ) · Σ_c qᵢ_c − qᵢ) · gyᵢ

    where qᵢ is row i's (weighted) target distribution, for target class tᵢ, C classes,
    class weights ``weight`` (ones without) and label smoothing ε:

        qᵢ_c = (1 − ε)·wᵢ·[c = tᵢ] + (ε/C)·weight_c·maskᵢ,   wᵢ = weight[tᵢ]·maskᵢ,

    and maskᵢ = 0 for an ignored target (its row gets no loss and no gradient). Without
    weights and smoothing qᵢ = onehot(tᵢ): the gradient is softmax(xᵢ) − onehot(tᵢ).
    'sum' adds the ℓᵢ, 'mean' divides that sum by Σᵢ wᵢ, 'none' keeps them.
    """

    def __init__(self, targets, mask, weight, label_smoothing: float, reduction: str):
        self.targets, self.mask, self.weight = targets, mask, weight  # arrays; weight or None
        self.label_smoothing, self.reduction = label_smoothing, reduction

    def forward(self, x):
        xp = get_array_module(x)
        logp = log_softmax_array(x, axis=1)
        w = self.mask if self.weight is None else self.weight[self.targets] * self.mask
        loss = -(w * logp[xp.arange(x.shape[0]), self.targets])
        if self.label_smoothing > 0.0:
            eps, classes = self.label_smoothing, x.shape[1]
            spread = logp if self.weight is None else logp * self.weight
            loss = (1.0 - eps) * loss - (eps / classes) * spread.sum(axis=1) * self.mask
        self.w = w  # kept for backward's qᵢ
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        self.denominator = w.sum()  # Σᵢ wᵢ
        return loss.sum() / self.denominator

    def _distributions(self, x):
        """The rows qᵢ, an array of x's shape (M, C); divided by Σᵢ wᵢ for 'mean'."""
        xp = get_array_module(x)
        rows, classes = x.shape
        eps = self.label_smoothing
        q = xp.zeros((rows, classes), x.dtype)
        q[xp.arange(rows), self.targets] = (1.0 - eps) * self.w
        if eps > 0.0:
            weight = 1.0 if self.weight is None else self.weight
            q += (eps / classes) * weight * self.mask[:, None]
        if self.reduction == "mean":
            q /= self.denominator
        return q

    def backward(self, gy):
        (x,) = self.inputs
        q = self._distributions(x.data)
        if self.reduction == "none":
            gy = reshape(gy, (-1, 1))  # one factor per row
        p = Softmax(axis=1)(x)  # an op of x, so that create_graph=True differentiates it again
        return (p * Tensor._make(q.sum(axis=1, keepdims=True)) - Tensor._make(q)) * gy


def cross_entropy(input: Tensor, target, weight: Optional[Tensor] = None, *,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` and integer class ``target``.

    Equals ``nll_loss(log_softmax(input, dim=1), target)``, plus label smoothing: the
    target distribution becomes q = (1 − ε)·one_hot + ε/C, so each loss is
    ℓᵢ = −Σ_c weight[c]·q_c·log p_c (see ``_weighted_class_loss``). Computed as one op,
    ``CrossEntropy``, whose gradient is softmax(x) − one_hot(target) (over N for 'mean')
    without weights or smoothing; its log-softmax shifts by the maximum, so logits of
    ±1e4 give finite losses and gradients.

    Parameters
    ----------
    input : Tensor
        Logits of shape (N, C), (N, C, d1, …) or (C,).
    target : Tensor, ndarray or list of int
        Class indices of shape (N,), (N, d1, …) or (); each in [0, C) or ``ignore_index``.
    weight : Tensor, optional
        One weight per class, shape (C,).
    ignore_index : int
        Targets equal to it contribute nothing (not even to the mean's denominator).
    reduction : {'mean', 'sum', 'none'}
        'mean' divides the sum by Σᵢ weight[tᵢ] (by the number of counted targets
        without weights), as PyTorch does.
    label_smoothing : float
        ε in [0, 1].

    Raises
    ------
    TypeError
        If ``target`` does not hold integers.
    ValueError
        For a class index out of range, a target of the wrong shape, or a bad
        ``reduction`` or ``label_smoothing``.
    """
    input = autocast_float32(as_tensor(input))  # float32 in autocast
    if input.dtype.kind != "f" or (isinstance(weight, Tensor) and weight.requires_grad):
        # rare cases, composed of ops: integer logits, a class weight that is learned
        from .functional import log_softmax  # functional imports this module

        logp = log_softmax(input, dim=0 if input.ndim == 1 else 1) if input.ndim else input
        return _weighted_class_loss(logp, target, weight, ignore_index, reduction,
                                    label_smoothing, "cross_entropy")
    _check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    array = _class_targets(input, target, ignore_index, "cross_entropy")
    rows = _rows(input)
    xp = get_array_module(rows.data)
    flat = xp.asarray(array).reshape(-1)
    counted = flat != ignore_index
    targets = xp.where(counted, flat, 0)  # any valid class; the mask removes its loss
    if weight is not None:
        weight = _constant_like(weight, rows)
        if weight.shape != (rows.shape[1],):
            raise ValueError(f"cross_entropy: weight must have shape ({rows.shape[1]},), "
                             f"got {weight.shape}")
        weight = weight.data
    loss = CrossEntropy(targets, counted.astype(rows.dtype), weight, label_smoothing,
                        reduction)(rows)
    return loss.reshape(array.shape) if reduction == "none" else loss


# ------------------------------------------------------------------ binary
def binary_cross_entropy_with_logits(input: Tensor, target, weight: Optional[Tensor] = None,
                                     reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """BCE on logits x: ℓ = w·[p_w·y·log(1 + e⁻ˣ) + (1 − y)·log(1 + eˣ)].

    Written as (1 − y)·x + (1 + (p_w − 1)·y)·softplus(−x), where softplus never
    overflows, so logits of ±1e4 are fine.

    Parameters
    ----------
    input : Tensor
        Logits x, any shape.
    target : Tensor or array
        Targets y in [0, 1], same shape as ``input``.
    weight : Tensor, optional
        w, broadcast against the loss.
    reduction : {'mean', 'sum', 'none'}
    pos_weight : Tensor, optional
        p_w, the weight of the positive term, one value per class (broadcast over the
        last axis): p_w > 1 raises recall, p_w < 1 precision.
    """
    _check_reduction(reduction)
    x, y = _same_shape_target(input, target, "binary_cross_entropy_with_logits", strict=True)
    log_weight = 1.0 if pos_weight is None else 1.0 + (_constant_like(pos_weight, x) - 1.0) * y
    loss = (1.0 - y) * x + log_weight * softplus(-x)
    if weight is not None:
        loss = loss * _constant_like(weight, x)
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Tensor, target, weight: Optional[Tensor] = None,
                         reduction: str = "mean") -> Tensor:
    """BCE on probabilities p: ℓ = −w·[y·log p + (1 − y)·log(1 − p)].

    As in PyTorch each log is clamped at −100, so p = 0 or 1 gives a finite loss. Prefer
    ``binary_cross_entropy_with_logits``, which is stable without clamping.
    """
    _check_reduction(reduction)
    p, y = _same_shape_target(input, target, "binary_cross_entropy", strict=True)
    if p.size and (float(p.data.min()) < 0.0 or float(p.data.max()) > 1.0):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = -(y * _clamped_log(p) + (1.0 - y) * _clamped_log(1.0 - p))
    if weight is not None:
        loss = loss * _constant_like(weight, p)
    return _reduce(loss, reduction)


def _clamped_log(p: Tensor) -> Tensor:
    """max(log p, −100), with a zero gradient (not NaN) where p = 0."""
    positive = p.data > 0
    return where(positive, clip(log(where(positive, p, 1.0)), min=-100.0), -100.0)

"""Normalisation layers: ``LayerNorm`` (per sample) and ``BatchNorm1d/2d`` (per channel).

Both compute x̂ = (x − μ) / √(σ² + ε) and then y = γ·x̂ + β with a learnt scale γ
(``weight``, ones at first) and shift β (``bias``, zeros at first). They differ in what
μ and σ² average over: LayerNorm over the features of one sample, BatchNorm over the
samples of a batch for each channel.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from .._config import get_default_dtype
from ..tensor import Parameter, Tensor
from . import functional as F
from .module import Module


def _filled(shape: tuple, value: float, dtype) -> np.ndarray:
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    return np.full(shape, value, dtype=dtype)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes of each sample.

    μ and σ² (biased) are taken over those axes only, so the output does not depend on
    the other samples of the batch, and training and evaluation behave the same.
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_filled(self.normalized_shape, 1.0, dtype))
            if bias:
                self.bias = Parameter(_filled(self.normalized_shape, 0.0, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _BatchNorm(Module):
    """Shared code of BatchNorm1d and BatchNorm2d (they differ only in the input ranks).

    In training mode each channel is normalised with the batch mean and (biased)
    variance, and the running estimates are updated with the *unbiased* variance:

        running ← (1 − momentum)·running + momentum·batch statistic

    (``momentum=None``: a cumulative average, momentum = 1/num_batches_tracked). In
    evaluation mode the running estimates are used. ``running_mean``, ``running_var``
    and ``num_batches_tracked`` are buffers, so they are saved in ``state_dict``.
    """

    _input_ranks: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(_filled((num_features,), 1.0, dtype))
            self.bias = Parameter(_filled((num_features,), 0.0, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(_filled((num_features,), 0.0, dtype)))
            self.register_buffer("running_var", Tensor(_filled((num_features,), 1.0, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in self._input_ranks:
            ranks = " or ".join(f"{r}D" for r in self._input_ranks)
            raise ValueError(f"expected {ranks} input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) got an input with "
                             f"{input.shape[1]} channels (shape {input.shape})")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data = self.num_batches_tracked.data + 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        # Without running statistics the batch statistics are used in eval mode too.
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight,
                            self.bias, use_batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs (Ioffe & Szegedy, 2015)."""

    _input_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, one mean and variance per channel."""

    _input_ranks = (4,)

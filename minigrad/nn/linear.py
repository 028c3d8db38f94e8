"""``Linear`` (the affine layer), ``Identity`` and ``Flatten``."""
from __future__ import annotations

import math

import numpy as np

from .._config import get_default_dtype
from ..tensor import Parameter, Tensor
from . import functional as F
from . import init
from .module import Module


def _empty_parameter(shape: tuple, dtype) -> Parameter:
    """A Parameter of ``shape`` (zeros until ``reset_parameters`` fills it)."""
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"parameters must have a floating dtype, got {dtype}")
    return Parameter(np.zeros(shape, dtype=dtype))


class Linear(Module):
    """y = x Wᵀ + b, for inputs of shape (…, in_features).

    ``weight`` has shape (out_features, in_features) and ``bias`` (out_features,), both
    initialised from U(−1/√in_features, 1/√in_features) — PyTorch's default, which is
    ``kaiming_uniform_(weight, a=√5)``.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> layer = nn.Linear(3, 2)
    >>> layer.weight.shape, layer(minigrad.randn(5, 3)).shape
    ((2, 3), (5, 2))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty_parameter((out_features, in_features), dtype)
        if bias:
            self.bias = _empty_parameter((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw new weights: U(−1/√fan_in, 1/√fan_in) for weight and bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Merge the axes ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C·H·W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

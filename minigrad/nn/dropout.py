"""``Dropout``: randomly zero activations while training (Srivastava et al., 2014)."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each entry with probability ``p`` in training mode; identity in eval mode.

    Kept entries are scaled by 1/(1 − p) ("inverted dropout"), so the expected output
    equals the input and evaluation needs no rescaling. Masks come from the default
    generator: ``minigrad.manual_seed`` makes them reproducible.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> drop = nn.Dropout(p=0.5).eval()
    >>> drop(minigrad.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

"""``Embedding``: a trainable lookup table from integer ids to vectors."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .._config import no_grad
from ..tensor import Parameter, Tensor
from . import functional as F
from . import init
from .linear import _empty_parameter
from .module import Module


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) is the vector of id ``i``.

    Input: integer ids of any shape (…); output: (…, embedding_dim). Rows start as
    N(0, 1) samples. The row at ``padding_idx`` starts at zero and never receives a
    gradient, so it stays whatever it is (a "no token" vector).

    With ``sparse=True`` the gradient of ``weight`` is a
    :class:`minigrad.sparse.RowSparseGrad`: still a dense array of the weight's shape,
    that also lists the rows the batch looked up (``weight.grad.rows``, without
    ``padding_idx``). ``optim.SparseAdam`` needs it to move only those rows; other
    optimizers read it as an ordinary dense gradient.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> emb = nn.Embedding(10, 3, padding_idx=0)
    >>> emb(minigrad.tensor([[0, 2], [4, 9]])).shape
    (2, 2, 3)
    >>> emb = nn.Embedding(10, 3, padding_idx=0, sparse=True)
    >>> emb(minigrad.tensor([[0, 2], [4, 2]])).sum().backward()
    >>> emb.weight.grad.rows.tolist()
    [2, 4]
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: Optional[int] = None, _weight=None, dtype=None, *,
                 sparse: bool = False) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.sparse = bool(sparse)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx {padding_idx} must be within "
                                 f"[-{num_embeddings}, {num_embeddings})")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = _empty_parameter((num_embeddings, embedding_dim), dtype)
            self.reset_parameters()
        else:
            weight = _weight.data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"_weight has shape {weight.shape}, expected "
                                 f"{(num_embeddings, embedding_dim)}")
            self.weight = Parameter(weight.copy())

    def reset_parameters(self) -> None:
        """N(0, 1) entries, then zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True,
                        padding_idx: Optional[int] = None, *,
                        sparse: bool = False) -> "Embedding":
        """An Embedding holding a copy of ``embeddings`` (2-D); frozen by default."""
        weight = embeddings.data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if weight.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        layer = cls(weight.shape[0], weight.shape[1], padding_idx=padding_idx, _weight=weight,
                    sparse=sparse)
        layer.weight.requires_grad_(not freeze)
        return layer

    def forward(self, input) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, sparse=self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text + (", sparse=True" if self.sparse else "")

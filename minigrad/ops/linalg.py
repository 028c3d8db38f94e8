"""Matrix product ``a @ b`` for 1-D, 2-D and batched operands (NumPy's ``matmul`` rules),
and the affine map of a linear layer, y = x Wᵀ + b, as one op.

For C = A B:  dL/dA = dL/dC · Bᵀ  and  dL/dB = Aᵀ · dL/dC, with batch axes that were
broadcast summed back. A 1-D operand is treated as a row (left) or a column (right)
vector, as ``matmul`` does, and the gradient is reshaped back.
"""
from __future__ import annotations

from ..amp.autocast import autocast_lower
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import binary_operands
from .shape import reshape, sum_to, swapaxes


class MatMul(Function):
    """y = a @ b;  ga = gy @ bᵀ,  gb = aᵀ @ gy (last two axes transposed)."""

    def forward(self, a, b):
        return get_array_module(a).matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a  # row vector
        b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b  # column vector
        gy2 = reshape(gy, matmul_shape(a2.shape, b2.shape))
        ga = gb = None  # an input that needs no gradient costs no product
        if a.requires_grad:
            ga = reshape(sum_to(gy2 @ swapaxes(b2, -1, -2), a2.shape), a.shape)
        if b.requires_grad:
            if _is_transposed(b2):  # b = Wᵀ, as in a Linear layer: see below
                gb = swapaxes(swapaxes(gy2, -1, -2) @ a2, -1, -2)  # (gyᵀ a)ᵀ = aᵀ gy
            else:
                gb = swapaxes(a2, -1, -2) @ gy2
            gb = reshape(sum_to(gb, b2.shape), b.shape)
        return ga, gb


class Linear(Function):
    """y = x Wᵀ + b, for x of shape (…, in), W (out, in), b (out,) or no bias;
    gx = gy W,  gW = gyᵀ x,  gb = Σ gy (over the batch axes).

    The same function as ``x @ W.T + b`` in one node instead of three (transpose,
    matmul, add). With several batch axes, gyᵀ x sums over all of them: both are first
    seen as matrices with one row per sample.
    """

    def forward(self, x, weight, bias=None):
        y = get_array_module(x).matmul(x, weight.T)
        if bias is not None:
            y += bias  # y is new memory: add the bias in place
        return y

    def backward(self, gy):
        x, weight = self.inputs[:2]
        gx = gw = gb = None  # an input that needs no gradient costs no product
        if x.requires_grad:
            gx = gy @ weight
        if weight.requires_grad:
            gw = _rows(gy).T @ _rows(x)
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            gb = sum_to(gy, self.inputs[2].shape)
        return gx, gw, gb


def _rows(t: Tensor) -> Tensor:
    """``t`` of shape (…, k) as a matrix (samples, k): one row per sample."""
    return t if t.ndim == 2 else reshape(t, (-1, t.shape[-1]))


def _is_transposed(b: Tensor) -> bool:
    """Whether matrix ``b`` is a transposed view of a row-major array (``weight.T``).

    Its gradient is then computed as (gyᵀ a)ᵀ instead of aᵀ gy: the same matrix, stored
    transposed like b itself. Transposing it back to the weight's shape gives a
    row-major array, which becomes ``weight.grad`` as it is; aᵀ gy would need a
    transposing copy there.
    """
    flags = b.data.flags
    return b.ndim == 2 and flags.f_contiguous and not flags.c_contiguous


def matmul_shape(a_shape: tuple, b_shape: tuple) -> tuple:
    """Result shape of matmul for operands with at least two dimensions."""
    import numpy as np

    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    return tuple(batch) + (a_shape[-2], b_shape[-1])


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's rules; a shape mismatch names both shapes."""
    a, b = binary_operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}"
        )
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
            f"{inner_a} (last dim of the first) != {inner_b} "
            f"({'first' if b.ndim == 1 else 'second-to-last'} dim of the second)"
        )
    if a.ndim > 2 or b.ndim > 2:
        try:
            import numpy as np

            np.broadcast_shapes(a.shape[:-2] if a.ndim > 1 else (), b.shape[:-2] if b.ndim > 1 else ())
        except ValueError:
            raise ValueError(
                f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not broadcast"
            ) from None
    a, b = autocast_lower(a, b)  # float16 inside an autocast region
    return MatMul()(a, b)

"""SOAP's preconditioner: Shampoo's statistics, their eigenbases, and the rotations.

For a matrix gradient G (m×n), Shampoo keeps two averages of outer products,
L = E[G·Gᵀ] (m×m) and R = E[Gᵀ·G] (n×n). Their eigenvectors Q_L and Q_R are the basis
in which SOAP runs Adam: a gradient is rotated there as Q_Lᵀ·G·Q_R and an update is
rotated back as Q_L·U·Q_Rᵀ. A tensor with more axes has one such matrix per axis (the
outer product over all the other axes); an axis longer than ``max_precond_dim`` gets
none, which means it is left as it is (the identity rotation).

The functions below work on a gradient already in the *preconditioned layout*
(:func:`to_layout`): the parameter's shape, or, with ``merge_dims``, a shape whose small
axes are merged. Lists ``GG`` and ``Q`` hold one matrix per axis of that layout, or
None for an axis that is not preconditioned.

Vyas et al. (2024), "SOAP: Improving and Stabilizing Shampoo using Adam",
arXiv:2409.11321; the authors' code: github.com/nikhilvyas/SOAP (soap.py).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from minigrad.backend import get_array_module


# ----------------------------------------------------------------- layout
def merged_shape(shape: tuple, max_precond_dim: int) -> tuple:
    """Merge neighbouring axes while their product stays ≤ ``max_precond_dim``.

    Going from the first axis to the last, each axis joins the current block if the
    block's size times the axis stays within the limit; otherwise the block is closed
    (the authors' rule). A conv kernel (64, 32, 3, 3) with the default limit 10000
    becomes (6144, 3): one preconditioner of 6144² and one of 3² instead of four small ones.

    >>> merged_shape((64, 32, 3, 3), 10000)
    (6144, 3)
    >>> merged_shape((2, 2, 3), 4)
    (4, 3)
    >>> merged_shape((20000, 3), 10000)      # an axis above the limit stays alone
    (20000, 3)
    """
    merged, block = [], 1
    for size in shape:
        if block * size > max_precond_dim:
            if block > 1:
                merged.append(block)
                block = size
            else:
                merged.append(size)
                block = 1
        else:
            block *= size
    if block > 1 or not merged:
        merged.append(block)
    return tuple(merged)


def to_layout(x, *, merge_dims: bool, max_precond_dim: int, data_format: str):
    """``x`` (a parameter-shaped array) in the preconditioned layout.

    Without ``merge_dims`` that is ``x`` itself. With it, a 4-D ``channels_last``
    (N, H, W, C) array is first put in (N, C, H, W) order, then the axes are merged
    (:func:`merged_shape`). 1-D arrays are never changed.
    """
    if not merge_dims or x.ndim == 1:
        return x
    if data_format == "channels_last" and x.ndim == 4:
        x = x.transpose(0, 3, 1, 2)
    return x.reshape(merged_shape(x.shape, max_precond_dim))


def from_layout(y, shape: tuple, *, merge_dims: bool, data_format: str):
    """The inverse of :func:`to_layout`: ``y`` back in the parameter's ``shape``."""
    if not merge_dims or len(shape) == 1:
        return y
    if data_format == "channels_last" and len(shape) == 4:
        n, h, w, c = shape
        return y.reshape(n, c, h, w).transpose(0, 2, 3, 1)
    return y.reshape(shape)


def preconditioner_sizes(shape: tuple, *, max_precond_dim: int, merge_dims: bool,
                         precondition_1d: bool, data_format: str) -> List[Optional[int]]:
    """The side of each axis's preconditioner matrix, or None where there is none.

    A 1-D parameter (a bias, a gain) gets one only with ``precondition_1d``; otherwise
    SOAP is plain Adam for it. Any axis longer than ``max_precond_dim`` gets none.

    >>> preconditioner_sizes((3, 5), max_precond_dim=4, merge_dims=False,
    ...                      precondition_1d=False, data_format="channels_first")
    [3, None]
    >>> preconditioner_sizes((7,), max_precond_dim=10000, merge_dims=False,
    ...                      precondition_1d=False, data_format="channels_first")
    [None]
    """
    if len(shape) == 1:
        return [shape[0] if precondition_1d and shape[0] <= max_precond_dim else None]
    if merge_dims:
        if data_format == "channels_last" and len(shape) == 4:
            shape = (shape[0], shape[3], shape[1], shape[2])
        shape = merged_shape(shape, max_precond_dim)
    return [size if size <= max_precond_dim else None for size in shape]


# ----------------------------------------------------------------- statistics and bases
def accumulate_preconditioners(GG: list, grad, shampoo_beta: float) -> None:
    """Average the outer products of ``grad`` into each axis's matrix, in place.

    For axis i, with G₍ᵢ₎ the gradient unfolded to (size of axis i) × (all the rest)::

        GG[i] ← β·GG[i] + (1 − β)·G₍ᵢ₎·G₍ᵢ₎ᵀ       (β = shampoo_beta)

    For a matrix that is L ← β·L + (1 − β)·G·Gᵀ and R ← β·R + (1 − β)·Gᵀ·G.
    """
    xp = get_array_module(grad)
    for axis, matrix in enumerate(GG):
        if matrix is None:
            continue
        others = [k for k in range(grad.ndim) if k != axis]
        outer = xp.tensordot(grad, grad, axes=(others, others))
        matrix *= shampoo_beta
        matrix += (1 - shampoo_beta) * outer


def eigenbases(GG: list) -> list:
    """The eigenvectors of each matrix of ``GG`` (columns, largest eigenvalue first).

    Used once, after the first gradient; later bases come from
    :func:`refresh_eigenbases`. Computed in the matrices' dtype (float32 stays float32,
    as in the authors' code), in float64 only if that fails.
    """
    bases = []
    for matrix in GG:
        if matrix is None:
            bases.append(None)
            continue
        xp = get_array_module(matrix)
        try:
            _, vectors = xp.linalg.eigh(matrix)
        except np.linalg.LinAlgError:
            _, vectors = xp.linalg.eigh(matrix.astype(np.float64))
            vectors = vectors.astype(matrix.dtype)
        bases.append(xp.ascontiguousarray(vectors[:, ::-1]))
    return bases


def refresh_eigenbases(GG: list, Q: list, exp_avg_sq):
    """One step of power iteration per axis: the new bases, in place in ``Q``.

    For each axis with matrix P = GG[i] and current basis Q = Q[i]::

        λ ← diag(Qᵀ·P·Q)                  eigenvalue estimates
        order ← indices sorting λ from largest to smallest
        Q ← orthonormal factor of the QR decomposition of P·Q[:, order]

    One multiplication by P moves each column towards P's eigenvectors; the QR
    decomposition keeps them orthonormal. This is much cheaper than a new eigh, and
    since P changes slowly, one step every ``precondition_frequency`` steps is enough.
    The second moments ``exp_avg_sq`` (in the preconditioned layout) are reordered with
    the columns along that axis, so each stays with its direction.

    Returns the reordered ``exp_avg_sq`` (a new array).
    """
    xp = get_array_module(exp_avg_sq)
    for axis, (matrix, basis) in enumerate(zip(GG, Q)):
        if matrix is None:
            continue
        power = matrix @ basis
        estimates = (basis * power).sum(axis=0)
        order = xp.argsort(-estimates)
        exp_avg_sq = xp.take(exp_avg_sq, order, axis=axis)
        Q[axis], _ = xp.linalg.qr(power[:, order])
    return exp_avg_sq


# ----------------------------------------------------------------- rotations
def project(x, Q: list):
    """``x`` in the eigenbasis: each axis i multiplied by Q[i]ᵀ (Q_Lᵀ·X·Q_R for a matrix)."""
    xp = get_array_module(x)
    for axis, basis in enumerate(Q):
        if basis is not None:
            x = xp.moveaxis(xp.tensordot(x, basis, axes=([axis], [0])), -1, axis)
    return x


def project_back(x, Q: list):
    """The inverse of :func:`project`: each axis multiplied by Q[i] (Q_L·X·Q_Rᵀ)."""
    xp = get_array_module(x)
    for axis, basis in enumerate(Q):
        if basis is not None:
            x = xp.moveaxis(xp.tensordot(x, basis, axes=([axis], [1])), -1, axis)
    return x

"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner.

Follows the authors' reference code (github.com/nikhilvyas/SOAP, soap.py): same
arguments, defaults and update. The preconditioner's pieces (statistics, eigenbases,
rotations, merged axes) are in :mod:`optim.soap_preconditioner`.

Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson, Kakade (2024), "SOAP:
Improving and Stabilizing Shampoo using Adam", arXiv:2409.11321.
"""
from __future__ import annotations

from typing import Optional

import math

from minigrad.backend import get_array_module

from .checks import Betas, OneOf, PositiveInt, Range
from .optimizer import Optimizer
from .soap_preconditioner import (accumulate_preconditioners, eigenbases, from_layout,
                                  preconditioner_sizes, project, project_back,
                                  refresh_eigenbases, to_layout)


def soap_update(param, grad, exp_avg, exp_avg_sq, GG: list, Q: list, *, step: int,
                lr: float, beta1: float, beta2: float, shampoo_beta: float, eps: float,
                weight_decay: float, precondition_frequency: int, max_precond_dim: int,
                merge_dims: bool, normalize_grads: bool, data_format: str,
                correct_bias: bool) -> None:
    """One SOAP step, in place on ``param``, the moments and the lists ``GG`` and ``Q``.

    For a matrix gradient G, with L, R the preconditioner matrices (``GG``), Q_L, Q_R
    their eigenbases (``Q``), m and v Adam's moments kept *in the rotated basis*, and
    t = step − 1 (the number of Adam updates, this one included)::

        first step (t = 0):  L ← (1 − β)·G·Gᵀ,  R ← (1 − β)·Gᵀ·G,  Q_L, Q_R ← eigh(L), eigh(R)
                             and nothing else: θ does not move
        afterwards:
        G' ← Q_Lᵀ·G·Q_R                               the gradient in the eigenbasis
        m ← β1·m + (1 − β1)·G'
        v ← β2·v + (1 − β2)·G'²
        D ← Q_L·(m / (√v + ε))·Q_Rᵀ                   Adam's direction, rotated back
        D ← D / (10⁻³⁰ + √mean(D²))                   with normalize_grads
        θ ← θ − η·(√(1 − β2^t) / (1 − β1^t))·D        (η alone without correct_bias)
        θ ← θ − η·λ·θ                                 decoupled weight decay, after the step
        L ← β·L + (1 − β)·G·Gᵀ,  R ← β·R + (1 − β)·Gᵀ·G
        every precondition_frequency updates (t a multiple of it):
            Q_L, Q_R ← one power-iteration + QR step, v reordered with the columns,
            m rotated into the new basis: m ← Q_Lᵀ·(Q_L_old·m·Q_R_oldᵀ)·Q_R

    β is ``shampoo_beta``, or β2 when it is negative (the default −1). The statistics
    are updated *after* the step, so the gradient is never rotated by a basis built from
    itself: that is why the first step only gathers statistics. A tensor with more axes
    has one matrix per axis; an axis longer than ``max_precond_dim``, and a 1-D
    parameter without ``precondition_1d``, gets none (Q = identity: plain Adam there).

    The paper's Algorithm 3 keeps m in the original coordinates and rotates it every
    step; the authors' code keeps it in the eigenbasis and rotates it when the basis
    changes, which is the same in exact arithmetic. This follows the code, and also its
    order of decay after the step. Where the authors cast the eigen and QR
    decompositions to float32, here they run in the parameter's dtype (float64 stays
    float64; float32 is the authors' float32).
    """
    xp = get_array_module(param)
    shampoo_beta = beta2 if shampoo_beta < 0 else shampoo_beta
    layout = dict(merge_dims=merge_dims, data_format=data_format)
    g = to_layout(grad, max_precond_dim=max_precond_dim, **layout)
    if step == 1:  # statistics and bases only
        accumulate_preconditioners(GG, g, shampoo_beta)
        Q[:] = eigenbases(GG)
        return
    t = step - 1
    m = to_layout(exp_avg, max_precond_dim=max_precond_dim, **layout)
    v = to_layout(exp_avg_sq, max_precond_dim=max_precond_dim, **layout)
    g_rotated = project(g, Q)
    m = beta1 * m + (1 - beta1) * g_rotated
    v = beta2 * v + (1 - beta2) * g_rotated * g_rotated
    direction = project_back(m / (xp.sqrt(v) + eps), Q)
    if normalize_grads:
        direction = direction / (1e-30 + xp.sqrt(xp.mean(direction * direction)))
    step_size = lr
    if correct_bias:
        step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    param -= step_size * from_layout(direction, param.shape, **layout)
    if weight_decay > 0:
        param -= lr * weight_decay * param
    accumulate_preconditioners(GG, g, shampoo_beta)
    if t % precondition_frequency == 0:
        m_original = project_back(m, Q)
        v = refresh_eigenbases(GG, Q, v)
        m = project(m_original, Q)
    exp_avg[...] = from_layout(m, param.shape, **layout)
    exp_avg_sq[...] = from_layout(v, param.shape, **layout)


def _check_shampoo_beta(value) -> None:
    if value != -1:
        Range("shampoo_beta value (or -1, meaning beta2)", 0.0, 1.0, high_open=True)(value)


class SOAP(Optimizer):
    """SOAP: Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al., 2024).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (any shape: matrices are what SOAP is for; 1-D
        parameters get plain Adam unless ``precondition_1d``).
    lr : float, default 3e-3
        Learning rate η.
    betas : (float, float), default (0.95, 0.95)
        Adam's β1, β2 (both the authors' 0.95).
    shampoo_beta : float, default -1
        Decay β of the preconditioner averages L, R; -1 means "use β2".
    eps : float, default 1e-8
        ε added to √v.
    weight_decay : float, default 0.01
        Decoupled weight decay λ, applied after the step: θ ← θ − ηλθ.
    precondition_frequency : int, default 10
        Refresh the eigenbases every this many updates (one power-iteration step).
    max_precond_dim : int, default 10000
        Axes longer than this get no preconditioner (e.g. a large vocabulary).
    merge_dims : bool, default False
        Merge small neighbouring axes of >2-D parameters before preconditioning.
    precondition_1d : bool, default False
        Give 1-D parameters a preconditioner too (else they get Adam).
    normalize_grads : bool, default False
        Divide each update by its root-mean-square size.
    data_format : {"channels_first", "channels_last"}, default "channels_first"
        Axis order of 4-D (convolution) parameters, used when merging axes.
    correct_bias : bool, default True
        Adam's bias correction of the step size.

    Notes
    -----
    State per parameter: ``step`` (steps that saw a gradient, the first included),
    ``exp_avg`` and ``exp_avg_sq`` (m and v, in the rotated basis), ``GG`` (list: one
    preconditioner matrix per axis, or None) and ``Q`` (list: their eigenbases).

    The first step only gathers statistics: the parameters move from the second step on.

    Examples
    --------
    >>> import numpy as np, minigrad
    >>> from optim.soap import SOAP
    >>> start = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> w = minigrad.tensor(start.copy(), requires_grad=True)
    >>> opt = SOAP([w], lr=0.1, weight_decay=0.0)
    >>> def step():
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> step()
    >>> bool(np.all(w.data == start))      # the first step only gathers statistics
    True
    >>> [a.shape for a in opt.state[w]["GG"]]    # L (2×2) and R (2×2)
    [(2, 2), (2, 2)]
    >>> step()

    With a single gradient G = U·S·Vᵀ in the statistics, the eigenbases are U and V,
    the rotated gradient is S, and Adam's first step in that basis is −η·sign: the
    update is −η·U·Vᵀ, the orthogonalised gradient (what Muon computes):

    >>> u, _, vt = np.linalg.svd(start)
    >>> bool(np.allclose(start - w.data, 0.1 * u @ vt))
    True
    """

    ranges = {"lr": Range("learning rate"),
              "betas": Betas(),
              "shampoo_beta": _check_shampoo_beta,
              "eps": Range("epsilon value"),
              "weight_decay": Range("weight_decay value"),
              "precondition_frequency": PositiveInt("precondition_frequency"),
              "max_precond_dim": PositiveInt("max_precond_dim"),
              "data_format": OneOf("data_format", ("channels_first", "channels_last"))}
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 3e-3, betas: tuple = (0.95, 0.95),
                 shampoo_beta: float = -1, eps: float = 1e-8, weight_decay: float = 0.01,
                 precondition_frequency: int = 10, max_precond_dim: int = 10000,
                 merge_dims: bool = False, precondition_1d: bool = False,
                 normalize_grads: bool = False, data_format: str = "channels_first",
                 correct_bias: bool = True, *, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, shampoo_beta=shampoo_beta, eps=eps,
                        weight_decay=weight_decay,
                        precondition_frequency=precondition_frequency,
                        max_precond_dim=max_precond_dim, merge_dims=merge_dims,
                        precondition_1d=precondition_1d, normalize_grads=normalize_grads,
                        data_format=data_format, correct_bias=correct_bias)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        sizes = preconditioner_sizes(
            tuple(p.shape), max_precond_dim=group["max_precond_dim"],
            merge_dims=group["merge_dims"], precondition_1d=group["precondition_1d"],
            data_format=group["data_format"])
        GG = [None if n is None else xp.zeros((n, n), dtype=p.data.dtype) for n in sizes]
        return {"step": 0, "exp_avg": xp.zeros_like(p.data),
                "exp_avg_sq": xp.zeros_like(p.data), "GG": GG, "Q": [None] * len(GG)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        soap_update(
            p.data, grad, state["exp_avg"], state["exp_avg_sq"], state["GG"], state["Q"],
            step=state["step"], lr=group["lr"], beta1=beta1, beta2=beta2,
            shampoo_beta=group["shampoo_beta"], eps=group["eps"],
            weight_decay=group["weight_decay"],
            precondition_frequency=group["precondition_frequency"],
            max_precond_dim=group["max_precond_dim"], merge_dims=group["merge_dims"],
            normalize_grads=group["normalize_grads"], data_format=group["data_format"],
            correct_bias=group["correct_bias"])

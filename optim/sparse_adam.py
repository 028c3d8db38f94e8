"""SparseAdam: Adam that moves only the rows of a lookup table that a batch used.

PyTorch's ``torch.optim.SparseAdam``: same arguments, defaults, checks and update rule.
It is meant for ``nn.Embedding(sparse=True)``, whose gradient is row-sparse: a
:class:`minigrad.sparse.RowSparseGrad`, a dense array of the table's shape that also
carries ``rows``, the ids the batch looked up (PyTorch uses a sparse COO tensor; this
library keeps ``.grad`` a plain array, so the rows ride along on the array).

Why a separate optimizer? Plain Adam decays the moments of *every* row at every step,
and a row whose id did not appear still moves, pushed by its old momentum. For a large
vocabulary most rows are absent from most batches, so that is both slow (work
proportional to the whole table) and a different algorithm. SparseAdam touches only
the rows present: an absent row keeps its value, its moments and their age.
"""
from __future__ import annotations

from typing import Optional

import math

from minigrad.backend import get_array_module
from minigrad.sparse import grad_rows

from .checks import Betas, Range
from .optimizer import Optimizer, _evaluate

DENSE_GRADIENT_ERROR = "SparseAdam does not support dense gradients, please consider Adam instead"


def sparse_adam_update(param, grad, exp_avg, exp_avg_sq, rows, *, step: int, lr: float,
                       beta1: float, beta2: float, eps: float) -> None:
    """One SparseAdam step on the rows ``rows`` of ``param``, ``exp_avg``, ``exp_avg_sq``.

    With R the rows that received gradient (sorted, unique), g = grad[R], m and v the
    first and second moments of those rows and t = ``step`` (already counting this
    step, one counter per parameter, not per row)::

        m_R ← m_R + (1 − β1)·(g − m_R)        ( = β1·m_R + (1 − β1)·g )
        v_R ← v_R + (1 − β2)·(g² − v_R)       ( = β2·v_R + (1 − β2)·g² )
        θ_R ← θ_R − η·√(1 − β2^t)/(1 − β1^t) · m_R / (√v_R + ε)

    Rows outside R are not read or written: their values, moments stay as they are.
    A row in R whose gradient is exactly zero still has its moments decayed (it was
    looked up). With no rows at all, nothing changes (the caller still counts the step).

    Note where ε goes: it is added to the *uncorrected* √v, and the bias corrections
    are folded into the step size. This is the "more efficient" ordering at the end of
    Section 2 of the paper and what PyTorch's SparseAdam computes; ``adam_update``
    (Algorithm 1, and PyTorch's Adam) adds ε after dividing √v by √(1 − β2^t). The
    two differ when √v is comparable to ε, so SparseAdam with every row present is
    not bit-for-bit Adam. The moment updates are written in PyTorch's "old + (1 − β)·
    (new − old)" form, which equals the usual decay up to rounding.

    Adam: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization",
    arXiv:1412.6980. The row-masked variant is PyTorch's ``torch.optim.SparseAdam``
    (``torch/optim/_functional.py``, ``sparse_adam``), which this follows.
    """
    if len(rows) == 0:
        return
    xp = get_array_module(param)
    g = grad[rows]
    m_old = exp_avg[rows]
    v_old = exp_avg_sq[rows]
    m_new = m_old + (g - m_old) * (1 - beta1)
    v_new = v_old + (g * g - v_old) * (1 - beta2)
    exp_avg[rows] = m_new
    exp_avg_sq[rows] = v_new
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    param[rows] += -step_size * (m_new / (xp.sqrt(v_new) + eps))


class SparseAdam(Optimizer):
    """Adam on the looked-up rows only, as ``torch.optim.SparseAdam``.

    Every parameter must have a row-sparse gradient (from ``nn.Embedding(sparse=True)``,
    or built with ``RowSparseGrad``); a dense gradient raises ``RuntimeError`` before
    anything changes. Give the other layers of a model to ``Adam``: two optimizers,
    each stepped after the same ``backward()``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (typically embedding tables).
    lr : float, default 1e-3
        Learning rate η, > 0.
    betas : (float, float), default (0.9, 0.999)
        Decay rates β1, β2 of the first and second moments, each in [0, 1).
    eps : float, default 1e-8
        ε added to √v (before the bias correction, see ``sparse_adam_update``), > 0.
    maximize : bool, default False
        Maximise the objective instead of minimising it.

    Notes
    -----
    State per parameter: ``step`` (int; counts the steps at which the parameter had a
    gradient, whichever rows), ``exp_avg`` (m) and ``exp_avg_sq`` (v), each of the
    parameter's shape; rows never looked up keep zero moments.

    Examples
    --------
    >>> import minigrad, optim
    >>> from minigrad import nn
    >>> from optim.sparse_adam import SparseAdam
    >>> table = nn.Embedding(4, 2, sparse=True)
    >>> before = table.weight.data.copy()
    >>> opt = SparseAdam(table.parameters(), lr=0.1)
    >>> table(minigrad.tensor([1, 3, 1])).sum().backward()
    >>> table.weight.grad.rows.tolist()
    [1, 3]
    >>> opt.step()
    >>> (table.weight.data != before).any(axis=1).tolist()  # only rows 1 and 3 moved
    [False, True, False, True]
    """

    ranges = {"lr": Range("learning rate", low_open=True),
              "eps": Range("epsilon value", low_open=True),
              "betas": Betas()}
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False, *, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _step(self, closure):
        loss = _evaluate(closure)
        for group in self.param_groups:  # all checked first: a failed step changes nothing
            for p in group["params"]:
                if p.grad is not None and grad_rows(p.grad) is None:
                    raise RuntimeError(DENSE_GRADIENT_ERROR)
        super()._step(None)
        return loss

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        return {"step": 0, "exp_avg": xp.zeros_like(p.data),
                "exp_avg_sq": xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        sparse_adam_update(
            p.data, grad, state["exp_avg"], state["exp_avg_sq"], grad_rows(p.grad),
            step=state["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"])

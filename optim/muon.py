"""Muon: momentum whose update is orthogonalised by a Newton–Schulz iteration.

PyTorch's ``torch.optim.Muon``: same arguments, defaults and update rule, for the 2-D
weights of hidden layers. Embeddings, output heads, biases and gains go to another
optimizer (AdamW) in the same training loop: :func:`split_for_muon` sorts them.

Muon: Keller Jordan (2024), "Muon: An optimizer for hidden layers in neural networks"
(blog post, kellerjordan.github.io/posts/muon; code github.com/KellerJordan/Muon). The
"match_rms_adamw" learning-rate scaling: Liu et al. (2025), "Muon is Scalable for LLM
Training", arXiv:2502.16982.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

from minigrad.backend import get_array_module

from .checks import OneOf, Range, check_range
from .optimizer import Optimizer

#: The quintic's coefficients (a, b, c) from Keller Jordan's post.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def zeropower_via_newtonschulz(matrix, ns_coefficients: Sequence[float] = NS_COEFFICIENTS,
                               ns_steps: int = 5, eps: float = 1e-7):
    """An approximately orthogonal matrix with the singular vectors of ``matrix``.

    With G = U·S·Vᵀ (the SVD), the "zeroth power" of G is U·Vᵀ: every singular value set
    to 1. The quintic Newton–Schulz iteration gets close to it with matrix products only::

        X ← G / max(‖G‖_F, ε)             now every singular value is ≤ 1
        repeat ns_steps times:
            A ← X·Xᵀ
            B ← b·A + c·A·A
            X ← a·X + B·X                 each singular value σ becomes a·σ + b·σ³ + c·σ⁵

    The coefficients (a, b, c) = (3.4445, −4.7750, 2.0315) make the polynomial as steep as
    possible at 0, so that small singular values grow fast; the price is that they end up
    near 1 (roughly between 0.7 and 1.2), not exactly 1, which does not hurt training. A
    tall matrix (more rows than columns) is transposed first, so that X·Xᵀ is the smaller
    Gram matrix, and transposed back at the end.

    PyTorch (and Keller Jordan's code) run this iteration in bfloat16, on the CPU too.
    NumPy has no bfloat16: here it runs in the dtype of ``matrix`` (float32 or float64),
    which is more precise; the results differ from PyTorch's by bfloat16's rounding
    (about 1%). The normalisation divides by max(‖G‖_F, ε), as PyTorch; Keller Jordan's
    code divides by ‖G‖_F + ε, which differs only for an almost zero G.

    Returns a new array of the shape and dtype of ``matrix``.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[3.0, 0.0], [0.0, 0.1]])
    >>> np.round(zeropower_via_newtonschulz(g), 2)   # singular values 3 and 0.1 -> near 1
    array([[0.7 , 0.  ],
           [0.  , 1.13]])
    """
    if matrix.ndim != 2:
        raise ValueError(f"Newton-Schulz needs a 2-D matrix, got shape {tuple(matrix.shape)}")
    xp = get_array_module(matrix)
    a, b, c = ns_coefficients
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.T if tall else matrix
    x = x / max(float(xp.linalg.norm(x)), eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        poly = b * gram + c * (gram @ gram)
        x = a * x + poly @ x
    return x.T if tall else x


def adjust_lr(lr: float, adjust_lr_fn: Optional[str], shape: tuple) -> float:
    """The learning rate Muon uses for a matrix of ``shape`` = (A, B) (rows, columns).

    * ``None`` or ``"original"`` (Keller Jordan): η·√max(1, A/B). The orthogonalised
      update has entries of size ≈ 1/√max(A, B); this keeps tall matrices' steps as large
      as square ones'.
    * ``"match_rms_adamw"`` (Liu et al., 2025): 0.2·η·√max(A, B). The update then has the
      root-mean-square size of a typical AdamW update (≈ 0.2·η), so a learning rate and
      weight decay tuned for AdamW carry over.

    >>> adjust_lr(0.02, None, (128, 32))
    0.04
    >>> round(adjust_lr(0.02, "match_rms_adamw", (128, 32)), 6)
    0.045255
    """
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1.0, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    raise ValueError(f"Invalid adjust_lr_fn: {adjust_lr_fn!r}")


def muon_update(param, grad, momentum_buffer, *, lr: float, weight_decay: float = 0.1,
                momentum: float = 0.95, nesterov: bool = True,
                ns_coefficients: Sequence[float] = NS_COEFFICIENTS, eps: float = 1e-7,
                ns_steps: int = 5, adjust_lr_fn: Optional[str] = None) -> None:
    """One Muon step, in place on the matrix ``param`` and ``momentum_buffer``.

    With g the gradient, B the momentum buffer (starting at 0), μ the momentum::

        B ← μ·B + (1 − μ)·g               an average of the gradients
        u ← (1 − μ)·g + μ·B               with Nesterov,  u ← B  without
        O ← NS(u)                         orthogonalised (zeropower_via_newtonschulz)
        θ ← (1 − η·λ)·θ                   decoupled weight decay λ, with the plain η
        θ ← θ − η'·O                      η' = adjust_lr(η, adjust_lr_fn, shape of θ)

    The momentum is an exponential average (a lerp), as in PyTorch's and Keller Jordan's
    code; PyTorch's docstring writes B ← μ·B + g, which is the same up to the factor
    (1 − μ) that the normalisation inside NS removes anyway. Every direction the
    gradient spans gets a step of the same size, however small its singular value: the
    few dominant directions of the momentum no longer drown the others.

    Keller Jordan (2024), "Muon: An optimizer for hidden layers in neural networks";
    PyTorch's ``torch.optim.Muon`` (whose rule this is, step for step).
    """
    momentum_buffer *= momentum
    momentum_buffer += (1 - momentum) * grad
    update = (1 - momentum) * grad + momentum * momentum_buffer if nesterov else momentum_buffer
    ortho = zeropower_via_newtonschulz(update, ns_coefficients, ns_steps, eps)
    param *= 1 - lr * weight_decay
    param -= adjust_lr(lr, adjust_lr_fn, param.shape) * ortho


def _check_ns_coefficients(value) -> None:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ValueError(f"Invalid ns_coefficients: {value!r} (expected a tuple of 3 numbers)")
    for index, coefficient in enumerate(value):
        check_range(f"ns_coefficients at index {index}", coefficient, -math.inf, math.inf)


def _check_ns_steps(value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 100:
        raise ValueError(f"Invalid ns_steps: {value!r} (expected an integer in [0, 100))")


class Muon(Optimizer):
    """Muon for 2-D weight matrices, as ``torch.optim.Muon``.

    Parameters
    ----------
    params : iterable
        2-D parameters (hidden layers' weight matrices) or parameter groups. Any other
        shape raises ValueError: give biases, gains, embeddings and the output head to
        AdamW (see :func:`split_for_muon`).
    lr : float, default 1e-3
        Learning rate η (scaled per matrix by ``adjust_lr_fn``).
    weight_decay : float, default 0.1
        Decoupled weight decay λ: θ ← (1 − ηλ)·θ each step.
    momentum : float, default 0.95
        Momentum μ of the gradient average (only μ ≥ 0 is checked, as in PyTorch).
    nesterov : bool, default True
        Orthogonalise (1 − μ)·g + μ·B (Nesterov) instead of the buffer B.
    ns_coefficients : (float, float, float), default (3.4445, -4.7750, 2.0315)
        Coefficients (a, b, c) of the Newton–Schulz quintic.
    eps : float, default 1e-7
        Floor of the Frobenius norm in the normalisation before the iteration.
    ns_steps : int, default 5
        Newton–Schulz iterations (0 to 99).
    adjust_lr_fn : {None, "original", "match_rms_adamw"}, default None
        Per-matrix learning-rate scaling (:func:`adjust_lr`); None means "original".

    Notes
    -----
    State per parameter: ``momentum_buffer`` (B), as in PyTorch (no step counter).

    The Newton–Schulz iteration runs in the parameter's dtype, not in bfloat16 as in
    PyTorch (see :func:`zeropower_via_newtonschulz`); otherwise each step is PyTorch's.

    Examples
    --------
    Muon for the hidden matrices, AdamW for everything else, stepped together:

    >>> import minigrad, optim
    >>> from minigrad import nn
    >>> from minigrad.nn import functional as F
    >>> from optim.muon import Muon, split_for_muon
    >>> _ = minigrad.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
    ...                       nn.Linear(8, 2))
    >>> hidden, others = split_for_muon(model, exclude=("4.",))   # "4." is the head
    >>> [name for name, _ in hidden]
    ['0.weight', '2.weight']
    >>> muon = Muon(hidden, lr=0.02)
    >>> adamw = optim.AdamW(others, lr=3e-3)
    >>> x, y = minigrad.randn(16, 4), minigrad.tensor([0, 1] * 8)
    >>> for _ in range(3):
    ...     muon.zero_grad(); adamw.zero_grad()
    ...     F.cross_entropy(model(x), y).backward()
    ...     muon.step(); adamw.step()
    >>> sorted(len(s) for s in muon.state.values())
    [1, 1]
    """

    ranges = {"lr": Range("learning rate"),
              "weight_decay": Range("weight_decay value"),
              "momentum": Range("momentum value"),
              "eps": Range("epsilon value"),
              "ns_coefficients": _check_ns_coefficients,
              "ns_steps": _check_ns_steps,
              "adjust_lr_fn": OneOf("adjust_lr_fn", (None, "original", "match_rms_adamw"))}
    state_names = ("momentum_buffer",)
    needs_2d = True

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple = NS_COEFFICIENTS, eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: Optional[str] = None,
                 *, backend: Optional[str] = None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                        nesterov=nesterov, ns_coefficients=ns_coefficients, eps=eps,
                        ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        return {"momentum_buffer": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        muon_update(p.data, grad, state["momentum_buffer"], lr=group["lr"],
                    weight_decay=group["weight_decay"], momentum=group["momentum"],
                    nesterov=group["nesterov"], ns_coefficients=group["ns_coefficients"],
                    eps=group["eps"], ns_steps=group["ns_steps"],
                    adjust_lr_fn=group["adjust_lr_fn"])


def split_for_muon(named_parameters, exclude: Iterable[str] = ("embed", "head")):
    """Sort parameters into those Muon should train and those AdamW should.

    Muon is meant for the weight matrices of hidden layers. A parameter goes to Muon when
    it is 2-D and its name contains none of the ``exclude`` substrings; everything else
    goes to AdamW: biases and normalisation gains (1-D), embeddings and the output head
    (2-D, but a lookup table and a classifier, not hidden transforms: name them so that
    ``exclude`` catches them, e.g. ``embed`` and ``head``), and tensors of other ranks.

    Parameters
    ----------
    named_parameters : Module or iterable of (name, parameter)
        ``model`` itself or ``model.named_parameters()``.
    exclude : iterable of str, default ("embed", "head")
        Name fragments of 2-D parameters that must not go to Muon.

    Returns
    -------
    (muon_params, adamw_params) : two lists of (name, parameter) pairs
        Each can be passed to an optimizer as is (the names are kept in the group).

    Examples
    --------
    >>> from minigrad import nn
    >>> class Tiny(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.embed = nn.Embedding(10, 4)
    ...         self.hidden = nn.Linear(4, 4)
    ...         self.norm = nn.LayerNorm(4)
    ...         self.head = nn.Linear(4, 10)
    >>> hidden, others = split_for_muon(Tiny())
    >>> [name for name, _ in hidden]
    ['hidden.weight']
    >>> [name for name, _ in others]
    ['embed.weight', 'hidden.bias', 'norm.weight', 'norm.bias', 'head.weight', 'head.bias']
    """
    if hasattr(named_parameters, "named_parameters"):
        named_parameters = named_parameters.named_parameters()
    exclude = tuple(exclude)
    muon_params, adamw_params = [], []
    for name, p in named_parameters:
        hidden_matrix = len(p.shape) == 2 and not any(part in name for part in exclude)
        (muon_params if hidden_matrix else adamw_params).append((name, p))
    return muon_params, adamw_params

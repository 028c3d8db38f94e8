"""Adam: momentum plus a per-coordinate step size, both bias-corrected (and AMSGrad).

PyTorch's ``torch.optim.Adam``: same arguments, defaults and update rule, plus one
teaching switch, ``bias_correction``, that turns the two bias corrections off.
"""
from __future__ import annotations

import math
from typing import Optional

from minigrad.backend import get_array_module

from .checks import Betas, Range
from .optimizer import Optimizer


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step: int,
                lr: float, beta1: float, beta2: float, eps: float,
                weight_decay: float = 0.0, amsgrad: bool = False,
                decoupled_weight_decay: bool = False, bias_correction: bool = True) -> None:
    """One Adam step, in place on ``param``, ``exp_avg``, ``exp_avg_sq`` (and the max).

    With g the gradient, m and v the first and second moments, t = ``step`` (already
    counting this step, so t = 1 on the first one)::

        θ ← (1 − η·λ)·θ                   with decoupled weight decay λ (AdamW), or
        g ← g + λ·θ                       with L2 weight decay λ
        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        v_max ← max(v_max, v)             with AMSGrad (v_max is ``max_exp_avg_sq``)
        c1 ← 1 − β1^t,  c2 ← 1 − β2^t     (both 1 with ``bias_correction=False``)
        d ← √v / √c2 + ε                  (√v_max instead of √v with AMSGrad)
        θ ← θ − (η / c1)·m / d

    m and v start at 0, so early on they are too small by the factors c1 and c2;
    dividing by them removes that bias. Note where ε goes: after √v is divided by √c2,
    as in PyTorch and the paper's Algorithm 1 (the paper's "more efficient" variant
    adds ε to the raw √v instead, a slightly different rule).

    Adam: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization".
    AMSGrad: Reddi et al. (2018), "On the Convergence of Adam and Beyond".
    Decoupled weight decay: Loshchilov & Hutter (2019), "Decoupled Weight Decay
    Regularization".
    """
    xp = get_array_module(param)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param  # new array: grad is p.grad
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    second_moment = exp_avg_sq
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second_moment = max_exp_avg_sq
    if bias_correction:
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
    else:
        bias_correction1 = bias_correction2 = 1.0
    denom = xp.sqrt(second_moment) / math.sqrt(bias_correction2) + eps
    step_size = lr / bias_correction1
    param -= step_size * exp_avg / denom


class Adam(Optimizer):
    """Adam (optionally AMSGrad, or AdamW's decoupled weight decay), as ``torch.optim.Adam``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-3
        Learning rate η.
    betas : (float, float), default (0.9, 0.999)
        Decay rates β1, β2 of the first and second moment averages, each in [0, 1).
    eps : float, default 1e-8
        ε added to the denominator, so a zero second moment divides by ε, not 0.
    weight_decay : float, default 0
        Weight decay λ: an L2 penalty added to the gradient, or, with
        ``decoupled_weight_decay``, a shrink ``θ ← (1 − ηλ)·θ`` before the step.
    amsgrad : bool, default False
        Divide by the largest second moment seen so far (AMSGrad).
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    decoupled_weight_decay : bool, default False
        Decouple the weight decay from the gradient (this is AdamW).
    bias_correction : bool, default True
        A teaching switch that PyTorch does not have. ``False`` drops both bias
        corrections (c1 = c2 = 1). The first step then moves by
        ``η·(1 − β1)/√(1 − β2)·g/|g|`` (ε aside) instead of ``η·g/|g|``: the too-small
        m shrinks it by (1 − β1), the too-small √v grows it by 1/√(1 − β2). With the
        default betas that is 0.1/0.0316 ≈ 3.16 times *larger* than ``lr``; with
        betas (0.9, 0.9) it is ≈ 0.316 times, smaller. Either way the early steps are
        not what ``lr`` promises — which is why the corrections are there.
    foreach, capturable, differentiable, fused
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v), and
    ``max_exp_avg_sq`` (v_max) with AMSGrad.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()  # the first step is ≈ lr · sign(gradient), whatever |gradient|
    [0.9000000357627869, -1.899999976158142]
    """

    ranges = {"lr": Range("learning rate"),
              "eps": Range("epsilon value"),
              "betas": Betas(),
              "weight_decay": Range("weight_decay value")}
    state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False,
                 bias_correction: bool = True, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay,
                        bias_correction=bias_correction)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        state = {"step": 0, "exp_avg": xp.zeros_like(p.data),
                 "exp_avg_sq": xp.zeros_like(p.data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        return state

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        adam_update(
            p.data, grad, state["exp_avg"], state["exp_avg_sq"],
            state.get("max_exp_avg_sq"), step=state["step"], lr=group["lr"],
            beta1=beta1, beta2=beta2, eps=group["eps"],
            weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
            bias_correction=group["bias_correction"])

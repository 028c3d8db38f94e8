"""LAMB: Adam's direction, rescaled per layer so that each step is a fixed fraction of ‖θ‖.

You et al. (2020), "Large Batch Optimization for Deep Learning: Training BERT in 76
minutes" (ICLR 2020, arXiv:1904.00962). The update follows the paper's Algorithm 2 as
the TensorFlow reference implementation writes it (TensorFlow Addons,
``tfa.optimizers.LAMB``): bias-corrected Adam moments, the L2 weight decay added to the
Adam ratio (not to the gradient), and a trust ratio that is 1 where a norm is 0.
"""
from __future__ import annotations

from typing import Optional

from minigrad.backend import get_array_module

from .checks import Betas, Range
from .optimizer import Optimizer


def lamb_update(param, grad, exp_avg, exp_avg_sq, *, step: int, lr: float, beta1: float,
                beta2: float, eps: float, weight_decay: float = 0.0,
                bias_correction: bool = True,
                clamp_value: Optional[float] = None) -> float:
    """One LAMB step for one layer, in place on ``param``, ``exp_avg`` and ``exp_avg_sq``.

    Returns the layer's trust ratio (a Python float) so that the caller can keep it.

    With g the gradient, t = ``step`` (counting this step, so t = 1 on the first one)::

        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        m̂ ← m / (1 − β1^t),  v̂ ← v / (1 − β2^t)     (m̂ = m, v̂ = v without bias_correction)
        r ← m̂ / (√v̂ + ε) + λ·θ                      (weight decay λ inside the ratio)
        φ ← min(‖θ‖, clamp_value)                    (φ = ‖θ‖ when clamp_value is None)
        τ ← φ / ‖r‖,   or τ ← 1 where ‖θ‖ = 0 or ‖r‖ = 0
        θ ← θ − η·τ·r

    The norms are Euclidean norms over the whole tensor: one trust ratio τ per
    parameter tensor ("layer"). Because τ·r has norm φ, every layer moves by exactly
    η·min(‖θ‖, clamp_value) per step, whatever the size of its gradient: the step is
    relative to the weights, which is what lets LAMB take very large batches (and
    large learning rates) without one layer running away. A freshly zero-initialised
    layer (‖θ‖ = 0) gets τ = 1, a plain Adam step, instead of never moving.

    The paper scales by a function φ(‖θ‖) clamped to [γ_l, γ_u] without fixing the
    bounds; the reference code uses φ(z) = z with no clamp, which is the default here
    (clamp_value=None). ``clamp_value`` gives the upper bound (pytorch_optimizer's Lamb
    fixes it at 10).

    Paper: You, Li, Reddi, Hseu, Kumar, Bhojanapalli, Song, Demmel, Keutzer & Hsieh
    (2020), arXiv:1904.00962, Algorithm 2. Reference code: TensorFlow Addons'
    ``LAMB`` (default ε = 1e-6), which this function follows.
    """
    xp = get_array_module(param)
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    if bias_correction:
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
    else:
        bias_correction1 = bias_correction2 = 1.0
    ratio = (exp_avg / bias_correction1) / (xp.sqrt(exp_avg_sq / bias_correction2) + eps)
    if weight_decay != 0:
        ratio += weight_decay * param  # ratio is a new array, not grad
    weight_norm = float(xp.linalg.norm(param))
    ratio_norm = float(xp.linalg.norm(ratio))
    if weight_norm == 0 or ratio_norm == 0:
        trust_ratio = 1.0
    else:
        phi = weight_norm if clamp_value is None else min(weight_norm, clamp_value)
        trust_ratio = phi / ratio_norm
    param -= (lr * trust_ratio) * ratio
    return trust_ratio


class LAMB(Optimizer):
    """LAMB: layer-wise adaptive moments for large-batch training (You et al., 2020).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-3
        Learning rate η: each layer moves by η·‖θ‖ per step (η·min(‖θ‖, clamp_value)).
    betas : (float, float), default (0.9, 0.999)
        Decay rates β1, β2 of the first and second moment averages, each in [0, 1).
    eps : float, default 1e-6
        ε added to √v̂ in the Adam ratio (the reference code's default).
    weight_decay : float, default 0
        Weight decay λ, added to the Adam ratio (r = m̂/(√v̂ + ε) + λ·θ), so that it is
        rescaled by the trust ratio along with the rest of the step.
    bias_correction : bool, default True
        Divide the moments by (1 − β^t). ``False`` uses the raw moments m and v (as
        pytorch_optimizer's Lamb does).
    clamp_value : float or None, default None
        Upper bound on ‖θ‖ in the trust ratio's numerator; None means no bound.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach, capturable, differentiable, fused
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v), and
    ``trust_ratio`` (a Python float: the trust ratio τ of the latest step, read it from
    ``opt.state[p]["trust_ratio"]`` to compare layers).

    Examples
    --------
    >>> import numpy as np
    >>> import minigrad
    >>> from optim.lamb import LAMB
    >>> w = minigrad.tensor([3.0, -4.0], requires_grad=True)   # ‖w‖ = 5
    >>> opt = LAMB([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> round(float(np.linalg.norm(w.data - [3.0, -4.0])), 4)  # the step's length: η·‖w‖
    0.5
    >>> round(opt.state[w]["trust_ratio"], 4)  # ‖w‖ / ‖r‖ with r ≈ sign(g) = (1, −1)
    3.5355
    """

    ranges = {"lr": Range("learning rate"),
              "eps": Range("epsilon value"),
              "betas": Betas(),
              "weight_decay": Range("weight_decay value"),
              "clamp_value": Range("clamp_value", low_open=True, optional=True)}
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0, bias_correction: bool = True,
                 clamp_value: Optional[float] = None, *, maximize: bool = False,
                 foreach: Optional[bool] = None, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None,
                 backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        bias_correction=bias_correction, clamp_value=clamp_value,
                        maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        return {"step": 0, "exp_avg": xp.zeros_like(p.data),
                "exp_avg_sq": xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        state["trust_ratio"] = lamb_update(
            p.data, grad, state["exp_avg"], state["exp_avg_sq"], step=state["step"],
            lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
            weight_decay=group["weight_decay"], bias_correction=group["bias_correction"],
            clamp_value=group["clamp_value"])


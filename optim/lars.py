"""LARS: SGD with momentum whose step is scaled, layer by layer, by ‖θ‖ / ‖∇L‖.

You, Gitman & Ginsburg (2017), "Large Batch Training of Convolutional Networks"
(arXiv:1708.03888). The update follows NVIDIA apex's ``LARC`` in its scaling mode
(``clip=False``) wrapped around ``torch.optim.SGD``: the local learning rate rescales the
gradient, then ordinary momentum SGD takes the step. Biases and normalisation weights
are usually left out of the rescaling and the decay; :func:`lars_param_groups` builds
the two parameter groups that do this.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from minigrad.backend import get_array_module

from .checks import Range
from .optimizer import Optimizer, required


def lars_update(param, grad, momentum_buffer, *, lr: float, momentum: float = 0.9,
                weight_decay: float = 0.0, trust_coefficient: float = 0.001,
                eps: float = 1e-8, nesterov: bool = False, exclude: bool = False) -> float:
    """One LARS step for one layer, in place on ``param`` and ``momentum_buffer``.

    Returns the layer's local learning rate ρ (a Python float; 1.0 when excluded).

    With g the gradient, v the momentum buffer (it starts at 0)::

        ρ ← η_tc·‖θ‖ / (‖g‖ + λ·‖θ‖ + ε)      (trust coefficient η_tc, weight decay λ)
        ρ ← 1 and g unchanged                  where ‖θ‖ = 0 or ‖g‖ = 0, and if ``exclude``
        g ← (g + λ·θ)·ρ                        otherwise
        v ← μ·v + g                            (momentum μ)
        g ← g + μ·v  with Nesterov,  g ← v  without
        θ ← θ − η·g

    ρ is the same for the whole tensor: the step of each layer is a fixed fraction of
    its weights (about η·η_tc·‖θ‖ per step before momentum), whatever its gradient's
    scale. ``exclude=True`` (biases and normalisation weights) skips both ρ and the
    decay: that layer takes a plain momentum-SGD step.

    Differences from the paper's Algorithm 1, which puts the global learning rate
    inside the momentum (v ← μ·v + γ_t·ρ·(g + λθ), θ ← θ − v): here, as in apex and
    PyTorch's SGD, η multiplies the buffer when it is applied, so a schedule that
    changes η also rescales the momentum already stored (the same rule when η is
    constant). ε keeps the ratio finite and is apex's; the paper has none.
    Where a norm is 0 apex leaves the gradient as it is — no rescaling and no decay
    term (with ‖θ‖ = 0 the decay term is 0 anyway) — and so does this function; a
    zero-initialised layer therefore starts with plain SGD steps instead of never
    moving.

    Paper: You, Gitman & Ginsburg (2017), arXiv:1708.03888. Reference code: NVIDIA
    apex, ``apex.parallel.LARC`` (scaling mode) composed with ``torch.optim.SGD``.
    """
    xp = get_array_module(param)
    local_lr = 1.0
    if not exclude:
        param_norm = float(xp.linalg.norm(param))
        grad_norm = float(xp.linalg.norm(grad))
        if param_norm != 0 and grad_norm != 0:
            local_lr = trust_coefficient * param_norm / (
                grad_norm + weight_decay * param_norm + eps)
            grad = (grad + weight_decay * param) * local_lr  # new array: grad is p.grad
    momentum_buffer *= momentum
    momentum_buffer += grad
    step = grad + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * step
    return local_lr


def lars_param_groups(model_or_named_params, weight_decay: Optional[float] = None) -> list:
    """The usual LARS recipe: adapt and decay the weights, leave 1-D parameters alone.

    Parameters
    ----------
    model_or_named_params : Module or iterable
        A model (anything with ``named_parameters()``), ``(name, tensor)`` pairs, or
        plain tensors.
    weight_decay : float or None, default None
        Weight decay of the first group; None leaves it to the optimizer's
        ``weight_decay``.

    Returns
    -------
    list of two dicts
        ``{"params": weights}`` — every parameter with two or more dimensions (weight
        matrices, convolution kernels): trust ratio and weight decay — and
        ``{"params": others, "weight_decay": 0.0, "lars_exclude": True}`` — biases and
        normalisation gains and shifts (0-D and 1-D): plain momentum SGD. Names are
        kept when given (the groups' ``param_names``). Either group may be empty.

    Examples
    --------
    >>> from minigrad import nn
    >>> from optim.lars import LARS, lars_param_groups
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    >>> opt = LARS(lars_param_groups(model, weight_decay=1e-4), lr=0.5)
    >>> [g["param_names"] for g in opt.param_groups]
    [['0.weight', '2.weight'], ['0.bias', '1.weight', '1.bias', '2.bias']]
    >>> [(g["weight_decay"], g["lars_exclude"]) for g in opt.param_groups]
    [(0.0001, False), (0.0, True)]
    """
    if hasattr(model_or_named_params, "named_parameters"):
        items = list(model_or_named_params.named_parameters())
    else:
        items = list(model_or_named_params)
    adapted, excluded = [], []
    for item in items:
        p = item[1] if isinstance(item, tuple) else item
        (adapted if len(p.shape) >= 2 else excluded).append(item)
    weights = {"params": adapted}
    if weight_decay is not None:
        weights["weight_decay"] = weight_decay
    return [weights, {"params": excluded, "weight_decay": 0.0, "lars_exclude": True}]


class LARS(Optimizer):
    """LARS: layer-wise adaptive rate scaling for large-batch SGD (You et al., 2017).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (see :func:`lars_param_groups`).
    lr : float
        Global learning rate η (required). Each layer's step is about
        η·trust_coefficient·‖θ‖, so η is much larger than for SGD (1 to 10).
    momentum : float, default 0.9
        Momentum factor μ, in [0, 1).
    weight_decay : float, default 0
        L2 weight decay λ: added to the gradient before the rescaling, and to the
        denominator of the local learning rate.
    trust_coefficient : float, default 0.001
        η_tc, the fraction of ‖θ‖ a step may move (before η and momentum); > 0.
    eps : float, default 1e-8
        ε in the denominator of the local learning rate.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0).
    lars_exclude : bool, default False
        Group option: ``True`` takes plain momentum-SGD steps, without the local
        learning rate and without weight decay (the group's ``weight_decay`` is not
        used). Usually set per group, for biases and normalisation weights.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach, capturable, differentiable, fused
        PyTorch's implementation switches: accepted so that PyTorch code runs,
        ignored and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``momentum_buffer`` (v, starts at 0) and ``trust_ratio`` (a
    Python float: the local learning rate ρ of the latest step, 1.0 for excluded groups).

    Examples
    --------
    >>> import numpy as np
    >>> import minigrad
    >>> from optim.lars import LARS
    >>> w = minigrad.tensor([[3.0, -4.0]], requires_grad=True)   # ‖w‖ = 5
    >>> opt = LARS([w], lr=1.0, trust_coefficient=0.01)
    >>> (w ** 2).sum().backward()                                 # g = 2w, ‖g‖ = 10
    >>> opt.step()
    >>> round(opt.state[w]["trust_ratio"], 6)                     # 0.01 · 5 / 10
    0.005
    >>> round(float(np.linalg.norm(w.data - [[3.0, -4.0]])), 6)   # η·η_tc·‖w‖
    0.05
    """

    ranges = {"lr": Range("learning rate"),
              "momentum": Range("momentum value", 0.0, 1.0, high_open=True),
              "weight_decay": Range("weight_decay value"),
              "trust_coefficient": Range("trust_coefficient value", low_open=True),
              "eps": Range("epsilon value")}
    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float = required, momentum: float = 0.9,
                 weight_decay: float = 0.0, trust_coefficient: float = 0.001,
                 eps: float = 1e-8, nesterov: bool = False, *, lars_exclude: bool = False,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, backend: Optional[str] = None):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coefficient=trust_coefficient, eps=eps, nesterov=nesterov,
                        lars_exclude=lars_exclude, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _validate_group(self, group: dict) -> None:
        super()._validate_group(group)
        if not isinstance(group["lars_exclude"], (bool, np.bool_)):
            raise ValueError(f"Invalid lars_exclude: {group['lars_exclude']!r} "
                             "(expected True or False)")
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("Nesterov momentum requires a momentum")

    def _init_state(self, p, group: dict) -> dict:
        return {"momentum_buffer": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["trust_ratio"] = lars_update(
            p.data, grad, state["momentum_buffer"], lr=group["lr"],
            momentum=group["momentum"], weight_decay=group["weight_decay"],
            trust_coefficient=group["trust_coefficient"], eps=group["eps"],
            nesterov=group["nesterov"], exclude=bool(group["lars_exclude"]))

"""Adafactor as Shazeer & Stern wrote it, with HuggingFace transformers' arguments.

``transformers.Adafactor`` (ported from fairseq, which follows the authors' Tensor2Tensor
code): relative steps min(10⁻², 1/√t) scaled by the parameter's RMS, ε1 added to g²
before the row and column averages, update clipping, and an optional first moment β1.
It takes the arguments the chapters use::

    AdafactorShazeer(params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0,
                     decay_rate=-0.8, beta1=None, weight_decay=0.0,
                     scale_parameter=True, relative_step=True, warmup_init=False)

``optim.Adafactor(...)`` returns this class whenever it is called with one of those
transformers-only keywords (or ``lr=None``); see :mod:`optim.adafactor` for PyTorch's
variant of the rule.
"""
from __future__ import annotations

import math
from typing import Optional

from minigrad.backend import get_array_module

from .adafactor import EpsilonPair, _rms
from .checks import Range
from .optimizer import Optimizer


def adafactor_step_size(step: int, param_rms: float, *, lr: Optional[float], eps2: float,
                        scale_parameter: bool, relative_step: bool,
                        warmup_init: bool) -> float:
    """The step size α_t of step t (counting from 1), as transformers computes it.

    ::

        ρ ← min(10⁻², 1/√t)       relative_step            (the paper's schedule)
        ρ ← min(10⁻⁶·t, 1/√t)     relative_step and warmup_init (linear warm-up first)
        ρ ← lr                    otherwise
        α ← max(ε2, RMS(θ))·ρ     scale_parameter, else α ← ρ

    >>> adafactor_step_size(4, 0.5, lr=None, eps2=1e-3, scale_parameter=True,
    ...                     relative_step=True, warmup_init=False)  # 0.5 · 0.01
    0.005
    """
    rho = lr
    if relative_step:
        cap = 1e-6 * step if warmup_init else 1e-2
        rho = min(cap, 1.0 / math.sqrt(step))
    scale = max(eps2, param_rms) if scale_parameter else 1.0
    return scale * rho


def factored_second_moment(exp_avg_sq_row, exp_avg_sq_col, squared, beta2: float) -> tuple:
    """The factored second moment of G = g² + ε1: updates R and C in place and returns
    the factors (1/√(R / mean R), 1/√C), whose outer product times g is U::

        R ← β̂2·R + (1 − β̂2)·mean_j G,   C ← β̂2·C + (1 − β̂2)·mean_i G
    """
    xp = get_array_module(squared)
    exp_avg_sq_row *= beta2
    exp_avg_sq_row += (1.0 - beta2) * squared.mean(axis=-1)
    exp_avg_sq_col *= beta2
    exp_avg_sq_col += (1.0 - beta2) * squared.mean(axis=-2)
    row_factor = 1.0 / xp.sqrt(exp_avg_sq_row / exp_avg_sq_row.mean(axis=-1, keepdims=True))
    col_factor = 1.0 / xp.sqrt(exp_avg_sq_col)
    return row_factor, col_factor


def adafactor_shazeer_update(param, grad, exp_avg_sq_row, exp_avg_sq_col, exp_avg_sq,
                             exp_avg=None, *, step: int, lr: Optional[float], eps1: float,
                             eps2: float, clip_threshold: float, decay_rate: float,
                             beta1: Optional[float], weight_decay: float = 0.0,
                             scale_parameter: bool = True, relative_step: bool = True,
                             warmup_init: bool = False) -> float:
    """One Adafactor step (Shazeer & Stern, as transformers computes it), in place.

    Returns the step size α_t it used (a Python float; see :func:`adafactor_step_size`).

    A parameter with two or more dimensions (n×m in its last two) passes
    ``exp_avg_sq_row`` (shape ``(..., n)``) and ``exp_avg_sq_col`` (shape ``(..., m)``)
    and ``exp_avg_sq=None``; a vector passes ``exp_avg_sq`` (its shape) and None for the
    other two. ``exp_avg`` (the parameter's shape) is needed only when β1 is not None.
    With g the gradient, t = ``step`` (t = 1 on the first one), RMS(x) = √(mean x²)::

        α ← step size from t and RMS(θ)       (θ before this step)
        β̂2 ← 1 − t^decay_rate                 (0 on the first step, then → 1)
        G ← g² + ε1
        matrices:  R ← β̂2·R + (1 − β̂2)·mean_j G     (n row averages)
                   C ← β̂2·C + (1 − β̂2)·mean_i G     (m column averages)
                   U ← g / √(R·C / mean_i R)        (R·C/mean R: the n×m estimate of V)
        vectors:   V ← β̂2·V + (1 − β̂2)·G,  U ← g / √V
        U ← α·U / max(1, RMS(U)/clip_threshold)      (update clipping)
        m ← β1·m + (1 − β1)·U,  U ← m         with β1 (an average of whole steps)
        θ ← θ − λ·α·θ − U                     (weight decay λ, scaled by α)

    Paper: Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear
    Memory Cost", ICML 2018, arXiv:1804.04235, Algorithms 4-5 with relative step
    sizes (Section 8) and update clipping (Section 6). The code followed is
    transformers' ``Adafactor`` (fairseq's, which follows the authors' Tensor2Tensor
    code); where it departs from the paper this function follows the code:

    * the paper's factors are sums of G over rows and columns; the code uses means,
      which give the same V estimate (the 1/n and 1/m cancel in R·C/ΣR);
    * β1 averages the already clipped, α-scaled steps, not the gradients (the paper's
      Section 7 discusses momentum but leaves it out of its algorithms);
    * ``warmup_init`` (ρ = min(10⁻⁶·t, 1/√t)) and ``weight_decay`` are not in the
      paper; the decay is multiplied by α, the step size, like the update;
    * with ``relative_step=False`` the caller's ``lr`` replaces ρ, and
      ``scale_parameter=False`` drops the RMS(θ) factor.
    """
    xp = get_array_module(param)
    step_size = adafactor_step_size(step, _rms(param), lr=lr, eps2=eps2,
                                    scale_parameter=scale_parameter,
                                    relative_step=relative_step, warmup_init=warmup_init)
    beta2 = 1.0 - step ** decay_rate
    squared = grad * grad + eps1  # new array: grad is p.grad
    if exp_avg_sq_row is not None:
        row_factor, col_factor = factored_second_moment(exp_avg_sq_row, exp_avg_sq_col,
                                                        squared, beta2)
        update = row_factor[..., :, None] * col_factor[..., None, :] * grad
    else:
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * squared
        update = grad / xp.sqrt(exp_avg_sq)
    update *= step_size / max(1.0, _rms(update) / clip_threshold)
    if beta1 is not None:
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * update
        update = exp_avg
    if weight_decay != 0:
        param -= (weight_decay * step_size) * param
    param -= update
    return step_size


class AdafactorShazeer(Optimizer):
    """Adafactor with relative steps and parameter scaling, as ``transformers.Adafactor``.

    ``optim.Adafactor`` builds one of these when given transformers' arguments, so the
    chapters' calls run as written::

        Adafactor(model.parameters(), scale_parameter=True, relative_step=True,
                  warmup_init=True, lr=None)        # step sizes chosen for you
        Adafactor(model.parameters(), lr=1e-3, scale_parameter=False,
                  relative_step=False)              # a fixed lr, like Adam

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float or None, default None
        External learning rate; must be None with ``relative_step=True`` (the step size
        is then computed) and a number with ``relative_step=False``.
    eps : (float, float), default (1e-30, 1e-3)
        ε1, added to g² before averaging (keeps √V away from 0), and ε2, the smallest
        parameter scale in the step size.
    clip_threshold : float, default 1.0
        d > 0: the unscaled update's RMS is clipped at d.
    decay_rate : float, default -0.8
        c ≤ 0 in β̂2_t = 1 − t^c (c = 0 keeps no history: V is the latest G).
    beta1 : float or None, default None
        First-moment decay in [0, 1); None keeps no first moment (the memory saving
        Adafactor is known for).
    weight_decay : float, default 0
        λ: θ ← θ − λ·α_t·θ, scaled by the step size α_t.
    scale_parameter : bool, default True
        Multiply the step size by max(ε2, RMS(θ)): steps relative to the weights' size.
    relative_step : bool, default True
        Step size ρ_t = min(10⁻², 1/√t) instead of ``lr``.
    warmup_init : bool, default False
        With ``relative_step``: ρ_t = min(10⁻⁶·t, 1/√t), a linear warm-up.
    maximize : bool, default False
        Maximise the objective (not in transformers; added for symmetry).

    Notes
    -----
    State per parameter: ``step`` (int); ``exp_avg_sq_row`` (shape ``(..., n)``) and
    ``exp_avg_sq_col`` (shape ``(..., m)``) for a parameter with two or more
    dimensions, ``exp_avg_sq`` (its shape) for a vector; ``exp_avg`` (its shape) when
    ``beta1`` is set; ``step_size`` (a Python float, α_t of the latest step: read it to
    see the learning rate Adafactor chose).

    Examples
    --------
    >>> import minigrad
    >>> from optim.adafactor import Adafactor
    >>> w = minigrad.tensor([[1.0, -2.0, 3.0], [0.5, 1.0, -1.5]], requires_grad=True)
    >>> opt = Adafactor([w], scale_parameter=True, relative_step=True, warmup_init=True,
    ...                 lr=None)
    >>> type(opt).__name__
    'AdafactorShazeer'
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> opt.state[w]["exp_avg_sq_row"].shape, opt.state[w]["exp_avg_sq_col"].shape
    ((2,), (3,))
    >>> round(opt.state[w]["step_size"] / 1e-6, 3)  # warm-up: 10⁻⁶·t·RMS(w), t = 1
    1.708
    """

    ranges = {"lr": Range("learning rate", optional=True),
              "eps": EpsilonPair(),
              "clip_threshold": Range("clip_threshold value", low_open=True),
              "decay_rate": Range("decay_rate value", -math.inf, 0.0, low_open=True),
              "beta1": Range("beta1 value", 0.0, 1.0, high_open=True, optional=True),
              "weight_decay": Range("weight_decay value")}
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: Optional[float] = None, eps: tuple = (1e-30, 1e-3),
                 clip_threshold: float = 1.0, decay_rate: float = -0.8,
                 beta1: Optional[float] = None, weight_decay: float = 0.0,
                 scale_parameter: bool = True, relative_step: bool = True,
                 warmup_init: bool = False, *, maximize: bool = False,
                 backend: Optional[str] = None):
        defaults = dict(lr=lr, eps=eps, clip_threshold=clip_threshold,
                        decay_rate=decay_rate, beta1=beta1, weight_decay=weight_decay,
                        scale_parameter=scale_parameter, relative_step=relative_step,
                        warmup_init=warmup_init, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _validate_group(self, group: dict) -> None:
        super()._validate_group(group)
        if group["lr"] is not None and group["relative_step"]:
            raise ValueError("Cannot combine manual `lr` and `relative_step=True` options "
                             "(pass lr=None, or relative_step=False to use lr)")
        if group["lr"] is None and not group["relative_step"]:
            raise ValueError("Invalid learning rate: None (relative_step=False needs a "
                             "learning rate lr)")
        if group["warmup_init"] and not group["relative_step"]:
            raise ValueError("`warmup_init=True` requires `relative_step=True`")

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        shape = tuple(p.data.shape)
        state: dict = {"step": 0}
        if len(shape) >= 2:
            state["exp_avg_sq_row"] = xp.zeros(shape[:-1], dtype=p.data.dtype)
            state["exp_avg_sq_col"] = xp.zeros(shape[:-2] + shape[-1:], dtype=p.data.dtype)
        else:
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        if group["beta1"] is not None:
            state["exp_avg"] = xp.zeros_like(p.data)
        return state

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        if group["beta1"] is not None and "exp_avg" not in state:  # beta1 set later on
            state["exp_avg"] = p.xp.zeros_like(p.data)
        eps1, eps2 = group["eps"]
        state["step_size"] = adafactor_shazeer_update(
            p.data, grad, state.get("exp_avg_sq_row"), state.get("exp_avg_sq_col"),
            state.get("exp_avg_sq"), state.get("exp_avg"), step=state["step"],
            lr=group["lr"], eps1=eps1, eps2=eps2, clip_threshold=group["clip_threshold"],
            decay_rate=group["decay_rate"], beta1=group["beta1"],
            weight_decay=group["weight_decay"], scale_parameter=group["scale_parameter"],
            relative_step=group["relative_step"], warmup_init=group["warmup_init"])

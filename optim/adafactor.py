"""Adafactor: a second moment kept as one row and one column average per weight matrix.

PyTorch's ``torch.optim.Adafactor``: same arguments, defaults, state names and update
rule. For an n×m weight, Adam keeps n·m second-moment numbers; Adafactor keeps n row
averages and m column averages of g² and rebuilds the n×m estimate from them when it
needs it, so the state costs O(n + m) memory instead of O(n·m).

Two spellings of Adafactor are in use, and ``Adafactor(...)`` accepts both:

* PyTorch's (this class): ``Adafactor(params, lr=1e-2, beta2_decay=-0.8,
  eps=(None, 1e-3), d=1.0, weight_decay=0.0)``;
* HuggingFace transformers' (the chapters' calls): ``Adafactor(params, lr=None,
  eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None, weight_decay=0.0,
  scale_parameter=True, relative_step=True, warmup_init=False)``.

A call that passes any of transformers' own keywords (``clip_threshold``, ``decay_rate``,
``beta1``, ``scale_parameter``, ``relative_step``, ``warmup_init``) or ``lr=None``
returns an :class:`optim.adafactor_shazeer.AdafactorShazeer` instead: the rule as
Shazeer & Stern wrote it and transformers implements it (relative steps, parameter
scaling, optional momentum). The two rules differ in where ε1 goes and in what ``lr``
means, so they are two classes; the dispatch only saves you from renaming the call.
Pass transformers' arguments by keyword (after ``lr`` the two positional orders differ).
"""
from __future__ import annotations

import math
from typing import Optional

from minigrad.backend import get_array_module

from .checks import Range, check_range
from .optimizer import Optimizer

#: Keywords that only transformers' Adafactor has: passing one selects AdafactorShazeer.
TRANSFORMERS_KEYWORDS = ("clip_threshold", "decay_rate", "beta1", "scale_parameter",
                         "relative_step", "warmup_init")
#: Keywords that only PyTorch's Adafactor has (they cannot be mixed with the ones above).
PYTORCH_KEYWORDS = ("beta2_decay", "d", "foreach")


def _rms(array) -> float:
    """Root mean square of all entries, as a Python float (0 for an empty array)."""
    if array.size == 0:
        return 0.0
    xp = get_array_module(array)
    return float(xp.linalg.norm(array.ravel())) / math.sqrt(array.size)


def adafactor_update(param, grad, row_var, col_var, variance, *, step: int, lr: float,
                     beta2_decay: float, eps1: Optional[float], eps2: float, d: float,
                     weight_decay: float = 0.0) -> None:
    """One Adafactor step as PyTorch computes it, in place on ``param`` and the state.

    A parameter with two or more dimensions (n×m in its last two) passes ``row_var``
    (shape ``(..., n, 1)``) and ``col_var`` (shape ``(..., 1, m)``) and
    ``variance=None``; a vector or scalar passes ``variance`` (its own shape) and None
    for the other two. With g the gradient, t = ``step`` (counting this step, so t = 1
    on the first one), τ = ``beta2_decay``, RMS(x) = √(mean of x²)::

        w ← t^τ                               (1 − β̂2_t: 1 on the first step, then → 0)
        ρ ← min(η, 1/√t)                      (relative step size, at most lr η)
        α ← max(ε2, RMS(θ))·ρ                 (RMS of θ before this step)
        θ ← (1 − η·λ)·θ                       (decoupled weight decay λ)
        matrices:  R ← R + w·(mean_j g² − R)  (row averages of g², n numbers)
                   C ← C + w·(mean_i g² − C)  (column averages of g², m numbers)
                   V̂ ← R·C / max(mean_i R, ε1)   (outer product: the n×m estimate)
        vectors:   V ← V + w·(g² − V),  V̂ ← V
        U ← g / √max(V̂, ε1²)
        θ ← θ − α·U / max(1, RMS(U)/d)        (clip the update's RMS at d)

    ``eps1=None`` means the machine epsilon of ``param``'s dtype (2.2e-16 for float64,
    1.2e-7 for float32; PyTorch takes it from the first parameter of the group, which
    is the same unless one group mixes dtypes). Why R·C/mean(R) rebuilds V: if g² were exactly rank one,
    g²_ij = a_i·b_j, then R_i = a_i·mean(b), C_j = mean(a)·b_j and mean(R) =
    mean(a)·mean(b), so R_i·C_j/mean(R) = a_i·b_j. Using means instead of the paper's
    sums gives the same ratio.

    This follows ``torch.optim.Adafactor`` (PyTorch ≥ 2.5), which departs from the
    paper in three places (its documentation says so): ``lr`` caps ρ (the paper fixes
    the cap at 0.01) and scales the weight decay (the paper has none); ε1 is applied
    as a floor on mean(R) and on V̂ instead of being added to g² before averaging; and
    there is no first moment (no β1).

    Paper: Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear
    Memory Cost", ICML 2018, arXiv:1804.04235, Algorithms 4 and 5. Code followed:
    PyTorch's ``torch/optim/_adafactor.py`` (single-tensor path).
    """
    xp = get_array_module(param)
    if eps1 is None:
        eps1 = float(xp.finfo(param.dtype).eps)
    weight = step ** beta2_decay
    rho = min(lr, 1.0 / math.sqrt(step))
    alpha = max(eps2, _rms(param)) * rho
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    squared = grad * grad  # new array: grad is p.grad
    if row_var is not None:
        row_var += weight * (squared.mean(axis=-1, keepdims=True) - row_var)
        col_var += weight * (squared.mean(axis=-2, keepdims=True) - col_var)
        row_mean = xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        var_estimate = row_var * col_var / row_mean
    else:
        variance += weight * (squared - variance)
        var_estimate = variance
    update = grad / xp.sqrt(xp.maximum(var_estimate, eps1 * eps1))
    scale = alpha / max(1.0, _rms(update) / d)
    param -= scale * update


class EpsilonPair:
    """Adafactor's ``eps = (ε1, ε2)``: two numbers ≥ 0 (ε1 may be None if allowed).

    >>> EpsilonPair(first_optional=True)((None, 1e-3))
    >>> EpsilonPair()((-1.0, 1e-3))
    Traceback (most recent call last):
    ...
    ValueError: Invalid epsilon1 value: -1.0 (allowed range [0.0, inf])
    """

    def __init__(self, first_optional: bool = False):
        self.first_optional = first_optional

    def __call__(self, value) -> None:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ValueError(f"Invalid eps: {value!r} (expected a pair (eps1, eps2))")
        if not (value[0] is None and self.first_optional):
            check_range("epsilon1 value", value[0])
        check_range("epsilon2 value", value[1])

    def __repr__(self) -> str:
        return f"EpsilonPair(first_optional={self.first_optional})"


def _asks_for_transformers(args: tuple, kwargs: dict) -> bool:
    """Whether an ``Adafactor(...)`` call is written in transformers' arguments."""
    lr = kwargs["lr"] if "lr" in kwargs else (args[1] if len(args) > 1 else 1e-2)
    return lr is None or any(key in kwargs for key in TRANSFORMERS_KEYWORDS)


class Adafactor(Optimizer):
    """Adafactor with a factored second moment, as ``torch.optim.Adafactor``.

    Called with transformers' arguments (``relative_step``, ``scale_parameter``,
    ``warmup_init``, ``clip_threshold``, ``decay_rate``, ``beta1`` or ``lr=None``) it
    returns an :class:`~optim.adafactor_shazeer.AdafactorShazeer` instead (see the
    module docstring), so that both ``torch.optim.Adafactor`` and
    ``transformers.Adafactor`` code runs unchanged.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-2
        Learning rate η. Not a step size: it caps the relative step ρ = min(η, 1/√t),
        and scales the weight decay. The step moves θ by about ρ·max(ε2, RMS(θ)).
    beta2_decay : float, default -0.8
        τ ≤ 0: the second moment averages with weight 1 − β̂2_t = t^τ on the new g²,
        so β̂2_t = 1 − t^τ grows towards 1 as training goes on.
    eps : (float or None, float), default (None, 1e-3)
        ε1, the floor on the second-moment estimate (None: the machine epsilon of the
        parameter's dtype), and ε2, the smallest parameter scale used in α.
    d : float, default 1.0
        Clipping threshold (≥ 1): the update's RMS is clipped at d.
    weight_decay : float, default 0
        Decoupled weight decay λ: θ ← (1 − ηλ)·θ before the step.
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    foreach
        PyTorch's implementation switch: accepted so that PyTorch code runs, ignored
        and not stored in the groups (there is one implementation here).

    Notes
    -----
    State per parameter: ``step`` (int); for a parameter with two or more dimensions
    ``row_var`` (shape ``(..., n, 1)``) and ``col_var`` (shape ``(..., 1, m)``), the
    row and column averages of g² over its last two dimensions; for a vector or
    scalar ``variance`` (the parameter's shape).

    Examples
    --------
    >>> import minigrad
    >>> from optim.adafactor import Adafactor
    >>> w = minigrad.tensor([[1.0, -2.0, 3.0], [0.5, 1.0, -1.5]], requires_grad=True)
    >>> opt = Adafactor([w])
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> opt.state[w]["row_var"].shape, opt.state[w]["col_var"].shape  # 2 + 3 numbers
    ((2, 1), (1, 3))
    >>> round(float(abs(w.data[0, 0] - 1.0)), 4)  # ≈ ρ·RMS(w) = 0.01·1.708
    0.0171
    """

    ranges = {"lr": Range("learning rate"),
              "beta2_decay": Range("beta2_decay value", -math.inf, 0.0, low_open=True),
              "eps": EpsilonPair(first_optional=True),
              "d": Range("clipping threshold d", 1.0),
              "weight_decay": Range("weight_decay value")}
    state_names = ("variance",)

    def __new__(cls, *args, **kwargs):
        if cls is Adafactor and _asks_for_transformers(args, kwargs):
            from .adafactor_shazeer import AdafactorShazeer

            mixed = [key for key in PYTORCH_KEYWORDS if key in kwargs]
            if mixed:
                raise TypeError(
                    f"Adafactor got transformers' arguments together with PyTorch's "
                    f"{', '.join(mixed)}: use one spelling (optim.AdafactorShazeer for "
                    "transformers' arguments)")
            return AdafactorShazeer(*args, **kwargs)  # not an Adafactor: no second __init__
        return super().__new__(cls)

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 backend: Optional[str] = None):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        shape = tuple(p.data.shape)
        if len(shape) >= 2:
            return {"step": 0,
                    "row_var": xp.zeros(shape[:-1] + (1,), dtype=p.data.dtype),
                    "col_var": xp.zeros(shape[:-2] + (1,) + shape[-1:], dtype=p.data.dtype)}
        return {"step": 0, "variance": xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        eps1, eps2 = group["eps"]
        adafactor_update(
            p.data, grad, state.get("row_var"), state.get("col_var"), state.get("variance"),
            step=state["step"], lr=group["lr"], beta2_decay=group["beta2_decay"],
            eps1=eps1, eps2=eps2, d=group["d"], weight_decay=group["weight_decay"])

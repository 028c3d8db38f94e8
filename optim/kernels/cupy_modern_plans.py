"""The host half of the modern optimizers' GPU kernels: *staged* plans.

A staged plan is a generator ``plan(p, grad, state, group, **keywords)`` that yields
one ``(rule, scalars, arrays)`` per launch, in order; the caller launches each one
before asking for the next, so the host code between two ``yield`` s (LAMB's norms,
Adafactor's RMS, computed with the array module ``xp``) sees the arrays the previous
launch wrote. As in :mod:`optim.kernels.cupy_plans` the plan does everything else the
reference ``_update`` does: it increments ``state["step"]``, keeps the scalar state
(LAMB's ``trust_ratio``), runs the reductions (Adafactor's row and column averages,
with ``xp`` as the reference writes them) and computes the rules' scalars in float64.
Keywords are what the ``_update`` takes beyond the four arguments:

* SophiaG's ``bs`` (B, the batch size of the step in progress, which its ``_update``
  reads from the optimizer; SophiaH uses B = 1);
* the schedule-free ``lr`` (warmed up) and ``ckp1``, computed once per group by
  ``_ScheduleFree._step``.

These optimizers have a per-parameter kernel only
(:func:`optim.kernels.cupy_elementwise.staged`), no one-launch-per-group kernel:
SophiaH and the schedule-free classes have their own ``_step``, which never asks for a
group kernel, SophiaG's needs the optimizer's ``bs``, and LAMB's and Adafactor's norms
are per parameter. So :data:`MODERN_PLANS` is kept apart from
:data:`optim.kernels.cupy_plans.PLANS`, which the multi-tensor module registers.
Nothing here needs CuPy.

Examples
--------
>>> import numpy as np, minigrad, optim
>>> w = minigrad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
>>> opt = optim.SophiaG([w])
>>> state = opt._init_state(w, opt.param_groups[0])
>>> [(rule.name, len(scalars)) for rule, scalars, arrays
...  in sophia_plan(w, None, state, opt.param_groups[0], bs=32)]
[('sophia', 6)]
>>> state["step"]
1
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..adafactor import Adafactor, _rms
from ..adafactor_shazeer import AdafactorShazeer, factored_second_moment
from ..lamb import LAMB
from ..schedule_free import AdamWScheduleFree, SGDScheduleFree
from ..sophia import SophiaG, SophiaH
from .cupy_modern_source import MODERN_RULES as RULES
from .cupy_plans import _decay_scalars
from .host import adafactor_shazeer_scalars, adam_bias_corrections


def sophia_plan(p, grad, state: dict, group: dict, *, bs: float = 1.0):
    """SophiaG (B = ``bs``) and SophiaH (B = 1): one launch; ``hessian`` is only read."""
    state["step"] += 1
    lr, beta1 = group["lr"], group["betas"][0]
    scalars = (1 - lr * group["weight_decay"], lr, beta1, 1 - beta1, group["rho"] * bs,
               group["eps"])
    yield RULES["sophia"], scalars, [state["exp_avg"], state["hessian"]]


def sgd_schedule_free_plan(p, grad, state: dict, group: dict, *, lr: float, ckp1: float):
    """Schedule-Free SGD: one launch, with the group's warmed-up ``lr`` and ``ckp1``."""
    scalars = (lr, ckp1, lr * (group["momentum"] * (1 - ckp1) - 1), group["weight_decay"])
    yield RULES["sgd_schedule_free"], scalars, [state["z"]]


def adamw_schedule_free_plan(p, grad, state: dict, group: dict, *, lr: float,
                             ckp1: float):
    """Schedule-Free AdamW: one launch; the bias correction counts the group's steps."""
    beta1, beta2 = group["betas"]
    scalars = (lr, ckp1, lr * (beta1 * (1 - ckp1) - 1), beta2, 1 - beta2,
               1 - beta2 ** (group["k"] + 1), group["eps"], group["weight_decay"])
    yield RULES["adamw_schedule_free"], scalars, [state["z"], state["exp_avg_sq"]]


def lamb_plan(p, grad, state: dict, group: dict):
    """LAMB: the direction r, then (with ‖θ‖ and ‖r‖ taken by ``xp``) θ ← θ − η·τ·r."""
    xp = get_array_module(p.data)
    step, bias_correction1, bias_correction2 = adam_bias_corrections(state, group)
    beta1, beta2 = group["betas"]
    direction = xp.empty_like(state["exp_avg"])
    yield RULES["lamb_direction"], (
        beta1, 1 - beta1, beta2, 1 - beta2, bias_correction1, bias_correction2,
        group["eps"], group["weight_decay"]), [state["exp_avg"], state["exp_avg_sq"],
                                               direction]
    # the reference's norms, on the same arrays: θ (not yet moved) and r
    weight_norm = float(xp.linalg.norm(p.data))
    direction_norm = float(xp.linalg.norm(direction))
    if weight_norm == 0 or direction_norm == 0:
        trust_ratio = 1.0
    else:
        clamp_value = group["clamp_value"]
        phi = weight_norm if clamp_value is None else min(weight_norm, clamp_value)
        trust_ratio = phi / direction_norm
    state["trust_ratio"] = trust_ratio
    yield RULES["lamb_apply"], (group["lr"] * trust_ratio,), [direction]


def adafactor_plan(p, grad, state: dict, group: dict):
    """Adafactor (PyTorch's): the factored averages with ``xp``, U, RMS(U), the step."""
    xp = get_array_module(p.data)
    state["step"] += 1
    step, lr = state["step"], group["lr"]
    eps1, eps2 = group["eps"]
    if eps1 is None:
        eps1 = float(xp.finfo(p.data.dtype).eps)
    weight = step ** group["beta2_decay"]
    alpha = max(eps2, _rms(p.data)) * min(lr, 1.0 / math.sqrt(step))
    if "row_var" in state:  # the reductions, as the reference writes them
        row_var, col_var = state["row_var"], state["col_var"]
        squared = grad * grad
        row_var += weight * (squared.mean(axis=-1, keepdims=True) - row_var)
        col_var += weight * (squared.mean(axis=-2, keepdims=True) - col_var)
        row_mean = xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        variance, accumulate = row_var * col_var / row_mean, 0.0   # V̂, read only
    else:
        variance, accumulate = state["variance"], 1.0              # V, updated by the rule
    update = xp.empty_like(variance)
    yield RULES["adafactor_direction"], (accumulate, weight, eps1 * eps1), [variance, update]
    scale = alpha / max(1.0, _rms(update) / group["d"])
    decay_factor, _ = _decay_scalars(group, decoupled=True)
    yield RULES["adafactor_apply"], (decay_factor, scale), [update]


def adafactor_shazeer_plan(p, grad, state: dict, group: dict):
    """AdafactorShazeer: α and the factored averages with ``xp``, U, RMS(U), the step."""
    xp = get_array_module(p.data)
    step_size, beta2 = adafactor_shazeer_scalars(p, state, group)
    beta1, eps1 = group["beta1"], group["eps"][0]
    update = xp.empty_like(p.data)
    if "exp_avg_sq" in state:  # a vector: the rule updates V itself
        yield (RULES["adafactor_shazeer_vector"], (beta2, 1.0 - beta2, eps1),
               [state["exp_avg_sq"], update])
    else:  # the reductions, as the reference writes them
        row_factor, col_factor = factored_second_moment(
            state["exp_avg_sq_row"], state["exp_avg_sq_col"], grad * grad + eps1, beta2)
        factor = row_factor[..., :, None] * col_factor[..., None, :]  # read only
        yield RULES["adafactor_shazeer_factored"], (), [factor, update]
    clip_scale = step_size / max(1.0, _rms(update) / group["clip_threshold"])
    weight_decay = group["weight_decay"]
    decay = weight_decay * step_size if weight_decay != 0 else 0.0  # (0·inf would be NaN)
    state["step_size"] = step_size
    if beta1 is None:
        yield RULES["adafactor_shazeer_apply"], (clip_scale, decay), [update]
    else:
        yield (RULES["adafactor_shazeer_apply_momentum"],
               (clip_scale, beta1, 1.0 - beta1, decay), [update, state["exp_avg"]])


#: The staged plan of each modern optimizer class with a GPU kernel, and the keywords
#: its kernel passes on (SophiaG's ``bs`` is read from the optimizer, see
#: :mod:`optim.kernels.cupy_elementwise`).
MODERN_PLANS = {SophiaG: sophia_plan, SophiaH: sophia_plan,
                SGDScheduleFree: sgd_schedule_free_plan,
                AdamWScheduleFree: adamw_schedule_free_plan, LAMB: lamb_plan,
                Adafactor: adafactor_plan, AdafactorShazeer: adafactor_shazeer_plan}

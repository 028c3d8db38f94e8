"""The host half of each GPU kernel: per-step bookkeeping and the kernel's scalars.

A *plan* ``plan(p, grad, state, group) -> (rule, scalars, arrays)`` does, for one
parameter, everything its optimizer's ``_update`` does except the arithmetic on
arrays: it increments ``state["step"]`` where ``_update`` does (NAdam's ``mu_product``
too), creates SGD's momentum buffer on its first step, chooses the
:class:`~optim.kernels.cupy_source.ElementwiseRule`, and computes the rule's scalars
in float64, the way the NumPy reference computes them. ``arrays`` are the state arrays
in the rule's order. The GPU kernels (:mod:`optim.kernels.cupy_elementwise`, one launch
per parameter, and :mod:`optim.kernels.cupy_multi_tensor`, one launch per group) run the
rule with these scalars. Nothing here needs CuPy, so the tests check every plan on the
CPU.

Examples
--------
>>> import numpy as np, minigrad, optim
>>> w = minigrad.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
>>> opt = optim.Adam([w], lr=0.1)
>>> state = opt._init_state(w, opt.param_groups[0])
>>> rule, scalars, arrays = PLANS[optim.Adam](w, None, state, opt.param_groups[0])
>>> rule.name, state["step"], len(scalars) == len(rule.scalars)
('adam', 1, True)
"""
from __future__ import annotations

import math

from minigrad.backend import get_array_module

from ..adadelta import Adadelta
from ..adagrad import Adagrad
from ..adam import Adam
from ..adamax import Adamax
from ..adamw import AdamW
from ..lion import Lion
from ..nadam import NAdam
from ..radam import RAdam, radam_rectification
from ..rmsprop import RMSprop
from ..sgd import SGD
from .cupy_source import RULES
from .host import adam_bias_corrections


def _decay_scalars(group: dict, decoupled: bool) -> tuple:
    """``(decay_factor, weight_decay)``: (1 − ηλ, 0) decoupled, (1, λ) as an L2 penalty."""
    weight_decay = group["weight_decay"]
    if decoupled and weight_decay != 0:
        return 1 - group["lr"] * weight_decay, 0.0
    return 1.0, (0.0 if decoupled else weight_decay)


def sgd_plan(p, grad, state: dict, group: dict):
    lr, momentum = group["lr"], group["momentum"]
    if momentum == 0:
        return RULES["sgd"], (lr, group["weight_decay"]), []
    first_step = state.get("momentum_buffer") is None
    if first_step:  # the reference starts the buffer at g: a buffer the kernel fills
        state["momentum_buffer"] = get_array_module(p.data).empty_like(p.data)
    scalars = (lr, group["weight_decay"], momentum, 1 - group["dampening"],
               float(first_step), float(group["nesterov"]))
    return RULES["sgd_momentum"], scalars, [state["momentum_buffer"]]


def adagrad_plan(p, grad, state: dict, group: dict):
    state["step"] += 1
    clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
    return RULES["adagrad"], (clr, group["weight_decay"], group["eps"]), [state["sum"]]


def rmsprop_plan(p, grad, state: dict, group: dict):
    state["step"] += 1
    alpha, centered, momentum = group["alpha"], group["centered"], group["momentum"] > 0
    name = "rmsprop" + "_centered" * centered + "_momentum" * momentum
    arrays = [state["square_avg"]]
    if centered:
        arrays.append(state["grad_avg"])
    if momentum:
        arrays.append(state["momentum_buffer"])
    scalars = (group["lr"], group["weight_decay"], alpha, 1 - alpha, group["eps"])
    return RULES[name], scalars + (group["momentum"],) * momentum, arrays


def adadelta_plan(p, grad, state: dict, group: dict):
    state["step"] += 1
    rho = group["rho"]
    scalars = (group["lr"], group["weight_decay"], rho, 1 - rho, group["eps"])
    return RULES["adadelta"], scalars, [state["square_avg"], state["acc_delta"]]


def adam_plan(p, grad, state: dict, group: dict):
    step, bias_correction1, bias_correction2 = adam_bias_corrections(state, group)
    beta1, beta2 = group["betas"]
    decay_factor, weight_decay = _decay_scalars(group, group["decoupled_weight_decay"])
    scalars = (decay_factor, weight_decay, beta1, 1 - beta1, beta2, 1 - beta2,
               group["lr"] / bias_correction1, math.sqrt(bias_correction2), group["eps"])
    arrays = [state["exp_avg"], state["exp_avg_sq"]]
    if group["amsgrad"]:
        return RULES["adam_amsgrad"], scalars, arrays + [state["max_exp_avg_sq"]]
    return RULES["adam"], scalars, arrays


def nadam_plan(p, grad, state: dict, group: dict):
    state["step"] += 1
    step, lr, decay = state["step"], group["lr"], group["momentum_decay"]
    beta1, beta2 = group["betas"]
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * decay))
    mu_product = state["mu_product"] * mu
    state["mu_product"] = mu_product
    decay_factor, weight_decay = _decay_scalars(group, group["decoupled_weight_decay"])
    scalars = (decay_factor, weight_decay, beta1, 1 - beta1, beta2, 1 - beta2,
               1 - beta2 ** step, group["eps"], lr * (1 - mu) / (1 - mu_product),
               lr * mu_next / (1 - mu_product * mu_next))
    return RULES["nadam"], scalars, [state["exp_avg"], state["exp_avg_sq"]]


def radam_plan(p, grad, state: dict, group: dict):
    state["step"] += 1
    step, lr = state["step"], group["lr"]
    beta1, beta2 = group["betas"]
    bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
    rectification = radam_rectification(step, beta2)
    decay_factor, weight_decay = _decay_scalars(group, group["decoupled_weight_decay"])
    scalars = (decay_factor, weight_decay, beta1, 1 - beta1, beta2, 1 - beta2,
               bias_correction1, float(rectification is not None), lr,
               lr * (rectification or 0.0),
               math.sqrt(bias_correction2), group["eps"])
    return RULES["radam"], scalars, [state["exp_avg"], state["exp_avg_sq"]]


def adamax_plan(p, grad, state: dict, group: dict):
    state["step"] += 1
    beta1, beta2 = group["betas"]
    scalars = (group["weight_decay"], 1 - beta1, beta2, group["eps"],
               group["lr"] / (1 - beta1 ** state["step"]))
    return RULES["adamax"], scalars, [state["exp_avg"], state["exp_inf"]]


def lion_plan(p, grad, state: dict, group: dict):
    beta1, beta2 = group["betas"]
    decay_factor, _ = _decay_scalars(group, decoupled=True)
    scalars = (decay_factor, group["lr"], beta1, 1 - beta1, beta2, 1 - beta2)
    return RULES["lion"], scalars, [state["exp_avg"]]


#: The plan of each optimizer class that has GPU kernels (AdamW runs Adam's update).
PLANS = {SGD: sgd_plan, Adagrad: adagrad_plan, RMSprop: rmsprop_plan,
         Adadelta: adadelta_plan, Adam: adam_plan, AdamW: adam_plan, NAdam: nadam_plan,
         RAdam: radam_plan, Adamax: adamax_plan, Lion: lion_plan}

"""CuPy twins of the update functions: one fused elementwise kernel per parameter.

Each kernel reads the parameter, its gradient and its state once and writes the
parameter and the state once, where the NumPy reference makes several passes (one per
line of the algorithm). The per-coordinate algebra is the optimizer's rule in
:mod:`optim.kernels.cupy_source`, the per-step scalars come from its plan in
:mod:`optim.kernels.cupy_plans`, and this module only compiles and launches:

* a ``cupy.ElementwiseKernel`` is built once per rule and cached here; CuPy compiles it
  once per dtype combination and device and caches the binary on disk;
* float16 parameters are computed in float32 and stored back in float16; float64 ones
  in float64;
* the state stays where the parameter is: the kernel updates the arrays in place, any
  strides (a non-contiguous parameter is updated where it lives, never a copy).

The modern optimizers (Sophia, Schedule-Free, LAMB, both Adafactors) have *staged* plans
(:mod:`optim.kernels.cupy_modern_plans`): :func:`staged` launches each rule such a plan
yields, so LAMB's norms and Adafactor's averages, taken with ``xp``, sit between two
fused passes; their keywords (the schedule-free ``lr`` and ``ckp1``) pass through.
8-bit Adam has a ``cupy.RawKernel`` of its own (:mod:`optim.kernels.cupy_quantized`),
imported from here so that it registers with the rest.

Loaded by :mod:`optim.kernels` only when CuPy and a GPU are present; it imports without
CuPy too (CuPy is imported when the first kernel is built).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from ..adadelta import Adadelta
from ..adafactor import Adafactor
from ..adafactor_shazeer import AdafactorShazeer
from ..adagrad import Adagrad
from ..adam import Adam
from ..adamax import Adamax
from ..adamw import AdamW
from ..lamb import LAMB
from ..lion import Lion
from ..nadam import NAdam
from ..radam import RAdam
from ..rmsprop import RMSprop
from ..schedule_free import AdamWScheduleFree, SGDScheduleFree
from ..sgd import SGD
from ..sophia import SophiaG, SophiaH
from . import register
from .cupy_modern_plans import (adafactor_plan, adafactor_shazeer_plan,
                                adamw_schedule_free_plan, lamb_plan, sgd_schedule_free_plan,
                                sophia_plan)
from .cupy_plans import (adadelta_plan, adagrad_plan, adam_plan, adamax_plan, lion_plan,
                         nadam_plan, radam_plan, rmsprop_plan, sgd_plan)
from .cupy_source import OPTIONS, ElementwiseRule, elementwise_source


@lru_cache(maxsize=None)
def elementwise_kernel(rule: ElementwiseRule) -> "cupy.ElementwiseKernel":
    """The ``cupy.ElementwiseKernel`` of a rule, built on first use and kept."""
    import cupy

    in_params, out_params, operation, preamble = elementwise_source(rule)
    return cupy.ElementwiseKernel(in_params, out_params, operation,
                                  name=f"{rule.name}_update", preamble=preamble,
                                  options=OPTIONS)


def launch(rule: ElementwiseRule, param, grad, arrays, scalars) -> None:
    """Run ``rule`` once over ``param`` (in place), ``grad`` and the state ``arrays``."""
    if param.size == 0:
        return
    elementwise_kernel(rule)(grad, *map(float, scalars), param, *arrays)


def fused(plan: Callable) -> Callable:
    """The kernel ``fn(p, grad, state, group)`` that runs ``plan``'s rule in one launch."""

    def kernel(p, grad, state: dict, group: dict) -> None:
        rule, scalars, arrays = plan(p, grad, state, group)
        launch(rule, p.data, grad, arrays, scalars)

    kernel.__name__ = plan.__name__.replace("_plan", "_cupy")
    kernel.__doc__ = f"One fused GPU step: the rule chosen by ``{plan.__name__}``."
    return kernel


def staged(plan: Callable) -> Callable:
    """The kernel ``fn(p, grad, state, group, **keywords)`` of a staged plan.

    It launches each rule the plan yields, in order (the plan's host code between two
    yields runs after the launch before it); ``keywords`` go to the plan (the
    schedule-free ``lr`` and ``ckp1``, SophiaG's ``bs``).
    """

    def kernel(p, grad, state: dict, group: dict, **keywords) -> None:
        for rule, scalars, arrays in plan(p, grad, state, group, **keywords):
            launch(rule, p.data, grad, arrays, scalars)

    kernel.__name__ = plan.__name__.replace("_plan", "_cupy")
    kernel.__doc__ = f"The GPU step of ``{plan.__name__}``: one launch per rule it yields."
    return kernel


sgd_cupy = register("cupy", SGD)(fused(sgd_plan))
adagrad_cupy = register("cupy", Adagrad)(fused(adagrad_plan))
rmsprop_cupy = register("cupy", RMSprop)(fused(rmsprop_plan))
adadelta_cupy = register("cupy", Adadelta)(fused(adadelta_plan))
adam_cupy = register("cupy", Adam, AdamW)(fused(adam_plan))
nadam_cupy = register("cupy", NAdam)(fused(nadam_plan))
radam_cupy = register("cupy", RAdam)(fused(radam_plan))
adamax_cupy = register("cupy", Adamax)(fused(adamax_plan))
lion_cupy = register("cupy", Lion)(fused(lion_plan))

# The modern optimizers (plans in cupy_modern_plans): one launch per rule of the plan.
sophia_h_cupy = register("cupy", SophiaH)(staged(sophia_plan))
sgd_schedule_free_cupy = register("cupy", SGDScheduleFree)(staged(sgd_schedule_free_plan))
adamw_schedule_free_cupy = register("cupy", AdamWScheduleFree)(
    staged(adamw_schedule_free_plan))
lamb_cupy = register("cupy", LAMB)(staged(lamb_plan))
adafactor_cupy = register("cupy", Adafactor)(staged(adafactor_plan))
adafactor_shazeer_cupy = register("cupy", AdafactorShazeer)(staged(adafactor_shazeer_plan))


@register("cupy", SophiaG, method=True)
def sophia_g_cupy(optimizer: SophiaG, p, grad, state: dict, group: dict) -> None:
    """SophiaG's ``_update`` on the GPU (B: the optimizer's ``bs`` of this step)."""
    sophia_h_cupy(p, grad, state, group, bs=optimizer._step_bs)

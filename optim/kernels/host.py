"""Host-side bookkeeping that the numba kernels and the CuPy plans share.

A fused kernel does a step's arithmetic on arrays; before it, Python does what the
reference ``_update`` does with scalars: count the step and compute the per-step scalars
in float64, exactly as the reference computes them. Where two backends need the same
scalars, they come from here.
"""
from __future__ import annotations

from minigrad.backend import get_array_module

from ..adafactor import _rms
from ..adafactor_shazeer import adafactor_step_size


def adam_bias_corrections(state: dict, group: dict) -> tuple:
    """Count the step and return ``(step, 1 − β1ᵗ, 1 − β2ᵗ)``, both corrections 1 when
    the group turns ``bias_correction`` off (LAMB's and the teaching switch of Adam)."""
    state["step"] += 1
    step = state["step"]
    beta1, beta2 = group["betas"]
    if not group["bias_correction"]:
        return step, 1.0, 1.0
    return step, 1 - beta1 ** step, 1 - beta2 ** step


def adafactor_shazeer_scalars(p, state: dict, group: dict) -> tuple:
    """Count AdafactorShazeer's step and return ``(α, β̂2)``: the step size from t and
    RMS(θ) and β̂2 = 1 − t^decay_rate; creates the β1 average if β1 was set later on."""
    state["step"] += 1
    step = state["step"]
    if group["beta1"] is not None and "exp_avg" not in state:
        state["exp_avg"] = get_array_module(p.data).zeros_like(p.data)
    step_size = adafactor_step_size(
        step, _rms(p.data), lr=group["lr"], eps2=group["eps"][1],
        scale_parameter=group["scale_parameter"], relative_step=group["relative_step"],
        warmup_init=group["warmup_init"])
    return step_size, 1.0 - step ** group["decay_rate"]

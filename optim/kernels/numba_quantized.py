"""numba kernel of 8-bit Adam (Adam8bit, AdamW8bit): dequantise, step, quantise, per block.

The reference :func:`optim.adam8bit.adam8bit_update` makes five passes over whole arrays
(two dequantisations, Adam's step, two quantisations with their padded copies). Here one
parallel loop runs over the blocks of ``block_size`` elements, and each block does::

    m, v ← D(m_q, a_m), D(v_q, a_v)          dequantise: map[code]·absmax, in float32
    θ ← (1 − η·λ)·θ;  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
    θ ← θ − (η / (1 − β1^t))·m / (√v / √(1 − β2^t) + ε)
    (m_q, a_m), (v_q, a_v) ← Q(m), Q(v)      quantise the block's new moments

with the rules of :func:`optim.quantization.quantize_blockwise`: absmax = max |x| of the
block (NaN or ±inf: stored as NaN, codes of 0), the nearest map entry to x / absmax
(an exact tie goes to the lower entry), and no nonzero value stored as 0.

The moments are float32 whatever the parameter's dtype, as in the reference: a float64
parameter's gradient terms are added to them in float64 and rounded back to float32.
Tensors under ``min_8bit_size`` keep float moments and take AdamW's fused step.
"""
from __future__ import annotations

import math

import numpy as np

from ..adam8bit import Adam8bit, AdamW8bit, adam8bit_update
from ..quantization import SIGNED_DYNAMIC_MAP, UNSIGNED_DYNAMIC_MAP, num_blocks
from . import register
from .numba_adam import adam_kernel
from .numba_common import adam_moments, element_rule, fused, launch, prange


def _midpoints(code_map: np.ndarray) -> np.ndarray:
    """The 255 boundaries between neighbouring map entries (float32, as the reference)."""
    return (code_map[1:] + code_map[:-1]) / 2


SIGNED_MIDPOINTS = _midpoints(SIGNED_DYNAMIC_MAP)
UNSIGNED_MIDPOINTS = _midpoints(UNSIGNED_DYNAMIC_MAP)
SIGNED_ZERO = int(np.searchsorted(SIGNED_DYNAMIC_MAP, np.float32(0.0)))  # the code of 0
UNSIGNED_ZERO = int(np.searchsorted(UNSIGNED_DYNAMIC_MAP, np.float32(0.0)))


@element_rule
def nearest_code(x, midpoints, zero):
    """The code of x ∈ [−1, 1]: how many of the 255 midpoints lie below x (so an exact
    tie goes to the lower entry), moved off the code of 0 towards x's sign if x ≠ 0."""
    code = 0
    for step in (128, 64, 32, 16, 8, 4, 2, 1):          # binary search, 8 halvings
        code += step * (midpoints[code + step - 1] < x)  # (no branch: fast on a CPU)
    if code == zero and x > 0 and zero + 1 <= midpoints.size:
        return zero + 1
    if code == zero and x < 0 and zero > 0:
        return zero - 1
    return code


@element_rule
def quantise_block(values, codes, midpoints, zero):
    """Q of one block: writes ``codes``, returns its absmax (NaN for a non-finite block)."""
    absmax = np.float32(0.0)
    for x in values:
        absmax = np.maximum(absmax, np.abs(x))          # NaN propagates, inf stays inf
    finite = np.isfinite(absmax)
    scale = absmax if finite and absmax > 0 else np.float32(1.0)
    for k in range(values.size):
        normalised = values[k] / scale if finite else np.float32(0.0)
        codes[k] = nearest_code(normalised, midpoints, zero)
    return absmax if finite else np.float32(np.nan)


@fused
def adam8bit_kernel(param, grad, exp_avg_q, exp_avg_sq_q, exp_avg_absmax, exp_avg_sq_absmax,
                    block_size, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, shrink,
                    sqrt_bias_correction2, step_size, decoupled):
    for b in prange(exp_avg_absmax.size):
        start = b * block_size
        stop = min(start + block_size, param.size)
        m_block = np.empty(stop - start, dtype=np.float32)   # the block's new moments
        v_block = np.empty(stop - start, dtype=np.float32)
        for k in range(stop - start):
            i = start + k
            m = SIGNED_DYNAMIC_MAP[exp_avg_q[i]] * exp_avg_absmax[b]     # m ← D(m_q, a_m)
            v = UNSIGNED_DYNAMIC_MAP[exp_avg_sq_q[i]] * exp_avg_sq_absmax[b]
            theta = param[i]
            if decoupled:
                theta = theta * shrink                  # θ ← (1 − η·λ)·θ
            m, v = adam_moments(m, v, grad[i], beta1, one_minus_beta1, beta2,
                                one_minus_beta2)
            m, v = np.float32(m), np.float32(v)         # the moments stay float32
            m_block[k] = m
            v_block[k] = v
            denom = np.sqrt(v) / sqrt_bias_correction2 + eps
            param[i] = theta - step_size * m / denom
        # (m_q, a_m) ← Q(m),  (v_q, a_v) ← Q(v)
        exp_avg_absmax[b] = quantise_block(m_block, exp_avg_q[start:stop],
                                           SIGNED_MIDPOINTS, SIGNED_ZERO)
        exp_avg_sq_absmax[b] = quantise_block(v_block, exp_avg_sq_q[start:stop],
                                              UNSIGNED_MIDPOINTS, UNSIGNED_ZERO)


@register("numba", Adam8bit, AdamW8bit)
def adam8bit_step(p, grad, state: dict, group: dict) -> None:
    """Adam8bit's (and AdamW8bit's) ``_update``: one fused pass, parallel over blocks."""
    step = state["step"] + 1  # stored only after the update succeeded
    beta1, beta2 = group["betas"]
    lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
    bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
    decoupled = weight_decay != 0
    if "exp_avg_q" not in state:  # a small tensor: float moments, AdamW's step
        launch(adam_kernel,  # (no AMSGrad: exp_avg_sq stands in for its unused maximum)
               [p.data, grad, state["exp_avg"], state["exp_avg_sq"], state["exp_avg_sq"]],
               float(beta1), float(1 - beta1), float(beta2), float(1 - beta2), float(eps),
               float(weight_decay), float(1 - lr * weight_decay),
               math.sqrt(bias_correction2), float(lr / bias_correction1), False,
               decoupled, False)
        state["step"] = step
        return
    block_size = group["block_size"]
    codes = (state["exp_avg_q"], state["exp_avg_sq_q"])
    scales = (state["exp_avg_absmax"], state["exp_avg_sq_absmax"])
    blocks = num_blocks(p.data.size, block_size)
    if scales[0].shape[0] != blocks or scales[1].shape[0] != blocks:
        # block_size changed after the state was made: the reference raises its error
        return adam8bit_update(p.data, grad, *codes, *scales, step=step, lr=lr,
                               beta1=beta1, beta2=beta2, eps=eps, block_size=block_size)
    # The uint8 codes and float32 scales go to the kernel as they are (flat, not cast),
    # and so do the float32 numbers of the moments' arithmetic (np.float32 below).
    f32 = np.float32
    launch(adam8bit_kernel, [p.data, grad], codes[0].reshape(-1), codes[1].reshape(-1),
           *scales, block_size, f32(beta1), float(1 - beta1), f32(beta2), float(1 - beta2),
           f32(eps), float(1 - lr * weight_decay), f32(math.sqrt(bias_correction2)),
           f32(lr / bias_correction1), decoupled)
    state["step"] = step

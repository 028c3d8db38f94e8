"""CuPy kernel of 8-bit Adam (Adam8bit, AdamW8bit): one thread block per quantisation block.

The reference :func:`optim.adam8bit.adam8bit_update` makes five passes over whole arrays
(two dequantisations, Adam's step, two quantisations). Here one ``cupy.RawKernel``
does it all: thread block ``b`` owns quantisation block ``b`` (``block_size``
consecutive elements) and runs, like the numba kernel
(:mod:`optim.kernels.numba_quantized`)::

    each thread, for its elements:   m, v <- D(m_q, a_m), D(v_q, a_v)      dequantise
                                     theta, m, v <- Adam's step (float32 moments)
                                     keep m, v in shared memory
    all threads together:            a_m, a_v <- max |m|, max |v| of the block
    each thread, for its elements:   m_q, v_q <- nearest code of m / a_m, v / a_v

The per-element parts are small C functions in :data:`ELEMENT_SOURCE`
(``dequantize``, ``adam_element``, ``nearest_code``, ``normalise``, ``stored_absmax``):
the tests compile that very text with the host's C++ compiler and check it against the
reference element by element. The block-wide maximum is a tree reduction in shared
memory (``nan_max`` keeps a NaN, as NumPy's ``max`` does). The two 256-entry maps and
their 255 midpoints sit in constant memory, written into the source as float32
literals (``%.8e``, nine digits, round-trips a float32 exactly).

The rules are those of :func:`optim.quantization.quantize_blockwise`: a block with a NaN
or inf stores absmax NaN and the code of 0; the code is the number of midpoints below
x / absmax (an exact tie goes to the lower entry, as ``searchsorted(side="left")``);
a nonzero value never takes the code of 0.

Not in the RawKernel, and why:

* tensors under ``min_8bit_size`` keep float moments: AdamW's fused elementwise rule
  (``RULES["adam"]`` of :mod:`optim.kernels.cupy_source`);
* float16 parameters (the reference mixes float16 and float32 in an order one kernel
  would not reproduce), non-contiguous arrays, a block too large for shared memory and
  a ``block_size`` changed after the state was made: the reference itself, on the GPU.

Imports without CuPy (CuPy is imported when the kernel is first built).

Examples
--------
>>> "__global__" in kernel_source("float"), "__global__" in ELEMENT_SOURCE
(True, False)
>>> threads_for(4), threads_for(256), threads_for(1000)
(4, 256, 256)
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..adam8bit import Adam8bit, AdamW8bit, adam8bit_update
from ..quantization import SIGNED_DYNAMIC_MAP, UNSIGNED_DYNAMIC_MAP, num_blocks
from . import cupy_elementwise, register
from .cupy_source import OPTIONS, PREAMBLE, RULES

#: The most threads per thread block (a power of two, for the tree reduction).
MAX_THREADS = 256
#: Shared memory a thread block may use (bytes): the block's m and v, and the reduction.
SHARED_LIMIT = 48 * 1024


def _floats(values) -> str:
    """A C initialiser of float32 values, each written so it reads back exactly."""
    return ", ".join("%.8ef" % float(x) for x in np.asarray(values, dtype=np.float32))


def _constants() -> str:
    """The maps, their midpoints (float32, as the reference takes them) and codes of 0."""
    text = []
    for name, code_map in (("SIGNED", SIGNED_DYNAMIC_MAP), ("UNSIGNED", UNSIGNED_DYNAMIC_MAP)):
        code_map = np.asarray(code_map, dtype=np.float32)
        midpoints = (code_map[1:] + code_map[:-1]) / np.float32(2)
        zero = int(np.searchsorted(code_map, np.float32(0.0)))
        text.append(f"__constant__ float {name}_MAP[256] = {{{_floats(code_map)}}};\n"
                    f"__constant__ float {name}_MIDPOINTS[255] = {{{_floats(midpoints)}}};\n"
                    f"#define {name}_ZERO {zero}\n")
    return "".join(text)


#: The per-element functions (P: the parameter's type, float or double; the moments are
#: always float, as in the reference).
ELEMENT_SOURCE = _constants() + r"""
// D: the value a code stands for, map[code] * absmax (a float32 product).
__device__ __forceinline__ float dequantize(const float* code_map, unsigned char code,
                                            float absmax) {
    return code_map[code] * absmax;
}

// One element of Adam's step with float moments m, v (decoupled weight decay).
// A float64 parameter: the gradient terms are added in double, then rounded to float,
// as NumPy adds a float64 array into a float32 one; the step is taken in float.
__device__ __forceinline__ void adam_element(P& p, P g, float& m, float& v,
        P shrink, int decoupled, float beta1, P one_minus_beta1, float beta2,
        P one_minus_beta2, float eps, float sqrt_bias_correction2, float step_size) {
    if (decoupled) p = p * shrink;                         // p <- (1 - lr wd) p
    m = (float)((P)(m * beta1) + one_minus_beta1 * g);     // m <- b1 m + (1 - b1) g
    v = (float)((P)(v * beta2) + one_minus_beta2 * g * g); // v <- b2 v + (1 - b2) g g
    float denom = sqrtf(v) / sqrt_bias_correction2 + eps;
    p = p - (P)(step_size * m / denom);
}

// Neither NaN nor +inf (an absmax is never negative).
__device__ __forceinline__ bool finite_absmax(float absmax) {
    return absmax == absmax && absmax <= 3.402823466e38f;
}

// x / absmax; 0 in a block with a NaN or inf, and x itself in a block of zeros.
__device__ __forceinline__ float normalise(float x, float absmax) {
    if (!finite_absmax(absmax)) return 0.0f;
    return x / (absmax > 0.0f ? absmax : 1.0f);
}

// What the state keeps as the block's scale: absmax, or NaN for a non-finite block.
__device__ __forceinline__ float stored_absmax(float absmax) {
    return finite_absmax(absmax) ? absmax : nanf("");
}

// The code of x in [-1, 1]: how many of the 255 midpoints lie below x (a binary
// search in 8 halvings; an exact tie goes to the lower entry), then moved off the
// code of 0 towards the sign of x if x is not 0.
__device__ __forceinline__ int nearest_code(float x, const float* midpoints, int zero) {
    int code = 0;
    for (int step = 128; step > 0; step /= 2)
        if (midpoints[code + step - 1] < x) code += step;
    if (code == zero && x > 0.0f && zero + 1 < 256) return zero + 1;
    if (code == zero && x < 0.0f && zero > 0) return zero - 1;
    return code;
}
"""

_KERNEL = r"""
// Thread block b updates quantisation block b. Shared memory: the block's new m and v
// (block_size floats each), then one float per thread for each reduction.
extern "C" __global__ void adam8bit_blockwise(
        P* param, const P* grad, unsigned char* m_q, unsigned char* v_q,
        float* m_absmax, float* v_absmax, long long n, int block_size,
        P shrink, int decoupled, float beta1, P one_minus_beta1, float beta2,
        P one_minus_beta2, float eps, float sqrt_bias_correction2, float step_size) {
    extern __shared__ float shared[];
    float* m_block = shared;
    float* v_block = shared + block_size;
    float* m_max = shared + 2 * block_size;
    float* v_max = m_max + blockDim.x;
    const int t = threadIdx.x;
    const long long start = (long long)blockIdx.x * block_size;
    const int length = (int)min((long long)block_size, n - start);

    // 1. dequantise, Adam's step; this thread's largest |m| and |v|
    float m_local = 0.0f, v_local = 0.0f;
    for (int k = t; k < length; k += blockDim.x) {
        long long i = start + k;
        float m = dequantize(SIGNED_MAP, m_q[i], m_absmax[blockIdx.x]);
        float v = dequantize(UNSIGNED_MAP, v_q[i], v_absmax[blockIdx.x]);
        P p = param[i];
        adam_element(p, grad[i], m, v, shrink, decoupled, beta1, one_minus_beta1,
                     beta2, one_minus_beta2, eps, sqrt_bias_correction2, step_size);
        param[i] = p;
        m_block[k] = m;
        v_block[k] = v;
        m_local = nan_max(m_local, fabsf(m));
        v_local = nan_max(v_local, fabsf(v));
    }
    m_max[t] = m_local;
    v_max[t] = v_local;
    __syncthreads();

    // 2. the block's absmax: halve the number of candidates until one is left
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (t < half) {
            m_max[t] = nan_max(m_max[t], m_max[t + half]);
            v_max[t] = nan_max(v_max[t], v_max[t + half]);
        }
        __syncthreads();
    }
    const float m_scale = m_max[0], v_scale = v_max[0];

    // 3. quantise: the nearest code of each normalised moment, and the block's scales
    for (int k = t; k < length; k += blockDim.x) {
        m_q[start + k] = (unsigned char)nearest_code(normalise(m_block[k], m_scale),
                                                     SIGNED_MIDPOINTS, SIGNED_ZERO);
        v_q[start + k] = (unsigned char)nearest_code(normalise(v_block[k], v_scale),
                                                     UNSIGNED_MIDPOINTS, UNSIGNED_ZERO);
    }
    if (t == 0) {
        m_absmax[blockIdx.x] = stored_absmax(m_scale);
        v_absmax[blockIdx.x] = stored_absmax(v_scale);
    }
}
"""


def kernel_source(ctype: str) -> str:
    """The whole CUDA source for parameters of C type ``ctype`` ("float" or "double")."""
    return f"typedef {ctype} P;\n" + PREAMBLE + ELEMENT_SOURCE + _KERNEL


def threads_for(block_size: int) -> int:
    """Threads per thread block: a power of two, at least ``block_size`` up to 256."""
    return min(MAX_THREADS, 1 << max(0, block_size - 1).bit_length())


def shared_bytes(block_size: int) -> int:
    """Dynamic shared memory of one thread block: m, v, and the two reductions."""
    return 4 * (2 * block_size + 2 * threads_for(block_size))


@lru_cache(maxsize=None)
def raw_kernel(ctype: str) -> "cupy.RawKernel":
    """The ``cupy.RawKernel`` for one parameter type, built on first use and kept."""
    import cupy

    return cupy.RawKernel(kernel_source(ctype), "adam8bit_blockwise", options=OPTIONS)


def _adamw_scalars(group: dict, step: int) -> tuple:
    """The scalars of ``RULES["adam"]`` for AdamW's step (the small tensors' path)."""
    lr, weight_decay = group["lr"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    decay_factor = 1 - lr * weight_decay if weight_decay != 0 else 1.0
    return (decay_factor, 0.0, beta1, 1 - beta1, beta2, 1 - beta2,
            lr / (1 - beta1 ** step), math.sqrt(1 - beta2 ** step), group["eps"])


@register("cupy", Adam8bit, AdamW8bit)
def adam8bit_cupy(p, grad, state: dict, group: dict) -> None:
    """Adam8bit's (and AdamW8bit's) ``_update`` on the GPU: one launch per parameter."""
    step = state["step"] + 1  # stored only after the update succeeded
    if "exp_avg_q" not in state:  # a small tensor: float moments, AdamW's fused rule
        cupy_elementwise.launch(RULES["adam"], p.data, grad,
                                [state["exp_avg"], state["exp_avg_sq"]],
                                _adamw_scalars(group, step))
        state["step"] = step
        return
    beta1, beta2 = group["betas"]
    lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
    block_size = group["block_size"]
    codes = (state["exp_avg_q"], state["exp_avg_sq_q"])
    scales = (state["exp_avg_absmax"], state["exp_avg_sq_absmax"])
    blocks = num_blocks(p.data.size, block_size)
    ctype = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}.get(
        np.dtype(p.data.dtype))
    arrays = (p.data, grad) + codes + scales
    if (ctype is None or grad.dtype != p.data.dtype
            or not all(a.flags.c_contiguous for a in arrays)
            or scales[0].shape[0] != blocks or scales[1].shape[0] != blocks
            or shared_bytes(block_size) > SHARED_LIMIT):
        adam8bit_update(p.data, grad, *codes, *scales, step=step, lr=lr, beta1=beta1,
                        beta2=beta2, eps=eps, weight_decay=weight_decay,
                        block_size=block_size)  # (and its error for a changed block_size)
        state["step"] = step
        return
    if blocks:
        real = np.float32 if ctype == "float" else np.float64
        f32 = np.float32
        raw_kernel(ctype)(
            (blocks,), (threads_for(block_size),),
            (p.data, grad, codes[0], codes[1], scales[0], scales[1],
             np.int64(p.data.size), np.int32(block_size), real(1 - lr * weight_decay),
             np.int32(weight_decay != 0), f32(beta1), real(1 - beta1), f32(beta2),
             real(1 - beta2), f32(eps), f32(math.sqrt(1 - beta2 ** step)),
             f32(lr / (1 - beta1 ** step))),
            shared_mem=shared_bytes(block_size))
    state["step"] = step

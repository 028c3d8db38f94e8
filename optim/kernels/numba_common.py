"""What every numba kernel module shares: the compile options and the launch helper.

A kernel is a loop over flat arrays, ``for i in prange(n)``, that does for element ``i``
exactly what the NumPy reference does for the whole array, in the same order of
operations, so the two agree to the last bit or two. The scalars (β1, 1 − β1, the step
size...) are computed in Python, like the reference does, and cast to the parameter's
dtype before the call, as NumPy casts a Python float that meets a float32 array; so a
float32 parameter is updated in float32 arithmetic, as in the reference.

Compile options: ``parallel=True`` (``prange`` splits the loop over the cores),
``cache=True`` (compiled once per dtype, then loaded from disk), no ``fastmath`` (it would
reorder the arithmetic and change NaN handling), and ``error_model="numpy"`` (x / 0 gives
inf or NaN, as in NumPy, instead of raising). With ``NUMBA_DISABLE_JIT=1`` the kernels run
as plain Python, one element at a time, so a debugger can step through them. Inside a
loop, ``np.sqrt``, ``np.maximum``, ``np.sign`` and ``np.abs`` on single numbers keep the
reference's NaN and inf behaviour in both modes (``math.sqrt`` would raise in Python).

float16 parameters are updated in float32: :func:`launch` widens the arrays, runs the
float32 kernel and stores the results back in float16 (the state stays float16, the
layout the reference keeps).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange  # noqa: F401  (prange: re-exported for the kernel modules)

COMPILE_OPTIONS = dict(parallel=True, cache=True, error_model="numpy")


def fused(loop):
    """Compile ``loop`` as a parallel, disk-cached kernel (see the module docstring)."""
    return njit(**COMPILE_OPTIONS)(loop)


def element_rule(rule):
    """Compile a per-element helper that kernels call inside their loop (inlined there)."""
    return njit(inline="always", error_model="numpy")(rule)


@element_rule
def weight_decayed(theta, g, weight_decay, shrink, use_l2, decoupled):
    """Weight decay, either decoupled, θ ← (1 − ηλ)·θ (``shrink`` = 1 − ηλ), or as L2 in
    the gradient, g ← g + λ·θ. Returns the new (θ, g)."""
    if decoupled:
        theta = theta * shrink
    elif use_l2:
        g = g + weight_decay * theta
    return theta, g


@element_rule
def adam_moments(m, v, g, beta1, one_minus_beta1, beta2, one_minus_beta2):
    """Adam's moments: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g². Returns (m, v)."""
    return m * beta1 + one_minus_beta1 * g, v * beta2 + one_minus_beta2 * g * g


def launch(kernel, arrays: list, *scalars):
    """Run ``kernel`` on the flat views of ``arrays`` and the scalars cast to their dtype.

    ``arrays`` are C-contiguous (the optimizer checks that) and share one float dtype;
    ``reshape(-1)`` is then a view, so the kernel writes into the real arrays. Python
    floats among ``scalars`` become numbers of the arrays' dtype, bools stay bools.
    float16 arrays are widened to float32 first (one copy per distinct array, so aliases
    stay aliases) and the results stored back. Returns what the kernel returns.
    """
    dtype = arrays[0].dtype
    if dtype == np.float16:
        wide = {}
        for array in arrays:
            wide.setdefault(id(array), array.astype(np.float32))
        result = launch(kernel, [wide[id(array)] for array in arrays], *scalars)
        for array in arrays:
            if array.flags.writeable:
                array[...] = wide[id(array)]
        return result
    cast = [dtype.type(value) if isinstance(value, float) else value for value in scalars]
    return kernel(*[array.reshape(-1) for array in arrays], *cast)

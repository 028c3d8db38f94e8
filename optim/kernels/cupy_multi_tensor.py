"""One launch per parameter group: the multi-tensor twin of the elementwise kernels.

A model has many small parameters (biases, norms): one launch each costs a few
microseconds of launch overhead for a few kilobytes of work. Here one launch updates
every contiguous parameter of a group that shares a rule and dtypes. The host builds,
once per step, one int64 table (which tensor each chunk of
:data:`~optim.kernels.cupy_source.CHUNK` elements belongs to, the tensors' sizes, the
addresses of their parameter, gradient and state arrays, and their scalars) and
uploads it in one copy; block ``b`` of the kernel then updates chunk ``b``.
Parameters that are not contiguous, or are empty, take the elementwise kernel.

:func:`group_step` has the per-parameter kernel's contract lifted to a whole group:
``group_step(params, grads, states, group, plan)`` does for every parameter what
``plan`` plus one elementwise launch would do.

Used only when CuPy and a GPU are present; it imports without CuPy too.
"""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np

from . import register_group
from .cupy_elementwise import launch
from .cupy_plans import PLANS
from .cupy_source import CHUNK, CTYPES, OPTIONS, ElementwiseRule, multi_tensor_source

#: Threads per block of the multi-tensor kernel.
THREADS = 256


@lru_cache(maxsize=None)
def multi_tensor_kernel(rule: ElementwiseRule, param_dtype: str, grad_dtype: str,
                        state_dtype: str) -> "cupy.RawKernel":
    """The ``cupy.RawKernel`` of a rule for one dtype combination, built once."""
    import cupy

    source = multi_tensor_source(rule, CTYPES[param_dtype], CTYPES[grad_dtype],
                                 CTYPES[state_dtype])
    return cupy.RawKernel(source, f"{rule.name}_multi_tensor", options=OPTIONS)


def chunk_table(sizes: np.ndarray) -> tuple:
    """``(tensor of each chunk, first element of each chunk)`` for tensors of ``sizes``.

    Examples
    --------
    >>> tensor, first = chunk_table(np.array([3, 2 * CHUNK + 1]))
    >>> tensor.tolist(), (first // CHUNK).tolist()
    ([0, 1, 1, 1], [0, 0, 1, 2])
    """
    chunks = -(-sizes // CHUNK)
    tensor = np.repeat(np.arange(len(sizes), dtype=np.int64), chunks)
    first_chunk = np.repeat(np.cumsum(chunks) - chunks, chunks)
    first = (np.arange(len(tensor), dtype=np.int64) - first_chunk) * CHUNK
    return tensor, first


def launch_many(rule: ElementwiseRule, params: list, grads: list, arrays: list,
                scalars: list) -> None:
    """Update every tensor of one rule and dtype combination in a single launch."""
    import cupy

    sizes = np.array([p.size for p in params], dtype=np.int64)
    tensor, first = chunk_table(sizes)
    columns = [params, grads] + [list(row) for row in zip(*arrays)]
    pointers = np.array([[a.data.ptr for a in column] for column in columns],
                        dtype=np.uint64).view(np.int64)
    scalar_bits = np.array(scalars, dtype=np.float64).view(np.int64)
    table = cupy.asarray(np.concatenate([tensor, first, sizes, pointers.ravel(),
                                         scalar_bits.ravel()]))
    state_dtype = arrays[0][0].dtype if rule.arrays else params[0].dtype
    kernel = multi_tensor_kernel(rule, params[0].dtype.name, grads[0].dtype.name,
                                 state_dtype.name)
    kernel((len(tensor),), (THREADS,), (table, np.int64(len(params)), np.int64(len(tensor))))


def _fits(param, grad, arrays) -> bool:
    """Contiguous, non-empty, and the state arrays of one dtype."""
    every = [param, grad] + list(arrays)
    return (param.size > 0 and all(a.flags.c_contiguous for a in every)
            and len({a.dtype for a in arrays}) <= 1)


def group_step(params: list, grads: list, states: list, group: dict, plan) -> None:
    """One step of every parameter of a group: one launch per rule and dtypes.

    ``params`` are the Tensors that have a gradient, ``grads`` their gradients (negated
    already with ``maximize``), ``states`` their state dicts (already initialised).
    """
    batches = defaultdict(lambda: ([], [], [], []))
    for p, grad, state in zip(params, grads, states):
        rule, scalars, arrays = plan(p, grad, state, group)
        if not _fits(p.data, grad, arrays):
            launch(rule, p.data, grad, arrays, scalars)
            continue
        state_dtype = arrays[0].dtype if arrays else None
        batch = batches[(rule, p.data.dtype, grad.dtype, state_dtype)]
        for column, value in zip(batch, (p.data, grad, arrays, scalars)):
            column.append(value)
    for (rule, *_), (datas, grad_arrays, arrays, scalars) in batches.items():
        launch_many(rule, datas, grad_arrays, arrays, scalars)


def group_kernel(plan):
    """The group kernel ``fn(params, grads, states, group)`` that runs ``plan``'s rule."""

    def kernel(params, grads, states, group) -> None:
        group_step(params, grads, states, group, plan)

    kernel.__name__ = plan.__name__.replace("_plan", "_multi_tensor")
    return kernel


for _cls, _plan in PLANS.items():
    register_group("cupy", _cls)(group_kernel(_plan))

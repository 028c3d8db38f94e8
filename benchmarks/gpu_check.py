"""GPU numbers for the CuPy kernels, in one short run (about a minute on a recent GPU).

Prints the machine, a bandwidth roofline measured in the same run (a fused 4-read /
3-write CuPy pass over 100M float32 elements), and the step time of Adam, AdamW,
SGD-momentum, Lion and Adagrad at 100M parameters and for 200 tensors of 10k:
the NumPy reference running on CuPy arrays, the fused CuPy kernel (one launch per
parameter), the multi-tensor kernel (one launch per group) and, when PyTorch with CUDA
is installed, its fused and foreach implementations. Each time is the median of several
steps, each ended by a device synchronisation. Run by ``benchmarks/gpu_check.sh``.
"""
from __future__ import annotations

import platform
import statistics
import sys
import time

import numpy as np

import minigrad
import optim
from minigrad.backend import cupy_available, synchronize

OPTIMIZERS = {  # name: (class, PyTorch name, arguments, arrays read + written per step)
    "Adam": (optim.Adam, "Adam", dict(lr=1e-3), 7),
    "AdamW": (optim.AdamW, "AdamW", dict(lr=1e-3, weight_decay=1e-2), 7),
    "SGD-momentum": (optim.SGD, "SGD", dict(lr=1e-2, momentum=0.9), 5),
    "Lion": (optim.Lion, None, dict(lr=1e-4), 5),
    "Adagrad": (optim.Adagrad, "Adagrad", dict(lr=1e-2), 5),
}
SIZES = {"100M": [10**8], "200 x 10k": [10**4] * 200}


def median_seconds(step, repeats: int = 10, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def roofline(cupy, n: int = 10**8) -> float:
    """Bytes per second of a fused pass that reads 4 float32 arrays and writes 3."""
    kernel = cupy.ElementwiseKernel("float32 d", "float32 a, float32 b, float32 c",
                                    "float x = a, y = b; a = x + d; c = c + d; b = y;",
                                    "four_reads_three_writes")
    arrays = [cupy.ones(n, dtype=cupy.float32) for _ in range(4)]
    seconds = median_seconds(lambda: kernel(arrays[3], arrays[0], arrays[1], arrays[2]))
    return 7 * 4 * n / seconds


def minigrad_step(cupy, name: str, shapes, how: str):
    cls, _, kwargs, _ = OPTIMIZERS[name]
    rng = cupy.random.default_rng(0)
    params = []
    for n in shapes:
        p = minigrad.tensor(rng.standard_normal(n, dtype=cupy.float32), requires_grad=True)
        p.grad = rng.standard_normal(n, dtype=cupy.float32)
        params.append(p)
    opt = cls(params, backend="numpy" if how == "reference" else "cupy", **kwargs)
    if how != "elementwise":
        return opt.step  # the reference, or the CuPy backend: one launch per group
    from optim.kernels import kernel_for

    kernel = kernel_for(opt, "cupy")
    opt.step()  # creates the state

    def step():  # one launch per parameter
        for group in opt.param_groups:
            for p in group["params"]:
                kernel(p, p.grad, opt.state[p], group)
    return step


def torch_step(name: str, shapes, implementation: str):
    try:
        import torch
    except ImportError:
        return None
    torch_name = OPTIMIZERS[name][1]
    if torch_name is None or not torch.cuda.is_available():
        return None
    params = []
    for n in shapes:
        p = torch.randn(n, device="cuda", requires_grad=True)
        p.grad = torch.randn(n, device="cuda")
        params.append(p)
    try:
        opt = getattr(torch.optim, torch_name)(params, **OPTIMIZERS[name][2],
                                               **{implementation: True})
        opt.step()
    except (RuntimeError, TypeError, ValueError):
        return None

    def step():
        opt.step()
        torch.cuda.synchronize()
    return step


def main() -> int:
    if not cupy_available():
        print("No CuPy or no GPU: nothing to measure.")
        return 1
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    print(f"Machine: {props['name'].decode()}, CuPy {cupy.__version__}, "
          f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, Python "
          f"{platform.python_version()}")
    bandwidth = roofline(cupy)
    print(f"Roofline: fused 4-read/3-write pass, 100M float32: {bandwidth / 1e9:.0f} GB/s\n")
    # "elementwise": one launch per tensor; "cupy": the backend, one launch per group
    columns = ("reference", "elementwise", "cupy", "torch fused", "torch foreach")
    print(f"{'optimizer':<13} {'size':<10} " + " ".join(f"{c:>13}" for c in columns)
          + "   cupy % of roofline")
    for name, (_, _, _, words) in OPTIMIZERS.items():
        for label, shapes in SIZES.items():
            runners = {c: minigrad_step(cupy, name, shapes, c)
                       for c in ("reference", "elementwise", "cupy")}
            runners["torch fused"] = torch_step(name, shapes, "fused")
            runners["torch foreach"] = torch_step(name, shapes, "foreach")
            times = {c: (median_seconds(r) if r is not None else None)
                     for c, r in runners.items()}
            moved = words * 4 * sum(shapes)
            share = moved / times["cupy"] / bandwidth * 100
            cells = " ".join(f"{t * 1e3:>10.3f} ms" if t is not None else f"{'-':>13}"
                             for t in times.values())
            print(f"{name:<13} {label:<10} {cells}   {share:5.1f} %")
            runners.clear()
            cupy.get_default_memory_pool().free_all_blocks()
    return 0


if __name__ == "__main__":
    sys.exit(main())

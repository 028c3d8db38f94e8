"""Optimizer step time per backend, against the memory-bandwidth roofline of this machine.

    python benchmarks/optimizer_step.py [--quick] [--threads N]

For Adam, AdamW, SGD with momentum, Lion and Adagrad, on float32 parameters of 1M and
10M elements (100M on a GPU) and on 200 tensors of 10k elements, one step is timed with
each backend available here: minigrad's ``numpy`` (the reference) and ``numba`` (fused
kernels), PyTorch's ``fused`` and ``foreach`` implementations (when torch is installed)
and minigrad's ``cupy`` (when a GPU is present). Every number is the median of several
steps, all measured in the same run.

An optimizer step is memory-bound: per element, Adam reads θ, g, m, v and writes θ, m, v,
7 × 4 bytes in float32, and does a dozen flops. So the fastest possible step moves those
bytes at the machine's memory bandwidth. The *roofline* is measured here, in the same
run, by a fused numba pass that reads 4 arrays and writes 3 (the Adam pattern) with no
arithmetic to speak of; ``% roofline`` is the step time that bandwidth allows for the
optimizer's bytes, divided by the numba step time.

A second table gives the crossover size where the numba kernel starts to beat NumPy
(the ``"auto"`` backend's threshold, ``optim.kernels.AUTO_NUMBA_MIN_SIZE``), and the
first-call time of each numba kernel (compiling it, or loading it from the disk cache).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import minigrad
import optim
from minigrad.backend import cupy_available

try:
    import torch
except ImportError:  # the PyTorch columns show "–"
    torch = None

try:
    import numba
    from numba import njit, prange
except ImportError:  # the numba columns show "–"
    numba = None

#: name -> (minigrad constructor, torch class name or None, keyword arguments, bytes
#: read + written per element, in units of the parameter's itemsize)
OPTIMIZERS = {
    "Adam": (optim.Adam, "Adam", dict(lr=1e-3), 7),
    "AdamW": (optim.AdamW, "AdamW", dict(lr=1e-3, weight_decay=1e-2), 7),
    "SGD-momentum": (optim.SGD, "SGD", dict(lr=1e-2, momentum=0.9), 5),
    "Lion": (optim.Lion, None, dict(lr=1e-4), 5),
    "Adagrad": (optim.Adagrad, "Adagrad", dict(lr=1e-2), 5),
}


# ------------------------------------------------------------------ timing
def median_time(step, repeats: int, warmup: int = 2) -> float:
    """Median seconds of ``step()`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------ the roofline
if numba is not None:
    @njit(parallel=True, cache=True)
    def _four_reads_three_writes(a, b, c, d):
        for i in prange(a.size):
            x, y, z, w = a[i], b[i], c[i], d[i]
            a[i] = x + w
            c[i] = z + w
            d[i] = y


def roofline_bandwidth(n: int, repeats: int) -> float:
    """Bytes per second of a fused 4-read/3-write pass over float32 arrays of ``n``."""
    if numba is None:
        return float("nan")
    arrays = [np.ones(n, dtype=np.float32) for _ in range(4)]
    seconds = median_time(lambda: _four_reads_three_writes(*arrays), repeats)
    return 7 * 4 * n / seconds


# ------------------------------------------------------------------ the runners
def _minigrad_params(shapes, xp=np):
    rng = np.random.default_rng(0)
    params = []
    for n in shapes:
        p = minigrad.tensor(xp.asarray(rng.standard_normal(n, dtype=np.float32)),
                            requires_grad=True)
        p.grad = xp.asarray(rng.standard_normal(n, dtype=np.float32))
        params.append(p)
    return params


def _minigrad_runner(name: str, shapes, backend: str):
    if backend == "numba" and numba is None:
        return None
    if backend == "cupy" and not cupy_available():
        return None
    xp = np
    if backend == "cupy":
        import cupy as xp  # noqa: F811
    cls, _, kwargs, _ = OPTIMIZERS[name]
    opt = cls(_minigrad_params(shapes, xp), backend=backend, **kwargs)
    if backend == "cupy":
        return lambda: (opt.step(), xp.cuda.Device().synchronize())
    return opt.step


def _torch_runner(name: str, shapes, implementation: str, device: str = "cpu"):
    if torch is None or OPTIMIZERS[name][1] is None:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    _, torch_name, kwargs, _ = OPTIMIZERS[name]
    params = []
    for n in shapes:
        p = torch.randn(n, device=device, requires_grad=True)
        p.grad = torch.randn(n, device=device)
        params.append(p)
    try:
        opt = getattr(torch.optim, torch_name)(params, **kwargs, **{implementation: True})
        opt.step()
    except (RuntimeError, TypeError, ValueError):  # e.g. no fused version on this device
        return None
    if device == "cuda":
        return lambda: (opt.step(), torch.cuda.synchronize())
    return opt.step


# ------------------------------------------------------------------ the tables
COLUMNS = ("numpy", "numba", "torch fused", "torch foreach", "cupy")


def measure_steps(quick: bool) -> list:
    """``(optimizer, size label, bytes moved, {column: seconds or None})`` for every row."""
    sizes = {"1M": [10**6], "10M": [10**7], "200 × 10k": [10**4] * 200}
    if quick:
        del sizes["10M"]
    if cupy_available():
        sizes["100M (GPU)"] = [10**8]
    rows = []
    for name, (_, _, _, words) in OPTIMIZERS.items():
        for label, shapes in sizes.items():
            on_gpu = label.endswith("(GPU)")
            n = sum(shapes)
            device = "cuda" if on_gpu else "cpu"
            runners = {
                "numpy": None if on_gpu else _minigrad_runner(name, shapes, "numpy"),
                "numba": None if on_gpu else _minigrad_runner(name, shapes, "numba"),
                "torch fused": _torch_runner(name, shapes, "fused", device),
                "torch foreach": _torch_runner(name, shapes, "foreach", device),
                "cupy": _minigrad_runner(name, shapes, "cupy") if on_gpu else None,
            }
            repeats = 3 if n >= 10**7 else 10
            times = {c: (median_time(r, repeats) if r is not None else None)
                     for c, r in runners.items()}
            rows.append((name, label, words * 4 * n, times))
            runners.clear()
    return rows


def step_table(rows: list, bandwidth: float) -> str:
    """The markdown table of :func:`measure_steps`, with the roofline at ``bandwidth``."""
    lines = ["| optimizer | parameters | MB moved | " + " | ".join(f"{c} (ms)" for c in COLUMNS)
             + " | roofline (ms) | numba % of roofline |",
             "|---|---|---:|" + "---:|" * (len(COLUMNS) + 2)]
    for name, label, moved, times in rows:
        roofline = moved / bandwidth
        numba_time = times["numba"]
        share = f"{100 * roofline / numba_time:.0f} %" if numba_time else "–"
        cells = [f"{1e3 * times[c]:.2f}" if times[c] is not None else "–" for c in COLUMNS]
        lines.append(f"| {name} | {label} | {moved / 1e6:.0f} | " + " | ".join(cells)
                     + f" | {1e3 * roofline:.2f} | {share} |")
    return "\n".join(lines)


def crossover_table(sizes=(256, 1024, 4096, 16384, 65536)) -> str:
    """Adam step time with numpy and numba for one tensor of each size (the auto threshold)."""
    lines = ["| elements | numpy (µs) | numba (µs) | numba / numpy |", "|---:|---:|---:|---:|"]
    if numba is None:
        return "numba is not installed: no crossover to measure"
    for n in sizes:
        t = {b: median_time(_minigrad_runner("Adam", [n], b), 200, warmup=5)
             for b in ("numpy", "numba")}
        lines.append(f"| {n} | {1e6 * t['numpy']:.1f} | {1e6 * t['numba']:.1f} | "
                     f"{t['numba'] / t['numpy']:.2f} |")
    return "\n".join(lines)


#: Every optimizer with a numba kernel, as the first-call table steps it (SophiaH is left
#: out: it steps only with a closure; its kernel is SophiaG's).
FIRST_CALL = {
    "SGD-momentum": (optim.SGD, dict(lr=1e-2, momentum=0.9)),
    "Adam": (optim.Adam, dict()), "NAdam": (optim.NAdam, dict()),
    "RAdam": (optim.RAdam, dict()), "Adamax": (optim.Adamax, dict()),
    "Adagrad": (optim.Adagrad, dict()), "RMSprop": (optim.RMSprop, dict()),
    "Adadelta": (optim.Adadelta, dict()), "Lion": (optim.Lion, dict()),
    "LAMB": (optim.LAMB, dict()), "Adafactor": (optim.Adafactor, dict()),
    "AdafactorShazeer": (optim.AdafactorShazeer, dict()),
    "SophiaG": (optim.SophiaG, dict()), "SGDScheduleFree": (optim.SGDScheduleFree, dict()),
    "AdamWScheduleFree": (optim.AdamWScheduleFree, dict()),
    "AdamW8bit": (optim.AdamW8bit, dict(min_8bit_size=0)),
}


def first_call_table() -> str:
    """First step of each optimizer with the numba backend: compile, or load from cache."""
    if numba is None:
        return ""
    lines = ["| optimizer | first numba step (s) | compiled or loaded |", "|---|---:|---|"]
    for name, (cls, kwargs) in FIRST_CALL.items():
        # a matrix and a vector: Adafactor's two paths
        opt = cls(_minigrad_params([(40, 25), 1000], np), backend="numba", **kwargs)
        if hasattr(opt, "train"):
            opt.train()  # schedule-free optimizers start in eval mode
        misses_before = _cache_misses()
        start = time.perf_counter()
        opt.step()
        seconds = time.perf_counter() - start
        how = "compiled" if _cache_misses() > misses_before else "loaded from the disk cache"
        lines.append(f"| {name} | {seconds:.2f} | {how} |")
    return "\n".join(lines)


def _cache_misses() -> int:
    """How many kernel signatures numba had to compile so far (not found in its cache)."""
    return sum(sum(k.stats.cache_misses.values()) for k in _numba_dispatchers())


def _numba_dispatchers():
    """Every compiled numba kernel of optim.kernels (loaded by the first numba step)."""
    import sys

    modules = [module for name, module in sys.modules.items()
               if name.startswith("optim.kernels.numba_")]
    return [value for module in modules for value in vars(module).values()
            if hasattr(value, "stats") and hasattr(value, "signatures")]


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = [f"NumPy {np.__version__}"]
    if numba is not None:
        versions.append(f"numba {numba.__version__}")
    if torch is not None:
        versions.append(f"PyTorch {torch.__version__}")
    return f"{os.cpu_count()} cores, {model}; " + ", ".join(versions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10M rows")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for numba and PyTorch (default: all cores)")
    args = parser.parse_args()
    if args.threads:
        if numba is not None:
            numba.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    print(f"Machine: {machine()}\n")
    print(first_call_table(), "\n")
    # the best of two measurements, before and after the table: a machine busy with
    # something else for a moment should not lower the roofline
    bandwidth = roofline_bandwidth(10**7, repeats=10)
    rows = measure_steps(args.quick)
    best = max(bandwidth, roofline_bandwidth(10**7, repeats=10))
    table = step_table(rows, best)
    print(f"Roofline: a fused 4-read/3-write numba pass moves {best / 1e9:.1f} GB/s "
          "(10M float32 elements per array, larger than the caches)\n")
    print(table, "\n")
    print("Rows under 10M elements fit (partly) in the CPU caches, so they can beat the "
          "memory roofline.\n")
    print("Crossover (Adam, one float32 tensor):\n")
    print(crossover_table())


if __name__ == "__main__":
    main()

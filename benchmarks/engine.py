"""Engine speed: a 784-256-128-10 MLP training step and 2-D Rosenbrock, against PyTorch.

    python benchmarks/engine.py [--steps 400] [--threads N]

``--threads N`` limits every thread pool (PyTorch, NumPy's BLAS, numba) to N threads;
on a small machine shared with other work, ``--threads 1`` gives steadier numbers.

Everything is timed in the same run for minigrad and (when importable) PyTorch on the
CPU, and reported as a ratio ``minigrad / torch`` (below 1 means minigrad is faster):

* ``mlp``: one Adam training step of a 784-256-128-10 ReLU MLP with cross-entropy,
  batch 128, float32, broken down into ``zero_grad``, forward (model and loss),
  backward and the optimizer step. The engine's share (zero_grad + forward + backward)
  is dominated by matrix products, so its ratio measures how little the engine adds;
  the optimizer step is timed once per optimizer backend minigrad offers here
  (``numpy``, ``numba`` with the ``fast`` extra, ``auto``).
* ``rosenbrock``: one gradient step on f(x, y) = (1 − x)² + 100(y − x²)², averaged over
  500 steps — tiny arrays, so it measures the Python overhead per op.

The runners take turns in blocks of steps, so a machine that gets busier or quieter
during the run affects all of them alike; each number is the median over all the steps
of a runner. Compare ratios, not absolute times, between runs.
"""
from __future__ import annotations

import os

# OpenMP threads (numba's kernels, PyTorch) otherwise keep spinning on the cores for a
# while after each parallel loop, and on a small machine the next runner's BLAS threads
# then wait for them: the matrix products after a numba step took 3x longer on 2 cores.
# Set before numba or PyTorch load their OpenMP runtime; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402  (after the environment is set)
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigrad  # noqa: E402
import optim  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402

try:
    import torch
except ImportError:  # the comparison rows are skipped
    torch = None

PHASES = ("zero_grad", "forward", "backward", "optimizer", "step")
BACKENDS = ("numpy", "numba", "auto")


# ------------------------------------------------------------------ the MLP step
def _minigrad_mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def _torch_mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))


def _minigrad_adam(params, backend: str):
    """``optim.Adam`` with ``backend=``; None when this backend is not available."""
    try:
        return optim.Adam(params, lr=1e-3, backend=backend)
    except TypeError:  # an optimizer without the backend argument: NumPy only
        return optim.Adam(params, lr=1e-3) if backend == "numpy" else None
    except (ImportError, RuntimeError, ValueError):  # numba missing, say
        return None


def timed_step(model, loss_fn, opt, x, y):
    """A function running one training step (either framework) and returning the
    seconds of each phase: zero_grad, forward, backward, optimizer, the whole step."""
    def step() -> tuple:
        t0 = time.perf_counter()
        model.zero_grad()
        t1 = time.perf_counter()
        loss = loss_fn(model(x), y)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0
    return step


def mlp_step_minigrad(x: np.ndarray, y: np.ndarray, backend: str = "numpy"):
    """A function running one training step and returning the seconds of each phase."""
    minigrad.manual_seed(0)
    model = _minigrad_mlp()
    opt = _minigrad_adam(model.parameters(), backend)
    if opt is None:
        return None
    return timed_step(model, F.cross_entropy, opt, minigrad.tensor(x), minigrad.tensor(y))


def mlp_step_torch(x: np.ndarray, y: np.ndarray):
    torch.manual_seed(0)
    model = _torch_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return timed_step(model, torch.nn.functional.cross_entropy, opt, torch.from_numpy(x),
                      torch.from_numpy(y))


def _time_in_turns(runners: dict, steps: int, block: int = 50, settle: int = 5) -> tuple:
    """Run every runner ``steps`` times, taking turns in blocks; per-phase samples.

    The first ``settle`` steps of each block are run but not recorded: thread pools of
    the runner before (OpenMP, OpenBLAS, numba) may still be spinning on the cores.
    Returns the samples (``{name: list of phase tuples}``) and the duration of each
    runner's very first step (which includes any compilation).
    """
    first = {name: run()[-1] for name, run in runners.items()}
    samples: dict = {name: [] for name in runners}
    while any(len(s) < steps for s in samples.values()):
        for name, run in runners.items():
            for _ in range(settle):
                run()
            for _ in range(min(block, steps - len(samples[name]))):
                samples[name].append(run())
    return samples, first


def _medians(samples: list) -> dict:
    columns = zip(*samples)
    return {phase: statistics.median(values) for phase, values in zip(PHASES, columns)}


def mlp_table(x: np.ndarray, y: np.ndarray, steps: int) -> dict:
    """Median seconds of each phase, per runner, plus engine and step ratios to torch."""
    runners = {}
    for backend in BACKENDS:
        run = mlp_step_minigrad(x, y, backend)
        if run is not None:
            runners[f"minigrad Adam {backend}"] = run
    if torch is not None:
        runners["torch Adam"] = mlp_step_torch(x, y)
    samples, first = _time_in_turns(runners, steps)
    table = {name: _medians(s) for name, s in samples.items()}
    for name, row in table.items():
        row["engine"] = row["zero_grad"] + row["forward"] + row["backward"]
        row["first_step"] = first[name]
    reference = table.get("torch Adam")
    for row in table.values():
        row["engine_ratio"] = row["engine"] / reference["engine"] if reference else None
        row["step_ratio"] = row["step"] / reference["step"] if reference else None
    return table


def print_mlp_table(table: dict, steps: int) -> None:
    print(f"MLP 784-256-128-10, batch 128, float32, Adam: median of {steps} steps, in µs")
    header = ["zero_grad", "forward", "backward", "engine", "optimizer", "step"]
    print(f"{'runner':<22}" + "".join(f"{h:>10}" for h in header)
          + f"{'engine/torch':>13}{'step/torch':>11}{'1st step':>10}")
    for name, row in table.items():
        cells = "".join(f"{row[h] * 1e6:10.0f}" for h in header)
        ratios = "".join(f"{r:{w}.2f}" if r is not None else f"{'-':>{w}}"
                         for r, w in ((row["engine_ratio"], 13), (row["step_ratio"], 11)))
        print(f"{name:<22}{cells}{ratios}{row['first_step'] * 1e3:8.0f}ms")
    print("engine = zero_grad + forward + backward; step = the whole step, "
          "each column a median on its own")


# ------------------------------------------------------------------ Rosenbrock
def _rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rosenbrock_minigrad(steps: int = 500):
    def run():
        p = minigrad.tensor(np.array([-1.0, 1.0]), requires_grad=True)
        for _ in range(steps):
            p.grad = None
            _rosenbrock(p).backward()
            p.data -= 1e-4 * p.grad
    return run


def rosenbrock_torch(steps: int = 500):
    def run():
        p = torch.tensor([-1.0, 1.0], dtype=torch.float64, requires_grad=True)
        for _ in range(steps):
            p.grad = None
            _rosenbrock(p).backward()
            with torch.no_grad():
                p -= 1e-4 * p.grad
    return run


def rosenbrock_row(repeats: int = 5, steps: int = 500) -> dict:
    ours = _median_time(rosenbrock_minigrad(steps), repeats) / steps
    theirs = _median_time(rosenbrock_torch(steps), repeats) / steps if torch else None
    ratio = ours / theirs if theirs else None
    torch_col = f"{theirs * 1e6:8.1f}µs" if theirs else f"{'-':>10}"
    ratio_col = f"{ratio:7.2f}" if ratio else f"{'-':>7}"
    print(f"Rosenbrock 2-D, one gradient step: minigrad {ours * 1e6:8.1f}µs, torch "
          f"{torch_col}, ratio {ratio_col}")
    return {"minigrad_s": ours, "torch_s": theirs, "ratio": ratio}


def limit_threads(n: int) -> list:
    """Limit PyTorch, numba and the BLAS under NumPy (through threadpoolctl) to n threads.

    Returns the names of the pools that were limited.
    """
    limited = []
    if torch is not None:
        torch.set_num_threads(n)
        limited.append("torch")
    try:
        import numba
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        limited.append("numba")
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
        limited.append("BLAS/OpenMP (threadpoolctl)")
    except ImportError:
        pass
    return limited


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="minigrad engine benchmark")
    parser.add_argument("--steps", type=int, default=400,
                        help="timed MLP steps per runner (medians are taken over them)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of every pool (default: each library's own choice)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=128)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        print(f"threads limited to {args.threads}: {', '.join(limit_threads(args.threads))}")

    table = mlp_table(x, y, args.steps)
    print_mlp_table(table, args.steps)
    if torch is None:
        print("(PyTorch is not installed: the comparison columns are skipped)")
    rosenbrock = rosenbrock_row()
    return {"mlp": table, "rosenbrock": rosenbrock}


if __name__ == "__main__":
    main()

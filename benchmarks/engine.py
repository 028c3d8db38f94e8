"""Engine speed: a 784-256-128-10 MLP and 2-D Rosenbrock, against PyTorch when installed.

    python benchmarks/engine.py [--repeats 20]

Both problems are timed in the same run for minigrad and (when importable) PyTorch on
the CPU, and reported as a ratio ``minigrad / torch`` (below 1 means minigrad is faster):

* ``mlp``: forward + backward of a 784-256-128-10 ReLU MLP with cross-entropy, batch 128,
  float32 — dominated by matrix products, so it measures how little the engine adds;
* ``rosenbrock``: one gradient step on f(x, y) = (1 − x)² + 100(y − x²)², averaged over
  500 steps — tiny arrays, so it measures the Python overhead per op.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minigrad
from minigrad import nn
from minigrad.nn import functional as F

try:
    import torch
except ImportError:  # the comparison column is skipped
    torch = None


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mlp_minigrad(x: np.ndarray, y: np.ndarray):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    xt, yt = minigrad.tensor(x), minigrad.tensor(y)

    def step():
        model.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
    return step


def mlp_torch(x: np.ndarray, y: np.ndarray):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
    return step


def _rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="minigrad engine benchmark")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=128)
    if torch is not None:
        torch.set_num_threads(max(1, torch.get_num_threads()))

    rows = []
    ours = _median_time(mlp_minigrad(x, y), args.repeats)
    theirs = _median_time(mlp_torch(x, y), args.repeats) if torch else None
    rows.append(("mlp 784-256-128-10, batch 128 (fwd+bwd)", ours, theirs))
    steps = 500
    ours = _median_time(rosenbrock_minigrad(steps), max(3, args.repeats // 4)) / steps
    theirs = (_median_time(rosenbrock_torch(steps), max(3, args.repeats // 4)) / steps
              if torch else None)
    rows.append(("rosenbrock 2-D, one gradient step", ours, theirs))

    print(f"{'benchmark':<42} {'minigrad':>12} {'torch':>12} {'ratio':>7}")
    results = {}
    for name, ours, theirs in rows:
        torch_col = f"{theirs * 1e6:10.1f}us" if theirs else f"{'-':>12}"
        ratio = f"{ours / theirs:7.2f}" if theirs else f"{'-':>7}"
        print(f"{name:<42} {ours * 1e6:10.1f}us {torch_col} {ratio}")
        results[name] = {"minigrad_s": ours, "torch_s": theirs,
                         "ratio": ours / theirs if theirs else None}
    if torch is None:
        print("(PyTorch is not installed: the comparison columns are skipped)")
    return results


if __name__ == "__main__":
    main()

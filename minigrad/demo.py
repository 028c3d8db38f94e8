"""The main demo: train a small MLP on the digits data with the engine and plain SGD.

Run it with ``make demo`` or ``python -m minigrad.demo``. Everything is local: the 8×8
digits images ship inside scikit-learn, nothing is downloaded and no GPU is needed.

The update rule is written out inline, exactly as the chapters write SGD::

    θ ← θ − η ∇L(θ)
"""
from __future__ import annotations

import argparse
import time
from typing import Optional

import numpy as np

import minigrad
from minigrad import nn
from minigrad.data import DataLoader, TensorDataset, load_digits
from minigrad.nn import functional as F


def build_mlp(in_features: int = 64, hidden: int = 128, classes: int = 10) -> nn.Module:
    """64 → 128 → 64 → 10 with ReLU activations."""
    return nn.Sequential(
        nn.Linear(in_features, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden // 2), nn.ReLU(),
        nn.Linear(hidden // 2, classes),
    )


def standardize(x_train: np.ndarray, x_test: np.ndarray):
    """Scale every pixel to zero mean and unit variance, with the training set's statistics.

    Pixels that are almost constant (the image borders) get a floor on their spread so
    that they are not blown up.
    """
    mean = x_train.mean(axis=0)
    spread = x_train.std(axis=0) + 1e-2
    return ((x_train - mean) / spread).astype(x_train.dtype), \
        ((x_test - mean) / spread).astype(x_test.dtype)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of ``x`` whose largest logit is the label in ``y``."""
    with minigrad.no_grad():
        logits = model(minigrad.tensor(x))
    return float(np.mean(logits.data.argmax(axis=1) == y))


def sgd_step(model: nn.Module, lr: float) -> None:
    """Plain gradient descent on every parameter: θ ← θ − η·∂L/∂θ."""
    for p in model.parameters():
        if p.grad is not None:
            p.data -= lr * p.grad


def train_mlp_on_digits(epochs: int = 20, lr: float = 0.1, batch_size: int = 32,
                        seed: int = 0, verbose: bool = True, out=print) -> dict:
    """Train the MLP and return ``{"history": [...], "test_accuracy": float}``.

    Each history row holds the epoch, the mean training loss, the training and the
    test accuracy.
    """
    minigrad.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_digits(seed=seed)
    x_train, x_test = standardize(x_train, x_test)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    model = build_mlp(x_train.shape[1])
    history = []
    if verbose:
        out(f"digits: {len(x_train)} training and {len(x_test)} test images, "
            f"{sum(p.size for p in model.parameters())} parameters")
        out(f"{'epoch':>5} | {'loss':>8} | {'train acc':>9} | {'test acc':>8} | {'time':>6}")
        out("-" * 50)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        losses = []
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            model.zero_grad()
            loss.backward()
            sgd_step(model, lr)
            losses.append(loss.item())
        model.eval()
        row = {"epoch": epoch, "loss": float(np.mean(losses)),
               "train_accuracy": accuracy(model, x_train, y_train),
               "test_accuracy": accuracy(model, x_test, y_test)}
        history.append(row)
        if verbose:
            out(f"{epoch:>5} | {row['loss']:>8.4f} | {row['train_accuracy']:>9.3f} | "
                f"{row['test_accuracy']:>8.3f} | {time.perf_counter() - start:>5.2f}s")
    result = {"history": history, "test_accuracy": history[-1]["test_accuracy"]}
    if verbose:
        out(f"final test accuracy: {result['test_accuracy']:.3f}")
    return result


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train_mlp_on_digits(args.epochs, args.lr, args.batch_size, args.seed)


if __name__ == "__main__":
    main()

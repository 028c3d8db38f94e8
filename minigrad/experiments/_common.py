"""What the experiments share: the data, the models, a step loop and an evaluation pass.

Epoch-based experiments train with :func:`minigrad.train.fit`; the step-based ones
(large batches, warmup, the transformer) use :func:`train_steps`, a loop short enough to
read in one go, which splits each batch into micro-batches when accumulating gradients.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

Data = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
EVAL_BATCH = 512  # rows per forward pass when evaluating (bounds the memory used)


def classification_data(data: Optional[Sequence] = None, n_train: Optional[int] = None,
                        seed: int = 0) -> Data:
    """``(x_train, y_train, x_test, y_test)``: the given arrays, or the digits.

    ``data`` is any 4-tuple of arrays (MNIST, say); inputs become float32, labels int64.
    ``n_train`` keeps a random subset of that many training rows (the test set stays
    whole). None loads the scikit-learn digits (1438 training and 359 test images of 64
    pixels in [0, 1], split by ``seed``).
    """
    if data is None:
        from minigrad.data import load_digits

        data = load_digits(seed=seed)
    if len(data) != 4:
        raise ValueError("data must be (x_train, y_train, x_test, y_test), got "
                         f"{len(data)} arrays")
    x_train, y_train, x_test, y_test = (np.asarray(a) for a in data)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError("inputs and labels must have the same number of rows")
    if n_train is not None and n_train < len(x_train):
        keep = np.random.default_rng(seed).permutation(len(x_train))[:n_train]
        x_train, y_train = x_train[keep], y_train[keep]
    return (x_train.astype(np.float32), y_train.astype(np.int64),
            x_test.astype(np.float32), y_test.astype(np.int64))


def num_classes(*labels: np.ndarray) -> int:
    """Number of classes: one more than the largest label seen."""
    return int(max(int(np.max(y)) for y in labels)) + 1


def mlp(sizes: Sequence[int], seed: Optional[int] = None):
    """A ReLU MLP ``sizes[0] → … → sizes[-1]`` (e.g. 64-256-128-10), seeded if asked."""
    import minigrad
    from minigrad import nn

    if seed is not None:
        minigrad.manual_seed(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_optimizer(spec, model):
    """An optimizer for ``model`` from ``(cls, kwargs)``, a class, or ``model -> optimizer``.

    A class gets ``model.parameters()``; a function gets the model itself, so that it can
    build parameter groups (``lars_param_groups(model)``, weight-decay exemptions, ...).
    """
    if isinstance(spec, tuple):
        cls, kwargs = spec[0], dict(spec[1]) if len(spec) > 1 else {}
        return cls(model.parameters(), **kwargs)
    if isinstance(spec, type):
        return spec(model.parameters())
    return spec(model)


def evaluate(model, x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
    """``{"loss": mean cross-entropy, "accuracy": fraction right}`` on (x, y), no gradients."""
    import minigrad
    from minigrad.nn import functional as F

    was_training = getattr(model, "training", False)
    model.eval()
    total_loss, right = 0.0, 0
    with minigrad.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            xb, yb = x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH]
            logits = model(minigrad.tensor(xb))
            total_loss += float(F.cross_entropy(logits, minigrad.tensor(yb)).item()) * len(yb)
            right += int((np.asarray(logits.data).argmax(axis=-1) == yb).sum())
    model.train(was_training)
    return {"loss": total_loss / len(y), "accuracy": right / len(y)}


def batch_stream(x: np.ndarray, y: np.ndarray, batch_size: int,
                 rng: np.random.Generator) -> Iterator[tuple]:
    """Endless batches of ``batch_size`` rows: epoch after epoch, each freshly shuffled.

    A batch never straddles two epochs; the rows left over at an epoch's end are skipped
    (``drop_last``), so every batch has the same size.
    """
    if not 0 < batch_size <= len(x):
        raise ValueError(f"batch_size must be in [1, {len(x)}] (the rows available), "
                         f"got {batch_size}")
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            rows = order[start:start + batch_size]
            yield x[rows], y[rows]


def cross_entropy_loss(model, x: np.ndarray, y: np.ndarray):
    """Mean cross-entropy of ``model(x)`` against labels ``y`` (logits of any rank)."""
    import minigrad
    from minigrad.nn import functional as F

    logits = model(minigrad.tensor(x))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                           minigrad.tensor(np.asarray(y).reshape(-1)))


def train_steps(model, optimizer, batches: Iterator[tuple], steps: int, *,
                accumulation_steps: int = 1, scheduler=None,
                loss_fn: Callable = cross_entropy_loss) -> Dict[str, np.ndarray]:
    """Take ``steps`` optimizer steps; return ``loss``, ``grad_norm`` and ``lr`` per step.

    Each batch is cut into ``accumulation_steps`` micro-batches whose gradients add up
    (each loss divided by their number), so one step sees the whole batch whatever the
    split. ``grad_norm`` is the total gradient norm before the step, ``loss`` the batch's
    loss before the step, ``lr`` the rate the step used. ``seconds`` is the wall time of
    the whole loop.
    """
    from minigrad.monitor import GradNormRecorder

    recorder = GradNormRecorder(model)
    losses, lrs = [], []
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(batches)
        optimizer.zero_grad()
        loss = 0.0
        for xm, ym in zip(np.array_split(x, accumulation_steps),
                          np.array_split(y, accumulation_steps)):
            part = loss_fn(model, xm, ym) * (len(ym) / len(y))
            part.backward()
            loss += float(part.item())
        losses.append(loss)
        recorder.record()
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return {"loss": np.asarray(losses), "grad_norm": recorder.before,
            "lr": np.asarray(lrs, dtype=float), "seconds": time.perf_counter() - start}


def fit_and_evaluate(model, optimizer, data: Data, *, epochs: int, batch_size: int,
                     seed: int = 0, scheduler=None, evaluate_train: bool = False
                     ) -> Dict[str, np.ndarray]:
    """Train with :func:`minigrad.train.fit` and evaluate on the test set after each epoch.

    Returns the per-step ``loss``, ``lr`` and ``grad_norm``; the per-epoch
    ``train_loss`` (mean over the epoch's batches, as they were seen), ``test_loss`` and
    ``test_accuracy`` (and, with ``evaluate_train``, ``train_eval_loss`` and
    ``train_accuracy``: the whole training set evaluated after the epoch, like the test
    set); ``seconds``, the training time. A scheduler is stepped after every batch.
    """
    from minigrad.data import DataLoader, TensorDataset
    from minigrad.nn import functional as F
    from minigrad.train import fit

    x, y, x_test, y_test = data
    scores: Dict[str, list] = {}

    def after_epoch(state) -> None:
        sets = [("test", x_test, y_test)]
        if evaluate_train:
            sets.append(("train", x, y))
        for name, xs, ys in sets:
            result = evaluate(model, xs, ys)
            loss_key = "train_eval_loss" if name == "train" else "test_loss"
            scores.setdefault(loss_key, []).append(result["loss"])
            scores.setdefault(f"{name}_accuracy", []).append(result["accuracy"])

    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=seed)
    history = fit(model, F.cross_entropy, optimizer, loader, epochs=epochs,
                  scheduler=scheduler, scheduler_interval="step", callbacks=[after_epoch],
                  progress=False)
    steps, per_epoch = history.steps, history.epochs
    record = {"loss": steps["loss"], "lr": steps["lr"], "grad_norm": steps["grad_norm"],
              "train_loss": per_epoch["train_loss"],
              "seconds": float(np.sum(per_epoch["time"]))}
    record.update({key: np.asarray(values) for key, values in scores.items()})
    return record

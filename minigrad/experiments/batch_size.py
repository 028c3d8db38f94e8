"""Batch size: its trade-offs, large batches simulated by accumulation, and warmup.

Three experiments on an MLP classifier (the digits by default, any arrays you pass, e.g.
MNIST):

* :func:`batch_size_experiment` — the same model and Adam(1e-3) at several batch sizes:
  training loss per epoch, test accuracy and seconds per epoch (small batches take many
  noisy steps per epoch, large ones few smooth ones);
* :func:`large_batch_simulation` — one large effective batch, reached directly or by
  gradient accumulation over micro-batches (same steps, less memory, more time), and
  SGD against LARS, LAMB and Adam at that batch, all with the same linear warmup;
* :func:`warmup_experiment` — a large batch with a large learning rate, with and without
  linear warmup: without it the first steps blow the loss and the gradient norm up.
"""
from __future__ import annotations

import tracemalloc
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ._common import (batch_stream, classification_data, cross_entropy_loss, evaluate,
                      make_optimizer, mlp, num_classes, train_steps)

HIDDEN = (256, 128)  # the chapter's 784-256-128-10 network, on 64-pixel digits: 64-256-128-10


def _sizes(x: np.ndarray, y: np.ndarray, y_test: np.ndarray, hidden: Sequence[int]) -> list:
    return [int(np.prod(x.shape[1:])), *hidden, num_classes(y, y_test)]


def batch_size_experiment(batch_sizes: Sequence[int] = (16, 64, 256, 1024), epochs: int = 3,
                          lr: float = 1e-3, data: Optional[Sequence] = None,
                          hidden: Sequence[int] = HIDDEN, n_train: Optional[int] = None,
                          seed: int = 0) -> Dict[str, np.ndarray]:
    """Train the same MLP with Adam(``lr``) at each batch size, from the same weights.

    Parameters
    ----------
    batch_sizes : sequence of int
        The batch sizes (the chapter's exercise: 16 … 4096 on MNIST).
    epochs : int, default 3
        Passes over the training set per batch size (the exercise: 20).
    lr : float, default 1e-3
        Adam's learning rate, the same for every batch size.
    data : (x_train, y_train, x_test, y_test), optional
        Arrays to use instead of the digits; images are flattened.
    hidden : sequence of int, default (256, 128)
        Hidden widths: inputs → 256 → 128 → classes.
    n_train : int, optional
        Train on a random subset of this many rows.
    seed : int, default 0
        Seeds the weights (identical for every batch size) and the shuffling.

    Returns
    -------
    dict of ndarray, one row per batch size
        ``batch_size`` (k,), ``steps_per_epoch`` (k,), ``train_loss`` (k, epochs): mean
        training loss of each epoch, ``epoch_seconds`` (k, epochs), ``seconds_per_epoch``
        (k,): their median, ``test_loss`` and ``test_accuracy`` (k,) after the last epoch.

    Examples
    --------
    >>> result = batch_size_experiment((32, 256), epochs=1, hidden=(16,), n_train=256)
    >>> result["steps_per_epoch"].tolist(), result["train_loss"].shape
    ([8, 1], (2, 1))
    """
    from minigrad.data import DataLoader, TensorDataset
    from minigrad.nn import functional as F
    from minigrad.train import fit
    from optim import Adam

    x, y, x_test, y_test = classification_data(data, n_train, seed)
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    rows: List[dict] = []
    for batch_size in batch_sizes:
        model = mlp(_sizes(x, y, y_test, hidden), seed=seed)
        loader = DataLoader(TensorDataset(x, y), batch_size=int(batch_size), shuffle=True,
                            generator=seed)
        history = fit(model, F.cross_entropy, Adam(model.parameters(), lr=lr), loader,
                      epochs=epochs, progress=False)
        test = evaluate(model, x_test, y_test)
        rows.append({"batch_size": int(batch_size), "steps_per_epoch": len(loader),
                     "train_loss": history.epochs["train_loss"],
                     "epoch_seconds": history.epochs["time"],
                     "seconds_per_epoch": float(np.median(history.epochs["time"])),
                     "test_loss": test["loss"], "test_accuracy": test["accuracy"]})
    return {key: np.array([row[key] for row in rows]) for key in rows[0]} if rows else {}


def _warmup(optimizer, warmup_steps: int):
    """Linear warmup: step t uses lr·min(1, (t + 1)/W) — lr/W, 2·lr/W, …, lr, lr, …"""
    from schedules import LambdaLR

    if warmup_steps <= 0:
        return None
    return LambdaLR(optimizer, lambda t: min(1.0, (t + 1) / warmup_steps))


def peak_step_bytes(model, x: np.ndarray, y: np.ndarray, accumulation_steps: int = 1) -> int:
    """Peak memory (bytes, as ``tracemalloc`` sees it) of one step's forward and backward.

    The batch is processed in ``accumulation_steps`` micro-batches, as the training
    loop of :func:`large_batch_simulation` does; only one micro-batch's activations are
    alive at a time, so the peak falls roughly with the micro-batch size. The gradients
    are cleared afterwards and the parameters do not change.
    """
    model.zero_grad()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    for xm, ym in zip(np.array_split(x, accumulation_steps),
                      np.array_split(y, accumulation_steps)):
        (cross_entropy_loss(model, xm, ym) * (len(ym) / len(y))).backward()
    peak = tracemalloc.get_traced_memory()[1] - start
    if not tracing:
        tracemalloc.stop()
    model.zero_grad()
    return int(peak)


def large_batch_runs(batch_size: int = 1024, micro_batch: int = 64, base_lr: float = 0.1,
                     base_batch: int = 64) -> Dict[str, dict]:
    """The default runs of :func:`large_batch_simulation`, as ``name -> spec``.

    Each spec is ``{"optimizer": (cls, kwargs) or model -> optimizer, "accumulation":
    k}``. SGD and LARS use the linear scaling rule, lr = ``base_lr`` · batch/``base_batch``
    (0.1 · 1024/64 = 1.6); Adam the square-root rule from its default 1e-3; LAMB 0.03.
    LARS leaves biases out of the trust ratio (``lars_param_groups``) and uses a trust
    coefficient of 0.01: with the usual 0.001 each step moves a layer by about
    lr · 0.001 of its norm, too little for this small network to learn in tens of steps.
    """
    import optim
    from optim.lars import lars_param_groups

    lr = base_lr * batch_size / base_batch
    adam_lr = 1e-3 * (batch_size / base_batch) ** 0.5

    def lars(model):
        return optim.LARS(lars_param_groups(model), lr=lr, momentum=0.9,
                          trust_coefficient=0.01)

    k = max(1, batch_size // micro_batch)
    return {
        f"SGD, batch {batch_size}": {"optimizer": (optim.SGD, {"lr": lr, "momentum": 0.9})},
        f"LARS, batch {batch_size}": {"optimizer": lars},
        f"LARS, {batch_size // k} × {k} accumulated": {"optimizer": lars, "accumulation": k},
        f"LAMB, batch {batch_size}": {"optimizer": (optim.LAMB, {"lr": 0.03})},
        f"Adam, batch {batch_size}": {"optimizer": (optim.Adam, {"lr": adam_lr})},
    }


def large_batch_simulation(batch_size: int = 1024, micro_batch: int = 64, steps: int = 40,
                           warmup_steps: int = 10, runs: Optional[Mapping[str, dict]] = None,
                           data: Optional[Sequence] = None, hidden: Sequence[int] = HIDDEN,
                           seed: int = 0) -> List[dict]:
    """Large-batch training: accumulation against a real large batch, SGD against LARS/LAMB.

    Every run takes ``steps`` steps on batches of ``batch_size`` rows (the same batches in
    every run), from the same weights, with a linear warmup over ``warmup_steps``. By
    default (:func:`large_batch_runs`): SGD with momentum at the linearly scaled rate,
    LARS at the same rate (directly and as ``micro_batch``-row micro-batches accumulated),
    LAMB and Adam. Accumulation gives the same steps — the curves agree to float
    rounding — with less memory per pass and more time; the layer-wise trust ratio lets
    LARS take the large rate that throws plain SGD off.

    Parameters
    ----------
    batch_size : int, default 1024
        The effective batch of every step.
    micro_batch : int, default 64
        Rows per forward pass of the accumulated run (batch_size // micro_batch passes).
    steps, warmup_steps : int
        Optimizer steps, and how many of them warm the rate up linearly (0: no warmup).
    runs : mapping name -> spec, optional
        ``{"optimizer": (cls, kwargs) or model -> optimizer, "accumulation": k}``
        (``accumulation`` defaults to 1; a function gets the model, so that it can build
        ``lars_param_groups(model)``). Default: :func:`large_batch_runs`.
    data, hidden, seed
        As in :func:`batch_size_experiment`.

    Returns
    -------
    list of dict, one per run
        ``name``, ``loss``, ``grad_norm`` and ``lr`` (arrays, one entry per step),
        ``seconds`` (training time), ``peak_bytes`` (peak memory of one step's forward and
        backward, :func:`peak_step_bytes`), ``accumulation_steps``, ``rows_per_pass``,
        ``test_loss`` and ``test_accuracy``.
    """
    x, y, x_test, y_test = classification_data(data, None, seed)
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    runs = large_batch_runs(batch_size, micro_batch) if runs is None else runs
    results = []
    for name, spec in runs.items():
        model = mlp(_sizes(x, y, y_test, hidden), seed=seed)
        optimizer = make_optimizer(spec["optimizer"], model)
        k = int(spec.get("accumulation", 1))
        batches = batch_stream(x, y, batch_size, np.random.default_rng(seed))
        record = train_steps(model, optimizer, batches, steps, accumulation_steps=k,
                             scheduler=_warmup(optimizer, warmup_steps))
        test = evaluate(model, x_test, y_test)
        record.update(name=name, accumulation_steps=k, rows_per_pass=-(-batch_size // k),
                      peak_bytes=peak_step_bytes(model, x[:batch_size], y[:batch_size], k),
                      test_loss=test["loss"], test_accuracy=test["accuracy"])
        results.append(record)
    return results


def warmup_experiment(batch_size: int = 1024, lr: float = 0.1, warmup_steps: int = 20,
                      steps: int = 60, optimizer=None, data: Optional[Sequence] = None,
                      hidden: Sequence[int] = HIDDEN, seed: int = 0) -> List[dict]:
    """A large batch at a large rate, with and without linear warmup.

    Both runs start from the same weights and see the same batches; the only difference
    is the rate of the first ``warmup_steps`` steps (lr/W, 2·lr/W, …, lr with warmup; lr
    from the start without). At the defaults — Adam at lr 0.1, batch 1024 — the run
    without warmup overshoots in its first steps: the loss jumps far above its starting
    value ln 10 ≈ 2.3 and the gradient norm with it, before training recovers; the warmed
    up run climbs to the same rate without the spike.

    Parameters
    ----------
    batch_size : int, default 1024
    lr : float, default 0.1
        The rate both runs reach.
    warmup_steps : int, default 20
    steps : int, default 60
    optimizer : (cls, kwargs), optional
        Default ``(optim.Adam, {})``; ``lr`` is added to the kwargs.
    data, hidden, seed
        As in :func:`batch_size_experiment`.

    Returns
    -------
    list of two dicts (``"no warmup"``, then ``"warmup (W steps)"``)
        ``name``, ``loss``, ``grad_norm``, ``lr`` (one entry per step), ``seconds``,
        ``warmup_steps``, ``test_loss`` and ``test_accuracy``.
    """
    import optim

    x, y, x_test, y_test = classification_data(data, None, seed)
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    cls, kwargs = optimizer if optimizer is not None else (optim.Adam, {})
    results = []
    for name, warmup in (("no warmup", 0), (f"warmup ({warmup_steps} steps)", warmup_steps)):
        model = mlp(_sizes(x, y, y_test, hidden), seed=seed)
        opt = cls(model.parameters(), **{**kwargs, "lr": lr})
        batches = batch_stream(x, y, batch_size, np.random.default_rng(seed))
        record = train_steps(model, opt, batches, steps, scheduler=_warmup(opt, warmup))
        test = evaluate(model, x_test, y_test)
        record.update(name=name, warmup_steps=warmup, test_loss=test["loss"],
                      test_accuracy=test["accuracy"])
        results.append(record)
    return results

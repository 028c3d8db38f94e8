"""Scheduler ablations: one model, one optimizer, five learning-rate schedules.

The ablation the chapters set as an exercise (a ResNet on CIFAR-10 under no scheduler,
StepLR, cosine annealing, OneCycleLR and warmup + cosine, with SGD and momentum 0.9 and
the same initial rate), at a size that runs in seconds:

* :func:`scheduler_ablation` — the digits MLP;
* :func:`resnet_schedulers` — a small CIFAR-style ResNet on the digits as 1×8×8 images.

Every schedule is stepped once per batch over the same number of steps, so the curves
line up step for step; all runs start from the same weights and see the same batches.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ._common import classification_data, fit_and_evaluate, mlp, num_classes

SchedulerFactory = Callable[[object, int], Optional[object]]


def five_schedulers() -> Dict[str, SchedulerFactory]:
    """``name -> (optimizer, total_steps) -> scheduler``: the exercise's five schedules.

    Constant (no scheduler); StepLR dividing the rate by 10 after a third and two
    thirds of the steps; cosine annealing to 0; OneCycleLR peaking at the base rate
    after 30 % of the steps (it also cycles SGD's momentum between 0.85 and 0.95);
    linear warmup over 10 % of the steps, then cosine to 0.
    """
    from schedules import CosineAnnealingLR, OneCycleLR, StepLR, WarmupCosineSchedule

    def base_lr(optimizer) -> float:
        return optimizer.param_groups[0]["lr"]

    return {
        "constant": lambda opt, total: None,
        "StepLR": lambda opt, total: StepLR(opt, step_size=max(1, math.ceil(total / 3)),
                                            gamma=0.1),
        "cosine": lambda opt, total: CosineAnnealingLR(opt, T_max=total),
        "OneCycleLR": lambda opt, total: OneCycleLR(opt, max_lr=base_lr(opt),
                                                    total_steps=total),
        "warmup + cosine": lambda opt, total: WarmupCosineSchedule(
            opt, warmup_steps=max(1, total // 10), total_steps=total),
    }


def _ablation(make_model: Callable[[], object], data, schedulers: Mapping[str, SchedulerFactory],
              epochs: int, lr: float, momentum: float, batch_size: int, seed: int
              ) -> List[dict]:
    import minigrad
    from optim import SGD

    total = epochs * math.ceil(len(data[0]) / batch_size)
    runs = []
    for name, factory in schedulers.items():
        minigrad.manual_seed(seed)
        model = make_model()
        optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
        record = fit_and_evaluate(model, optimizer, data, epochs=epochs, batch_size=batch_size,
                                  seed=seed, scheduler=factory(optimizer, total))
        runs.append({"name": name, **record,
                     "final_test_accuracy": float(record["test_accuracy"][-1])})
    return runs


def scheduler_ablation(schedulers: Optional[Mapping[str, SchedulerFactory]] = None,
                       epochs: int = 5, lr: float = 0.2, momentum: float = 0.9,
                       batch_size: int = 64, data: Optional[Sequence] = None,
                       hidden: Sequence[int] = (256, 128), n_train: Optional[int] = None,
                       seed: int = 0) -> List[dict]:
    """The digits MLP trained by SGD (``lr``, ``momentum``) under each schedule.

    Parameters
    ----------
    schedulers : mapping name -> (optimizer, total_steps) -> scheduler or None, optional
        Default :func:`five_schedulers`. Each is stepped after every batch.
    epochs : int, default 5
    lr : float, default 0.2
        The optimizer's rate (OneCycleLR's peak; warmup's target). High enough that
        the decaying schedules pay off within a few epochs.
    momentum : float, default 0.9
    batch_size : int, default 64
    data, hidden, n_train, seed
        As in :func:`minigrad.experiments.optimizer_comparison`.

    Returns
    -------
    list of dict, one per schedule
        ``name``; per step ``loss``, ``lr`` and ``grad_norm``; per epoch ``train_loss``,
        ``test_loss`` and ``test_accuracy``; ``final_test_accuracy``; ``seconds``.

    Examples
    --------
    >>> runs = scheduler_ablation(epochs=1, hidden=(8,), n_train=64, batch_size=16)
    >>> [run["name"] for run in runs]
    ['constant', 'StepLR', 'cosine', 'OneCycleLR', 'warmup + cosine']
    >>> runs[0]["lr"].tolist()
    [0.2, 0.2, 0.2, 0.2]
    """
    x, y, x_test, y_test = classification_data(data, n_train, seed)
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    sizes = [x.shape[1], *hidden, num_classes(y, y_test)]
    return _ablation(lambda: mlp(sizes), (x, y, x_test, y_test),
                     five_schedulers() if schedulers is None else schedulers,
                     epochs, lr, momentum, batch_size, seed)


def as_images(x: np.ndarray) -> np.ndarray:
    """Rows as (N, C, H, W) images: 4-D arrays as they are, (N, H, W) with one channel,
    flat square rows (64 pixels: 8×8) as one-channel squares."""
    if x.ndim == 4:
        return x
    if x.ndim == 3:
        return x[:, None]
    side = int(round(math.sqrt(x.shape[1])))
    if side * side != x.shape[1]:
        raise ValueError(f"cannot make square images of rows of {x.shape[1]} values")
    return x.reshape(len(x), 1, side, side)


def resnet_schedulers(schedulers: Optional[Mapping[str, SchedulerFactory]] = None,
                      epochs: int = 2, lr: float = 0.1, momentum: float = 0.9,
                      batch_size: int = 64, layers: Sequence[int] = (1, 1, 1), width: int = 8,
                      data: Optional[Sequence] = None, n_train: Optional[int] = None,
                      seed: int = 0) -> List[dict]:
    """A small CIFAR-style ResNet on the digits as 1×8×8 images, under each schedule.

    The network is :class:`minigrad.nn.ResNet` with :class:`~minigrad.nn.BasicBlock`:
    a 3×3 stem, one stage per entry of ``layers`` (``width``, 2·width, 4·width
    channels; the resolution halves from stage to stage: 8×8, 4×4, 2×2), global average
    pooling and a linear classifier. ``layers=(3, 3, 3)`` and ``width=16`` give the
    paper's ResNet-20 (slow on a CPU); the default (1, 1, 1) at width 8 is an 8-layer
    network that trains in seconds. Test accuracy uses the BatchNorm running statistics
    (evaluation mode).

    Parameters
    ----------
    schedulers, epochs, momentum, batch_size, n_train, seed
        As in :func:`scheduler_ablation`.
    lr : float, default 0.1
        SGD's rate (the ResNet paper's).
    layers : sequence of int, default (1, 1, 1)
        Residual blocks per stage.
    width : int, default 8
        Channels of the first stage.
    data : (x_train, y_train, x_test, y_test), optional
        Images as (N, C, H, W), (N, H, W) or flat square rows; default the digits.

    Returns
    -------
    list of dict, one per schedule
        As :func:`scheduler_ablation`.
    """
    from minigrad import nn

    x, y, x_test, y_test = classification_data(data, n_train, seed)
    x, x_test = as_images(x), as_images(x_test)
    classes = num_classes(y, y_test)

    def make_model():
        return nn.ResNet(nn.BasicBlock, list(layers), num_classes=classes,
                         in_channels=x.shape[1], width=width)

    return _ablation(make_model, (x, y, x_test, y_test),
                     five_schedulers() if schedulers is None else schedulers,
                     epochs, lr, momentum, batch_size, seed)

"""Optimizers compared on one model: training curves, and train against test accuracy.

* :func:`optimizer_comparison` — SGD, momentum, Nesterov, RMSprop, Adam, AdamW and Lion
  training the same MLP from the same weights on the same batches;
* :func:`sgd_vs_adam_generalisation` — SGD with momentum against Adam on a small training
  set, the whole training and test sets evaluated after every epoch: Adam usually drives
  the training loss down faster; whether it also ends as good on the test set is what the
  comparison is for.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

from ._common import classification_data, fit_and_evaluate, make_optimizer, mlp, num_classes

MLP_HIDDEN = (256, 128)


def default_optimizers() -> Dict[str, tuple]:
    """``name -> (cls, kwargs)``: the classic optimizers at the rates that suit the MLP.

    SGD and momentum at 0.05 (the chapter's default 0.01 is slow for a few epochs),
    the adaptive methods at their usual 1e-3, Lion at 3e-4 (its authors advise a rate
    3-10 times smaller than AdamW's: every coordinate of its sign step has size lr).
    """
    import optim

    return {
        "SGD": (optim.SGD, {"lr": 0.05}),
        "Momentum": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
        "Nesterov": (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
        "RMSprop": (optim.RMSprop, {"lr": 1e-3}),
        "Adam": (optim.Adam, {"lr": 1e-3}),
        "AdamW": (optim.AdamW, {"lr": 1e-3, "weight_decay": 0.01}),
        "Lion": (optim.Lion, {"lr": 3e-4}),
    }


def _runs(optimizers: Mapping, data, epochs: int, batch_size: int, hidden: Sequence[int],
          seed: int, evaluate_train: bool) -> List[dict]:
    x, y, x_test, y_test = data
    x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    sizes = [x.shape[1], *hidden, num_classes(y, y_test)]
    runs = []
    for name, spec in optimizers.items():
        model = mlp(sizes, seed=seed)
        record = fit_and_evaluate(model, make_optimizer(spec, model), (x, y, x_test, y_test),
                                  epochs=epochs, batch_size=batch_size, seed=seed,
                                  evaluate_train=evaluate_train)
        runs.append({"name": name, **record})
    return runs


def optimizer_comparison(optimizers: Optional[Mapping] = None, epochs: int = 3,
                         batch_size: int = 64, data: Optional[Sequence] = None,
                         hidden: Sequence[int] = MLP_HIDDEN, n_train: Optional[int] = None,
                         seed: int = 0) -> List[dict]:
    """Train the same MLP with each optimizer: same start, same batches, same epochs.

    Parameters
    ----------
    optimizers : mapping name -> (cls, kwargs), class, or model -> optimizer, optional
        Default :func:`default_optimizers` (seven optimizers).
    epochs : int, default 3
    batch_size : int, default 64
    data : (x_train, y_train, x_test, y_test), optional
        Arrays to use instead of the digits; images are flattened.
    hidden : sequence of int, default (256, 128)
    n_train : int, optional
        Train on a random subset of this many rows.
    seed : int, default 0

    Returns
    -------
    list of dict, one per optimizer, in the given order
        ``name``; per step ``loss``, ``lr`` and ``grad_norm``; per epoch ``train_loss``,
        ``test_loss`` and ``test_accuracy``; ``seconds``.

    Examples
    --------
    >>> import optim
    >>> runs = optimizer_comparison({"SGD": (optim.SGD, {"lr": 0.1})}, epochs=1,
    ...                             hidden=(8,), n_train=64, batch_size=32)
    >>> [run["name"] for run in runs], runs[0]["loss"].shape
    (['SGD'], (2,))
    """
    optimizers = default_optimizers() if optimizers is None else optimizers
    return _runs(optimizers, classification_data(data, n_train, seed), epochs, batch_size,
                 hidden, seed, evaluate_train=False)


def sgd_vs_adam_generalisation(epochs: int = 20, n_train: Optional[int] = 300,
                               batch_size: int = 32, optimizers: Optional[Mapping] = None,
                               data: Optional[Sequence] = None,
                               hidden: Sequence[int] = MLP_HIDDEN, seed: int = 0
                               ) -> List[dict]:
    """SGD with momentum against Adam: training and test loss and accuracy per epoch.

    A small training set (``n_train`` rows) makes the gap between fitting the training
    data and predicting the test data visible. After every epoch the whole training set
    and the test set are evaluated with the same weights.

    Parameters
    ----------
    epochs : int, default 20
    n_train : int or None, default 300
        Training rows (None: all).
    batch_size : int, default 32
    optimizers : mapping, optional
        Default ``{"SGD + momentum": SGD(lr=0.05, momentum=0.9), "Adam": Adam(lr=1e-3)}``.
    data, hidden, seed
        As in :func:`optimizer_comparison`.

    Returns
    -------
    list of dict, one per optimizer
        As :func:`optimizer_comparison`, plus per epoch ``train_eval_loss`` and
        ``train_accuracy`` (the training set evaluated after the epoch).
    """
    import optim

    if optimizers is None:
        optimizers = {"SGD + momentum": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
                      "Adam": (optim.Adam, {"lr": 1e-3})}
    return _runs(optimizers, classification_data(data, n_train, seed), epochs, batch_size,
                 hidden, seed, evaluate_train=True)

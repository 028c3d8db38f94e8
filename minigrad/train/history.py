"""``History``: what :func:`minigrad.train.fit` recorded, as plain arrays.

Two tables, each a mapping ``name -> array`` with one row per entry:

* ``history.steps``, one row per optimizer step: ``epoch``, ``loss`` (the loss of the
  step's whole batch, before the update), ``lr`` (group 0), ``lrs`` (every group, shape
  ``(steps, groups)``), ``momentum`` (group 0's momentum or ``betas[0]``, when the
  optimizer has one), ``grad_norm`` (the total gradient norm before clipping),
  ``grad_norm_clipped`` (after clipping, when clipping) and ``scale`` (with a scaler);
* ``history.epochs``, one row per finished epoch: ``epoch``, ``train_loss`` (the mean
  over the epoch's batches), ``train_<metric>``, ``val_loss`` and ``val_<metric>`` (with
  a validation loader), ``steps`` (optimizer steps so far) and ``time`` (seconds).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping

import numpy as np


def _as_column(values: list) -> np.ndarray:
    """A list of numbers as a float array; a list of sequences as a 2-D array, NaN-padded."""
    if not any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        return np.asarray(values, dtype=float)
    rows = [np.atleast_1d(np.asarray(v, dtype=float)) for v in values]
    width = max((len(r) for r in rows), default=0)
    table = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        table[i, :len(row)] = row
    return table


class _Table:
    """Columns of equal length; a record may add a column (earlier rows get NaN)."""

    def __init__(self) -> None:
        self.columns: Dict[str, list] = {}
        self.length = 0
        self._arrays: Dict[str, np.ndarray] = {}

    def append(self, record: Mapping[str, Any]) -> None:
        for name in record:
            if name not in self.columns:
                self.columns[name] = [math.nan] * self.length
        for name, column in self.columns.items():
            column.append(record.get(name, math.nan))
        self.length += 1
        self._arrays = {}

    def arrays(self) -> Dict[str, np.ndarray]:
        if not self._arrays and self.columns:
            self._arrays = {name: _as_column(v) for name, v in self.columns.items()}
        return {name: array.copy() for name, array in self._arrays.items()}  # yours to change


class History:
    """The record of one training run: per-step and per-epoch tables of numbers.

    Attributes
    ----------
    steps : dict of str -> ndarray
        One entry per optimizer step (see the module docstring for the names).
    epochs : dict of str -> ndarray
        One entry per finished epoch.
    interrupted : bool
        True when training was stopped by Ctrl-C (a ``KeyboardInterrupt``).
    stopped_early : bool
        True when a callback stopped training (``StopTraining``).
    stop_reason : str or None
        The message of that ``StopTraining``.

    Examples
    --------
    >>> history = History()
    >>> history.record_step({"epoch": 0, "loss": 2.0, "lrs": [0.1, 0.01]})
    >>> history.record_step({"epoch": 0, "loss": 1.5, "lrs": [0.1, 0.01]})
    >>> history.steps["loss"], history.steps["lrs"].shape
    (array([2. , 1.5]), (2, 2))
    >>> history
    History(2 steps, 0 epochs)
    """

    def __init__(self) -> None:
        self._steps = _Table()
        self._epochs = _Table()
        self.interrupted = False
        self.stopped_early = False
        self.stop_reason = None

    def record_step(self, record: Mapping[str, Any]) -> None:
        """Append one optimizer step (``name -> number or sequence``)."""
        self._steps.append(record)

    def record_epoch(self, record: Mapping[str, Any]) -> None:
        """Append one epoch."""
        self._epochs.append(record)

    @property
    def steps(self) -> Dict[str, np.ndarray]:
        return self._steps.arrays()

    @property
    def epochs(self) -> Dict[str, np.ndarray]:
        return self._epochs.arrays()

    @property
    def num_steps(self) -> int:
        return self._steps.length

    @property
    def num_epochs(self) -> int:
        return self._epochs.length

    def to_dict(self) -> dict:
        """Plain data: ``{"steps": {...}, "epochs": {...}, "interrupted": ..., ...}``."""
        return {"steps": self.steps, "epochs": self.epochs, "interrupted": self.interrupted,
                "stopped_early": self.stopped_early, "stop_reason": self.stop_reason}

    def plot(self, per: str = "step", **kwargs):
        """The loss curves, drawn by :func:`minigrad.plot.loss_curves`; returns the Figure.

        ``per="step"`` draws the loss of every step; ``per="epoch"`` the mean training
        loss and the validation loss of every epoch. Keyword arguments go to
        ``loss_curves`` (``log``, ``title``).
        """
        from minigrad.plot import loss_curves

        if per == "step":
            curves: Dict[str, Any] = {"train": self.steps.get("loss", np.array([]))}
        elif per == "epoch":
            epochs = self.epochs
            curves = {"train": epochs.get("train_loss", np.array([]))}
            if "val_loss" in epochs:
                curves["validation"] = epochs["val_loss"]
        else:
            raise ValueError(f"per must be 'step' or 'epoch', got {per!r}")
        kwargs.setdefault("xlabel", per)
        return loss_curves(curves, **kwargs)

    def __repr__(self) -> str:
        flags = [name for name, on in (("interrupted", self.interrupted),
                                       ("stopped early", self.stopped_early)) if on]
        extra = "".join(f", {flag}" for flag in flags)
        return f"History({self.num_steps} steps, {self.num_epochs} epochs{extra})"

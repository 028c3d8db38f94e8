"""The training loop: :func:`fit` and the pieces it is made of.

One optimizer step, with ``k`` micro-batches per step (gradient accumulation)::

    for each of the k micro-batches:  scaler.scale(loss_fn(model(x), y) / k).backward()
    scaler.unscale_(optimizer)                       (true gradients, once per step)
    record ‖g‖; clip_grad_norm_(params, max_norm)    (if clipping; record ‖g‖ again)
    scaler.step(optimizer); scaler.update()          (or optimizer.step())
    ema.update_parameters(model)                     (if averaging weights)
    scheduler.step()                                 (if it steps per batch)
    optimizer.zero_grad()

Optimizers that need a closure (LBFGS, SAM, ...) get one that redoes the first three
lines on the same micro-batches. Ctrl-C is held back while a step and its bookkeeping
run, so an interrupted run always stops between two steps.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from minigrad._config import no_grad
from minigrad.monitor import grad_norms
from minigrad.nn.utils import clip_grad_norm_

from .callbacks import StopTraining, TrainState, collect_hooks, run_hooks
from .history import History
from .interrupt import Snapshot, ctrl_c_held_back
from .scheduling import (DIFFERENTIATE_THEMSELVES, class_names, default_scheduler_interval,
                         steps_on_metric)


class _Means:
    """Row-weighted means of named per-batch values."""

    def __init__(self) -> None:
        self.sums: dict = {}
        self.rows = 0

    def add(self, values: Mapping[str, float], rows: int) -> None:
        for name, value in values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value * rows
        self.rows += rows

    def means(self, prefix: str) -> dict:
        return {prefix + name: (total / self.rows if self.rows else math.nan)
                for name, total in self.sums.items()}


def _rows(targets) -> int:
    shape = getattr(targets, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else 1
    return len(targets)


def _groups(loader: Iterable, size: int):
    """The batches of ``loader`` in lists of ``size`` (the last list may be shorter)."""
    group = []
    for batch in loader:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _unpack(batch):
    try:
        inputs, targets = batch
    except (TypeError, ValueError):
        raise TypeError("each batch must be a pair (inputs, targets), as a DataLoader over a "
                        "TensorDataset(X, y) yields") from None
    return inputs, targets


def _switchable(optimizer) -> bool:
    """A schedule-free optimizer: it has train() and eval() modes of its own."""
    return all(callable(getattr(optimizer, mode, None)) for mode in ("train", "eval"))


class _Trainer:
    """The state of one ``fit`` call; :meth:`run` is the loop."""

    def __init__(self, model, loss_fn, optimizer, train_loader, epochs, *, scheduler,
                 scheduler_interval, monitor, val_loader, metrics, clip_grad_norm,
                 accumulation_steps, scaler, ema, callbacks, progress) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_loader, self.val_loader, self.epochs = train_loader, val_loader, epochs
        self.scheduler, self.interval, self.monitor = scheduler, scheduler_interval, monitor
        self.metrics, self.max_norm, self.k = metrics, clip_grad_norm, accumulation_steps
        self.scaler, self.ema, self.progress = scaler, ema, progress
        self.step_hooks = collect_hooks(callbacks, "on_step_end")
        self.epoch_hooks = collect_hooks(callbacks, "on_epoch_end")
        self.needs_closure = bool(getattr(optimizer, "needs_closure", False))
        self.self_differentiating = bool(class_names(optimizer) & DIFFERENTIATE_THEMSELVES)
        self.switchable = _switchable(optimizer)
        self.history = History()
        self.state = TrainState(model=model, optimizer=optimizer, history=self.history,
                                scheduler=scheduler, ema=ema)
        modules = model.modules() if callable(getattr(model, "modules", None)) else []
        self.model_modes = [(m, m.training) for m in modules if hasattr(m, "training")]
        self.optimizer_was_training = None
        if self.switchable and all("train_mode" in g for g in optimizer.param_groups):
            self.optimizer_was_training = all(g["train_mode"] for g in optimizer.param_groups)

    # ----------------------------------------------------------------- the run
    def run(self) -> History:
        try:
            for epoch in range(self.epochs):
                self.state.epoch = epoch
                self._epoch(epoch)
        except KeyboardInterrupt:
            self._drop_gradients()
            self.history.interrupted = True
        except StopTraining as stop:
            self.history.stopped_early = True
            self.history.stop_reason = str(stop) or None
        finally:
            self._restore_modes()
        return self.history

    def _params(self) -> list:
        if callable(getattr(self.model, "parameters", None)):
            return list(self.model.parameters())
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def _drop_gradients(self) -> None:
        """Forget the gradients of an abandoned step (the parameters did not move)."""
        self.optimizer.zero_grad()
        for p in self._params():
            p.grad = None

    def _set_modes(self, training: bool) -> None:
        if callable(getattr(self.model, "train", None)):
            self.model.train(training)
        if self.switchable:
            self.optimizer.train() if training else self.optimizer.eval()

    def _restore_modes(self) -> None:
        for module, mode in self.model_modes:
            object.__setattr__(module, "training", mode)
        if self.switchable:  # where it was; ready for evaluation if that is unknown
            self.optimizer.train() if self.optimizer_was_training else self.optimizer.eval()

    # ----------------------------------------------------------------- one epoch
    def _epoch(self, epoch: int) -> None:
        from tqdm.auto import tqdm

        start = time.perf_counter()
        total = len(self.train_loader) if hasattr(self.train_loader, "__len__") else None
        bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                   leave=True, dynamic_ncols=True, disable=None if self.progress else True)
        means = _Means()
        self.state.batch = 0
        try:
            self._set_modes(True)
            for group in _groups(self.train_loader, self.k):
                record = self._step(group, means, bar)
                bar.set_postfix(loss=f"{record['loss']:.4g}", lr=f"{record['lr']:.3g}",
                                refresh=False)
                run_hooks(self.step_hooks, self.state)
            record = {"epoch": epoch, **means.means("train_")}
            if self.val_loader is not None:
                record.update(self._validate())
            record["steps"] = self.state.step
            record["time"] = time.perf_counter() - start
            with ctrl_c_held_back():
                if self.scheduler is not None and self.interval == "epoch":
                    self._step_scheduler(record)
                self.history.record_epoch(record)
                self.state.logs = record
            summary = {k: f"{v:.4g}" for k, v in record.items()
                       if k.startswith(("train_", "val_"))}
            summary["lr"] = f"{self.optimizer.param_groups[0]['lr']:.3g}"
            bar.set_postfix(summary, refresh=True)
        finally:
            bar.close()
        run_hooks(self.epoch_hooks, self.state)

    def _step_scheduler(self, epoch_record: Optional[dict] = None) -> None:
        if steps_on_metric(self.scheduler):
            self.scheduler.step(epoch_record[self.monitor])
        else:
            self.scheduler.step()

    def _validate(self) -> dict:
        means = _Means()
        self._set_modes(False)
        with no_grad():
            for batch in self.val_loader:
                inputs, targets = _unpack(batch)
                outputs = self.model(inputs)
                values = {"loss": float(self.loss_fn(outputs, targets).item())}
                values.update(self._metric_values(outputs, targets))
                means.add(values, _rows(targets))
        self._set_modes(True)
        return means.means("val_")

    def _metric_values(self, outputs, targets) -> dict:
        return {name: float(fn(outputs, targets)) for name, fn in self.metrics.items()}

    # ----------------------------------------------------------------- one step
    def _forward_backward(self, group: list, means: Optional[_Means], bar) -> Any:
        """Loss and gradients of the micro-batches; returns their loss (the big batch's).

        ``means`` (the first evaluation only) collects the per-batch losses and metrics.
        """
        total, count = None, len(group)
        for batch in group:
            inputs, targets = _unpack(batch)
            outputs = self.model(inputs)
            loss = self.loss_fn(outputs, targets)
            if means is not None:
                values = {"loss": float(loss.item())}
                values.update(self._metric_values(outputs, targets))
                means.add(values, _rows(targets))
                self.state.batch += 1
                bar.update(1)
            part = loss / count if count > 1 else loss
            if self.self_differentiating:  # the optimizer differentiates the whole loss
                total = part if total is None else total + part
                continue
            (self.scaler.scale(part) if self.scaler is not None else part).backward()
            total = float(part.item()) + (total or 0.0)
        return total

    def _measure_and_clip(self, record: dict) -> None:
        params = self._params()
        if self.max_norm is None:
            record["grad_norm"] = grad_norms(params)[1]
        else:
            record["grad_norm"] = float(clip_grad_norm_(params, self.max_norm))
            record["grad_norm_clipped"] = grad_norms(params)[1]

    def _step(self, group: list, means: _Means, bar) -> dict:
        optimizer = self.optimizer
        groups = optimizer.param_groups
        record = {"epoch": self.state.epoch, "lr": groups[0]["lr"],
                  "lrs": [g["lr"] for g in groups]}
        if "momentum" in groups[0]:
            record["momentum"] = groups[0]["momentum"]
        elif "betas" in groups[0]:
            record["momentum"] = groups[0]["betas"][0]
        if self.scaler is not None and callable(getattr(self.scaler, "get_scale", None)):
            record["scale"] = float(self.scaler.get_scale())

        if self.needs_closure:
            closure = self._closure(group, means, bar, record)
            snapshot = Snapshot(self._params(), optimizer)
        else:
            record["loss"] = self._forward_backward(group, means, bar)
        with ctrl_c_held_back():
            if self.needs_closure:
                try:
                    optimizer.step(closure)
                except KeyboardInterrupt:  # raised inside the closure: undo the half step
                    snapshot.restore()
                    raise
            else:
                if self.scaler is not None:
                    self.scaler.unscale_(optimizer)
                self._measure_and_clip(record)
                if self.scaler is not None:
                    self.scaler.step(optimizer)
                    self.scaler.update()
                else:
                    optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            if self.scheduler is not None and self.interval == "step":
                self._step_scheduler()
            optimizer.zero_grad()
            self.history.record_step(record)
            self.state.step += 1
            self.state.logs = record
        return record

    def _closure(self, group: list, means: _Means, bar, record: dict) -> Callable:
        """The closure of one step; its first call fills ``record`` and ``means``."""
        first = [True]

        def closure():
            self.optimizer.zero_grad()
            loss = self._forward_backward(group, means if first[0] else None, bar)
            if first[0]:
                record["loss"] = float(loss.item()) if hasattr(loss, "item") else loss
                if self.self_differentiating:
                    record["grad_norm"] = math.nan
                else:
                    self._measure_and_clip(record)
                first[0] = False
            elif self.max_norm is not None:
                clip_grad_norm_(self._params(), self.max_norm)
            return loss

        return closure


def _check(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def fit(model, loss_fn: Callable, optimizer, train_loader: Iterable, epochs: int, *,
        scheduler=None, scheduler_interval: Optional[str] = None, monitor: Optional[str] = None,
        val_loader: Optional[Iterable] = None,
        metrics: Optional[Mapping[str, Callable]] = None,
        clip_grad_norm: Optional[float] = None, accumulation_steps: int = 1,
        scaler=None, ema=None, callbacks: Sequence = (), progress: bool = True) -> History:
    """Train ``model`` for ``epochs`` epochs and return the :class:`History`.

    Parameters
    ----------
    model : callable
        The model (an ``nn.Module``); ``model(inputs)`` gives the outputs.
    loss_fn : callable
        ``loss_fn(outputs, targets)`` -> a scalar Tensor, the *mean* over the batch's rows
        (``F.cross_entropy``, ``nn.MSELoss()``, ...).
    optimizer
        Any ``optim`` optimizer. One with ``needs_closure`` (LBFGS, SAM, SophiaH) gets a
        closure that recomputes the loss on the step's batches. One with ``train()`` and
        ``eval()`` (schedule-free) is put in train mode to train, in eval mode to
        validate, and back in the mode it had afterwards (eval mode if that is unknown).
    train_loader, val_loader : iterable of (inputs, targets)
        The batches of one epoch, e.g. a ``minigrad.data.DataLoader``. With
        ``val_loader``, every epoch ends with a validation pass (``model.eval()``, no
        gradients) that records ``val_loss`` and ``val_<metric>``.
    epochs : int
        Number of passes over ``train_loader`` (0 trains nothing).
    scheduler : optional
        A learning-rate scheduler, stepped after the optimizer step each batch or each
        epoch (see ``scheduler_interval``). ``ReduceLROnPlateau`` is stepped once per
        epoch with the value named by ``monitor``.
    scheduler_interval : {"step", "epoch", None}, default None
        None picks it from the scheduler (:func:`default_scheduler_interval`): per step for
        OneCycleLR, CyclicLR and the warmup schedules, per epoch for the others.
    monitor : str, optional
        The epoch value ReduceLROnPlateau watches: ``"val_loss"`` by default with a
        validation loader, else ``"train_loss"``; or e.g. ``"val_accuracy"`` (then build
        the scheduler with ``mode="max"``).
    metrics : dict of str -> callable, optional
        ``name -> fn(outputs, targets) -> float``, e.g. ``{"accuracy": accuracy}``,
        recorded per epoch as ``train_<name>`` (on the training batches, as they were
        seen) and ``val_<name>``. None: the loss only.
    clip_grad_norm : float, optional
        Clip the total gradient norm to this value (``nn.utils.clip_grad_norm_``). The
        norm before clipping is always recorded (``grad_norm``); the norm after it too
        (``grad_norm_clipped``) when clipping. A closure optimizer's closure clips every
        gradient it computes; the norms recorded are those of its first evaluation (at
        the weights before the step).
    accumulation_steps : int, default 1
        Micro-batches per optimizer step. Each loss is divided by the number of
        micro-batches in its step, so that a step on k equal micro-batches is a step on
        their concatenation; the micro-batches left at the end of an epoch make a
        shorter last step, divided by their own number.
    scaler : optional
        A loss scaler with ``torch.amp.GradScaler``'s protocol (``scale``, ``unscale_``,
        ``step``, ``update``), e.g. ``minigrad.amp.GradScaler``. Gradients are unscaled
        before they are measured and clipped; ``step`` and ``update`` run once per
        optimizer step. Not with closure optimizers.
    ema : optional
        An ``optim.swa_utils.AveragedModel``, updated after every optimizer step.
    callbacks : sequence
        Objects with ``on_step_end(state)`` and/or ``on_epoch_end(state)``, or functions
        (called at each epoch end); see :mod:`minigrad.train.callbacks`. A hook stops
        training by raising or returning :class:`StopTraining`.
    progress : bool, default True
        A ``tqdm`` bar per epoch with the loss and the learning rate, shown when stderr
        is a terminal (or in a notebook). False: nothing is printed.

    Returns
    -------
    History
        ``history.steps`` and ``history.epochs``: dicts of arrays. Ctrl-C stops training
        between two optimizer steps (the unfinished step is dropped: parameters, optimizer
        state and gradients are as after the last step) and returns the history so far
        with ``history.interrupted = True``.

    Examples
    --------
    >>> import minigrad, optim
    >>> from minigrad import nn
    >>> from minigrad.data import DataLoader, TensorDataset, make_moons
    >>> from minigrad.nn import functional as F
    >>> from minigrad.train import accuracy
    >>> X, y = make_moons(64, noise=0.1)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=16)
    >>> _ = minigrad.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    >>> history = fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=0.05),
    ...               loader, epochs=5, metrics={"accuracy": accuracy}, progress=False)
    >>> history.steps["loss"].shape, history.epochs["train_accuracy"].shape
    ((20,), (5,))
    >>> bool(history.epochs["train_loss"][-1] < history.epochs["train_loss"][0])
    True
    """
    _check(epochs, "epochs", 0)
    _check(accumulation_steps, "accumulation_steps", 1)
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be positive, got {clip_grad_norm!r}")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not isinstance(name, str) or name == "loss" or not callable(fn):
            raise ValueError(f"metrics must map names other than 'loss' to functions "
                             f"(outputs, targets) -> float; got {name!r}: {fn!r}")
    if scheduler_interval not in (None, "step", "epoch"):
        raise ValueError(f"scheduler_interval must be 'step', 'epoch' or None, "
                         f"got {scheduler_interval!r}")
    if scheduler is not None and scheduler_interval is None:
        scheduler_interval = default_scheduler_interval(scheduler)
    if scheduler is not None and steps_on_metric(scheduler) and scheduler_interval == "step":
        raise ValueError("ReduceLROnPlateau steps once per epoch on the monitored value; "
                         "use scheduler_interval='epoch' or None")
    prefixes = ("train_",) + (("val_",) if val_loader is not None else ())
    names = [p + m for p in prefixes for m in ("loss", *metrics)]
    monitor = monitor or ("val_loss" if val_loader is not None else "train_loss")
    if monitor not in names:
        raise ValueError(f"monitor must be one of {names}, got {monitor!r}")
    closure_needed = bool(getattr(optimizer, "needs_closure", False))
    if scaler is not None and closure_needed:
        raise ValueError(f"a scaler cannot be used with {type(optimizer).__name__}, which "
                         "steps with a closure")
    if clip_grad_norm is not None and class_names(optimizer) & DIFFERENTIATE_THEMSELVES:
        raise ValueError(f"{type(optimizer).__name__} takes its gradients itself: "
                         "clip_grad_norm cannot be applied")
    return _Trainer(model, loss_fn, optimizer, train_loader, epochs, scheduler=scheduler,
                    scheduler_interval=scheduler_interval, monitor=monitor,
                    val_loader=val_loader, metrics=metrics, clip_grad_norm=clip_grad_norm,
                    accumulation_steps=accumulation_steps, scaler=scaler, ema=ema,
                    callbacks=tuple(callbacks), progress=progress).run()

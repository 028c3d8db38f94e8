"""The learning-rate range test ("LR finder") of Smith (2017) and fast.ai.

Smith, "Cyclical Learning Rates for Training Neural Networks" (WACV 2017, arXiv:1506.01186),
§3.3 *How can one estimate reasonable minimum and maximum boundary values?*: train for a
short while with a learning rate that grows from a tiny value to a huge one, one mini-batch
per value, and watch the loss. While the rate is too small the loss barely moves; in a
middle band it falls quickly; past some rate it becomes ragged and then explodes. The band
where it falls fastest is where to train.

The test::

    lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))   # step_mode="exp"
    lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)       # step_mode="linear"

    for i in range(num_iter):
        set every param group's lr to lr_i
        loss_i = one training step on the next batch (the loader is restarted when it ends)
        smooth_i = loss_0                                          if i == 0
                   smooth_f * loss_i + (1 - smooth_f) * smooth_{i-1}  otherwise
        record (lr_i, smooth_i)
        stop if smooth_i is not finite or smooth_i > diverge_th * min(smooth_0 .. smooth_i)

Afterwards the model and the optimizer are put back exactly as they were, so the test can be
run before real training without spoiling it. :meth:`LRFinder.suggestion` reads a rate off the
recorded curve (steepest descent, fast.ai's "valley", or a tenth of the minimum), and
:meth:`LRFinder.plot` draws the curve.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Optional


from ._lr_finder_state import Snapshot, clear_grads
from .lr_suggestion import SUGGESTION_METHODS, suggest_lr

__all__ = ["LRFinder"]

_STEP_MODES = ("exp", "linear")


class LRFinder:
    """Learning-rate range test: sweep the rate over one short run and record the loss.

    The method is Smith's LR range test (L. N. Smith, "Cyclical Learning Rates for Training
    Neural Networks", 2017, §3.3), in the form popularised by fast.ai and ``torch-lr-finder``:
    the rate grows geometrically (or linearly) from ``start_lr`` to ``end_lr``, one optimizer
    step per rate, the loss is smoothed with an exponential moving average, and the test stops
    once the smoothed loss exceeds ``diverge_th`` times the best one seen.

    Parameters
    ----------
    model : minigrad.nn.Module
        The network; ``model(inputs)`` gives the predictions. Needs ``state_dict()``,
        ``load_state_dict()``, ``parameters()`` and ``train()``.
    optimizer : optim.Optimizer
        Any optimizer with ``param_groups``, ``step()``, ``zero_grad()``, ``state_dict()``
        and ``load_state_dict()``. Its current learning rate does not matter: the test
        overwrites it, then puts it back.
    criterion : callable
        ``criterion(predictions, targets)`` returns the scalar loss Tensor
        (``F.mse_loss``, ``nn.CrossEntropyLoss()``, ...).

    Attributes
    ----------
    history : dict or None
        ``{"lr": [...], "loss": [...]}`` of the last completed :meth:`range_test` (the
        smoothed losses), ``None`` before the first one.
    best_loss : float or None
        The smallest smoothed loss of that test.

    Notes
    -----
    * **Nothing changes.** :meth:`range_test` copies ``model.state_dict()`` and
      ``optimizer.state_dict()`` before it starts and loads them back when it ends, also when
      it ends with an exception: parameters and buffers, optimizer state, every group's
      hyper-parameters (``lr`` included), each parameter's ``.grad`` and each module's
      train/eval mode come back bit for bit. There is therefore no ``reset()`` to call
      (the method exists, and does nothing, so code written for ``torch-lr-finder`` runs).
    * **Param groups.** Like ``torch-lr-finder`` and fast.ai, every group gets the *same* rate
      during the test, whatever rates the groups had; groups with different rates (e.g.
      discriminative fine-tuning) are not swept at their ratios. The suggestion is a single
      rate; scale it per group yourself.
    * **Smoothing** follows ``torch-lr-finder``: the first point is the raw loss, then
      ``smooth_f`` weighs the new loss (0.05: mostly the past). ``smooth_f=0`` turns the
      smoothing off (each point is the raw loss).
    * Divergence is judged against the best smoothed loss, so the test assumes a loss that is
      positive at its best (as MSE and cross-entropy are).

    Examples
    --------
    >>> import minigrad, optim
    >>> import minigrad.nn.functional as F
    >>> from minigrad import nn
    >>> from minigrad.data import DataLoader, TensorDataset, make_linear_regression
    >>> from schedules import LRFinder
    >>> X, y, _ = make_linear_regression(n_samples=256, n_features=5, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32)
    >>> _ = minigrad.manual_seed(0)
    >>> model = nn.Linear(5, 1)
    >>> optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    >>> finder = LRFinder(model, optimizer, F.mse_loss)
    >>> history = finder.range_test(loader, start_lr=1e-5, end_lr=10, num_iter=100)
    >>> len(history["lr"]) < 100           # it stopped early: the loss blew up
    True
    >>> lr = finder.suggestion()           # steepest descent of the smoothed curve
    >>> 1e-4 < lr < history["lr"][-1]
    True
    >>> optimizer.param_groups[0]["lr"]    # the optimizer is as it was
    0.01
    >>> fig = finder.plot()                # a Matplotlib Figure (nothing is shown)
    """

    def __init__(self, model, optimizer, criterion) -> None:
        for method in ("state_dict", "load_state_dict", "parameters"):
            if not callable(getattr(model, method, None)):
                raise TypeError(f"model must have a {method}() method (a minigrad.nn.Module), "
                                f"got {type(model).__name__}")
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer "
                            "(it has no param_groups)")
        for method in ("step", "zero_grad", "state_dict", "load_state_dict"):
            if not callable(getattr(optimizer, method, None)):
                raise TypeError(f"optimizer must have a {method}() method, "
                                f"got {type(optimizer).__name__}")
        if not callable(criterion):
            raise TypeError(f"criterion must be callable, got {type(criterion).__name__}")
        self.model = model
        self.optimizer = optimizer
        self.criterion = criterion
        self.history: Optional[dict] = None
        self.best_loss: Optional[float] = None

    # ------------------------------------------------------------------ the test
    def range_test(self, loader, start_lr: float = 1e-7, end_lr: float = 10.0,
                   num_iter: int = 100, step_mode: str = "exp", smooth_f: float = 0.05,
                   diverge_th: float = 5.0, accumulation_steps: int = 1) -> dict:
        """Train ``num_iter`` steps with a growing learning rate; record the smoothed loss.

        Parameters
        ----------
        loader : iterable of (inputs, targets)
            A ``DataLoader`` or any re-iterable of batches. When it runs out before
            ``num_iter`` steps it is started again (a new epoch).
        start_lr, end_lr : float
            The first and last rate, ``0 < start_lr < end_lr``.
        num_iter : int
            Number of rates (optimizer steps), at least 2. Step ``i`` uses ``lr_i``.
        step_mode : {"exp", "linear"}
            ``"exp"``: ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))``,
            evenly spaced on a log axis (Smith's and fast.ai's choice, good for wide ranges);
            ``"linear"``: ``lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)``.
        smooth_f : float in [0, 1)
            Weight of the new loss in the moving average; 0 records raw losses.
        diverge_th : float > 1
            Stop after the first point whose smoothed loss exceeds ``diverge_th`` times the
            best smoothed loss so far (that point is recorded). A non-finite loss (NaN, inf)
            also stops the test.
        accumulation_steps : int >= 1
            Batches per step: each batch's loss is divided by ``accumulation_steps`` and
            back-propagated, and the optimizer steps once on the summed gradients (gradient
            accumulation). The recorded loss is the mean over those batches.

        Returns
        -------
        dict
            ``{"lr": [...], "loss": [...]}`` (Python floats, same length, at most
            ``num_iter``); also kept in :attr:`history`.

        Raises
        ------
        ValueError
            For an invalid argument (before anything is touched) or a loader without
            batches. Any exception raised by the model, the criterion or the loader
            propagates after the model and the optimizer have been restored; :attr:`history`
            then keeps its previous value.
        """
        _check_positive_number("start_lr", start_lr)
        _check_positive_number("end_lr", end_lr)
        if end_lr <= start_lr:
            raise ValueError(f"end_lr must be greater than start_lr, got start_lr={start_lr} "
                             f"and end_lr={end_lr}")
        if isinstance(num_iter, bool) or not isinstance(num_iter, numbers.Integral) \
                or num_iter < 2:
            raise ValueError(f"num_iter must be an integer >= 2, got {num_iter!r}")
        if step_mode not in _STEP_MODES:
            raise ValueError(f"step_mode must be one of {_STEP_MODES}, got {step_mode!r}")
        if not _is_real(smooth_f) or not 0.0 <= smooth_f < 1.0:
            raise ValueError(f"smooth_f must lie in [0, 1), got {smooth_f!r}")
        if not _is_real(diverge_th) or not diverge_th > 1.0 or math.isinf(diverge_th):
            raise ValueError(f"diverge_th must be a finite number > 1, got {diverge_th!r}")
        if isinstance(accumulation_steps, bool) \
                or not isinstance(accumulation_steps, numbers.Integral) or accumulation_steps < 1:
            raise ValueError(f"accumulation_steps must be an integer >= 1, "
                             f"got {accumulation_steps!r}")
        if loader is None or not hasattr(loader, "__iter__"):
            raise ValueError(f"loader must be an iterable of (inputs, targets) batches, "
                             f"got {type(loader).__name__}")

        lrs = _lr_ramp(float(start_lr), float(end_lr), int(num_iter), step_mode)
        snapshot = Snapshot(self.model, self.optimizer)
        try:
            history, best = self._run(loader, lrs, float(smooth_f), float(diverge_th),
                                      int(accumulation_steps))
        finally:
            snapshot.restore()
        self.history, self.best_loss = history, best
        return history

    def _run(self, loader, lrs, smooth_f, diverge_th, accumulation_steps):
        """The sweep itself; the caller restores the model and the optimizer afterwards."""
        history = {"lr": [], "loss": []}
        best = math.inf
        batches = _Cycle(loader)
        if hasattr(self.model, "train"):
            self.model.train()
        for i, lr in enumerate(lrs):
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss = self._train_step(batches, accumulation_steps)
            if i > 0 and smooth_f > 0.0:
                loss = smooth_f * loss + (1.0 - smooth_f) * history["loss"][-1]
            history["lr"].append(lr)
            history["loss"].append(loss)
            if not math.isfinite(loss):
                break
            best = min(best, loss)
            if loss > diverge_th * best:
                break
        return history, best

    def _train_step(self, batches, accumulation_steps: int) -> float:
        """Gradients of ``accumulation_steps`` batches, one optimizer step; the mean loss."""
        clear_grads(self.model, self.optimizer)
        total = 0.0
        for _ in range(accumulation_steps):
            inputs, targets = batches.next()
            loss = self.criterion(self.model(inputs), targets)
            loss = loss / accumulation_steps
            loss.backward()
            total += _as_float(loss)
        self.optimizer.step()
        return total

    def reset(self) -> None:
        """Does nothing: :meth:`range_test` already restores the model and the optimizer.

        Kept so that code written for ``torch-lr-finder`` (``finder.reset()``) runs.
        """

    # ------------------------------------------------------------------ reading the curve
    def suggestion(self, method: str = "steepest", skip_start: int = 10,
                   skip_end: int = 5) -> float:
        """A learning rate read off the recorded curve: :func:`schedules.suggest_lr` on
        ``history`` (same methods, skips and errors; also a ValueError before any
        :meth:`range_test`).

        Examples
        --------
        See the class example: ``finder.suggestion("valley")``.
        """
        if self.history is None:
            raise ValueError("no LR range test has been run yet: call range_test() first")
        return suggest_lr(self.history["lr"], self.history["loss"], method, skip_start, skip_end)

    # ------------------------------------------------------------------ drawing
    def plot(self, ax=None, log_lr: bool = True, suggestion: Optional[str] = "steepest"):
        """Draw the recorded loss against the learning rate and mark a suggestion.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new Figure with one Axes by default (made without pyplot, so
            nothing is shown or kept open).
        log_lr : bool, default True
            Log-scaled rate axis (the natural one for ``step_mode="exp"``).
        suggestion : {"steepest", "valley", "minimum"} or None
            The :meth:`suggestion` method whose rate is marked (with its default skips);
            None marks nothing. If the curve is too short for a suggestion a warning is
            issued and only the curve is drawn.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding ``ax``. The first line of the Axes is the whole recorded
            history (``history["lr"]``, ``history["loss"]``). ``plt.show()`` is never
            called; saving or showing is the caller's choice.
        """
        if self.history is None:
            raise ValueError("no LR range test has been run yet: call range_test() first")
        if suggestion is not None and suggestion not in SUGGESTION_METHODS:
            raise ValueError(f"suggestion must be one of {SUGGESTION_METHODS} or None, "
                             f"got {suggestion!r}")
        from minigrad.plot import lr_finder_curve

        lr = None
        if suggestion is not None:
            try:
                lr = self.suggestion(suggestion)
            except ValueError as error:
                warnings.warn(f"no suggestion marked: {error}", UserWarning, stacklevel=2)
        return lr_finder_curve(self.history, lr, label=str(suggestion), log_lr=log_lr, ax=ax)


# ---------------------------------------------------------------------- helpers
def _lr_ramp(start: float, end: float, num_iter: int, step_mode: str) -> list:
    """The rates of the test: geometric or arithmetic from ``start`` to ``end`` inclusive."""
    last = num_iter - 1
    if step_mode == "exp":
        ratio = end / start
        rates = [start * ratio ** (i / last) for i in range(num_iter)]
    else:
        rates = [start + (end - start) * (i / last) for i in range(num_iter)]
    rates[-1] = end  # exact, whatever the rounding
    return rates


def _is_real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) \
        and not math.isnan(value)


def _check_positive_number(name: str, value) -> None:
    if not _is_real(value) or not 0.0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _as_float(loss) -> float:
    """A scalar loss (Tensor, array or number) as a Python float."""
    if hasattr(loss, "item"):
        return float(loss.item())
    return float(loss)


class _Cycle:
    """Batches from a re-iterable loader, starting it again each time it runs out."""

    def __init__(self, loader) -> None:
        self.loader = loader
        self.iterator = iter(loader)

    def next(self):
        try:
            batch = next(self.iterator)
        except StopIteration:
            self.iterator = iter(self.loader)
            try:
                batch = next(self.iterator)
            except StopIteration:
                raise ValueError("the loader yielded no batches") from None
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("each batch must be a pair (inputs, targets), got "
                             f"{type(batch).__name__}"
                             + (f" of length {len(batch)}" if isinstance(batch, (tuple, list))
                                else ""))
        return batch

"""Weight averaging: Stochastic Weight Averaging (SWA) and exponential moving averages (EMA).

PyTorch's ``torch.optim.swa_utils`` with the same names, arguments and results:

* :class:`AveragedModel` keeps a copy of a model whose weights are a running average of
  the weights the model passes through during training;
* :func:`update_bn` recomputes BatchNorm's running statistics for the averaged weights;
* :class:`SWALR` (defined in :mod:`schedules.swa`, re-exported here) anneals the learning
  rate to the constant SWA rate.

The two averages, for the averaged weights θ̄ and the model's weights θ after n models
have been averaged (the first call of ``update_parameters`` copies θ, so θ̄ = θ₀)::

    SWA   θ̄ ← θ̄ + (θ − θ̄) / (n + 1)          (the equal-weight mean of θ₀ … θₙ)
    EMA   θ̄ ← decay·θ̄ + (1 − decay)·θ         (Polyak averaging with exponential weights)

SWA: Izmailov, Podoprikhin, Garipov, Vetrov & Wilson (2018), "Averaging Weights Leads to
Wider Optima and Better Generalization", UAI, arXiv:1803.05407 (reference code:
github.com/timgaripov/swa). EMA of the weights: Polyak & Juditsky (1992),
"Acceleration of Stochastic Approximation by Averaging".

Averaging functions work on arrays (the tensors' ``.data``): ``avg_fn(averaged, current,
num_averaged) -> new array`` and ``multi_avg_fn(averaged_list, current_list,
num_averaged) -> None`` (in place); ``num_averaged`` is a Python int.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable, Optional

import numpy as np

from minigrad import backend
from minigrad._config import no_grad
from minigrad.nn.module import Module
from minigrad.nn.normalization import _BatchNorm
from minigrad.tensor import Tensor

from .checks import check_range

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]

AvgFn = Callable[[object, object, int], object]
MultiAvgFn = Callable[[list, list, int], None]


# --------------------------------------------------------------------------- the averages
def _lerp_(start, end, weight: float) -> None:
    """start ← start + weight·(end − start), in place.

    Floating arrays use the form that is exact at both ends (weight 0 keeps ``start``,
    weight 1 gives ``end``): from ``start`` when weight < ½, from ``end`` otherwise.
    Integer arrays (BatchNorm's ``num_batches_tracked``) are computed in floating point
    and truncated back.
    """
    if start.dtype.kind in "fc":
        if weight < 0.5:
            start += weight * (end - start)
        else:
            start[...] = end - (end - start) * (1 - weight)
    else:
        start[...] = (start + weight * (end - start)).astype(start.dtype)


def _check_decay(decay: float) -> None:
    check_range("decay", decay, 0.0, 1.0)


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The EMA of one array: ``ema_update(ema, current, num_averaged) -> new array``.

    θ̄ ← decay·θ̄ + (1 − decay)·θ (``num_averaged`` is not used).

    Parameters
    ----------
    decay : float, default 0.999
        Weight of the old average, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> get_ema_avg_fn(0.9)(np.array([1.0]), np.array([2.0]), 5)
    array([1.1])
    """
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """The EMA of lists of arrays, in place: θ̄ ← θ̄ + (1 − decay)·(θ − θ̄).

    Parameters
    ----------
    decay : float, default 0.999
        Weight of the old average, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> ema = [np.array([1.0, 0.0])]
    >>> get_ema_multi_avg_fn(0.75)(ema, [np.array([2.0, 4.0])], 3)
    >>> ema[0]
    array([1.25, 1.  ])
    """
    _check_decay(decay)

    def ema_update(ema_params: list, current_params: list, num_averaged) -> None:
        for ema, current in zip(ema_params, current_params, strict=True):
            if ema.dtype.kind in "fc":
                _lerp_(ema, current, 1 - decay)
            else:  # PyTorch's rule for integer buffers: weighted sum, truncated
                ema[...] = (ema * decay + current * (1 - decay)).astype(ema.dtype)

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """The running mean of one array: θ̄ + (θ − θ̄) / (n + 1), a new array.

    Examples
    --------
    >>> import numpy as np
    >>> get_swa_avg_fn()(np.array([1.0]), np.array([4.0]), 2)   # mean of 1, 1, 4
    array([2.])
    """

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """The running mean of lists of arrays, in place: θ̄ ← θ̄ + (θ − θ̄) / (n + 1).

    Examples
    --------
    >>> import numpy as np
    >>> avg = [np.array([1.0, 3.0])]
    >>> get_swa_multi_avg_fn()(avg, [np.array([3.0, 3.0])], 1)
    >>> avg[0]
    array([2., 3.])
    """

    def swa_update(averaged_params: list, current_params: list, num_averaged) -> None:
        weight = 1.0 / (int(num_averaged) + 1)
        for averaged, current in zip(averaged_params, current_params, strict=True):
            _lerp_(averaged, current, weight)

    return swa_update


# --------------------------------------------------------------------------- the model
class AveragedModel(Module):
    """A copy of ``model`` whose weights are the running SWA (or EMA) average of its weights.

    Parameters
    ----------
    model : Module
        The model being trained; it is deep-copied (the copy is ``self.module``).
    device : str, optional
        ``"cpu"`` or ``"cuda"``: where the copy lives (default: where ``model`` is).
    avg_fn : callable, optional
        ``avg_fn(averaged, current, num_averaged) -> array``, applied to each parameter.
    multi_avg_fn : callable, optional
        ``multi_avg_fn(averaged_list, current_list, num_averaged)``, in place, applied
        to all parameters of one device and dtype at once. Give at most one of the two;
        with neither, the equal-weight mean (SWA).
    use_buffers : bool, default False
        Average the buffers (BatchNorm's running statistics) as well. With False the
        buffers are copied from ``model`` at each update; recompute them afterwards with
        :func:`update_bn`.

    Attributes
    ----------
    module : Module
        The averaged copy; ``forward`` calls it.
    n_averaged : Tensor
        A buffer (int64, 0-d): how many models have been averaged.

    Notes
    -----
    The first ``update_parameters`` copies the model's weights (whatever the averaging
    function); later ones apply the averaging function. ``avg_fn`` and ``multi_avg_fn``
    are not saved in ``state_dict``, whose keys are ``"n_averaged"`` and ``"module.…"``.
    Unlike PyTorch, models with a different number of parameters raise instead of being
    averaged pairwise up to the shorter list.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> model = nn.Linear(2, 1)
    >>> swa = AveragedModel(model)
    >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    >>> for value in (1.0, 2.0, 6.0):
    ...     model.bias.data[...] = value
    ...     swa.update_parameters(model)
    ...     ema.update_parameters(model)
    >>> swa.module.bias.data.round(4), ema.module.bias.data.round(4), swa.n_averaged.item()
    (array([3.], dtype=float32), array([1.59], dtype=float32), 3)
    >>> swa(minigrad.ones(4, 2)).shape
    (4, 1)
    """

    def __init__(self, model: Module, device: Optional[str] = None,
                 avg_fn: Optional[AvgFn] = None, multi_avg_fn: Optional[MultiAvgFn] = None,
                 use_buffers: bool = False) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"model must be a minigrad nn.Module, got {type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        super().__init__()
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module.to(device)
        counter = np.array(0, dtype=np.int64)
        self.register_buffer("n_averaged", Tensor(
            counter if device is None else backend.to_device(counter, device)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged_tensors(self, model: Module) -> tuple:
        """The (own, model's) tensors to average, checked to match one to one."""
        own = list(self.module.parameters())
        theirs = list(model.parameters())
        if self.use_buffers:
            own += list(self.module.buffers())
            theirs += list(model.buffers())
        _check_pairs("parameters" + (" and buffers" if self.use_buffers else ""), own, theirs)
        return own, theirs

    def update_parameters(self, model: Module) -> None:
        """Fold the current weights of ``model`` into the average (the first call copies)."""
        own, theirs = self._averaged_tensors(model)
        if not self.use_buffers:  # checked before anything changes
            own_buffers, model_buffers = list(self.module.buffers()), list(model.buffers())
            _check_pairs("buffers", own_buffers, model_buffers)
        n = int(self.n_averaged.item())
        current = [backend.to_device(t.data, o.device) for o, t in zip(own, theirs)]
        if n == 0:
            for target, value in zip(own, current):
                _assign(target, value)
        elif self.avg_fn is not None:
            for target, value in zip(own, current):
                _assign(target, self.avg_fn(target.data, value, n))
        else:
            average = self.multi_avg_fn
            if average is None:  # PyTorch's default on the CPU: the elementwise mean
                swa = get_swa_avg_fn()
                for target, value in zip(own, current):
                    _assign(target, swa(target.data, value, n))
            else:
                for group in _by_device_and_dtype(own):
                    average([own[i].data for i in group], [current[i] for i in group], n)
                    for i in group:
                        own[i]._version += 1
        if not self.use_buffers:  # keep the buffers in step with the model's
            for target, source in zip(own_buffers, model_buffers):
                _assign(target, backend.to_device(source.data, target.device))
        self.n_averaged.data = self.n_averaged.data + 1


def _check_pairs(what: str, own: list, theirs: list) -> None:
    if len(own) != len(theirs):
        raise ValueError(f"the averaged model has {len(own)} {what} but the model has "
                         f"{len(theirs)}")
    for index, (a, b) in enumerate(zip(own, theirs)):
        if a.shape != b.shape:
            raise ValueError(f"{what} {index}: shape {b.shape} in the model, {a.shape} in "
                             f"the averaged model")


def _assign(target: Tensor, value) -> None:
    """Write ``value`` into ``target`` in place, cast to its dtype (truncating for ints)."""
    with no_grad():
        target.copy_(value.astype(target.dtype, copy=False))


def _by_device_and_dtype(tensors: list) -> list:
    """Positions of ``tensors`` grouped by (device, dtype), groups in first-seen order."""
    groups: dict = {}
    for index, t in enumerate(tensors):
        groups.setdefault((t.device, t.dtype), []).append(index)
    return list(groups.values())


# --------------------------------------------------------------------------- BatchNorm
def update_bn(loader: Iterable, model: Module, device: Optional[str] = None) -> None:
    """Recompute the running mean and variance of every BatchNorm layer of ``model``.

    The statistics are reset and one pass over ``loader`` in training mode averages the
    batch statistics with equal weights (``momentum=None``: a cumulative average). Each
    batch is a Tensor (or array), or a list/tuple whose first element is the input.
    Afterwards every BatchNorm's ``momentum`` and the model's training mode are restored.
    Nothing happens when the model has no BatchNorm layer.

    Parameters
    ----------
    loader : iterable
        Batches of inputs, e.g. a ``minigrad.data.DataLoader``.
    model : Module
        The model (often an :class:`AveragedModel`), changed in place.
    device : str, optional
        Move each input there first.

    Examples
    --------
    >>> import numpy as np, minigrad
    >>> from minigrad import nn
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    >>> batches = [minigrad.randn(8, 3) for _ in range(3)]
    >>> update_bn(batches, model)
    >>> int(model[1].num_batches_tracked.item()), model[1].momentum
    (3, 0.1)
    """
    momenta = {module: module.momentum for module in model.modules()
               if isinstance(module, _BatchNorm)}
    if not momenta:
        return
    for module in momenta:
        module.reset_running_stats()
    was_training = model.training
    model.train()
    try:
        for module in momenta:
            module.momentum = None
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if not isinstance(batch, Tensor):
                    batch = Tensor(batch if backend.is_array(batch) else np.asarray(batch))
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


# --------------------------------------------------------------------------- SWALR
def __getattr__(name: str):
    # SWALR is a schedule: it lives in ``schedules`` (which depends on ``optim``, never the
    # reverse) and is imported only when asked for.
    if name == "SWALR":
        from schedules.swa import SWALR

        return SWALR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | {"SWALR"})

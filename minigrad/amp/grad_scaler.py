"""``GradScaler``: dynamic loss scaling for float16 training (``torch.amp.GradScaler``).

float16 has 10 mantissa bits and its smallest positive value is 2⁻²⁴ ≈ 6·10⁻⁸: many
gradients of a float16 forward pass are smaller and *underflow* to zero. Multiplying the
loss by a scale S before ``backward()`` multiplies every gradient by S (the chain rule
is linear), lifting them into float16's range; dividing the float32 gradients by S
before the optimizer step gives the true gradients back.

S is chosen on the fly: too large and some gradient overflows to inf (or becomes NaN);
then the step is skipped and S shrinks. After ``growth_interval`` clean steps in a row
S grows again, so it hovers just below the overflow threshold.

One iteration::

    scaler.scale(loss).backward()      # scaled gradients
    scaler.unscale_(optimizer)         # optional: true gradients, e.g. to clip them
    scaler.step(optimizer)             # unscale (if not done) and step, unless inf/NaN
    scaler.update()                    # back off or grow the scale

With gradient accumulation, scale every micro-batch loss, but call ``unscale_``,
``step`` and ``update`` once per optimizer step: the scale must not change while the
gradients of one step are being summed.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections import defaultdict
from enum import Enum
from typing import Optional

import numpy as np

from ..backend import cupy_available, device_of, get_array_module
from ..tensor import Tensor

__all__ = ["GradScaler", "OptState", "update_scale", "unscale_grads_"]


class OptState(Enum):
    """Where an optimizer is in the iteration, as far as the scaler is concerned."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_optimizer_state() -> dict:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


# ------------------------------------------------------------------ the two rules
def update_scale(scale: np.float32, growth_tracker: int, found_inf: bool, *,
                 growth_factor: float, backoff_factor: float,
                 growth_interval: int) -> tuple:
    """One update of the loss scale S and of the count t of clean steps in a row.

    ::

        inf or NaN seen:   S ← S · backoff_factor,                  t ← 0
        else if t + 1 = growth_interval:
                           S ← S · growth_factor (if still finite),  t ← 0
        else:              t ← t + 1

    S is a float32 number; each product is taken in float64 and rounded to float32, as
    PyTorch's ``_amp_update_scale_`` does.

    Returns
    -------
    (numpy.float32, int)
        The new scale and growth tracker.

    Examples
    --------
    >>> import numpy as np
    >>> s, t = np.float32(1024.0), 0
    >>> s, t = update_scale(s, t, True, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    >>> float(s), t
    (512.0, 0)
    >>> for _ in range(2):
    ...     s, t = update_scale(s, t, False, growth_factor=2.0, backoff_factor=0.5,
    ...                         growth_interval=2)
    >>> float(s), t
    (1024.0, 0)
    """
    if found_inf:
        return np.float32(float(scale) * backoff_factor), 0
    successful = growth_tracker + 1
    if successful == growth_interval:
        with np.errstate(over="ignore"):
            grown = np.float32(float(scale) * growth_factor)
        return (grown if math.isfinite(grown) else np.float32(scale)), 0
    return np.float32(scale), successful


def unscale_grads_(grads: list, inv_scale: np.float32) -> bool:
    """Multiply every gradient by ``inv_scale`` = 1/S in place; True if any has inf/NaN.

    The check looks at the scaled values; the gradients are unscaled in any case (a
    skipped step does not use them). A float32 gradient is multiplied by the float32
    ``inv_scale``, a float64 one by the same value widened, like PyTorch's
    ``_amp_foreach_non_finite_check_and_unscale_``.
    """
    found_inf = False
    for g in grads:
        xp = get_array_module(g)
        if not bool(xp.isfinite(g).all()):
            found_inf = True
        if inv_scale != 1.0:
            g *= g.dtype.type(inv_scale)
    return found_inf


# ------------------------------------------------------------------ argument checks
def _in_range(name: str, value, low: float, high: float, why: str = "") -> float:
    """``value`` as a float strictly between ``low`` and ``high``, or an error naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not low < float(value) < high:
        raise ValueError(f"Invalid {name}: {value} (allowed range ({low}, {high}){why})")
    return float(value)


def _check_growth_interval(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"growth_interval must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"Invalid growth_interval: {value} (must be an integer >= 1)")
    return int(value)


def _check_growth_factor(value) -> float:
    return _in_range("growth_factor", value, 1.0, math.inf, ": the scale must grow")


def _check_backoff_factor(value) -> float:
    return _in_range("backoff_factor", value, 0.0, 1.0, ": the scale must shrink")


# ------------------------------------------------------------------ the class
class GradScaler:
    """Scale the loss, unscale the gradients, skip steps with inf/NaN, adapt the scale.

    Follows ``torch.amp.GradScaler``: same methods, same order of calls, same schedule
    of the scale and the same ``state_dict``. The optimizer is any object with
    ``param_groups`` whose parameters carry ``.grad`` arrays (``optim.Optimizer``).

    Parameters
    ----------
    device : {'cpu', 'cuda'}, default 'cpu'
        Where the scaled tensors live. 'cuda' without CuPy warns and disables the scaler
        (as PyTorch does without CUDA).
    init_scale : float, default 2.0**16
        The first scale S, > 0.
    growth_factor : float, default 2.0
        S is multiplied by it after ``growth_interval`` clean steps in a row; > 1.
    backoff_factor : float, default 0.5
        S is multiplied by it after a step with inf/NaN gradients; in (0, 1).
    growth_interval : int, default 2000
        Clean steps in a row before S grows; >= 1.
    enabled : bool, default True
        False makes every method a pass-through: ``scale`` returns its input, ``step``
        calls ``optimizer.step``, ``get_scale`` returns 1.0, ``state_dict`` is empty.

    Raises
    ------
    ValueError
        For an argument out of its range (named in the message) or an unknown device.
    TypeError
        For an argument of the wrong type.

    Notes
    -----
    ``device`` defaults to 'cpu' (PyTorch: 'cuda'). Unlike PyTorch, the arguments are
    checked even when ``enabled=False``, and misuse that PyTorch reports with
    ``AssertionError`` (``update`` before any ``step``) raises ``RuntimeError`` with the
    same message.

    Examples
    --------
    >>> import numpy as np
    >>> import minigrad
    >>> from minigrad.amp import GradScaler
    >>> from optim.sgd import SGD
    >>> w = minigrad.Parameter(np.array([1.0, 2.0], dtype=np.float32))
    >>> opt = SGD([w], lr=0.1)
    >>> scaler = GradScaler(init_scale=1024.0, growth_interval=2)
    >>> loss = (w * w).sum()
    >>> scaler.scale(loss).backward()
    >>> w.grad                                   # scaled by 1024
    array([2048., 4096.], dtype=float32)
    >>> scaler.step(opt)                         # unscales, then steps
    >>> w.data
    array([0.8, 1.6], dtype=float32)
    >>> scaler.update(); scaler.get_scale()      # one clean step: not grown yet
    1024.0
    >>> w.grad[0] = np.inf                       # an overflowing gradient ...
    >>> scaler.step(opt) is None                 # ... skips the step
    True
    >>> scaler.update(); scaler.get_scale()      # and halves the scale
    512.0
    """

    def __init__(self, device: str = "cpu", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if device not in ("cpu", "cuda"):
            raise ValueError(f"GradScaler: device must be 'cpu' or 'cuda', got {device!r}")
        self._device = device
        self._init_scale = _in_range("init_scale", init_scale, 0.0, math.inf)
        self._growth_factor = _check_growth_factor(growth_factor)
        self._backoff_factor = _check_backoff_factor(backoff_factor)
        self._growth_interval = _check_growth_interval(growth_interval)
        self._enabled = bool(enabled)
        if self._enabled and device == "cuda" and not cupy_available():
            warnings.warn("GradScaler is enabled for 'cuda', but CuPy or a GPU is not "
                          "available. Disabling.", stacklevel=2)
            self._enabled = False
        self._init_growth_tracker = 0
        self._scale: Optional[np.float32] = None  # set by the first scale()
        self._growth_tracker: Optional[int] = None
        self._per_optimizer_states: dict = defaultdict(_fresh_optimizer_state)

    # ----------------------------------------------------------------- scaling
    def _lazy_init_scale_growth_tracker(self) -> None:
        self._scale = np.float32(self._init_scale)
        self._growth_tracker = self._init_growth_tracker

    def _check_scale_growth_tracker(self, funcname: str) -> None:
        if self._scale is None:
            raise RuntimeError(f"Attempted {funcname} but _scale is None.  This may indicate "
                               f"your script did not use scaler.scale(loss or outputs) "
                               f"earlier in the iteration.")

    def scale(self, outputs):
        """Multiply a Tensor, or the Tensors of nested lists/tuples, by the scale S.

        The product is part of the graph, so ``scaler.scale(loss).backward()`` gives
        gradients multiplied by S. Lists and tuples keep their type; another iterable
        gives a lazy ``map``.

        Raises
        ------
        ValueError
            If an entry is not a Tensor.
        """
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker()
            scale = outputs.xp.asarray(self._scale, dtype=np.float32)
            return outputs * Tensor._make(scale)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(value) for value in outputs)
        if hasattr(outputs, "__iter__") and not isinstance(outputs, (str, bytes)):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _unscale_grads_(self, optimizer, inv_scale: np.float32, allow_fp16: bool) -> dict:
        """Unscale the optimizer's gradients; ``{device: 1.0 if inf/NaN else 0.0}``.

        Every gradient is checked before any is changed, so an error changes nothing.
        """
        per_device: dict = defaultdict(list)
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not allow_fp16 and param.grad.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients. Keep the "
                                     "parameters in float32 (master weights) and let "
                                     "autocast cast them for the forward pass.")
                per_device[device_of(param.grad)].append(param.grad)
        return {device: float(unscale_grads_(grads, inv_scale))
                for device, grads in per_device.items()}

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by S, in place (and look for inf/NaN).

        Optional: ``step`` does it when it was not done. Call it yourself to work on the
        true gradients before the step (gradient clipping), once per optimizer and step,
        after all the gradients of that step have been accumulated.

        Raises
        ------
        RuntimeError
            When called twice before ``update()``, or after ``step()``.
        ValueError
            If a gradient is float16 (the parameters must be float32 master weights).
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = np.float32(1.0 / np.float64(self._scale))  # reciprocal in float64
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale,
                                                                       allow_fp16=False)
        optimizer_state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless done), then ``optimizer.step(*args, **kwargs)`` if all finite.

        Returns
        -------
        The optimizer's return value, or None when the step was skipped because some
        gradient held inf or NaN (the parameters are then untouched).

        Raises
        ------
        RuntimeError
            If a ``closure`` keyword is given, if called twice before ``update()``, or
            if the optimizer holds no gradient at all.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not optimizer_state["found_inf_per_device"]:
            raise RuntimeError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(optimizer_state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Back off or grow the scale (see :func:`update_scale`), or set it to ``new_scale``.

        Call it once per iteration, after ``step`` for every optimizer. An inf/NaN seen
        by any optimizer counts as one overflow.

        Raises
        ------
        RuntimeError
            If no optimizer was unscaled or stepped since the last update (for instance
            an update per micro-batch while accumulating gradients).
        ValueError
            If ``new_scale`` is not a positive finite number (or a one-element Tensor).
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            self._scale = np.float32(self._check_new_scale(new_scale))
        else:
            found_infs = [found for state in self._per_optimizer_states.values()
                          for found in state["found_inf_per_device"].values()]
            if not found_infs:
                raise RuntimeError("No inf checks were recorded prior to update.")
            self._scale, self._growth_tracker = update_scale(
                self._scale, self._growth_tracker, sum(found_infs) > 0,
                growth_factor=self._growth_factor, backoff_factor=self._backoff_factor,
                growth_interval=self._growth_interval)
        self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    @staticmethod
    def _check_new_scale(new_scale) -> float:
        if isinstance(new_scale, Tensor):
            if new_scale.size != 1 or new_scale.requires_grad:
                raise ValueError("new_scale should be a float or a 1-element Tensor with "
                                 "requires_grad=False.")
            new_scale = float(new_scale.item())
        return _in_range("new_scale", new_scale, 0.0, math.inf)

    # ----------------------------------------------------------------- accessors
    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = _check_growth_factor(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = _check_backoff_factor(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = _check_growth_interval(new_interval)

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` (PyTorch's keys); empty when disabled. Save it after
        ``update()``."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` (checked before anything changes; no-op when disabled).

        Raises
        ------
        RuntimeError
            If ``state_dict`` is empty (saved from a disabled scaler).
        KeyError
            If a key is missing.
        """
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        scale = _in_range("scale", state_dict["scale"], 0.0, math.inf)
        growth_factor = _check_growth_factor(state_dict["growth_factor"])
        backoff_factor = _check_backoff_factor(state_dict["backoff_factor"])
        growth_interval = _check_growth_interval(state_dict["growth_interval"])
        tracker = state_dict["_growth_tracker"]
        if isinstance(tracker, bool) or not isinstance(tracker, numbers.Integral) or tracker < 0:
            raise ValueError(f"Invalid _growth_tracker: {tracker!r} (must be an integer >= 0)")
        self._init_scale = scale
        if self._scale is not None:
            self._scale = np.float32(scale)
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = int(tracker)
        if self._growth_tracker is not None:
            self._growth_tracker = int(tracker)

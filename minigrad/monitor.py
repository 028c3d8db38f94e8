"""Gradient-norm monitoring: record the gradient norms of every step, before and after clipping.

A spike in the gradient norm is the first sign of an unstable run (too high a learning
rate, no warmup, a bad batch); clipping hides it from the update but not from the
record. :class:`GradNormRecorder` keeps, per step and per stage (``"before_clip"``,
``"after_clip"``, or any name), the norm of every parameter's gradient and the total norm
of all of them, as arrays that ``minigrad.plot.grad_norms`` draws::

    recorder = GradNormRecorder(model)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        recorder.clip_grad_norm_(max_norm=1.0)     # records, clips, records again
        optimizer.step()
    recorder.plot()                                # before/after curves and the threshold

The total is the norm of the vector of all gradients, which is the norm of the vector of
per-parameter norms: ‖g‖ = ‖(‖g₁‖, ‖g₂‖, …)‖ (for the 2-norm, ‖g‖² = Σᵢ ‖gᵢ‖²), computed
exactly as ``nn.utils.clip_grad_norm_`` computes it.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Optional

import numpy as np

from .backend import get_array_module
from .nn.utils import _vector_norm, clip_grad_norm_ as _clip_grad_norm_
from .tensor import Tensor

__all__ = ["GradNormRecorder", "grad_norms"]


def grad_norms(parameters: Iterable[Tensor], norm_type: float = 2.0) -> tuple:
    """The norm of each parameter's gradient and the total norm of all of them.

    Parameters
    ----------
    parameters : iterable of Tensor
        Parameters; those without a gradient get NaN and are left out of the total.
    norm_type : float, default 2.0
        p of the p-norm (``inf``: the largest absolute entry).

    Returns
    -------
    (ndarray, float)
        The per-parameter norms (float64, one per parameter) and the total norm,
        ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p, equal to what ``clip_grad_norm_`` returns (0.0 when no
        parameter has a gradient).

    Examples
    --------
    >>> import numpy as np, minigrad
    >>> a, b = minigrad.zeros(2, requires_grad=True), minigrad.zeros(1, requires_grad=True)
    >>> a.grad, b.grad = np.array([3.0, 0.0], np.float32), np.array([4.0], np.float32)
    >>> grad_norms([a, b])
    (array([3., 4.]), 5.0)
    """
    norm_type = float(norm_type)
    parameters = list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    per_parameter = np.full(len(parameters), np.nan)
    if not grads:
        return per_parameter, 0.0
    xp = get_array_module(grads[0])
    dtype = np.result_type(*[g.dtype for g in grads])  # as clip_grad_norm_ does
    norms = xp.stack([_vector_norm(g, norm_type).astype(dtype) for g in grads])
    total = float(_vector_norm(norms, norm_type))
    has_grad = np.array([p.grad is not None for p in parameters])
    per_parameter[has_grad] = np.asarray(norms.tolist(), dtype=np.float64)
    return per_parameter, total


class GradNormRecorder:
    """Record per-parameter and total gradient norms, step after step, stage by stage.

    Parameters
    ----------
    params : Module or iterable
        A model (its ``named_parameters()``), ``(name, tensor)`` pairs, or tensors
        (named ``"0"``, ``"1"``, … by position).
    norm_type : float, default 2.0
        The p-norm used for every record and by :meth:`clip_grad_norm_`.

    Attributes
    ----------
    names : list of str
        The parameter names, in order.
    max_norm : float or None
        The threshold of the last :meth:`clip_grad_norm_` (for :meth:`plot`).

    Notes
    -----
    Each :meth:`record` call appends one entry to its stage's series, so step k of a
    stage is its k-th record.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> model = nn.Linear(3, 2)
    >>> recorder = GradNormRecorder(model)
    >>> for scale in (0.05, 100.0):
    ...     model.zero_grad()
    ...     (scale * model(minigrad.ones(4, 3)).sum()).backward()
    ...     norm = recorder.clip_grad_norm_(max_norm=1.0)
    >>> recorder.before.round(3).tolist(), recorder.after.round(3).tolist()
    ([0.566, 1131.371], [0.566, 1.0])
    >>> list(recorder.per_parameter("before_clip"))
    ['weight', 'bias']
    """

    def __init__(self, params, norm_type: float = 2.0) -> None:
        if hasattr(params, "named_parameters"):
            pairs = list(params.named_parameters())
        elif isinstance(params, Tensor):
            pairs = [("0", params)]
        else:
            pairs = [(str(item[0]), item[1]) if isinstance(item, tuple) else (str(i), item)
                     for i, item in enumerate(params)]
        if not pairs:
            raise ValueError("GradNormRecorder got an empty parameter list")
        norm_type = float(norm_type)
        if not (norm_type > 0):
            raise ValueError(f"Invalid norm_type: {norm_type} (allowed range (0.0, inf])")
        self.names = [name for name, _ in pairs]
        self.params = [p for _, p in pairs]
        self.norm_type = norm_type
        self.max_norm: Optional[float] = None
        self._totals: "OrderedDict[str, list]" = OrderedDict()
        self._per_parameter: "OrderedDict[str, list]" = OrderedDict()

    # ------------------------------------------------------------ recording
    def record(self, stage: str = "before_clip") -> float:
        """Append the current gradient norms to ``stage``; return the total norm."""
        if not isinstance(stage, str) or not stage:
            raise ValueError(f"Invalid stage: {stage!r} (expected a non-empty string)")
        per_parameter, total = grad_norms(self.params, self.norm_type)
        self._append(stage, per_parameter, total)
        return total

    def _append(self, stage: str, per_parameter: np.ndarray, total: float) -> None:
        self._totals.setdefault(stage, []).append(total)
        self._per_parameter.setdefault(stage, []).append(per_parameter)

    def clip_grad_norm_(self, max_norm: float, error_if_nonfinite: bool = False) -> Tensor:
        """Record ``"before_clip"``, clip with ``nn.utils.clip_grad_norm_``, record
        ``"after_clip"``; return what ``clip_grad_norm_`` returns (the norm before)."""
        if not (isinstance(max_norm, (int, float)) and not isinstance(max_norm, bool)
                and max_norm >= 0):
            raise ValueError(f"Invalid max_norm: {max_norm!r} (allowed range [0.0, inf])")
        per_parameter, total = grad_norms(self.params, self.norm_type)
        # Clip before storing anything: if it raises (error_if_nonfinite), nothing is kept.
        norm = _clip_grad_norm_(self.params, max_norm, self.norm_type, error_if_nonfinite)
        self._append("before_clip", per_parameter, total)
        self.record("after_clip")
        self.max_norm = float(max_norm)
        return norm

    def reset(self) -> None:
        """Forget every record."""
        self._totals.clear()
        self._per_parameter.clear()
        self.max_norm = None

    # ------------------------------------------------------------ reading
    @property
    def stages(self) -> list:
        """The stages recorded so far, in first-recorded order."""
        return list(self._totals)

    def totals(self, stage: str = "before_clip") -> np.ndarray:
        """The total norm at each record of ``stage``, shape ``(steps,)``."""
        return np.asarray(self._totals.get(stage, []), dtype=np.float64)

    def per_parameter(self, stage: str = "before_clip") -> "OrderedDict[str, np.ndarray]":
        """``name -> norms at each record of stage`` (NaN where a gradient was missing)."""
        rows = self._per_parameter.get(stage, [])
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(self.names))
        return OrderedDict((name, table[:, i].copy()) for i, name in enumerate(self.names))

    @property
    def before(self) -> np.ndarray:
        """Total norms recorded at ``"before_clip"``."""
        return self.totals("before_clip")

    @property
    def after(self) -> np.ndarray:
        """Total norms recorded at ``"after_clip"``."""
        return self.totals("after_clip")

    def as_dict(self) -> dict:
        """``{stage: {"total": array, "per_parameter": {name: array}}}``, plain data."""
        return {stage: {"total": self.totals(stage),
                        "per_parameter": dict(self.per_parameter(stage))}
                for stage in self.stages}

    def plot(self, **kwargs):
        """The before/after curves with the threshold (``minigrad.plot.grad_norms``)."""
        from .plot import grad_norms as draw  # the plotting layer, imported only here

        after = self.after if len(self.after) else None
        kwargs.setdefault("max_norm", self.max_norm)
        return draw(self.before, after, **kwargs)

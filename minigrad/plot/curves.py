"""Curves over training steps: losses, learning-rate schedules, exponentially weighted
averages, gradient norms before and after clipping, weight norms, and the per-parameter
effective learning rates of Adam and RMSprop.

Every function takes the numbers to draw (arrays, or a mapping ``name -> array``) and
returns a :class:`~matplotlib.figure.Figure` with one Axes whose lines are exactly those
numbers, against the step ``0, 1, 2, ...``.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
from matplotlib.figure import Figure

from .style import MARKER_COLOR, new_figure, styled

Series = Union[Mapping[str, Any], Sequence[Mapping[str, Any]], np.ndarray]


def as_series(curves: Series, key: str = "loss") -> list:
    """Normalise to a list of ``(name, 1-D array)``.

    Accepts a mapping ``name -> values``, one array, or dicts such as ``run_trajectory``
    results (``key`` picks the values, ``"name"`` the label).

    Examples
    --------
    >>> [(n, v.tolist()) for n, v in as_series([{"name": "SGD", "loss": [3, 2]}])]
    [('SGD', [3.0, 2.0])]
    """
    if isinstance(curves, Mapping):
        if key in curves:
            curves = [curves]
        else:
            return [(str(k), np.asarray(v, float).ravel()) for k, v in curves.items()]
    if isinstance(curves, np.ndarray) or (len(curves) and np.isscalar(curves[0])):
        return [("", np.asarray(curves, float).ravel())]
    return [(str(c.get("name", f"run {i}")), np.asarray(c[key], float).ravel())
            for i, c in enumerate(curves)]


def _steps(values: np.ndarray) -> np.ndarray:
    return np.arange(len(values))


@styled
def loss_curves(curves: Series, *, log: bool = True, xlabel: str = "step",
                title: str = "Training loss") -> Figure:
    """Loss against step for one or several runs, log-scaled by default.

    Parameters
    ----------
    curves : mapping name -> losses, array, or list of ``run_trajectory`` dicts
    log : bool, default True
        Log-scaled loss axis (losses shrink by orders of magnitude).
    xlabel, title : str

    Examples
    --------
    >>> fig = loss_curves({"SGD": [1.0, 0.5, 0.1], "Adam": [1.0, 0.1, 0.01]})
    >>> fig.axes[0].get_yscale(), len(fig.axes[0].get_lines())
    ('log', 2)
    """
    fig, ax = new_figure()
    for name, losses in as_series(curves, "loss"):
        ax.plot(_steps(losses), positive_or_nan(losses) if log else losses,
                label=name or "loss")
    ax.set(xlabel=xlabel, ylabel="loss", title=title, yscale="log" if log else "linear")
    ax.legend()
    return fig


def _schedule_values(spec: Any, steps: Optional[int], base_lr: float) -> np.ndarray:
    """An array as is, or ``(SchedulerCls, kwargs)`` evaluated with ``schedules.lr_sequence``."""
    if isinstance(spec, tuple) and len(spec) == 2 and callable(spec[0]):
        if steps is None:
            raise ValueError("steps is needed to evaluate a (scheduler, kwargs) pair")
        from schedules import lr_sequence

        cls, kwargs = spec
        return np.asarray(lr_sequence(cls, steps, base_lr=base_lr, **kwargs), float)
    return np.asarray(spec, float).ravel()


def positive_or_nan(values: Any) -> np.ndarray:
    """``values`` with every entry that is not positive replaced by NaN, for a log axis.

    Examples
    --------
    >>> positive_or_nan([0.0, 1e-3, -1.0]).tolist()
    [nan, 0.001, nan]
    """
    values = np.array(values, dtype=float)
    values[~(values > 0)] = np.nan
    return values


@styled
def schedule_curves(schedules: Mapping[str, Any], steps: Optional[int] = None, *,
                    base_lr: float = 0.1, warmup_steps: Optional[int] = None,
                    log: bool = False, title: str = "Learning-rate schedules") -> Figure:
    """Several learning-rate schedules on one Axes, the end of warmup marked.

    Parameters
    ----------
    schedules : mapping name -> array or (SchedulerCls, kwargs)
        Rates per step, or a scheduler and its arguments, evaluated (lazily importing
        :mod:`schedules`) with ``lr_sequence(SchedulerCls, steps, base_lr=base_lr,
        **kwargs)``.
    steps : int, optional
        Steps to evaluate; needed only for ``(SchedulerCls, kwargs)`` entries.
    base_lr : float, default 0.1
    warmup_steps : int, optional
        Draws a dotted vertical line (``gid="warmup"``) where warmup ends.
    log : bool, default False
        Log-scaled rate axis. Rates that are not positive (a schedule starting at 0) have
        no place on it and are left out (drawn as gaps), rather than plunging to the
        axis floor.

    Examples
    --------
    >>> from schedules import CosineAnnealingLR
    >>> fig = schedule_curves({"cosine": (CosineAnnealingLR, {"T_max": 10}),
    ...                        "constant": [0.1] * 10}, steps=10)
    >>> fig.axes[0].get_lines()[0].get_ydata()[:3].round(4).tolist()
    [0.1, 0.0976, 0.0905]
    >>> fig = schedule_curves({"warmup from 0": [0.0, 0.05, 0.1]}, log=True)
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [nan, 0.05, 0.1]
    """
    fig, ax = new_figure()
    for name, spec in schedules.items():
        values = _schedule_values(spec, steps, base_lr)
        if log:
            values = positive_or_nan(values)
        ax.plot(_steps(values), values, label=name)
    if warmup_steps is not None:
        ax.axvline(warmup_steps, color=MARKER_COLOR, linestyle=":", linewidth=1.5,
                   label="end of warmup", gid="warmup")
    ax.set(xlabel="step", ylabel="learning rate", title=title,
           yscale="log" if log else "linear")
    ax.legend()
    return fig


def ewa(values: Sequence[float], beta: float, bias_correction: bool = False) -> np.ndarray:
    """Exponentially weighted average v_t = β·v_{t−1} + (1 − β)·θ_t, with v_0 = 0.

    With ``bias_correction`` each v_t is divided by 1 − β^t, which undoes the pull
    towards the zero start (as Adam does for its moments).

    Examples
    --------
    >>> ewa([35, 33, 36], 0.9).round(3).tolist()
    [3.5, 6.45, 9.405]
    >>> ewa([35, 33, 36], 0.9, bias_correction=True).round(2).tolist()
    [35.0, 33.95, 34.7]
    """
    values = np.asarray(values, dtype=float)
    out, v = np.empty_like(values), 0.0
    for t, theta in enumerate(values, start=1):
        v = beta * v + (1 - beta) * theta
        out[t - 1] = v / (1 - beta**t) if bias_correction else v
    return out


def temperatures(days: int = 60, seed: int = 0) -> np.ndarray:
    """Made-up noisy daily temperatures (°C), a slow warming trend plus day-to-day noise.

    Examples
    --------
    >>> temperatures(5).shape
    (5,)
    """
    rng = np.random.default_rng(seed)
    trend = 30.0 + 6.0 * np.sin(np.linspace(0.0, np.pi / 2, days))
    return np.round(trend + rng.normal(0.0, 2.0, days), 1)


@styled
def ewa_figure(values: Optional[Sequence[float]] = None, *, beta: float = 0.9,
               ylabel: str = "temperature (°C)",
               title: str = "Exponentially weighted average") -> Figure:
    """The data as dots, its EWA without (dashed) and with (solid) bias correction.

    Parameters
    ----------
    values : sequence of float, optional
        The series; made-up daily temperatures (:func:`temperatures`) by default.
    beta : float, default 0.9
        The EWA's β (about 1/(1 − β) values averaged).

    Returns
    -------
    Figure
        Lines, in order: the data, :func:`ewa` without and with bias correction.

    Examples
    --------
    >>> fig = ewa_figure([35, 33, 36, 34, 38])
    >>> fig.axes[0].get_lines()[1].get_ydata()[:2].round(2).tolist()
    [3.5, 6.45]
    """
    values = temperatures() if values is None else np.asarray(values, dtype=float)
    days = np.arange(1, len(values) + 1)
    fig, ax = new_figure()
    ax.plot(days, values, linestyle="none", marker="o", markersize=5, alpha=0.6, label="data")
    ax.plot(days, ewa(values, beta), linestyle="--", label=f"EWA, β={beta:g} (biased to 0)")
    ax.plot(days, ewa(values, beta, bias_correction=True),
            label=f"EWA, β={beta:g}, bias-corrected")
    ax.set(xlabel="day $t$", ylabel=ylabel, title=title)
    ax.legend()
    return fig


@styled
def grad_norms(before: Sequence[float], after: Optional[Sequence[float]] = None, *,
               max_norm: Optional[float] = None, log: bool = True,
               title: str = "Gradient norm and clipping") -> Figure:
    """Total gradient norm per step before and after clipping, with the threshold.

    Parameters
    ----------
    before : sequence of float
        Norms before clipping (what ``clip_grad_norm_`` returns).
    after : sequence of float, optional
        Norms after clipping; ``min(before, max_norm)`` by default.
    max_norm : float, optional
        The threshold, drawn as a dotted horizontal line (``gid="max_norm"``).
    log : bool, default True
        Log-scaled norm axis (spikes span orders of magnitude).

    Examples
    --------
    >>> fig = grad_norms([0.5, 8.0, 1.0], max_norm=1.0)
    >>> fig.axes[0].get_lines()[1].get_ydata().tolist()
    [0.5, 1.0, 1.0]
    """
    before = np.asarray(before, dtype=float)
    if after is None:
        if max_norm is None:
            raise ValueError("give after, or max_norm to compute it")
        after = np.minimum(before, max_norm)
    after = np.asarray(after, dtype=float)
    fig, ax = new_figure()
    ax.plot(_steps(before), before, label="before clipping")
    ax.plot(_steps(after), after, label="after clipping")
    if max_norm is not None:
        ax.axhline(max_norm, color=MARKER_COLOR, linestyle=":", linewidth=1.5,
                   label=f"max_norm = {max_norm:g}", gid="max_norm")
    ax.set(xlabel="step", ylabel="gradient norm $\\|g\\|_2$", title=title,
           yscale="log" if log else "linear")
    ax.legend()
    return fig


@styled
def weight_norms(norms: Mapping[str, Sequence[float]], *, log: bool = False,
                 title: str = "Weight norm: Adam + L2 vs AdamW") -> Figure:
    """Weight norm per step for several runs, e.g. ``{"Adam + L2": ..., "AdamW": ...}``.

    With L2 added to the gradient, Adam divides the decay by √v̂ too, so weights with
    large gradients are hardly decayed; AdamW's decoupled decay shrinks all alike.

    Examples
    --------
    >>> fig = weight_norms({"Adam + L2": [3.0, 2.9, 2.8], "AdamW": [3.0, 2.5, 2.1]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['Adam + L2', 'AdamW']
    """
    fig, ax = new_figure()
    for name, values in as_series(norms):
        ax.plot(_steps(values), values, label=name)
    ax.set(xlabel="step", ylabel="weight norm $\\|\\theta\\|_2$", title=title,
           yscale="log" if log else "linear")
    ax.legend()
    return fig


def effective_learning_rates(optimizer) -> np.ndarray:
    """Per-parameter effective rates η / (√v̂ + ε) of an Adam-family or RMSprop optimizer.

    Read from ``optimizer.state`` after at least one step: Adam's ``exp_avg_sq``
    (``max_exp_avg_sq`` with AMSGrad), bias-corrected by 1 − β₂^t; RMSprop's
    ``square_avg`` (minus ``grad_avg²`` when centered). Flattened over all parameters.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor(np.array([1.0, 100.0]), requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> w.grad = w.data.copy(); opt.step()
    >>> effective_learning_rates(opt).round(4).tolist()
    [0.1, 0.001]
    """
    rates = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if "exp_avg_sq" in state:
                v = state.get("max_exp_avg_sq", state["exp_avg_sq"])
                v = v / (1 - group["betas"][1] ** state["step"])
            elif "square_avg" in state:
                v = state["square_avg"] - state.get("grad_avg", 0.0) ** 2
            else:
                continue
            rates.append(np.ravel(group["lr"] / (np.sqrt(v) + group["eps"])))
    if not rates:
        raise ValueError("no Adam or RMSprop state found: take a step first")
    return np.concatenate(rates)


@styled
def effective_lr(rates: Mapping[str, Any], *, lr: Optional[float] = None, log: bool = True,
                 title: str = "Per-parameter effective learning rate") -> Figure:
    """Each parameter's effective rate, sorted from largest to smallest, one line per run.

    Parameters
    ----------
    rates : mapping name -> array or optimizer
        Effective rates, or an optimizer to read them from with
        :func:`effective_learning_rates`.
    lr : float, optional
        The nominal rate, drawn as a dotted horizontal line (``gid="lr"``).
    log : bool, default True

    Examples
    --------
    >>> fig = effective_lr({"Adam": [0.001, 0.1, 0.01]}, lr=0.01)
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [0.1, 0.01, 0.001]
    """
    fig, ax = new_figure()
    for name, value in rates.items():
        value = effective_learning_rates(value) if hasattr(value, "state") else value
        ordered = np.sort(np.asarray(value, dtype=float).ravel())[::-1]
        ax.plot(_steps(ordered), ordered, label=name)
    if lr is not None:
        ax.axhline(lr, color=MARKER_COLOR, linestyle=":", linewidth=1.5,
                   label=f"nominal lr = {lr:g}", gid="lr")
    ax.set(xlabel="parameter (sorted by rate)", ylabel="effective learning rate",
           title=title, yscale="log" if log else "linear")
    ax.legend()
    return fig

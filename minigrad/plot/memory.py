"""Optimizer memory: bars of state bytes per parameter byte, measured on live optimizers."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Tuple

import numpy as np
from matplotlib.figure import Figure

from .style import new_figure, styled


def default_configs() -> dict:
    """``name -> (OptimizerCls, kwargs)`` for the optimizers the chapters compare."""
    import optim

    return {"SGD": (optim.SGD, {"lr": 0.1}),
            "SGD + momentum": (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
            "RMSprop": (optim.RMSprop, {"lr": 0.01}),
            "Adam": (optim.Adam, {"lr": 0.001}),
            "AMSGrad": (optim.Adam, {"lr": 0.001, "amsgrad": True})}


def modern_configs() -> dict:
    """``name -> (OptimizerCls, kwargs)`` for the modern optimizers the chapters compare."""
    import optim

    return {"Adam": (optim.Adam, {"lr": 0.001}),
            "Adafactor": (optim.Adafactor, {}),
            "Lion": (optim.Lion, {}),
            "8-bit Adam": (optim.Adam8bit, {}),
            "SophiaG": (optim.SophiaG, {}),
            "Muon": (optim.Muon, {}),
            "LAMB": (optim.LAMB, {}),
            "SOAP": (optim.SOAP, {})}


def measure_state_ratios(configs: Optional[Mapping[str, Tuple[Callable, dict]]] = None,
                         shape: Tuple[int, int] = (128, 128), steps: int = 2) -> dict:
    """``name -> optim.state_bytes_per_param`` for a float32 weight matrix of ``shape``.

    The state is measured after ``steps`` steps (state is created lazily, and SOAP builds
    its eigenbases on the first step). A matrix, not a vector, so that Adafactor factors
    its second moment and Muon accepts it; 128×128 = 16 384 elements is above 8-bit
    Adam's ``min_8bit_size``. The ratios of factored and preconditioned states depend on
    the shape (Adafactor: (n + m)/(n·m); SOAP: 2 + 2·(n² + m²)/(n·m)).

    Examples
    --------
    >>> measure_state_ratios()
    {'SGD': 0.0, 'SGD + momentum': 1.0, 'RMSprop': 1.0, 'Adam': 2.0, 'AMSGrad': 3.0}
    """
    import minigrad
    import optim

    ratios = {}
    for name, (cls, kwargs) in (configs or default_configs()).items():
        w = minigrad.tensor(np.ones(shape, dtype=np.float32), requires_grad=True)
        opt = cls([w], **kwargs)
        for _ in range(steps):
            w.grad = np.full_like(w.data, 0.5)
            opt.step()
        ratios[name] = float(optim.state_bytes_per_param(opt))
    return ratios


@styled
def memory_bars(ratios: Optional[Mapping[str, Any]] = None, *,
                title: str = "Optimizer state memory") -> Figure:
    """One bar per optimizer: its state's bytes per byte of parameters (0×, 1×, 2×, ...).

    Parameters
    ----------
    ratios : mapping name -> float or optimizer, optional
        Ratios, or optimizers (after a step) measured with ``optim.state_bytes_per_param``;
        :func:`measure_state_ratios` of the chapters' optimizers by default.

    Returns
    -------
    Figure
        One Axes whose bars (``ax.patches``) have the ratios as heights, labelled "2×".

    Examples
    --------
    >>> fig = memory_bars({"SGD": 0.0, "Adam": 2.0})
    >>> [float(bar.get_height()) for bar in fig.axes[0].patches]
    [0.0, 2.0]
    """
    if ratios is None:
        ratios = measure_state_ratios()
    fig, ax = new_figure()
    draw_memory_bars(ax, ratios, title=title)
    return fig


def draw_memory_bars(ax, ratios: Mapping[str, Any], *, title: str = "") -> None:
    """Draw :func:`memory_bars`' bars on an existing Axes (for multi-panel figures)."""
    values = []
    for value in ratios.values():
        if hasattr(value, "state"):
            from optim import state_bytes_per_param

            value = state_bytes_per_param(value)
        values.append(float(value))
    bars = ax.bar(list(ratios), values, color=[f"C{i % 7}" for i in range(len(values))])
    ax.bar_label(bars, labels=[f"{v:.3g}×" for v in values], padding=3)
    ax.set(ylabel="state bytes / parameter bytes", title=title,
           ylim=(0, max(values + [1.0]) * 1.2))
    ax.grid(axis="x", visible=False)

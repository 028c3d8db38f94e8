"""A sweep as a heat map: one cell per pair of hyper-parameters, coloured by a result.

Draws the rows that :func:`minigrad.sweep.grid` returns (any list of dicts works): the
rows sharing an ``(x, y)`` pair — several seeds, say — are reduced to one number per cell.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Dict, List, Mapping, Sequence, Union

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .style import new_figure, styled

REDUCTIONS: Dict[str, Callable[[np.ndarray], float]] = {
    "mean": np.mean, "median": np.median, "min": np.min, "max": np.max}
FAILED_COLOR = "#BBBBBB"  # grey behind the hatching of failed cells


@styled
def sweep_heatmap(results: Sequence[Mapping[str, Any]], x: str = "lr", y: str = "optimizer",
                  value: str = "final_loss", *,
                  reduce: Union[str, Callable[[np.ndarray], float]] = "mean",
                  log_x: bool = True, log_y: bool = False, fmt: str = "{:.3g}",
                  cmap: Any = None, title: Union[str, None] = None, ax=None) -> Figure:
    """Heat map of ``value`` over the values of ``x`` (columns) and ``y`` (rows).

    Parameters
    ----------
    results : sequence of mappings
        The rows of a sweep: each holds ``x``, ``y``, ``value`` and, optionally,
        ``"error"`` (``None`` when the run succeeded).
    x, y : str
        Keys whose values index the columns and the rows. Numbers are sorted (columns left
        to right, rows bottom to top); other values keep their order of first appearance
        (rows top to bottom).
    value : str
        Key of the number that colours the cells.
    reduce : "mean", "median", "min", "max" or callable, default "mean"
        Turns the values of the successful runs of a cell (all the other keys: seeds,
        repeats) into one number. Filter ``results`` first to fix a third hyper-parameter.
    log_x, log_y : bool
        Label numeric values as powers of ten (``10^-3``, ``3×10^-3``): the natural
        spelling of a geometric grid of learning rates. Cells are one per value either
        way; ignored for non-numeric values.
    fmt : str, default "{:.3g}"
        Format of the number written in each cell.
    cmap : colormap or name, optional
        The style's ``viridis`` by default.
    title : str, optional
        Default: ``"<value> (<reduce> over the other keys)"``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        The image (``ax.images[0]``) holds the reduced values, NaN (masked) where a cell
        has no successful run; each cell with runs carries its number as text. A cell whose
        runs all failed is grey and hatched (a ``Rectangle`` with gid ``"failed"``, text
        "failed"); one where some failed is hatched over its colour (gid
        ``"partly_failed"``, text "k/n failed" under the number); a non-finite result
        (a diverged run) is grey (gid ``"nonfinite"``). A cell with no run stays blank.

    Examples
    --------
    >>> rows = [{"optimizer": o, "lr": lr, "seed": s, "error": None,
    ...          "final_loss": lr * (2 if o == "SGD" else 1) + s}
    ...         for o in ("SGD", "Adam") for lr in (0.01, 0.1) for s in (0, 1)]
    >>> fig = sweep_heatmap(rows)
    >>> ax = fig.axes[0]
    >>> ax.images[0].get_array().round(3).tolist()
    [[0.52, 0.7], [0.51, 0.6]]
    >>> [t.get_text() for t in ax.get_xticklabels()], [t.get_text() for t in ax.get_yticklabels()]
    (['$10^{-2}$', '$10^{-1}$'], ['SGD', 'Adam'])
    """
    rows = list(results)
    if not rows:
        raise ValueError("sweep_heatmap needs at least one row of results")
    for key in (x, y):
        missing = sum(key not in row for row in rows)
        if missing:
            raise KeyError(f"{missing} of {len(rows)} rows have no key {key!r}; keys of the "
                           f"first row: {list(rows[0])}")
    reducer = _reducer(reduce)
    succeeded = [row for row in rows if row.get("error") is None]
    if succeeded and not any(value in row for row in succeeded):
        raise KeyError(f"no successful row has the key {value!r}; keys of the first "
                       f"successful row: {list(succeeded[0])}")
    xs, ys = _levels([row[x] for row in rows]), _levels([row[y] for row in rows])
    column = {_key(v): j for j, v in enumerate(xs)}
    line = {_key(v): i for i, v in enumerate(ys)}

    runs: List[List[list]] = [[[] for _ in xs] for _ in ys]  # values of successful runs
    failed = np.zeros((len(ys), len(xs)), dtype=int)
    total = np.zeros((len(ys), len(xs)), dtype=int)
    for row in rows:
        i, j = line[_key(row[y])], column[_key(row[x])]
        total[i, j] += 1
        if row.get("error") is not None:
            failed[i, j] += 1
        elif row.get(value) is not None:
            runs[i][j].append(_number(row[value], value))
    image = np.full((len(ys), len(xs)), np.nan)
    for i, j in np.ndindex(image.shape):
        if runs[i][j]:
            image[i, j] = float(reducer(np.asarray(runs[i][j], dtype=np.float64)))

    if ax is None:
        fig, ax = new_figure(figsize=(max(5.0, 1.2 * len(xs) + 3.0),
                                      max(3.5, 0.8 * len(ys) + 2.0)))
    else:
        fig = ax.figure
    numeric_y = _all_numbers(ys)
    colormap = _colormap(cmap)
    im = ax.imshow(np.ma.masked_invalid(image), cmap=colormap, aspect="auto",
                   interpolation="nearest", origin="lower" if numeric_y else "upper")
    ax.grid(False)
    ax.set_xticks(range(len(xs)), labels=[_label(v, log_x, "log_x") for v in xs])
    ax.set_yticks(range(len(ys)), labels=[_label(v, log_y, "log_y") for v in ys])
    how = reduce if isinstance(reduce, str) else getattr(reduce, "__name__", "reduce")
    ax.set(xlabel=x, ylabel=y,
           title=title if title is not None else f"{value} ({how} over the other keys)")
    if np.isfinite(image).any():
        fig.colorbar(im, ax=ax, label=f"{how} {value}")

    for i, j in np.ndindex(image.shape):
        if total[i, j] == 0:
            continue
        text, gid = fmt.format(image[i, j]), None
        if failed[i, j] == total[i, j]:
            text, gid = "failed", "failed"
        elif failed[i, j]:
            text, gid = f"{text}\n{failed[i, j]}/{total[i, j]} failed", "partly_failed"
        elif not np.isfinite(image[i, j]):
            gid = "nonfinite"
        if gid is not None:
            face = "none" if gid == "partly_failed" and np.isfinite(image[i, j]) \
                else FAILED_COLOR
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1.0, 1.0, facecolor=face,
                                   edgecolor="#555555", linewidth=0.0,
                                   hatch=None if gid == "nonfinite" else "//", gid=gid))
        on_colour = _on_colour(gid, image[i, j])
        ax.text(j, i, text, ha="center", va="center", fontsize=11, gid="cell",
                color=_text_color(im, image[i, j]) if on_colour else "black",
                bbox=None if on_colour else dict(facecolor=FAILED_COLOR, edgecolor="none",
                                                 pad=1.5))
    return fig


def _on_colour(gid, number: float) -> bool:
    """Whether a cell's text sits on the colour of its value (not on grey or blank)."""
    return gid in (None, "partly_failed") and bool(np.isfinite(number))


def _reducer(reduce):
    if callable(reduce):
        return reduce
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {sorted(REDUCTIONS)} or a callable, "
                         f"got {reduce!r}")
    return REDUCTIONS[reduce]


def _is_number(v) -> bool:
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))


def _all_numbers(values) -> bool:
    return all(_is_number(v) for v in values)


def _key(v):
    """Hashable identity of a level (numbers by value, so 0.1 and np.float64(0.1) agree)."""
    return ("number", float(v)) if _is_number(v) else ("other", repr(v))


def _levels(values: list) -> list:
    seen: Dict[Any, Any] = {}
    for v in values:
        seen.setdefault(_key(v), v)
    levels = list(seen.values())
    return sorted(levels, key=float) if _all_numbers(levels) else levels


def _number(v, name: str) -> float:
    if not _is_number(v):
        raise TypeError(f"{name!r} must hold numbers to colour the cells, got "
                        f"{type(v).__name__} ({v!r})")
    return float(v)


def _label(v, log: bool, switch: str) -> str:
    if not _is_number(v):
        return str(v)
    if not log:
        return f"{float(v):g}"
    if not v > 0:
        raise ValueError(f"{switch}=True labels powers of ten and needs positive values, "
                         f"got {v!r}; pass {switch}=False")
    exponent = math.floor(math.log10(v))
    mantissa = float(v) / 10.0 ** exponent
    if math.isclose(mantissa, 10.0):  # rounding just below a power of ten
        mantissa, exponent = 1.0, exponent + 1
    if math.isclose(mantissa, 1.0):
        return f"$10^{{{exponent}}}$"
    return f"${mantissa:.2g}\\times10^{{{exponent}}}$"


def _colormap(cmap):
    from matplotlib import colormaps, rcParams

    if cmap is None or isinstance(cmap, str):
        cmap = colormaps[cmap or rcParams["image.cmap"]]
    return cmap.with_extremes(bad=to_rgba("white", 0.0))  # cells without a number stay blank


def _text_color(im, number: float) -> str:
    r, g, b, _ = im.cmap(im.norm(number))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.5 else "white"

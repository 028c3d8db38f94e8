"""The gallery's registry: every chapter figure is one function plus one ``@register`` line.

A figure function takes no required arguments (optionally ``quick: bool``, for fewer steps
and coarser grids in tests) and returns a Matplotlib Figure, or, for an animation, a
``FuncAnimation`` that the gallery saves as a GIF. Adding a figure::

    from minigrad.gallery import register

    @register("my_figure", "What the reader should see in it.")
    def my_figure(quick=False):
        fig, ax = new_figure()
        ...
        return fig
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Dict


@dataclass(frozen=True)
class Entry:
    """One gallery figure: its file stem ``name``, its ``caption`` and the function."""

    name: str
    caption: str
    function: Callable
    kind: str = "png"  # "png" for a Figure, "gif" for an animation

    @property
    def filename(self) -> str:
        return self.file_for()

    def file_for(self, fmt: str = "png") -> str:
        """The file name in format ``fmt`` (``png``, ``svg`` or ``pdf``); always ``.gif``
        for an animation."""
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
        return f"{self.name}.{'gif' if self.kind == 'gif' else fmt}"

    def make(self, quick: bool = False):
        """Call the function inside the package style, passing ``quick`` only when it
        takes it, and give the figure the gallery's uniform text sizes."""
        from ..plot.style import style, uniform_text

        with style():
            if "quick" in inspect.signature(self.function).parameters:
                result = self.function(quick=quick)
            else:
                result = self.function()
            uniform_text(result._fig if self.kind == "gif" else result)
        return result


REGISTRY: Dict[str, Entry] = {}
FORMATS = ("png", "svg", "pdf")


def figure(name: str, quick: bool = False):
    """The gallery figure ``name`` as a Matplotlib Figure (an animation for ``kind="gif"``),
    drawn exactly as ``python -m minigrad.gallery`` saves it, ready to tweak and redraw.

    Parameters
    ----------
    name : str
        A registered name; ``python -m minigrad.gallery --list`` shows them.
    quick : bool, default False
        Fewer steps and coarser grids.

    Examples
    --------
    >>> from minigrad.gallery import figure
    >>> fig = figure("onecycle")
    >>> fig.axes[0].get_title()
    'OneCycleLR schedule'
    >>> _ = fig.axes[0].set_title("One cycle")  # then fig.savefig("onecycle.svg")
    """
    if name not in REGISTRY:
        raise KeyError(f"unknown figure {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name].make(quick=quick)


def register(name: str, caption: str, *, kind: str = "png") -> Callable[[Callable], Callable]:
    """Decorator adding a figure function to the gallery under ``name`` (the file stem).

    ``kind="gif"`` marks a function that returns an animation. Registering a name twice
    replaces the earlier entry (handy when re-running a notebook cell).
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"figure names are letters, digits, '_' and '-'; got {name!r}")
    if not caption or not caption.strip():
        raise ValueError(f"figure {name!r} needs a caption")
    if kind not in ("png", "gif"):
        raise ValueError(f"kind must be 'png' or 'gif', got {kind!r}")

    def decorator(function: Callable) -> Callable:
        required = [p for p in inspect.signature(function).parameters.values()
                    if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if required:
            raise TypeError(f"gallery figure {name!r} must take no required arguments, "
                            f"got {[p.name for p in required]}")
        REGISTRY[name] = Entry(name, caption.strip(), function, kind)
        return function

    return decorator


def unregister(name: str) -> None:
    """Remove a figure (used by tests that add a temporary one)."""
    REGISTRY.pop(name, None)

"""The figure gallery: every figure of the chapters, regenerated with one command.

    python -m minigrad.gallery --out figures/          # all figures + figures/index.md
    python -m minigrad.gallery --list                  # names and captions
    python -m minigrad.gallery --only onecycle lr_finder --dpi 150
    python -m minigrad.gallery --quick                 # fewer steps, coarse grids (tests)

Adding a figure is one function and one registry line (:func:`register`); see
:mod:`minigrad.gallery.registry`. Figures are built without pyplot, saved, and freed.
"""
from .registry import REGISTRY, Entry, register, unregister
from . import experiments, figures, landscapes, modern, techniques  # noqa: F401  (importing registers the figures)


def __getattr__(name):
    # The command-line helpers live in __main__; imported lazily so that
    # ``python -m minigrad.gallery`` does not find __main__ already imported.
    if name in ("build", "main", "progress_bar", "write_index"):
        from . import __main__ as cli

        return getattr(cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["REGISTRY", "Entry", "register", "unregister", "build", "main", "progress_bar",
           "write_index"]

"""Sphinx configuration of the minigrad-optim documentation.

Build offline with warnings as errors (``make docs``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Environment variables (all optional):

* ``MINIGRAD_EXECUTED_NOTEBOOKS``: a folder of executed copies of ``notebooks/*.ipynb``
  (written by the test run); the notebooks page shows their outputs. Without it the
  notebooks in ``notebooks/`` are shown as stored, without outputs. Nothing is executed
  during the build.
* ``MINIGRAD_GALLERY_DIR``: a folder of figures already rendered by
  ``python -m minigrad.gallery --out DIR``; without it the gallery is rendered at build
  time in quick mode. Rendered figures are kept in ``docs/generated/`` and reused by
  later builds; ``make clean`` (or deleting that folder) redraws them.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))          # import minigrad, optim, schedules from the tree
sys.path.insert(0, str(DOCS / "_ext"))  # the extension that writes the generated pages

os.environ.setdefault("MPLBACKEND", "Agg")

project = "minigrad-optim"
author = "minigrad-optim contributors"
copyright = "minigrad-optim contributors, MIT License"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_nb",
    "minigrad_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "benchmarks.md", "generated/gallery/figures", "**/.ipynb_checkpoints", "Thumbs.db",
                    ".DS_Store"]
root_doc = "index"
smartquotes = False  # quotes stay as typed, as in the code and the docstrings

# NumPy-style docstrings.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autosummary_generate = False
toc_object_entries = False  # API objects stay out of the sidebar (and the build is faster)

# MyST: $…$ and $$…$$ math, ::: fences, definition lists, anchors for ## headings.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks are executed by the test run, never by the docs build.
nb_execution_mode = "off"
nb_execution_raise_on_error = True
nb_merge_streams = True

# MathJax is loaded by the reader's browser at view time; the build downloads nothing.
html_theme = "furo"
html_title = "minigrad-optim"
html_static_path: list = []
html_show_sourcelink = False

suppress_warnings = [
    # Widget outputs (the playground notebook) have no static rendering.
    "mystnb.unknown_mime_type",
    # Notebooks may skip a heading level (a "###" exercise under a "#" title).
    "myst.header",
]

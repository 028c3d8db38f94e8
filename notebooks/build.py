"""Turn the notebook sources in ``notebooks/src/*.py`` into ``notebooks/*.ipynb``.

The sources are plain Python files, easy to read and to diff, split into cells by
comment lines (the "percent" format that editors such as VS Code and Spyder understand)::

    # %% [markdown]            a Markdown cell: the lines below, with "# " removed
    # %%                       a code cell
    # %% [solution]            a code cell hidden by default (an exercise's solution)

A solution cell is stored with ``"jupyter": {"source_hidden": true}`` (Jupyter shows
it collapsed) and the tag ``hide-input`` (static renderers such as MyST-NB fold it).
The notebooks are written without outputs, so that they diff cleanly.

    python notebooks/build.py          # rebuild every notebook
    python notebooks/build.py --check  # exit 1 if a notebook is out of date
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOLUTION_METADATA = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}


def _markdown(lines):
    text = []
    for line in lines:
        if line.strip() == "#":
            text.append("")
        elif line.startswith("# "):
            text.append(line[2:])
        else:
            raise ValueError(f"a Markdown line must start with '# ': {line!r}")
    return "\n".join(text).strip("\n")


def cells_from_source(text: str) -> list:
    """The cells of one source file, in order."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(_markdown(body.splitlines())))
        elif body:
            cell = nbformat.v4.new_code_cell(body)
            if kind == "solution":
                cell.metadata.update(SOLUTION_METADATA)
            cells.append(cell)

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            marker = line[4:].strip()
            kind = {"": "code", "[markdown]": "markdown", "[solution]": "solution"}[marker]
            lines = []
        else:
            lines.append(line)
    flush()
    return cells


def build_notebook(source: Path):
    notebook = nbformat.v4.new_notebook(metadata=KERNEL)
    notebook.cells = cells_from_source(source.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook.cells):
        cell.id = f"{source.stem[:2]}-{number:03d}"  # stable ids keep diffs small
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks that differ from their source")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted((HERE / "src").glob("[0-9][0-9]_*.py")):
        target = HERE / f"{source.stem}.ipynb"
        text = nbformat.writes(build_notebook(source)) + "\n"
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    verb = "out of date" if args.check else "written"
    print(f"{len(stale)} notebook(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())

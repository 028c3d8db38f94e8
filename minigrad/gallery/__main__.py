"""Command line of the gallery: ``python -m minigrad.gallery --out figures/``.

Renders every registered figure (or those named with ``--only``) into ``--out``, as PNG or,
with ``--format svg`` or ``--format pdf``, for slides (animations stay GIF), and writes
``index.md`` with one image and caption per figure. Progress goes to stderr: a ``tqdm``
bar on a terminal, one line per figure (``[####......] 4/10 onecycle (0.8s)``) when
stderr is a file or a pipe, so that logs stay readable.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, TextIO

import matplotlib
from tqdm import tqdm

matplotlib.use("Agg")  # never open a window, whatever the environment says

GIF_MAX_DPI = 80  # GIF frames are big: cap their resolution


def progress_bar(done: int, total: int, label: str = "", seconds: Optional[float] = None,
                 width: int = 20) -> str:
    """``[#####.....] 5/14 label (0.8s)``: one line of the progress log, by tqdm's meter.

    >>> progress_bar(1, 4, "onecycle", 0.25, width=8)
    '[##......] 1/4 onecycle (0.2s)'
    """
    if total:
        text = tqdm.format_meter(done, total, 0, ascii=".#",
                                 bar_format=f"[{{bar:{width}}}] {{n_fmt}}/{{total_fmt}}")
    else:  # nothing to do is all done
        text = f"[{'#' * width}] {done}/{total}"
    if label:
        text += f" {label}"
    if seconds is not None:
        text += f" ({seconds:.1f}s)"
    return text


def _save(entry, result, path: Path, dpi: int) -> None:
    """Save a Figure (its format from the suffix of ``path``) or an animation as GIF,
    then free it."""
    if entry.kind == "gif":
        from matplotlib.animation import PillowWriter

        result.save(str(path), writer=PillowWriter(fps=12), dpi=min(dpi, GIF_MAX_DPI))
        fig = result._fig
    else:
        fig = result
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    fig.clear()


def write_index(out: Path, rendered: Sequence[dict], total_seconds: float,
                quick: bool = False) -> Path:
    """Write ``out/index.md``: a heading, then per figure its image (the file in the
    format it was saved in) and caption."""
    lines = ["# minigrad figure gallery", "",
             "Every figure of the chapters, regenerated with "
             "`python -m minigrad.gallery --out figures/`.", ""]
    for item in rendered:
        lines += [f"## {item['name']}", "", f"![{item['caption']}]({item['file']})", "",
                  f"*{item['caption']}*", ""]
    mode = " (quick mode)" if quick else ""
    lines.append(f"{len(rendered)} figures in {total_seconds:.1f} s{mode}.")
    path = out / "index.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(out="figures", dpi: int = 120, only: Optional[Iterable[str]] = None,
          quick: bool = False, stream: Optional[TextIO] = None,
          fmt: str = "png") -> List[dict]:
    """Render figures into ``out`` as ``fmt`` (``png``, ``svg`` or ``pdf``; animations
    stay GIF) and write ``index.md``; return one dict per figure (``name``, ``file``,
    ``caption``, ``seconds``)."""
    from .registry import FORMATS, REGISTRY

    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")

    names = list(REGISTRY) if not only else list(dict.fromkeys(only))
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown figure(s) {unknown}; --list shows the names")
    stream = sys.stderr if stream is None else stream
    live = hasattr(stream, "isatty") and stream.isatty()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rendered, start = [], time.perf_counter()
    # On a terminal a tqdm bar (with the time left); elsewhere one log line per figure.
    with tqdm(total=len(names), file=stream, unit="figure", leave=True, dynamic_ncols=True,
              disable=not live) as bar:
        for i, name in enumerate(names, start=1):
            entry = REGISTRY[name]
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            filename = entry.file_for(fmt)
            _save(entry, entry.make(quick=quick), out / filename, dpi)
            seconds = time.perf_counter() - t0
            rendered.append({"name": name, "file": filename, "caption": entry.caption,
                             "seconds": seconds})
            bar.update(1)
            if not live:
                stream.write(progress_bar(i, len(names), name, seconds) + "\n")
                stream.flush()
    total = time.perf_counter() - start
    write_index(out, rendered, total, quick)
    slowest = sorted(rendered, key=lambda r: -r["seconds"])[:3]
    stream.write(f"{len(rendered)} figures in {total:.1f}s -> {out / 'index.md'}; slowest: "
                 + ", ".join(f"{r['name']} {r['seconds']:.1f}s" for r in slowest) + "\n")
    return rendered


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minigrad.gallery",
                                     description="Regenerate every figure of the chapters.")
    parser.add_argument("--out", default="figures", help="output folder (default: figures/)")
    parser.add_argument("--dpi", type=int, default=120, help="resolution (default: 120)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="render only these figures")
    parser.add_argument("--list", action="store_true", help="list figures and exit")
    parser.add_argument("--format", default="png", choices=("png", "svg", "pdf"),
                        help="file format of the figures (default: png; svg or pdf for "
                             "slides); animations are always GIF")
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps and coarse grids (for tests)")
    args = parser.parse_args(argv)

    from .registry import REGISTRY
    from . import figures, landscapes  # noqa: F401  (register the figures)

    if args.list:
        width = max(len(name) for name in REGISTRY)
        for name, entry in REGISTRY.items():
            print(f"{name:<{width}}  {entry.caption}")
        return 0
    try:
        build(args.out, dpi=args.dpi, only=args.only, quick=args.quick, fmt=args.format)
    except KeyError as error:
        parser.error(str(error.args[0]))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())

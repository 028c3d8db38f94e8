"""The documentation site builds offline with warnings as errors, and its pages link up.

One Sphinx build (about a minute on two cores) into a temporary folder, shared by the
tests of this file. The gallery is listed without rendering its figures
(``MINIGRAD_DOCS_GALLERY=captions``) and no notebook is executed, to keep it short.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("furo")

import optim  # noqa: E402
from minigrad.gallery.registry import REGISTRY  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OPTIMIZERS = list(optim.PYTORCH_OPTIMIZERS) + list(optim.MODERN_OPTIMIZERS)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    env = dict(os.environ, MINIGRAD_DOCS_GALLERY="captions", MPLBACKEND="Agg")
    env.pop("MINIGRAD_GALLERY_DIR", None)
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-j", "1", "-q", "-b", "html",
         "-d", str(out / ".doctrees"), str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return {"out": out, "returncode": result.returncode,
            "log": result.stdout + result.stderr}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _text(page: Path) -> str:
    """The page's text: tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text("utf-8"))).split())


def test_site_builds_without_warnings(site):
    assert site["returncode"] == 0, site["log"][-4000:]
    assert "WARNING" not in site["log"] and "ERROR" not in site["log"], site["log"][-4000:]


def test_key_pages_exist(site):
    out = site["out"]
    for page in ("index", "getting_started", "concepts", "benchmarks_page", "api",
                 "api/minigrad", "api/optim", "api/schedules", "generated/gallery/index",
                 "generated/notebooks/index", "generated/optimizers/index",
                 "generated/schedules/index"):
        assert (out / f"{page}.html").is_file(), page


def test_every_internal_link_and_image_resolves(site):
    out = site["out"]
    broken = []
    for page in out.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        parsed = _parse(page)
        for target in parsed.links + parsed.images:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # external, mailto, or a link within the page
            if not (page.parent / unquote(parts.path)).resolve().exists():
                broken.append(f"{page.relative_to(out)} -> {target}")
    assert not broken, broken[:20]


def test_every_optimizer_has_a_page_with_its_sections_and_figure(site):
    out = site["out"]
    index = _parse(out / "generated/optimizers/index.html").links
    for name in OPTIMIZERS:
        page = out / "generated" / "optimizers" / f"{name}.html"
        assert page.is_file(), name
        assert any(link.startswith(f"{name}.html") for link in index), name
        text = _text(page)
        for section in ("Update rule", "Defaults and allowed ranges", "Paper",
                        "PyTorch equivalence", "State memory", "Figure"):
            assert section in text, (name, section)
    adam = _text(out / "generated/optimizers/Adam.html")
    assert "torch.optim.Adam" in adam and "Kingma" in adam
    assert re.search(r"\b2\b bytes of state per byte", adam)  # m and v
    assert _parse(out / "generated/optimizers/Adam.html").images


def test_every_schedule_page_draws_its_curve(site):
    out = site["out"]
    pages = sorted((out / "generated" / "schedules").glob("*.html"))
    names = {p.stem for p in pages} - {"index"}
    assert {"CosineAnnealingLR", "OneCycleLR", "WarmupCosineSchedule"} <= names
    for page in pages:
        if page.stem != "index":
            assert any(src.endswith(f"{page.stem}.png") for src in _parse(page).images), page


def test_gallery_lists_every_registered_figure_with_its_caption(site):
    text = _text(site["out"] / "generated/gallery/index.html")
    for name, entry in REGISTRY.items():
        assert name in text
        assert " ".join(entry.caption.split())[:40] in text, name


def test_benchmarks_page_includes_the_tables_file(site):
    text = _text(site["out"] / "benchmarks_page.html")
    included = re.sub(r"<!--.*?-->", "", (DOCS / "benchmarks.md").read_text(encoding="utf-8"),
                      flags=re.S)
    prose = [line for line in included.splitlines() if line.strip()
             and not line.startswith(("```", ":::")) and not set(line.strip()) <= set("|-: ")]
    first_words = re.sub(r"[`#|*]", " ", prose[0]).split()[:4]
    assert " ".join(first_words) in text


def test_api_reference_documents_the_three_packages(site):
    out = site["out"]
    assert 'id="optim.Adam"' in (out / "api/optim.html").read_text(encoding="utf-8")
    assert 'id="schedules.OneCycleLR"' in (out / "api/schedules.html").read_text(
        encoding="utf-8")
    assert 'id="minigrad.tensor"' in (out / "api/minigrad.html").read_text(encoding="utf-8")


def test_notebooks_prefer_their_executed_copies(tmp_path, monkeypatch):
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import minigrad_pages
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    stored, executed, out = tmp_path / "notebooks", tmp_path / "executed", tmp_path / "out"
    for folder in (stored, executed, out):
        folder.mkdir()
    blank = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (stored / "01_first.ipynb").write_text(json.dumps(blank))
    (stored / "02_second.ipynb").write_text(json.dumps(blank))
    (executed / "01_first.ipynb").write_text(json.dumps(dict(blank, metadata={"run": 1})))
    (out / "99_removed.ipynb").write_text(json.dumps(blank))
    monkeypatch.setenv("MINIGRAD_EXECUTED_NOTEBOOKS", str(executed))

    stems = minigrad_pages.copy_notebooks(tmp_path, out)

    assert stems == ["01_first", "02_second"]
    assert json.loads((out / "01_first.ipynb").read_text())["metadata"]["run"] == 1
    second = json.loads((out / "02_second.ipynb").read_text())["metadata"]
    assert second["language_info"]["name"] == "python"  # filled in for the renderer
    assert not (out / "99_removed.ipynb").exists()
    assert "01_first" in minigrad_pages.notebooks_page(stems)
    assert "No notebooks" in minigrad_pages.notebooks_page([])

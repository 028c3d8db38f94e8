"""The figure gallery: registry, the whole gallery in quick mode, the CLI options."""
import io
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (Pillow ships with Matplotlib)

from minigrad import gallery  # noqa: E402
from minigrad.gallery import REGISTRY, register, unregister  # noqa: E402
from minigrad.gallery.__main__ import main, progress_bar  # noqa: E402
from minigrad.landscapes import LANDSCAPES  # noqa: E402

REQUIRED = ["loss_surface", "sgd_variants", "adam_vs_adamw", "cosine_schedules", "onecycle",
            "warmup_cosine", "scheduler_comparison", "lr_finder", "gradient_clipping",
            "rosenbrock_comparison", "ewa_bias_correction", "trajectories_animation",
            *[f"trajectories_{name}" for name in LANDSCAPES]]


def test_registry_has_every_chapter_figure_with_a_caption():
    missing = [name for name in REQUIRED if name not in REGISTRY]
    assert not missing
    for entry in REGISTRY.values():
        assert entry.caption.strip()
    assert REGISTRY["trajectories_animation"].kind == "gif"


def test_register_rejects_required_arguments_and_empty_captions():
    with pytest.raises(TypeError):
        register("bad_figure", "a caption")(lambda steps: None)
    with pytest.raises(ValueError):
        register("bad_figure", "  ")
    assert "bad_figure" not in REGISTRY


def test_progress_bar():
    assert progress_bar(5, 10, "sgd_variants", 0.84, width=10) == \
        "[#####.....] 5/10 sgd_variants (0.8s)"


def test_progress_bar_edges():
    assert progress_bar(0, 3, width=4) == "[....] 0/3"
    assert progress_bar(3, 3, width=4) == "[####] 3/3"
    assert progress_bar(0, 0, width=4) == "[####] 0/0"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def tiny_figure():
    from minigrad.plot import new_figure

    @register("test_tiny_figure", "A one-line figure added by a test.")
    def tiny(quick=False):
        fig, ax = new_figure()
        ax.plot([0, 1], [0, 1])
        return fig

    yield "test_tiny_figure"
    unregister("test_tiny_figure")


@pytest.mark.parametrize("stream_type", [io.StringIO, _Terminal], ids=["log", "terminal"])
def test_progress_is_a_tqdm_bar_on_a_terminal_and_lines_in_a_log(tmp_path, tiny_figure,
                                                                stream_type):
    stream = stream_type()
    gallery.build(tmp_path, dpi=30, only=[tiny_figure], stream=stream)
    text = stream.getvalue()
    if stream_type is _Terminal:  # redrawn in place by tqdm, with the figure's name
        assert "\r" in text and "1/1" in text and tiny_figure in text
    else:  # one readable line per figure, then the summary
        assert "\r" not in text and "\x1b" not in text
        lines = text.splitlines()
        assert lines[0].startswith(f"[{'#' * 20}] 1/1 {tiny_figure} (")
        assert lines[1].startswith("1 figures in")


@pytest.fixture(scope="module")
def quick_gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    rendered = gallery.build(out, dpi=40, quick=True, stream=open(out / "log.txt", "w"))
    return out, rendered


def test_whole_gallery_renders_in_quick_mode(quick_gallery):
    out, rendered = quick_gallery
    assert [r["name"] for r in rendered] == list(REGISTRY)
    for entry in REGISTRY.values():
        path = out / entry.filename
        assert path.is_file() and path.stat().st_size > 0
        with Image.open(path) as image:
            assert image.format == ("GIF" if entry.kind == "gif" else "PNG")
            if entry.kind == "gif":
                assert getattr(image, "n_frames", 1) > 1


def test_index_lists_every_figure_with_its_caption(quick_gallery):
    out, _ = quick_gallery
    index = (out / "index.md").read_text(encoding="utf-8")
    assert index.startswith("# ")
    for entry in REGISTRY.values():
        assert f"![{entry.caption}]({entry.filename})" in index
        assert f"*{entry.caption}*" in index
    assert "figures in" in index


def test_progress_is_reported(quick_gallery):
    out, _ = quick_gallery
    log = (out / "log.txt").read_text(encoding="utf-8")
    assert f"[{'#' * 20}] {len(REGISTRY)}/{len(REGISTRY)}" in log


def test_only_renders_the_named_figures(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--only", "onecycle", "ewa_bias_correction",
                 "--quick", "--dpi", "30"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["ewa_bias_correction.png", "index.md", "onecycle.png"]
    assert "2/2" in capsys.readouterr().err


def test_only_with_an_unknown_name_fails(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--only", "no_such_figure"])


def test_list_prints_names_and_captions(capsys):
    assert main(["--list"]) == 0
    text = capsys.readouterr().out
    for name, entry in REGISTRY.items():
        assert name in text and entry.caption in text


def test_a_new_figure_is_one_function_and_one_decorator(tmp_path):
    from minigrad.plot import new_figure

    @register("test_extra_figure", "An extra figure added by a test.")
    def extra(quick=False):
        fig, ax = new_figure()
        ax.plot([0, 1], [1, 0])
        return fig

    try:
        assert main(["--list"]) == 0
        assert "test_extra_figure" in REGISTRY
        main(["--out", str(tmp_path), "--only", "test_extra_figure", "--dpi", "30"])
        with Image.open(tmp_path / "test_extra_figure.png") as image:
            assert image.format == "PNG"
        assert "An extra figure added by a test." in (tmp_path / "index.md").read_text("utf-8")
    finally:
        unregister("test_extra_figure")


def test_module_runs_from_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minigrad.gallery", "--out", str(tmp_path),
                             "--only", "sgd_variants", "--quick", "--dpi", "30"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "RuntimeWarning" not in result.stderr
    assert (tmp_path / "sgd_variants.png").is_file()

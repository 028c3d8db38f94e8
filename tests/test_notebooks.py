"""The classroom notebooks: stored without outputs, and each runs top to bottom.

Set MINIGRAD_EXECUTED_NOTEBOOKS=some/dir to keep the executed copies (with their outputs
and figures) there, e.g. for the documentation build to render without running them again.
"""
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
SECONDS_PER_NOTEBOOK = 180


def test_the_ten_notebooks_are_there():
    numbers = [path.name[:2] for path in NOTEBOOKS]
    assert numbers == [f"{n:02d}" for n in range(1, 11)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {number} of {path.name} has outputs"
            assert cell["execution_count"] is None, f"cell {number} of {path.name} was run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_source(path):
    source = NOTEBOOK_DIR / "src" / f"{path.stem}.py"
    assert source.exists(), f"{path.name} has no source in notebooks/src"
    nbformat = pytest.importorskip("nbformat")
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOK_DIR / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    expected = nbformat.writes(build.build_notebook(source)) + "\n"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.name} is out of date: run python notebooks/build.py")


@pytest.fixture(scope="module")
def kernel_name():
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 Jupyter kernel is installed")
    kernel_python = spec.argv[0]
    if kernel_python not in ("python", "python3", "{python}") and \
            Path(kernel_python).resolve() != Path(sys.executable).resolve():
        pytest.skip(f"the python3 kernel runs {kernel_python}, not this interpreter; "
                    f"run: {sys.executable} -m ipykernel install --sys-prefix")
    return "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, kernel_name, tmp_path):
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = nbclient.NotebookClient(notebook, timeout=SECONDS_PER_NOTEBOOK,
                                         kernel_name=kernel_name,
                                         resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
        client.execute()
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
    keep = os.environ.get("MINIGRAD_EXECUTED_NOTEBOOKS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, Path(keep) / path.name)

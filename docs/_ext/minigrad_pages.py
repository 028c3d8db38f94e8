"""Sphinx extension: write the generated pages of the site before Sphinx reads the sources.

Everything here is derived from the code, so that the site cannot drift from it:

* one page per optimizer: its summary, the docstring of its update function (the
  update rule), a table of its defaults and allowed ranges (``inspect.signature`` and the
  class's ``ranges``), the papers and the PyTorch class its docstrings cite, its state
  memory measured on a 64×128 float32 weight, and a figure drawn at build time;
* one page per schedule: its docstring, its defaults and its curve, drawn by
  ``minigrad.plot.schedule_curves``;
* the gallery: every figure of ``minigrad.gallery`` with its caption;
* the notebooks: copies of ``notebooks/*.ipynb`` (or of their executed versions).

The pages go to ``docs/generated/`` (ignored by git). A page is rewritten when its text
changes; an optimizer's figure is redrawn when its source file is newer, a schedule's when
its curve changes, and a gallery figure only when it is missing.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

# Arguments that PyTorch accepts for its own implementation choices; ignored here.
IMPLEMENTATION_SWITCHES = {"foreach", "capturable", "differentiable", "fused", "backend"}
# Example arguments for schedules whose required arguments have no default.
SCHEDULE_STEPS = 100
SCHEDULE_EXAMPLES = {
    "LambdaLR": {"lr_lambda": lambda step: 0.97 ** step},
    "MultiplicativeLR": {"lr_lambda": lambda step: 0.97},
    "StepLR": {"step_size": 30, "gamma": 0.5},
    "MultiStepLR": {"milestones": [30, 60, 80], "gamma": 0.5},
    "ConstantLR": {"factor": 0.5, "total_iters": 20},
    "LinearLR": {"start_factor": 0.1, "total_iters": 20},
    "ExponentialLR": {"gamma": 0.97},
    "PolynomialLR": {"total_iters": SCHEDULE_STEPS, "power": 2.0},
    "CosineAnnealingLR": {"T_max": SCHEDULE_STEPS},
    "CosineAnnealingWarmRestarts": {"T_0": 20, "T_mult": 2},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 20},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": SCHEDULE_STEPS},
    "ReduceLROnPlateau": {"patience": 5, "factor": 0.5},
    "WarmupCosineSchedule": {"warmup_steps": 10, "total_steps": SCHEDULE_STEPS},
    "WarmupLinearSchedule": {"warmup_steps": 10, "total_steps": SCHEDULE_STEPS},
    "WarmupPolynomialSchedule": {"warmup_steps": 10, "total_steps": SCHEDULE_STEPS,
                                 "power": 2.0},
    "InverseSqrtSchedule": {"warmup_steps": 10},
    "WarmupStableDecaySchedule": {"warmup_steps": 10, "stable_steps": 60,
                                  "decay_steps": 30},
    "SWALR": {"swa_lr": 0.05, "anneal_epochs": 20},
}
# A loss that stops improving: ReduceLROnPlateau's curve needs a metric per step.
PLATEAU_METRICS = np.concatenate([np.linspace(1.0, 0.5, 30), np.full(SCHEDULE_STEPS, 0.5)])

FIGURE_DPI = 80
TRAJECTORY_STEPS = 200
CLOSURE_STEPS = 20  # LBFGS and friends evaluate the loss many times per step
MATRIX_STEPS = 100
TRAJECTORY_LANDSCAPE = "ravine"
LR_CANDIDATES = np.geomspace(1e-4, 1.0, 9)
MEMORY_SHAPE = (64, 128)
CITATION = re.compile(r"\(\d{4}\)|arXiv:\d")
TORCH_CLASS = re.compile(r"torch\.optim\.[A-Z]\w*")


# ---------------------------------------------------------------------------- helpers
def heading(text: str, char: str = "=", over: bool = False) -> str:
    line = char * max(len(text), 3)
    return f"{line}\n{text}\n{line}\n" if over else f"{text}\n{line}\n"


def literal(value) -> str:
    """An inline literal for a default value (``repr``, never empty)."""
    text = "required" if value is inspect.Parameter.empty else repr(value)
    return f"``{text}``"


def first_line(doc: str | None) -> str:
    """The docstring's first paragraph (a trailing ``::`` would announce a missing block)."""
    text = inspect.cleandoc(doc or "").split("\n\n")[0].replace("\n", " ").strip()
    return text[:-2].rstrip() + "." if text.endswith("::") else text


def escaped(text: str) -> str:
    """Plain text (a gallery caption) made safe for reStructuredText markup."""
    return re.sub(r"([\\`*_|])", r"\\\1", " ".join(text.split()))


def paragraphs(doc: str | None) -> list:
    return [" ".join(p.split()) for p in inspect.cleandoc(doc or "").split("\n\n") if p.strip()]


def save(fig, path: Path) -> None:
    fig.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)


def table(header: list, rows: list) -> str:
    """An RST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + rows:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, text: str) -> None:
    """Keep the file's time stamp when nothing changed, so Sphinx rereads only what did."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------- optimizers
def public_functions(module) -> list:
    """The module's own public functions: the update rule and its helpers."""
    return [name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module.__name__
            and not name.startswith("_")]


def build_optimizer(cls, params, **kwargs):
    """``cls(params, ...)``, giving a wrapper (SAM, Lookahead) plain SGD to drive."""
    import optim

    names = list(inspect.signature(cls.__init__).parameters)
    if "base_optimizer" in names:
        return cls(params, optim.SGD, lr=kwargs.pop("lr", 0.01), **kwargs)
    if names[1] == "optimizer":
        return cls(optim.SGD(params, lr=kwargs.pop("lr", 0.01)), **kwargs)
    if "lr" not in kwargs and "lr" in names and _is_required(cls, "lr"):  # LARS
        kwargs["lr"] = 0.01
    return cls(params, **kwargs)


def _wraps_another(cls) -> bool:
    names = list(inspect.signature(cls.__init__).parameters)
    return "base_optimizer" in names or names[1] == "optimizer"


def _default(cls, name: str):
    parameter = inspect.signature(cls.__init__).parameters.get(name)
    return inspect.Parameter.empty if parameter is None else parameter.default


def _is_required(cls, name: str) -> bool:
    default = _default(cls, name)
    return default is inspect.Parameter.empty or repr(default) == "<required parameter>"


def measured_state(cls) -> float:
    """State bytes per parameter byte on a 64×128 float32 weight, after two steps."""
    import minigrad
    import optim

    w = minigrad.tensor(np.ones(MEMORY_SHAPE, dtype=np.float32), requires_grad=True)
    opt = build_optimizer(cls, [w])
    if callable(getattr(opt, "train", None)):
        opt.train()

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * w).sum()
        loss.backward()
        return loss

    for _ in range(2):
        opt.step(closure)
    return float(optim.state_bytes_per_param(opt))


def trajectory_figure(cls, path: Path) -> str:
    """The optimizer's path on the ravine, with the learning rate a small search picks."""
    from minigrad import landscapes
    from minigrad.plot import trajectories_on_contours
    from minigrad.trajectories import run_trajectory, tune_lr

    landscape = landscapes.get(TRAJECTORY_LANDSCAPE)

    def factory(params, **kwargs):
        return build_optimizer(cls, params, **kwargs)

    factory.__name__ = cls.__name__
    if _default(cls, "lr") is None:  # the optimizer picks its own step size
        run = run_trajectory(landscape, factory, TRAJECTORY_STEPS, name=cls.__name__)
        title = f"{cls.__name__}, its own step size, {TRAJECTORY_STEPS} steps"
        save(trajectories_on_contours(landscape, [run], n=120, title=title), path)
        return (f"{cls.__name__} on the ``{TRAJECTORY_LANDSCAPE}`` landscape from its "
                f"classic start, every hyper-parameter at its default.")
    steps = CLOSURE_STEPS if getattr(cls, "needs_closure", False) is True else TRAJECTORY_STEPS
    pick = tune_lr(landscape, factory, candidates=LR_CANDIDATES, steps=steps)
    lr = pick["lr"] if pick["lr"] is not None else float(LR_CANDIDATES[0])
    run = run_trajectory(landscape, factory, steps, lr=lr, name=cls.__name__)
    title = f"{cls.__name__}, lr = {lr:.3g}, {steps} steps"
    save(trajectories_on_contours(landscape, [run], n=120, title=title), path)
    return (f"{cls.__name__} on the ``{TRAJECTORY_LANDSCAPE}`` landscape from its classic "
            f"start, other hyper-parameters at their defaults; the learning rate "
            f"({lr:.3g}) is the one of {len(LR_CANDIDATES)} candidates between 1e-4 and 1 "
            f"with the lowest loss after {steps} steps.")


def matrix_figure(cls, path: Path) -> str:
    """Loss of a 16×16 least-squares problem, for optimizers that need a matrix."""
    import minigrad
    from minigrad.plot import loss_curves

    rng = np.random.default_rng(0)
    A = minigrad.tensor(rng.standard_normal((32, 16)) / np.sqrt(32))
    B = minigrad.tensor(rng.standard_normal((32, 16)))
    w = minigrad.tensor(np.zeros((16, 16)), requires_grad=True)
    opt = build_optimizer(cls, [w], lr=0.02)
    losses = []

    def closure():
        opt.zero_grad()
        loss = 0.5 * ((A @ w - B) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(MATRIX_STEPS):
        losses.append(float(opt.step(closure).data))
    save(loss_curves({cls.__name__: np.array(losses)}, title="least squares, 16×16 weight"),
         path)
    return (f"{cls.__name__} (lr = 0.02, other hyper-parameters at their defaults) on a "
            f"16×16 least-squares problem, the loss per step. It has no 2-D trajectory: "
            f"it needs a weight matrix or a loss with its graph.")


def figure_section(cls, image: Path, docs: Path) -> list:
    """A figure of the optimizer at work, reused while its source file is unchanged."""
    source = Path(inspect.getfile(cls))
    caption_file = image.with_suffix(".txt")
    if image.exists() and caption_file.exists() \
            and image.stat().st_mtime > source.stat().st_mtime:
        caption = caption_file.read_text(encoding="utf-8")
    else:
        caption = None
        for draw in (trajectory_figure, matrix_figure):
            try:
                caption = draw(cls, image)
                break
            except Exception as error:  # the next kind of figure, or a sentence
                reason = " ".join(str(error).split())
        if caption is None:
            return [f"No figure is drawn for {cls.__name__} at build time: on a dense "
                    f"problem it raises \"{reason}\".", ""]
        caption_file.write_text(caption, encoding="utf-8")
    return [f".. figure:: /{image.relative_to(docs).as_posix()}", "   :width: 80%", "",
            f"   {caption}", ""]


def optimizer_page(name: str, image_dir: Path, docs: Path) -> str:
    import optim

    cls = getattr(optim, name)
    module = sys.modules[cls.__module__]
    functions = public_functions(module)
    texts = [module.__doc__, cls.__doc__] + [getattr(module, f).__doc__ for f in functions]
    citations = list(dict.fromkeys(p for t in texts for p in paragraphs(t)
                                   if CITATION.search(p)))
    torch_classes = sorted({m for t in texts for m in TORCH_CLASS.findall(t or "")})

    parts = [f".. _optimizer-{name}:\n", heading(name), first_line(cls.__doc__), ""]
    parts += [f"``optim.{name}`` is defined in ``{module.__name__}`` "
              f"(:mod:`{module.__name__}`); the update rule is the function below, "
              f"the class keeps the state and calls it.", ""]

    parts += [heading("Update rule", "-")]
    for function in functions:
        parts += [f".. autofunction:: {module.__name__}.{function}", "   :no-index:", ""]

    parts += [heading("Defaults and allowed ranges", "-")]
    rows = []
    for pname, p in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "params") or pname in IMPLEMENTATION_SWITCHES \
                or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        check = cls.ranges.get(pname)
        rows.append([f"``{pname}``", literal(p.default),
                     f"``{check!r}``" if check is not None else ""])
    parts += [table(["argument", "default", "checked as"], rows)]
    parts += ["A value outside its range raises ``ValueError`` naming the argument.", ""]

    parts += [heading("Paper", "-")]
    parts += [f"* {c}" for c in citations] or ["The docstrings above cite no paper."]
    parts += [""]

    parts += [heading("PyTorch equivalence", "-")]
    if name in optim.PYTORCH_OPTIMIZERS:
        parts += [f"Same class name, arguments, defaults and update rule as "
                  f"``torch.optim.{name}``; the tests compare it with PyTorch trajectories "
                  f"stored in ``tests/reference`` (to about 1e-10).", ""]
    elif f"torch.optim.{name}" in torch_classes:
        parts += [f"PyTorch has ``torch.optim.{name}``; the notes above say what matches "
                  f"it and how the tests compare the two.", ""]
    else:
        parts += [f"``torch.optim`` has no ``{name}``; the docstrings above name the "
                  f"reference implementation it follows and what the tests compare it "
                  f"with.", ""]

    parts += [heading("State memory", "-")]
    state = ", ".join(f"``{s}``" for s in cls.state_names) or "no arrays of the "\
        "parameter's shape"
    try:
        ratio = f"{measured_state(cls):.3g}"
    except Exception as error:  # a figure that cannot be measured is stated, not hidden
        ratio = f"not measured ({type(error).__name__})"
    parts += [f"State arrays: {state}. Measured with ``optim.state_bytes_per_param`` on a "
              f"{MEMORY_SHAPE[0]}×{MEMORY_SHAPE[1]} float32 weight after two steps: "
              f"**{ratio}** bytes of state per byte of parameters.", ""]
    if _wraps_another(cls):
        parts += ["It wraps another optimizer; the figure counts plain SGD (no momentum) "
                  "as the inner one, whose state is then added to this.", ""]

    parts += [heading("Figure", "-")]
    parts += figure_section(cls, image_dir / f"{name}.png", docs)

    parts += [heading("Class reference", "-"),
              f".. autoclass:: optim.{name}", "   :no-index:", "   :members: step", ""]
    return "\n".join(parts)


# -------------------------------------------------------------------------- schedules
def schedule_names() -> list:
    import schedules

    return [n for n in schedules.__all__ if n in SCHEDULE_EXAMPLES]


def schedule_values(cls, example: dict, plateau: bool = False) -> np.ndarray:
    """The learning rate of each step: SGD at lr 0.1 driven by the schedule."""
    import minigrad
    import optim

    opt = optim.SGD([minigrad.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = cls(opt, **example)
    rates = []
    for step in range(SCHEDULE_STEPS):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradient: nothing moves, but the order is the one of training
        scheduler.step(PLATEAU_METRICS[step]) if plateau else scheduler.step()
    return np.array(rates)


def schedule_page(name: str, image_dir: Path, docs: Path) -> str:
    import schedules
    from minigrad.plot import schedule_curves

    cls = getattr(schedules, name)
    example = SCHEDULE_EXAMPLES[name]
    spec = schedule_values(cls, example, plateau=name == "ReduceLROnPlateau")
    title = f"{name}, base lr 0.1"
    image = image_dir / f"{name}.png"
    fingerprint = image.with_suffix(".txt")
    drawn = " ".join(f"{v:.6g}" for v in spec)
    if not (image.exists() and fingerprint.exists()
            and fingerprint.read_text(encoding="utf-8") == drawn):
        save(schedule_curves({name: spec}, steps=SCHEDULE_STEPS, base_lr=0.1, title=title),
             image)
        fingerprint.write_text(drawn, encoding="utf-8")
    shown = ", ".join(f"``{k}={v!r}``" for k, v in example.items() if not callable(v))
    if any(callable(v) for v in example.values()):
        shown = (shown + ", " if shown else "") + "``lr_lambda`` as in the example"
    caption = f"The learning rate over {SCHEDULE_STEPS} steps with {shown}."
    if name == "ReduceLROnPlateau":
        caption += " The metric falls for 30 steps, then stays flat."

    rows = []
    for pname, p in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "optimizer"):
            continue
        rows.append([f"``{pname}``", literal(p.default)])
    parts = [f".. _schedule-{name}:\n", heading(name), first_line(cls.__doc__), "",
             heading("Curve", "-"),
             f".. figure:: /{image.relative_to(docs).as_posix()}", "   :width: 70%", "",
             f"   {caption}", "",
             heading("Arguments", "-"), table(["argument", "default"], rows),
             heading("Reference", "-"),
             f".. autoclass:: schedules.{name}", "   :no-index:", ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------------- gallery
def gallery_page(image_dir: Path, docs: Path) -> str:
    """Every registered figure: its image (rendered or reused) and its caption.

    ``MINIGRAD_DOCS_GALLERY``: ``quick`` (default, render missing figures in quick mode),
    ``captions`` (list them without images, for a fast check), or ``MINIGRAD_GALLERY_DIR``
    pointing at figures rendered by ``python -m minigrad.gallery --out DIR``.
    """
    from minigrad.gallery.__main__ import build as render
    from minigrad.gallery.registry import REGISTRY

    mode = os.environ.get("MINIGRAD_DOCS_GALLERY", "quick")
    source = os.environ.get("MINIGRAD_GALLERY_DIR")
    if source:
        for entry in REGISTRY.values():
            found = Path(source) / entry.filename
            if found.exists():
                shutil.copy2(found, image_dir / entry.filename)
    if mode != "captions":
        missing = [n for n, e in REGISTRY.items() if not (image_dir / e.filename).exists()]
        if missing:
            render(image_dir, dpi=FIGURE_DPI, only=missing, quick=True, stream=sys.stderr)
    parts = [heading("Gallery"),
             "Every figure of the chapters, one function each in ``minigrad.gallery``. "
             "Regenerate them all at full quality with "
             "``python -m minigrad.gallery --out figures/`` (``--format svg`` or ``pdf`` "
             "for slides, where available); each is also a function returning the "
             "Figure, so a notebook can change and redraw it.", ""]
    if mode == "captions":
        parts += [".. note::", "   This build lists the figures without rendering them.", ""]
    for name, entry in REGISTRY.items():
        parts += [f".. _gallery-{name}:", "", heading(name, "-")]
        image = image_dir / entry.filename
        if mode != "captions" and image.exists():
            parts += [f".. figure:: /{image.relative_to(docs).as_posix()}",
                      "   :width: 85%", "", "   " + escaped(entry.caption), ""]
        else:
            parts += [escaped(entry.caption), ""]
        parts += [f"Function: ``{entry.function.__module__}.{entry.function.__name__}``", ""]
    return "\n".join(parts)


# -------------------------------------------------------------------------- notebooks
def copy_notebooks(root: Path, out: Path) -> list:
    """Copy the notebooks, preferring executed copies; return their stems, in order."""
    executed = os.environ.get("MINIGRAD_EXECUTED_NOTEBOOKS")
    stored = sorted((root / "notebooks").glob("*.ipynb")) if (root / "notebooks").is_dir() \
        else []
    for old in out.glob("*.ipynb"):
        if old.stem not in {p.stem for p in stored}:
            old.unlink()
    for notebook in stored:
        candidate = Path(executed) / notebook.name if executed else None
        source = candidate if candidate is not None and candidate.exists() else notebook
        target = out / notebook.name
        text = with_language(source.read_text(encoding="utf-8"))
        write_if_changed(target, text)
    return [p.stem for p in stored]


def with_language(notebook_json: str) -> str:
    """The notebook with Python named as its language (outputs-free notebooks may lack
    it, and the renderer needs it to highlight the code cells)."""
    notebook = json.loads(notebook_json)
    metadata = notebook.setdefault("metadata", {})
    if "name" in metadata.get("language_info", {}):
        return notebook_json
    metadata["language_info"] = dict(metadata.get("language_info", {}), name="python")
    metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                       "language": "python"})
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def notebooks_page(stems: list) -> str:
    parts = [heading("Notebooks"),
             "The classroom notebooks, in the order of the chapters. Open them with "
             "``make notebooks``; here they are shown with the outputs of the last test "
             "run when the build was given them, otherwise as stored (without outputs).",
             ""]
    if stems:
        parts += [".. toctree::", "   :maxdepth: 1", ""] + [f"   {s}" for s in stems] + [""]
    else:
        parts += ["No notebooks were found in ``notebooks/`` when this site was built.", ""]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ index
def index_page(title: str, intro: str, names: list) -> str:
    return "\n".join([heading(title), intro, "", ".. toctree::", "   :maxdepth: 1", ""]
                     + [f"   {n}" for n in names] + [""])


def generate(app) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import optim

    docs = Path(app.srcdir)
    root = docs.parent
    generated = docs / "generated"
    folders = {k: generated / k for k in ("optimizers", "schedules", "gallery", "notebooks")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    images = generated / "images"
    images.mkdir(exist_ok=True)

    names = list(optim.PYTORCH_OPTIMIZERS) + list(optim.MODERN_OPTIMIZERS)
    backend = optim.get_default_backend()
    optim.set_default_backend("numpy")  # the reference updates: no kernel to compile
    try:
        for name in names:
            page = optimizer_page(name, images, docs)
            write_if_changed(folders["optimizers"] / f"{name}.rst", page)
    finally:
        optim.set_default_backend(backend)
    write_if_changed(folders["optimizers"] / "index.rst", index_page(
        "Optimizers", "One page per optimizer, in the order the chapters teach them: "
        "first those PyTorch also has, then the modern ones.", names))

    sched = schedule_names()
    for name in sched:
        write_if_changed(folders["schedules"] / f"{name}.rst",
                         schedule_page(name, images, docs))
    write_if_changed(folders["schedules"] / "index.rst", index_page(
        "Schedules", "One page per learning-rate schedule, each with its curve. "
        "Every one can be evaluated without a model with ``schedules.lr_sequence``.", sched))

    figures = folders["gallery"] / "figures"
    figures.mkdir(exist_ok=True)
    write_if_changed(folders["gallery"] / "index.rst", gallery_page(figures, docs))
    stems = copy_notebooks(root, folders["notebooks"])
    write_if_changed(folders["notebooks"] / "index.rst", notebooks_page(stems))


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

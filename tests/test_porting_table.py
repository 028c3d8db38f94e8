"""The README's "Coming from PyTorch" table: every row's minigrad form does what its
PyTorch form does.

The table is parsed from README.md. Each row is run in its minigrad form in a namespace
of small, fixed values (``p`` a parameter with a gradient, ``v`` a tensor, ``model`` and
``m`` Linear layers, ...), and what it produced (a value, or the state it changed) is
compared with the PyTorch form's effect written out in NumPy. Where torch is installed, a
second test runs the PyTorch form itself in the same values and compares the two live.
"""
from __future__ import annotations

import copy
import pathlib
import re
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

import minigrad
import optim
import schedules

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"

# the values every row starts from (float32, like a model's parameters)
P = np.array([1.0, -2.0, 3.0], np.float32)
GRAD = np.array([0.5, -1.0, 2.0], np.float32)
V = np.array([4.0, 20.0, -30.0], np.float32)
EXP_AVG = np.array([0.1, 0.2, 0.3], np.float32)
W = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]], np.float32)
B = np.array([0.05, -0.05], np.float32)
W_GRAD = np.array([[3.0, 0.0, -4.0], [0.0, 1.0, 2.0]], np.float32)
LR, WD, BETA1 = 0.1, 0.01, 0.9


# ------------------------------------------------------------------ the table
def table_rows() -> list[tuple[str, str]]:
    """(PyTorch form, minigrad form) of each row, the code inside the backquotes."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Coming from PyTorch", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        code = [re.fullmatch(r"`([^`]*)`", cell) for cell in cells[:2]]
        assert all(code), f"the first two cells of a row are code in backquotes: {line}"
        rows.append((code[0].group(1), code[1].group(1)))
    return rows


# ------------------------------------------------------------------ namespaces
def _linear(nn, requires_grad_of):
    """A Linear(3, 2) holding W and B, with W_GRAD as its weight's gradient."""
    tensor = minigrad.tensor if nn is minigrad.nn else _torch().tensor
    layer = nn.Linear(3, 2)
    with requires_grad_of():
        layer.weight.copy_(tensor(W))
        layer.bias.copy_(tensor(B))
    layer.weight.grad = W_GRAD.copy() if nn is minigrad.nn else tensor(W_GRAD)
    return layer


def minigrad_namespace() -> dict:
    from schedules import ReduceLROnPlateau

    p = minigrad.Parameter(P.copy())
    p.grad = GRAD.copy()
    model, m = _linear(minigrad.nn, minigrad.no_grad), _linear(minigrad.nn, minigrad.no_grad)
    return {"np": np, "copy": copy, "minigrad": minigrad, "nn": minigrad.nn, "optim": optim,
            "schedules": schedules, "ReduceLROnPlateau": ReduceLROnPlateau,
            "p": p, "v": minigrad.tensor(V), "exp_avg": EXP_AVG.copy(),
            "loss": minigrad.tensor(0.25), "x": minigrad.tensor(P),
            "model": model, "m": m, "opt": optim.SGD(model.parameters(), lr=LR),
            "lr": LR, "wd": WD, "beta1": BETA1,
            "device": minigrad.device("cpu")}


def _torch():
    import torch

    return torch


def torch_namespace() -> dict:
    torch = _torch()
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    p = torch.nn.Parameter(torch.tensor(P))
    p.grad = torch.tensor(GRAD)
    model, m = _linear(torch.nn, torch.no_grad), _linear(torch.nn, torch.no_grad)
    return {"np": np, "copy": copy, "torch": torch, "nn": torch.nn,
            "ReduceLROnPlateau": ReduceLROnPlateau,
            "p": p, "v": torch.tensor(V), "exp_avg": torch.tensor(EXP_AVG),
            "loss": torch.tensor(0.25), "x": torch.tensor(P),
            "model": model, "m": m, "opt": torch.optim.SGD(model.parameters(), lr=LR),
            "lr": LR, "wd": WD, "beta1": BETA1, "device": torch.device("cpu")}


def run(code: str, namespace: dict):
    """Run one table cell: the value of an expression, or None for a statement."""
    try:
        compiled = compile(code, "<table>", "eval")
    except SyntaxError:
        exec(compile(code, "<table>", "exec"), namespace)  # noqa: S102
        return None
    return eval(compiled, namespace)  # noqa: S307


def as_array(value) -> np.ndarray:
    """An array from a minigrad Tensor, a torch tensor, an ndarray or a number."""
    if isinstance(value, minigrad.Tensor):
        return np.asarray(value.data)
    if hasattr(value, "detach"):  # torch
        return value.detach().numpy()
    return np.asarray(value)


# ------------------------------------------------------------------ what each row does
@dataclass
class Row:
    observe: Callable[[dict, object], object]  # what the form produced, from (namespace, value)
    expected: Callable[[], object]  # the PyTorch form's effect, written in NumPy
    live: bool = True  # compare with torch running the PyTorch form


def _value(ns, value):
    return as_array(value)


def _grad(ns, value):
    return as_array(ns["p"].grad)


def _data(ns, value):
    return as_array(ns["p"])


def _restored_weight(ns, value):
    """Train a step away from ``state``, load it back: the weight that comes out."""
    model = ns["model"]
    with (minigrad.no_grad() if isinstance(model, minigrad.nn.Module) else _torch().no_grad()):
        model.weight.add_(1.0)
    model.load_state_dict(ns["state"])
    return as_array(model.weight)


def _type_of_device(ns, value):
    return value.type


def _imported(ns, value):
    return callable(ns["autocast"]) and hasattr(ns["GradScaler"](), "scale")


ROWS = {
    "p.grad.zero_()": Row(_grad, lambda: np.zeros_like(GRAD)),
    "p.grad.norm()": Row(_value, lambda: np.sqrt(np.sum(GRAD ** 2))),
    "p.grad.pow(2)": Row(_value, lambda: GRAD ** 2),
    "p.grad.sign()": Row(_value, lambda: np.sign(GRAD)),
    "p.grad.abs().max()": Row(_value, lambda: np.max(np.abs(GRAD))),
    "torch.isnan(p.grad).any()": Row(_value, lambda: False),
    "p.grad.clone()": Row(lambda ns, value: (as_array(value), value is not ns["p"].grad),
                          lambda: (GRAD, True), live=False),
    "p.grad.add(p.data, alpha=wd)": Row(_value, lambda: GRAD + WD * P),
    "p.data.add_(v, alpha=-lr)": Row(_data, lambda: P - np.float32(LR) * V),
    "exp_avg.mul_(beta1).add_(p.grad, alpha=1 - beta1)": Row(
        lambda ns, value: as_array(ns["exp_avg"]), lambda: BETA1 * EXP_AVG + (1 - BETA1) * GRAD),
    "m.bias.data.fill_(0.01)": Row(lambda ns, value: as_array(ns["m"].bias),
                                   lambda: np.full_like(B, 0.01)),
    "torch.zeros_like(p.data)": Row(lambda ns, value: (as_array(value), str(value.dtype)),
                                    lambda: (np.zeros(3), "float32"), live=False),
    "loss.item()": Row(lambda ns, value: (value, type(value)), lambda: (0.25, float)),
    "with torch.no_grad(): p -= lr * p.grad": Row(_data, lambda: P - np.float32(LR) * GRAD),
    "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)": Row(
        lambda ns, value: (float(value), as_array(ns["model"].weight.grad)),
        lambda: (np.sqrt(np.sum(W_GRAD ** 2)), W_GRAD / (np.sqrt(np.sum(W_GRAD ** 2)) + 1e-6))),
    "state = model.state_dict()": Row(_restored_weight, lambda: W + 1.0),
    "state = copy.deepcopy(model.state_dict())": Row(_restored_weight, lambda: W),
    'torch.device("cuda" if torch.cuda.is_available() else "cpu")': Row(
        _type_of_device, lambda: "cuda" if minigrad.cuda.is_available() else "cpu",
        live=False),  # torch may see a GPU that CuPy does not, or the reverse
    "x.to(device)": Row(_value, lambda: P),
    "torch.manual_seed(0)": Row(
        lambda ns, value: True, lambda: True, live=False),  # checked below: same draws
    "ReduceLROnPlateau(opt, patience=2, verbose=True)": Row(
        lambda ns, value: value.get_last_lr(), lambda: [LR], live=False),  # see below
    "from torch.cuda.amp import autocast, GradScaler": Row(
        _imported, lambda: True, live=False),  # torch.cuda.amp is deprecated in torch
}


def test_every_row_of_the_table_is_checked_and_every_check_has_a_row():
    pytorch_forms = [pytorch for pytorch, _ in table_rows()]
    assert len(pytorch_forms) == len(set(pytorch_forms)), "a PyTorch idiom appears twice"
    assert sorted(pytorch_forms) == sorted(ROWS)


@pytest.mark.parametrize("pytorch, ours", table_rows(), ids=[r[0] for r in table_rows()])
def test_minigrad_form_does_what_the_pytorch_form_does(pytorch, ours):
    namespace = minigrad_namespace()
    row = ROWS[pytorch]
    got, expected = row.observe(namespace, run(ours, namespace)), row.expected()
    if isinstance(expected, tuple):
        for part_got, part_expected in zip(got, expected):
            _assert_same(part_got, part_expected, pytorch)
    else:
        _assert_same(got, expected, pytorch)


def _assert_same(got, expected, what):
    if isinstance(expected, (str, type, bool)) or expected is None:
        assert got == expected, what
    elif isinstance(expected, list):
        assert got == pytest.approx(expected), what
    else:
        np.testing.assert_allclose(as_array(got), expected, rtol=1e-5, err_msg=what)


def test_the_rows_that_write_in_place_keep_the_arrays_and_their_dtype():
    namespace = minigrad_namespace()
    grad, data = namespace["p"].grad, namespace["p"].data
    run("p.grad[...] = 0", namespace)
    run("p.data -= lr * v", namespace)
    assert namespace["p"].grad is grad and namespace["p"].data is data
    assert data.dtype == np.float32 and type(data) is np.ndarray


def test_manual_seed_row_repeats_the_draws():
    minigrad_form = dict(table_rows())["torch.manual_seed(0)"]
    namespace = minigrad_namespace()
    run(minigrad_form, namespace)
    first = minigrad.randn(4).data
    run(minigrad_form, namespace)
    np.testing.assert_array_equal(minigrad.randn(4).data, first)


def test_the_pytorch_verbose_form_raises_an_error_that_says_what_to_do():
    namespace = minigrad_namespace()
    with pytest.raises(TypeError, match=r"get_last_lr\(\)"):
        run("ReduceLROnPlateau(opt, patience=2, verbose=True)", namespace)


def test_the_device_row_without_a_gpu_raises_naming_the_extra():
    if minigrad.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="cuda12"):
        minigrad.tensor(P).to(minigrad.device("cuda"))


LIVE_ROWS = [(pytorch, ours) for pytorch, ours in table_rows() if ROWS[pytorch].live]


@pytest.mark.parametrize("pytorch, ours", LIVE_ROWS, ids=[r[0] for r in LIVE_ROWS])
def test_pytorch_form_in_torch_gives_the_same_as_the_minigrad_form(pytorch, ours):
    pytest.importorskip("torch")
    row = ROWS[pytorch]
    mine, theirs = minigrad_namespace(), torch_namespace()
    got = row.observe(mine, run(ours, mine))
    reference = row.observe(theirs, run(pytorch, theirs))
    if isinstance(reference, tuple):
        for part_got, part_reference in zip(got, reference):
            _assert_same_live(part_got, part_reference, pytorch)
    else:
        _assert_same_live(got, reference, pytorch)


def _assert_same_live(got, reference, what):
    if isinstance(reference, (type, str)):
        assert got == reference, what
    else:
        np.testing.assert_allclose(as_array(got), as_array(reference), rtol=1e-5, atol=1e-7,
                                   err_msg=what)

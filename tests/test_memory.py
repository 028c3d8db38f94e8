"""optim.memory: the state memory of each optimizer, relative to its parameters."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
import optim
from optim.memory import parameter_bytes, state_bytes, state_bytes_per_param


def _optimizer(name: str, dtype=np.float32, **kwargs):
    cls = getattr(optim, name, None)
    if cls is None:
        pytest.skip(f"optim.{name} is not written yet")
    params = [minigrad.tensor(np.ones((4, 5)), dtype=dtype, requires_grad=True),
              minigrad.tensor(np.ones(3), dtype=dtype, requires_grad=True)]
    return cls(params, **kwargs), params


def _one_step(opt, params):
    def closure():
        opt.zero_grad()
        loss = sum((p * p).sum() for p in params)
        loss.backward()
        return loss
    opt.step(closure)


@pytest.mark.parametrize("name, kwargs, ratio", [
    ("SGD", dict(lr=0.1), 0.0),
    ("SGD", dict(lr=0.1, momentum=0.9), 1.0),
    ("Adam", dict(lr=0.1), 2.0),
    ("Adam", dict(lr=0.1, amsgrad=True), 3.0),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_ratios_of_the_chapters(name, kwargs, ratio, dtype):
    opt, params = _optimizer(name, dtype, **kwargs)
    assert state_bytes(opt) == 0 and state_bytes_per_param(opt) == 0.0  # state is lazy
    _one_step(opt, params)
    assert parameter_bytes(opt) == 23 * np.dtype(dtype).itemsize
    assert state_bytes(opt) == ratio * 23 * np.dtype(dtype).itemsize  # `step` (an int) not counted
    assert state_bytes_per_param(opt) == ratio


def test_memory_of_the_other_pytorch_optimizers():
    expected = {"Adagrad": 1, "RMSprop": 1, "Adadelta": 2, "AdamW": 2, "NAdam": 2,
                "RAdam": 2, "Adamax": 2, "Rprop": 2, "ASGD": 1}
    for name, ratio in expected.items():
        if not hasattr(optim, name):
            continue
        opt, params = _optimizer(name)
        _one_step(opt, params)
        assert state_bytes_per_param(opt) == ratio, name


def test_lbfgs_counts_its_history_lists():
    opt, params = _optimizer("LBFGS", np.float64, lr=0.1, history_size=3)
    for _ in range(3):
        _one_step(opt, params)
    state = opt.state[params[0]]
    pairs = len(state["old_dirs"])
    assert pairs >= 1
    assert state_bytes(opt) == (2 + 2 * pairs) * parameter_bytes(opt)  # d, prev_flat_grad, s, y


def test_parameters_without_elements():
    empty = minigrad.tensor(np.zeros((0, 3)), requires_grad=True)
    opt = optim.SGD([empty], lr=0.1, momentum=0.9)
    empty.grad = np.zeros((0, 3))
    opt.step()
    assert state_bytes(opt) == 0 and state_bytes_per_param(opt) == 0.0

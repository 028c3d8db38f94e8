"""The thin-shell pattern: classes declare ranges, state names and needs as data the base
class reads; update functions never write to ``grad``; PyTorch-only switches are accepted
but not stored."""
from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import minigrad
import optim
from minigrad import landscapes
from minigrad.trajectories import run_trajectory
from optim.checks import Betas, OneOf, PositiveInt, Range
from optim.optimizer import PYTORCH_ONLY_SWITCHES

CLASSES = [getattr(optim, name) for name in optim.PYTORCH_OPTIMIZERS] + [
    optim.MomentumEWA, optim.NesterovLookahead]


def _param(values=(1.0, -2.0)):
    return minigrad.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def _required_kwargs(cls) -> dict:
    return {"lr": 0.1} if cls in (optim.MomentumEWA, optim.NesterovLookahead) else {}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_class_declares_its_ranges_and_state_as_data(cls):
    assert isinstance(cls.ranges, dict) and "lr" in cls.ranges
    assert all(callable(check) for check in cls.ranges.values())
    assert isinstance(cls.state_names, tuple)
    assert "_validate_group" not in vars(cls) or cls is optim.SGD  # SGD adds a cross-check


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_declared_range_rejects_a_bad_value_before_anything_changes(cls):
    for key, check in cls.ranges.items():
        if isinstance(check, Range):
            bad = check.low - 1.0 if not check.optional else "x"
        elif isinstance(check, Betas):
            bad = (1.5, 0.5)
        elif isinstance(check, OneOf):
            bad = "no such option"
        else:  # a hand-written check such as Rprop's etas
            bad = (2.0, 0.5)
        p = _param()
        with pytest.raises(ValueError, match=re.escape("Invalid")):
            cls([p], **{**_required_kwargs(cls), key: bad})
        np.testing.assert_array_equal(p.data, [1.0, -2.0])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_update_functions_never_write_to_grad(cls):
    p = _param([1.0, -2.0, 0.5])
    opt = cls([p], **_required_kwargs(cls))

    def closure():
        opt.zero_grad()
        loss = ((p - 3.0) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        closure()
        grad_before = p.grad.copy()
        grad_object = p.grad
        opt.step(closure) if cls.needs_closure else opt.step()
        if not cls.needs_closure:  # closures recompute .grad; otherwise it is untouched
            assert p.grad is grad_object
            np.testing.assert_array_equal(p.grad, grad_before)
            assert p.grad.flags.writeable


def test_an_update_that_writes_to_grad_fails_loudly():
    class Careless(optim.SGD):
        def _update(self, p, grad, state, group):
            grad += group["weight_decay"] * p.data  # the mistake the read-only view catches

    p = _param()
    p.grad = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="read-only"):
        Careless([p], lr=0.1, weight_decay=0.1).step()
    np.testing.assert_array_equal(p.grad, [0.5, 0.5])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_pytorch_only_switches_are_accepted_but_not_stored(cls):
    accepted = [name for name in PYTORCH_ONLY_SWITCHES
                if name in inspect.signature(cls.__init__).parameters]
    kwargs = {name: None if name in ("foreach", "fused") else False for name in accepted}
    opt = cls([_param()], **_required_kwargs(cls), **kwargs)
    for name in PYTORCH_ONLY_SWITCHES:
        assert name not in opt.defaults and name not in opt.param_groups[0]
        assert name not in repr(opt)


def test_a_checkpoint_holding_pytorch_switches_loads_without_them():
    p = _param()
    opt = optim.Adam([p], lr=0.1)
    saved = opt.state_dict()
    saved["param_groups"][0].update(foreach=None, fused=None, capturable=False,
                                    differentiable=False)
    opt.load_state_dict(saved)
    assert not set(PYTORCH_ONLY_SWITCHES) & set(opt.param_groups[0])


def test_state_names_drive_the_shape_check_on_load():
    p = _param()
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.array([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    saved["state"][0]["exp_avg_sq"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"'exp_avg_sq' of shape \(3,\)"):
        opt.load_state_dict(saved)


def test_a_closure_optimizer_says_so_when_stepped_without_one():
    for cls in (optim.LBFGS, optim.NesterovLookahead):
        opt = cls([_param()], **_required_kwargs(cls))
        with pytest.raises(TypeError, match=f"{cls.__name__}.step\\(\\) needs a closure"):
            opt.step()


def test_trajectories_give_a_closure_to_every_optimizer_that_needs_one():
    run = run_trajectory(landscapes.get("ravine"), optim.NesterovLookahead, steps=50,
                         lr=0.01, momentum=0.9)
    assert not run["diverged"] and run["loss"][-1] < run["loss"][0]


def test_a_two_dimensional_only_optimizer_names_the_offending_parameter():
    class MatrixSGD(optim.SGD):
        needs_2d = True

    weight, bias = minigrad.zeros((3, 2), requires_grad=True), minigrad.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"MatrixSGD only optimizes 2-D.*parameter 1.*\(3,\)"):
        MatrixSGD([weight, bias], lr=0.1)
    opt = MatrixSGD([weight], lr=0.1)
    with pytest.raises(ValueError, match="only optimizes 2-D"):
        opt.add_param_group({"params": [bias]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("check, good, bad, message", [
    (Range("alpha value", 0.0, 1.0, high_open=True), 0.5, 1.0, r"Invalid alpha value: 1.0 \(allowed range \[0.0, 1.0\)\)"),
    (Range("lr", optional=True), None, -1.0, r"Invalid lr: -1.0"),
    (Betas(3), (0.1, 0.2, 0.3), (0.1, 0.2), r"Invalid betas"),
    (OneOf("mode", ("a", "b")), "a", "c", r"Invalid mode: 'c' \(allowed: 'a', 'b'\)"),
    (PositiveInt("k"), 5, 2.5, r"Invalid k: 2.5 \(expected an integer >= 1\)"),
    (PositiveInt("k"), 1, True, r"Invalid k: True"),
])
def test_checks_accept_the_range_and_name_it_when_refusing(check, good, bad, message):
    check(good)
    with pytest.raises(ValueError, match=message):
        check(bad)
    assert repr(check)

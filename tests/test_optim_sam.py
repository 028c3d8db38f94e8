"""SAM and ASAM (optim.sam): the two-pass update, the shared groups, schedulers, clipping,
checkpoints, and the pull toward flat minima."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

import minigrad
import optim
from minigrad.nn.utils import clip_grad_norm_
from optim.sam import SAM, sam_perturbation
from schedules import CosineAnnealingLR, StepLR

from quartic import A, B, START  # the shared test problem
from quartic import closure_for as _closure, gradient as _grad, problem as _problem


def _flat(params) -> list:
    return [float(v) for p in params for v in p.data.ravel()]


# ----------------------------------------------------------------- against a transcription
def _sam_by_hand(steps, *, lr, momentum, rhos, adaptive, clip=None):
    """SAM + SGD with momentum on floats: the paper's two gradients, PyTorch's SGD.

    ``rhos``: ρ of each coordinate (coordinates 0, 1 form the first group, 2 the second).
    ``clip``: the largest norm of the second gradient (clip_grad_norm_'s rule).
    """
    w, buf, path = list(START), None, []
    for _ in range(steps):
        g = _grad(w)
        tg = [abs(w[i]) * g[i] if adaptive else g[i] for i in range(3)]
        norm = math.sqrt(sum(v * v for v in tg))
        e = [rhos[i] / (norm + 1e-12) * ((w[i] ** 2) * g[i] if adaptive else g[i])
             for i in range(3)]
        g2 = _grad([w[i] + e[i] for i in range(3)])
        if clip is not None:
            total = math.sqrt(sum(v * v for v in g2))
            if clip / (total + 1e-6) < 1:
                g2 = [v * clip / (total + 1e-6) for v in g2]
        buf = list(g2) if buf is None else [momentum * buf[i] + g2[i] for i in range(3)]
        w = [w[i] - lr * buf[i] for i in range(3)]
        path.append(list(w))
    return path


@pytest.mark.parametrize("adaptive", [False, True], ids=["SAM", "ASAM"])
def test_sam_with_sgd_follows_a_transcription_of_the_paper(adaptive):
    params, loss = _problem()
    rho1, rho2 = (0.05, 0.1) if not adaptive else (0.3, 0.5)
    opt = SAM([{"params": [params[0]]}, {"params": [params[1]], "rho": rho2}], optim.SGD,
              rho=rho1, adaptive=adaptive, lr=0.05, momentum=0.9)
    expected = _sam_by_hand(20, lr=0.05, momentum=0.9, rhos=[rho1, rho1, rho2],
                            adaptive=adaptive)
    closure = _closure(opt, loss)
    for want in expected:
        opt.step(closure)
        np.testing.assert_allclose(_flat(params), want, rtol=0, atol=1e-12)


def test_the_perturbation_uses_one_norm_over_all_parameters():
    w = [np.array([1.0, -2.0]), np.array([[0.5]])]
    g = [np.array([3.0, 0.0]), np.array([[4.0]])]   # joint norm 5
    e = sam_perturbation(w, g, rho=0.5)
    np.testing.assert_allclose(e[0], [0.3, 0.0])
    np.testing.assert_allclose(e[1], [[0.4]])
    ea = sam_perturbation(w, g, rho=1.0, adaptive=True)  # ‖|w|·g‖ = ‖(3, 0, 2)‖ = √13
    np.testing.assert_allclose(ea[0], np.array([3.0, 0.0]) / math.sqrt(13))
    np.testing.assert_allclose(ea[1], [[0.25 * 4.0 / math.sqrt(13)]])
    zero = sam_perturbation(w, [np.zeros(2), np.zeros((1, 1))], rho=0.5)  # no NaN at g = 0
    assert all(np.all(z == 0) for z in zero)


def test_first_step_moves_to_the_worst_point_and_second_step_returns_exactly():
    params, loss = _problem()
    start = [p.data.copy() for p in params]
    opt = SAM(params, optim.SGD, rho=0.1, lr=0.0)  # lr 0: only the perturbation moves w
    loss().backward()
    grads = [p.grad.copy() for p in params]
    opt.first_step(zero_grad=True)
    assert all(p.grad is None for p in params)
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    for p, s, g in zip(params, start, grads):
        np.testing.assert_allclose(p.data, s + 0.1 * g / norm, rtol=0, atol=1e-13)
        np.testing.assert_array_equal(opt.state[p]["old_p"], s)
    with pytest.raises(RuntimeError, match="twice"):
        loss().backward()
        opt.first_step()
    loss().backward()
    opt.second_step()
    for p, s in zip(params, start):
        np.testing.assert_array_equal(p.data, s)  # a copy back, not w + ε − ε
        assert "old_p" not in opt.state[p]


def test_rho_zero_is_the_base_optimizer():
    params, loss = _problem()
    ref, ref_loss = _problem()
    sam = SAM(params, optim.Adam, rho=0.0, lr=0.05)
    adam = optim.Adam(ref, lr=0.05)
    for _ in range(10):
        returned = sam.step(_closure(sam, loss))
        expected = adam.step(_closure(adam, ref_loss))
        assert float(returned.data) == float(expected.data)  # the loss at w is returned
    for p, q in zip(params, ref):
        np.testing.assert_array_equal(p.data, q.data)


def test_maximize_climbs_toward_the_worst_point_of_the_negated_loss():
    params, loss = _problem()
    ref, ref_loss = _problem()
    up = SAM(params, optim.SGD, rho=0.1, lr=0.05, momentum=0.9, maximize=True)
    down = SAM(ref, optim.SGD, rho=0.1, lr=0.05, momentum=0.9)
    for _ in range(10):
        up.step(_closure(up, lambda: -loss()))
        down.step(_closure(down, ref_loss))
    for p, q in zip(params, ref):
        np.testing.assert_array_equal(p.data, q.data)


def test_matches_pytorch_optimizer_sam_with_adam():
    torch = pytest.importorskip("torch")
    pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
    for adaptive in (False, True):
        params, loss = _problem()
        opt = SAM(params, optim.Adam, rho=0.2, adaptive=adaptive, lr=0.05)
        tp = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
        ta, tb = torch.tensor(A, dtype=torch.float64), torch.tensor(B, dtype=torch.float64)
        topt = pytorch_optimizer.SAM(tp, torch.optim.Adam, rho=0.2, adaptive=adaptive, lr=0.05)

        def tclosure():
            topt.zero_grad()
            w = torch.cat(tp)
            value = 0.5 * w @ (ta @ w) - tb @ w + 0.1 * (w ** 4).sum()
            value.backward()
            return value

        for _ in range(20):
            opt.step(_closure(opt, loss))
            tclosure()             # its step expects the gradient at w to be there
            topt.step(tclosure)
            # its global gradient norm is accumulated in float32: agreement to ~1e-9
            np.testing.assert_allclose(_flat(params), [v for t in tp for v in t.tolist()],
                                       rtol=1e-7, atol=1e-10)


# ----------------------------------------------------------------- validation
def test_bad_arguments_are_refused_before_anything_changes():
    params, _ = _problem()
    with pytest.raises(ValueError, match=r"Invalid rho: -0.1 \(allowed range \[0.0, inf\]\)"):
        SAM(params, optim.SGD, rho=-0.1, lr=0.1)
    with pytest.raises(ValueError, match="Invalid adaptive"):
        SAM(params, optim.SGD, adaptive="yes", lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        SAM(params, optim.SGD, lr=-1.0)
    with pytest.raises(TypeError, match="optimizer class"):
        SAM(params, optim.SGD(params, lr=0.1), lr=0.1)
    with pytest.raises(ValueError, match="needs a closure"):
        SAM(params, optim.LBFGS)
    with pytest.raises(TypeError):
        SAM(params, optim.SGD, lr=0.1, no_such_option=1.0)

    opt = SAM([params[0]], optim.SGD, lr=0.1, momentum=0.9)
    before = copy.deepcopy(opt.state_dict())
    for bad in ({"rho": -1.0}, {"adaptive": 2}, {"lr": -1.0}, {"momentum": -0.5}):
        with pytest.raises(ValueError):
            opt.add_param_group({"params": [params[1]], **bad})
        assert len(opt.param_groups) == len(opt.base_optimizer.param_groups) == 1
    assert opt.state_dict() == before
    np.testing.assert_array_equal(params[1].data, START[2:])


def test_step_needs_a_closure():
    params, _ = _problem()
    opt = SAM(params, optim.SGD, lr=0.1)
    with pytest.raises(TypeError, match="closure"):
        opt.step()


# ----------------------------------------------------------------- one set of groups
def test_groups_and_state_are_the_base_optimizers():
    params, loss = _problem()
    opt = SAM([params[0]], optim.SGD, rho=0.1, lr=0.1, momentum=0.9)
    assert opt.param_groups is opt.base_optimizer.param_groups
    assert opt.state is opt.base_optimizer.state
    group = opt.param_groups[0]
    assert (group["rho"], group["adaptive"]) == (0.1, False)
    assert (group["lr"], group["momentum"]) == (0.1, 0.9)
    opt.add_param_group({"params": [params[1]], "rho": 0.3, "lr": 0.01})
    assert len(opt.base_optimizer.param_groups) == 2
    assert opt.param_groups[1]["rho"] == 0.3 and opt.param_groups[1]["momentum"] == 0.9
    opt.step(_closure(opt, loss))
    assert "momentum_buffer" in opt.state[params[1]]  # the base optimizer stepped it
    groups, state = opt.param_groups, opt.state
    opt.load_state_dict(opt.state_dict())
    assert opt.param_groups is groups is opt.base_optimizer.param_groups
    assert opt.state is state is opt.base_optimizer.state


@pytest.mark.parametrize("two_halves", [False, True], ids=["step(closure)", "first/second"])
@pytest.mark.parametrize("make_scheduler", [
    lambda opt: StepLR(opt, step_size=2, gamma=0.1),
    lambda opt: CosineAnnealingLR(opt, T_max=4)], ids=["StepLR", "CosineAnnealingLR"])
def test_a_scheduler_on_sam_drives_the_base_optimizer_without_warnings(make_scheduler,
                                                                       two_halves):
    params, loss = _problem()
    opt = SAM(params, optim.SGD, rho=0.05, lr=0.1)
    scheduler = make_scheduler(opt)
    closure = _closure(opt, loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            lr = opt.base_optimizer.param_groups[0]["lr"]
            before = [p.data.copy() for p in params]
            if two_halves:
                closure()
                opt.first_step(zero_grad=True)
                closure()
                grads = [p.grad.copy() for p in params]
                opt.second_step(zero_grad=True)
            else:
                opt.step(closure)
                grads = [p.grad.copy() for p in params]  # the gradient at w + ε
            for p, b, g in zip(params, before, grads):
                np.testing.assert_allclose(p.data, b - lr * g, rtol=1e-14)
            scheduler.step()
    assert opt.base_optimizer.param_groups[0]["lr"] == pytest.approx(scheduler.get_last_lr()[0])
    assert opt.base_optimizer.param_groups[0]["lr"] < 0.1


def test_gradient_clipping_before_second_step_clips_the_applied_gradient():
    params, loss = _problem()
    opt = SAM([{"params": [params[0]]}, {"params": [params[1]], "rho": 0.1}], optim.SGD,
              rho=0.05, lr=0.05, momentum=0.9)
    expected = _sam_by_hand(15, lr=0.05, momentum=0.9, rhos=[0.05, 0.05, 0.1],
                            adaptive=False, clip=0.5)
    for want in expected:
        opt.zero_grad()
        loss().backward()
        clip_grad_norm_(params, 10.0)     # the first gradient: only its direction is used
        opt.first_step(zero_grad=True)
        loss().backward()
        clip_grad_norm_(params, 0.5)      # the gradient the base optimizer applies
        opt.second_step(zero_grad=True)
        np.testing.assert_allclose(_flat(params), want, rtol=0, atol=1e-12)


def test_clipping_inside_the_closure_equals_clipping_before_second_step():
    params, loss = _problem()
    by_hand, loss2 = _problem()
    opt = SAM(params, optim.SGD, rho=0.1, lr=0.05)
    ref = SAM(by_hand, optim.SGD, rho=0.1, lr=0.05)

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        clip_grad_norm_(params, 0.5)
        return value

    for _ in range(10):
        opt.step(closure)
        ref.zero_grad()
        loss2().backward()
        ref.first_step(zero_grad=True)
        loss2().backward()
        clip_grad_norm_(by_hand, 0.5)
        ref.second_step()
        for p, q in zip(params, by_hand):
            np.testing.assert_allclose(p.data, q.data, rtol=1e-13)


# ----------------------------------------------------------------- checkpoints
def test_resume_through_state_dict_is_bit_exact():
    params, loss = _problem()
    opt = SAM(params, optim.Adam, rho=0.1, adaptive=True, lr=0.05)
    for _ in range(5):
        opt.step(_closure(opt, loss))
    saved, saved_params = opt.state_dict(), [p.data.copy() for p in params]
    for _ in range(5):
        opt.step(_closure(opt, loss))

    fresh, fresh_loss = _problem()
    for p, s in zip(fresh, saved_params):
        p.data[...] = s
    opt2 = SAM(fresh, optim.Adam, rho=0.5, lr=1.0)   # the checkpoint's settings win
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["rho"] == 0.1 and opt2.param_groups[0]["adaptive"] is True
    assert opt2.base_optimizer.param_groups[0]["lr"] == 0.05
    for _ in range(5):
        opt2.step(_closure(opt2, fresh_loss))
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(p.data, q.data)
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt.state[p][key], opt2.state[q][key])


def test_a_checkpoint_between_the_two_halves_keeps_the_point_to_return_to():
    params, loss = _problem()
    opt = SAM(params, optim.SGD, rho=0.2, lr=0.05, momentum=0.9)
    opt.step(_closure(opt, loss))
    loss().backward()
    opt.first_step(zero_grad=True)                       # now at w + ε
    saved, saved_params = opt.state_dict(), [p.data.copy() for p in params]
    loss().backward()
    opt.second_step(zero_grad=True)

    fresh, fresh_loss = _problem()
    for p, s in zip(fresh, saved_params):
        p.data[...] = s
    opt2 = SAM(fresh, optim.SGD, rho=0.2, lr=0.05, momentum=0.9)
    opt2.load_state_dict(saved)
    fresh_loss().backward()
    opt2.second_step(zero_grad=True)
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(p.data, q.data)


def test_float32_stays_float32():
    params, loss = _problem(np.float32)
    opt = SAM(params, optim.SGD, rho=0.05, adaptive=True, lr=0.05, momentum=0.9)
    closure = _closure(opt, loss)
    closure()
    opt.first_step()
    assert all(opt.state[p]["old_p"].dtype == np.float32 for p in params)
    closure()
    opt.second_step()
    opt.step(closure)
    assert all(p.data.dtype == np.float32 for p in params)
    assert all(opt.state[p]["momentum_buffer"].dtype == np.float32 for p in params)


# ----------------------------------------------------------------- flat minima
def test_sam_ends_in_a_flatter_minimum_than_sgd():
    from minigrad.gallery.modern import flat_valley as valley, valley_path

    sgd = valley_path(lambda p: optim.SGD(p, lr=0.1))[-1]
    sam = valley_path(lambda p: SAM(p, optim.SGD, rho=0.3, lr=0.1))[-1]
    assert valley(*sgd) < 1e-12 and valley(*sam) < 1e-3   # both found a minimum ...
    sharpness_sgd, sharpness_sam = 1 + sgd[0] ** 2, 1 + sam[0] ** 2
    assert sharpness_sgd > 3.5                             # ... SGD next to where it began,
    assert sharpness_sam < 0.4 * sharpness_sgd             # SAM far down the valley

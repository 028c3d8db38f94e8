"""SOAP: the authors' algorithm (stored and live pytorch_optimizer runs, a transcription of
the paper's form), its eigenbases, its fallbacks, merged axes, and its checkpoints."""
from __future__ import annotations

import copy
import json
import pathlib

import numpy as np
import pytest

import minigrad
from optim.adam import adam_update
from optim.soap import SOAP
from optim.soap_preconditioner import project, project_back

REFERENCE = np.load(pathlib.Path(__file__).resolve().parent / "reference"
                    / "soap_trajectories.npz")
CASES = json.loads(str(REFERENCE["cases"]))
CONFIG_NAMES = list(CASES["configs"])
SHAPES = [tuple(shape) for shape in CASES["shapes"]]


def _unpack_problem() -> list:
    """[(start, curvature, target, phase)] per parameter, from the file's packed rows."""
    bounds = np.cumsum([0] + [int(np.prod(shape)) for shape in SHAPES])
    rows = REFERENCE["problem"]
    return [tuple(rows[r, bounds[k]:bounds[k + 1]].reshape(shape) for r in range(4))
            for k, shape in enumerate(SHAPES)]


PROBLEM = _unpack_problem()


def _gradient(w, k: int, step: int, problem=PROBLEM):
    """∇ of ½·A∘(W − T − ½·sin(step + φ))² + 0.05·W⁴ (targets that move with the step)."""
    _, curvature, target, phase = problem[k]
    return curvature * (w - target - 0.5 * np.sin(step + phase)) + 0.2 * w ** 3


# ----------------------------------------------------------------- pytorch_optimizer, stored
@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_follows_the_stored_pytorch_optimizer_trajectories(config):
    kwargs = dict(CASES["configs"][config])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    left_out = (1,) if kwargs.get("merge_dims") else ()  # that library cannot merge a vector
    params = [minigrad.tensor(start.copy(), requires_grad=True) for start, *_ in PROBLEM]
    stepped = [p for k, p in enumerate(params) if k not in left_out]
    lr = kwargs.get("lr", 3e-3)
    second = {"lr": lr * CASES["second_group"]["lr_factor"],
              "weight_decay": CASES["second_group"]["weight_decay"]}
    opt = SOAP([{"params": stepped[:-1]}, {"params": stepped[-1:], **second}], **kwargs)
    rows = []
    for step in range(CASES["steps"] + 1):
        if step in CASES["recorded_steps"]:
            rows.append(np.concatenate([p.data.ravel() for p in params]))
        if step < CASES["steps"]:
            for k, p in enumerate(params):
                p.grad = None if k in left_out else _gradient(p.data, k, step)
            opt.step()
    expected = REFERENCE["trajectories"][CONFIG_NAMES.index(config)]
    np.testing.assert_allclose(np.array(rows), expected, rtol=0, atol=1e-12)
    assert np.abs(expected[-1] - np.concatenate([s.ravel() for s, *_ in PROBLEM])).max() > 0.05


# ----------------------------------------------------------------- pytorch_optimizer, live
@pytest.fixture
def pytorch_optimizer_soap_in_float64(monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_optimizer")
    import pytorch_optimizer.optimizer.soap as soap_module

    class Float64Torch:  # its QR input is cast to torch.float32: make that float64
        float32 = torch.float64

        def __getattr__(self, name):
            return getattr(torch, name)

    monkeypatch.setattr(soap_module, "torch", Float64Torch())
    return torch, soap_module.SOAP


@pytest.mark.parametrize("kwargs", [dict(lr=0.02, precondition_frequency=2, weight_decay=0.1),
                                    dict(lr=0.01, betas=(0.8, 0.9), shampoo_beta=0.5)])
def test_matches_live_pytorch_optimizer(pytorch_optimizer_soap_in_float64, kwargs):
    torch, TheirSOAP = pytorch_optimizer_soap_in_float64
    rng = np.random.default_rng(11)
    problem = [(rng.normal(size=s), rng.uniform(1, 3, size=s), rng.normal(size=s),
                rng.uniform(0, 6, size=s)) for s in [(3, 3), (2, 3), (4,)]]
    ours = [minigrad.tensor(start.copy(), requires_grad=True) for start, *_ in problem]
    theirs = [torch.tensor(start.copy()) for start, *_ in problem]
    opt_ours, opt_theirs = SOAP(ours, **kwargs), TheirSOAP(theirs, **kwargs)
    for step in range(15):
        for k, (a, b) in enumerate(zip(ours, theirs)):
            a.grad = _gradient(a.data, k, step, problem)
            b.grad = torch.tensor(_gradient(b.numpy(), k, step, problem))
        opt_ours.step()
        opt_theirs.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=0, atol=1e-12)


# ----------------------------------------------------------------- the paper's form
def transcribed_soap(start, gradient, calls: int, *, lr=3e-3, betas=(0.95, 0.95),
                     shampoo_beta=-1.0, eps=1e-8, weight_decay=0.01, precondition_frequency=10,
                     normalize_grads=False, correct_bias=True):
    """SOAP for one matrix or vector, written as the paper's algorithm: L, R, Q_L, Q_R
    explicit, M kept in the original coordinates and rotated every step."""
    b1, b2 = betas
    beta = b2 if shampoo_beta < 0 else shampoo_beta
    W = start.copy()
    matrix = W.ndim == 2
    M, V = np.zeros_like(W), np.zeros_like(W)
    L = R = QL = QR = None
    t = 0
    for call in range(calls):
        G = gradient(W, call)
        if call == 0:
            if matrix:
                L, R = (1 - beta) * G @ G.T, (1 - beta) * G.T @ G
                QL, QR = np.linalg.eigh(L)[1][:, ::-1], np.linalg.eigh(R)[1][:, ::-1]
            continue
        t += 1
        to_eigen = (lambda X: QL.T @ X @ QR) if matrix else (lambda X: X)
        from_eigen = (lambda X: QL @ X @ QR.T) if matrix else (lambda X: X)
        M = b1 * M + (1 - b1) * G
        V = b2 * V + (1 - b2) * to_eigen(G) ** 2
        N = from_eigen(to_eigen(M) / (np.sqrt(V) + eps))
        if normalize_grads:
            N = N / (1e-30 + np.sqrt(np.mean(N ** 2)))
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) if correct_bias else lr
        W = W - alpha * N
        W = W - lr * weight_decay * W
        if matrix:
            L = beta * L + (1 - beta) * G @ G.T
            R = beta * R + (1 - beta) * G.T @ G
            if t % precondition_frequency == 0:
                order = np.argsort(-np.diag(QL.T @ L @ QL))
                V, QL = V[order, :], np.linalg.qr(L @ QL[:, order])[0]
                order = np.argsort(-np.diag(QR.T @ R @ QR))
                V, QR = V[:, order], np.linalg.qr(R @ QR[:, order])[0]
    return W


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.01, precondition_frequency=3),
    dict(lr=0.01, normalize_grads=True, precondition_frequency=4),
    dict(lr=0.02, correct_bias=False, shampoo_beta=0.7, weight_decay=0.2),
    dict(lr=0.005, betas=(0.9, 0.999), eps=1e-6, precondition_frequency=1),
])
@pytest.mark.parametrize("k", [0, 1, 3])  # a wide matrix, a vector (Adam), a tall matrix
def test_matches_a_transcription_of_the_paper(kwargs, k):
    start = PROBLEM[k][0]
    expected = transcribed_soap(start, lambda w, step: _gradient(w, k, step), 25, **kwargs)
    w = minigrad.tensor(start.copy(), requires_grad=True)
    opt = SOAP([w], **kwargs)
    for step in range(25):
        w.grad = _gradient(w.data, k, step)
        opt.step()
    np.testing.assert_allclose(w.data, expected, rtol=0, atol=1e-12)


# ----------------------------------------------------------------- behaviours
def _random_step(opt, params, rng):
    for p in params:
        p.grad = rng.normal(size=p.shape).astype(p.data.dtype)
    opt.step()


def test_first_step_gathers_statistics_and_eigenbases_only(rng):
    w = minigrad.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    start = w.data.copy()
    opt = SOAP([w], shampoo_beta=0.9)
    g = rng.normal(size=(3, 4))
    w.grad = g
    opt.step()
    np.testing.assert_array_equal(w.data, start)
    state = opt.state[w]
    assert state["step"] == 1
    np.testing.assert_allclose(state["GG"][0], 0.1 * g @ g.T)
    np.testing.assert_allclose(state["GG"][1], 0.1 * g.T @ g)
    for matrix, basis in zip(state["GG"], state["Q"]):
        np.testing.assert_allclose(basis.T @ basis, np.eye(len(basis)), atol=1e-12)
        eigenvalues = np.diag(basis.T @ matrix @ basis)
        assert np.all(np.diff(eigenvalues) <= 1e-12)  # largest first
        np.testing.assert_allclose(basis @ np.diag(eigenvalues) @ basis.T, matrix, atol=1e-12)
    np.testing.assert_array_equal(state["exp_avg"], 0.0)


def test_vectors_get_adam_one_step_late(rng):
    grads = [rng.normal(size=5) for _ in range(8)]
    w = minigrad.tensor(np.ones(5), requires_grad=True)
    opt = SOAP([w], lr=0.1, betas=(0.9, 0.99), eps=0.0, weight_decay=0.0)
    for g in grads:
        w.grad = g
        opt.step()
    assert opt.state[w]["GG"] == [None] and opt.state[w]["Q"] == [None]
    param, m, v = np.ones(5), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads[1:], start=1):  # the first gradient only fed the statistics
        adam_update(param, g, m, v, step=t, lr=0.1, beta1=0.9, beta2=0.99, eps=0.0)
    np.testing.assert_allclose(w.data, param, rtol=1e-13)


def test_axes_above_max_precond_dim_are_left_unrotated(rng):
    w = minigrad.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    opt = SOAP([w], max_precond_dim=4)
    _random_step(opt, [w], rng)
    GG, Q = opt.state[w]["GG"], opt.state[w]["Q"]
    assert GG[0].shape == (3, 3) and GG[1] is None and Q[1] is None
    x = rng.normal(size=(3, 5))
    np.testing.assert_allclose(project(x, Q), Q[0].T @ x)  # only the rows are rotated
    np.testing.assert_allclose(project_back(project(x, Q), Q), x)


def test_without_any_preconditioner_a_matrix_gets_adam(rng):
    grads = [rng.normal(size=(2, 3)) for _ in range(6)]
    soap_w = minigrad.tensor(np.zeros((2, 3)), requires_grad=True)
    opt = SOAP([soap_w], lr=0.1, eps=0.0, weight_decay=0.0, max_precond_dim=1)
    for g in grads:
        soap_w.grad = g
        opt.step()
    param, m, v = np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3))
    for t, g in enumerate(grads[1:], start=1):
        adam_update(param, g, m, v, step=t, lr=0.1, beta1=0.95, beta2=0.95, eps=0.0)
    np.testing.assert_allclose(soap_w.data, param, rtol=1e-13)


def test_eigenbases_change_only_every_precondition_frequency_updates(rng):
    w = minigrad.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    opt = SOAP([w], precondition_frequency=3)
    _random_step(opt, [w], rng)  # step 1: the first bases
    bases = [copy.deepcopy(opt.state[w]["Q"])]
    for _ in range(6):  # updates t = 1 … 6: refreshed after t = 3 and t = 6
        _random_step(opt, [w], rng)
        bases.append(copy.deepcopy(opt.state[w]["Q"]))
    changed = [not np.array_equal(a[0], b[0]) for a, b in zip(bases, bases[1:])]
    assert changed == [False, False, True, False, False, True]
    for q in opt.state[w]["Q"]:
        np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)


def test_power_iteration_finds_the_eigenvectors_of_a_fixed_statistic(rng):
    g = rng.normal(size=(4, 3)) * [[3.0], [2.0], [1.0], [0.5]]
    w = minigrad.tensor(np.zeros((4, 3)), requires_grad=True)
    opt = SOAP([w], precondition_frequency=1, shampoo_beta=0.0)  # L = G·Gᵀ, refreshed each step
    L = g @ g.T
    w.grad = g
    opt.step()
    QL = opt.state[w]["Q"][0]
    opt.state[w]["Q"][0] = np.linalg.qr(QL + 0.3 * rng.normal(size=(4, 4)))[0]  # spoil it
    for _ in range(80):
        w.grad = g
        opt.step()
    QL = opt.state[w]["Q"][0]
    rotated = QL.T @ L @ QL
    off_diagonal = rotated - np.diag(np.diag(rotated))
    assert np.abs(off_diagonal).max() < 1e-6 * np.abs(L).max()
    assert np.all(np.diff(np.diag(rotated)) <= 1e-9)  # still largest first


def test_rotating_the_problem_rotates_the_trajectory(rng):
    """Unlike Adam, SOAP does not depend on the basis the weight matrix is written in."""
    U = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    V = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    A, B = rng.normal(size=(3, 3)), rng.normal(size=(4, 4))
    Ml, Mr, T = A @ A.T + np.eye(3), B @ B.T + np.eye(4), rng.normal(size=(3, 4))
    S = rng.normal(size=(3, 4))  # the target moves: step 2 does not repeat step 1's gradient

    def run(opt_class, rotate: bool, **kwargs):
        u, v = (U, V) if rotate else (np.eye(3), np.eye(4))
        w = minigrad.tensor(np.zeros((3, 4)), requires_grad=True)
        opt = opt_class([w], lr=0.05, **kwargs)
        for step in range(20):  # f(W) = ½·tr((W − Tₜ)ᵀ·Ml·(W − Tₜ)·Mr), in the rotated basis
            target = u @ (T + 0.5 * np.sin(step) * S) @ v.T
            w.grad = (u @ Ml @ u.T) @ (w.data - target) @ (v @ Mr @ v.T)
            opt.step()
        return u.T @ w.data @ v  # back in the original basis

    plain = run(SOAP, False, precondition_frequency=3)
    np.testing.assert_allclose(run(SOAP, True, precondition_frequency=3), plain, atol=1e-10)
    from optim.adam import Adam
    assert np.abs(run(Adam, True) - run(Adam, False)).max() > 1e-3


def test_merged_axes_are_preconditioned_like_the_merged_matrix(rng):
    grads = [rng.normal(size=(2, 2, 3)) for _ in range(7)]
    merged = minigrad.tensor(np.ones((2, 2, 3)), requires_grad=True)
    matrix = minigrad.tensor(np.ones((4, 3)), requires_grad=True)
    opt_merged = SOAP([merged], merge_dims=True, max_precond_dim=4, precondition_frequency=2)
    opt_matrix = SOAP([matrix], max_precond_dim=4, precondition_frequency=2)
    for g in grads:
        merged.grad, matrix.grad = g, g.reshape(4, 3)
        opt_merged.step()
        opt_matrix.step()
    assert [a.shape for a in opt_merged.state[merged]["GG"]] == [(4, 4), (3, 3)]
    np.testing.assert_allclose(merged.data.reshape(4, 3), matrix.data, rtol=0, atol=1e-14)


def test_channels_last_merges_the_axes_of_channels_first(rng):
    grads = [rng.normal(size=(2, 3, 1, 2)) for _ in range(6)]  # (N, H, W, C)
    last = minigrad.tensor(np.zeros((2, 3, 1, 2)), requires_grad=True)
    first = minigrad.tensor(np.zeros((2, 2, 3, 1)), requires_grad=True)  # (N, C, H, W)
    common = dict(merge_dims=True, max_precond_dim=4, precondition_frequency=2)
    opt_last = SOAP([last], data_format="channels_last", **common)
    opt_first = SOAP([first], **common)
    for g in grads:
        last.grad, first.grad = g, g.transpose(0, 3, 1, 2)
        opt_last.step()
        opt_first.step()
    np.testing.assert_allclose(last.data.transpose(0, 3, 1, 2), first.data, rtol=0, atol=1e-14)


def test_float32_parameters_keep_float32_state_and_grad_is_untouched(rng):
    w = minigrad.tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    b = minigrad.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    opt = SOAP([w, b], precondition_frequency=2, precondition_1d=True)
    for _ in range(4):
        for p in (w, b):
            p.grad = rng.normal(size=p.shape).astype(np.float32)
        grads = [w.grad.copy(), b.grad.copy()]
        opt.step()
        np.testing.assert_array_equal(w.grad, grads[0])
        np.testing.assert_array_equal(b.grad, grads[1])
    for p in (w, b):
        state = opt.state[p]
        assert p.data.dtype == np.float32
        for array in [state["exp_avg"], state["exp_avg_sq"], *state["GG"], *state["Q"]]:
            assert array.dtype == np.float32


def test_resume_is_bit_exact_across_a_basis_refresh(rng):
    shapes = [(3, 4), (4,), (2, 2, 3)]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(12)]

    def run(opt, params, steps):
        for step_grads in steps:
            for p, g in zip(params, step_grads):
                p.grad = g
            opt.step()

    params = [minigrad.tensor(np.ones(s), requires_grad=True) for s in shapes]
    opt = SOAP(params, lr=0.01, precondition_frequency=4)
    run(opt, params, grads[:5])
    saved, saved_params = opt.state_dict(), [p.data.copy() for p in params]
    assert sorted(saved["state"][0]) == ["GG", "Q", "exp_avg", "exp_avg_sq", "step"]
    run(opt, params, grads[5:])  # refreshes after update 4 and 8 (steps 5 and 9)
    resumed = [minigrad.tensor(a, requires_grad=True) for a in saved_params]
    opt2 = SOAP(resumed, lr=0.5)  # the checkpoint's settings win
    opt2.load_state_dict(saved)
    run(opt2, resumed, grads[5:])
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.data, b.data)
    for p, q in zip(params, resumed):
        for key in ("GG", "Q"):
            for x, y in zip(opt.state[p][key], opt2.state[q][key]):
                assert (x is None and y is None) or np.array_equal(x, y)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (dict(betas=(1.0, 0.95)), "Invalid beta parameter at index 0: 1.0"),
    (dict(shampoo_beta=1.0), r"Invalid shampoo_beta value \(or -1, meaning beta2\): 1.0"),
    (dict(shampoo_beta=-0.5), "Invalid shampoo_beta value"),
    (dict(eps=-1e-8), "Invalid epsilon value"),
    (dict(weight_decay=-0.01), "Invalid weight_decay value"),
    (dict(precondition_frequency=0),
     r"Invalid precondition_frequency: 0 \(expected an integer >= 1\)"),
    (dict(max_precond_dim=2.5), "Invalid max_precond_dim: 2.5"),
    (dict(data_format="NHWC"), "Invalid data_format: 'NHWC'"),
])
def test_refuses_bad_hyper_parameters_and_changes_nothing(kwargs, message, rng):
    w = minigrad.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        SOAP([w], **kwargs)
    opt = SOAP([w])
    for _ in range(2):
        _random_step(opt, [w], rng)
    before, weights = copy.deepcopy(opt.state_dict()), w.data.copy()
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": [minigrad.tensor(np.ones(3), requires_grad=True)],
                             **kwargs})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])
    np.testing.assert_array_equal(w.data, weights)

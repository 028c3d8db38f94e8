"""SparseAdam and the row-sparse gradients of ``nn.Embedding(sparse=True)``.

Against PyTorch (a stored trajectory, and live when torch is installed), against an
independent scalar transcription, the behaviours of sparse data (rows never seen,
rows absent from a step), the gradient's row bookkeeping (accumulation, zero_grad,
padding, repeated ids, arithmetic), validation, resume, and two small problems.
"""
from __future__ import annotations

import copy
import math
import pathlib
import pickle
import re

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_
from minigrad.sparse import RowSparseGrad, grad_rows
from optim.adam import Adam
from optim.sparse_adam import SparseAdam, sparse_adam_update

REFERENCE = pathlib.Path(__file__).parent / "reference" / "sparse_adam_trajectories.npz"
# The problem of tests/reference/make_sparse_adam_references.py.
STEPS, EMPTY_STEPS, RECORDED_STEPS = 20, (11,), (1, 2, 5, 10, 11, 12, 20)
CASES = {"default": dict(lr=0.05),
         "maximize": dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6, maximize=True)}


def reference_targets(step, call):
    j = np.arange(8)[:, None]
    k = np.arange(3)[None, :]
    T = np.sin(0.3 * step + 0.7 * j + 1.3 * k + 0.5 * call)
    c = (np.arange(8) % 4 != 1).astype(np.float64)
    return T, c


def run_reference_problem(weight0, ids, kwargs):
    emb = nn.Embedding(12, 3, padding_idx=0, sparse=True, _weight=weight0)
    opt = SparseAdam(emb.parameters(), **kwargs)
    sign = -1.0 if kwargs.get("maximize", False) else 1.0
    recorded = []
    for step in range(1, STEPS + 1):
        opt.zero_grad(set_to_none=False)
        if step not in EMPTY_STEPS:
            for call in range(2):
                T, c = reference_targets(step, call)
                out = emb(minigrad.tensor(ids[step - 1, call].astype(np.int64)))
                loss = ((out - T) ** 2 * c[:, None]).sum() + 0.1 * (out ** 3).sum()
                (loss * sign).backward()
        opt.step()
        if step in RECORDED_STEPS:
            recorded.append(emb.weight.data.copy())
    return np.stack(recorded), opt.state[emb.weight]


def embedding(weight, padding_idx=None, sparse=True):
    return nn.Embedding(*np.shape(weight), padding_idx=padding_idx, sparse=sparse,
                        _weight=np.asarray(weight, dtype=np.float64))


def lookup_loss(emb, ids, rng_seed=0):
    """A nonlinear loss of the looked-up rows (its gradient differs row by row)."""
    out = emb(minigrad.tensor(np.asarray(ids, dtype=np.int64)))
    T = np.random.default_rng(rng_seed).normal(size=out.shape)
    return ((out - T) ** 2).sum() + (out.tanh()).sum()


# ================================================================= against PyTorch
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_stored_pytorch_trajectory(case):
    data = np.load(REFERENCE)
    weights, state = run_reference_problem(data["weight0"], data["ids"], CASES[case])
    np.testing.assert_allclose(weights, data[f"{case}/weights"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(state["exp_avg"], data[f"{case}/exp_avg"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(state["exp_avg_sq"], data[f"{case}/exp_avg_sq"], rtol=0,
                               atol=1e-12)
    assert state["step"] == int(data[f"{case}/step"]) == STEPS
    # rows 10 and 11 are never looked up, row 0 is the padding row: untouched
    for row in (0, 10, 11):
        np.testing.assert_array_equal(weights[-1][row], data["weight0"][row])


def test_matches_live_pytorch_with_two_groups_and_intermittent_parameter():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    wa, wb = rng.normal(size=(16, 4)), rng.normal(size=(9, 2))
    ours = [embedding(wa, padding_idx=3), embedding(wb)]
    theirs = [torch.nn.Embedding(16, 4, padding_idx=3, sparse=True, dtype=torch.float64),
              torch.nn.Embedding(9, 2, sparse=True, dtype=torch.float64)]
    with torch.no_grad():
        theirs[0].weight.copy_(torch.from_numpy(wa))
        theirs[1].weight.copy_(torch.from_numpy(wb))

    def groups(tables):
        return [{"params": [tables[0].weight]},
                {"params": [tables[1].weight], "lr": 0.02, "betas": (0.5, 0.9)}]

    opt = SparseAdam(groups(ours), lr=0.07, eps=1e-7)
    topt = torch.optim.SparseAdam(groups(theirs), lr=0.07, eps=1e-7)
    for step in range(20):
        ids_a = rng.integers(0, 12, size=(3, 5))  # rows 12..15 never seen
        ids_b = rng.integers(0, 9, size=6)
        T = rng.normal(size=(3, 5, 4))
        opt.zero_grad()
        topt.zero_grad()
        for tables, lib in ((ours, minigrad), (theirs, torch)):
            ta = lib.tensor(T) if lib is minigrad else torch.from_numpy(T)
            out = tables[0](minigrad.tensor(ids_a) if lib is minigrad else torch.from_numpy(ids_a))
            loss = ((out - ta) ** 2).sum() + out.tanh().sum()
            if step % 3 != 0:  # the second table has a gradient only on some steps
                ib = minigrad.tensor(ids_b) if lib is minigrad else torch.from_numpy(ids_b)
                loss = loss + (tables[1](ib) ** 3).sum()
            loss.backward()
        opt.step()
        topt.step()
        for mine, reference in zip(ours, theirs):
            np.testing.assert_allclose(mine.weight.data, reference.weight.detach().numpy(),
                                       rtol=0, atol=1e-12)
            if reference.weight in topt.state:
                state, tstate = opt.state[mine.weight], topt.state[reference.weight]
                assert state["step"] == tstate["step"]
                np.testing.assert_allclose(state["exp_avg_sq"], tstate["exp_avg_sq"].numpy(),
                                           rtol=0, atol=1e-12)
    assert opt.state[ours[0].weight]["step"] == 20
    assert opt.state[ours[1].weight]["step"] == 13


def test_pytorch_error_message_and_checks_agree_with_installed_torch():
    torch = pytest.importorskip("torch")
    w = torch.zeros(3, requires_grad=True)
    w.grad = torch.ones(3)
    with pytest.raises(RuntimeError) as theirs:
        torch.optim.SparseAdam([w]).step()
    p = minigrad.tensor(np.zeros(3), requires_grad=True)
    p.grad = np.ones(3)
    with pytest.raises(RuntimeError) as ours:
        SparseAdam([p]).step()
    assert str(ours.value) == str(theirs.value)
    for kwargs in ({"lr": 0.0}, {"eps": 0.0}, {"betas": (1.0, 0.5)}, {"betas": (0.5, -0.1)}):
        with pytest.raises(ValueError) as theirs:
            torch.optim.SparseAdam([w], **kwargs)
        with pytest.raises(ValueError) as ours:
            SparseAdam([p], **kwargs)
        assert str(ours.value).startswith(str(theirs.value))


# ================================================================= independent transcription
def test_matches_scalar_transcription_of_bias_corrected_adam_on_present_rows():
    """Loops over float64 scalars with the textbook m̂, v̂; ε/√(1−β2^t) is PyTorch's ε."""
    rng = np.random.default_rng(3)
    n, d = 7, 2
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-3
    w0 = rng.normal(size=(n, d))
    emb = embedding(w0, padding_idx=6)
    opt = SparseAdam(emb.parameters(), lr=lr, betas=(b1, b2), eps=eps)
    w = [[float(x) for x in row] for row in w0]
    m = [[0.0] * d for _ in range(n)]
    v = [[0.0] * d for _ in range(n)]
    t = 0
    for _ in range(12):
        ids = [int(i) for i in rng.integers(0, n, size=5)]
        a = rng.normal(size=(5, d))
        # loss = Σ_j a_j·w[id_j] + ½‖w[id_j]‖²  →  ∂/∂w_r = Σ_{j: id_j = r} (a_j + w_r)
        opt.zero_grad()
        out = emb(minigrad.tensor(np.array(ids)))
        ((out * a).sum() + 0.5 * (out * out).sum()).backward()
        opt.step()
        t += 1
        for r in sorted(set(ids) - {6}):
            for k in range(d):
                g = sum(a[j][k] + w[r][k] for j in range(5) if ids[j] == r)
                m[r][k] = b1 * m[r][k] + (1 - b1) * g
                v[r][k] = b2 * v[r][k] + (1 - b2) * g * g
                m_hat = m[r][k] / (1 - b1 ** t)
                v_hat = v[r][k] / (1 - b2 ** t)
                w[r][k] -= lr * m_hat / (math.sqrt(v_hat) + eps / math.sqrt(1 - b2 ** t))
    np.testing.assert_allclose(emb.weight.data, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.state[emb.weight]["exp_avg"], m, rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.state[emb.weight]["exp_avg_sq"], v, rtol=0, atol=1e-12)


def test_update_function_touches_only_the_given_rows():
    rng = np.random.default_rng(1)
    param, grad = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    m, v = rng.normal(size=(5, 3)), rng.random((5, 3))
    before = [a.copy() for a in (param, grad, m, v)]
    grad.flags.writeable = False
    sparse_adam_update(param, grad, m, v, np.array([1, 4]), step=3, lr=0.1, beta1=0.9,
                       beta2=0.99, eps=1e-8)
    for a, b in zip((param, grad, m, v), before):
        np.testing.assert_array_equal(a[[0, 2, 3]], b[[0, 2, 3]])
        if a is not grad:
            assert not np.any(a[[1, 4]] == b[[1, 4]])
    np.testing.assert_array_equal(grad, before[1])


# ================================================================= sparse-data behaviour
def test_rows_never_seen_keep_their_values_exactly_and_zero_moments():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(20, 3))
    emb = embedding(w0)
    opt = SparseAdam(emb.parameters(), lr=0.1)
    for step in range(15):
        opt.zero_grad()
        lookup_loss(emb, rng.integers(0, 12, size=8), rng_seed=step).backward()
        opt.step()
    state = opt.state[emb.weight]
    seen = np.unique(np.nonzero(state["exp_avg_sq"])[0])
    assert seen.max() < 12 and len(seen) > 6
    np.testing.assert_array_equal(emb.weight.data[12:], w0[12:])
    assert not state["exp_avg"][12:].any() and not state["exp_avg_sq"][12:].any()


def test_row_absent_from_a_step_keeps_value_and_moments_while_step_counts():
    emb = embedding(np.random.default_rng(2).normal(size=(6, 2)))
    opt = SparseAdam(emb.parameters(), lr=0.1)
    lookup_loss(emb, [1, 2]).backward()
    opt.step()
    state = opt.state[emb.weight]
    row1 = [emb.weight.data[1].copy(), state["exp_avg"][1].copy(), state["exp_avg_sq"][1].copy()]
    opt.zero_grad()
    lookup_loss(emb, [2, 3]).backward()
    opt.step()
    for now, then in zip((emb.weight.data[1], state["exp_avg"][1], state["exp_avg_sq"][1]), row1):
        np.testing.assert_array_equal(now, then)
    assert state["step"] == 2  # one counter per parameter, as in PyTorch


def test_looked_up_row_with_zero_gradient_still_decays_its_moments_and_moves():
    emb = embedding(np.ones((3, 2)))
    opt = SparseAdam(emb.parameters(), lr=0.1)
    (emb(minigrad.tensor([1])) * 2.0).sum().backward()
    opt.step()
    m1 = opt.state[emb.weight]["exp_avg"][1].copy()
    w1 = emb.weight.data[1].copy()
    opt.zero_grad()
    (emb(minigrad.tensor([1])) * 0.0).sum().backward()  # looked up, gradient 0
    assert emb.weight.grad.rows.tolist() == [1] and not emb.weight.grad.any()
    opt.step()
    np.testing.assert_allclose(opt.state[emb.weight]["exp_avg"][1], 0.9 * m1)
    assert np.all(emb.weight.data[1] < w1)


def test_gradient_without_rows_counts_the_step_and_moves_nothing():
    emb = embedding(np.arange(8.0).reshape(4, 2))
    opt = SparseAdam(emb.parameters())
    lookup_loss(emb, [0, 1]).backward()
    opt.step()
    snapshot = (emb.weight.data.copy(), copy.deepcopy(opt.state[emb.weight]))
    opt.zero_grad(set_to_none=False)  # like PyTorch: an empty sparse gradient
    assert emb.weight.grad.rows.size == 0
    opt.step()
    np.testing.assert_array_equal(emb.weight.data, snapshot[0])
    state = opt.state[emb.weight]
    assert state["step"] == 2
    np.testing.assert_array_equal(state["exp_avg"], snapshot[1]["exp_avg"])


def test_dense_gradient_raises_pytorch_error_and_changes_nothing():
    emb = embedding(np.ones((4, 2)))
    linear = nn.Linear(2, 1)
    opt = SparseAdam(list(emb.parameters()) + list(linear.parameters()))
    linear(emb(minigrad.tensor([1, 2]))).sum().backward()
    before = [p.data.copy() for p in (emb.weight, linear.weight, linear.bias)]
    with pytest.raises(RuntimeError, match=re.escape(
            "SparseAdam does not support dense gradients, please consider Adam instead")):
        opt.step()
    for p, b in zip((emb.weight, linear.weight, linear.bias), before):
        np.testing.assert_array_equal(p.data, b)
    assert not opt.state


def test_dense_table_gradient_raises():
    emb = embedding(np.ones((4, 2)), sparse=False)
    lookup_loss(emb, [1]).backward()
    assert grad_rows(emb.weight.grad) is None
    with pytest.raises(RuntimeError, match="dense gradients"):
        SparseAdam(emb.parameters()).step()


def test_maximize_equals_minimizing_the_negated_loss():
    tables = [embedding(np.random.default_rng(4).normal(size=(5, 3))) for _ in range(2)]
    opts = [SparseAdam(tables[0].parameters(), lr=0.05, maximize=True),
            SparseAdam(tables[1].parameters(), lr=0.05)]
    for step in range(5):
        for emb, opt, sign in zip(tables, opts, (-1.0, 1.0)):
            opt.zero_grad()
            (lookup_loss(emb, [0, 2, 2], rng_seed=step) * sign).backward()
            opt.step()
    np.testing.assert_array_equal(tables[0].weight.data, tables[1].weight.data)


def test_float32_table_stays_float32_and_grad_is_not_written():
    emb = nn.Embedding(6, 3, sparse=True)
    opt = SparseAdam(emb.parameters(), lr=0.1)
    emb(minigrad.tensor([1, 4, 4])).sum().backward()
    grad = emb.weight.grad
    saved = grad.copy()
    opt.step()
    assert emb.weight.data.dtype == np.float32
    assert opt.state[emb.weight]["exp_avg"].dtype == np.float32
    assert emb.weight.grad is grad
    np.testing.assert_array_equal(grad, saved)
    assert grad.rows.tolist() == [1, 4] and grad.flags.writeable


# ================================================================= checkpoints, validation
def test_resume_from_state_dict_is_bit_exact():
    rng = np.random.default_rng(8)
    w0 = rng.normal(size=(10, 3))
    batches = [rng.integers(0, 10, size=6) for _ in range(7)]

    def run(emb, opt, ids_list):
        for i, ids in enumerate(ids_list):
            opt.zero_grad()
            lookup_loss(emb, ids, rng_seed=i).backward()
            opt.step()

    emb = embedding(w0)
    opt = SparseAdam(emb.parameters(), lr=0.03, betas=(0.8, 0.9))
    run(emb, opt, batches[:4])
    saved, saved_weight = opt.state_dict(), emb.weight.data.copy()
    run(emb, opt, batches[4:])

    fresh = embedding(saved_weight)
    resumed = SparseAdam(fresh.parameters())
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["betas"] == (0.8, 0.9)
    run(fresh, resumed, batches[4:])
    np.testing.assert_array_equal(fresh.weight.data, emb.weight.data)
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_array_equal(resumed.state[fresh.weight][key], opt.state[emb.weight][key])
    assert resumed.state[fresh.weight]["step"] == 7


INVALID = [
    ({"lr": 0.0}, "Invalid learning rate: 0.0"),
    ({"lr": -1}, "Invalid learning rate: -1"),
    ({"eps": 0.0}, "Invalid epsilon value: 0.0"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ({"betas": (0.9,)}, "Invalid betas"),
]


@pytest.mark.parametrize("kwargs, message", INVALID, ids=[m for _, m in INVALID])
def test_invalid_hyper_parameters_raise_and_change_nothing(kwargs, message):
    emb = embedding(np.ones((3, 2)))
    opt = SparseAdam(emb.parameters(), lr=0.1)
    lookup_loss(emb, [1]).backward()
    opt.step()
    other = embedding(np.ones((2, 2)))
    groups, state = opt.state_dict()["param_groups"], copy.deepcopy(opt.state[emb.weight])
    with pytest.raises(ValueError, match=re.escape(message)):
        SparseAdam(other.parameters(), **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        opt.add_param_group({"params": other.parameters(), **kwargs})
    assert opt.state_dict()["param_groups"] == groups and len(opt.param_groups) == 1
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_array_equal(opt.state[emb.weight][key], state[key])
    assert opt.state[emb.weight]["step"] == 1


def test_defaults_and_state_layout_follow_pytorch():
    emb = embedding(np.ones((3, 2)))
    opt = SparseAdam(emb.parameters())
    assert {k: v for k, v in opt.param_groups[0].items() if k != "params"} == {
        "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "maximize": False}
    lookup_loss(emb, [2]).backward()
    opt.step()
    assert set(opt.state[emb.weight]) == {"step", "exp_avg", "exp_avg_sq"}


# ================================================================= problems
def test_convex_quadratic_in_the_rows_decreases_100x():
    """f = ½ Σ a_r ‖w_r‖², a_r in [1, 10]: all ten rows looked up at every step."""
    a = np.linspace(1.0, 10.0, 10)
    emb = embedding(np.ones((10, 1)))
    opt = SparseAdam(emb.parameters(), lr=0.05)
    ids = minigrad.tensor(np.arange(10))

    def f():
        return 0.5 * (emb(ids)[:, 0] ** 2 * a).sum()

    start = f().item()
    for _ in range(200):
        opt.zero_grad()
        f().backward()
        opt.step()
    assert f().item() < start / 100


def test_quadratic_with_random_subsets_of_rows_decreases():
    rng = np.random.default_rng(6)
    a = rng.uniform(1.0, 10.0, size=(30, 1))
    emb = embedding(rng.normal(size=(30, 4)))
    opt = SparseAdam(emb.parameters(), lr=0.05)

    def f():
        return 0.5 * (emb.weight.data ** 2 * a).sum()

    start = f()
    for _ in range(150):
        ids = rng.integers(0, 30, size=8)
        opt.zero_grad()
        out = emb(minigrad.tensor(ids))
        (0.5 * (out ** 2 * a[ids]).sum()).backward()
        opt.step()
    assert f() < start / 20


def test_digits_classifier_with_sparse_embedding_first_layer_trains():
    """Each pixel quantised to its 17 levels is an id (pixel·17 + level); an image is
    the sum of its 64 rows (an embedding bag), then tanh and a linear head.
    SparseAdam trains the table, Adam the head."""
    from minigrad.data import load_digits

    X_train, y_train, X_test, y_test = load_digits(normalize=False)
    ids_train = np.arange(64) * 17 + X_train.astype(np.int64)
    ids_test = np.arange(64) * 17 + X_test.astype(np.int64)
    minigrad.manual_seed(0)
    table = nn.Embedding(64 * 17, 16, sparse=True)
    head = nn.Linear(16, 10)
    with minigrad.no_grad():
        table.weight.data *= 0.1
    sparse_opt = SparseAdam(table.parameters(), lr=0.02)
    dense_opt = Adam(head.parameters(), lr=0.02)

    def logits(ids):
        return head(table(minigrad.tensor(ids)).sum(axis=1).tanh())

    rng = np.random.default_rng(0)
    for _ in range(200):
        batch = rng.integers(0, len(ids_train), size=64)
        loss = F.cross_entropy(logits(ids_train[batch]), minigrad.tensor(y_train[batch]))
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        loss.backward()
        assert table.weight.grad.rows.size <= 64 * 17
        sparse_opt.step()
        dense_opt.step()
    with minigrad.no_grad():
        accuracy = float((logits(ids_test).data.argmax(axis=1) == y_test).mean())
    assert accuracy >= 0.85


# ================================================================= the sparse Embedding
def test_sparse_embedding_gradient_equals_dense_one_and_lists_rows():
    rng = np.random.default_rng(9)
    w0 = rng.normal(size=(8, 3))
    ids = np.array([[5, 1, 5], [2, 0, 5]])
    grads = []
    for sparse in (False, True):
        emb = embedding(w0, padding_idx=0, sparse=sparse)
        out = emb(minigrad.tensor(ids))
        np.testing.assert_array_equal(out.data, w0[ids])
        lookup_loss(emb, ids).backward()
        grads.append(emb.weight.grad)
    dense, sparse = grads
    assert type(dense) is np.ndarray and isinstance(sparse, RowSparseGrad)
    np.testing.assert_array_equal(sparse, dense)
    assert sparse.rows.tolist() == [1, 2, 5] and sparse.rows.dtype == np.int64
    assert sparse.shape == (8, 3) and sparse.dtype == np.float64


def test_sparse_embedding_sums_repeated_ids_and_excludes_padding():
    emb = embedding(np.zeros((5, 2)), padding_idx=-1)  # padding row 4
    out = emb(minigrad.tensor([3, 1, 3, 4, 3]))
    (out * minigrad.tensor([[1.0], [2.0], [10.0], [7.0], [100.0]])).sum().backward()
    grad = emb.weight.grad
    assert grad.rows.tolist() == [1, 3]
    np.testing.assert_array_equal(grad, [[0, 0], [2, 2], [0, 0], [111, 111], [0, 0]])


def test_sparse_gradients_accumulate_over_two_backward_calls_as_union_of_rows():
    emb = embedding(np.ones((6, 2)), padding_idx=0)
    emb(minigrad.tensor([1, 3, 0])).sum().backward()
    first = emb.weight.grad
    emb(minigrad.tensor([3, 4, 4])).sum().backward()
    assert emb.weight.grad is first  # accumulated in place
    assert first.rows.tolist() == [1, 3, 4]
    np.testing.assert_array_equal(first[:, 0], [0, 1, 0, 2, 2, 0])


def test_two_lookups_in_one_graph_give_the_union_of_rows():
    emb = embedding(np.ones((6, 2)))
    (emb(minigrad.tensor([1])).sum() * 3 + emb(minigrad.tensor([[5, 1]])).sum()).backward()
    assert emb.weight.grad.rows.tolist() == [1, 5]
    np.testing.assert_array_equal(emb.weight.grad[:, 1], [0, 4, 0, 0, 0, 1])


@pytest.mark.parametrize("owner", ["module", "optimizer"])
def test_zero_grad_forgets_rows(owner):
    emb = embedding(np.ones((6, 2)))
    opt = SparseAdam(emb.parameters())
    zero_grad = emb.zero_grad if owner == "module" else opt.zero_grad
    emb(minigrad.tensor([1, 2])).sum().backward()
    zero_grad(set_to_none=False)
    grad = emb.weight.grad
    assert grad.rows.size == 0 and not grad.any()
    emb(minigrad.tensor([4])).sum().backward()
    assert emb.weight.grad is grad and grad.rows.tolist() == [4]
    zero_grad()
    assert emb.weight.grad is None
    emb(minigrad.tensor([5])).sum().backward()
    assert emb.weight.grad.rows.tolist() == [5]


def test_dense_use_of_the_same_table_makes_its_gradient_dense():
    emb = embedding(np.ones((4, 2)))
    (emb(minigrad.tensor([1])).sum() + (emb.weight * 2).sum()).backward()  # tied weights
    assert grad_rows(emb.weight.grad) is None
    emb.zero_grad()
    emb(minigrad.tensor([1])).sum().backward()
    (emb.weight * 2).sum().backward()  # a dense gradient added into a row-sparse one
    assert grad_rows(emb.weight.grad) is None
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [2, 3, 2, 2])
    with pytest.raises(RuntimeError, match="dense gradients"):
        SparseAdam(emb.parameters()).step()


def test_row_sparse_arithmetic_keeps_rows_only_where_zero_rows_stay_zero():
    g = RowSparseGrad(np.array([[0.0, 0.0], [1.0, -2.0], [0.0, 0.0], [3.0, 0.5]]), rows=[3, 1])
    h = RowSparseGrad(np.zeros((4, 2)), rows=[2])
    assert g.rows.tolist() == [1, 3]
    for kept in (-g, g * 2.0, 0.5 * g, g / 4.0, g.copy(), g.astype(np.float32),
                 copy.deepcopy(g), pickle.loads(pickle.dumps(g)), np.clip(g, -1, 1)):
        assert isinstance(kept, RowSparseGrad) and kept.rows.tolist() == [1, 3]
    assert (g + h).rows.tolist() == [1, 2, 3] and (g - h).rows.tolist() == [1, 2, 3]
    assert (g * h).rows.tolist() == []
    for plain in (g + np.ones((4, 2)), g + 1.0, np.exp(g), g ** 2, np.abs(g), g.reshape(8)):
        assert grad_rows(plain) is None
    assert type(g + np.ones((4, 2))) is np.ndarray and type(np.exp(g)) is np.ndarray
    assert type(g.sum()) is not RowSparseGrad and grad_rows(g[1]) is None
    # in place: scaling keeps the rows, a dense addition drops them
    k = g.copy()
    k *= 3.0
    assert k.rows.tolist() == [1, 3]
    k += np.ones((4, 2))
    assert isinstance(k, RowSparseGrad) and grad_rows(k) is None
    assert RowSparseGrad.from_dense(np.array([[0, 0], [0, 1.0], [0, 0]])).rows.tolist() == [1]
    with pytest.raises(IndexError):
        RowSparseGrad(np.zeros((2, 2)), rows=[2])


def test_gradient_clipping_keeps_rows():
    emb = embedding(np.ones((5, 2)))
    lookup_loss(emb, [1, 3]).backward()
    grad = emb.weight.grad
    clip_grad_norm_(emb.parameters(), max_norm=1e-3)
    clip_grad_value_(emb.parameters(), clip_value=1e-4)
    assert emb.weight.grad is grad and grad.rows.tolist() == [1, 3]
    assert np.abs(grad).max() <= 1e-4


def test_sparse_embedding_second_derivative_matches_dense():
    w0 = np.random.default_rng(1).normal(size=(5, 2))
    results = []
    for sparse in (False, True):
        emb = embedding(w0, padding_idx=2, sparse=sparse)
        out = emb(minigrad.tensor([1, 2, 1, 4]))
        (g,) = minigrad.grad((out ** 3).sum(), emb.weight, create_graph=True)
        (hv,) = minigrad.grad((g * g).sum(), emb.weight)
        results.append((g.data, hv.data))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-13)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-13)
    assert results[1][0].rows.tolist() == [1, 4]


def test_sparse_embedding_module_options():
    emb = nn.Embedding(10, 3, padding_idx=0, sparse=True)
    assert repr(emb) == "Embedding(10, 3, padding_idx=0, sparse=True)"
    assert repr(nn.Embedding(10, 3)) == "Embedding(10, 3)" and not nn.Embedding(10, 3).sparse
    assert not emb.weight.data[0].any()
    frozen = nn.Embedding.from_pretrained(np.eye(3), sparse=True)
    assert frozen.sparse and not frozen.weight.requires_grad
    assert not frozen(minigrad.tensor([1])).requires_grad
    trainable = nn.Embedding.from_pretrained(np.eye(3), freeze=False, sparse=True)
    trainable(minigrad.tensor([2, 2])).sum().backward()
    assert trainable.weight.grad.rows.tolist() == [2]
    with minigrad.no_grad():
        assert not emb(minigrad.tensor([1])).requires_grad
    with pytest.raises(IndexError):
        emb(minigrad.tensor([10]))
    out = F.embedding(minigrad.tensor([1]), emb.weight, sparse=True)
    np.testing.assert_array_equal(out.data, emb.weight.data[[1]])

"""The graph under misuse: in-place changes through views and detach(), in-place
operators, and the graph freed by backward (PyTorch's ``retain_graph``)."""
import gc
import tracemalloc

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F

STALE = "modified by an in-place operation"
FREED = "backward through the graph a second time.*retain_graph=True"


def leaf(values):
    return minigrad.tensor(values, requires_grad=True, dtype=np.float64)


# ============================================================ views share the version counter
def _graph_saving_b():
    """x, b = x * 1 and z = sum(b * b): z's backward needs b's values."""
    x = leaf([1.0, 2.0, 3.0, 4.0])
    b = x * 1
    return x, b, (b * b).sum()


@pytest.mark.parametrize("view", [
    lambda b: b[1:3],
    lambda b: b.reshape(2, 2),
    lambda b: b.view(4, 1),
    lambda b: b.reshape(2, 2).T,
    lambda b: b.reshape(2, 2).transpose(1, 0)[0],
    lambda b: b.unsqueeze(0).squeeze(0),
    lambda b: b.flatten(),
    lambda b: b[::2],
])
def test_in_place_change_through_a_view_makes_backward_raise(view):
    _, b, z = _graph_saving_b()
    v = view(b)
    with minigrad.no_grad():
        v.mul_(10)
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


def test_the_issue_example_raises_instead_of_returning_a_wrong_gradient():
    x, b, z = _graph_saving_b()
    v = b[1:3]
    with minigrad.no_grad():
        v.mul_(10)  # before the fix: x.grad = [2, 40, 60, 8], silently
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()
    assert x.grad is None


def test_item_assignment_on_a_reshaped_view_makes_backward_raise():
    _, b, z = _graph_saving_b()
    v = b.reshape(2, 2)
    with minigrad.no_grad():
        v[0, 0] = 100
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


def test_in_place_change_of_the_base_invalidates_a_graph_that_saved_a_view():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    b = x * 1
    v = b[1:3]
    z = (v * v).sum()
    with minigrad.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


def test_a_view_made_under_no_grad_still_shares_the_counter():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    z = (x * x).sum()
    with minigrad.no_grad():
        x[1:3].zero_()
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


def test_views_and_base_report_the_same_version():
    b = minigrad.tensor(np.arange(6.0))
    v = b.reshape(2, 3)[1]
    before = b._version
    v.add_(1)
    assert b._version == v._version == before + 1
    b[0] = 5.0
    assert v._version == before + 2


def test_a_copy_made_by_advanced_indexing_does_not_share_the_counter():
    x, b, z = _graph_saving_b()
    copy = b[[1, 2]]
    with minigrad.no_grad():
        copy.mul_(10)
    z.backward()  # b itself was not changed: the gradient is right
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0, 8.0])


def test_assigning_new_memory_to_a_view_detaches_it_from_its_base():
    b = minigrad.tensor(np.arange(4.0))
    v = b[1:3]
    before = b._version
    v.data = np.zeros(2)
    assert v._version == before + 1 and b._version == before
    v.add_(1)
    np.testing.assert_array_equal(b.data, [0.0, 1.0, 2.0, 3.0])


# ============================================================ detach() shares the counter
def test_in_place_change_through_detach_makes_backward_raise():
    x = leaf([1.0, 2.0, 3.0])
    z = (x * x).sum()
    x.detach().add_(1)  # before the fix: z's gradient silently became 2(x + 1)
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


def test_a_graph_that_saved_a_detached_tensor_sees_a_change_of_the_original():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    z = (w * x.detach()).sum()
    with minigrad.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


# ============================================================ in-place operators
def test_sgd_loop_with_minus_equals_changes_the_parameters_in_place():
    minigrad.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = minigrad.randn(8, 3), minigrad.randn(8, 2)
    F.mse_loss(model(x), y).backward()
    before = {name: (p, p.data, p.data.copy(), p.grad.copy(), p._version)
              for name, p in model.named_parameters()}
    with minigrad.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for name, p in model.named_parameters():
        obj, array, values, grad, version = before[name]
        assert p is obj and p.data is array  # the same tensor and the same memory
        np.testing.assert_allclose(p.data, values - 0.1 * grad, rtol=1e-6)
        assert p._version == version + 1


@pytest.mark.parametrize("operand", [
    lambda: minigrad.tensor([2.0, 4.0]), lambda: np.array([2.0, 4.0]), lambda: 2.0,
])
def test_in_place_operators_accept_a_tensor_an_ndarray_or_a_scalar(operand):
    cases = {
        "+=": lambda t, o: t.__iadd__(o), "-=": lambda t, o: t.__isub__(o),
        "*=": lambda t, o: t.__imul__(o), "/=": lambda t, o: t.__itruediv__(o),
    }
    plain = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.divide}
    for symbol, apply in cases.items():
        t = minigrad.tensor([8.0, 16.0])
        array, version = t.data, t._version
        assert apply(t, operand()) is t
        other = operand()
        expected = plain[symbol](np.array([8.0, 16.0]), other.data if hasattr(other, "data")
                                 and not isinstance(other, np.ndarray) else other)
        np.testing.assert_array_equal(t.data, expected)
        assert t.data is array and t.dtype == np.float32 and t._version == version + 1


def test_augmented_assignment_statements_keep_the_object():
    t = minigrad.tensor([1.0, 2.0])
    alias = t
    t += 1
    t -= np.array([0.5, 0.5])
    t *= minigrad.tensor([2.0, 2.0])
    t /= 3
    assert t is alias
    np.testing.assert_allclose(alias.data, [1.0, 5.0 / 3.0])


def test_matmul_in_place_keeps_the_shape_and_refuses_another():
    t = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    alias = t
    t @= np.array([[0.0, 1.0], [1.0, 0.0]])
    assert t is alias
    np.testing.assert_array_equal(alias.data, [[2.0, 1.0], [4.0, 3.0]])
    with pytest.raises(RuntimeError, match="shape"):
        t @= np.ones((2, 3))
    np.testing.assert_array_equal(alias.data, [[2.0, 1.0], [4.0, 3.0]])


def test_in_place_operator_on_a_leaf_that_requires_grad_raises_like_pytorch():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError,
                       match="a leaf Variable that requires grad is being used in an in-place"):
        w -= 0.1
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0


def test_in_place_operator_refuses_a_wider_result_or_a_lossy_dtype():
    t = minigrad.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2, 2\)"):
        t += np.ones((2, 2))
    i = minigrad.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    np.testing.assert_array_equal(i.data, [1, 2])


def test_in_place_operator_on_an_intermediate_is_recorded_in_the_graph():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    b = x * 2
    alias = b
    b *= w  # the old value 2x is kept for the gradient with respect to w
    b += x
    assert b is alias
    (b * b).sum().backward()
    value = 2 * x.data * w.data + x.data
    np.testing.assert_allclose(x.grad, 2 * value * (2 * w.data + 1))
    np.testing.assert_allclose(w.grad, 2 * value * 2 * x.data)


def test_accumulating_losses_with_plus_equals_gives_the_gradient_of_the_sum():
    w = leaf([1.0, -2.0])
    total = 0.0
    for scale in (1.0, 2.0, 3.0):
        total += (scale * w * w).sum()
    total.backward()
    np.testing.assert_allclose(w.grad, 2 * 6.0 * w.data)


def test_in_place_operator_on_a_constant_with_a_grad_operand_joins_the_graph():
    w = leaf([1.0, 2.0])
    acc = minigrad.zeros(2, dtype=np.float64)
    acc += 3 * w
    assert acc.requires_grad and not acc.is_leaf
    acc.sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])


def test_in_place_operator_after_the_value_was_saved_makes_backward_raise():
    x = leaf([1.0, 2.0])
    b = x * 1
    z = (b * b).sum()
    b += 1
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()


def test_in_place_operator_on_a_view_in_a_graph_raises():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        v = x[1:]
        v += 1
    b = x * 1
    v = b[1:]
    with pytest.raises(RuntimeError, match="view"):
        v += 1
    np.testing.assert_array_equal(b.data, [1.0, 2.0, 3.0])


# ============================================================ backward frees the graph
def test_second_backward_through_a_freed_graph_raises_and_names_retain_graph():
    x = leaf([1.0, 2.0])
    z = (x.exp() * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match=FREED):
        z.backward()
    with pytest.raises(RuntimeError, match=FREED):
        (z * 2).backward()  # a new graph on top of the freed one
    with pytest.raises(RuntimeError, match=FREED):
        minigrad.grad(z, x)


def test_retain_graph_keeps_the_graph_for_another_backward():
    x = leaf([1.0, 2.0])
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad, 4 * x.data)
    with pytest.raises(RuntimeError, match=FREED):
        z.backward()


def test_create_graph_retains_the_graph_by_default():
    x = leaf([1.0, 2.0])
    z = (x ** 3).sum()
    z.backward(create_graph=True)
    (g,) = minigrad.grad(z, x, create_graph=True)
    (g2,) = minigrad.grad(z, x)  # the default frees it
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    np.testing.assert_allclose(g2.data, g.data)
    with pytest.raises(RuntimeError, match=FREED):
        z.backward()


def test_freed_nodes_drop_their_inputs():
    x = leaf([1.0, 2.0])
    h = x.exp()
    z = (h * h).sum()
    node = h.grad_fn
    z.backward()
    assert node._released and not hasattr(node, "inputs")


def test_grad_frees_the_graph_unless_retain_graph():
    x = leaf([1.0, 2.0])
    z = (x * x).sum()
    (g1,) = minigrad.grad(z, x, retain_graph=True)
    (g2,) = minigrad.grad(z, x)
    np.testing.assert_array_equal(g1.data, g2.data)
    with pytest.raises(RuntimeError, match=FREED):
        minigrad.grad(z, x)


def test_grad_with_respect_to_an_intermediate_leaves_the_graph_below_it():
    x = leaf([1.0, 2.0])
    h = x * x
    (gh,) = minigrad.grad((h * 3).sum(), h)
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    (2 * h).sum().backward()  # h's own node did not run, so it was not freed
    np.testing.assert_array_equal(x.grad, 4 * x.data)


def test_hessian_rows_from_one_differentiable_gradient_with_retain_graph():
    x = leaf([1.0, 2.0])
    (g,) = minigrad.grad((x[0] ** 2 * x[1] ** 3), x, create_graph=True)
    rows = [minigrad.grad(g[i], x, retain_graph=True)[0].data for i in range(2)]
    a, b = x.data
    np.testing.assert_allclose(rows, [[2 * b ** 3, 6 * a * b ** 2],
                                      [6 * a * b ** 2, 6 * a ** 2 * b]])


def test_autocast_region_with_two_forward_and_backward_passes():
    from minigrad.amp import autocast

    model = nn.Linear(3, 2)
    x = minigrad.ones(4, 3)
    with autocast("cpu", dtype=np.float16):
        for _ in range(2):  # the second pass must not reuse the weight cast freed by the first
            model(x).astype(np.float32).sum().backward()
    np.testing.assert_array_equal(model.weight.grad, np.full((2, 3), 8.0))


def _readme_loop_memory(steps: int) -> int:
    """Bytes still allocated after the README's SGD loop on two moons, keeping every loss."""
    from minigrad.data import DataLoader, TensorDataset, make_moons

    minigrad.manual_seed(0)
    X, y = make_moons(n_samples=256, noise=0.1)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    losses = []
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        while len(losses) < steps:
            for xb, yb in loader:
                loss = F.cross_entropy(model(xb), yb)
                model.zero_grad()
                loss.backward()
                for p in model.parameters():
                    p.data -= 0.1 * p.grad
                losses.append(loss)  # the student's mistake: the tensor, not loss.item()
                if len(losses) == steps:
                    break
        del loss, xb, yb
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert float(losses[-1].data) < float(losses[0].data)  # it trained
    return now - start


def test_a_list_of_200_losses_does_not_keep_200_graphs_alive():
    kept = _readme_loop_memory(200)
    # each kept graph held ~18 KB (3.8 MB for 200 steps); a freed one only the loss
    assert kept < 600_000, f"{kept / 1e6:.2f} MB still allocated after 200 steps"



def test_sophiah_closure_that_calls_backward_still_works():
    from optim.sophia import SophiaH

    w = leaf([1.0, 2.0])
    opt = SophiaH([w], lr=0.01)

    def closure():  # the usual closure; SophiaH differentiates the loss once more
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    opt.step(closure)
    assert np.all(w.data < [1.0, 2.0])
    with pytest.raises(RuntimeError, match=FREED):
        closure().backward()  # outside SophiaH.step, backward frees the graph as usual


def test_in_place_operator_with_itself_as_operand_uses_the_old_value():
    x = leaf([1.0, 2.0])
    b = x * 3
    b *= b  # b ← (3x)²
    b.sum().backward()
    np.testing.assert_allclose(b.data, 9 * x.data ** 2)
    np.testing.assert_allclose(x.grad, 18 * x.data)


def test_parameter_made_from_a_tensor_shares_its_version_counter():
    t = minigrad.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    z = (p * p).sum()
    t.add_(1)
    assert p._version == t._version == 1
    with pytest.raises(RuntimeError, match=STALE):
        z.backward()

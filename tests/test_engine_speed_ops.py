"""The fused ops behind a training step: ``Linear`` (x Wᵀ + b as one node), ``CrossEntropy``
(softmax − target in backward), ``Softmax`` / ``LogSoftmax``, and the shape ops that give
back their input when nothing moves.

Each fused op is checked against central differences (gradcheck, first and second order),
against the composition of ops it replaces, and against PyTorch when it is installed.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import gradcheck, nn
from minigrad.amp import autocast
from minigrad.nn import functional as F
from minigrad.nn._losses import CrossEntropy, _weighted_class_loss
from minigrad.ops.linalg import Linear
from minigrad.ops.softmax import LogSoftmax, Softmax

RNG = np.random.default_rng(0)


def f64(*shape, requires_grad=True):
    return minigrad.tensor(RNG.standard_normal(shape), requires_grad=requires_grad)


def composite_linear(x, w, b=None):
    out = x @ w.T
    return out if b is None else out + b


def composite_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean",
                            label_smoothing=0.0):
    logp = F.log_softmax(x, dim=0 if x.ndim == 1 else 1)
    return _weighted_class_loss(logp, target, weight, ignore_index, reduction,
                                label_smoothing, "cross_entropy")


def grads(fn, inputs, create_graph=False):
    return minigrad.grad(fn(*inputs).sum(), inputs, create_graph=create_graph)


def gradient_of(fn, wrt: int = 0, weights=None):
    """A function returning d(Σ weights·fn)/d(input ``wrt``), differentiable again: for
    gradcheck of second derivatives (its numerical passes run under no_grad)."""
    def gradient(*inputs):
        with minigrad.enable_grad():
            out = fn(*inputs)
            out = out if weights is None else out * weights
            return minigrad.grad(out.sum(), [inputs[wrt]], create_graph=True)[0]
    return gradient


# ================================================================= Linear
@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_is_one_node_and_gradchecks(x_shape, bias):
    x, w, b = f64(*x_shape), f64(2, 3), f64(2)
    args = [x, w, b] if bias else [x, w]
    out = F.linear(*args)
    assert isinstance(out.grad_fn, Linear) and out.shape == x_shape[:-1] + (2,)
    np.testing.assert_allclose(out.data, composite_linear(*args).data, rtol=1e-13)
    assert gradcheck(F.linear, args)


def test_linear_gradients_equal_the_composition_also_of_second_order():
    x, w, b = f64(4, 3), f64(2, 3), f64(2)
    for ours, theirs in zip(grads(F.linear, [x, w, b]), grads(composite_linear, [x, w, b])):
        np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-13)
    # d/dx of Σ (dL/dW)²: the backward rule itself differentiated (create_graph)
    def second(fn):
        (gw,) = minigrad.grad(fn(x, w, b).tanh().sum(), [w], create_graph=True)
        return minigrad.grad((gw * gw).sum(), [x, w, b])
    for ours, theirs in zip(second(F.linear), second(composite_linear)):
        np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-12)
    assert gradcheck(gradient_of(lambda x, w, b: F.linear(x, w, b).tanh(), wrt=1), [x, w, b])


def test_linear_only_computes_the_gradients_that_are_needed():
    x, w = f64(4, 3, requires_grad=False), f64(2, 3)
    b = f64(2, requires_grad=False)
    F.linear(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None
    np.testing.assert_allclose(w.grad, np.ones((4, 2)).T @ x.data)


def test_linear_layer_gradients_are_owned_row_major_arrays():
    layer = nn.Linear(3, 2)
    x = minigrad.tensor(RNG.standard_normal((5, 3)).astype(np.float32))
    layer(x).sum().backward()
    for p in (layer.weight, layer.bias):
        assert p.grad.flags.c_contiguous and p.grad.flags.writeable
        assert p.grad.base is None and p.grad.dtype == np.float32
    np.testing.assert_allclose(layer.bias.grad, np.full(2, 5.0))


def test_linear_outside_the_layer_case_keeps_the_composition():
    x64, w32 = f64(4, 3), minigrad.tensor(RNG.standard_normal((2, 3)).astype(np.float32))
    assert F.linear(x64, w32).dtype == np.float64  # promotion, as x @ w.T gives
    x, w = f64(4, 3), f64(3)
    assert F.linear(x, w).shape == (4,)  # a 1-D weight, as PyTorch allows
    b = f64(4, 1)
    assert F.linear(x, f64(2, 3), b).shape == (4, 2)  # a bias broadcast another way
    with pytest.raises(ValueError, match=r"\(4, 3\) and \(5, 2\)"):
        F.linear(x, f64(2, 5))


def test_linear_under_autocast_runs_in_float16_and_feeds_float32_master_weights():
    layer = nn.Linear(3, 2)
    x = minigrad.tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    with autocast():
        out = layer(x)
    assert out.dtype == np.float16 and isinstance(out.grad_fn, Linear)
    expected = (x.data.astype(np.float16) @ layer.weight.data.astype(np.float16).T
                + layer.bias.data.astype(np.float16))
    np.testing.assert_array_equal(out.data, expected)
    out.float().sum().backward()
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    np.testing.assert_allclose(layer.weight.grad, np.ones((4, 2)).T @ x.data, rtol=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_equals_torch(dtype):
    torch = pytest.importorskip("torch")
    x, w, b = (RNG.standard_normal(s).astype(dtype) for s in ((2, 5, 4), (3, 4), (3,)))
    ours = [minigrad.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    g = RNG.standard_normal((2, 5, 3)).astype(dtype)
    out = F.linear(*ours)
    (out * minigrad.tensor(g)).sum().backward()
    tout = torch.nn.functional.linear(*theirs)
    (tout * torch.tensor(g)).sum().backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=rtol, atol=rtol)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=rtol, atol=rtol)


# ================================================================= Softmax, LogSoftmax
@pytest.mark.parametrize("fn, op", [(F.softmax, Softmax), (F.log_softmax, LogSoftmax)])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_ops_are_one_node_and_gradcheck_to_second_order(fn, op, dim):
    x = f64(3, 4)
    assert isinstance(fn(x, dim=dim).grad_fn, op)
    assert gradcheck(lambda t: fn(t, dim=dim), [x])
    v = minigrad.tensor(RNG.standard_normal((3, 4)))
    assert gradcheck(gradient_of(lambda t: fn(t, dim=dim), weights=v), [x])


def test_softmax_ops_keep_float16_outside_autocast_and_go_float32_inside():
    h = minigrad.tensor(RNG.standard_normal((4, 3)).astype(np.float16), requires_grad=True)
    p = F.softmax(h, dim=1)
    assert p.dtype == np.float16
    np.testing.assert_allclose(p.data.astype(np.float32).sum(axis=1), 1.0, rtol=2e-3)
    (p * minigrad.tensor(np.ones((4, 3), np.float16))).sum().backward()
    assert h.grad.dtype == np.float16
    with autocast():
        assert F.log_softmax(h, dim=1).dtype == np.float32


def test_softmax_ops_equal_torch():
    torch = pytest.importorskip("torch")
    a, g = RNG.standard_normal((3, 5, 2)), RNG.standard_normal((3, 5, 2))
    for ours_fn, theirs_fn in ((F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)):
        x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        out, tout = ours_fn(x, dim=1), theirs_fn(tx, dim=1)
        (out * minigrad.tensor(g)).sum().backward()
        (tout * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


# ================================================================= CrossEntropy
OPTIONS = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(weight=[0.5, 2.0, 1.0, 3.0]),
    dict(ignore_index=1),
    dict(label_smoothing=0.2),
    dict(weight=[0.5, 2.0, 1.0, 3.0], ignore_index=2, label_smoothing=0.3),
    dict(weight=[0.5, 2.0, 1.0, 3.0], ignore_index=0, label_smoothing=0.1, reduction="sum"),
    dict(weight=[0.5, 2.0, 1.0, 3.0], label_smoothing=0.1, reduction="none"),
]


def _call(fn, x, target, options):
    options = dict(options)
    if "weight" in options:
        options["weight"] = minigrad.tensor(np.array(options["weight"]), dtype=x.dtype)
    return fn(x, target, **options)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2), (4,)])
def test_cross_entropy_is_one_op_equal_to_the_composition(options, shape):
    x = f64(*shape)
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    target = RNG.integers(0, 4, size=target_shape)
    if len(shape) == 1 and options.get("ignore_index") is not None:
        target = np.array((options["ignore_index"] + 1) % 4)  # one target: keep it counted
    ours = _call(F.cross_entropy, x, target, options)
    theirs = _call(composite_cross_entropy, x, target, options)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-12)
    node = ours.grad_fn
    while not isinstance(node, CrossEntropy):  # (N, C, d) input: rows, then the loss
        node = node.inputs[0].grad_fn
    for a, b in zip(grads(lambda t: _call(F.cross_entropy, t, target, options), [x]),
                    grads(lambda t: _call(composite_cross_entropy, t, target, options), [x])):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("options", OPTIONS)
def test_cross_entropy_gradchecks_to_second_order(options):
    target = np.array([1, 0, 2, 3, 1])
    fn = lambda t: _call(F.cross_entropy, t, target, options)  # noqa: E731
    x = f64(5, 4)
    assert gradcheck(fn, [x])
    # the gradient is itself differentiable: Hessian-vector products (Newton, Sophia)
    assert gradcheck(gradient_of(fn), [x])


def test_cross_entropy_hessian_vector_product_equals_the_composition():
    x, v = f64(4, 3), minigrad.tensor(RNG.standard_normal((4, 3)))
    target = np.array([2, 0, 1, 1])

    def hvp(fn):
        (g,) = minigrad.grad(fn(x, target, label_smoothing=0.1), [x], create_graph=True)
        return minigrad.grad((g * v).sum(), [x])[0]
    np.testing.assert_allclose(hvp(F.cross_entropy).data, hvp(composite_cross_entropy).data,
                               rtol=1e-10, atol=1e-15)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n_in_float32():
    x = minigrad.tensor(RNG.standard_normal((8, 5)).astype(np.float32), requires_grad=True)
    target = RNG.integers(0, 5, size=8)
    loss = F.cross_entropy(x, target)
    assert isinstance(loss.grad_fn, CrossEntropy) and loss.grad_fn.inputs == (x,)
    loss.backward()
    logits = x.data.astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, (p - np.eye(5)[target]) / 8, rtol=1e-5, atol=1e-7)


def test_cross_entropy_with_masked_logits_stays_finite():
    # −inf marks classes that can't occur; only the target's log-probability is read
    x = minigrad.tensor([[0.0, -np.inf, 1.0], [2.0, 0.5, -np.inf]], requires_grad=True)
    loss = F.cross_entropy(x, [2, 0])
    assert np.isfinite(loss.item())
    loss.backward()
    assert np.isfinite(x.grad).all() and x.grad[0, 1] == 0 and x.grad[1, 2] == 0


def test_cross_entropy_with_a_learned_class_weight_gives_it_a_gradient():
    weight = minigrad.tensor([1.0, 2.0, 0.5], requires_grad=True)
    x, target = f64(4, 3), np.array([0, 1, 2, 1])
    F.cross_entropy(x, target, weight, label_smoothing=0.1).backward()
    expected = minigrad.grad(composite_cross_entropy(x, target, weight, label_smoothing=0.1),
                             [weight])[0]
    np.testing.assert_allclose(weight.grad, expected.data, rtol=1e-12)


def test_cross_entropy_under_autocast_is_float32_and_the_mlp_trains_alike():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = minigrad.tensor(RNG.standard_normal((16, 6)).astype(np.float32))
    y = RNG.integers(0, 3, 16)
    F.cross_entropy(model(x), y).backward()
    reference = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    with autocast():
        logits = model(x)
        loss = F.cross_entropy(logits, y)
    assert logits.dtype == np.float16 and loss.dtype == np.float32
    loss.backward()
    for p, g in zip(model.parameters(), reference):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, g, atol=5e-3 * np.abs(g).max())


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_equals_torch(options, dtype):
    torch = pytest.importorskip("torch")
    logits = RNG.standard_normal((6, 4, 3)).astype(dtype)
    target = RNG.integers(0, 4, size=(6, 3))
    x, tx = minigrad.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    torch_options = dict(options)
    if "weight" in options:
        torch_options["weight"] = torch.tensor(np.array(options["weight"], dtype=dtype))
    ours, theirs = _call(F.cross_entropy, x, target, options), \
        torch.nn.functional.cross_entropy(tx, torch.tensor(target), **torch_options)
    g = RNG.standard_normal(ours.shape).astype(dtype)
    (ours * minigrad.tensor(g)).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    rtol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=rtol, atol=rtol * 1e-2)


def test_mlp_training_step_matches_torch():
    """The benchmark's step, small: Linear, ReLU and cross-entropy gradients as PyTorch's."""
    torch = pytest.importorskip("torch")
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 3))
    tmodel = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.data))
    x = RNG.standard_normal((9, 7)).astype(np.float32)
    y = RNG.integers(0, 3, 9)
    loss = F.cross_entropy(model(minigrad.tensor(x)), y)
    loss.backward()
    tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-4, atol=1e-6)


# ================================================================= shape ops that move nothing
def test_identity_permutations_and_reshapes_return_the_tensor_itself():
    x = f64(3, 4)
    assert x.permute(0, 1) is x and x.transpose(0, 1) is x and x.swapaxes(1, 1) is x
    assert f64(5).T.shape == (5,) and x.reshape(-1, 4) is x and x.reshape(3, -1) is x
    y = x.T  # a real transpose is still an op
    assert y.shape == (4, 3) and y.grad_fn is not None
    with pytest.raises(ValueError, match="cannot reshape"):
        x.reshape(-1, -1)


def test_sum_to_gives_new_arrays_for_added_axes():
    from minigrad.ops.shape import _sum_to_array

    a = RNG.standard_normal((2, 3, 4))
    for shape in [(4,), (3, 4), (1, 4), (3, 1), (2, 1, 4), (1, 3, 1)]:
        lead = 3 - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                          if s == 1 and a.shape[lead + i] != 1)
        result = _sum_to_array(a, shape)
        assert result.shape == shape
        np.testing.assert_array_equal(result, a.sum(axis=axes, keepdims=True).reshape(shape))
    assert _sum_to_array(a, (4,)).base is None

"""The Tensor API that code written for PyTorch calls: out-of-place methods (values and
gradients), in-place methods (values, version counter, refusals), ``minigrad.norm`` and
friends, ``minigrad.device`` / ``minigrad.cuda``, NumPy arrays meeting Tensors, and the
errors that say what to do (a GPU that is missing, ``verbose=``).
"""
import math

import numpy as np
import pytest

import minigrad
import optim
from minigrad import nn
from schedules import ReduceLROnPlateau

RNG = np.random.default_rng(7)


def data(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


def away_from_zero(*shape):
    return RNG.choice([-1.0, 1.0], shape) * RNG.uniform(0.5, 2.0, shape)


def assert_gradcheck(fn, *arrays):
    assert minigrad.gradcheck(fn, [np.asarray(a, dtype=np.float64) for a in arrays])


# ====================================================== out-of-place: values and gradients
OUT_OF_PLACE = [
    # name, minigrad form, NumPy form, inputs
    ("add_alpha", lambda a, b: a.add(b, alpha=-0.5), lambda a, b: a - 0.5 * b,
     [data(3, 2), data(3, 2)]),
    ("sub_alpha", lambda a, b: a.sub(b, alpha=2), lambda a, b: a - 2 * b,
     [data(3, 2), data(2)]),
    ("square", lambda a: a.square(), np.square, [data(4)]),
    ("neg", lambda a: a.neg(), np.negative, [data(4)]),
    ("reciprocal", lambda a: a.reciprocal(), np.reciprocal, [away_from_zero(4)]),
    ("rsqrt", lambda a: a.rsqrt(), lambda a: 1 / np.sqrt(a), [data(4, low=0.5)]),
    ("lerp", lambda a, b: a.lerp(b, 0.1), lambda a, b: a + 0.1 * (b - a),
     [data(2, 3), data(2, 3)]),
    ("lerp_tensor_weight", lambda a, b, w: minigrad.lerp(a, b, w),
     lambda a, b, w: a + w * (b - a), [data(3), data(3), data(3, low=0, high=1)]),
    ("addcmul", lambda x, a, b: x.addcmul(a, b, value=0.3), lambda x, a, b: x + 0.3 * a * b,
     [data(3), data(3), data(3)]),
    ("addcdiv", lambda x, a, b: x.addcdiv(a, b, value=-0.1), lambda x, a, b: x - 0.1 * a / b,
     [data(3), data(3), away_from_zero(3)]),
    ("maximum", lambda a, b: a.maximum(b), np.maximum, [data(5), data(5)]),
    ("minimum", lambda a, b: a.minimum(b), np.minimum, [data(5), data(5)]),
    ("clamp_min", lambda a: a.clamp_min(0.1), lambda a: np.maximum(a, 0.1), [data(6)]),
    ("clamp_max", lambda a: a.clamp_max(0.1), lambda a: np.minimum(a, 0.1), [data(6)]),
    ("norm", lambda a: a.norm(), np.linalg.norm, [data(3, 4)]),
    ("norm_dim", lambda a: a.norm(p=2, dim=1), lambda a: np.linalg.norm(a, axis=1),
     [data(3, 4)]),
    ("norm_1_keepdim", lambda a: minigrad.norm(a, 1, dim=0, keepdim=True),
     lambda a: np.abs(a).sum(axis=0, keepdims=True), [away_from_zero(3, 4)]),
    ("norm_3", lambda a: a.norm(p=3), lambda a: (np.abs(a) ** 3).sum() ** (1 / 3),
     [away_from_zero(5)]),
    ("norm_inf", lambda a: a.norm(p=math.inf, dim=-1), lambda a: np.abs(a).max(axis=-1),
     [data(2, 5)]),
    ("amax", lambda a: a.amax(dim=0), lambda a: a.max(axis=0), [data(3, 2)]),
    ("double", lambda a: a.float().double() * 2, lambda a: a.astype(np.float32) * 2,
     [data(3)]),
]


@pytest.mark.parametrize("name, ours, reference, arrays", OUT_OF_PLACE,
                         ids=[case[0] for case in OUT_OF_PLACE])
def test_out_of_place_method_gives_numpys_values(name, ours, reference, arrays):
    result = ours(*[minigrad.tensor(a) for a in arrays])
    np.testing.assert_allclose(result.data, reference(*arrays), rtol=1e-6)


@pytest.mark.parametrize("name, ours, reference, arrays",
                         [c for c in OUT_OF_PLACE if c[0] != "double"],
                         ids=[c[0] for c in OUT_OF_PLACE if c[0] != "double"])
def test_out_of_place_method_has_correct_gradients(name, ours, reference, arrays):
    assert_gradcheck(ours, *arrays)


def test_sign_has_zero_gradient_everywhere_like_pytorch():
    x = minigrad.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = x.sign()
    (y * minigrad.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(y.data, [-1, 0, 1])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


def test_norm_of_zeros_has_zero_gradient_not_nan():
    for p in (2, 3, math.inf):
        x = minigrad.zeros(3, requires_grad=True)
        x.norm(p=p).backward()
        np.testing.assert_array_equal(x.grad, np.zeros(3), err_msg=f"p={p}")


def test_norm_inf_shares_the_gradient_between_tied_largest_values():
    x = minigrad.tensor([1.0, -3.0, 3.0], requires_grad=True)
    x.norm(p=math.inf).backward()
    np.testing.assert_allclose(x.grad, [0.0, -0.5, 0.5])


def test_norm_counts_nonzeros_for_p_zero_and_accepts_fro():
    x = minigrad.tensor([[1.0, 0.0], [0.0, -2.0]])
    assert x.norm(p=0).item() == 2
    assert x.norm(p="fro").item() == pytest.approx(math.sqrt(5))


def test_norm_twice_differentiable():
    def gradient_norm(x):
        with minigrad.enable_grad():
            (g,) = minigrad.grad(x.norm() ** 2, [x], create_graph=True)
        return g.norm()

    assert_gradcheck(gradient_norm, away_from_zero(4))


def test_norm_of_float16_sums_in_float32():
    x = minigrad.tensor(np.full(100_000, 1.0, np.float16))
    assert x.norm().dtype == np.float16
    assert x.norm().item() == pytest.approx(math.sqrt(100_000), rel=1e-3)


@pytest.mark.parametrize("p", [-1, "nuc", True, float("nan")])
def test_norm_rejects_an_exponent_it_does_not_know(p):
    with pytest.raises(ValueError, match="norm: p must be"):
        minigrad.tensor([1.0]).norm(p=p)


def test_norm_of_integers_raises():
    with pytest.raises(TypeError, match="floating point"):
        minigrad.tensor([1, 2]).norm()


def test_isnan_isinf_isfinite_give_bool_tensors():
    x = minigrad.tensor([1.0, math.nan, math.inf, -math.inf])
    assert minigrad.isnan(x).tolist() == [False, True, False, False]
    assert minigrad.isinf(x).tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]
    assert x.isnan().dtype == np.bool_ and not x.isnan().requires_grad


def test_comparison_methods_match_the_operators():
    x, y = minigrad.tensor([1.0, 2.0, 3.0]), minigrad.tensor([2.0, 2.0, 2.0])
    for method, operator in [("gt", x > y), ("lt", x < y), ("ge", x >= y), ("le", x <= y),
                             ("eq", x == y), ("ne", x != y)]:
        assert getattr(x, method)(y).tolist() == operator.tolist(), method


# ============================================================= in-place methods
IN_PLACE = [
    ("add_alpha", lambda t, u: t.add_(u, alpha=-0.1), lambda a, b: a - 0.1 * b),
    ("sub_", lambda t, u: t.sub_(u), lambda a, b: a - b),
    ("mul_", lambda t, u: t.mul_(u), lambda a, b: a * b),
    ("div_", lambda t, u: t.div_(u), lambda a, b: a / b),
    ("addcmul_", lambda t, u: t.addcmul_(u, u, value=0.5), lambda a, b: a + 0.5 * b * b),
    ("addcdiv_", lambda t, u: t.addcdiv_(u, u + 3, value=-2), lambda a, b: a - 2 * b / (b + 3)),
    ("lerp_", lambda t, u: t.lerp_(u, 0.25), lambda a, b: a + 0.25 * (b - a)),
    ("pow_", lambda t, u: t.pow_(2), lambda a, b: a ** 2),
    ("sign_", lambda t, u: t.sign_(), lambda a, b: np.sign(a)),
    ("sqrt_", lambda t, u: t.abs_().sqrt_(), lambda a, b: np.sqrt(np.abs(a))),
    ("neg_", lambda t, u: t.neg_(), lambda a, b: -a),
    ("exp_", lambda t, u: t.exp_(), lambda a, b: np.exp(a)),
    ("clamp_", lambda t, u: t.clamp_(-0.5, 0.5), lambda a, b: np.clip(a, -0.5, 0.5)),
    ("clamp_min_only", lambda t, u: t.clamp_(min=0), lambda a, b: np.maximum(a, 0)),
    ("copy_", lambda t, u: t.copy_(u), lambda a, b: b),
    ("fill_", lambda t, u: t.fill_(0.01), lambda a, b: np.full_like(a, 0.01)),
    ("zero_", lambda t, u: t.zero_(), lambda a, b: np.zeros_like(a)),
]


@pytest.mark.parametrize("name, ours, reference", IN_PLACE, ids=[c[0] for c in IN_PLACE])
def test_in_place_method_changes_self_and_raises_the_version(name, ours, reference):
    a, b = np.float32(data(4)), np.float32(data(4, low=0.5, high=2.0))
    t, u = minigrad.tensor(a), minigrad.tensor(b)
    memory, version = t.data, t._version
    result = ours(t, u)
    assert result is t and t.data is memory and t.dtype == np.float32
    assert t._version > version
    np.testing.assert_allclose(t.data, reference(a, b), rtol=1e-6)


def test_in_place_methods_chain_like_adams_update():
    grad = np.float32(data(5))
    exp_avg, exp_avg_sq = minigrad.zeros(5), minigrad.zeros(5)
    exp_avg.lerp_(minigrad.tensor(grad), 0.1)
    exp_avg_sq.mul_(0.999).addcmul_(grad, grad, value=0.001)
    np.testing.assert_allclose(exp_avg.data, 0.1 * grad, rtol=1e-6)
    np.testing.assert_allclose(exp_avg_sq.data, 0.001 * grad ** 2, rtol=1e-6)


def test_in_place_method_on_a_leaf_that_requires_grad_needs_no_grad():
    p = minigrad.Parameter([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        p.addcdiv_(p, p, value=-0.1)
    with minigrad.no_grad():
        p.addcdiv_(minigrad.ones(2), minigrad.ones(2), value=-0.1)
    np.testing.assert_allclose(p.data, [0.9, 1.9], rtol=1e-6)


def test_in_place_change_of_a_saved_tensor_is_caught_at_backward():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = (y * y).sum()
    with minigrad.no_grad():
        y.sign_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation|version"):
        z.backward()


def test_clamp_in_place_needs_a_bound():
    with pytest.raises(ValueError, match="min and max"):
        minigrad.zeros(2).clamp_()


# ============================================================== devices
def test_device_object_parses_type_and_index():
    d = minigrad.device("cuda:0")
    assert (d.type, d.index, str(d)) == ("cuda", 0, "cuda:0")
    assert minigrad.device("cpu") == "cpu" and minigrad.device("cpu").index is None
    assert minigrad.device("cuda", 0) == "cuda:0" and minigrad.device("gpu") == "cuda"
    assert repr(minigrad.device("cpu")) == "device(type='cpu')"


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "cuda:-1", 3])
def test_device_rejects_unknown_names(bad):
    with pytest.raises((ValueError, TypeError), match="device"):
        minigrad.device(bad)


def test_cpu_device_is_accepted_wherever_device_strings_are():
    cpu = minigrad.device("cpu")
    assert minigrad.tensor([1.0], device=cpu).device == "cpu"
    assert minigrad.zeros(2, device=cpu).device == "cpu"
    x = minigrad.ones(2)
    assert x.to(cpu) is x and x.cpu() is x
    assert nn.Linear(2, 1).to(cpu).weight.device == "cpu"


def test_tensor_to_takes_a_dtype_and_a_device_together():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu", np.float64)
    assert y.dtype == np.float64 and y.requires_grad
    assert x.to(dtype="float64").dtype == np.float64


def test_cuda_is_available_follows_cupy():
    assert minigrad.cuda.is_available() == minigrad.cupy_available()
    assert minigrad.cuda.device_count() == int(minigrad.cuda.is_available())


CUDA_PATHS = {
    "tensor": lambda d: minigrad.tensor([1.0], device=d),
    "zeros": lambda d: minigrad.zeros(2, device=d),
    "randn": lambda d: minigrad.randn(2, device=d),
    "Tensor.to": lambda d: minigrad.ones(2).to(d),
    "Tensor.cuda": lambda d: minigrad.ones(2).cuda(),
    "Module.to": lambda d: nn.Linear(2, 1).to(d),
    "Module.cuda": lambda d: nn.Linear(2, 1).cuda(),
}


@pytest.mark.skipif(minigrad.cuda.is_available(), reason="a GPU is present")
@pytest.mark.parametrize("path", list(CUDA_PATHS))
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "device"])
def test_cuda_without_a_gpu_names_the_extra_to_install(path, name):
    device = minigrad.device("cuda") if name == "device" else name
    with pytest.raises(RuntimeError, match=r"cuda12.*cuda13"):
        CUDA_PATHS[path](device)


def test_unknown_device_string_is_a_value_error_on_every_path():
    for path in ("tensor", "zeros", "Tensor.to", "Module.to"):
        with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
            CUDA_PATHS[path]("tpu")


# ======================================================= NumPy arrays meeting Tensors
def test_in_place_numpy_operation_with_a_tensor_operand_gives_a_plain_array():
    param = minigrad.Parameter([1.0, 2.0])
    velocity = minigrad.tensor([10.0, 20.0], requires_grad=True)
    memory = param.data
    param.data -= 0.1 * velocity
    assert type(param.data) is np.ndarray and param.data is memory
    np.testing.assert_allclose(param.data, [0.0, 0.0], atol=1e-6)
    array = np.ones(2, np.float32)
    array *= minigrad.tensor([2.0, 3.0])
    np.testing.assert_array_equal(array, [2.0, 3.0])


def test_numpy_array_with_a_tensor_gives_a_tracked_tensor():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], np.float32) * x + np.ones(2, np.float32)
    assert isinstance(y, minigrad.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 4.0])
    z = np.array([4.0, 4.0], np.float32) / x - np.float32(1) + np.eye(2, dtype=np.float32) @ x
    assert isinstance(z, minigrad.Tensor) and z.requires_grad
    assert (np.array([1.5, 1.5]) < x).tolist() == [False, True]


def test_other_numpy_functions_on_a_tensor_are_refused():
    with pytest.raises(TypeError):
        np.exp(minigrad.tensor([1.0]))


def test_numpy_function_writing_into_an_array_reads_the_tensor():
    out = np.zeros(2)
    np.exp(minigrad.tensor([0.0, 1.0]), out=out)
    np.testing.assert_allclose(out, [1.0, math.e], rtol=1e-6)


# ============================================================= state_dict and verbose
def test_state_dict_shares_memory_and_deepcopy_makes_a_snapshot():
    import copy

    model = nn.Linear(3, 2)
    live, snapshot = model.state_dict(), copy.deepcopy(model.state_dict())
    assert live["weight"] is model.weight.data
    with minigrad.no_grad():
        model.weight.add_(1.0)
    np.testing.assert_array_equal(live["weight"], model.weight.data)
    model.load_state_dict(snapshot)
    np.testing.assert_array_equal(model.weight.data, snapshot["weight"])
    np.testing.assert_array_equal(live["weight"], snapshot["weight"])  # same memory as the model


def test_reduce_lr_on_plateau_verbose_says_how_to_print_the_rate():
    opt = optim.SGD([minigrad.Parameter([0.0])], lr=0.1)
    with pytest.raises(TypeError, match=r"verbose.*get_last_lr\(\)"):
        ReduceLROnPlateau(opt, mode="min", patience=2, verbose=True)
    with pytest.raises(TypeError, match="verbose"):
        ReduceLROnPlateau(opt, verbose=False)


def test_reduce_lr_on_plateau_verbose_matches_pytorch():
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(TypeError):
        torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD([param], lr=0.1),
                                                   verbose=True)


def test_methods_match_pytorch_on_optimizer_idioms():
    torch = pytest.importorskip("torch")
    a, b, c = (np.float32(data(4)) for _ in range(3))
    c = np.abs(c) + 0.5
    cases = [
        (lambda x, y, z: x.add(y, alpha=-0.3)),
        (lambda x, y, z: x.addcdiv(y, z, value=0.2)),
        (lambda x, y, z: x.addcmul(y, z, value=-0.7)),
        (lambda x, y, z: x.lerp(y, 0.9)),
        (lambda x, y, z: x.norm(p=3)),
        (lambda x, y, z: x.sign()),
        (lambda x, y, z: x.clone().mul_(0.9).add_(y, alpha=0.1).sign_()),
        (lambda x, y, z: x.clone().abs_().addcmul_(y, y, value=0.1).sqrt_().add_(1e-8)),
        (lambda x, y, z: x.clone().abs_().pow_(1.5).neg_().exp_().clamp_(0.2, 0.9)),
    ]
    for k, fn in enumerate(cases):
        ours = fn(*(minigrad.tensor(v) for v in (a, b, c)))
        theirs = fn(*(torch.tensor(v) for v in (a, b, c)))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-5, atol=1e-7,
                                   err_msg=f"case {k}")

"""Behaviour of optim.Optimizer (groups, validation, hooks, checkpoints), shown with SGD
and, where the behaviour is generic, with every optimizer PyTorch also has."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import minigrad
import optim
from minigrad import nn

# Every optimizer of torch.optim, in the order the chapters teach them.
ALL_PYTORCH = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam",
               "Adamax", "Rprop", "ASGD", "LBFGS")

# Settings under which each one makes steady progress on the test quadratics; the
# options switched on give each optimizer as much state as it can have.
SETTINGS = {
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True),
    "Adagrad": dict(lr=0.3, lr_decay=0.01),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adadelta": dict(lr=1.0),
    "Adam": dict(lr=0.05, amsgrad=True),
    "AdamW": dict(lr=0.05, amsgrad=True),
    "NAdam": dict(lr=0.05),
    "RAdam": dict(lr=0.05),
    "Adamax": dict(lr=0.05),
    "Rprop": dict(lr=0.01),
    "ASGD": dict(lr=0.05, t0=10),
    "LBFGS": dict(lr=0.1, max_iter=2, history_size=3),
}


def _class(name: str):
    cls = getattr(optim, name, None)
    if cls is None:
        pytest.skip(f"optim.{name} is not written yet")
    return cls


def _tensor(values, dtype=np.float64):
    return minigrad.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def _make(name: str, params: list, **overrides):
    """The optimizer over two groups (LBFGS: one), group 1 at half the learning rate."""
    kwargs = {**SETTINGS[name], **overrides}
    if name == "LBFGS" or len(params) < 2:
        return _class(name)(params, **kwargs)
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": kwargs["lr"] / 2}]
    return _class(name)(groups, **kwargs)


def _quadratic_params(dtype=np.float64):
    rng = np.random.default_rng(5)
    return [_tensor(rng.standard_normal(3), dtype), _tensor(rng.standard_normal((2, 2)), dtype)]


def _quadratic_loss(params):
    """0.5·zᵀAz − bᵀz, A symmetric positive definite (eigenvalues 0.5…4)."""
    rng = np.random.default_rng(17)
    q, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    dtype = params[0].dtype
    a = minigrad.tensor(q @ np.diag(np.geomspace(0.5, 4.0, 7)) @ q.T, dtype=dtype)
    b = minigrad.tensor(rng.standard_normal(7), dtype=dtype)
    z = minigrad.concatenate([p.reshape(-1) for p in params])
    return 0.5 * (z * (a @ z)).sum() - (b * z).sum()


def _closure(opt, params, loss_fn=_quadratic_loss, record=None):
    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        if record is not None:
            record.append(loss)
        return loss
    return closure


def _snapshot(opt, params) -> tuple:
    """Everything a rejected call must leave as it was."""
    groups = [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
              for g in opt.param_groups]
    members = [[id(p) for p in g["params"]] for g in opt.param_groups]
    state = {id(p): {k: copy.deepcopy(v) for k, v in s.items()} for p, s in opt.state.items()}
    return groups, members, state, [p.data.copy() for p in params]


def _assert_same(a, b) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


def _sgd_with_state():
    """SGD with two groups, momentum state for the first two of three parameters."""
    a, b, c = _tensor([1.0, 2.0]), _tensor([[3.0]]), _tensor([4.0, 5.0, 6.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b, c], "lr": 0.05}], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.ones(2), np.ones((1, 1))
    opt.step()
    return opt, [a, b, c]


# ----------------------------------------------------------------- the list itself
def test_every_optimizer_optim_exports_is_tested_here():
    assert tuple(optim.PYTORCH_OPTIMIZERS) == ALL_PYTORCH
    for name in optim.PYTORCH_OPTIMIZERS:
        assert issubclass(getattr(optim, name), optim.Optimizer) and name in SETTINGS


# ----------------------------------------------------------------- rejected params
@pytest.mark.parametrize("name", ALL_PYTORCH)
def test_params_must_be_an_ordered_collection_of_leaf_tensors(name):
    cls = _class(name)
    w = _tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="ordered collections"):
        cls({w})
    with pytest.raises(TypeError):
        cls(w)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="non-leaf"):
        cls([w * 2.0])
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w.grad is None


def test_a_parameter_may_belong_to_one_group_only():
    v, w = _tensor([1.0]), _tensor([2.0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [v, w]}, {"params": [w]}], lr=0.1)
    opt, params = _sgd_with_state()
    before = _snapshot(opt, params)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [_tensor([7.0]), params[2]]})
    _assert_same(_snapshot(opt, params), before)


INVALID = [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(eps=-1), "Invalid epsilon value: -1"),
    ("RMSprop", dict(alpha=-1), "Invalid alpha value: -1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adam", dict(betas=(1.2, 0.9)), "Invalid beta parameter at index 0: 1.2"),
    ("Adam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("Adam", dict(eps=-1), "Invalid epsilon value: -1"),
    ("AdamW", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("Adamax", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Rprop", dict(etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
    ("ASGD", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
] + [(name, dict(lr=-1), "Invalid learning rate: -1") for name in ALL_PYTORCH[1:]]


@pytest.mark.parametrize("name, bad, message", INVALID,
                         ids=[f"{n}-{'-'.join(b)}" for n, b, _ in INVALID])
def test_invalid_hyper_parameters_are_rejected_naming_argument_and_value(name, bad, message):
    cls = _class(name)
    w = _tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        cls([w], **{**SETTINGS[name], **bad})
    np.testing.assert_array_equal(w.data, [1.0, 2.0])

    # the same value in a group added later: refused, and the optimizer is untouched
    opt = cls([w], **SETTINGS[name])
    opt.step(_closure(opt, [w], lambda ps: (ps[0] ** 2).sum()))
    before = _snapshot(opt, [w])
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        opt.add_param_group({"params": [_tensor([3.0])], **bad})
    _assert_same(_snapshot(opt, [w]), before)


# ----------------------------------------------------------------- groups and names
def test_named_parameters_give_param_names():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    group = opt.param_groups[0]
    assert group["param_names"] == ["weight", "bias"]
    assert len(group["params"]) == 2
    assert group["params"][0] is model.weight and group["params"][1] is model.bias
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    w = _tensor([1.0])
    opt.add_param_group({"params": [("scale", w)], "lr": 0.01})
    assert opt.param_groups[1]["param_names"] == ["scale"]
    assert opt.param_groups[1]["params"][0] is w


def test_add_param_group_fills_in_the_defaults():
    opt, params = _sgd_with_state()
    opt.add_param_group({"params": [_tensor([1.0])], "momentum": 0.5})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.5


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    w, v = _tensor([1.0, 2.0]), _tensor([3.0])
    opt = optim.SGD([w, v], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert w.grad is None
    else:
        assert w.grad is grad and np.all(w.grad == 0)  # zeroed in place
    assert v.grad is None


def test_zero_grad_sets_to_none_by_default():
    w = _tensor([1.0])
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("name", ALL_PYTORCH)
def test_step_returns_the_closures_loss(name):
    params = _quadratic_params()
    opt = _make(name, params)
    losses = []
    assert opt.step(_closure(opt, params, record=losses)) is losses[0]
    if name != "LBFGS":
        assert len(losses) == 1
        assert opt.step() is None


def test_step_hooks_run_around_the_update_and_can_be_removed():
    w = _tensor([1.0])
    opt = optim.SGD([w], lr=0.5)
    calls = []
    pre = opt.register_step_pre_hook(
        lambda o, args, kwargs: calls.append(("pre", o, w.data.item())))
    post = opt.register_step_post_hook(
        lambda o, args, kwargs: calls.append(("post", o, w.data.item())))
    w.grad = np.array([1.0])
    opt.step()
    assert calls == [("pre", opt, 1.0), ("post", opt, 0.5)]
    pre.remove()
    post.remove()
    opt.step()
    assert len(calls) == 2 and w.data.item() == 0.0


def test_repr_lists_the_groups():
    opt, _ = _sgd_with_state()
    text = repr(opt)
    assert text.startswith("SGD (") and text.endswith(")")
    assert "Parameter Group 0" in text and "Parameter Group 1" in text
    assert "    lr: 0.1" in text and "    lr: 0.05" in text and "momentum: 0.9" in text
    assert "params" not in text


# ----------------------------------------------------------------- state_dict
def test_state_dict_layout_is_pytorchs():
    opt, (a, b, c) = _sgd_with_state()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1]  # c has had no gradient, hence no state
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert set(sd["param_groups"][0]) == set(opt.defaults) | {"params"}
    assert sd["param_groups"][1]["lr"] == 0.05
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0, 1.0])
    opt.step()  # the saved dict is a copy
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0, 1.0])


def test_load_state_dict_rejects_a_different_layout_and_changes_nothing():
    opt, params = _sgd_with_state()
    before = _snapshot(opt, params)
    one_group = optim.SGD([_tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(one_group.state_dict())
    _assert_same(_snapshot(opt, params), before)

    sd = opt.state_dict()
    sd["param_groups"][1]["params"] = [1]
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(sd)
    _assert_same(_snapshot(opt, params), before)

    sd = opt.state_dict()
    sd["state"][1]["momentum_buffer"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*shape \(1, 1\)"):
        opt.load_state_dict(sd)
    _assert_same(_snapshot(opt, params), before)


def test_loaded_state_is_copied_never_aliased():
    opt, params = _sgd_with_state()
    sd = opt.state_dict()
    fresh = optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.1,
                      momentum=0.9)
    fresh.load_state_dict(sd)
    loaded = fresh.state[params[0]]["momentum_buffer"].copy()
    sd["state"][0]["momentum_buffer"] += 100.0
    sd["param_groups"][1]["lr"] = 99.0
    np.testing.assert_array_equal(fresh.state[params[0]]["momentum_buffer"], loaded)
    assert fresh.param_groups[1]["lr"] == 0.05
    assert fresh.param_groups[1]["params"][1] is params[2]


def test_loaded_state_is_cast_to_the_parameter_dtype_and_step_kept():
    w64 = _tensor([1.0, -2.0, 3.0], np.float64)
    source = _class("Adam")([w64], lr=0.1)
    for _ in range(3):
        source.step(_closure(source, [w64], lambda ps: (ps[0] ** 2).sum()))
    w32 = _tensor([1.0, -2.0, 3.0], np.float32)
    target = optim.Adam([w32], lr=0.1)
    target.load_state_dict(source.state_dict())
    state = target.state[w32]
    assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == np.float32
    assert state["step"] == 3 and type(state["step"]) is type(source.state[w64]["step"])
    target.step(_closure(target, [w32], lambda ps: (ps[0] ** 2).sum()))
    assert w32.data.dtype == np.float32 and state["step"] == 4


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("name", ALL_PYTORCH)
def test_resuming_from_a_checkpoint_is_bit_identical(name, how):
    params = _quadratic_params()
    opt = _make(name, params)
    for _ in range(100):
        opt.step(_closure(opt, params))
    uninterrupted = [p.data.copy() for p in params]

    params = _quadratic_params()
    opt = _make(name, params)
    for _ in range(60):
        opt.step(_closure(opt, params))
    sd = opt.state_dict()
    saved = copy.deepcopy(sd) if how == "deepcopy" else pickle.loads(pickle.dumps(sd))
    resumed = [_tensor(p.data.copy()) for p in params]
    fresh = _make(name, resumed)
    fresh.load_state_dict(saved)
    for _ in range(40):
        fresh.step(_closure(fresh, resumed))
    for expected, p in zip(uninterrupted, resumed):
        assert np.array_equal(expected, p.data)


# ----------------------------------------------------------------- shapes, dtypes, steps
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ALL_PYTORCH)
def test_every_shape_and_dtype(name, dtype):
    rng = np.random.default_rng(0)
    shapes = [(), (1, 0, 2), (7,), (3, 5)]
    params = [_tensor(rng.standard_normal(shape), dtype) for shape in shapes]
    opt = _make(name, params)
    loss_fn = lambda ps: sum(((p - 0.5) ** 2).sum() for p in ps)  # noqa: E731
    for _ in range(3):
        opt.step(_closure(opt, params, loss_fn))
    for p, shape in zip(params, shapes):
        assert p.data.dtype == dtype and p.data.shape == shape
        assert not np.isnan(p.data).any()
        for value in opt.state.get(p, {}).values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert value.dtype == dtype


@pytest.mark.parametrize("name", [n for n in ALL_PYTORCH if n != "LBFGS"])
def test_step_count_lives_in_each_parameters_state(name):
    active, frozen = _tensor([1.0, 2.0]), _tensor([3.0])
    frozen.requires_grad = False
    opt = _make(name, [active, frozen])
    loss_fn = lambda ps: ((ps[0] - 0.5) ** 2).sum() + ((ps[1] - 0.5) ** 2).sum()  # noqa: E731
    for _ in range(5):
        opt.step(_closure(opt, [active, frozen], loss_fn))
    assert not opt.state.get(frozen) and frozen.data.tolist() == [3.0]
    frozen.requires_grad = True
    for _ in range(2):
        opt.step(_closure(opt, [active, frozen], loss_fn))
    assert frozen.data.tolist() != [3.0]
    if name != "SGD":  # SGD keeps no step count, as in PyTorch
        assert opt.state[active]["step"] == 7 and opt.state[frozen]["step"] == 2


CONVERGENCE_LR = {"SGD": 0.1, "Adagrad": 0.5, "RMSprop": 0.01, "Adadelta": 1.0, "Adam": 0.05,
                  "AdamW": 0.05, "NAdam": 0.05, "RAdam": 0.05, "Adamax": 0.05, "Rprop": 0.01,
                  "ASGD": 0.1, "LBFGS": 1.0}


@pytest.mark.parametrize("name", ALL_PYTORCH)
def test_each_optimizer_reduces_a_convex_quadratic(name):
    params = [_tensor(np.full(3, 2.0)), _tensor(np.full((2, 2), -2.0))]
    opt = _class(name)(params, **{**SETTINGS[name], "lr": CONVERGENCE_LR[name]})
    start = float(_quadratic_loss(params).data)
    minimum = -0.5 * _minimum_value()
    for _ in range(300):
        opt.step(_closure(opt, params))
    final = float(_quadratic_loss(params).data)
    # Adadelta's first steps are about sqrt(eps) long: it is slow to start, by design.
    limit = 0.5 if name == "Adadelta" else 0.01
    assert (final - minimum) / (start - minimum) < limit, f"{name}: {start} -> {final}"


def _minimum_value() -> float:
    """bᵀA⁻¹b of the test quadratic (its minimum is −½ bᵀA⁻¹b)."""
    rng = np.random.default_rng(17)
    q, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    a = q @ np.diag(np.geomspace(0.5, 4.0, 7)) @ q.T
    b = rng.standard_normal(7)
    return float(b @ np.linalg.solve(a, b))


def test_loading_a_checkpoint_without_a_newer_option_gives_it_the_default():
    w = minigrad.tensor(np.ones(3), requires_grad=True)
    opt = optim.NAdam([w], lr=0.01, decoupled_weight_decay=True)
    saved = opt.state_dict()
    del saved["param_groups"][0]["decoupled_weight_decay"]  # as from an older PyTorch
    fresh = optim.NAdam([w], lr=0.01)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["decoupled_weight_decay"] is False
    assert fresh.param_groups[0]["lr"] == 0.01

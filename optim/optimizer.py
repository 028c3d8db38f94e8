"""The optimizer base class: parameter groups, per-parameter state, hooks, checkpoints.

An optimizer only needs objects with ``.data`` and ``.grad`` arrays (``minigrad``
Tensors). A concrete optimizer is a thin shell around its update function. It declares,
as class attributes the base class reads:

* ``ranges`` – ``{group key: check}``, the allowed range of each hyper-parameter
  (:mod:`optim.checks`); every group is checked before anything is stored;
* ``state_names`` – the state arrays that have the parameter's shape (checked when a
  checkpoint is loaded);
* ``needs_closure`` – True when ``step`` must be given a closure (LBFGS, SAM, ...);
* ``needs_2d`` – True when every parameter must be a matrix (Muon);

and writes two short methods (fused kernels for them live in :mod:`optim.kernels`):

* ``_init_state(p, group)`` – the per-parameter state dict, created lazily on the first
  step that sees a gradient for ``p`` (like PyTorch); a loaded checkpoint must hold its
  entries, and its arrays' dtypes are the ones loaded arrays are cast to;
* ``_update(p, grad, state, group)`` – one step for one parameter: one call of the
  ``*_update`` function of the optimizer's own file, linking the group's
  hyper-parameters and the state to the function's arguments.

``grad`` reaches ``_update`` read-only (it is ``p.grad`` itself, or ``-p.grad`` with
``maximize``): an update function that tried ``grad += ...`` would corrupt ``.grad``,
so NumPy raises instead. Write ``grad = grad + ...``.

Everything else — validation, groups, ``zero_grad``, hooks, ``state_dict`` — lives here
and behaves like ``torch.optim.Optimizer``.
"""
from __future__ import annotations

import copy
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable, Optional

import numpy as np

from .checks import check_betas, check_range  # noqa: F401  (re-exported: optim.optimizer.check_range)
from .kernels import (check_backend, get_default_backend, group_kernel_for, kernel_for,
                      resolve_backend)

# Switches that choose between PyTorch's own implementations (for-each loops, fused CUDA
# kernels, CUDA graphs, autograd through the step). Every optimizer here accepts them so
# that PyTorch code runs unchanged, and ignores them: there is one implementation.
PYTORCH_ONLY_SWITCHES = ("foreach", "fused", "capturable", "differentiable")

class _RequiredParameter:
    """Marker for a hyper-parameter that has no default (SGD's ``lr`` in old PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of every optimizer (PyTorch's ``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, tensor)`` pairs (as from ``model.named_parameters()``), or
        dicts, each a parameter group: ``{"params": [...], "lr": 0.1, ...}``.
    defaults : dict
        Hyper-parameters used by groups that do not set their own.
    backend : {None, "auto", "numpy", "numba", "cupy"}, default None
        Which implementation updates the parameters (:mod:`optim.kernels`): None follows
        the project default (``optim.set_default_backend``, "auto" unless changed). It is
        a property of this optimizer object, not a hyper-parameter: it is kept out of the
        groups, so ``state_dict`` has PyTorch's layout and a checkpoint loads under any
        backend.

    Attributes
    ----------
    param_groups : list of dict
        ``"params"`` plus every hyper-parameter, one dict per group.
    state : dict
        Per-parameter state dicts, keyed by the parameter object.
    """

    #: ``{group key: check}``: the hyper-parameters checked in every group (optim.checks).
    ranges: dict = {}
    #: Names of the state arrays that have the parameter's shape.
    state_names: tuple = ()
    #: True when ``step()`` must be given a closure that re-evaluates the loss.
    needs_closure: bool = False
    #: True when every parameter must be 2-D (a weight matrix), as for Muon.
    needs_2d: bool = False

    def __init__(self, params: Iterable, defaults: dict, backend: Optional[str] = None):
        if backend is not None:
            check_backend(backend)  # a missing numba or GPU fails here, before any change
        self.backend = backend
        self.defaults = dict(defaults)
        self.state: dict = defaultdict(dict)
        self.param_groups: list = []
        self._step_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
        self._step_post_hooks: "OrderedDict[int, Callable]" = OrderedDict()
        checked: list = []
        for group in _as_group_list(params):  # every group is validated before any is kept
            checked.append(self._checked_group(group, existing=checked))
        self.param_groups = checked

    # ----------------------------------------------------------------- groups
    def _validate_group(self, group: dict) -> None:
        """Run the class's declared ``ranges`` on a complete group.

        Optimizers whose arguments constrain each other (SGD's Nesterov needs momentum)
        override this, call ``super()._validate_group(group)`` and add their check.
        """
        for key, check in self.ranges.items():
            check(group[key])

    def _checked_group(self, group: dict, existing: list) -> dict:
        """A complete, validated copy of ``group``; raises before anything changes."""
        if not isinstance(group, dict):
            raise TypeError(f"param group must be a dict, got {type(group).__name__}")
        params, names = _split_names(group["params"])
        for position, p in enumerate(params):
            _check_param(p, position)
            if self.needs_2d and len(p.shape) != 2:
                raise ValueError(
                    f"{type(self).__name__} only optimizes 2-D parameters (weight matrices), "
                    f"but parameter {position} of the group has shape {tuple(p.shape)}; give "
                    "biases, gains and embeddings to another optimizer in its own group")
        if len(set(map(id, params))) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        full = {key: value for key, value in group.items() if key != "params"}
        for key, default in self.defaults.items():
            if default is required and key not in full:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {key}")
            full.setdefault(key, default)
        full["params"] = params
        if names is not None:
            full["param_names"] = names
        self._validate_group(full)
        taken = {id(p) for g in existing for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        return full

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (e.g. layers unfrozen during fine-tuning) with its own settings."""
        self.param_groups.append(self._checked_group(param_group, existing=self.param_groups))

    # ----------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.fill(0)

    def step(self, closure: Optional[Callable] = None):
        """One update of every parameter that has a gradient; returns the closure's loss.

        ``closure`` re-evaluates the model and returns the loss (needed by LBFGS; others
        just call it first).
        """
        if closure is None and self.needs_closure:
            raise TypeError(f"{type(self).__name__}.step() needs a closure that re-evaluates "
                            "the model (zero_grad, loss, backward) and returns the loss")
        for hook in list(self._step_pre_hooks.values()):
            result = hook(self, (), {})
            if result is not None:
                raise RuntimeError("optimizer step pre-hooks must return None")
        loss = self._step(closure)
        for hook in list(self._step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def _step(self, closure):
        """The update itself: for each group and parameter, update with its gradient.

        The update is ``self._update`` (the reference), or the fused kernel that the
        optimizer's backend picks for this parameter (:mod:`optim.kernels`). A backend
        with a group kernel (CuPy: one launch for many tensors) gets the group's
        parameters all at once, after the loop.
        """
        loss = _evaluate(closure)
        backend = self.backend or get_default_backend()
        for group in self.param_groups:
            batches: dict = {}  # group kernel -> the (p, grad, state) it updates at once
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = read_only(-p.grad if group.get("maximize", False) else p.grad)
                state = self.state[p]
                if not state:
                    state.update(self._init_state(p, group))
                group_kernel = self._group_kernel(backend, p)
                if group_kernel is not None:
                    batches.setdefault(group_kernel, []).append((p, grad, state))
                    continue
                update = self._kernel(backend, p, grad, state) or self._update
                update(p, grad, state, group)
                p._version += 1  # the values changed in place: graphs that saved p are stale
            for group_kernel, batch in batches.items():
                params, grads, states = (list(column) for column in zip(*batch))
                group_kernel(params, grads, states, group)
                for p in params:
                    p._version += 1
        return loss

    def _group_kernel(self, backend: str, p) -> Optional[Callable]:
        """The kernel that updates ``p`` together with the rest of its group, or None."""
        if backend == "numpy":
            return None
        chosen = resolve_backend(backend, p)
        return None if chosen == "numpy" else group_kernel_for(self, chosen)

    def _kernel(self, backend: str, p, grad, state: dict) -> Optional[Callable]:
        """The fused kernel that updates ``p`` under ``backend``, or None for ``_update``.

        None when the backend resolves to the reference for this parameter, when no kernel
        is registered for this class, or when the arrays are not what a flat kernel can
        update in place (not C-contiguous, e.g. a strided view; a gradient of another dtype).
        """
        if backend == "numpy":
            return None
        chosen = resolve_backend(backend, p)
        if chosen == "numpy":
            return None
        kernel = kernel_for(self, chosen)
        if kernel is None or not _flat_kernel_can_take(p.data, grad, state):
            return None
        return kernel

    def _init_state(self, p, group: dict) -> dict:
        """The state a parameter starts with (empty for plain SGD)."""
        return {}

    def _update(self, p, grad, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    # ----------------------------------------------------------------- hooks
    def register_step_pre_hook(self, hook: Callable) -> "RemovableHandle":
        """Call ``hook(optimizer, args, kwargs)`` before every step."""
        return RemovableHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> "RemovableHandle":
        """Call ``hook(optimizer, args, kwargs)`` after every step."""
        return RemovableHandle(self._step_post_hooks, hook)

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """PyTorch's layout: parameters replaced by their position across all groups.

        ``{"state": {0: {...}, 3: {...}}, "param_groups": [{"lr": ..., "params": [0, 1]}, ...]}``.
        Arrays are copied, so later steps do not change a saved dict.
        """
        index_of: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {index_of[id(p)]: _copy_state(s) for p, s in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a checkpoint made by :meth:`state_dict` (validated before any change).

        Every saved per-parameter state must hold the entries a fresh state of this
        optimizer has (see :meth:`_fresh_state`), so a checkpoint of another optimizer
        class is rejected here, not at the next step. The loaded arrays are copied onto
        each parameter's array module, with the dtype the optimizer keeps them in (the
        fresh state's dtype; otherwise, as in PyTorch, floating and integer arrays take
        the dtype of a floating parameter); the step counter keeps its type.
        """
        for key in ("state", "param_groups"):
            if not isinstance(state_dict, dict) or key not in state_dict:
                raise ValueError(f"{type(self).__name__}.load_state_dict expects a dict with "
                                 f"'state' and 'param_groups', as state_dict() returns; this "
                                 f"one has no '{key}'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} saved, {len(self.param_groups)} in this optimizer")
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {number} has {len(saved['params'])} saved "
                    f"parameters and {len(group['params'])} here")
        param_of = {}
        for saved, group in zip(saved_groups, self.param_groups):
            param_of.update(zip(saved["params"], group["params"]))
        for index, saved_state in state_dict["state"].items():
            if index not in param_of:
                if isinstance(index, str):
                    raise ValueError(
                        f"loaded state has the string key {index!r}, but parameters are "
                        "numbered by ints (a state dict that went through JSON has string "
                        "keys: convert them back with int() before loading)")
                raise ValueError(f"loaded state refers to parameter {index}, which no group holds")
            _check_state_shapes(saved_state, param_of[index], index, self.state_names)

        new_groups = []
        group_of = {}
        for saved, group in zip(saved_groups, self.param_groups):
            restored = {k: copy.deepcopy(v) for k, v in saved.items()
                        if k != "params" and k not in PYTORCH_ONLY_SWITCHES}
            restored["params"] = group["params"]
            for key, default in self.defaults.items():  # options newer than the checkpoint
                restored.setdefault(key, default)
            if "param_names" not in saved and "param_names" in group:
                restored["param_names"] = group["param_names"]
            new_groups.append(restored)
            group_of.update((id(p), restored) for p in group["params"])
        new_state: dict = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            p = param_of[index]
            fresh = self._fresh_state(p, group_of[id(p)])
            _check_state_keys(saved_state, fresh, index, type(self).__name__)
            new_state[p] = {key: _cast_like(value, p, key, like=fresh.get(key))
                            for key, value in saved_state.items()}
        self.param_groups = new_groups
        self.state = new_state

    def _fresh_state(self, p, group: dict) -> dict:
        """The state ``_init_state`` creates for ``p`` in ``group``: what a loaded one must hold.

        Its keys are the entries the update reads, and its arrays have the dtypes the
        optimizer keeps (8-bit Adam's uint8 codes, float32 scales). Random numbers an
        ``_init_state`` draws (SophiaH's probe seed) are given back, so that loading a
        checkpoint does not move the random stream.
        """
        from minigrad.random import default_generator

        generator = default_generator()
        position = generator.bit_generator.state
        try:
            return self._init_state(p, group)
        finally:
            generator.bit_generator.state = position

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups,
                "backend": self.backend}

    def __setstate__(self, state: dict) -> None:
        self.backend = None
        self.__dict__.update(state)
        self._step_pre_hooks = OrderedDict()
        self._step_post_hooks = OrderedDict()

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        if self.backend is not None:
            lines.append(f"backend: {self.backend}")
        lines.append(")")
        return "\n".join(lines)


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` unregisters."""

    _next_id = 0

    def __init__(self, registry: "OrderedDict[int, Callable]", hook: Callable):
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1
        self._registry = registry
        registry[self.id] = hook

    def remove(self) -> None:
        self._registry.pop(self.id, None)


def _evaluate(closure):
    """Run the closure with gradients enabled (it usually calls ``backward``)."""
    if closure is None:
        return None
    from minigrad import enable_grad

    with enable_grad():
        return closure()


def _as_group_list(params) -> list:
    """Normalise the ``params`` argument to a list of group dicts (or raise TypeError)."""
    from minigrad import Tensor

    if isinstance(params, Tensor):
        raise TypeError("params argument given to the optimizer should be an iterable of "
                        f"Tensors or dicts, but got {type(params).__name__}")
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                        "the ordering of tensors in sets will change between runs. Please use a "
                        "list instead.")
    items = list(params)
    if not items:
        raise ValueError("optimizer got an empty parameter list")
    if not isinstance(items[0], dict):
        items = [{"params": items}]
    for group in items:
        if not isinstance(group, dict):
            raise TypeError(f"param groups must all be dicts, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError("a param group must have a 'params' entry")
        if isinstance(group["params"], (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
    return items


def _split_names(params):
    """``[p, ...]`` or ``[(name, p), ...]`` (or one tensor) -> (params, names or None)."""
    from minigrad import Tensor

    if isinstance(params, Tensor):
        return [params], None
    params = list(params)
    if params and all(isinstance(x, tuple) and len(x) == 2 for x in params):
        names = [name for name, _ in params]
        return [p for _, p in params], names
    return params, None


def _check_param(p, position: int) -> None:
    if not (hasattr(p, "data") and hasattr(p, "grad")):
        raise TypeError(f"optimizer can only optimize Tensors, but parameter {position} is a "
                        f"{type(p).__name__}")
    if getattr(p, "grad_fn", None) is not None:
        raise ValueError(f"can't optimize a non-leaf Tensor (parameter {position})")


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)


def _copy_state(state: dict) -> dict:
    """A copy of one parameter's state on the host: CuPy arrays become NumPy arrays."""
    return {k: _host_copy(v) for k, v in state.items()}


def _host_copy(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_host_copy(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.copy()
    if _is_array(value):
        from minigrad.backend import to_device

        return to_device(value, "cpu")
    return copy.deepcopy(value)


def _flat_kernel_can_take(data, grad, state: dict) -> bool:
    """Whether a kernel over flat arrays updates exactly ``data`` and the state in place.

    ``reshape(-1)`` of a strided view is a copy, and a kernel would update that copy:
    such parameters (and mixed-dtype gradients) take the reference update instead.
    """
    if data.dtype.kind != "f" or grad.dtype != data.dtype or not data.flags.c_contiguous \
            or not grad.flags.c_contiguous:
        return False
    return all(value.flags.c_contiguous for value in state.values()
               if _is_array(value))


def read_only(array):
    """A read-only view of a NumPy array (CuPy arrays, which have no such flag, pass as is).

    The optimizers hand the gradient to their update functions through this, so that an
    in-place edit of ``grad`` fails loudly instead of changing ``p.grad``.
    """
    if isinstance(array, np.ndarray) and array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


def _check_state_shapes(saved_state: dict, p, index, state_names) -> None:
    for key, value in saved_state.items():
        if key in state_names and _is_array(value) and tuple(value.shape) != tuple(p.shape):
            raise ValueError(
                f"loaded state for parameter {index} has '{key}' of shape {tuple(value.shape)}, "
                f"but the parameter has shape {tuple(p.shape)}")


def _check_state_keys(saved_state: dict, fresh: dict, index, optimizer: str) -> None:
    """The saved state must hold every entry of a fresh one, arrays of the same shapes."""
    for key, value in fresh.items():
        if key not in saved_state:
            raise ValueError(
                f"loaded state for parameter {index} has no '{key}', which {optimizer} keeps "
                "for every parameter it has stepped (was the state dict saved by another "
                "optimizer?)")
        _check_like(saved_state[key], value, f"parameter {index} has '{key}'", optimizer)


def _check_like(saved, fresh, where: str, optimizer: str) -> None:
    """An array where the fresh state has one, of its shape; lists item by item."""
    if _is_array(fresh):
        if not _is_array(saved):
            raise ValueError(f"loaded state for {where} = {type(saved).__name__}, but "
                             f"{optimizer} keeps an array of shape {tuple(fresh.shape)} there")
        if tuple(saved.shape) != tuple(fresh.shape):
            raise ValueError(f"loaded state for {where} of shape {tuple(saved.shape)}, but "
                             f"{optimizer} keeps it in shape {tuple(fresh.shape)}")
    elif isinstance(fresh, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(fresh):
            raise ValueError(f"loaded state for {where} that is not a list of "
                             f"{len(fresh)} items, as {optimizer} keeps there")
        for number, (saved_item, fresh_item) in enumerate(zip(saved, fresh)):
            _check_like(saved_item, fresh_item, f"{where}[{number}]", optimizer)


def _cast_like(value, p, key: str, like=None):
    """A copy of a saved state value, on the parameter's array module, in the right dtype.

    ``like`` is the value a fresh state holds under ``key``: an array there gives the
    dtype (8-bit codes stay uint8). Without one, floating and integer arrays take the dtype
    of a floating parameter, as in PyTorch. The ``step`` counter and non-array values are
    copied as they are; lists and tuples (LBFGS's history, SOAP's factors) item by item.
    """
    if isinstance(value, (list, tuple)):
        likes = like if isinstance(like, (list, tuple)) and len(like) == len(value) \
            else [None] * len(value)
        return type(value)(_cast_like(item, p, key, like=item_like)
                           for item, item_like in zip(value, likes))
    if key == "step" or not _is_array(value):
        return copy.deepcopy(value)
    xp = p.xp if hasattr(p, "xp") else np
    array = xp.asarray(value)
    if _is_array(like):
        return array.astype(like.dtype, copy=True)
    if array.dtype.kind in "biuf" and p.data.dtype.kind == "f":
        return array.astype(p.data.dtype, copy=True)
    return array.copy()

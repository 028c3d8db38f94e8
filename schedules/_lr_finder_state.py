"""What the LR range test must put back: a snapshot of a model and its optimizer."""
from __future__ import annotations

import copy

_MISSING = object()


def unique_params(model, optimizer) -> list:
    """Every parameter of the model and of the optimizer's groups, once each, in order."""
    seen, params = set(), []
    groups = [list(model.parameters())] + [group["params"] for group in optimizer.param_groups]
    for group in groups:
        for p in group:
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def clear_grads(model, optimizer) -> None:
    """Set every gradient to None, so that each step starts from fresh gradients."""
    for p in unique_params(model, optimizer):
        p.grad = None


class Snapshot:
    """Everything :meth:`LRFinder.range_test` may change, copied so that it can be put back.

    ``model.state_dict()`` and ``optimizer.state_dict()`` are deep-copied and loaded back.
    Loading an optimizer state dict builds new group dicts; the original group dicts (which
    a scheduler or the caller may hold) are refilled with their saved contents and put back
    in place, so that the optimizer afterwards holds the very same objects as before. The
    same goes for the ``state`` mapping. Gradients, parameters outside the model, the
    modules' train/eval flags and the scheduler's ``_opt_called`` flag are saved too.
    """

    def __init__(self, model, optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.model_state = copy.deepcopy(model.state_dict())
        self.optimizer_state = copy.deepcopy(optimizer.state_dict())
        self.group_list = optimizer.param_groups
        self.groups = [(group, {key: (value if key == "params" else copy.deepcopy(value))
                                for key, value in group.items()})
                       for group in optimizer.param_groups]
        self.state_mapping = getattr(optimizer, "state", None)
        model_ids = {id(p) for p in model.parameters()}
        self.params = []  # (param, grad object, copy of grad, copy of data or None)
        for p in unique_params(model, optimizer):
            grad = p.grad
            data = None if id(p) in model_ids else p.data.copy()
            self.params.append((p, grad, None if grad is None else grad.copy(), data))
        modules = model.modules() if callable(getattr(model, "modules", None)) else [model]
        self.training = [(m, m.training) for m in modules if hasattr(m, "training")]
        self.opt_called = optimizer.__dict__.get("_opt_called", _MISSING)

    def restore(self) -> None:
        model, optimizer = self.model, self.optimizer
        model.load_state_dict(self.model_state)
        optimizer.load_state_dict(self.optimizer_state)
        for group, saved in self.groups:
            group.clear()
            group.update(saved)
        self.group_list[:] = [group for group, _ in self.groups]
        optimizer.param_groups = self.group_list
        if self.state_mapping is not None and optimizer.state is not self.state_mapping:
            loaded = optimizer.state
            self.state_mapping.clear()
            self.state_mapping.update(loaded)
            optimizer.state = self.state_mapping
        for p, grad, grad_copy, data in self.params:
            if data is not None:
                p.data[...] = data
            if grad is None:
                p.grad = None
            else:
                grad[...] = grad_copy
                p.grad = grad
        for module, mode in self.training:
            object.__setattr__(module, "training", mode)
        if self.opt_called is _MISSING:
            optimizer.__dict__.pop("_opt_called", None)
        else:
            optimizer._opt_called = self.opt_called

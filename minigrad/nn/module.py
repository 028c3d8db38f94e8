"""``Module``: the base class of every layer, with PyTorch's bookkeeping.

A module owns three ordered dictionaries, filled automatically by attribute assignment:

* ``_parameters`` – the :class:`~minigrad.Parameter` objects it trains;
* ``_buffers`` – Tensors it keeps but does not train (BatchNorm's running statistics);
* ``_modules`` – its sub-modules.

Everything else (``parameters()``, ``state_dict()``, ``train()``, ``repr``) is a walk
over that tree. The full name of a parameter is the path of attribute names that leads
to it, joined by dots: ``encoder.fc.weight``, or ``0.weight`` inside a ``Sequential``.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Callable, Iterator, Optional

import numpy as np

from .. import backend
from .._config import no_grad
from ..tensor import Parameter, Tensor

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of all layers and models; subclasses implement ``forward``.

    Examples
    --------
    >>> import minigrad
    >>> from minigrad import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.fc2(nn.functional.relu(self.fc1(x)))
    >>> [name for name, _ in TwoLayer().named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ registration
    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Add a parameter (or ``None``, for an optional one such as a missing bias)."""
        self._check_can_register(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nn.Parameter or None required)")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """Add a Tensor that is state but not trained; persistent ones go in ``state_dict``."""
        self._check_can_register(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Add a sub-module; it is then reachable as an attribute ``self.<name>``."""
        self._check_can_register(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def _check_can_register(self, name) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign to a module before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"name {name!r} must be non-empty and must not contain '.'")

    def _forget(self, name: str) -> None:
        """Remove ``name`` from every registry and from the plain attributes."""
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif "_parameters" in self.__dict__ and name in self._parameters:
            self.register_parameter(name, value)  # None allowed, anything else raises
        elif "_modules" in self.__dict__ and name in self._modules:
            self.add_module(name, value)
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Called only when normal lookup fails: look in the three registries.
        if name not in ("_parameters", "_buffers", "_modules"):
            for registry in ("_parameters", "_buffers", "_modules"):
                items = self.__dict__.get(registry)
                if items is not None and name in items:
                    return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if any(name in r for r in (self._parameters, self._buffers, self._modules)):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # ------------------------------------------------------------ walking the tree
    def named_modules(self, memo: Optional[set] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple]:
        """``(name, module)`` for this module (name ``''``) and all below it, depth first."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                child_prefix = f"{prefix}.{name}" if prefix else name
                yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple]:
        """``(name, module)`` for the direct sub-modules only."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple]:
        """Walk ``registry`` of every module, yielding each member once (shared ones too)."""
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        """``(dotted name, Parameter)`` pairs, in registration order, each parameter once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> "Module":
        """The sub-module at a dotted path such as ``'encoder.fc'`` (``''`` is self)."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}'")
            module = module._modules[part]
        return module

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every sub-module, then on self (e.g. a custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ training state
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=True``) or evaluation mode on self and all below."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: Dropout passes inputs through, BatchNorm uses running stats."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (``False``) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to ``None`` (default) or to zeros, in place."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.fill(0)

    # ------------------------------------------------------------ saving and loading
    def state_dict(self, destination: Optional[OrderedDict] = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """An ``OrderedDict`` from dotted name to the array of each parameter and buffer.

        Parameters first, then persistent buffers, module by module (PyTorch's order).
        The values are the ``.data`` arrays themselves, sharing memory with the model as
        in PyTorch: the next optimizer step changes them too. For a snapshot to restore
        later, copy: ``copy.deepcopy(model.state_dict())``. With ``keep_vars=True`` the
        Tensors themselves are stored.

        Examples
        --------
        >>> import copy, minigrad
        >>> layer = minigrad.nn.Linear(2, 1)
        >>> live, snapshot = layer.state_dict(), copy.deepcopy(layer.state_dict())
        >>> layer.bias.data += 1.0
        >>> bool((live["bias"] == layer.bias.data).all())
        True
        >>> bool((snapshot["bias"] < layer.bias.data).all())  # the values before the change
        True
        """
        destination = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.data
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = buffer if keep_vars else buffer.data
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Each value keeps the dtype of the tensor it is copied into. A shape mismatch is
        always an error; with ``strict=True`` (default) missing and unexpected keys are
        errors too. Nothing is copied unless every check passes. Returns the named tuple
        ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        for key, target in own.items():
            if key in state_dict:
                shape = tuple(np.shape(_array_of(state_dict[key])))
                if shape != target.shape:
                    problems.append(f"size mismatch for {key}: copying a param with shape "
                                    f"{shape} from checkpoint, the shape in current model "
                                    f"is {target.shape}.")
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: "
                            + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: "
                            + ", ".join(f'"{k}"' for k in missing) + ".")
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    value = backend.to_device(_array_of(state_dict[key]), target.device)
                    target.copy_(value.astype(target.dtype, copy=False))
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ device and dtype
    def to(self, *args, device: Optional[str] = None, dtype=None) -> "Module":
        """Move parameters and buffers to a device and/or cast floating ones to a dtype.

        ``module.to("cuda")``, ``module.to(np.float64)``, ``module.to("cpu", np.float32)``.
        The Parameter objects stay the same (an optimizer built earlier still holds
        them); only their ``.data`` (and ``.grad``) arrays are replaced.
        """
        for arg in args:
            if isinstance(arg, str):
                device = arg
            else:
                dtype = arg
        dtype = None if dtype is None else np.dtype(dtype)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, got {dtype}")

        def convert(array):
            if dtype is not None and array.dtype.kind == "f":
                array = array.astype(dtype, copy=False)
            return array if device is None else backend.to_device(array, device)

        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data = convert(tensor.data)
            if tensor.grad is not None:
                tensor.grad = convert(tensor.grad)
        return self

    def double(self) -> "Module":
        return self.to(dtype=np.float64)

    def float(self) -> "Module":
        return self.to(dtype=np.float32)

    def half(self) -> "Module":
        return self.to(dtype=np.float16)

    def cpu(self) -> "Module":
        return self.to(device="cpu")

    def cuda(self) -> "Module":
        return self.to(device="cuda")

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text between the parentheses of ``repr``; layers override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(child), 2)
                       for name, child in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (nested reprs)."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


def _array_of(value):
    """The array behind a state-dict value (a Tensor, an ndarray, or a number)."""
    if isinstance(value, Tensor):
        return value.data
    return value if backend.is_array(value) else np.asarray(value)

"""The Tensor's in-place operations: ``add_``, ``mul_``, ``addcmul_``, …, ``t[i] = v``
and the in-place operators ``t -= x`` (also ``+=``, ``*=``, ``/=``, ``@=``).

They change the tensor's own memory, as PyTorch's do, and bump its version counter, so
that a graph that saved the old value refuses to use it. Outside the graph (gradients
off, or nothing requires grad) they write the new values directly; the operators also
work inside the graph on a non-leaf tensor, which then becomes the output of the op.

:class:`minigrad.Tensor` inherits them from :class:`InPlaceMethods`.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from ._config import config

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

_LEAF_IN_PLACE = ("leaf Variable that requires grad is being used in an in-place operation: "
                  "wrap the change in `with minigrad.no_grad():` or work on `.data`")


class InPlaceMethods:
    """The in-place half of :class:`minigrad.Tensor` (a mixin: no state of its own)."""

    __slots__ = ()

    def _check_inplace(self) -> None:
        if config.grad_enabled and self.requires_grad:
            if self.is_leaf:
                raise RuntimeError("a " + _LEAF_IN_PLACE)
            raise RuntimeError(
                "in-place operation on a tensor in a graph: wrap it in "
                "`with minigrad.no_grad():` or work on `.data`"
            )

    def _inplace(self, new_values) -> "Tensor":
        self._check_inplace()
        xp = self.xp
        xp.copyto(self._data, xp.asarray(new_values), casting="same_kind")
        self._version += 1
        return self

    def add_(self, other, alpha: float = 1) -> "Tensor":
        """self ← self + alpha·other, in place."""
        return self._inplace(self._data + _scaled(other, alpha))

    def sub_(self, other, alpha: float = 1) -> "Tensor":
        """self ← self − alpha·other, in place."""
        return self._inplace(self._data - _scaled(other, alpha))

    def mul_(self, other) -> "Tensor":
        return self._inplace(self._data * _raw(other))

    def div_(self, other) -> "Tensor":
        return self._inplace(self._data / _raw(other))

    def copy_(self, other) -> "Tensor":
        return self._inplace(_raw(other))

    def fill_(self, value) -> "Tensor":
        return self._inplace(value)

    def zero_(self) -> "Tensor":
        return self._inplace(0)

    def clamp_(self, min=None, max=None) -> "Tensor":
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return self._inplace(self.xp.clip(self._data, _raw(min), _raw(max)))

    # PyTorch's in-place forms of what optimizers compute (Adam: exp_avg.lerp_(g, 1 - b1),
    # exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2), p.addcdiv_(m, denom, value=-lr))
    def addcmul_(self, tensor1, tensor2, value: float = 1) -> "Tensor":
        """self ← self + value·tensor1·tensor2, in place."""
        return self._inplace(self._data + _scaled(_raw(tensor1) * _raw(tensor2), value))

    def addcdiv_(self, tensor1, tensor2, value: float = 1) -> "Tensor":
        """self ← self + value·tensor1/tensor2, in place."""
        return self._inplace(self._data + _scaled(_raw(tensor1) / _raw(tensor2), value))

    def lerp_(self, end, weight) -> "Tensor":
        """self ← self + weight·(end − self), in place."""
        return self._inplace(self._data + _raw(weight) * (_raw(end) - self._data))

    def pow_(self, exponent) -> "Tensor":
        return self._inplace(self._data ** _raw(exponent))

    def sign_(self) -> "Tensor":
        return self._inplace(self.xp.sign(self._data))

    def sqrt_(self) -> "Tensor":
        return self._inplace(self.xp.sqrt(self._data))

    def abs_(self) -> "Tensor":
        return self._inplace(self.xp.abs(self._data))

    def neg_(self) -> "Tensor":
        return self._inplace(-self._data)

    def exp_(self) -> "Tensor":
        return self._inplace(self.xp.exp(self._data))

    def __setitem__(self, index, value) -> None:
        self._check_inplace()
        self._data[_raw_index(index)] = _raw(value)
        self._version += 1

    # `t -= x` changes t itself, as in PyTorch. Without these methods Python would bind
    # the name to a new tensor, and `for p in params: p -= lr * p.grad` would do nothing.
    def __iadd__(self, other) -> "Tensor":
        return self._inplace_operator("add", other)

    def __isub__(self, other) -> "Tensor":
        return self._inplace_operator("sub", other)

    def __imul__(self, other) -> "Tensor":
        return self._inplace_operator("mul", other)

    def __itruediv__(self, other) -> "Tensor":
        return self._inplace_operator("div", other)

    def __imatmul__(self, other) -> "Tensor":
        """``t @= m`` in place, as NumPy does; the product must keep t's shape."""
        return self._inplace_operator("matmul", other)

    def _inplace_operator(self, name: str, other) -> "Tensor":
        """self ← self (op) other in self's own memory; the version goes up by one.

        ``other`` may be a Tensor, an ndarray or a scalar. With gradients recorded and
        self or other requiring grad, the op enters the graph and self becomes its
        output (the old value is kept, copied, as the op's input): this is refused for a
        leaf that requires grad and for a view.
        """
        from . import ops
        from .tensor import Tensor  # noqa: F811  (the class itself, at run time)

        op = getattr(ops, name)
        other_requires_grad = isinstance(other, Tensor) and other.requires_grad
        if not (config.grad_enabled and (self.requires_grad or other_requires_grad)):
            self._write_in_place(op(self, other), name)
            return self
        if self.is_leaf and self.requires_grad:
            raise RuntimeError("a " + _LEAF_IN_PLACE)
        if self._base is not None:
            if self._base.is_leaf and self._base.requires_grad:
                raise RuntimeError("a view of a " + _LEAF_IN_PLACE)
            raise RuntimeError(
                "in-place operation on a view of another tensor while gradients are "
                "recorded: the tensor it views would not see the change in its graph. "
                "Use `t = t.clone()` first, or wrap the change in `with minigrad.no_grad():`"
            )
        before = Tensor._make(self._data.copy())  # the old value, input of the new node
        before.requires_grad, before.grad_fn = self.requires_grad, self.grad_fn
        result = op(before, before if other is self else other)
        if result.dtype != self.dtype and np.can_cast(result.dtype, self.dtype, "same_kind"):
            result = result.astype(self.dtype)
        self._write_in_place(result, name)
        if before.grad_fn is not None:  # the node that made the old value now outputs it
            before.grad_fn._output_ref = weakref.ref(before)
        self.requires_grad, self.grad_fn = True, result.grad_fn
        self.grad_fn._output_ref = weakref.ref(self)
        return self

    def _write_in_place(self, result: "Tensor", name: str) -> None:
        """Copy an op's result into self's memory after checking its shape and dtype."""
        values = result._data
        if values.shape != self.shape:
            raise RuntimeError(
                f"in-place {name}: the result has shape {values.shape}, but the tensor "
                f"changed in place has shape {self.shape}"
            )
        if not np.can_cast(values.dtype, self.dtype, "same_kind"):
            raise RuntimeError(
                f"in-place {name}: result type {values.dtype} can't be cast to the "
                f"tensor's dtype {self.dtype}"
            )
        self.xp.copyto(self._data, values, casting="same_kind")
        self._version += 1


def _raw(value):
    """The ndarray behind a Tensor, or the value itself."""
    return value._data if isinstance(value, InPlaceMethods) else value


def _scaled(value, alpha):
    """alpha·value, leaving value (and so an integer dtype) alone when alpha is 1."""
    value = _raw(value)
    return value if alpha == 1 else alpha * value


def _raw_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)

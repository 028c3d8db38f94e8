"""Attach the ops to ``Tensor`` as operators and methods (``a + b``, ``x.sum()``, …).

Kept apart from ``tensor.py`` so that the Tensor class stays short and every op lives in
exactly one place: the method is the function, with the tensor as first argument.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from . import arith, linalg, norms, pointwise, reduce, shape, unary
from ._util import _is_scalar, _to_dtype, result_type


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _add(self, other, *, alpha=1) -> Tensor:
    """self + alpha·other (PyTorch's ``add``; alpha scales the other operand)."""
    return arith.add(self, other if alpha == 1 else arith.mul(alpha, other))


def _sub(self, other, *, alpha=1) -> Tensor:
    """self − alpha·other (PyTorch's ``sub``)."""
    return arith.sub(self, other if alpha == 1 else arith.mul(alpha, other))


def _cast_to(dtype):
    def cast(self) -> Tensor:
        return self.astype(dtype)
    cast.__doc__ = f"A copy as {dtype} (differentiable), like PyTorch's method of that name."
    return cast


def _install() -> None:
    operators = {
        "__add__": arith.add, "__radd__": _reflected(arith.add),
        "__sub__": arith.sub, "__rsub__": _reflected(arith.sub),
        "__mul__": arith.mul, "__rmul__": _reflected(arith.mul),
        "__truediv__": arith.div, "__rtruediv__": _reflected(arith.div),
        "__pow__": arith.power, "__rpow__": _reflected(arith.power),
        "__matmul__": linalg.matmul, "__rmatmul__": _reflected(linalg.matmul),
        "__neg__": arith.neg, "__pos__": lambda self: self,
        "__getitem__": shape.getitem,
    }
    methods = {
        "mul": arith.mul, "div": arith.div,
        "pow": arith.power, "matmul": linalg.matmul,
        "exp": unary.exp, "log": unary.log, "sqrt": unary.sqrt, "abs": unary.abs,
        "sin": unary.sin, "cos": unary.cos, "tanh": unary.tanh, "sigmoid": unary.sigmoid,
        "relu": unary.relu, "erf": unary.erf, "clip": unary.clip, "clamp": unary.clip,
        "sum": reduce.sum, "mean": reduce.mean, "max": reduce.max, "min": reduce.min,
        "var": reduce.var, "std": reduce.std, "logsumexp": reduce.logsumexp,
        "argmax": reduce.argmax, "argmin": reduce.argmin,
        "reshape": shape.reshape, "view": shape.reshape, "transpose": shape.transpose,
        "permute": shape.permute, "swapaxes": shape.swapaxes, "squeeze": shape.squeeze,
        "unsqueeze": shape.unsqueeze, "flatten": shape.flatten, "expand": shape.expand,
        "broadcast_to": shape.broadcast_to,
        # what optimizer code written for PyTorch calls on tensors
        "add": _add, "sub": _sub, "neg": arith.neg, "sign": pointwise.sign,
        "square": pointwise.square, "reciprocal": pointwise.reciprocal,
        "rsqrt": pointwise.rsqrt, "lerp": pointwise.lerp, "addcmul": pointwise.addcmul,
        "addcdiv": pointwise.addcdiv, "maximum": unary.maximum, "minimum": unary.minimum,
        "clamp_min": lambda self, min: unary.clip(self, min=min),  # noqa: A006
        "clamp_max": lambda self, max: unary.clip(self, max=max),  # noqa: A006
        "norm": norms.norm, "amax": reduce.max, "amin": reduce.min,
        "isnan": pointwise.isnan, "isinf": pointwise.isinf, "isfinite": pointwise.isfinite,
        "float": _cast_to("float32"), "double": _cast_to("float64"),
        "half": _cast_to("float16"),
    }
    for name, fn in {**operators, **methods}.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: shape.transpose(self), doc="Axes reversed (NumPy's .T).")


def _comparison(op_name):
    """Comparisons are element-wise and give bool tensors outside the graph (no gradient).

    Both sides are first brought to one dtype by the promotion rules of arithmetic
    (``result_type``), as PyTorch does. An operand that is not a Tensor, an array or a
    number (None, a string, a list) gives ``NotImplemented``, so ``t == None`` is False
    and ``t != None`` True, like PyTorch.
    """
    def compare(self, other):
        if not (isinstance(other, Tensor) or backend.is_array(other) or _is_scalar(other)):
            return NotImplemented
        dtype = result_type(self, other)
        other = _to_dtype(other, dtype, self)._data
        return Tensor._make(getattr(self._data.astype(dtype, copy=False), op_name)(other))
    compare.__name__ = op_name
    return compare


_install()
for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Tensor, _name, _comparison(_name))
    setattr(Tensor, _name.strip("_"), getattr(Tensor, _name))  # t.gt(0), t.eq(u), ...

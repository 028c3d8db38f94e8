"""Attach the ops to ``Tensor`` as operators and methods (``a + b``, ``x.sum()``, …).

Kept apart from ``tensor.py`` so that the Tensor class stays short and every op lives in
exactly one place: the method is the function, with the tensor as first argument.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import arith, linalg, reduce, shape, unary


def _reflected(fn):
    return lambda self, other: fn(other, self)


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
        "add": arith.add, "sub": arith.sub, "mul": arith.mul, "div": arith.div,
        "pow": arith.power, "matmul": linalg.matmul,
        "exp": unary.exp, "log": unary.log, "sqrt": unary.sqrt, "abs": unary.abs,
        "sin": unary.sin, "cos": unary.cos, "tanh": unary.tanh, "sigmoid": unary.sigmoid,
        "relu": unary.relu, "erf": unary.erf, "clip": unary.clip, "clamp": unary.clip,
        "sum": reduce.sum, "mean": reduce.mean, "max": reduce.max, "min": reduce.min,
        "var": reduce.var, "std": reduce.std, "logsumexp": reduce.logsumexp,
        "reshape": shape.reshape, "view": shape.reshape, "transpose": shape.transpose,
        "permute": shape.permute, "swapaxes": shape.swapaxes, "squeeze": shape.squeeze,
        "unsqueeze": shape.unsqueeze, "flatten": shape.flatten, "expand": shape.expand,
        "broadcast_to": shape.broadcast_to,
    }
    for name, fn in {**operators, **methods}.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: shape.transpose(self), doc="Axes reversed (NumPy's .T).")


def _comparison(op_name):
    """Comparisons give boolean tensors outside the graph (no gradient)."""
    def compare(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(getattr(self.data, op_name)(other))
    compare.__name__ = op_name
    return compare


_install()
for _name in ("__lt__", "__le__", "__gt__", "__ge__"):
    setattr(Tensor, _name, _comparison(_name))

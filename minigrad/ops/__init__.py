"""All differentiable ops, as functions; ``methods.py`` attaches them to ``Tensor``."""
from .arith import add, div, mul, neg, power, sub
from .linalg import matmul
from .reduce import argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .shape import (broadcast_to, concatenate, expand, flatten, getitem, pad, permute,
                    reshape, squeeze, stack, sum_to, swapaxes, transpose, unsqueeze)
from .unary import (abs, clip, cos, erf, exp, gelu, leaky_relu, log, maximum, minimum, relu,
                    sigmoid, sin, softplus, sqrt, tanh, where)
from . import methods  # noqa: F401  (attaches operators and methods to Tensor)

cat = concatenate
clamp = clip
pow = power

__all__ = [
    "abs", "add", "argmax", "argmin", "broadcast_to", "cat", "clamp", "clip", "concatenate",
    "cos", "div", "erf", "exp", "expand", "flatten", "gelu", "getitem", "leaky_relu", "log",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "pad",
    "permute", "pow", "power", "relu", "reshape", "sigmoid", "sin", "softplus", "sqrt",
    "squeeze", "stack", "std", "sub", "sum", "sum_to", "swapaxes", "tanh", "transpose",
    "unsqueeze", "var", "where",
]

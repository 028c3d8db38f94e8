"""minigrad: a small tensor and autograd engine on NumPy (CuPy on the GPU).

>>> import minigrad
>>> x = minigrad.tensor([1.0, -2.0, 3.0], requires_grad=True)
>>> loss = (x ** 2).sum()
>>> loss.backward()
>>> x.grad
array([ 2., -4.,  6.], dtype=float32)
"""
from ._config import enable_grad, get_default_dtype, is_grad_enabled, no_grad, set_default_dtype
from .autograd import Function, grad
from .backend import cupy_available, get_array_module
from .random import manual_seed
from .tensor import Parameter, Tensor, tensor
from .ops import *  # noqa: F401,F403  (exp, log, sum, matmul, where, concatenate, ...)
from .ops import __all__ as _ops_all
from .ops.norms import norm
from .ops.pointwise import (addcdiv, addcmul, isfinite, isinf, isnan, lerp, reciprocal, rsqrt,
                            sign, square)
from .devices import device
from .creation import (arange, eye, full, linspace, ones, ones_like, rand, randn, zeros,
                       zeros_like)
from .gradcheck import gradcheck, GradcheckError
from . import amp, cuda, data, landscapes, monitor, nn, train  # noqa: E402  (so `minigrad.nn.Linear` just works)

float16 = __import__("numpy").float16
float32 = __import__("numpy").float32
float64 = __import__("numpy").float64
int64 = __import__("numpy").int64

__version__ = "0.1.0"

__all__ = [
    "Function", "GradcheckError", "Parameter", "Tensor", "arange", "cupy_available",
    "enable_grad", "eye", "full", "get_array_module", "get_default_dtype", "grad",
    "gradcheck", "is_grad_enabled", "linspace", "manual_seed", "no_grad", "ones",
    "ones_like", "rand", "randn", "set_default_dtype", "tensor", "zeros", "zeros_like",
    "float16", "float32", "float64", "int64",
    "addcdiv", "addcmul", "cuda", "device", "isfinite", "isinf", "isnan", "lerp", "norm",
    "reciprocal", "rsqrt", "sign", "square",
] + list(_ops_all)

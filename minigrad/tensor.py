"""The Tensor: an ndarray (``.data``), its gradient (``.grad``) and a link into the graph.

``.data`` is a NumPy array on the CPU (a CuPy array on the GPU) and ``.grad`` is a plain
array of the same shape and dtype, or ``None``, so optimizer code reads like the math:
``p.data -= lr * p.grad``.

Operators and methods here are thin: each forwards to an op in ``minigrad.ops``, where
the forward rule and its derivative sit side by side.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import autograd, backend
from ._config import config
from .autograd import _as_root_grad, run_backward


def _is_float(dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Use :func:`minigrad.tensor` to create one. Attributes:

    * ``data`` – the values, an ndarray;
    * ``grad`` – the accumulated gradient (ndarray) or ``None``;
    * ``requires_grad`` – whether operations on it are recorded;
    * ``grad_fn`` – the op that produced it (``None`` for a leaf).

    Notes
    -----
    ``backward()`` keeps the graph, so it may be called twice on the same output (like
    PyTorch's ``retain_graph=True``); gradients then add up. A version counter catches a
    tensor changed in place after an op saved it for backward: in-place methods
    (``add_``, ``mul_``, ``zero_``, ``copy_``, …) and assigning ``t.data = …`` (which
    ``t.data -= x`` does) raise the version. Writing through ``t.data[...] = …`` is not
    seen, exactly like PyTorch's ``.data``.
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_version", "_retains_grad",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to the Tensor's reflected op
    __array_priority__ = 1000

    def __init__(self, data, requires_grad: bool = False):
        data = _to_array(data, None)
        self._data = data
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._version = 0
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data) -> "Tensor":
        """Fast internal constructor: wrap an array that is already the right type."""
        t = object.__new__(cls)
        t._data = data
        t.grad = None
        t.requires_grad = False
        t.grad_fn = None
        t._version = 0
        t._retains_grad = False
        return t

    # ----------------------------------------------------------------- basic properties
    @property
    def data(self):
        """The values (ndarray). Assigning a new array bumps the version counter."""
        return self._data

    @data.setter
    def data(self, value) -> None:
        if not backend.is_array(value):
            value = np.asarray(value, dtype=self._data.dtype)
        self._data = value
        self._version += 1

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        """Number of elements (NumPy's ``size``; PyTorch's ``numel()``)."""
        return self._data.size

    def numel(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def xp(self):
        """The array module of ``data``: ``numpy`` or ``cupy``."""
        return backend.get_array_module(self._data)

    @property
    def device(self) -> str:
        return backend.device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ----------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Turn gradient tracking on or off for this leaf (in place); returns self."""
        if requires_grad and not _is_float(self.dtype):
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be turned off on a leaf tensor; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during ``backward()``."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        self._retains_grad = self.grad_fn is not None

    def backward(self, grad_output=None, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad_output`` may be omitted for a one-element output. The graph is kept, so
        ``backward`` may be called again (gradients accumulate). With
        ``create_graph=True`` the backward pass is itself recorded.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        seed = _as_root_grad(self, grad_output)
        run_backward([self], [seed], create_graph=create_graph)

    def _store_grad(self, g: "Tensor") -> None:
        """Accumulate gradient ``g`` into ``self.grad`` as an owned, writable array."""
        g = g._data
        if g.shape != self.shape:  # a 0-d gradient of a one-element tensor, say
            g = g.reshape(self.shape)
        if self.grad is None:
            # astype, not xp.array: an ndarray subclass (a row-sparse gradient) stays one
            self.grad = g.astype(self.dtype, order="C", copy=True)
        else:
            self.grad += g.astype(self.dtype, copy=False)

    def detach(self) -> "Tensor":
        """A new leaf sharing ``data`` with this tensor, outside the graph."""
        return Tensor._make(self._data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(
                f"only one element tensors can be converted to Python scalars, got shape {self.shape}"
            )
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (copied from the GPU if needed)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy()"
            )
        return backend.to_device(self._data, "cpu")

    def tolist(self):
        return backend.to_device(self._data, "cpu").tolist()

    def astype(self, dtype) -> "Tensor":
        """A copy with another dtype (differentiable between float dtypes)."""
        from .ops.shape import Cast

        return Cast(np.dtype(dtype))(self)

    def to(self, device_or_dtype) -> "Tensor":
        """Move to ``"cpu"``/``"cuda"`` (a new leaf), or cast to a dtype (differentiable)."""
        if isinstance(device_or_dtype, str) and device_or_dtype in ("cpu", "cuda", "gpu"):
            device = "cuda" if device_or_dtype == "gpu" else device_or_dtype
            if device == self.device:
                return self
            moved = backend.to_device(self._data, device)
            return Tensor(moved, requires_grad=self.requires_grad and self.is_leaf)
        return self.astype(device_or_dtype)

    def clone(self) -> "Tensor":
        """A differentiable copy."""
        from .ops.shape import Cast

        return Cast(self.dtype)(self)

    # ----------------------------------------------------------------- in-place ops
    def _check_inplace(self) -> None:
        if config.grad_enabled and self.requires_grad:
            kind = "a leaf tensor that requires grad" if self.is_leaf else "a tensor in a graph"
            raise RuntimeError(
                f"in-place operation on {kind}: wrap it in `with minigrad.no_grad():` "
                f"or work on `.data`"
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
        return self._inplace(self.xp.clip(self._data, min, max))

    def __setitem__(self, index, value) -> None:
        self._check_inplace()
        self._data[_raw_index(index)] = _raw(value)
        self._version += 1

    # ----------------------------------------------------------------- printing
    def __repr__(self) -> str:
        body = np.array2string(backend.to_device(self._data, "cpu"), separator=", ",
                               precision=4, prefix="tensor(")
        extras = []
        if self.dtype != config.default_dtype:
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __bool__(self) -> bool:
        if self.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {self.shape})"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __hash__(self) -> int:  # identity, so tensors can key optimizer state
        return id(self)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


class Parameter(Tensor):
    """A Tensor that is a trainable parameter: ``requires_grad=True`` by default.

    ``nn.Module`` registers every Parameter assigned to it as an attribute.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data._data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


autograd._tensor_class = Tensor  # Function.__call__ builds its outputs with it


def _raw(value):
    """The ndarray behind a Tensor, or the value itself."""
    return value._data if isinstance(value, Tensor) else value


def _scaled(value, alpha):
    """alpha·value, leaving value (and so an integer dtype) alone when alpha is 1."""
    value = _raw(value)
    return value if alpha == 1 else alpha * value


def _raw_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _to_array(obj, dtype, device: Optional[str] = None):
    """Turn ``obj`` into an ndarray following the dtype rules of :func:`tensor`."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if backend.is_array(obj):
        array = obj if dtype is None else obj.astype(dtype, copy=False)
    elif isinstance(obj, np.generic):
        array = np.asarray(obj, dtype=dtype)
    else:
        array = np.asarray(obj)
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        elif array.dtype.kind == "f" or array.dtype.kind == "O":
            array = array.astype(config.default_dtype)
        elif array.dtype.kind == "u" or array.dtype.kind == "i":
            array = array.astype(np.int64, copy=False)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"tensor: unsupported dtype {array.dtype}")
    if device is not None:
        array = backend.to_device(array, device)
    return array


def tensor(obj, requires_grad: bool = False, dtype=None, device: str = "cpu") -> Tensor:
    """Create a Tensor.

    Python numbers and lists become the default dtype (float32, see
    :func:`minigrad.set_default_dtype`; integers become int64, booleans bool); ndarrays
    and Tensors keep their dtype unless ``dtype`` is given. The data is copied.

    Examples
    --------
    >>> import minigrad
    >>> minigrad.tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> minigrad.tensor([[1, 2]]).shape
    (1, 2)
    """
    array = _to_array(obj, dtype, device)
    array = array.copy() if array is _raw(obj) else array
    return Tensor(array, requires_grad=requires_grad)

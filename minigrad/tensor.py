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
from ._inplace import InPlaceMethods, _raw
from .autograd import _as_root_grad, run_backward


def _is_float(dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


class _VersionCounter:
    """How many times some memory was changed in place.

    One counter is shared by a tensor, the views of it and its ``detach()``, since a
    change through any of them changes the values the others hold.
    """

    __slots__ = ("value",)

    def __init__(self, value: int = 0):
        self.value = value


class Tensor(InPlaceMethods):
    """An n-dimensional array that can record the operations applied to it.

    Use :func:`minigrad.tensor` to create one. Attributes:

    * ``data`` – the values, an ndarray;
    * ``grad`` – the accumulated gradient (ndarray) or ``None``;
    * ``requires_grad`` – whether operations on it are recorded;
    * ``grad_fn`` – the op that produced it (``None`` for a leaf).

    Notes
    -----
    ``backward()`` frees the graph it went through (like PyTorch): a second
    ``backward()`` through it raises unless the first one was given
    ``retain_graph=True``; gradients then add up. A version counter catches a tensor
    changed in place after an op saved it for backward: in-place methods (``add_``,
    ``mul_``, ``zero_``, ``copy_``, …), in-place operators (``t -= x``), ``t[i] = …`` and
    assigning ``t.data = …`` (which ``t.data -= x`` does) raise the version. Views
    (slices, ``reshape``, ``transpose``, …) and ``detach()`` share the counter of the
    tensor whose memory they use. Writing through ``t.data[...] = …`` is not seen,
    exactly like PyTorch's ``.data``.
    """

    __slots__ = ("_data", "_grad", "requires_grad", "grad_fn", "_vc", "_base", "_retains_grad",
                 "__weakref__")
    __array_priority__ = 1000

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """NumPy meets a Tensor: ``array (op) tensor`` and ``array (op)= tensor``.

        With ``out=`` (``array -= 0.1 * t``: NumPy writing into a plain array) the ufunc
        runs on the Tensors' ``.data`` and fills ``out``: a plain array, untracked. Else
        an arithmetic or comparison operator runs the Tensor's own operator, so
        ``array + t`` is a tracked Tensor as ``t + array`` is; other ufuncs (``np.exp(t)``)
        are refused: use ``minigrad.exp(t)`` or ``t.data``.
        """
        if out is not None:
            if method != "__call__" or any(isinstance(o, Tensor) for o in out):
                return NotImplemented
            return ufunc(*(_raw(x) for x in inputs), out=out, **kwargs)
        names = _UFUNC_OPERATORS.get(ufunc)
        if method != "__call__" or names is None or len(inputs) != 2 or kwargs:
            return NotImplemented
        left, right = inputs
        if isinstance(left, Tensor):
            return getattr(left, names[0])(right)
        return getattr(right, names[1])(left)

    def __init__(self, data, requires_grad: bool = False):
        data = _to_array(data, None)
        self._data = data
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._vc = _VersionCounter()
        self._base = None
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data) -> "Tensor":
        """Fast internal constructor: wrap an array that is already the right type."""
        t = object.__new__(cls)
        t._data = data
        t._grad = None
        t.requires_grad = False
        t.grad_fn = None
        t._vc = _VersionCounter()
        t._base = None
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
        if value is not self._data:  # new memory: no longer a view of anything
            self._vc = _VersionCounter(self._vc.value)
            self._base = None
        self._data = value
        self._vc.value += 1

    @property
    def grad(self):
        """The accumulated gradient: an array of ``data``'s shape, dtype and device, or None.

        Assigning checks all three, as PyTorch does, so a wrong gradient fails here
        instead of inside an optimizer (a (1,) gradient would broadcast into a (3,)
        momentum buffer; a float64 one would make float64 state). A Tensor is accepted
        and its array taken (a NumPy scalar becomes a 0-d array); an ndarray subclass (a
        row-sparse gradient) is kept as is.
        """
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if isinstance(value, Tensor):
                value = value._data
            elif isinstance(value, np.generic):  # NumPy's result of arithmetic on 0-d arrays
                value = np.asarray(value)
            if not backend.is_array(value):
                raise TypeError(f"assigned grad expected to be an ndarray, a Tensor or None, "
                                f"got {type(value).__name__}")
            if value.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: grad of shape "
                                   f"{value.shape} for a tensor of shape {self._data.shape}")
            if value.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: grad of dtype "
                                   f"{value.dtype} for a tensor of dtype {self._data.dtype}")
            if backend.device_of(value) != backend.device_of(self._data):
                raise RuntimeError(f"assigned grad has data located on a different device: "
                                   f"{backend.device_of(value)}, the tensor is on "
                                   f"{backend.device_of(self._data)}")
        self._grad = value

    @property
    def _version(self) -> int:
        """The in-place change counter that graphs compare against (shared with views)."""
        return self._vc.value

    @_version.setter
    def _version(self, value: int) -> None:
        self._vc.value = value

    def _share_storage_of(self, other: "Tensor") -> None:
        """Mark this tensor as a view of ``other``'s memory: one version counter for both."""
        self._vc = other._vc
        self._base = other if other._base is None else other._base

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

    def backward(self, grad_output=None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad_output`` may be omitted for a one-element output. Afterwards the graph is
        freed (what its ops saved is dropped), so a kept output, in a list of losses say,
        no longer holds the whole graph; a second ``backward`` through it raises. Pass
        ``retain_graph=True`` to keep it for another pass (gradients then accumulate).
        With ``create_graph=True`` the backward pass is itself recorded (and
        ``retain_graph`` defaults to True).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        seed = _as_root_grad(self, grad_output)
        run_backward([self], [seed], create_graph=create_graph, retain_graph=retain_graph)

    def _store_grad(self, g: "Tensor", owned: bool = False) -> None:
        """Accumulate gradient ``g`` into ``self.grad`` as an owned, writable array.

        The first gradient is copied, unless ``owned`` says that nothing else holds its
        memory (the backward pass decides, see ``autograd._NewGradients``): then the
        array itself becomes ``.grad`` when it already has the dtype and a C-contiguous,
        writable layout. Later gradients are added in place.
        """
        g = g._data
        if g.shape != self.shape:  # a 0-d gradient of a one-element tensor, say
            g = g.reshape(self.shape)
        if self._grad is None:
            flags = g.flags  # (CuPy arrays have no writeable flag: they always are)
            if (owned and g.dtype == self.dtype and flags.c_contiguous
                    and getattr(flags, "writeable", True)):
                self._grad = g  # shape, dtype and device already match: no check needed
            else:
                # astype, not xp.array: an ndarray subclass (a row-sparse gradient) stays one
                self.grad = g.astype(self.dtype, order="C", copy=True)
        else:
            self._grad += g.astype(self.dtype, copy=False)

    def detach(self) -> "Tensor":
        """A new leaf sharing ``data`` (and its version counter) with this tensor, outside
        the graph: an in-place change to either is seen by graphs that saved the other."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

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

    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> "Tensor":
        """Cast to a dtype (differentiable) and/or move to a device (a new leaf).

        ``t.to("cuda")``, ``t.to(minigrad.device("cuda:0"))``, ``t.to(np.float64)``,
        ``t.to("cpu", np.float32)``. A device without a GPU raises, naming the extra to
        install. ``non_blocking`` is accepted for PyTorch code and ignored.
        """
        for arg in args:
            if isinstance(arg, str) and not _names_dtype(arg):
                device = arg
            else:
                dtype = arg
        result = self if dtype is None else self.astype(dtype)
        if device is None or backend.check_device(device) == result.device:
            return result
        moved = backend.to_device(result._data, backend.check_device(device))
        return Tensor(moved, requires_grad=result.requires_grad and result.is_leaf)

    def cuda(self) -> "Tensor":
        """``to("cuda")``: a copy on the GPU (needs CuPy and a GPU)."""
        return self.to("cuda")

    def cpu(self) -> "Tensor":
        """``to("cpu")``: a NumPy-backed copy, or self when already on the CPU."""
        return self.to("cpu")

    def clone(self) -> "Tensor":
        """A differentiable copy."""
        from .ops.shape import Cast

        return Cast(self.dtype)(self)

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
        source = data if isinstance(data, Tensor) else None
        if source is not None:
            data = source._data
        super().__init__(data, requires_grad=requires_grad)
        if source is not None and self._data is source._data:  # same memory, same counter
            self._vc = source._vc

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


autograd._tensor_class = Tensor  # Function.__call__ builds its outputs with it

# ufunc -> (operator of a Tensor on the left, operator of a Tensor on the right)
_UFUNC_OPERATORS = {
    np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"), np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"), np.matmul: ("__matmul__", "__rmatmul__"),
    np.less: ("__lt__", "__gt__"), np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"), np.greater_equal: ("__ge__", "__le__"),
    np.equal: ("__eq__", "__eq__"), np.not_equal: ("__ne__", "__ne__"),
}

def _names_dtype(name: str) -> bool:
    """Whether a string passed to ``Tensor.to`` is a dtype ("float64"), not a device."""
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


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

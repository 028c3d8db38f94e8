"""Fast twins of the update functions, and the one place that chooses between them.

The update functions in ``optim/*.py`` are the reference: plain NumPy that reads like the
equations, several passes over memory per step. A *kernel* here does the same step for one
parameter in one fused pass: a numba ``prange`` loop on the CPU (``numba_*.py``) or an
elementwise CUDA kernel on the GPU (``cupy_elementwise.py``). The teaching code never
imports this package; only :meth:`optim.Optimizer._step` asks it for a kernel.

Backends
--------
* ``"numpy"``: the reference update (it runs on CuPy arrays too, through ``xp``);
* ``"numba"``: fused CPU kernels (needs the ``fast`` extra: ``pip install -e '.[fast]'``);
* ``"cupy"``: fused GPU kernels (needs CuPy and a GPU);
* ``"auto"``: per parameter, CuPy kernels for GPU parameters, numba kernels for CPU
  parameters with at least :data:`AUTO_NUMBA_MIN_SIZE` elements (when numba is
  installed), the reference otherwise.

Every optimizer takes ``backend=None`` (follow the project default,
:func:`get_default_backend`, "auto" unless :func:`set_default_backend` changed it) or one
of :data:`BACKENDS`. An optimizer without a kernel for the chosen backend, and any
parameter a kernel cannot take (not contiguous, mixed dtypes), silently uses the reference.

A kernel
--------
is registered with :func:`register` and has exactly the contract of the class's
``_update(p, grad, state, group)``: it updates ``p.data`` and the state arrays in place,
increments ``state["step"]`` where ``_update`` does, never writes ``grad`` and agrees with
the reference to rounding. An ``_update`` that also reads the optimizer (SophiaG's batch
size of the step in progress) gets a kernel registered with ``method=True``, written
``fn(optimizer, p, grad, state, group)`` and handed out bound to the optimizer.

Examples
--------
>>> import numpy as np, minigrad, optim
>>> from optim.kernels import resolve_backend
>>> small = minigrad.tensor(np.zeros(3, dtype=np.float32))
>>> resolve_backend("auto", small)        # too small for a kernel to pay off
'numpy'
>>> resolve_backend("numpy", small)
'numpy'
"""
from __future__ import annotations

import functools
import importlib
import types
from typing import Callable, Optional

import numpy as np

from minigrad.backend import cupy_available, get_array_module

#: The accepted values of ``backend=`` (and of :func:`set_default_backend`).
BACKENDS = ("auto", "numpy", "numba", "cupy")

#: "auto" uses numba for a CPU parameter with at least this many elements. Below it the
#: call overhead of a compiled kernel (about 3-5 µs) is not won back; measured with
#: benchmarks/optimizer_step.py, where numba Adam beats NumPy Adam from a few thousand
#: elements on (see the README's table).
AUTO_NUMBA_MIN_SIZE = 4096

#: The kernel modules each backend imports, lazily, the first time it is asked for.
_MODULES = {
    "numba": ("optim.kernels.numba_sgd", "optim.kernels.numba_adam",
              "optim.kernels.numba_adaptive", "optim.kernels.numba_modern",
              "optim.kernels.numba_factored", "optim.kernels.numba_sophia",
              "optim.kernels.numba_schedule_free", "optim.kernels.numba_quantized"),
    "cupy": ("optim.kernels.cupy_elementwise", "optim.kernels.cupy_multi_tensor",
             "optim.kernels.cupy_quantized"),
}

_registry: dict = {}          # (backend, optimizer class) -> kernel
_group_registry: dict = {}    # (backend, optimizer class) -> kernel of a whole group
_methods: set = set()         # the kernels registered with method=True
_loaded: dict = {}            # backend -> True once its modules are imported
_default_backend = "auto"

_FAST_EXTRA_HINT = "install the 'fast' extra: pip install -e '.[fast]'"


def register(backend: str, *optimizer_classes: type, method: bool = False) -> Callable:
    """Decorator: make ``fn(p, grad, state, group)`` the ``backend`` kernel of these classes.

    A class must be named explicitly: a subclass that keeps its parent's ``_update``
    (AdamW of Adam) is registered with it, and a subclass that overrides ``_update`` does
    not silently inherit a kernel that no longer matches. ``method=True``: ``fn`` is
    written like the method, ``fn(optimizer, p, grad, state, group)``, for an
    ``_update`` that reads the optimizer too; :func:`kernel_for` binds it.

    Examples
    --------
    >>> import optim
    >>> from optim.kernels import register, kernel_for
    >>> class Halving(optim.SGD): ...
    >>> @register("numpy", Halving)
    ... def halving_kernel(p, grad, state, group):
    ...     p.data *= 0.5
    >>> import minigrad
    >>> kernel_for(Halving([minigrad.tensor([1.0], requires_grad=True)]), "numpy") is halving_kernel
    True
    """
    _check_name(backend, "backend")
    if not optimizer_classes:
        raise TypeError("register(backend, *optimizer_classes) needs at least one class")

    def decorate(fn: Callable) -> Callable:
        for cls in optimizer_classes:
            _registry[(backend, cls)] = fn
        if method:
            _methods.add(fn)
        return fn

    return decorate


def kernel_for(optimizer, backend: str) -> Optional[Callable]:
    """The kernel registered for ``type(optimizer)`` and ``backend``, or None.

    Imports the backend's kernel modules on first use (only if the backend is available).
    A kernel registered with ``method=True`` comes bound to ``optimizer``.
    """
    if backend in ("numba", "cupy") and backend_available(backend):
        _load(backend)
    kernel = _registry.get((backend, type(optimizer)))
    if kernel in _methods:
        return types.MethodType(kernel, optimizer)
    return kernel


def register_group(backend: str, *optimizer_classes: type) -> Callable:
    """Decorator: make ``fn(params, grads, states, group)`` the ``backend`` kernel that
    updates all of a group's parameters of that backend at once (on a GPU: one launch
    for many small tensors, where one launch each would cost more than the work).

    Same contract as a per-parameter kernel, for every parameter of the lists: ``grads``
    are read-only (negated already with ``maximize``) and ``states`` initialised. It takes
    precedence over the per-parameter kernel of the same backend and class.
    """
    _check_name(backend, "backend")
    if not optimizer_classes:
        raise TypeError("register_group(backend, *optimizer_classes) needs at least one class")

    def decorate(fn: Callable) -> Callable:
        for cls in optimizer_classes:
            _group_registry[(backend, cls)] = fn
        return fn

    return decorate


def group_kernel_for(optimizer, backend: str) -> Optional[Callable]:
    """The group kernel registered for ``type(optimizer)`` and ``backend``, or None."""
    if backend in ("numba", "cupy") and backend_available(backend):
        _load(backend)
    return _group_registry.get((backend, type(optimizer)))


def backend_available(name: str) -> bool:
    """Whether the library behind a backend can be used here ("numpy" always can)."""
    if name == "numba":
        return _numba_importable()
    if name == "cupy":
        return cupy_available()
    return name in ("numpy", "auto")


def check_backend(name: str, argument: str = "backend") -> str:
    """``name`` if it is a usable backend; a clear error naming what to install otherwise.

    Called where a backend is chosen (an optimizer's constructor,
    :func:`set_default_backend`), so a missing library fails before anything changes.
    """
    _check_name(name, argument)
    if name == "numba" and not backend_available("numba"):
        raise RuntimeError(f"{argument}='numba' needs numba, which is not installed: "
                           f"{_FAST_EXTRA_HINT} (or use backend='auto', which falls back "
                           "to NumPy)")
    if name == "cupy" and not backend_available("cupy"):
        raise RuntimeError(f"{argument}='cupy' needs CuPy and a visible NVIDIA GPU: install "
                           "the 'cuda12' or 'cuda13' extra on a machine with one (or use "
                           "backend='auto', which falls back to NumPy)")
    return name


def resolve_backend(requested: str, param) -> str:
    """The backend that updates ``param``: "numpy", "numba" or "cupy".

    ``requested`` is one of :data:`BACKENDS`. An explicit "numba" or "cupy" is kept only for
    arrays of its device (a CuPy parameter under "numba" uses the reference, which runs on
    CuPy); "auto" picks by device and size (see the module docstring).
    """
    data = getattr(param, "data", param)
    on_gpu = get_array_module(data) is not np
    if requested == "auto":
        if on_gpu:
            return "cupy" if backend_available("cupy") else "numpy"
        if data.size >= AUTO_NUMBA_MIN_SIZE and backend_available("numba"):
            return "numba"
        return "numpy"
    if requested == "numba":
        return "numpy" if on_gpu else "numba"
    if requested == "cupy":
        return "cupy" if on_gpu else "numpy"
    _check_name(requested, "backend")
    return "numpy"


def set_default_backend(name: str) -> None:
    """Set the backend of every optimizer created with ``backend=None`` (the default).

    It takes effect at their next step. Raises (and changes nothing) for an unknown name or
    a backend whose library is missing.

    Examples
    --------
    >>> import optim
    >>> optim.set_default_backend("numpy")
    >>> optim.get_default_backend()
    'numpy'
    >>> optim.set_default_backend("auto")
    """
    global _default_backend
    _default_backend = check_backend(name, "default backend")


def get_default_backend() -> str:
    """The backend optimizers created with ``backend=None`` use ("auto" unless set)."""
    return _default_backend


# ---------------------------------------------------------------------------- helpers
def _check_name(name, argument: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"{argument} must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {name!r}")


@functools.lru_cache(maxsize=None)
def _numba_importable() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _load(backend: str) -> None:
    if _loaded.get(backend):
        return
    for module in _MODULES[backend]:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:  # a kernel module not written (yet): skip it
            if error.name != module:
                raise
    _loaded[backend] = True

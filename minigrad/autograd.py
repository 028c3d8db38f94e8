"""Reverse-mode automatic differentiation: the ``Function`` node and the backward pass.

Every differentiable op is a small ``Function`` subclass with two methods side by side:

* ``forward(*arrays) -> array`` computes the result on raw ndarrays;
* ``backward(grad_output: Tensor) -> tuple`` returns one gradient per input, written with
  **Tensor ops** — so, with ``create_graph=True``, the gradients are themselves part of a
  graph and can be differentiated again (Hessian-vector products, Newton steps, Sophia).

The backward pass sorts the graph once, iteratively (no recursion limit on long chains),
then visits each node exactly once in reverse topological order, summing the gradients a
node receives from all the paths that use it before passing them on.

After a backward pass each node it ran drops what it saved (its inputs and any arrays),
so a graph no longer needed is freed even while its output is kept; ``retain_graph=True``
keeps it for a second pass.

A leaf's first gradient is handed to ``.grad`` without a copy when the pass can tell that
nothing else holds its memory (see :class:`_NewGradients`); otherwise ``.grad`` gets a
copy, so a later in-place ``+=`` or ``fill(0)`` never changes another tensor.
"""
from __future__ import annotations

import weakref
from typing import Optional, Sequence

import numpy as np

from ._config import config, using_config
from .backend import get_array_module


_SCALAR_TYPES = (np.generic, float, int, bool)
_tensor_class = None  # set by minigrad.tensor once the Tensor class exists (import cycle)

# The record of the backward pass now running (None outside one): ops report the new
# arrays they make to it, so that it can tell which gradients nothing else holds.
_new_gradients: Optional["_NewGradients"] = None

_FREED = ("Trying to backward through the graph a second time (or to use what a node saved "
          "after it was freed): backward() and minigrad.grad() free the graph they pass "
          "through. Pass retain_graph=True to the first call to keep it for another pass.")


def _any_requires_grad(inputs) -> bool:
    for x in inputs:
        if x.requires_grad:
            return True
    return False


def _aliased_input(out_data, inputs):
    """The input whose memory ``out_data`` shares (the op returned a view of it), or None."""
    base = getattr(out_data, "base", None)
    for x in inputs:
        data = x._data
        if data is out_data or (base is not None and (base is data or base is data.base)):
            return x
    if base is not None:  # a view made another way (as_strided windows, say)
        xp = get_array_module(out_data)
        for x in inputs:
            if xp.may_share_memory(out_data, x._data):
                return x
    return None


class Function:
    """Base class of a differentiable op (one node of the graph).

    Subclasses implement ``forward`` on arrays and ``backward`` with Tensor ops. Inputs
    are stored in ``self.inputs``; their version counters are recorded at call time so
    that an in-place change before backward is reported instead of giving a wrong
    gradient. Ops that need their own result in backward read ``self.output``.

    A result that is a view of an input (NumPy returned the input's memory: basic
    slicing, reshape, transpose, …) shares that input's version counter, so an in-place
    change through either one is seen by graphs that saved the other.

    ``backward`` returns new Tensors (results of ops) or passes on ones it was given; it
    does not keep them. That is what lets a backward pass hand a gradient's memory to
    ``.grad`` without copying it (see :class:`_NewGradients`).
    """

    inputs: tuple
    _versions: tuple
    _output_ref: weakref.ref
    _released = False  # set once a backward pass without retain_graph has freed the node

    def __call__(self, *inputs):
        out_data = self.forward(*[x._data for x in inputs])
        if isinstance(out_data, _SCALAR_TYPES):
            out_data = np.asarray(out_data)  # NumPy returns scalars for 0-d results
        out = _tensor_class._make(out_data)
        base = _aliased_input(out_data, inputs)
        if base is not None:
            out._share_storage_of(base)
        elif _new_gradients is not None and not config.grad_enabled:
            _new_gradients.made(out)  # new memory, made during a backward pass
        if config.grad_enabled and _any_requires_grad(inputs):
            out.requires_grad = True
            out.grad_fn = self
            self.inputs = inputs
            self._versions = tuple([x._vc.value for x in inputs])
            self._output_ref = weakref.ref(out)
        return out

    @property
    def output(self):
        """The Tensor this node produced (held weakly to avoid a reference cycle)."""
        return self._output_ref()

    def forward(self, *arrays):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad_output):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{type(self).__name__} has no backward rule")

    def _release(self) -> None:
        """Drop everything saved for backward: the inputs and any arrays kept on the node.

        Only the weak link to the output stays, so that ``minigrad.grad`` can still stop
        at that output.
        """
        self.__dict__ = {"_output_ref": self.__dict__.get("_output_ref"), "_released": True}

    def _check_versions(self) -> None:
        for position, (x, seen) in enumerate(zip(self.inputs, self._versions)):
            if x._vc.value != seen:
                raise RuntimeError(
                    f"one of the tensors needed for gradient computation has been modified "
                    f"by an in-place operation: input {position} of {type(self).__name__} "
                    f"with shape {x.shape} is at version {x._version}; expected version "
                    f"{seen}. Do not change a tensor in place between the forward pass "
                    f"and backward()."
                )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def topological_order(roots: Sequence) -> list:
    """Functions reachable from ``roots`` (Tensors), each once, outputs before inputs.

    An iterative depth-first search: a node is appended after all of its inputs, and
    the list is reversed at the end, so every node comes before the nodes it feeds on.
    """
    order: list = []
    visited: set = set()
    stack = [(t.grad_fn, False) for t in roots if t.grad_fn is not None]
    while stack:
        fn, inputs_done = stack.pop()
        if inputs_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        if fn._released:  # freed by an earlier backward: nothing is known above it
            continue
        for x in fn.inputs:
            parent = x.grad_fn
            if parent is not None and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()
    return order


def _accumulate(store: dict, key, grad) -> None:
    """Add ``grad`` to ``store[key]`` (a node used on several paths gets the sum)."""
    previous = store.get(key)
    store[key] = grad if previous is None else previous + grad


def _nodes_leading_to(order: list, target_ids: set) -> set:
    """ids of the nodes in ``order`` from which some target can be reached.

    A node freed by an earlier pass counts as one (nothing is known above it, and running
    it reports the freed graph), unless its own output is a target.
    """
    needed: set = set()
    for fn in reversed(order):  # inputs before the nodes that use them
        if fn._released:
            out = fn.output
            if out is None or id(out) not in target_ids:
                needed.add(id(fn))
            continue
        for x in fn.inputs:
            if id(x) in target_ids or (x.grad_fn is not None and id(x.grad_fn) in needed):
                needed.add(id(fn))
                break
    return needed


def _memory_owner(t):
    """The tensor whose memory ``t`` uses: ``t`` itself, or the tensor it is a view of."""
    return t if t._base is None else t._base


class _NewGradients:
    """Which leaf gradients of one backward pass may become ``.grad`` without a copy.

    Giving a leaf the gradient's own array saves a copy of every parameter's gradient
    per step, but it is only safe when nothing else will ever see that memory. A leaf's
    gradient qualifies when all of these hold:

    * an op run during this pass (with gradients off) made its memory: the gradient
      is that op's result, or a view of it. A tensor that existed before the pass (a
      seed passed to ``backward``, a forward tensor, an array an op saved) never
      qualifies, nor does a result that is a view of an op's input;
    * no other leaf's gradient uses that memory (``a + b`` gives both leaves the same
      tensor; ``x + x`` gives x the sum of two, a new array again);
    * no backward rule returned it exactly as it received it: a rule that passes a
      gradient on unchanged (an identity op that records the gradients it sees, say)
      may have kept a reference to it;
    * its array is that memory itself, or a view of an array that owns its memory,
      and it is C-contiguous and writable (``Tensor._store_grad`` checks these two).

    A ``retain_grad()`` tensor gets its own copy, and ``create_graph=True`` or
    ``minigrad.grad`` never hand anything over. Ops report what they make through
    :meth:`made`, the backward loop what rules pass on through :meth:`passed_on`
    (anything else that shows user code a gradient during the pass must report it
    there too). The records are weak, so no gradient lives longer than before.
    """

    def __init__(self) -> None:
        self._made: dict = {}  # id(tensor) -> weak reference to it
        self._passed_on: set = set()  # ids of memory owners a rule returned unchanged

    def made(self, t) -> None:
        self._made[id(t)] = weakref.ref(t)

    def passed_on(self, grad_output, input_grads: tuple) -> None:
        """Note a gradient that a backward rule returned as it received it."""
        for gx in input_grads:
            if gx is grad_output:
                self._passed_on.add(id(_memory_owner(gx)))

    def _made_here(self, t) -> bool:
        ref = self._made.get(id(t))
        return ref is not None and ref() is t  # the same object, not a reused id

    def owned(self, leaf_grads: dict) -> set:
        """Keys of ``leaf_grads`` whose gradient's memory nothing else holds."""
        owners: dict = {}  # id(memory owner) -> how many leaf gradients use it
        for g in leaf_grads.values():
            key = id(_memory_owner(g))
            owners[key] = owners.get(key, 0) + 1
        result = set()
        for key, g in leaf_grads.items():
            owner = _memory_owner(g)
            if (owners[id(owner)] != 1 or id(owner) in self._passed_on
                    or not self._made_here(owner)):
                continue
            memory, array = owner._data, g._data
            if memory.base is None and (array is memory or array.base is memory):
                result.add(key)
        return result


def run_backward(roots, root_grads, create_graph: bool = False, targets=None,
                 retain_graph: Optional[bool] = None):
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``targets=None``, gradients are added into ``.grad`` of every leaf that requires
    grad (``Tensor.backward``). With a list of target tensors, nothing is written and a
    dict ``id(target) -> Tensor gradient`` is returned (``minigrad.grad``); only the
    nodes between the roots and the targets run.

    Each node that ran is freed afterwards (see :meth:`Function._release`) unless
    ``retain_graph`` is true; it defaults to ``create_graph`` (or to True inside
    ``using_config("retain_graph", True)``).
    """
    global _new_gradients
    if retain_graph is None:
        retain_graph = create_graph or config.retain_graph
    node_grads: dict = {}  # id(Function) -> gradient of its output
    leaf_grads: dict = {}  # id(leaf Tensor) -> gradient
    leaves: dict = {}
    target_ids = None if targets is None else {id(t) for t in targets}
    found: dict = {}

    for root, g in zip(roots, root_grads):
        if root.grad_fn is None:
            if root.requires_grad:
                _accumulate(leaf_grads, id(root), g)
                leaves[id(root)] = root
        else:
            _accumulate(node_grads, id(root.grad_fn), g)

    order = topological_order(roots)
    if target_ids is None and any(fn._released for fn in order):
        raise RuntimeError(_FREED)
    needed = None if target_ids is None else _nodes_leading_to(order, target_ids)
    new = _NewGradients() if target_ids is None and not create_graph else None
    ran = []
    outer_pass, _new_gradients = _new_gradients, new
    try:
        with using_config("grad_enabled", create_graph):
            for fn in order:
                grad_output = node_grads.pop(id(fn), None)
                if grad_output is None:
                    continue
                out = fn._output_ref()
                if out is not None:
                    if target_ids is not None and id(out) in target_ids:
                        found[id(out)] = grad_output
                    elif target_ids is None and out._retains_grad:
                        out._store_grad(grad_output)
                if needed is not None and id(fn) not in needed:
                    continue  # nothing to find above this node: leave it (and its graph) alone
                if fn._released:
                    raise RuntimeError(_FREED)
                fn._check_versions()
                input_grads = fn.backward(grad_output)
                if not isinstance(input_grads, tuple):
                    input_grads = (input_grads,)
                if new is not None:
                    new.passed_on(grad_output, input_grads)
                for x, gx in zip(fn.inputs, input_grads):
                    if gx is None or not x.requires_grad:
                        continue
                    if gx._data.dtype != x._data.dtype:  # a gradient keeps its input's dtype
                        gx = gx.astype(x.dtype)
                    if x.grad_fn is None:
                        _accumulate(leaf_grads, id(x), gx)
                        leaves[id(x)] = x
                    else:
                        _accumulate(node_grads, id(x.grad_fn), gx)
                ran.append(fn)
            owned = new.owned(leaf_grads) if new is not None else ()
    finally:
        _new_gradients = outer_pass
    if not retain_graph:  # at the end: a node's backward may read outputs that others hold
        for fn in ran:
            fn._release()

    if target_ids is None:
        for key, g in leaf_grads.items():
            leaves[key]._store_grad(g, owned=key in owned)
        return None
    for key, g in leaf_grads.items():
        if key in target_ids:
            found[key] = g
    return found


def _as_root_grad(output, grad_output):
    """Check or create the gradient that seeds backward at ``output``."""
    from .tensor import Tensor

    if grad_output is None:
        if output.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; this output has "
                f"shape {output.shape}: pass grad_output (a tensor of that shape)"
            )
        xp = output.xp
        return Tensor._make(xp.ones(output.shape, dtype=output.dtype))
    if not isinstance(grad_output, Tensor):
        grad_output = Tensor._make(output.xp.asarray(grad_output, dtype=output.dtype))
    if grad_output.shape != output.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output has shape {grad_output.shape} and output has "
            f"shape {output.shape}"
        )
    return grad_output


def grad(outputs, inputs, grad_outputs=None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned as Tensors.

    Unlike ``backward()``, nothing is written to ``.grad``. With ``create_graph=True``
    the returned gradients are part of a graph themselves, so they can be differentiated
    again: this gives Hessian-vector products. Like ``backward()``, the call frees the
    part of the graph it went through unless ``retain_graph`` is true (by default it is
    ``create_graph``): differentiating the same outputs twice needs
    ``retain_graph=True`` on every call but the last.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
        What to differentiate (scalars, unless ``grad_outputs`` is given).
    inputs : Tensor or sequence of Tensors
        With respect to what (leaves or intermediate tensors).
    grad_outputs : optional
        The vector of a vector-Jacobian product, one per output.
    retain_graph : bool, optional
        Keep the graph for another pass; defaults to ``create_graph``.
    create_graph : bool
        Record the backward pass so its results can be differentiated.
    allow_unused : bool
        Return ``None`` for an input that the outputs do not depend on, instead of
        raising.

    Examples
    --------
    Hessian-vector product of f(x) = sum(x**3) at x = (1, 2) with v = (1, 1):

    >>> import minigrad
    >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> (g,) = minigrad.grad((x ** 3).sum(), x, create_graph=True)
    >>> (hv,) = minigrad.grad((g * minigrad.tensor([1.0, 1.0])).sum(), x)
    >>> hv.data.tolist()
    [6.0, 12.0]
    """
    from .tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad_outputs has {len(grad_outputs)} entries but there are {len(outputs)} outputs"
        )
    for position, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(
                f"input {position} of grad() does not require grad: differentiate only "
                f"with respect to tensors created with requires_grad=True (or computed from them)"
            )
    for position, y in enumerate(outputs):
        if not y.requires_grad:
            raise RuntimeError(
                f"output {position} of grad() does not require grad and has no graph"
            )
    seeds = [_as_root_grad(y, g) for y, g in zip(outputs, grad_outputs)]
    found = run_backward(outputs, seeds, create_graph=create_graph, targets=inputs,
                         retain_graph=retain_graph)
    result = []
    for position, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"input {position} of grad() was not used to compute the outputs; "
                f"pass allow_unused=True to get None for it"
            )
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)

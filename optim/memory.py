"""How much memory an optimizer's state takes, compared with the parameters themselves.

The chapters compare optimizers by the extra memory they need per parameter: SGD none,
momentum one buffer (1×), Adam two (2×), AMSGrad three (3×), LBFGS up to
2·history_size + 2 flat copies. These functions measure it on a live optimizer.

State is created lazily, on the first ``step`` that sees a parameter's gradient (as in
PyTorch), so measure after one step: before it, every optimizer reports 0.
"""
from __future__ import annotations


def _array_bytes(value) -> int:
    """Bytes of the arrays in a state value (looking inside lists, tuples and dicts)."""
    if hasattr(value, "nbytes") and hasattr(value, "shape") and hasattr(value, "dtype"):
        return int(value.nbytes)
    if isinstance(value, (list, tuple)):
        return sum(_array_bytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_array_bytes(item) for item in value.values())
    return 0  # Python numbers, None, strings: negligible and not per-element


def state_bytes(optimizer) -> int:
    """Total bytes of the arrays held in ``optimizer.state``.

    Only arrays count (also those inside lists, such as LBFGS's history); Python
    scalars such as the step counter ``step`` do not. A wrapper (Lookahead) counts the
    state of the optimizer it wraps too; SAM shares its base optimizer's state dict, so
    that is counted once.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.zeros(1000, requires_grad=True)          # float32: 4000 bytes
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> state_bytes(opt)                                     # nothing before a step
    0
    >>> w.grad = w.data + 1.0
    >>> opt.step()
    >>> state_bytes(opt)                                     # one momentum buffer
    4000
    """
    total = sum(_array_bytes(state) for state in optimizer.state.values())
    inner = getattr(optimizer, "optimizer", None)  # the optimizer a wrapper drives
    if inner is not None and hasattr(inner, "state") and inner.state is not optimizer.state:
        total += state_bytes(inner)
    return total


def parameter_bytes(optimizer) -> int:
    """Total bytes of the parameters in ``optimizer.param_groups`` (each counted once)."""
    seen: dict = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            seen[id(p)] = int(p.data.nbytes)
    return sum(seen.values())


def state_bytes_per_param(optimizer) -> float:
    """State bytes divided by parameter bytes: 0 for SGD, 1 for momentum, 2 for Adam.

    Returns 0.0 when the parameters hold no elements at all.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.zeros(1000, requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = w.data + 1.0
    >>> opt.step()                                           # state is created here
    >>> state_bytes_per_param(opt)
    1.0
    """
    total = parameter_bytes(optimizer)
    return state_bytes(optimizer) / total if total else 0.0

"""Lookahead: k fast steps forward with any optimizer, then one step back toward them.

:class:`Lookahead` wraps an optimizer *instance* (the "fast" optimizer). It keeps a
second, "slow" copy of the weights; after every k fast steps the slow weights move a
fraction α of the way to the fast ones and the fast weights restart from there. The
wrapper shares the inner optimizer's ``param_groups``, so schedulers drive it.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Callable, Optional

from minigrad.backend import get_array_module

from .checks import PositiveInt, Range
from .optimizer import Optimizer, _cast_like, _check_state_shapes, _copy_state


def lookahead_update(param, slow_param, *, alpha: float) -> None:
    """The slow step, in place: move the slow weights toward the fast ones, restart there.

    With θ the fast weights after k inner steps and φ the slow weights::

        φ ← φ + α·(θ − φ)
        θ ← φ

    α = 1 recovers the inner optimizer; α = 0 never moves. Zhang, Lucas, Hinton & Ba
    (2019), "Lookahead Optimizer: k steps forward, 1 step back", arXiv:1907.08610,
    Algorithm 1. The authors' code (github.com/michaelrzhang/lookahead) writes the same
    interpolation as θ·α + φ·(1 − α) (equal up to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> fast, slow = np.array([2.0, 0.0]), np.array([0.0, 1.0])
    >>> lookahead_update(fast, slow, alpha=0.5)
    >>> fast.tolist(), slow.tolist()
    ([1.0, 0.5], [1.0, 0.5])
    """
    slow_param += alpha * (param - slow_param)
    get_array_module(param).copyto(param, slow_param)


class Lookahead(Optimizer):
    """Lookahead around an optimizer instance (Zhang et al., 2019).

    Parameters
    ----------
    optimizer : Optimizer
        The inner ("fast") optimizer, already built on the parameters.
    k : int, default 5
        Number of inner steps between two slow steps (an integer ≥ 1).
    alpha : float, default 0.5
        Slow step size α in [0, 1].

    Attributes
    ----------
    optimizer : Optimizer
        The inner optimizer. ``param_groups`` *is* its list of groups (the same object),
        so a scheduler built on the Lookahead optimizer sets the inner learning rate.

    Notes
    -----
    State per parameter: ``slow_param`` (the slow weights φ) and ``step`` (inner steps
    since φ was taken); the inner optimizer keeps its own state. ``state_dict()``
    holds both, with ``k`` and ``alpha``; ``load_state_dict`` restores all of them.

    Notes
    -----
    ``step(closure)``, ``zero_grad`` and ``add_param_group`` go to the inner optimizer;
    a closure is needed exactly when the inner optimizer needs one. The slow weights are
    copied from the parameters at the first step (not at construction), so model
    weights loaded after building the optimizer are the ones Lookahead starts from.
    Every parameter of the groups takes part in the slow step, with or without a
    gradient, as in the authors' code. Not implemented: the authors' optional
    "pullback" / "reset" treatment of the inner momentum at a slow step.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0], requires_grad=True)
    >>> opt = Lookahead(optim.SGD([w], lr=0.1), k=2, alpha=0.5)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()            # gradient 2w
    ...     opt.step()
    >>> round(float(w.data[0]), 6)     # fast: 1 → 0.8 → 0.64; slow: 1 + ½(0.64 − 1)
    0.82
    """

    ranges = {"k": PositiveInt("k"), "alpha": Range("alpha", 0.0, 1.0)}
    state_names = ("slow_param",)

    def __init__(self, optimizer, k: int = 5, alpha: float = 0.5):
        if isinstance(optimizer, type):
            raise TypeError(f"optimizer must be an optimizer instance, such as "
                            f"optim.SGD(params, lr=0.1), not the class {optimizer.__name__}")
        if not (hasattr(optimizer, "param_groups") and hasattr(optimizer, "step")):
            raise TypeError(f"{type(optimizer).__name__} is not an optimizer (it needs "
                            "param_groups and step)")
        self.ranges["k"](k)
        self.ranges["alpha"](alpha)
        self.optimizer = optimizer
        self.k, self.alpha = k, alpha
        self.state: dict = defaultdict(dict)
        self._step_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
        self._step_post_hooks: "OrderedDict[int, Callable]" = OrderedDict()

    # ----------------------------------------------------------------- the inner optimizer
    @property
    def param_groups(self) -> list:
        """The inner optimizer's groups (the same list)."""
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, value: list) -> None:
        self.optimizer.param_groups = value

    @property
    def defaults(self) -> dict:
        """The inner optimizer's defaults."""
        return self.optimizer.defaults

    @property
    def needs_closure(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.optimizer, "needs_closure", False))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """The inner optimizer's ``zero_grad``."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group to the inner optimizer; its slow weights are taken at its next step."""
        self.optimizer.add_param_group(param_group)

    # ----------------------------------------------------------------- stepping
    def _step(self, closure: Optional[Callable]):
        params = [p for group in self.param_groups for p in group["params"]]
        for p in params:  # φ₀ = θ₀, taken lazily just before the first inner step
            if "slow_param" not in self.state[p]:
                self.state[p].update(slow_param=p.data.copy(), step=0)
        loss = self.optimizer.step(closure)
        for p in params:
            state = self.state[p]
            state["step"] += 1
            if state["step"] % self.k == 0:
                lookahead_update(p.data, state["slow_param"], alpha=self.alpha)
                p._version += 1  # the values changed in place: graphs that saved p are stale
        return loss

    # ----------------------------------------------------------------- checkpoints
    def _param_index(self) -> dict:
        """Parameter -> position across all groups (PyTorch's checkpoint layout)."""
        index: dict = {}
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(p, len(index))
        return index

    def state_dict(self) -> dict:
        """``{"state": {i: {"slow_param", "step"}}, "k", "alpha", "optimizer": inner}``.

        ``"optimizer"`` is the inner optimizer's own state dict; ``"param_groups"`` is its
        list of groups again (the same object), for code that reads PyTorch's layout.
        Arrays are copied, so later steps do not change a saved dict.
        """
        index = self._param_index()
        state = {index[p]: _copy_state(s) for p, s in self.state.items() if p in index}
        inner = self.optimizer.state_dict()
        return {"state": state, "param_groups": inner.get("param_groups"), "k": self.k,
                "alpha": self.alpha, "optimizer": inner}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a checkpoint of :meth:`state_dict` (validated before any change)."""
        k, alpha = state_dict.get("k", self.k), state_dict.get("alpha", self.alpha)
        self.ranges["k"](k)
        self.ranges["alpha"](alpha)
        param_of = {i: p for p, i in self._param_index().items()}
        for index, saved in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(f"loaded state refers to parameter {index}, which no group holds")
            _check_state_shapes(saved, param_of[index], index, self.state_names)
        self.optimizer.load_state_dict(state_dict["optimizer"])  # validates before changing
        new_state: dict = defaultdict(dict)
        for index, saved in state_dict["state"].items():
            p = param_of[index]
            new_state[p] = {key: _cast_like(value, p, key) for key, value in saved.items()}
        self.state = new_state
        self.k, self.alpha = k, alpha

    def __getstate__(self) -> dict:
        return {"optimizer": self.optimizer, "state": self.state, "k": self.k,
                "alpha": self.alpha}

    def __repr__(self) -> str:
        inner = "\n".join("    " + line for line in repr(self.optimizer).splitlines())
        return f"Lookahead (k={self.k}, alpha={self.alpha})\n{inner}"

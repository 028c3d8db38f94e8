"""L-BFGS: a quasi-Newton method that remembers the last few steps and gradient changes.

PyTorch's ``torch.optim.LBFGS``: same arguments, defaults, state and results. Unlike the
other optimizers it works on all parameters at once, as one flat vector, and calls the
closure several times per ``step``.
"""
from __future__ import annotations

from typing import Callable, Optional

from .line_search import strong_wolfe
from .checks import OneOf, Range
from .optimizer import Optimizer, _evaluate


def lbfgs_direction(flat_grad, old_dirs: list, old_stps: list, ro: list, H_diag: float,
                    *, al: Optional[list] = None):
    """The L-BFGS search direction d = −H·g, by the two-loop recursion.

    With the stored pairs sᵢ = θᵢ₊₁ − θᵢ (``old_stps``) and yᵢ = gᵢ₊₁ − gᵢ (``old_dirs``,
    PyTorch's name), ρᵢ = 1/(yᵢᵀsᵢ) (``ro``), and γ = sᵀy/yᵀy of the newest pair
    (``H_diag``, the scale of the initial inverse Hessian H₀ = γ·I)::

        q ← −g
        for i = k−1, …, 0:   αᵢ ← ρᵢ·sᵢᵀq ;   q ← q − αᵢ·yᵢ
        r ← γ·q
        for i = 0, …, k−1:   βᵢ ← ρᵢ·yᵢᵀr ;   r ← r + (αᵢ − βᵢ)·sᵢ
        d ← r

    H is the BFGS inverse-Hessian estimate built from H₀ and the k pairs, never formed:
    the cost is O(k·n). Nocedal & Wright, *Numerical Optimization*, Algorithm 7.4; L-BFGS
    is Liu & Nocedal (1989), "On the limited memory BFGS method for large scale
    optimization".

    Returns a new array; the inputs are not changed. If ``al`` (a list at least as long
    as the history) is given, the αᵢ are written into it, as PyTorch keeps them in its
    state under that name.

    Examples
    --------
    >>> import numpy as np
    >>> lbfgs_direction(np.array([2.0, -4.0]), [], [], [], 0.5).tolist()   # no history: −γ·g
    [-1.0, 2.0]
    """
    alphas = al if al is not None else [None] * len(old_dirs)
    q = -flat_grad
    for i in reversed(range(len(old_dirs))):
        alphas[i] = float(old_stps[i].dot(q)) * ro[i]
        q -= alphas[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        beta_i = float(old_dirs[i].dot(r)) * ro[i]
        r += (alphas[i] - beta_i) * old_stps[i]
    return r


class LBFGS(Optimizer):
    """Limited-memory BFGS, as ``torch.optim.LBFGS`` (only one parameter group).

    Parameters
    ----------
    params : iterable
        Parameters (one group only: per-parameter options are not supported).
    lr : float, default 1
        Step length (the first trial step of the line search).
    max_iter : int, default 20
        Most L-BFGS iterations per ``step``.
    max_eval : int, optional
        Most closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad : float, default 1e-7
        Stop when ``max |gᵢ| ≤ tolerance_grad`` (first-order optimality).
    tolerance_change : float, default 1e-9
        Stop when the loss or the parameters change by less than this.
    history_size : int, default 100
        Number of (s, y) pairs remembered.
    line_search_fn : {None, "strong_wolfe"}
        None: fixed steps of length lr; "strong_wolfe": a line search
        (:func:`optim.line_search.strong_wolfe`).

    Notes
    -----
    ``step(closure)`` needs a closure that zeroes the gradients, recomputes the loss,
    calls ``backward`` and returns the loss. The state is global but, like PyTorch's,
    stored under the first parameter: ``func_evals``, ``n_iter``, ``d``, ``t``,
    ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``,
    ``al``. Memory: (2·history_size + 2) copies of the parameters at most.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], dtype=minigrad.float64, requires_grad=True)
    >>> opt = optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 3.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 6) for v in w.data.tolist()]
    [3.0, 3.0]
    """

    ranges = {"lr": Range("learning rate"),
              "line_search_fn": OneOf("line_search_fn", (None, "strong_wolfe"))}
    needs_closure = True  # it re-evaluates the loss several times per step

    def __init__(self, params, lr: float = 1, max_iter: int = 20,
                 max_eval: Optional[int] = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Optional[str] = None, *, backend: Optional[str] = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults, backend=backend)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    # ----------------------------------------------------------------- flat views
    @property
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    def _gather_flat_grad(self):
        """All gradients as one flat vector (zeros for a parameter without gradient)."""
        xp = self._params[0].xp
        return xp.concatenate([p.grad.ravel() if p.grad is not None else
                               xp.zeros(p.data.size, dtype=p.data.dtype)
                               for p in self._params])

    def _add_to_params(self, step_size: float, direction) -> None:
        """θ ← θ + step_size·direction, slice by slice of the flat vector."""
        offset = 0
        for p in self._params:
            size = p.data.size
            p.data += step_size * direction[offset:offset + size].reshape(p.shape)
            offset += size

    def _evaluate_along(self, closure: Callable, t: float, d):
        """Loss and flat gradient at θ + t·d; the parameters are put back afterwards."""
        saved = [p.data.copy() for p in self._params]
        self._add_to_params(t, d)
        loss = float(_evaluate(closure))
        flat_grad = self._gather_flat_grad()
        for p, values in zip(self._params, saved):
            p.xp.copyto(p.data, values)
            p._version += 1
        return loss, flat_grad

    # ----------------------------------------------------------------- the algorithm
    def _step(self, closure: Callable):
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = _evaluate(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if _max_abs(flat_grad) <= tolerance_grad:
            return orig_loss  # already at a stationary point

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # Direction: steepest descent at first, then the two-loop recursion.
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad   # change of the gradient
                s = d * t                        # the last step
                H_diag = _remember_pair(y, s, old_dirs, old_stps, ro, history_size, H_diag)
                if "al" not in state:
                    state["al"] = [None] * history_size
                d = lbfgs_direction(flat_grad, old_dirs, old_stps, ro, H_diag, al=state["al"])

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # Step length: lr, but at most a unit step in the 1-norm on the first iteration.
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad.dot(d))  # slope along d
            if gtd > -tolerance_change:
                break

            if group["line_search_fn"] == "strong_wolfe":
                loss, flat_grad, t, evals = strong_wolfe(
                    lambda trial: self._evaluate_along(closure, trial, d), t, d, loss,
                    flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
            else:
                self._add_to_params(t, d)
                evals = 0
                if n_iter != max_iter:  # the last iteration's loss is not needed
                    loss = float(_evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    evals = 1
            current_evals += evals
            state["func_evals"] += evals

            # Stopping tests.
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if _max_abs(flat_grad) <= tolerance_grad:
                break
            if _max_abs(d * t) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss


def _remember_pair(y, s, old_dirs: list, old_stps: list, ro: list, history_size: int,
                   H_diag: float) -> float:
    """Add the pair (s, y) to the history (dropping the oldest when full); returns γ.

    The pair is kept only if yᵀs > 1e-10 (positive curvature keeps H positive definite);
    then γ = yᵀs / yᵀy, the scale of H₀, is updated, otherwise the old γ is returned.
    A NaN yᵀs (a NaN gradient element) fails the test too, as in PyTorch: a NaN pair
    would make every later direction NaN.
    """
    ys = float(y.dot(s))
    if not ys > 1e-10:
        return H_diag
    if len(old_dirs) == history_size:
        old_dirs.pop(0)
        old_stps.pop(0)
        ro.pop(0)
    old_dirs.append(y)
    old_stps.append(s)
    ro.append(1.0 / ys)
    return ys / float(y.dot(y))


def _max_abs(vector) -> float:
    """``max |vᵢ|`` (the infinity norm) as a Python float; 0 for an empty vector."""
    return float(abs(vector).max()) if vector.size else 0.0


"""Sophia: momentum divided by a diagonal-Hessian estimate, then clipped coordinate-wise.

Liu, Li, Hall, Liang & Ma (2023), "Sophia: A Scalable Stochastic Second-order Optimizer
for Language Model Pre-training", arXiv:2305.14342; the authors' reference code is
``sophia.py`` (class ``SophiaG``) and ``train_sophiag.py`` in github.com/Liuhong99/Sophia.

Both classes share one update rule (:func:`sophia_update`) and one Hessian average
(:func:`sophia_hessian_ema`); they differ in who estimates the Hessian diagonal and when:

* :class:`SophiaG` – the training loop does, every k steps, with the Gauss–Newton–Bartlett
  estimator: a backward pass on labels sampled from the model's own predictions, then
  ``optimizer.update_hessian()`` (:func:`optim.hessian.gnb_hessian_step` does all of it).
  ``step()`` is an ordinary step on the real gradient, with ``bs=`` the batch size.
* :class:`SophiaH` – the optimizer does, every ``update_period`` steps, with Hutchinson's
  estimator through Hessian-vector products; ``step(closure)`` needs a closure that
  returns the loss, which SophiaH differentiates itself.

Where the Hessian is small or negative the ratio is clipped at 1, so no coordinate ever
moves by more than lr (plus the weight-decay shrink): Sophia is then sign-momentum.
"""
from __future__ import annotations

from typing import Callable, Optional

from minigrad.backend import get_array_module

from .checks import Betas, OneOf, PositiveInt, Range, check_range
from .hessian import PROBE_DISTRIBUTIONS, hutchinson_diagonal, hutchinson_probe
from .kernels import get_default_backend
from .optimizer import Optimizer, _evaluate, read_only


def sophia_hessian_ema(hessian, estimate, *, beta2: float) -> None:
    """h ← β2·h + (1 − β2)·ĥ, in place on ``hessian`` (a Hessian-refresh step of Sophia).

    ĥ is a fresh estimate of the Hessian diagonal: ĝ ⊙ ĝ for SophiaG (the authors keep
    the batch-size factor B out of it, see :func:`sophia_update`), u ⊙ (H u) for SophiaH.
    """
    hessian *= beta2
    hessian += (1 - beta2) * estimate


def sophia_update(param, grad, exp_avg, hessian, *, lr: float, beta1: float, rho: float,
                  weight_decay: float, bs: float = 1.0, eps: float = 1e-15) -> None:
    """One Sophia step, in place on ``param`` and ``exp_avg`` (``hessian`` is only read).

    With g the gradient, m the momentum, h the averaged Hessian diagonal, η = ``lr``,
    λ = ``weight_decay``, ρ = ``rho``, B = ``bs``::

        θ ← (1 − η·λ)·θ                                  decoupled weight decay
        m ← β1·m + (1 − β1)·g
        r ← min(|m| / (ρ·B·max(h, 0) + ε), 1)           the clipped ratio, per coordinate
        θ ← θ − η·sign(m)·r

    so ``|Δθᵢ| ≤ η·λ·|θᵢ| + η`` for every coordinate, whatever g and h are. Where ρ·B·h is
    large the step is the Newton-like η·m/(ρ·B·h); where the curvature is small, zero
    (no Hessian estimate yet) or negative, it is η·sign(m). There is no bias correction.

    This is the authors' code (``_single_tensor_sophiag`` in Liuhong99/Sophia), which
    differs from the paper's Algorithm 3, θ ← θ − η·clip(m / max(γ·h, ε), 1), in ways
    that we follow the code in:

    * the paper's estimator is ĥ = B·ĝ ⊙ ĝ; the code averages ĝ ⊙ ĝ and multiplies by
      B = ``bs`` in the denominator instead (the same in exact arithmetic);
    * ε is added to the denominator (1e-15) instead of taken as a floor, max(γ·h, ε);
    * the paper's γ is called ``rho``. (The first paper version clipped m / max(h, ε)
      at a threshold ρ instead of 1; the authors' README relates the two forms by
      lr = ρ·η: the code's lr is the largest step, whatever the parametrisation);
    * clip(x, 1) is written ``sign(m)·min(|m|/…, 1)``, the same number.

    ``max(h, 0)`` is a no-op for SophiaG (ĝ ⊙ ĝ ≥ 0); it matters for Hutchinson
    estimates, which can be negative: the authors' first SophiaH used relu(h) there,
    and the paper's max(γ·h, ε) treats negative curvature the same way (full clip).
    """
    xp = get_array_module(param)
    param *= 1 - lr * weight_decay
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    ratio = xp.minimum(xp.abs(exp_avg) / (rho * bs * xp.maximum(hessian, 0) + eps), 1)
    param -= lr * (xp.sign(exp_avg) * ratio)


class SophiaG(Optimizer):
    """Sophia with the Gauss–Newton–Bartlett Hessian estimate, as the authors' ``SophiaG``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-4
        Learning rate η: the largest step of a coordinate (the clip bound).
    betas : (float, float), default (0.965, 0.99)
        β1 for the momentum (every step), β2 for the Hessian average (every refresh).
    rho : float, default 0.04
        ρ, the paper's γ: scales the Hessian in the denominator. Larger ρ clips fewer
        coordinates and takes smaller Newton-like steps. The authors' README suggests
        ρ in [0.01, 0.1] (0.03 for their 125M model) and lr about AdamW's.
    weight_decay : float, default 0.1
        Decoupled weight decay λ: θ ← (1 − ηλ)·θ before the step.
    maximize : bool, default False
        Maximise the objective (the gradient is negated; ĝ ⊙ ĝ is unchanged).
    eps : float, default 1e-15
        ε added to the denominator (the authors' constant, exposed).
    capturable
        PyTorch's switch: accepted so that code written for the authors' class runs,
        ignored and not stored.

    Notes
    -----
    The Hessian is refreshed by the training loop, not by ``step``. Every k steps
    (k = 10 in the paper), after a step, compute the gradient of the mean cross-entropy
    on labels sampled from the model's softmax, call :meth:`update_hessian`, zero the
    gradients — :func:`optim.hessian.gnb_hessian_step` does these four things. Then
    step with ``opt.step(bs=B)``, B the number of labels per batch (batch size ×
    sequence length for a language model; the authors' default 5120). Until the first
    refresh h = 0 and every step is η·sign(m).

    In the authors' loop the refresh follows the step at iterations k−1, 2k−1, …; the
    paper's Algorithm 3 refreshes at steps 1, k+1, … before the update. Either works
    here: the caller decides.

    Notes
    -----
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``hessian`` (h, the average
    of ĝ ⊙ ĝ, without the factor B).

    Examples
    --------
    >>> import minigrad
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SophiaG([w], lr=0.1, weight_decay=0.0)
    >>> (w ** 2).sum().backward()
    >>> opt.step(bs=1)            # no Hessian yet: a step of lr·sign(m)
    >>> w.data.tolist()
    [0.8999999761581421, -1.899999976158142]
    >>> opt.update_hessian()      # here with the true gradient: h = 0.01·g²
    >>> opt.state[w]["hessian"].tolist()
    [0.03999999910593033, 0.1599999964237213]
    """

    ranges = {"lr": Range("learning rate"),
              "betas": Betas(),
              "rho": Range("rho value"),
              "weight_decay": Range("weight_decay value"),
              "eps": Range("epsilon value")}
    state_names = ("exp_avg", "hessian")
    _step_bs: float = 5120  # the ``bs`` of the step in progress (set by ``step``)

    def __init__(self, params, lr: float = 1e-4, betas: tuple = (0.965, 0.99),
                 rho: float = 0.04, weight_decay: float = 1e-1, *, maximize: bool = False,
                 capturable: bool = False, eps: float = 1e-15, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, rho=rho, weight_decay=weight_decay,
                        maximize=maximize, eps=eps)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        xp = p.xp
        return {"step": 0, "exp_avg": xp.zeros_like(p.data), "hessian": xp.zeros_like(p.data)}

    def update_hessian(self) -> None:
        """h ← β2·h + (1 − β2)·ĝ ⊙ ĝ for every parameter with a gradient (ĝ = ``.grad``).

        Call it right after a backward pass on labels sampled from the model
        (:func:`optim.hessian.gnb_hessian_step`), every k steps.
        """
        for group in self.param_groups:
            beta2 = group["betas"][1]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(self._init_state(p, group))
                sophia_hessian_ema(state["hessian"], p.grad * p.grad, beta2=beta2)

    def step(self, closure: Optional[Callable] = None, bs: float = 5120):
        """One update of every parameter with a gradient; ``bs`` is B in ρ·B·h.

        ``bs`` is the number of labels the Hessian's sampled loss averaged over (the
        authors pass batch size × block size; their default is 5120).
        """
        check_range("bs", bs, 0.0, low_open=True)
        self._step_bs = bs
        try:
            return super().step(closure)
        finally:
            self._step_bs = SophiaG._step_bs

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        sophia_update(p.data, grad, state["exp_avg"], state["hessian"], lr=group["lr"],
                      beta1=group["betas"][0], rho=group["rho"],
                      weight_decay=group["weight_decay"], bs=self._step_bs, eps=group["eps"])


class SophiaH(Optimizer):
    """Sophia with Hutchinson's Hessian estimate, refreshed by the optimizer itself.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 6e-4
        Learning rate η, the clip bound of a coordinate's step.
    betas : (float, float), default (0.96, 0.99)
        β1 (momentum) and β2 (Hessian average), the paper's values.
    rho : float, default 0.01
        ρ (the paper's γ); 0.01 is the paper's value for Sophia-H (also the default of
        the authors' JAX version in levanter).
    weight_decay : float, default 0.1
        Decoupled weight decay λ, as in :class:`SophiaG`.
    update_period : int, default 10
        k: the Hessian is re-estimated at steps 1, k+1, 2k+1, … (the paper's
        "t mod k = 1"), before that step's update.
    eps : float, default 1e-12
        ε added to the denominator (the paper's value).
    hessian_distribution : {"rademacher", "gaussian"}, default "rademacher"
        Probe u of ĥ = u ⊙ (H u). The paper's Algorithm 1 draws u ~ N(0, I); Rademacher
        probes (±1) have less variance and are exact when H is diagonal.
    maximize : bool, default False
        Maximise the objective: minimise −L, whose gradient and Hessian are negated.

    Notes
    -----
    ``step(closure)``: the closure computes and returns the loss, a Tensor that still
    has its graph. SophiaH takes the gradient itself with ``minigrad.grad`` (with
    ``create_graph=True`` on refresh steps, then one Hessian-vector product), so the
    closure need not call ``backward``, and SophiaH neither reads nor writes ``.grad``
    (a closure that does call ``backward`` works too, at the cost of one more pass: the
    closure runs with backward keeping the graph, which SophiaH then frees).

    Each parameter's probes come from its own ``probe_seed``, drawn from minigrad's
    generator when its state is created (so ``minigrad.manual_seed`` makes a run
    reproducible), and the step number: the probes live in the state dict and a
    resumed run draws the same ones.

    The authors' repository now ships only SophiaG; this class applies the same rule
    (:func:`sophia_update` with B = 1, since Hutchinson estimates the Hessian of the
    mean loss directly) with the paper's Algorithm 1 estimator and its refresh timing.
    Choices that differ elsewhere: the authors' first SophiaH divided lr by 1 − β1ᵗ
    (a bias correction the paper and their SophiaG do not have, nor do we);
    pytorch_optimizer's ``SophiaH`` (defaults lr=6e-2, p=1e-2, Gaussian probes, no
    weight decay) clips m / max(h, ε) at ±p, the paper's first parametrisation: its
    (lr, p) is our (lr·p, ρ = p), hence our lr default 6e-4.

    Notes
    -----
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``hessian`` (h), and
    ``probe_seed`` (int).

    Examples
    --------
    >>> import minigrad
    >>> _ = minigrad.manual_seed(0)
    >>> x = minigrad.tensor([1.0, 1.0], dtype=minigrad.float64, requires_grad=True)
    >>> a = minigrad.tensor([1.0, 100.0], dtype=minigrad.float64)
    >>> opt = SophiaH([x], lr=0.5, rho=1.0, betas=(0.0, 0.0), weight_decay=0.0)
    >>> _ = opt.step(lambda: 0.5 * (a * x * x).sum())   # closure: no backward
    >>> [round(v, 9) for v in x.data.tolist()]  # Newton-like: m / (ρh) = x whatever aᵢ
    [0.5, 0.5]
    """

    ranges = {"lr": Range("learning rate"),
              "betas": Betas(),
              "rho": Range("rho value"),
              "weight_decay": Range("weight_decay value"),
              "eps": Range("epsilon value"),
              "update_period": PositiveInt("update_period"),
              "hessian_distribution": OneOf("hessian_distribution", PROBE_DISTRIBUTIONS)}
    state_names = ("exp_avg", "hessian")
    needs_closure = True

    def __init__(self, params, lr: float = 6e-4, betas: tuple = (0.96, 0.99),
                 rho: float = 0.01, weight_decay: float = 1e-1, *, update_period: int = 10,
                 eps: float = 1e-12, hessian_distribution: str = "rademacher",
                 maximize: bool = False, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, rho=rho, weight_decay=weight_decay,
                        update_period=update_period, eps=eps,
                        hessian_distribution=hessian_distribution, maximize=maximize)
        super().__init__(params, defaults, backend=backend)

    def _init_state(self, p, group: dict) -> dict:
        from minigrad.random import default_generator

        xp = p.xp
        return {"step": 0, "exp_avg": xp.zeros_like(p.data), "hessian": xp.zeros_like(p.data),
                "probe_seed": int(default_generator().integers(2 ** 63))}

    def step(self, closure: Optional[Callable] = None):
        """One update; ``closure()`` must return the loss (a Tensor with its graph)."""
        if closure is None:
            raise TypeError("SophiaH.step() needs a closure that computes and returns the "
                            "loss (SophiaH differentiates it itself; no backward needed)")
        return super().step(closure)

    def _step(self, closure: Callable):
        import numpy as np

        import minigrad
        from minigrad._config import using_config

        with using_config("retain_graph", True):  # a backward() in the closure keeps it
            loss = _evaluate(closure)
        if not isinstance(loss, minigrad.Tensor) or not loss.requires_grad:
            raise TypeError("SophiaH's closure must return the loss as a Tensor that "
                            "depends on the parameters (not a float, not under no_grad)")
        if loss.grad_fn is not None and loss.grad_fn._released:
            raise RuntimeError("the loss returned by SophiaH's closure was already given to "
                               "a backward pass that freed its graph: SophiaH differentiates "
                               "the loss itself, so return one computed in the closure")
        entries = [(group, p) for group in self.param_groups for p in group["params"]
                   if p.requires_grad]
        refresh = [self.state.get(p, {}).get("step", 0) % group["update_period"] == 0
                   for group, p in entries]
        with minigrad.enable_grad():
            grads = minigrad.grad(loss, [p for _, p in entries], create_graph=any(refresh),
                                  allow_unused=True)
        used = [(group, p, g, r) for (group, p), g, r in zip(entries, grads, refresh)
                if g is not None]
        for group, p, _, _ in used:
            if not self.state[p]:
                self.state[p].update(self._init_state(p, group))
        # Hutchinson: one probe per refreshed parameter, from its seed and step number.
        fresh = [(group, p, g) for group, p, g, r in used if r]
        probes = [hutchinson_probe(p.shape, p.dtype,
                                   distribution=group["hessian_distribution"],
                                   generator=np.random.default_rng(
                                       (self.state[p]["probe_seed"], self.state[p]["step"])))
                  for group, p, _ in fresh]
        estimates = dict(zip(map(id, (p for _, p, _ in fresh)),
                             hutchinson_diagonal([g for _, _, g in fresh],
                                                 [p for _, p, _ in fresh], probes)))
        backend = self.backend or get_default_backend()
        for group, p, g, _ in used:
            state = self.state[p]
            sign = -1 if group["maximize"] else 1
            grad = read_only(-g.data if group["maximize"] else g.data)
            if id(p) in estimates:
                sophia_hessian_ema(state["hessian"], sign * estimates[id(p)],
                                   beta2=group["betas"][1])
            update = self._kernel(backend, p, grad, state) or self._update
            update(p, grad, state, group)
            p._version += 1
        return loss

    def _update(self, p, grad, state: dict, group: dict) -> None:
        state["step"] += 1
        sophia_update(p.data, grad, state["exp_avg"], state["hessian"], lr=group["lr"],
                      beta1=group["betas"][0], rho=group["rho"],
                      weight_decay=group["weight_decay"], eps=group["eps"])

"""Cheap estimates of the Hessian diagonal, as Sophia uses them.

Sophia divides its momentum by an estimate of diag(H), H the Hessian of the loss.
Forming H is out of the question (n² entries), but two estimators cost about one extra
backward pass each and are right on average:

* **Hutchinson** (used by :class:`optim.sophia.SophiaH`): draw a random probe u with
  E[u uᵀ] = I and return ĥ = u ⊙ (H u). Entry i is Σⱼ uᵢ Hᵢⱼ uⱼ, whose mean is Hᵢᵢ. The
  Hessian-vector product H u is the gradient of ⟨∇L, u⟩, so it needs a gradient that
  can be differentiated again (``minigrad.grad(..., create_graph=True)``). With
  Rademacher probes (uᵢ = ±1) and a diagonal H, every sample is exactly diag(H).
* **Gauss–Newton–Bartlett** (used by :class:`optim.sophia.SophiaG`): for a loss that is
  the mean cross-entropy of B softmax predictions, sample labels ŷ from the model's own
  softmax, take the gradient ĝ of the mean cross-entropy on ŷ, and return B·ĝ ⊙ ĝ. Its
  mean is the diagonal of the Gauss–Newton matrix, a positive semi-definite stand-in
  for H (Bartlett's identity: the expected outer product of the score equals the
  expected Hessian of the negative log-likelihood under the model's own labels).

Liu, Li, Hall, Liang & Ma (2023), "Sophia: A Scalable Stochastic Second-order Optimizer
for Language Model Pre-training", arXiv:2305.14342, Algorithms 1 and 2. Hutchinson
(1989), "A stochastic estimator of the trace of the influence matrix for Laplacian
smoothing splines".

These functions need the autograd engine; they import it when called, so that the rest
of ``optim`` keeps needing nothing but ``.data`` and ``.grad`` arrays.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from minigrad.backend import get_array_module

PROBE_DISTRIBUTIONS = ("rademacher", "gaussian")


def hutchinson_probe(shape: tuple, dtype, *, distribution: str = "rademacher",
                     generator: Optional[np.random.Generator] = None) -> np.ndarray:
    """A probe u with E[u uᵀ] = I: entries ±1 ("rademacher") or N(0, 1) ("gaussian").

    ``generator`` defaults to minigrad's (reseeded by ``minigrad.manual_seed``).

    >>> hutchinson_probe((4,), np.float64, generator=np.random.default_rng(0)).tolist()
    [1.0, 1.0, 1.0, -1.0]
    """
    if generator is None:
        from minigrad.random import default_generator
        generator = default_generator()
    if distribution == "rademacher":
        return (2 * generator.integers(0, 2, size=shape) - 1).astype(dtype)
    if distribution == "gaussian":
        return generator.standard_normal(shape).astype(dtype)
    raise ValueError(f"Invalid hessian_distribution: {distribution!r} "
                     f"(allowed: {', '.join(map(repr, PROBE_DISTRIBUTIONS))})")


def hutchinson_diagonal(grads: Sequence, params: Sequence, probes: Sequence,
                        retain_graph: bool = False) -> list:
    """Hutchinson's estimate ĥ = u ⊙ (H u) of the Hessian diagonal, one array per param.

    Parameters
    ----------
    grads : sequence of Tensor
        ∇L with respect to each parameter, computed with ``create_graph=True`` so that
        they can be differentiated again.
    params : sequence of Tensor
        The parameters, in the same order.
    probes : sequence of ndarray
        One probe u per parameter (see :func:`hutchinson_probe`).
    retain_graph : bool, default False
        Keep the gradients' graph for another estimate (several probes of the same
        gradients); by default the Hessian-vector product frees it.

    Returns
    -------
    list of ndarray
        ``u ⊙ (H u)`` for each parameter (zeros where the gradient does not depend on
        the parameters, as for a loss that is linear in them).

    Examples
    --------
    For L = ½·xᵀAx with A diagonal, one Rademacher sample is exactly diag(A):

    >>> import minigrad
    >>> x = minigrad.tensor([1.0, 2.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    >>> a = minigrad.tensor([2.0, 5.0, 7.0], dtype=minigrad.float64)
    >>> (g,) = minigrad.grad(0.5 * (a * x * x).sum(), [x], create_graph=True)
    >>> u = hutchinson_probe((3,), np.float64, generator=np.random.default_rng(1))
    >>> hutchinson_diagonal([g], [x], [u])[0].tolist()
    [2.0, 5.0, 7.0]
    """
    import minigrad

    with minigrad.enable_grad():
        directional = None  # ⟨∇L, u⟩, summed over the parameters
        for g, u in zip(grads, probes):
            term = (g * minigrad.Tensor(g.xp.asarray(u, dtype=g.dtype))).sum()
            directional = term if directional is None else directional + term
        if directional is None or not directional.requires_grad:
            return [p.xp.zeros_like(p.data) for p in params]
        hvps = minigrad.grad(directional, list(params), retain_graph=retain_graph,
                             allow_unused=True)
    return [p.xp.zeros_like(p.data) if hv is None else p.xp.asarray(u, dtype=p.dtype) * hv.data
            for p, u, hv in zip(params, probes, hvps)]


def sample_labels_from_logits(logits, generator: Optional[np.random.Generator] = None):
    """Draw one class index per row from softmax(logits), along the last axis.

    The labels of the Gauss–Newton–Bartlett estimator: ŷ ~ Categorical(softmax(z)).
    Inverse-CDF sampling in float64 with one uniform number per row, taken from
    ``generator`` or, by default, minigrad's generator, so ``minigrad.manual_seed(s)``
    makes the labels reproducible.

    Parameters
    ----------
    logits : Tensor or ndarray
        Shape (..., C).
    generator : numpy.random.Generator or int, optional

    Returns
    -------
    ndarray of int64, shape ``logits.shape[:-1]`` (on the logits' device).

    Examples
    --------
    >>> import minigrad
    >>> _ = minigrad.manual_seed(0)
    >>> sample_labels_from_logits(np.array([[0.0, 50.0, 0.0], [-50.0, 0.0, 50.0]])).tolist()
    [1, 2]
    """
    from minigrad.random import resolve_generator

    z = logits.data if hasattr(logits, "grad_fn") else logits
    xp = get_array_module(z)
    z = xp.asarray(z, dtype=np.float64)
    probabilities = xp.exp(z - z.max(axis=-1, keepdims=True))
    cumulative = xp.cumsum(probabilities, axis=-1)
    uniform = resolve_generator(generator).random(z.shape[:-1] + (1,))
    threshold = xp.asarray(uniform) * cumulative[..., -1:]
    labels = (cumulative <= threshold).sum(axis=-1)  # the first j with threshold < cᵢ
    return xp.minimum(labels, z.shape[-1] - 1).astype(np.int64)


def gnb_hessian_step(model: Callable, optimizer, inputs, *,
                     generator: Optional[np.random.Generator] = None) -> float:
    """Refresh a SophiaG optimizer's Hessian with the Gauss–Newton–Bartlett estimator.

    The authors' recipe, in one call:

    1. ``optimizer.zero_grad()`` (a gradient left in ``.grad`` would be mixed in);
    2. z = ``model(inputs)``, logits of shape (..., C), flattened to B = z.size / C rows;
    3. ŷ ~ softmax(z) row by row (:func:`sample_labels_from_logits`);
    4. the *mean* cross-entropy of z on ŷ, backward: ``.grad`` now holds ĝ;
    5. ``optimizer.update_hessian()``: h ← β2·h + (1 − β2)·ĝ ⊙ ĝ;
    6. ``optimizer.zero_grad()``.

    The factor B of the estimator B·ĝ ⊙ ĝ is not applied here: as in the authors' code
    it enters Sophia's denominator, so pass ``bs=B`` (B labels per batch, e.g. batch
    size × sequence length) to ``optimizer.step``.

    Returns the cross-entropy on the sampled labels, as a float.
    """
    import minigrad
    from minigrad.nn import functional as F

    optimizer.zero_grad()
    with minigrad.enable_grad():
        logits = model(inputs)
        flat = logits.reshape(-1, logits.shape[-1])
        labels = sample_labels_from_logits(flat, generator)
        loss = F.cross_entropy(flat, labels)
        loss.backward()
    optimizer.update_hessian()
    optimizer.zero_grad()
    return float(loss.data)

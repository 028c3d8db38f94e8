"""The element-wise rules of the modern optimizers' GPU kernels (no CuPy needed here).

Same form as :data:`optim.kernels.cupy_source.RULES` (one
:class:`~optim.kernels.cupy_source.ElementwiseRule` per pass, C statements on
compute-type locals), for the optimizers whose step does not fit one rule alone or
needs more than ``(p, grad, state, group)``:

* Sophia (SophiaG, SophiaH): one rule; the Hessian average ``h`` is only read;
* Schedule-Free SGD and AdamW: one rule each, with the per-group ``lr`` and ``ckp1``;
* LAMB: two rules with the norms between them: ``lamb_direction`` updates the moments
  and writes the direction r into an array, ``lamb_apply`` moves θ along it once the
  trust ratio is known;
* Adafactor: the row and column averages are reductions (``xp``, in the plan); one rule
  makes U = g/√max(V̂, ε1²) (and a vector's V), another moves θ once RMS(U) is known;
* AdafactorShazeer (Shazeer & Stern's rule): the same split, with its own algebra:
  ``adafactor_shazeer_vector`` (V and U = g/√V) or ``adafactor_shazeer_factored``
  (U = F·g, F = (1/√(R/mean R))·(1/√C) made by the plan), then
  ``adafactor_shazeer_apply`` (clipping, decay λ·α, θ ← θ − U), or
  ``adafactor_shazeer_apply_momentum`` (with β1: m ← β1·m + (1 − β1)·U, θ ← θ − m).

Their plans are in :mod:`optim.kernels.cupy_modern_plans`.

Examples
--------
>>> MODERN_RULES["lamb_direction"].arrays
('m', 'v', 'r')
>>> "nan_min" in MODERN_RULES["sophia"].body      # min(NaN, 1) is NaN, as in NumPy
True
"""
from __future__ import annotations

from .cupy_source import ElementwiseRule

_SCHEDULE_FREE_STEP = """
        p = p + ckp1 * (z - p);                     // y <- y + c (z - y)
        p = p + direction_step * d;                 //      + lr (beta (1 - c) - 1) d
        z = z - lr * d;                             // z <- z - lr d"""


def _shazeer_apply_rule(momentum: bool) -> ElementwiseRule:
    """AdafactorShazeer's last pass: clip and scale U, then (β1) average it, then move θ."""
    body = "u = u * clip_scale;                        // U <- alpha U / max(1, RMS(U)/d)"
    if momentum:
        body += """
        m = m * beta1 + one_minus_beta1 * u;       // m <- beta1 m + (1 - beta1) U
        u = m;"""
    body += """
        if (decay != C(0)) p = p - decay * p;      // decay = weight_decay * alpha
        p = p - u;"""
    return ElementwiseRule("adafactor_shazeer_apply" + "_momentum" * momentum,
                           ("u",) + ("m",) * momentum,
                           ("clip_scale",) + ("beta1", "one_minus_beta1") * momentum
                           + ("decay",), body)


MODERN_RULES = {rule.name: rule for rule in (
    ElementwiseRule(
        "sophia", ("m", "h"), ("shrink", "lr", "beta1", "one_minus_beta1", "rho_bs", "eps"),
        """p = p * shrink;                            // decoupled weight decay
        m = m * beta1 + one_minus_beta1 * g;
        C ratio = nan_min(fabs(m) / (rho_bs * nan_max(h, C(0)) + eps), C(1));
        p = p - lr * (nan_sign(m) * ratio);"""),
    ElementwiseRule(
        "sgd_schedule_free", ("z",), ("lr", "ckp1", "direction_step", "weight_decay"),
        """C d = g;
        if (weight_decay != C(0)) d = d + weight_decay * p;   // d <- g + wd y"""
        + _SCHEDULE_FREE_STEP),
    ElementwiseRule(
        "adamw_schedule_free", ("z", "v"),
        ("lr", "ckp1", "direction_step", "beta2", "one_minus_beta2", "bias_correction2",
         "eps", "weight_decay"),
        """v = v * beta2 + one_minus_beta2 * g * g;
        C d = g / (sqrt(v / bias_correction2) + eps);
        if (weight_decay != C(0)) d = d + weight_decay * p;   // d <- d + wd y"""
        + _SCHEDULE_FREE_STEP),
    ElementwiseRule(
        "lamb_direction", ("m", "v", "r"),
        ("beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "bias_correction1",
         "bias_correction2", "eps", "weight_decay"),
        """m = m * beta1 + one_minus_beta1 * g;
        v = v * beta2 + one_minus_beta2 * g * g;
        r = (m / bias_correction1) / (sqrt(v / bias_correction2) + eps);
        if (weight_decay != C(0)) r = r + weight_decay * p;   // p itself unchanged"""),
    ElementwiseRule(
        "lamb_apply", ("r",), ("step_size",),
        "p = p - step_size * r;                    // step_size = lr * trust"),
    ElementwiseRule(
        "adafactor_direction", ("v", "u"), ("accumulate", "weight", "eps1_squared"),
        """if (accumulate != C(0)) v = v + weight * (g * g - v);   // a vector's own V
        u = g / sqrt(nan_max(v, eps1_squared));    // v: V, or a matrix's estimate"""),
    ElementwiseRule(
        "adafactor_apply", ("u",), ("decay_factor", "scale"),
        """if (decay_factor != C(1)) p = p * decay_factor;
        p = p - scale * u;                         // scale = alpha / max(1, RMS(u)/d)"""),
    ElementwiseRule(
        "adafactor_shazeer_vector", ("v", "u"), ("beta2", "one_minus_beta2", "eps1"),
        """v = v * beta2 + one_minus_beta2 * (g * g + eps1);   // V <- b2 V + (1 - b2) G
        u = g / sqrt(v);"""),
    ElementwiseRule(
        "adafactor_shazeer_factored", ("f", "u"), (),
        "u = f * g;                                 // f = row factor * column factor"),
    _shazeer_apply_rule(momentum=False),
    _shazeer_apply_rule(momentum=True),
)}

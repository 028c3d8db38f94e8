"""AdamW: Adam whose weight decay shrinks the weights directly instead of the gradient.

PyTorch's ``torch.optim.AdamW``: same arguments, defaults and update rule. It is Adam
with ``decoupled_weight_decay=True`` always, and ``weight_decay=0.01`` by default.
"""
from __future__ import annotations

from typing import Optional

from .adam import Adam, adam_update


def adamw_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step: int,
                 lr: float, beta1: float, beta2: float, eps: float,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 bias_correction: bool = True) -> None:
    """One AdamW step, in place: :func:`adam_update` with decoupled weight decay.

    With g the gradient, m and v the moments, t = ``step`` (1 on the first step)::

        θ ← (1 − η·λ)·θ                   the decay never enters m or v
        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        θ ← θ − (η / (1 − β1^t))·m / (√v / √(1 − β2^t) + ε)

    With L2 decay (Adam's ``weight_decay``) the penalty gradient λθ is divided by √v
    like the rest, so weights with large gradients are barely decayed; decoupling makes
    every weight shrink by the same factor (1 − ηλ).

    Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization".
    """
    adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr,
                beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                amsgrad=amsgrad, decoupled_weight_decay=True,
                bias_correction=bias_correction)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1e-3
        Learning rate η.
    betas : (float, float), default (0.9, 0.999)
        Decay rates β1, β2 of the first and second moment averages, each in [0, 1).
    eps : float, default 1e-8
        ε added to the denominator.
    weight_decay : float, default 1e-2
        Decoupled weight decay λ: ``θ ← (1 − ηλ)·θ`` before each step.
    amsgrad : bool, default False
        Divide by the largest second moment seen so far (AMSGrad).
    maximize : bool, default False
        Maximise the objective instead of minimising it.
    bias_correction : bool, default True
        Teaching switch (not in PyTorch): ``False`` drops both bias corrections; see
        :class:`optim.Adam`.
    foreach, capturable, differentiable, fused
        PyTorch's implementation switches: accepted, ignored, not stored.

    Notes
    -----
    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``
    with AMSGrad), as in Adam.

    Examples
    --------
    >>> import minigrad, optim
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()  # shrunk by (1 - 0.1·0.5) = 0.95, then ≈ lr · sign(gradient)
    [0.8500000238418579, -1.7999999523162842]
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, bias_correction: bool = True,
                 backend: Optional[str] = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, bias_correction=bias_correction,
                         backend=backend)

    # The update is Adam's: Adam._update calls adam_update, and every group here has
    # decoupled_weight_decay=True, which is exactly adamw_update.

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a checkpoint; the weight decay stays decoupled whatever was saved."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

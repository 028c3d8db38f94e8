"""Schedule-Free SGD and AdamW: no learning-rate schedule, an average evaluated instead.

Defazio et al. (2024), "The Road Less Scheduled" (arXiv:2405.15682), and the authors'
``schedulefree`` package (facebookresearch/schedule_free), version 1.4.1: same class
names, arguments, defaults, ``param_groups`` keys and per-parameter state.

Three sequences share one set of parameters:

* z – the plain SGD (or Adam-normalised) iterate, kept in the optimizer state;
* x – the weighted average of the z's: the point to evaluate, test and ship;
* y = (1 − β)·z + β·x – the point where gradients are taken.

A parameter holds **y in train mode and x in eval mode**; x itself is never stored, since
x = (y − (1 − β)·z)/β. So the training loop has to say which one it wants::

    optimizer.train()        # before training: parameters hold y
    ...  loss.backward(); optimizer.step()
    optimizer.eval()         # before evaluating or saving the model: parameters hold x

A new optimizer starts in eval mode (as in the package), and ``step`` in eval mode
raises ``RuntimeError``. Before the first step x = y = z, so ``train()`` only sets a flag.
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

from minigrad.backend import get_array_module

from .checks import Betas, PositiveInt, Range
from .kernels import get_default_backend
from .optimizer import Optimizer, _evaluate, read_only


def schedule_free_coefficients(k: int, lr: float, lr_max: float, weight_sum: float, *,
                               warmup_steps: int, r: float,
                               weight_lr_power: float) -> Tuple[float, float, float, float]:
    """The per-group numbers of step t = k + 1: ``(γ_t, lr_max, weight_sum, c_(t+1))``.

    Returned, not changed in place (they are Python numbers kept in the param group)::

        γ_t = lr · min(1, t / warmup_steps)        (linear warmup; γ_t = lr without it)
        lr_max ← max(lr_max, γ_t)                  (lr_max starts at −1)
        w_t = t^r · lr_max^p                       (p = weight_lr_power)
        weight_sum ← weight_sum + w_t
        c_(t+1) = w_t / weight_sum                 (0 while weight_sum is 0)

    With r = 0 and no warmup every w_t is the same and x is the plain mean of the z's
    (c = 1/t); r > 0 favours recent iterates; ``lr_max^p`` gives the small warmup steps
    small weights. The paper writes the weights as γ_t²; the authors' code uses the
    largest γ so far, which is the same during a warmup and stays constant if an
    external schedule lowers ``lr`` later. We follow the code.
    """
    t = k + 1
    scheduled_lr = lr * (t / warmup_steps) if t <= warmup_steps else lr
    lr_max = max(scheduled_lr, lr_max)
    weight = t ** r * lr_max ** weight_lr_power
    weight_sum = weight_sum + weight
    ckp1 = weight / weight_sum if weight_sum != 0 else 0.0
    return scheduled_lr, lr_max, weight_sum, ckp1


def schedule_free_eval_point(param, z, *, beta: float) -> None:
    """In place: the parameter goes from y to x (``eval()``).

    From y = (1 − β)·z + β·x::

        x = y + (1 − 1/β)·(z − y)

    The inverse of :func:`schedule_free_train_point`, exactly in exact arithmetic; in
    floating point the round trip y → x → y returns y up to rounding (a few ulp of
    ``|z − y|/β``), as in the authors' package, which does the same two ``lerp`` calls.
    """
    param += (1 - 1 / beta) * (z - param)


def schedule_free_train_point(param, z, *, beta: float) -> None:
    """In place: the parameter goes from x to y = (1 − β)·z + β·x (``train()``).

    As a step from x towards z::

        y = x + (1 − β)·(z − x)
    """
    param += (1 - beta) * (z - param)


def sgd_schedule_free_update(param, grad, z, *, lr: float, ckp1: float, momentum: float,
                             weight_decay: float = 0.0) -> None:
    """One Schedule-Free SGD step, in place on ``param`` (= y) and ``z``.

    The paper's rule, with β = ``momentum``, γ = ``lr`` (already warmed up) and
    c = ``ckp1`` from :func:`schedule_free_coefficients`::

        g ← ∇f(y) + λ·y                    (weight_decay λ, taken at y)
        z ← z − γ·g                        (an SGD step on z)
        x ← (1 − c)·x + c·z                (the running weighted average of the z's)
        y ← (1 − β)·z + β·x                (where the next gradient is taken)

    x is not stored: substituting x = (y − (1 − β)·z)/β gives the update the authors'
    code runs, on y and the old z (this is what is computed here)::

        y ← y + c·(z − y) + γ·(β·(1 − c) − 1)·g
        z ← z − γ·g

    β is an interpolation, not a momentum buffer. Its two ends are classical methods
    (both excluded here, as in the package): β = 0 takes the gradients at z and only
    reports the average (Polyak–Ruppert averaging), β = 1 takes them at the average x
    itself (primal averaging); the default 0.9 lies in between. The first step has
    c = 1 (x₁ = z₁), so y, x and z all take the same SGD step.

    Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
    Scheduled", arXiv:2405.15682, Algorithm for SGD; reference code
    ``schedulefree.SGDScheduleFree`` (facebookresearch/schedule_free).
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param  # new array: grad is p.grad
    param += ckp1 * (z - param)
    param += lr * (momentum * (1 - ckp1) - 1) * grad
    z -= lr * grad


def adamw_schedule_free_update(param, grad, z, exp_avg_sq, *, step: int, lr: float,
                               ckp1: float, beta1: float, beta2: float, eps: float,
                               weight_decay: float = 0.0) -> None:
    """One Schedule-Free AdamW step, in place on ``param`` (= y), ``z``, ``exp_avg_sq``.

    With t = ``step`` (counting this step), γ = ``lr`` (already warmed up), c = ``ckp1``
    from :func:`schedule_free_coefficients`, β1 the interpolation and v the second
    moment (there is no first moment: the averaging plays its role)::

        v ← β2·v + (1 − β2)·g²
        d ← g / (√(v / (1 − β2^t)) + ε) + λ·y      (weight_decay λ, taken at y)
        z ← z − γ·d
        x ← (1 − c)·x + c·z
        y ← (1 − β1)·z + β1·x

    computed, like Schedule-Free SGD, without storing x::

        y ← y + c·(z − y) + γ·(β1·(1 − c) − 1)·d
        z ← z − γ·d

    Paper and code differ: the paper's Algorithm 1 multiplies γ_t by √(1 − β2^t) (so
    the bias correction also enters the averaging weights γ_t²) and adds ε to √v; the
    authors' default ``AdamWScheduleFree`` divides v by 1 − β2^t inside the root and
    leaves the weights alone (their ``AdamWScheduleFreePaper`` keeps the paper's form).
    We follow the default code. t is the group's step count, shared by its parameters.

    Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
    Scheduled", arXiv:2405.15682, Algorithm 1; reference code
    ``schedulefree.AdamWScheduleFree`` (facebookresearch/schedule_free).
    """
    xp = get_array_module(param)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    denom = xp.sqrt(exp_avg_sq / (1 - beta2 ** step)) + eps
    direction = grad / denom  # new array: grad is p.grad
    if weight_decay != 0:
        direction += weight_decay * param
    param += ckp1 * (z - param)
    param += lr * (beta1 * (1 - ckp1) - 1) * direction
    z -= lr * direction


_EVAL_MODE_MESSAGE = (
    "{name}.step() was called in eval mode: call optimizer.train() before training "
    "(the parameters then hold y, where gradients are taken) and optimizer.eval() before "
    "evaluating or saving the model (they then hold the average x)")


class _ScheduleFree(Optimizer):
    """What both schedule-free optimizers share: modes, per-group weights, ``step``.

    ``_step`` replaces the base class's loop because the averaging weight is a per-group
    quantity: each step computes it once per group (:func:`schedule_free_coefficients`),
    then hands the warmed-up ``lr`` and ``ckp1`` to ``_update`` for each parameter.
    Unlike the package, which looks at the first group only, ``step`` checks that every
    group is in train mode; a group added later starts in the optimizer's mode.
    """

    #: The group keys the authors' package keeps besides the hyper-parameters.
    group_counters = dict(k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0,
                          scheduled_lr=0.0)

    def _beta(self, group: dict) -> float:  # pragma: no cover
        raise NotImplementedError

    # ----------------------------------------------------------------- modes
    def train(self) -> None:
        """Switch every group to train mode: its parameters move from x to y."""
        self._switch(to_train=True)

    def eval(self) -> None:
        """Switch every group to eval mode: its parameters move from y to x."""
        self._switch(to_train=False)

    def _switch(self, to_train: bool) -> None:
        move = schedule_free_train_point if to_train else schedule_free_eval_point
        for group in self.param_groups:
            if group["train_mode"] == to_train:
                continue
            for p in group["params"]:
                state = self.state.get(p, {})
                if "z" in state:  # before its first step a parameter is x = y = z
                    move(p.data, state["z"], beta=self._beta(group))
                    p._version += 1
            group["train_mode"] = to_train

    def add_param_group(self, param_group: dict) -> None:
        """Add a group; it starts in the optimizer's current mode (unless it says)."""
        if isinstance(param_group, dict):
            mode = all(group["train_mode"] for group in self.param_groups)
            param_group = {"train_mode": mode, **param_group}
        super().add_param_group(param_group)

    # ----------------------------------------------------------------- stepping
    def _step(self, closure: Optional[Callable]):
        if not all(group["train_mode"] for group in self.param_groups):
            raise RuntimeError(_EVAL_MODE_MESSAGE.format(name=type(self).__name__))
        loss = _evaluate(closure)
        backend = self.backend or get_default_backend()
        for group in self.param_groups:
            lr, group["lr_max"], group["weight_sum"], ckp1 = schedule_free_coefficients(
                group["k"], group["lr"], group["lr_max"], group["weight_sum"],
                warmup_steps=group["warmup_steps"], r=group["r"],
                weight_lr_power=group["weight_lr_power"])
            group["scheduled_lr"] = lr  # for logging, as in the package
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(self._init_state(p, group))
                grad = read_only(p.grad)
                update = self._kernel(backend, p, grad, state) or self._update
                update(p, grad, state, group, lr=lr, ckp1=ckp1)
                p._version += 1
            group["k"] += 1
        return loss


class SGDScheduleFree(_ScheduleFree):
    """Schedule-Free SGD, as ``schedulefree.SGDScheduleFree``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 1.0
        Learning rate γ of the z sequence (no schedule is needed; see ``warmup_steps``).
    momentum : float, default 0.9
        Interpolation β in (0, 1) between z and x for the gradient point y.
    weight_decay : float, default 0
        L2 penalty λ, taken at y.
    warmup_steps : int, default 0
        Linear warmup: γ_t = lr·t/warmup_steps for the first steps.
    r : float, default 0.0
        Polynomial weighting: iterate t gets weight t^r in the average x.
    weight_lr_power : float, default 2
        Iterate t also gets weight lr_max^p (so warmup steps count less); 0 turns it off.
    foreach
        The package's implementation switch: accepted, ignored, not stored.

    Notes
    -----
    State per parameter: ``z`` (the SGD iterate). Per group, as in the package: ``k``
    (steps taken), ``train_mode``, ``weight_sum``, ``lr_max``, ``scheduled_lr``.

    Call ``optimizer.train()`` before training and ``optimizer.eval()`` before evaluating
    or saving (see the module docstring); ``step`` in eval mode raises RuntimeError.

    Examples
    --------
    >>> import minigrad
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGDScheduleFree([w], lr=0.1)
    >>> opt.train()                          # a new optimizer starts in eval mode
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()
    ...     opt.step()
    >>> [round(v, 6) for v in w.data.tolist()]   # y, where the gradients are taken
    [0.712, -1.424]
    >>> opt.eval()
    >>> [round(v, 6) for v in w.data.tolist()]   # x, the mean of z₁ and z₂
    [0.72, -1.44]
    """

    ranges = {"lr": Range("learning rate"),
              "momentum": Range("momentum value", 0.0, 1.0, low_open=True, high_open=True),
              "weight_decay": Range("weight_decay value"),
              "warmup_steps": PositiveInt("warmup_steps", low=0),
              "r": Range("r value"),
              "weight_lr_power": Range("weight_lr_power value")}
    state_names = ("z",)

    def __init__(self, params, lr: float = 1.0, momentum: float = 0.9,
                 weight_decay: float = 0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2, foreach: Optional[bool] = None,
                 *, backend: Optional[str] = None):
        defaults = dict(lr=lr, momentum=momentum, r=r, warmup_steps=warmup_steps,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay,
                        **self.group_counters)
        super().__init__(params, defaults, backend=backend)

    def _beta(self, group: dict) -> float:
        return group["momentum"]

    def _init_state(self, p, group: dict) -> dict:
        return {"z": p.data.copy()}

    def _update(self, p, grad, state: dict, group: dict, *, lr: float, ckp1: float) -> None:
        sgd_schedule_free_update(p.data, grad, state["z"], lr=lr, ckp1=ckp1,
                                 momentum=group["momentum"],
                                 weight_decay=group["weight_decay"])


class AdamWScheduleFree(_ScheduleFree):
    """Schedule-Free AdamW, as ``schedulefree.AdamWScheduleFree``.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default 0.0025
        Learning rate γ of the z sequence (no schedule is needed; see ``warmup_steps``).
    betas : (float, float), default (0.9, 0.999)
        β1 in (0, 1), the interpolation between z and x for the gradient point y, and
        β2 in [0, 1), the decay of the second-moment average.
    eps : float, default 1e-8
        ε added to the root of the bias-corrected second moment.
    weight_decay : float, default 0
        Weight decay λ, added at y to the Adam-normalised gradient.
    warmup_steps : int, default 0
        Linear warmup: γ_t = lr·t/warmup_steps for the first steps.
    r : float, default 0.0
        Polynomial weighting: iterate t gets weight t^r in the average x.
    weight_lr_power : float, default 2.0
        Iterate t also gets weight lr_max^p (so warmup steps count less); 0 turns it off.
    foreach
        The package's implementation switch: accepted, ignored, not stored.

    Notes
    -----
    State per parameter: ``z`` and ``exp_avg_sq`` (v). Per group, as in the package:
    ``k`` (steps taken, also the bias-correction count), ``train_mode``, ``weight_sum``,
    ``lr_max``, ``scheduled_lr``.

    Call ``optimizer.train()`` before training and ``optimizer.eval()`` before evaluating
    or saving (see the module docstring); ``step`` in eval mode raises RuntimeError.

    Examples
    --------
    >>> import minigrad
    >>> w = minigrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = AdamWScheduleFree([w], lr=0.1)
    >>> opt.train()
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> [round(v, 5) for v in w.data.tolist()]   # the first step is ≈ lr · sign(gradient)
    [0.9, -1.9]
    >>> opt.eval()                           # x, for evaluation: stepping now is an error
    >>> opt.step()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    RuntimeError: AdamWScheduleFree.step() was called in eval mode: call optimizer.train() ...
    """

    ranges = {"lr": Range("learning rate"),
              "betas": Betas(),
              "eps": Range("epsilon value"),
              "weight_decay": Range("weight_decay value"),
              "warmup_steps": PositiveInt("warmup_steps", low=0),
              "r": Range("r value"),
              "weight_lr_power": Range("weight_lr_power value")}
    state_names = ("z", "exp_avg_sq")

    def __init__(self, params, lr: float = 0.0025, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, warmup_steps: int = 0,
                 r: float = 0.0, weight_lr_power: float = 2.0,
                 foreach: Optional[bool] = None, *, backend: Optional[str] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, warmup_steps=warmup_steps,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay,
                        **self.group_counters)
        super().__init__(params, defaults, backend=backend)

    def _validate_group(self, group: dict) -> None:
        super()._validate_group(group)
        if group["betas"][0] == 0:  # eval() divides by β1
            raise ValueError("Invalid beta parameter at index 0: 0 (schedule-free needs "
                             "0 < β1 < 1: the average x is recovered as (y − (1 − β1)·z)/β1)")

    def _beta(self, group: dict) -> float:
        return group["betas"][0]

    def _init_state(self, p, group: dict) -> dict:
        return {"z": p.data.copy(), "exp_avg_sq": p.xp.zeros_like(p.data)}

    def _update(self, p, grad, state: dict, group: dict, *, lr: float, ckp1: float) -> None:
        beta1, beta2 = group["betas"]
        adamw_schedule_free_update(p.data, grad, state["z"], state["exp_avg_sq"],
                                   step=group["k"] + 1, lr=lr, ckp1=ckp1, beta1=beta1,
                                   beta2=beta2, eps=group["eps"],
                                   weight_decay=group["weight_decay"])

"""Every scheduler configuration whose PyTorch sequence is stored in ``schedule_sequences.npz``.

A case names a scheduler class, its keyword arguments and how it is driven; :func:`run`
drives it the same way for PyTorch (``torch.optim.lr_scheduler``) and for us
(``schedules``): record every group's ``lr`` and momentum (SGD's ``momentum``, Adam's
``betas[0]``), then ``optimizer.step()`` and ``scheduler.step(...)``, for ``steps`` steps.
Nothing here imports torch.

Every optimizer has two param groups with the rates ``LRS``. Functions (``lr_lambda``,
``scale_fn``) are named by strings and resolved here, so both frameworks call the same
Python functions; inner schedulers of SequentialLR / ChainedScheduler are nested cases.
"""
from __future__ import annotations

import math

import numpy as np

STEPS = 300
LRS = (0.1, 0.05)
SGD_MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)


# --------------------------------------------------------------------------- shared functions
class Staircase:
    """A callable object: its attributes travel in the scheduler's state dict."""

    def __init__(self, drop: float = 0.5, every: int = 40):
        self.drop = drop
        self.every = every

    def __call__(self, epoch: int) -> float:
        return self.drop ** (epoch // self.every)


FUNCTIONS = {
    "exp_decay": lambda: (lambda epoch: 0.97 ** epoch),
    "inverse_time": lambda: (lambda epoch: 1.0 / (1.0 + 0.02 * epoch)),
    "staircase": Staircase,
    "shrink": lambda: (lambda epoch: 0.99),
    "wobble": lambda: (lambda epoch: 1.0 + 0.02 * math.sin(0.3 * epoch)),
    "per_cycle": lambda: (lambda cycle: 1.0 / (1.0 + 0.5 * (cycle - 1))),
    "per_iteration": lambda: (lambda step: 0.996 ** step),
}


def resolve(value):
    """A function name (or a list of names) -> fresh function objects."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return FUNCTIONS[value]()


# --------------------------------------------------------------------------- how to drive
EPOCH_ARGS = {  # the epoch passed to step(epoch) after step t (the deprecated argument)
    "jumps": lambda t: t + 1 + 2 * (t // 60),
    "fractional": lambda t: (t + 1) / 7,  # CAWR within epochs: epoch + i / iters_per_epoch
}


def plateau_metric(t: int) -> float:
    """A loss that drops every 45 steps and wobbles in between (some wobbles count)."""
    return 2.0 ** -(t // 45) * (1.0 + 0.003 * math.sin(1.7 * t))


METRICS = {
    "loss": plateau_metric,
    "accuracy": lambda t: 1.0 - plateau_metric(t),
}


def case(name, scheduler, optimizer="SGD", steps=STEPS, epoch_args=None, metrics=None,
         last_epoch_from=None, **kwargs) -> dict:
    """One case; ``epoch_args`` / ``metrics`` name what ``step`` receives (EPOCH_ARGS,
    METRICS); ``last_epoch_from``: the groups' ``initial_lr`` when built with ``last_epoch``."""
    return {"name": name, "scheduler": scheduler, "optimizer": optimizer, "steps": steps,
            "epoch_args": epoch_args, "metrics": metrics, "initial_lrs": last_epoch_from,
            "kwargs": kwargs}


def inner(scheduler, **kwargs) -> dict:
    """An inner scheduler of SequentialLR / ChainedScheduler."""
    return {"scheduler": scheduler, "kwargs": kwargs}


RESUMED = (0.2, 0.1)  # initial_lr of the groups for the cases built with last_epoch=37

CASES = [
    case("lambda", "LambdaLR", lr_lambda="exp_decay"),
    case("lambda_per_group", "LambdaLR", lr_lambda=["inverse_time", "staircase"]),
    case("lambda_epochs", "LambdaLR", epoch_args="jumps", lr_lambda="inverse_time"),
    case("lambda_resumed", "LambdaLR", last_epoch_from=RESUMED, lr_lambda="staircase",
         last_epoch=37),
    case("multiplicative", "MultiplicativeLR", lr_lambda="shrink"),
    case("multiplicative_per_group", "MultiplicativeLR", lr_lambda=["shrink", "wobble"]),
    case("multiplicative_resumed", "MultiplicativeLR", last_epoch_from=RESUMED,
         lr_lambda="shrink", last_epoch=37),
    case("step", "StepLR", step_size=30, gamma=0.5),
    case("step_default_gamma", "StepLR", step_size=75),
    case("step_epochs", "StepLR", epoch_args="jumps", step_size=7, gamma=0.8),
    case("step_resumed", "StepLR", last_epoch_from=RESUMED, step_size=19, gamma=0.7,
         last_epoch=37),
    case("multistep", "MultiStepLR", milestones=[30, 80, 80, 200], gamma=0.3),
    case("multistep_epochs", "MultiStepLR", epoch_args="jumps", milestones=[25, 90, 240]),
    case("constant", "ConstantLR"),
    case("constant_long", "ConstantLR", factor=0.5, total_iters=100),
    case("constant_epochs", "ConstantLR", epoch_args="jumps", factor=0.25, total_iters=40),
    case("linear", "LinearLR"),
    case("linear_warmup", "LinearLR", start_factor=0.1, total_iters=50),
    case("linear_decay", "LinearLR", start_factor=1.0, end_factor=0.05, total_iters=250),
    case("linear_epochs", "LinearLR", epoch_args="jumps", start_factor=0.2, end_factor=0.9,
         total_iters=120),
    case("linear_resumed", "LinearLR", last_epoch_from=RESUMED, start_factor=0.2,
         total_iters=100, last_epoch=37),
    case("exponential", "ExponentialLR", gamma=0.99),
    case("exponential_epochs", "ExponentialLR", epoch_args="jumps", gamma=0.995),
    case("exponential_resumed", "ExponentialLR", last_epoch_from=RESUMED, gamma=0.98,
         last_epoch=37),
    case("polynomial", "PolynomialLR"),
    case("polynomial_square", "PolynomialLR", total_iters=250, power=2.0),
    case("polynomial_sqrt_epochs", "PolynomialLR", epoch_args="jumps", total_iters=200, power=0.5),
    case("polynomial_resumed", "PolynomialLR", last_epoch_from=RESUMED, total_iters=150,
         power=1.5, last_epoch=37),
    case("cosine", "CosineAnnealingLR", T_max=300),
    case("cosine_periods", "CosineAnnealingLR", T_max=37, eta_min=0.01),
    case("cosine_floor", "CosineAnnealingLR", T_max=100, eta_min=0.001),
    case("cosine_epochs", "CosineAnnealingLR", epoch_args="jumps", T_max=120, eta_min=0.002),
    case("cosine_resumed", "CosineAnnealingLR", last_epoch_from=RESUMED, T_max=80,
         last_epoch=37),
    case("warm_restarts", "CosineAnnealingWarmRestarts", T_0=10),
    case("warm_restarts_doubling", "CosineAnnealingWarmRestarts", T_0=10, T_mult=2,
         eta_min=0.001),
    case("warm_restarts_fractional", "CosineAnnealingWarmRestarts", epoch_args="fractional",
         T_0=3, T_mult=2, eta_min=0.0005),
    case("warm_restarts_fractional_period", "CosineAnnealingWarmRestarts",
         epoch_args="fractional", T_0=4),
    case("warm_restarts_resumed", "CosineAnnealingWarmRestarts", last_epoch_from=RESUMED,
         T_0=25, last_epoch=37),
    case("cyclic", "CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=20),
    case("cyclic_triangular2", "CyclicLR", base_lr=[0.01, 0.005], max_lr=[0.1, 0.08],
         step_size_up=15, step_size_down=25, mode="triangular2",
         base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95]),
    case("cyclic_exp_range", "CyclicLR", base_lr=0.001, max_lr=0.1, step_size_up=12,
         mode="exp_range", gamma=0.99),
    case("cyclic_scale_cycle", "CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=10,
         step_size_down=30, scale_fn="per_cycle"),
    case("cyclic_scale_iterations", "CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=25,
         scale_fn="per_iteration", scale_mode="iterations"),
    case("cyclic_no_momentum", "CyclicLR", base_lr=0.02, max_lr=0.2, step_size_up=33,
         cycle_momentum=False),
    case("cyclic_adam", "CyclicLR", optimizer="Adam", base_lr=1e-4, max_lr=1e-3,
         step_size_up=40, base_momentum=0.85, max_momentum=0.95),
    case("cyclic_epochs", "CyclicLR", epoch_args="jumps", base_lr=0.01, max_lr=0.1,
         step_size_up=20),
    case("cyclic_resumed", "CyclicLR", last_epoch_from=RESUMED, base_lr=0.01, max_lr=0.1,
         step_size_up=20, last_epoch=37),
    case("one_cycle", "OneCycleLR", max_lr=0.5, total_steps=300),
    case("one_cycle_linear", "OneCycleLR", max_lr=[0.5, 0.2], total_steps=300,
         anneal_strategy="linear", base_momentum=[0.8, 0.85], max_momentum=[0.9, 0.99]),
    case("one_cycle_three_phase", "OneCycleLR", max_lr=0.4, total_steps=300, three_phase=True),
    case("one_cycle_factors", "OneCycleLR", max_lr=1.0, total_steps=300, pct_start=0.25,
         div_factor=10.0, final_div_factor=100.0),
    case("one_cycle_epochs", "OneCycleLR", max_lr=0.3, epochs=30, steps_per_epoch=10,
         pct_start=0.4),
    case("one_cycle_longer", "OneCycleLR", max_lr=0.3, total_steps=1000),
    case("one_cycle_adam", "OneCycleLR", optimizer="Adam", max_lr=0.003, total_steps=300),
    case("one_cycle_no_momentum", "OneCycleLR", max_lr=0.3, total_steps=300,
         cycle_momentum=False, three_phase=True, anneal_strategy="linear"),
    case("sequential_warmup_cosine", "SequentialLR",
         schedulers=[inner("LinearLR", start_factor=0.1, total_iters=20),
                     inner("CosineAnnealingLR", T_max=280)], milestones=[20]),
    case("sequential_three", "SequentialLR",
         schedulers=[inner("ConstantLR", factor=0.5, total_iters=10),
                     inner("ExponentialLR", gamma=0.99),
                     inner("StepLR", step_size=30, gamma=0.5)], milestones=[15, 120]),
    case("sequential_multistep_restarts", "SequentialLR",
         schedulers=[inner("MultiStepLR", milestones=[10, 30], gamma=0.5),
                     inner("CosineAnnealingWarmRestarts", T_0=20, T_mult=2)],
         milestones=[60]),
    case("chained_warmup_exponential", "ChainedScheduler",
         schedulers=[inner("LinearLR", start_factor=0.2, total_iters=30),
                     inner("ExponentialLR", gamma=0.995)]),
    case("chained_three", "ChainedScheduler",
         schedulers=[inner("ConstantLR", factor=0.5, total_iters=25),
                     inner("MultiStepLR", milestones=[100, 200], gamma=0.5),
                     inner("CosineAnnealingLR", T_max=50)]),
    case("plateau", "ReduceLROnPlateau", metrics="loss", patience=5),
    case("plateau_max_abs_cooldown", "ReduceLROnPlateau", metrics="accuracy", mode="max",
         threshold=0.002, threshold_mode="abs", factor=0.5, patience=3, cooldown=10),
    case("plateau_min_lrs", "ReduceLROnPlateau", metrics="loss", factor=0.3, patience=2,
         min_lr=[0.004, 0.001]),
    case("plateau_eps", "ReduceLROnPlateau", metrics="loss", factor=0.5, patience=4,
         threshold=0.01, min_lr=0.002, eps=0.004),
]


# --------------------------------------------------------------------------- running a case
def make_optimizer(spec: dict, optim_module, make_param):
    """The case's optimizer from ``optim_module`` (``torch.optim`` or ``optim``): two groups."""
    groups = [{"params": [make_param()], "lr": lr} for lr in LRS]
    if spec["optimizer"] == "Adam":
        return optim_module.Adam(groups, betas=ADAM_BETAS)
    return optim_module.SGD(groups, momentum=SGD_MOMENTUM)


def build(spec: dict, optimizer, module):
    """The scheduler described by ``spec`` on ``optimizer``, from ``module``'s classes."""
    kwargs = dict(spec["kwargs"])
    for key in ("lr_lambda", "scale_fn"):
        if key in kwargs:
            kwargs[key] = resolve(kwargs[key])
    cls = getattr(module, spec["scheduler"])
    if "schedulers" in kwargs:
        inner_schedulers = [build(s, optimizer, module) for s in kwargs.pop("schedulers")]
        if spec["scheduler"] == "ChainedScheduler":
            return cls(inner_schedulers, optimizer=optimizer)
        return cls(optimizer, inner_schedulers, **kwargs)
    return cls(optimizer, **kwargs)


def momentum(group: dict) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


def run(spec: dict, optimizer, module, stop: int = None):
    """(scheduler, lrs, momenta): ``lrs[t, g]`` is group g's rate at step t.

    ``stop`` ends the run early (after recording step ``stop - 1``, before stepping on).
    """
    for group, initial_lr in zip(optimizer.param_groups, spec["initial_lrs"] or ()):
        group["initial_lr"] = initial_lr
    scheduler = build(spec, optimizer, module)
    stop = spec["steps"] if stop is None else stop
    return (scheduler, *drive(spec, optimizer, scheduler, 0, stop))


def drive(spec: dict, optimizer, scheduler, start: int, stop: int):
    """Record steps ``start .. stop-1``, stepping between them as training would."""
    lrs, momenta = [], []
    for t in range(start, stop):
        lrs.append([group["lr"] for group in optimizer.param_groups])
        momenta.append([momentum(group) for group in optimizer.param_groups])
        if t == spec["steps"] - 1:
            break
        optimizer.step()
        if spec["metrics"]:
            scheduler.step(METRICS[spec["metrics"]](t))
        elif spec["epoch_args"]:
            scheduler.step(EPOCH_ARGS[spec["epoch_args"]](t))
        else:
            scheduler.step()
    return np.array(lrs, dtype=float), np.array(momenta, dtype=float)

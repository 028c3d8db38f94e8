"""schedules: learning-rate (and momentum) schedules with PyTorch's names and semantics.

Every scheduler acts on an optimizer's ``param_groups``; step it once per step (or
epoch), after ``optimizer.step()``::

    scheduler = CosineAnnealingLR(optimizer, T_max=100)
    for batch in data:
        ...
        optimizer.step()
        scheduler.step()

The PyTorch schedulers are checked against PyTorch's own sequences; the chapters'
warmup schedules (``WarmupCosineSchedule`` and friends) also exist as pure functions
``step -> lr``, and :func:`lr_sequence` evaluates any schedule without a model.
"""
from .scheduler import LRScheduler
from .lambda_lr import LambdaLR, MultiplicativeLR
from .step_based import (ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR,
                         StepLR)
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR
from .one_cycle import OneCycleLR
from .plateau import ReduceLROnPlateau
from .composite import ChainedScheduler, SequentialLR
from .warmup import (InverseSqrtSchedule, WarmupCosineSchedule, WarmupLinearSchedule,
                     WarmupPolynomialSchedule, WarmupStableDecaySchedule, inverse_sqrt,
                     warmup_cosine, warmup_linear, warmup_polynomial, warmup_stable_decay)
from .evaluate import lr_sequence, momentum_sequence
from .lr_finder import LRFinder
from .lr_suggestion import suggest_lr
from .swa import SWALR

# The schedulers that PyTorch also has (tested against its sequences).
PYTORCH_SCHEDULERS = (
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
)

__all__ = [
    "LRScheduler", "PYTORCH_SCHEDULERS",
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
    "WarmupCosineSchedule", "WarmupLinearSchedule", "WarmupPolynomialSchedule",
    "InverseSqrtSchedule", "WarmupStableDecaySchedule",
    "warmup_cosine", "warmup_linear", "warmup_polynomial", "inverse_sqrt",
    "warmup_stable_decay", "lr_sequence", "momentum_sequence", "LRFinder", "suggest_lr",
    "SWALR",
]

"""optim: optimizers written from scratch in NumPy, one readable file each.

Each file holds the pure update function (the math, e.g. ``sgd_update``) and the class
that keeps per-parameter state and param groups, with PyTorch's names, arguments,
defaults and update rules.
"""
from .optimizer import Optimizer, required
from .sgd import SGD, sgd_update

# The optimizers that PyTorch also has (tested against its trajectories), in the order
# the chapters teach them.
PYTORCH_OPTIMIZERS = ("SGD",)

__all__ = ["Optimizer", "PYTORCH_OPTIMIZERS", "SGD", "required", "sgd_update"]

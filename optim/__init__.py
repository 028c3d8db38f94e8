"""optim: optimizers written from scratch in NumPy, one readable file each.

Each file holds the pure update function (the math, e.g. ``sgd_update``) and the class
that keeps per-parameter state and param groups, with PyTorch's names, arguments,
defaults and update rules.
"""
from .optimizer import Optimizer, required
from .sgd import SGD, sgd_update
from .adagrad import Adagrad, adagrad_update
from .rmsprop import RMSprop, rmsprop_update
from .adadelta import Adadelta, adadelta_update
from .adam import Adam, adam_update
from .adamw import AdamW, adamw_update
from .nadam import NAdam, nadam_update
from .radam import RAdam, radam_update
from .adamax import Adamax, adamax_update
from .rprop import Rprop, rprop_update
from .asgd import ASGD, asgd_update
from .lbfgs import LBFGS, lbfgs_direction
from .teaching import (MomentumEWA, NesterovLookahead, momentum_ewa_update,
                       nesterov_lookahead_update)
from .memory import state_bytes, state_bytes_per_param

# The optimizers that PyTorch also has (tested against its trajectories), in the order
# the chapters teach them.
PYTORCH_OPTIMIZERS = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam",
                      "RAdam", "Adamax", "Rprop", "ASGD", "LBFGS")

__all__ = [
    "Optimizer", "required", "PYTORCH_OPTIMIZERS",
    "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam", "Adamax",
    "Rprop", "ASGD", "LBFGS",
    "sgd_update", "adagrad_update", "rmsprop_update", "adadelta_update", "adam_update",
    "adamw_update", "nadam_update", "radam_update", "adamax_update", "rprop_update",
    "asgd_update", "lbfgs_direction",
    "MomentumEWA", "NesterovLookahead", "momentum_ewa_update", "nesterov_lookahead_update",
    "state_bytes", "state_bytes_per_param",
]

"""optim: optimizers written from scratch in NumPy, one readable file each.

Each file holds the update function (the math, e.g. ``adam_update``) and a small class
that keeps per-parameter state and param groups, with PyTorch's names, arguments,
defaults and update rules. The class declares its hyper-parameter ranges (``ranges``),
its state arrays (``state_names``) and whether ``step`` needs a closure
(``needs_closure``) as data that :class:`Optimizer` reads; its ``_update`` method is one
call that links the group's hyper-parameters and the parameter's state to the function.

The in-place convention of every update function
------------------------------------------------
* It changes ``param`` and the state arrays it is given **in place** (``exp_avg *= β1``),
  so the optimizer's state dict sees the new values without any copying back.
* It **never writes to** ``grad``: ``grad`` is ``p.grad`` itself, which the caller may
  still need (gradient clipping logs, accumulation, a second optimizer). Build a new
  array instead: ``grad = grad + weight_decay * param``, never ``grad += ...``. The
  optimizers pass ``grad`` read-only, so a slip raises
  ``ValueError: output array is read-only`` instead of silently corrupting ``.grad``.
* It **returns None**, with one exception: state that cannot change in place — a Python
  number (NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``) or a buffer that does not
  exist before the first step (SGD's ``momentum_buffer``, None until then as in
  PyTorch) — is returned as its new value, and the docstring says so.
"""
from .optimizer import Optimizer, required
from .kernels import BACKENDS, get_default_backend, set_default_backend
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
from .teaching import (MomentumEWA, NesterovLookahead, SignEWALion, momentum_ewa_update,
                       nesterov_lookahead_update, sign_ewa_lion_update)
from .lamb import LAMB, lamb_update
from .lars import LARS, lars_param_groups, lars_update
from .schedule_free import (AdamWScheduleFree, SGDScheduleFree, adamw_schedule_free_update,
                            sgd_schedule_free_update)
from .sparse_adam import SparseAdam, sparse_adam_update
from .sophia import SophiaG, SophiaH, sophia_hessian_ema, sophia_update
from .hessian import (gnb_hessian_step, hutchinson_diagonal, hutchinson_probe,
                      sample_labels_from_logits)
from .muon import Muon, muon_update, split_for_muon, zeropower_via_newtonschulz
from .soap import SOAP, soap_update
from .sam import SAM, sam_perturbation
from .lookahead import Lookahead, lookahead_update
from .adafactor import Adafactor, adafactor_update
from .adafactor_shazeer import AdafactorShazeer, adafactor_shazeer_update, adafactor_step_size
from . import checker, swa_utils
from .swa_utils import (AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn, get_swa_avg_fn,
                        get_swa_multi_avg_fn, update_bn)
from .param_groups import (discriminative_lr_groups, layerwise_lr_decay_groups,
                           scale_lr_linear, scale_lr_sqrt, weight_decay_groups)
from .lion import Lion, lion_update
from .adam8bit import Adam8bit, AdamW8bit, adam8bit_update
from .memory import state_bytes, state_bytes_per_param

# The optimizers that PyTorch also has (tested against its trajectories), in the order
# the chapters teach them.
PYTORCH_OPTIMIZERS = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam",
                      "RAdam", "Adamax", "Rprop", "ASGD", "LBFGS")
# The modern optimizers, in the order the chapters teach them (each checked against its
# authors' code or the public implementation, and by tests/test_optim_modern.py).
MODERN_OPTIMIZERS = ("LAMB", "LARS", "Adafactor", "AdafactorShazeer", "Lion", "Adam8bit",
                     "AdamW8bit", "SophiaG", "SophiaH", "SAM", "Lookahead",
                     "SGDScheduleFree", "AdamWScheduleFree", "Muon", "SOAP", "SparseAdam")

__all__ = [
    "Optimizer", "required", "PYTORCH_OPTIMIZERS", "MODERN_OPTIMIZERS",
    "BACKENDS", "set_default_backend", "get_default_backend",
    "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam", "Adamax",
    "Rprop", "ASGD", "LBFGS",
    "sgd_update", "adagrad_update", "rmsprop_update", "adadelta_update", "adam_update",
    "adamw_update", "nadam_update", "radam_update", "adamax_update", "rprop_update",
    "asgd_update", "lbfgs_direction",
    "MomentumEWA", "NesterovLookahead", "momentum_ewa_update", "nesterov_lookahead_update",
    "SignEWALion", "sign_ewa_lion_update",
    "Lion", "lion_update", "Adam8bit", "AdamW8bit", "adam8bit_update",
    "LAMB", "lamb_update", "LARS", "lars_update", "lars_param_groups",
    "SGDScheduleFree", "AdamWScheduleFree", "sgd_schedule_free_update",
    "adamw_schedule_free_update",
    "SparseAdam", "sparse_adam_update",
    "SophiaG", "SophiaH", "sophia_update", "sophia_hessian_ema", "gnb_hessian_step",
    "hutchinson_diagonal", "hutchinson_probe", "sample_labels_from_logits",
    "Muon", "muon_update", "split_for_muon", "zeropower_via_newtonschulz", "SOAP",
    "soap_update",
    "SAM", "sam_perturbation", "Lookahead", "lookahead_update",
    "Adafactor", "adafactor_update", "AdafactorShazeer", "adafactor_shazeer_update",
    "adafactor_step_size",
    "swa_utils", "AveragedModel", "update_bn", "get_ema_avg_fn", "get_ema_multi_avg_fn",
    "get_swa_avg_fn", "get_swa_multi_avg_fn",
    "weight_decay_groups", "layerwise_lr_decay_groups", "discriminative_lr_groups",
    "scale_lr_linear", "scale_lr_sqrt",
    "state_bytes", "state_bytes_per_param",
]

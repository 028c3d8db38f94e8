"""Experiments from the chapters' exercises, small by default and scalable by argument.

Each function trains real models with this library and returns plain data — a dict of
arrays, or a list of runs (dicts with a ``"name"`` and arrays) — that the functions of
:mod:`minigrad.plot` draw. Nothing is printed or saved. The defaults take seconds on a
laptop CPU; the arguments (steps, epochs, batch sizes, model sizes, your own data) scale
them up to the sizes the exercises ask for.

====================================  ====================================================
:func:`batch_size_experiment`         loss, test accuracy and time per epoch vs batch size
:func:`large_batch_simulation`        accumulation vs a real large batch; SGD vs LARS/LAMB
:func:`warmup_experiment`             large batch, large rate, with and without warmup
:func:`optimizer_comparison`          seven optimizers training one MLP
:func:`sgd_vs_adam_generalisation`    training vs test curves of SGD and Adam
:func:`scheduler_ablation`            five learning-rate schedules on the MLP
:func:`resnet_schedulers`             the same five on a small ResNet
:func:`transformer_warmup`            a character transformer with and without warmup
====================================  ====================================================

>>> from minigrad.experiments import warmup_experiment
>>> runs = warmup_experiment(batch_size=256, steps=4, warmup_steps=2, hidden=(16,))
>>> [run["name"] for run in runs], runs[0]["loss"].shape
(['no warmup', 'warmup (2 steps)'], (4,))
"""
from .batch_size import (batch_size_experiment, large_batch_runs, large_batch_simulation,
                         peak_step_bytes, warmup_experiment)
from .optimizers import default_optimizers, optimizer_comparison, sgd_vs_adam_generalisation
from .schedulers import as_images, five_schedulers, resnet_schedulers, scheduler_ablation
from .transformer import TEXT, char_transformer, transformer_warmup

__all__ = [
    "batch_size_experiment", "large_batch_simulation", "large_batch_runs", "peak_step_bytes",
    "warmup_experiment", "optimizer_comparison", "default_optimizers",
    "sgd_vs_adam_generalisation", "scheduler_ablation", "resnet_schedulers",
    "five_schedulers", "as_images", "transformer_warmup", "char_transformer", "TEXT",
]

"""Gallery figures of the experiments (:mod:`minigrad.experiments`): batch size, large
batches, warmup, optimizer and scheduler comparisons, a transformer and a ResNet.

Each figure runs its experiment at a size that takes seconds and draws the result with
:mod:`minigrad.plot`; ``quick=True`` trains far less (a few steps, a subset of the
digits, a smaller model) so that the whole gallery renders in the tests.
"""
from __future__ import annotations

from .. import experiments
from ..plot.experiments import batch_size_figure, run_panels
from .registry import register

QUICK_TRAIN, QUICK_TEST = 192, 96  # rows of the digits used in quick mode


def _digits(quick: bool):
    """The digits split; in quick mode a subset (QUICK_TRAIN train, QUICK_TEST test rows)."""
    from minigrad.data import load_digits

    x, y, x_test, y_test = load_digits()
    if quick:
        return x[:QUICK_TRAIN], y[:QUICK_TRAIN], x_test[:QUICK_TEST], y_test[:QUICK_TEST]
    return x, y, x_test, y_test


@register("batch_size_experiment", "The 64→256→128→10 MLP on the digits with Adam "
          "(lr 1e-3) at batch sizes 16 to 1024, 10 epochs each from the same weights "
          "(the chapter's MNIST exercise at digits size). Small batches take many steps "
          "per epoch and reach a low loss in a few epochs; at batch 1024 an epoch is 2 "
          "steps, the loss has hardly moved after 10 epochs and the test accuracy falls "
          "from 0.96 (batch 16) to about 0.84, while an epoch takes a fraction of the "
          "time.")
def batch_size_experiment(quick: bool = False):
    result = experiments.batch_size_experiment(
        batch_sizes=(16, 64, 256) if quick else (16, 32, 64, 128, 256, 512, 1024),
        epochs=1 if quick else 10, data=_digits(quick), hidden=(32,) if quick else (256, 128))
    return batch_size_figure(result, title="Batch size: loss, accuracy and time")


@register("large_batch_simulation", "Effective batch 1024 on the 64→256→128→10 MLP, 60 "
          "steps with a 10-step linear warmup, the same batches for every run: SGD with "
          "momentum at the linearly scaled rate 1.6 (0.1 × 1024/64) is thrown off and "
          "ends at chance (test accuracy 0.10); LARS at the same rate, whose trust ratio "
          "sets each layer's step, reaches 0.96, LAMB (lr 0.03) 0.94, Adam (lr 4e-3) "
          "0.96. LARS with 16 accumulated micro-batches of 64 (dashed) follows the direct "
          "run step for step with about a tenth of the peak memory (0.85 against 8.1 "
          "MiB), and takes two to three times as long.")
def large_batch_simulation(quick: bool = False):
    runs = experiments.large_batch_simulation(
        batch_size=128 if quick else 1024, micro_batch=32 if quick else 64,
        steps=3 if quick else 60, warmup_steps=2 if quick else 10, data=_digits(quick),
        hidden=(32,) if quick else (256, 128))
    for run in runs:
        run["peak_megabytes"] = run["peak_bytes"] / 2 ** 20
        if run["accumulation_steps"] > 1:  # on top of the direct run: dashed shows both
            run["linestyle"] = "--"
    return run_panels(runs, [{"key": "loss", "log": True, "ylabel": "training loss"}],
                      bars=[{"key": "test_accuracy", "label": "test accuracy"},
                            {"key": "peak_megabytes", "label": "peak memory of a step (MiB)",
                             "format": "{:.2f}"},
                            {"key": "seconds", "label": "training time (s)",
                             "format": "{:.1f}"}],
                      ncols=2, title="Large batches: accumulation, LARS and LAMB")


@register("warmup_large_batch", "Batch 1024 and Adam at lr 0.1 on the 64→256→128→10 MLP, "
          "with and without a 20-step linear warmup (same weights, same batches): without "
          "warmup the second step overshoots — the loss jumps from ln 10 ≈ 2.3 to 33 and "
          "the gradient norm to 66 — and the run never recovers its pace (test accuracy "
          "0.82). With warmup the loss peaks at 3.2 and the gradient norm at 9, and the "
          "run ends a hundred times lower (test accuracy 0.96).")
def warmup_large_batch(quick: bool = False):
    runs = experiments.warmup_experiment(
        batch_size=128 if quick else 1024, steps=6 if quick else 60,
        warmup_steps=3 if quick else 20, data=_digits(quick),
        hidden=(32,) if quick else (256, 128))
    return run_panels(runs, [{"key": "lr", "ylabel": "learning rate"},
                             {"key": "loss", "log": True},
                             {"key": "grad_norm", "log": True, "ylabel": "gradient norm"}],
                      title="Warmup at a large batch")


@register("optimizer_comparison_digits", "Seven optimizers train the 64→256→128→10 MLP "
          "on the digits from the same weights on the same batches of 64 for 5 epochs "
          "(loss smoothed, EWA β = 0.9). Plain SGD (lr 0.05) is the slowest (test "
          "accuracy 0.77), then Lion (3e-4, 0.86); momentum, Nesterov, RMSprop, Adam and "
          "AdamW reach 0.92–0.94. Adam's curve lies under AdamW's: a decay of 0.01 "
          "changes little in 115 steps.")
def optimizer_comparison_digits(quick: bool = False):
    runs = experiments.optimizer_comparison(
        epochs=1 if quick else 5, data=_digits(quick), hidden=(32,) if quick else (256, 128))
    return run_panels(runs, [{"key": "loss", "log": True, "smooth": 0.9},
                             {"key": "test_accuracy", "xlabel": "epoch", "start": 1,
                              "ylabel": "test accuracy"}],
                      bars=[{"key": "test_accuracy", "label": "final test accuracy"}],
                      title="Optimizers on the digits MLP")


@register("sgd_vs_adam_generalisation", "SGD with momentum (lr 0.05) and Adam (lr 1e-3) "
          "on 300 training digits, 40 epochs: the whole training set (solid) and the test "
          "set (dashed) evaluated after every epoch. Both reach 100 % training accuracy by "
          "epoch 20 and stay near 92 % on the test set; the training loss keeps falling "
          "while the test loss flattens after about 10 epochs. At this size neither "
          "optimizer generalises clearly better.")
def sgd_vs_adam_generalisation(quick: bool = False):
    data = _digits(quick)
    runs = experiments.sgd_vs_adam_generalisation(
        epochs=2 if quick else 40, n_train=64 if quick else 300, data=data,
        hidden=(32,) if quick else (256, 128))
    epoch = {"xlabel": "epoch", "start": 1, "key_labels": ("train", "test")}
    return run_panels(runs, [{"key": ("train_eval_loss", "test_loss"), "log": True,
                              "ylabel": "loss", **epoch},
                             {"key": ("train_accuracy", "test_accuracy"),
                              "ylabel": "accuracy", **epoch}],
                      title="SGD vs Adam: training and test")


_SCHEDULE_PANELS = [{"key": "lr", "ylabel": "learning rate"},
                    {"key": "loss", "log": True, "smooth": 0.9},
                    {"key": "test_accuracy", "xlabel": "epoch", "start": 1,
                     "ylabel": "test accuracy"}]
_FINAL_ACCURACY = [{"key": "final_test_accuracy", "label": "final test accuracy"}]


@register("scheduler_ablation", "The digits MLP trained by SGD (lr 0.2, momentum 0.9, "
          "batch 64, 10 epochs) under five schedules, stepped every batch: constant, "
          "StepLR (÷10 at 1/3 and 2/3 of the steps), cosine, OneCycleLR and 10 % warmup + "
          "cosine (loss smoothed, EWA β = 0.9). OneCycleLR, starting at 0.2/25, is the "
          "slowest at first; the constant rate ends with the highest loss and the lowest "
          "test accuracy (0.953 against 0.964–0.967 for the decaying schedules).")
def scheduler_ablation(quick: bool = False):
    runs = experiments.scheduler_ablation(
        epochs=1 if quick else 10, data=_digits(quick), hidden=(32,) if quick else (256, 128))
    return run_panels(runs, _SCHEDULE_PANELS, bars=_FINAL_ACCURACY, ncols=2,
                      title="Scheduler ablation: digits MLP")


@register("resnet_schedulers", "An 8-layer CIFAR-style ResNet (BasicBlocks, widths "
          "8-16-32) on the digits as 1×8×8 images, SGD (lr 0.1, momentum 0.9, batch 64, 4 "
          "epochs) under the same five schedules (the chapter's ResNet-18 on CIFAR-10 "
          "exercise, shrunk to run in seconds). At this size the five end within a point "
          "of each other (test accuracy 0.958–0.967); OneCycleLR again starts slowest.")
def resnet_schedulers(quick: bool = False):
    data = _digits(quick)
    if quick:
        data = (data[0][:64], data[1][:64], data[2][:32], data[3][:32])
    runs = experiments.resnet_schedulers(
        epochs=1 if quick else 4, batch_size=32 if quick else 64, width=4 if quick else 8,
        data=data)
    return run_panels(runs, _SCHEDULE_PANELS, bars=_FINAL_ACCURACY, ncols=2,
                      title="Scheduler ablation: ResNet on 8×8 digits")


@register("transformer_warmup", "A 2-layer post-norm character transformer (d_model 32, "
          "4 heads, causal mask) learning the next character of a short bundled text with "
          "Adam at a peak rate of 0.05, cosine-decayed to 0.005 over 500 steps, with and "
          "without a 50-step linear warmup. Without warmup the gradient norm of the first "
          "steps is about three times larger, the loss stalls near 2.4 nats per character "
          "and the gradient norm keeps spiking; with warmup the loss goes on down to "
          "about 1.")
def transformer_warmup(quick: bool = False):
    if quick:
        runs = experiments.transformer_warmup(steps=6, warmup_steps=3, d_model=16, nhead=2,
                                              num_layers=1, dim_feedforward=16, context=16,
                                              batch_size=4)
    else:
        runs = experiments.transformer_warmup()
    return run_panels(runs, [{"key": "lr", "ylabel": "learning rate"},
                             {"key": "loss", "ylabel": "loss (nats per character)"},
                             {"key": "grad_norm", "log": True, "ylabel": "gradient norm"}],
                      title="A transformer with and without warmup")

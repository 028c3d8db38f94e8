"""Training loops: :func:`fit` trains a model and returns a :class:`History` of numbers.

``fit`` is the loop the chapters write by hand, with its options in one place: metrics
and a validation pass per epoch, a learning-rate scheduler stepped per batch or per
epoch, gradient accumulation, clipping, loss scaling, weight averaging, callbacks,
closure and schedule-free optimizers, a ``tqdm`` progress bar and a clean stop on
Ctrl-C. It prints nothing unless asked (``progress``) and saves nothing::

    history = fit(model, F.cross_entropy, optimizer, train_loader, epochs=10,
                  val_loader=val_loader, metrics={"accuracy": accuracy})
    history.epochs["val_accuracy"]       # one number per epoch
    history.steps["loss"]                # one number per optimizer step
    history.plot()                       # minigrad.plot.loss_curves
"""
from .callbacks import EarlyStopping, StopTraining, TrainState
from .history import History
from .loop import fit
from .metrics import accuracy
from .scheduling import default_scheduler_interval

__all__ = ["EarlyStopping", "History", "StopTraining", "TrainState", "accuracy",
           "default_scheduler_interval", "fit"]

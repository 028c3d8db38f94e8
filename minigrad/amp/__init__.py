"""Automatic mixed precision: ``autocast`` and ``GradScaler``, with PyTorch's names.

* :class:`autocast` runs the matrix products in float16 and keeps reductions, softmax,
  losses and normalisation in float32, while the parameters stay float32 (master
  weights); see :mod:`minigrad.amp.autocast` for the op lists.
* :class:`GradScaler` multiplies the loss by a scale before ``backward()`` so that small
  float16 gradients do not flush to zero, divides it out before the optimizer step,
  skips steps whose gradients overflowed, and adapts the scale.

A training step::

    scaler = GradScaler()
    for x, y in loader:
        optimizer.zero_grad()
        with autocast():
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)                       # only to clip
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
"""
from .autocast import (FLOAT32_OPS, LOWER_PRECISION_OPS, autocast, get_autocast_dtype,
                       is_autocast_enabled)
from .grad_scaler import GradScaler, OptState

__all__ = ["FLOAT32_OPS", "GradScaler", "LOWER_PRECISION_OPS", "OptState", "autocast",
           "get_autocast_dtype", "is_autocast_enabled"]

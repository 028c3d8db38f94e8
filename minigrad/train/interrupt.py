"""Ctrl-C during training: hold it back while a step runs, undo a half-done closure step.

An optimizer step changes the parameters and the optimizer's state one parameter at a
time; a ``KeyboardInterrupt`` in the middle would leave some parameters updated and
others not. ``fit`` runs each step (and its bookkeeping) inside
:func:`ctrl_c_held_back`, so Ctrl-C takes effect between two steps. An exception raised
from inside a closure (by the model or the loss) is undone with a :class:`Snapshot`.
"""
from __future__ import annotations

import contextlib
import copy
import signal
import threading
from typing import Sequence


@contextlib.contextmanager
def ctrl_c_held_back():
    """Hold a Ctrl-C (SIGINT) back until the block is done, then raise KeyboardInterrupt.

    Only when Python's own handler is installed and we are in the main thread (signal
    handlers can only be set there); otherwise the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


class Snapshot:
    """Parameters, optimizer state and group entries, to undo an unfinished closure step."""

    def __init__(self, params: Sequence, optimizer) -> None:
        self.optimizer = optimizer
        self.data = [(p, p.data.copy()) for p in params]
        self.state = {p: copy.deepcopy(s) for p, s in optimizer.state.items()}
        self.groups = [(g, {k: copy.deepcopy(v) for k, v in g.items() if k != "params"})
                       for g in optimizer.param_groups]

    def restore(self) -> None:
        for p, values in self.data:
            p.data[...] = values
            p._version += 1
        self.optimizer.state.clear()
        self.optimizer.state.update(self.state)
        for group, saved in self.groups:
            group.update(saved)

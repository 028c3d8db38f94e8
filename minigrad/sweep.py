"""Hyper-parameter sweeps: run a function on every point of a grid and collect a table.

A sweep is plain data in, plain data out. :func:`grid` calls ``fn(**config)`` once for
every combination of the values in ``space`` and returns a list of dicts (one row per
configuration, in grid order) that :func:`to_table` turns into columns and
:func:`minigrad.plot.heatmap.sweep_heatmap` draws. Nothing is printed or saved.

The work can run serially, in a local pool of processes, in any
:class:`concurrent.futures.Executor`, or on a ``dask.distributed`` cluster; the table is
the same in every case (apart from the ``"seconds"`` column), because each configuration
is computed by ``fn`` alone from its arguments.

>>> from minigrad.sweep import grid, to_table
>>> rows = grid(lambda a, b: a * b, {"a": [1, 2], "b": [10, 20]})
>>> [(row["a"], row["b"], row["result"], row["error"]) for row in rows]
[(1, 10, 10, None), (1, 20, 20, None), (2, 10, 20, None), (2, 20, 40, None)]
>>> to_table(rows)["result"]
array([10, 20, 20, 40])
"""
from __future__ import annotations

import concurrent.futures
import inspect
import itertools
import multiprocessing
import numbers
import os
import pickle
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ["grid", "grid_configs", "to_table", "train_moons"]

# Columns every row of a sweep has, after the configuration and fn's own keys.
RESERVED_KEYS = ("error", "seconds")
# The error text keeps the innermost frames of the traceback (where fn failed).
TRACEBACK_FRAMES = 8


def grid_configs(space: Mapping[str, Sequence]) -> List[dict]:
    """Every combination of the values in ``space``, in grid order.

    The order is that of nested ``for`` loops over the keys in the mapping's order: the
    first key varies slowest, the last key fastest (``itertools.product``).

    Parameters
    ----------
    space : mapping str -> sequence
        Each key is an argument name of the swept function, each value the list of values
        it takes. A key with a single value is fixed; the product of no keys is one empty
        configuration.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> for config in grid_configs({"optimizer": ["SGD", "Adam"], "lr": [0.1, 0.01]}):
    ...     print(config)
    {'optimizer': 'SGD', 'lr': 0.1}
    {'optimizer': 'SGD', 'lr': 0.01}
    {'optimizer': 'Adam', 'lr': 0.1}
    {'optimizer': 'Adam', 'lr': 0.01}
    """
    if not isinstance(space, Mapping):
        raise TypeError(f"space must be a dict of name -> list of values, got "
                        f"{type(space).__name__}")
    values = []
    for key, options in space.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"space keys must be argument names (str), got {key!r}")
        if key in RESERVED_KEYS:
            raise ValueError(f"space key {key!r} is reserved for the result table "
                             f"(reserved: {', '.join(RESERVED_KEYS)})")
        if isinstance(options, (str, bytes)) or not isinstance(options, (Sequence, np.ndarray,
                                                                        range)):
            raise TypeError(f"space[{key!r}] must be a list of values, got "
                            f"{type(options).__name__}; write [{options!r}] for a fixed value")
        if len(options) == 0:
            raise ValueError(f"space[{key!r}] is empty: give at least one value")
        values.append(list(options))
    keys = list(space)
    return [dict(zip(keys, combination)) for combination in itertools.product(*values)]


def grid(fn: Callable[..., Any], space: Mapping[str, Sequence],
         executor: Union[None, str, concurrent.futures.Executor, Any] = None, *,
         processes: Optional[int] = None, progress: bool = False) -> List[dict]:
    """Run ``fn(**config)`` for every configuration of ``space`` and return the table.

    Parameters
    ----------
    fn : callable
        Called with one configuration as keyword arguments. Returns a dict of results
        (``{"final_loss": 0.12, "accuracy": 0.97}``) or a number, recorded as
        ``{"result": value}``. An exception, or any other return value, marks that
        configuration as failed; the others still run.
    space : mapping str -> sequence
        Argument name -> values; see :func:`grid_configs` for the order of the grid.
    executor : None, "serial", "process", Executor or dask Client, default None
        Where the calls run. ``None`` is ``"serial"`` (in this process, one after the
        other), or ``"process"`` when ``processes`` is given. ``"process"`` starts a
        :class:`~concurrent.futures.ProcessPoolExecutor` of ``processes`` workers with
        the "spawn" start method (the same on every platform) and shuts it down at the
        end. Any :class:`concurrent.futures.Executor` (threads, processes) or
        ``dask.distributed.Client`` is used as given and left open. dask is never
        imported unless a Client is passed.
    processes : int, optional
        Number of workers of the ``"process"`` pool (default: ``os.cpu_count()``).
    progress : bool, default False
        Show a ``tqdm`` progress bar over the finished configurations.

    Returns
    -------
    list of dict
        One row per configuration, in grid order whatever order they finished in. A row
        holds the configuration's keys, then the keys fn returned (the union over all
        rows; ``None`` in a failed row), then ``"error"``: ``None``, or the text
        ``"TypeName: message"`` followed by the innermost frames of the traceback, and
        ``"seconds"``: the wall time of the call.

    Notes
    -----
    *Processes and clusters.* ``fn`` and the values of ``space`` are pickled and sent to
    other processes, so ``fn`` must be importable there: a function defined at the top
    level of a module (lambdas and functions defined inside other functions cannot be
    pickled; in a script run as ``__main__``, start the sweep under
    ``if __name__ == "__main__":``, since spawned workers import the script again). The
    ``"process"`` mode checks this first and raises :class:`TypeError` otherwise. dask
    pickles functions by value, so there lambdas work, but the modules they use must be
    installed on the workers.

    *Seeds.* The sweep does not seed anything: give ``space`` a ``"seed"`` key and let
    ``fn`` call ``minigrad.manual_seed(seed)`` (and pass the seed to the data) before it
    builds its model. Then each configuration is reproducible and the table is the same
    serially, in a process pool or on a cluster, where a task may run in a fresh worker
    or in one that ran other tasks before (see :func:`train_moons`).

    Examples
    --------
    >>> rows = grid(train_moons, {"optimizer": ["SGD", "Adam"], "lr": [0.1], "seed": [0],
    ...                           "steps": [5]})
    >>> [(r["optimizer"], r["error"]) for r in rows]
    [('SGD', None), ('Adam', None)]
    >>> sorted(rows[0])
    ['accuracy', 'error', 'final_loss', 'lr', 'optimizer', 'seconds', 'seed', 'steps']
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    configs = grid_configs(space)
    _check_signature(fn, configs[0])
    if processes is not None:
        if isinstance(processes, bool) or not isinstance(processes, numbers.Integral) \
                or processes < 1:
            raise ValueError(f"processes must be a positive integer, got {processes!r}")
        if executor is None:
            executor = "process"
        elif executor != "process":
            raise ValueError("processes applies only to executor='process' (an executor "
                             "passed in keeps its own number of workers)")

    if executor is None or (isinstance(executor, str) and executor == "serial"):
        outcomes = _run_serial(fn, configs, progress)
    elif isinstance(executor, str) and executor == "process":
        _check_picklable(fn, configs, "executor='process'")
        context = multiprocessing.get_context("spawn")
        workers = min(processes or os.cpu_count() or 1, len(configs))
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            outcomes = _run_futures(pool, fn, configs, progress)
    elif isinstance(executor, str):
        raise ValueError(f"executor must be 'serial', 'process', a concurrent.futures."
                         f"Executor or a dask.distributed.Client, got {executor!r}")
    elif _is_dask_client(executor):
        outcomes = _run_dask(executor, fn, configs, progress)
    elif isinstance(executor, concurrent.futures.Executor) or \
            callable(getattr(executor, "submit", None)):
        if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
            _check_picklable(fn, configs, "a ProcessPoolExecutor")
        outcomes = _run_futures(executor, fn, configs, progress)
    else:
        raise TypeError(f"executor must be 'serial', 'process', a concurrent.futures."
                        f"Executor or a dask.distributed.Client, got "
                        f"{type(executor).__name__}")
    return _rows(configs, outcomes)


def to_table(results: Sequence[Mapping[str, Any]]) -> Dict[str, np.ndarray]:
    """Columns of a sweep's rows: ``name -> ndarray``, one entry per row.

    Columns appear in the order their keys first appear. A column of numbers is a float
    array (``None`` and missing entries become NaN) or an int array when every entry is an
    int; booleans give a bool array, strings a str array, anything else (the ``"error"``
    column: text or ``None``) an object array.

    Examples
    --------
    >>> rows = [{"lr": 0.1, "loss": 0.5, "error": None},
    ...         {"lr": 1.0, "loss": None, "error": "ValueError: diverged"}]
    >>> table = to_table(rows)
    >>> table["lr"], table["loss"]
    (array([0.1, 1. ]), array([0.5, nan]))
    >>> table["error"]
    array([None, 'ValueError: diverged'], dtype=object)
    """
    names: Dict[str, None] = {}
    for row in results:
        names.update(dict.fromkeys(row))
    return {name: _column([row.get(name) for row in results]) for name in names}


def train_moons(optimizer: Union[str, type] = "Adam", lr: float = 0.01, seed: int = 0,
                steps: int = 100, hidden: int = 16, n_samples: int = 128) -> dict:
    """Train a small MLP on two moons; an example objective for :func:`grid`.

    A 2-``hidden``-2 tanh MLP is trained full batch with cross-entropy for ``steps``
    steps on ``make_moons(n_samples, noise=0.2, seed=0)``: the data set is the same for
    every seed, ``seed`` sets the initial weights through ``minigrad.manual_seed``.
    Since the function seeds itself and depends on nothing else, the same arguments give
    the same numbers in any process, which is what a sweep on processes or a cluster
    needs. It lives in a module so that worker processes can import it.

    Parameters
    ----------
    optimizer : str or type, default "Adam"
        An ``optim`` class or its name (``"SGD"``, ``"Adam"``, ...), built as
        ``optimizer(model.parameters(), lr=lr)``.
    lr : float, default 0.01
    seed : int, default 0
    steps : int, default 100
    hidden : int, default 16
    n_samples : int, default 128

    Returns
    -------
    dict
        ``final_loss``: the training loss after the last step (NaN or inf when the run
        diverged); ``accuracy``: training accuracy after the last step.

    Examples
    --------
    >>> first = train_moons("SGD", lr=0.5, seed=1, steps=20)
    >>> first == train_moons("SGD", lr=0.5, seed=1, steps=20)
    True
    >>> first["final_loss"] < train_moons("SGD", lr=0.5, seed=1, steps=0)["final_loss"]
    True
    """
    import optim

    from . import manual_seed, nn, no_grad, tensor
    from .data import make_moons
    from .nn import functional as F

    cls = optimizer
    if isinstance(optimizer, str):
        cls = getattr(optim, optimizer, None)
        if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
            raise ValueError(f"unknown optimizer {optimizer!r}: give the name of an optim "
                             f"class such as 'SGD' or 'Adam'")
    X, y = make_moons(n_samples, noise=0.2, seed=0)
    inputs = tensor(X)
    manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    opt = cls(model.parameters(), lr=lr)
    for _ in range(int(steps)):
        opt.zero_grad()
        F.cross_entropy(model(inputs), y).backward()
        opt.step()
    with no_grad():
        logits = model(inputs)
        loss = F.cross_entropy(logits, y)
    return {"final_loss": float(loss.data),
            "accuracy": float(np.mean(np.argmax(logits.data, axis=1) == y))}


# -- running the calls ----------------------------------------------------------------

def _call(fn: Callable[..., Any], config: dict) -> dict:
    """One configuration, run where the executor runs it; never raises for fn's errors.

    Returns ``{"values": dict or None, "error": str or None, "seconds": float}``; the
    error text is built here, since tracebacks do not travel between processes.
    """
    start = time.perf_counter()
    try:
        returned = fn(**config)
        values = _as_values(returned, config)
        error = None
    except Exception as exc:  # a failed configuration is data, not the end of the sweep
        values, error = None, _error_text(exc)
    return {"values": values, "error": error, "seconds": time.perf_counter() - start}


def _as_values(returned: Any, config: dict) -> dict:
    if isinstance(returned, Mapping):
        values = dict(returned)
    elif isinstance(returned, (numbers.Number, np.number)) or \
            (isinstance(returned, np.ndarray) and returned.ndim == 0):
        values = {"result": returned}
    else:
        raise TypeError(f"fn must return a dict or a number, got {type(returned).__name__}")
    clashes = [key for key in values if key in config or key in RESERVED_KEYS]
    if clashes:
        raise ValueError(f"fn returned keys {clashes} that clash with the configuration "
                         f"or the reserved columns {list(RESERVED_KEYS)}")
    return values


def _error_text(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop _call's own frame
    lines = traceback.format_exception_only(type(exc), exc)
    summary = traceback.format_list(frames[-TRACEBACK_FRAMES:])
    return ("".join(lines) + "".join(summary)).rstrip("\n")


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep")


def _run_serial(fn, configs, progress) -> list:
    bar = _progress_bar(len(configs), progress)
    outcomes = []
    for config in configs:
        outcomes.append(_call(fn, config))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return outcomes


def _run_futures(executor, fn, configs, progress) -> list:
    futures = [executor.submit(_call, fn, config) for config in configs]
    return _collect(futures, concurrent.futures.as_completed, progress)


def _run_dask(client, fn, configs, progress) -> list:
    distributed = sys.modules["distributed"]
    futures = [client.submit(_call, fn, config, pure=False) for config in configs]
    return _collect(futures, distributed.as_completed, progress)


def _collect(futures, as_completed, progress) -> list:
    """Results of ``futures`` in submission order, waiting in completion order."""
    position = {future: i for i, future in enumerate(futures)}
    outcomes: List[Optional[dict]] = [None] * len(futures)
    bar = _progress_bar(len(futures), progress)
    try:
        for future in as_completed(futures):
            outcomes[position[future]] = future.result()
            if bar is not None:
                bar.update()
    except BaseException:
        for future in futures:  # the executor itself failed (a worker died, pickling)
            future.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
    return outcomes


def _rows(configs: List[dict], outcomes: List[dict]) -> List[dict]:
    returned: Dict[str, None] = {}
    for outcome in outcomes:
        if outcome["values"] is not None:
            returned.update(dict.fromkeys(outcome["values"]))
    rows = []
    for config, outcome in zip(configs, outcomes):
        values = outcome["values"] or {}
        row = dict(config)
        row.update({key: values.get(key) for key in returned})
        row["error"] = outcome["error"]
        row["seconds"] = outcome["seconds"]
        rows.append(row)
    return rows


# -- checks ---------------------------------------------------------------------------

def _check_signature(fn, config: dict) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: let the call decide
        return
    try:
        signature.bind_partial(**config)
    except TypeError as exc:
        raise TypeError(f"fn cannot take the sweep's arguments {list(config)}: {exc}") from None


def _check_picklable(fn, configs, where: str) -> None:
    name = getattr(fn, "__qualname__", repr(fn))
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"fn {name!r} cannot be sent to worker processes ({where}): it must be "
            f"picklable, i.e. a function defined at the top level of an importable module, "
            f"not a lambda or a function defined inside another function ({exc})") from None
    try:
        pickle.dumps(configs)
    except Exception as exc:
        raise TypeError(f"the values of space cannot be sent to worker processes ({where}): "
                        f"they must be picklable ({exc})") from None


def _is_dask_client(executor) -> bool:
    """A ``distributed.Client``; dask is loaded already if one exists, so never import it."""
    distributed = sys.modules.get("distributed")
    client_cls = getattr(distributed, "Client", None)
    return client_cls is not None and isinstance(executor, client_cls)


def _column(values: list) -> np.ndarray:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (bool, np.bool_)) for v in present) \
            and len(present) == len(values):
        return np.array(values, dtype=bool)
    numeric = [v for v in present if isinstance(v, (numbers.Real, np.number))
               and not isinstance(v, (bool, np.bool_))]
    if present and len(numeric) == len(present):
        if len(present) == len(values) and all(isinstance(v, (numbers.Integral, np.integer))
                                                for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    if present and len(present) == len(values) and all(isinstance(v, str) for v in present):
        return np.array(values, dtype=str)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column

"""One seedable source of randomness for initialisation, dropout and shuffling.

``minigrad.manual_seed(s)`` reseeds the default generator, so a script that calls it
once gets the same weights, dropout masks and batch order on every run.
"""
from __future__ import annotations

import numpy as np

_default_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator and return it (like ``torch.manual_seed``)."""
    global _default_generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
    _default_generator = np.random.default_rng(int(seed))
    return _default_generator


def default_generator() -> np.random.Generator:
    """The generator used when a function is given no ``generator`` of its own."""
    return _default_generator


def resolve_generator(generator=None) -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a ``np.random.Generator``."""
    if generator is None:
        return _default_generator
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        "generator must be None, an integer seed or a numpy.random.Generator, "
        f"got {type(generator).__name__}"
    )

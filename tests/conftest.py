"""Shared fixtures: every test starts with the engine's default settings and a seeded RNG."""
import os
import sys

import numpy as np
import pytest

# `from strategies import ...` works from any test file, wherever pytest is started.
sys.path.insert(0, os.path.dirname(__file__))

import minigrad  # noqa: E402
from minigrad._config import config  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_engine_settings():
    """Undo changes a test makes to the default dtype or the grad mode."""
    dtype, grad_enabled = minigrad.get_default_dtype(), config.grad_enabled
    yield
    minigrad.set_default_dtype(dtype)
    config.grad_enabled = grad_enabled


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed, so failures reproduce."""
    return np.random.default_rng(0)

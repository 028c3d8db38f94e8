"""The chapters' teaching surfaces: the non-convex bowl, an ill-conditioned ravine, a saddle."""
from __future__ import annotations

import numpy as np

from .base import Landscape


class NonConvexBowl(Landscape):
    """f = sin(x^2 + y^2) / (x^2 + y^2 + 1) + 0.1 (x^2 + y^2).

    The chapters' toy loss surface (plotted on [-3, 3]^2, trajectories from (2.5, 2.5)):
    global minimum f(0, 0) = 0, and a ring of local minima near x^2 + y^2 ≈ 3.9 where
    the sine dips before the 0.1 r^2 bowl takes over.
    """

    name = "nonconvex_bowl"
    bounds = ((-3.0, 3.0), (-3.0, 3.0))
    start = (2.5, 2.5)
    minima = [(0.0, 0.0)]
    min_value = 0.0

    @staticmethod
    def formula(x, y, m):
        s = x ** 2 + y ** 2
        return m.sin(s) / (s + 1.0) + 0.1 * s

    @staticmethod
    def gradient_formula(x, y):
        s = x ** 2 + y ** 2
        dfds = np.cos(s) / (s + 1.0) - np.sin(s) / (s + 1.0) ** 2 + 0.1
        return 2.0 * x * dfds, 2.0 * y * dfds


class Ravine(Landscape):
    """An ill-conditioned quadratic: f = (x^2 + condition * y^2) / 2.

    The Hessian is diag(1, condition): steep across the valley (y), flat along it (x).
    Gradient descent needs lr < 2 / condition to stay stable and then crawls along x —
    the zig-zag that momentum and adaptive methods fix.
    """

    name = "ravine"
    bounds = ((-5.0, 5.0), (-2.0, 2.0))
    start = (-4.5, 1.5)
    minima = [(0.0, 0.0)]
    min_value = 0.0
    log_levels = True

    def __init__(self, condition: float = 50.0):
        self.condition = float(condition)

    def formula(self, x, y, m):
        return 0.5 * (x ** 2 + self.condition * y ** 2)

    def gradient_formula(self, x, y):
        return x, self.condition * y


class Saddle(Landscape):
    """f = x^2 - y^2: a critical point at the origin that is not a minimum.

    Unbounded below (no global minimum: ``minima == []``, ``min_value is None``). Start
    just off the ridge, at (1, 1e-3): plain gradient descent needs many steps to leave it.
    """

    name = "saddle"
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = (1.0, 1e-3)
    minima: list = []
    min_value = None
    critical_points = [(0.0, 0.0)]

    @staticmethod
    def formula(x, y, m):
        return x ** 2 - y ** 2

    @staticmethod
    def gradient_formula(x, y):
        return 2.0 * x, -2.0 * y

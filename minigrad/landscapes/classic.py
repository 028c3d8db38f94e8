"""The classic 2-D optimization benchmarks.

Formulas and minima as in the standard test-function collections (Surjanovic & Bingham,
"Virtual Library of Simulation Experiments"; Jamil & Yang, "A literature survey of benchmark
functions for global optimization problems", 2013).
"""
from __future__ import annotations

import math

from .base import Landscape

TWO_PI = 2.0 * math.pi


class Rosenbrock(Landscape):
    """f(x, y) = (a - x)^2 + b (y - x^2)^2 — the banana valley; minimum f(a, a^2) = 0.

    The chapters' classic: start at (-1, 1), the minimum at (1, 1) lies at the end of a
    long, curved, nearly flat valley.
    """

    name = "rosenbrock"
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    start = (-1.0, 1.0)
    min_value = 0.0
    log_levels = True

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a, self.b = float(a), float(b)
        self.minima = [(self.a, self.a ** 2)]

    def formula(self, x, y, m):
        return (self.a - x) ** 2 + self.b * (y - x ** 2) ** 2

    def gradient_formula(self, x, y):
        r = y - x ** 2
        return -2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r


class Beale(Landscape):
    """f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2; min f(3, 0.5) = 0."""

    name = "beale"
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    start = (1.0, 1.5)
    minima = [(3.0, 0.5)]
    min_value = 0.0
    log_levels = True

    @staticmethod
    def formula(x, y, m):
        return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
                + (2.625 - x + x * y ** 3) ** 2)

    @staticmethod
    def gradient_formula(x, y):
        t1 = 1.5 - x + x * y
        t2 = 2.25 - x + x * y ** 2
        t3 = 2.625 - x + x * y ** 3
        gx = 2.0 * (t1 * (y - 1.0) + t2 * (y ** 2 - 1.0) + t3 * (y ** 3 - 1.0))
        gy = 2.0 * x * (t1 + 2.0 * t2 * y + 3.0 * t3 * y ** 2)
        return gx, gy


class Rastrigin(Landscape):
    """f = 2A + x^2 - A cos(2 pi x) + y^2 - A cos(2 pi y), A = 10; a grid of local minima
    around the global minimum f(0, 0) = 0."""

    name = "rastrigin"
    bounds = ((-5.12, 5.12), (-5.12, 5.12))
    start = (-4.5, 4.5)
    minima = [(0.0, 0.0)]
    min_value = 0.0

    def __init__(self, A: float = 10.0):
        self.A = float(A)

    def formula(self, x, y, m):
        A = self.A
        return 2.0 * A + x ** 2 - A * m.cos(TWO_PI * x) + y ** 2 - A * m.cos(TWO_PI * y)

    def gradient_formula(self, x, y):
        import numpy as np

        A = self.A
        return (2.0 * x + A * TWO_PI * np.sin(TWO_PI * x),
                2.0 * y + A * TWO_PI * np.sin(TWO_PI * y))


class Himmelblau(Landscape):
    """f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2; four global minima, all f = 0."""

    name = "himmelblau"
    bounds = ((-5.0, 5.0), (-5.0, 5.0))
    start = (0.0, 0.0)
    minima = [(3.0, 2.0),
              (-2.805118086952745, 3.131312518250573),
              (-3.779310253377747, -3.2831859912861696),
              (3.5844283403304917, -1.8481265269644036)]
    min_value = 0.0
    log_levels = True

    @staticmethod
    def formula(x, y, m):
        return (x ** 2 + y - 11.0) ** 2 + (x + y ** 2 - 7.0) ** 2

    @staticmethod
    def gradient_formula(x, y):
        u = x ** 2 + y - 11.0
        v = x + y ** 2 - 7.0
        return 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v


class Booth(Landscape):
    """f = (x + 2y - 7)^2 + (2x + y - 5)^2; a convex quadratic, min f(1, 3) = 0."""

    name = "booth"
    bounds = ((-10.0, 10.0), (-10.0, 10.0))
    start = (-8.0, 8.0)
    minima = [(1.0, 3.0)]
    min_value = 0.0
    log_levels = True

    @staticmethod
    def formula(x, y, m):
        return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2

    @staticmethod
    def gradient_formula(x, y):
        u = x + 2.0 * y - 7.0
        v = 2.0 * x + y - 5.0
        return 2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v


class GoldsteinPrice(Landscape):
    """Goldstein–Price: f = [1 + (x+y+1)^2 B] [30 + (2x-3y)^2 D]; min f(0, -1) = 3, with
    several local minima; values span six decades over [-2, 2]^2."""

    name = "goldstein_price"
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = (-1.5, 1.5)
    minima = [(0.0, -1.0)]
    min_value = 3.0
    log_levels = True

    @staticmethod
    def formula(x, y, m):
        a = x + y + 1.0
        B = 19.0 - 14.0 * x + 3.0 * x ** 2 - 14.0 * y + 6.0 * x * y + 3.0 * y ** 2
        c = 2.0 * x - 3.0 * y
        D = 18.0 - 32.0 * x + 12.0 * x ** 2 + 48.0 * y - 36.0 * x * y + 27.0 * y ** 2
        return (1.0 + a ** 2 * B) * (30.0 + c ** 2 * D)

    @staticmethod
    def gradient_formula(x, y):
        a = x + y + 1.0
        B = 19.0 - 14.0 * x + 3.0 * x ** 2 - 14.0 * y + 6.0 * x * y + 3.0 * y ** 2
        c = 2.0 * x - 3.0 * y
        D = 18.0 - 32.0 * x + 12.0 * x ** 2 + 48.0 * y - 36.0 * x * y + 27.0 * y ** 2
        P = 1.0 + a ** 2 * B
        Q = 30.0 + c ** 2 * D
        dB = -14.0 + 6.0 * x + 6.0 * y           # dB/dx = dB/dy
        dP = 2.0 * a * B + a ** 2 * dB           # dP/dx = dP/dy (a_x = a_y = 1)
        dQx = 4.0 * c * D + c ** 2 * (-32.0 + 24.0 * x - 36.0 * y)
        dQy = -6.0 * c * D + c ** 2 * (48.0 - 36.0 * x + 54.0 * y)
        return dP * Q + P * dQx, dP * Q + P * dQy


class SixHumpCamel(Landscape):
    """f = (4 - 2.1x^2 + x^4/3) x^2 + xy + (-4 + 4y^2) y^2; two global minima
    f(±0.0898, ∓0.7127) = -1.0316, four more local minima."""

    name = "six_hump_camel"
    bounds = ((-3.0, 3.0), (-2.0, 2.0))
    start = (-1.5, -1.0)
    minima = [(0.08984201310031807, -0.7126564030207396),
              (-0.08984201310031807, 0.7126564030207396)]
    min_value = -1.0316284534898776

    @staticmethod
    def formula(x, y, m):
        return (4.0 - 2.1 * x ** 2 + x ** 4 / 3.0) * x ** 2 + x * y + (-4.0 + 4.0 * y ** 2) * y ** 2

    @staticmethod
    def gradient_formula(x, y):
        return 8.0 * x - 8.4 * x ** 3 + 2.0 * x ** 5 + y, x - 8.0 * y + 16.0 * y ** 3

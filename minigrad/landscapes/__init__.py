"""2-D test functions as objects: the chapters' surfaces and the classic benchmarks.

Each landscape is callable on a minigrad Tensor of shape (2,) or (N, 2) (gradients flow),
evaluates on a NumPy grid, and knows its minima, bounds, classic start point and a contour
level hint; ``hessian``/``classify`` tell minima from saddles with the engine's second
derivatives.

>>> from minigrad import landscapes
>>> f = landscapes.get("saddle")
>>> f.classify((0.0, 0.0))
'saddle'
>>> sorted(landscapes.LANDSCAPES)[:3]
['beale', 'booth', 'goldstein_price']
"""
from .base import Landscape
from .chapters import NonConvexBowl, Ravine, Saddle
from .classic import (Beale, Booth, GoldsteinPrice, Himmelblau, Rastrigin, Rosenbrock,
                      SixHumpCamel)

LANDSCAPES = {cls.name: cls for cls in (
    NonConvexBowl, Rosenbrock, Beale, Rastrigin, Himmelblau, Booth, GoldsteinPrice,
    SixHumpCamel, Ravine, Saddle)}


def get(name: str, **kwargs) -> Landscape:
    """An instance of the landscape called ``name`` (case, '-' and ' ' ignored)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in LANDSCAPES:
        raise KeyError(f"unknown landscape {name!r}; choose from {sorted(LANDSCAPES)}")
    return LANDSCAPES[key](**kwargs)


__all__ = ["LANDSCAPES", "Landscape", "get", "NonConvexBowl", "Rosenbrock", "Beale",
           "Rastrigin", "Himmelblau", "Booth", "GoldsteinPrice", "SixHumpCamel", "Ravine",
           "Saddle"]

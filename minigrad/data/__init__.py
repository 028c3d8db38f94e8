"""Datasets and mini-batching: ``TensorDataset`` and ``DataLoader`` (PyTorch's names),
small synthetic problems, and the scikit-learn digits.

Examples
--------
>>> from minigrad.data import DataLoader, TensorDataset, make_moons
>>> X, y = make_moons(n_samples=100)
>>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
>>> len(loader)
4
"""
from .dataset import Dataset, TensorDataset
from .digits import load_digits
from .loader import DataLoader
from .synthetic import (
    Quadratic,
    RegressionData,
    make_ill_conditioned_quadratic,
    make_linear_regression,
    make_moons,
    make_spirals,
)

__all__ = [
    "Dataset",
    "TensorDataset",
    "DataLoader",
    "load_digits",
    "RegressionData",
    "Quadratic",
    "make_linear_regression",
    "make_moons",
    "make_spirals",
    "make_ill_conditioned_quadratic",
]

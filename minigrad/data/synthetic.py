"""Small synthetic problems for watching optimizers work, as NumPy arrays.

Every function takes ``seed``: an int (the same data on every call), a
``numpy.random.Generator``, or ``None`` (minigrad's default generator, which
``minigrad.manual_seed`` controls). Wrap the arrays in ``TensorDataset`` to train on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..random import resolve_generator
from ._validate import non_negative_float, positive_int


class RegressionData(NamedTuple):
    """Inputs ``X`` (N, D), targets ``y`` (N, 1) and the weights ``w_true`` (D, 1) behind them."""

    X: np.ndarray
    y: np.ndarray
    w_true: np.ndarray


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    return dtype


def make_linear_regression(n_samples: int = 1000, n_features: int = 10, noise: float = 0.1,
                           weight_scale: float = 0.5, seed=42,
                           dtype=np.float32) -> RegressionData:
    """Noisy linear data ``y = X @ w_true + noise * eps`` with Gaussian ``X`` and ``eps``.

    The defaults are the optimizer-comparison problem of the chapters: 1000 samples,
    10 features, ``w_true ~ N(0, 1) * 0.5`` and noise of standard deviation 0.1.

    Parameters
    ----------
    n_samples, n_features : int
        Rows and columns of ``X``.
    noise : float
        Standard deviation of the Gaussian noise added to ``y``.
    weight_scale : float
        Standard deviation of the true weights.
    seed : int, numpy.random.Generator or None
        Source of randomness (see the module docstring).
    dtype : floating dtype, default float32
        Dtype of the returned arrays.

    Returns
    -------
    RegressionData
        ``(X, y, w_true)`` of shapes (N, D), (N, 1) and (D, 1).

    Examples
    --------
    >>> X, y, w_true = make_linear_regression(n_samples=5, n_features=3)
    >>> X.shape, y.shape, w_true.shape, X.dtype
    ((5, 3), (5, 1), (3, 1), dtype('float32'))
    """
    n = positive_int("n_samples", n_samples)
    d = positive_int("n_features", n_features)
    noise = non_negative_float("noise", noise)
    weight_scale = non_negative_float("weight_scale", weight_scale)
    dtype = _float_dtype(dtype)
    rng = resolve_generator(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal((d, 1)) * weight_scale
    y = X @ w_true + rng.standard_normal((n, 1)) * noise
    return RegressionData(X.astype(dtype), y.astype(dtype), w_true.astype(dtype))


def make_moons(n_samples: int = 200, noise: float = 0.1, seed=0, dtype=np.float32):
    """Two interleaving half circles, a classic non-linearly separable 2-class problem.

    Class 0 is the upper arc ``(cos t, sin t)``; class 1 the lower arc
    ``(1 - cos t, 0.5 - sin t)``, for ``t`` in ``[0, pi]``. Gaussian noise of standard
    deviation ``noise`` is added and the rows are shuffled.

    Returns
    -------
    X : ndarray, shape (n_samples, 2), ``dtype``
    y : ndarray, shape (n_samples,), int64 labels 0 and 1

    Examples
    --------
    >>> X, y = make_moons(n_samples=10)
    >>> X.shape, y.dtype, sorted(set(y.tolist()))
    ((10, 2), dtype('int64'), [0, 1])
    """
    n = positive_int("n_samples", n_samples)
    noise = non_negative_float("noise", noise)
    dtype = _float_dtype(dtype)
    rng = resolve_generator(seed)
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower]) + rng.standard_normal((n, 2)) * noise
    y = np.concatenate([np.zeros(n_upper), np.ones(n - n_upper)]).astype(np.int64)
    return _shuffled(X.astype(dtype), y, rng)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed=0,
                 dtype=np.float32):
    """Interleaved spiral arms, one per class, in the unit disc.

    Arm ``k`` starts at the origin at angle ``2 pi k / n_classes`` and turns 4 radians
    as its radius grows from 0 to 1; ``noise`` is the standard deviation (radians) of
    Gaussian jitter on the angle. Classes get ``n_samples // n_classes`` points (the first
    ones one more when it does not divide); the rows are shuffled.

    Returns
    -------
    X : ndarray, shape (n_samples, 2), ``dtype``
    y : ndarray, shape (n_samples,), int64 labels ``0 .. n_classes - 1``

    Examples
    --------
    >>> X, y = make_spirals(n_samples=9, n_classes=3)
    >>> X.shape, y.dtype, sorted(set(y.tolist()))
    ((9, 2), dtype('int64'), [0, 1, 2])
    """
    n = positive_int("n_samples", n_samples)
    k = positive_int("n_classes", n_classes)
    if n < k:
        raise ValueError(f"n_samples ({n}) must be at least n_classes ({k})")
    noise = non_negative_float("noise", noise)
    dtype = _float_dtype(dtype)
    rng = resolve_generator(seed)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    points, labels = [], []
    for cls, size in enumerate(sizes):
        radius = np.linspace(0.0, 1.0, size)
        angle = 2 * np.pi * cls / k + 4.0 * radius + rng.standard_normal(size) * noise
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        labels.append(np.full(size, cls, dtype=np.int64))
    return _shuffled(np.concatenate(points).astype(dtype), np.concatenate(labels), rng)


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(y))
    return X[order], y[order]


@dataclass(frozen=True)
class Quadratic:
    """The quadratic ``f(x) = 0.5 x^T A x - b^T x`` with ``A`` symmetric positive definite.

    Its gradient is ``A x - b`` and its unique minimiser ``x_star = A^{-1} b``.
    """

    A: np.ndarray
    b: np.ndarray
    x_star: np.ndarray

    def loss(self, x) -> np.ndarray:
        """``0.5 x^T A x - b^T x``; ``x`` of shape (dim,) or a batch (..., dim)."""
        x = np.asarray(x, dtype=np.float64)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x) - x @ self.b

    def grad(self, x) -> np.ndarray:
        """``A x - b``; ``x`` of shape (dim,) or a batch (..., dim)."""
        x = np.asarray(x, dtype=np.float64)
        return x @ self.A - self.b

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``A`` (the curvatures), ascending."""
        return np.linalg.eigvalsh(self.A)

    @property
    def condition_number(self) -> float:
        """Largest over smallest eigenvalue of ``A``."""
        eig = self.eigenvalues
        return float(eig[-1] / eig[0])


def make_ill_conditioned_quadratic(dim: int = 2, condition_number: float = 100.0, seed=0,
                                   rotate: bool = True) -> Quadratic:
    """A quadratic bowl whose curvatures span ``[1, condition_number]``.

    The eigenvalues of ``A`` are spaced evenly on a log scale from 1 to
    ``condition_number`` (for ``dim=2``: exactly those two). With ``rotate=True`` the
    eigenvectors are a random rotation drawn from ``seed``, so the valley lies at an
    angle to the axes; with ``rotate=False`` ``A`` is diagonal. ``b`` is drawn from a
    standard normal. Arrays are float64.

    Examples
    --------
    >>> q = make_ill_conditioned_quadratic(dim=2, condition_number=50.0, rotate=False)
    >>> np.diag(q.A).tolist(), round(q.condition_number, 6)
    ([1.0, 50.0], 50.0)
    >>> bool(np.allclose(q.grad(q.x_star), 0.0))
    True
    """
    dim = positive_int("dim", dim)
    kappa = _condition_number(condition_number, dim)
    rng = resolve_generator(seed)
    eigenvalues = np.geomspace(1.0, kappa, dim)
    if rotate:
        Q = _random_rotation(dim, rng)
        A = Q @ np.diag(eigenvalues) @ Q.T
        A = 0.5 * (A + A.T)  # exactly symmetric despite rounding
    else:
        A = np.diag(eigenvalues)
    b = rng.standard_normal(dim)
    return Quadratic(A=A, b=b, x_star=np.linalg.solve(A, b))


def _condition_number(value, dim: int) -> float:
    kappa = non_negative_float("condition_number", value)
    if kappa < 1.0:
        raise ValueError(f"condition_number must be at least 1, got {value!r}")
    if dim == 1 and kappa != 1.0:
        raise ValueError(f"a 1-dimensional quadratic has condition number 1, got {value!r}")
    return kappa


def _random_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """An orthogonal matrix drawn uniformly (QR of a Gaussian matrix, signs fixed)."""
    Q, R = np.linalg.qr(rng.standard_normal((dim, dim)))
    return Q * np.sign(np.diag(R))

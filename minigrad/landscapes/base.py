"""The ``Landscape`` base class: a 2-D test function as an object.

Each landscape writes its formula **once**, as ``formula(x, y, m)``, where ``m`` is the
module that supplies ``sin``/``cos``/``exp``: ``numpy`` for grid evaluation, ``minigrad`` for
the autograd-friendly callable. Both paths therefore compute the same algebra.

Each landscape also writes its gradient by hand (``gradient_formula``), for the NumPy fast
path that optimizer trajectories use (``value_and_grad_numpy``); the tests check it against
the engine's gradient.

>>> from minigrad.landscapes import Rosenbrock
>>> f = Rosenbrock()
>>> f.hessian((1.0, 1.0)).tolist()
[[802.0, -400.0], [-400.0, 200.0]]
>>> f.classify((1.0, 1.0))
'minimum'
"""
from __future__ import annotations

import numpy as np


class Landscape:
    """A function of two variables, f(x, y), with its facts for plots and experiments.

    Attributes
    ----------
    name : str
        Registry name (``minigrad.landscapes.get(name)``).
    minima : list of (x, y)
        The global minima (empty when the function is unbounded below).
    min_value : float or None
        f at the global minima (None when unbounded below).
    bounds : ((xmin, xmax), (ymin, ymax))
        The usual plotting window.
    start : (x, y)
        The classic start point for optimizer trajectories.
    log_levels : bool
        True when the function spans decades on ``bounds``: contour levels are then
        log-spaced above ``min_value``.
    """

    name: str = "landscape"
    minima: list = []
    min_value = None
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = (1.0, 1.0)
    log_levels: bool = False
    log_decades: float = 5.0     # how many decades log-spaced levels cover

    # -------------------------------------------------------------- to implement
    @staticmethod
    def formula(x, y, m):
        """f(x, y) written with operators and ``m.sin``/``m.cos``/``m.exp`` only."""
        raise NotImplementedError

    @staticmethod
    def gradient_formula(x, y):
        """(df/dx, df/dy) on NumPy arrays or floats, derived by hand."""
        raise NotImplementedError

    # -------------------------------------------------------------- autograd path
    def __call__(self, p):
        """f at a minigrad Tensor ``p`` of shape (2,) (a scalar) or (N, 2) (shape (N,)).

        Built from minigrad ops, so ``f(p).backward()`` fills ``p.grad``.
        """
        import minigrad

        if not isinstance(p, minigrad.Tensor):
            p = minigrad.tensor(np.asarray(p, dtype=np.float64))
        if p.shape[-1] != 2 or p.ndim not in (1, 2):
            raise ValueError(f"{self.name}: expected shape (2,) or (N, 2), got {p.shape}")
        return self.formula(p[..., 0], p[..., 1], minigrad)

    def _leaf(self, point):
        import minigrad

        data = np.array(point, dtype=np.float64).reshape(2)
        return minigrad.tensor(data, requires_grad=True)

    def gradient(self, point) -> np.ndarray:
        """The engine's gradient at a point, as a NumPy array of shape (2,)."""
        import minigrad

        p = self._leaf(point)
        (g,) = minigrad.grad(self(p), p)
        return np.asarray(g.data, dtype=np.float64)

    def hessian(self, point) -> np.ndarray:
        """The 2x2 Hessian at a point, from the engine's second derivatives.

        First ``grad(f, p, create_graph=True)`` gives a differentiable gradient g; then
        row i is ``grad(g[i], p)`` (with ``retain_graph=True``: the rows share g's graph).
        """
        import minigrad

        p = self._leaf(point)
        (g,) = minigrad.grad(self(p), p, create_graph=True)
        rows = []
        for i in range(2):
            gi = g[i]
            if not gi.requires_grad:      # a constant derivative: that row is zero
                rows.append(np.zeros(2))
                continue
            (row,) = minigrad.grad(gi, p, retain_graph=True, allow_unused=True)
            rows.append(np.zeros(2) if row is None else np.asarray(row.data, dtype=np.float64))
        return np.array(rows)

    def hessian_eigenvalues(self, point) -> np.ndarray:
        """Eigenvalues of the (symmetric) Hessian, ascending."""
        H = self.hessian(point)
        return np.linalg.eigvalsh(0.5 * (H + H.T))

    def classify(self, point, tol: float = 1e-8) -> str:
        """'minimum', 'maximum' or 'saddle' from the signs of the Hessian's eigenvalues.

        (Meant for critical points. A zero eigenvalue leaves the second-order test
        undecided: 'degenerate'.)
        """
        low, high = self.hessian_eigenvalues(point)
        if low > tol:
            return "minimum"
        if high < -tol:
            return "maximum"
        if low < -tol and high > tol:
            return "saddle"
        return "degenerate"

    # -------------------------------------------------------------- NumPy paths
    def numpy(self, x, y):
        """f on NumPy arrays (or floats) x, y of the same shape."""
        return self.formula(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), np)

    def grid(self, x, y):
        """f on the grid of 1-D coordinates x, y: returns X, Y, Z (``np.meshgrid`` layout)."""
        X, Y = np.meshgrid(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return X, Y, self.formula(X, Y, np) + np.zeros_like(X)

    def evaluate_grid(self, n: int = 200):
        """X, Y, Z on an n x n grid over ``bounds``."""
        (x0, x1), (y0, y1) = self.bounds
        return self.grid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))

    def value_and_grad_numpy(self, xy):
        """(f, grad) from the hand-written formulas: the fast path for trajectories.

        ``xy`` of shape (2,) gives a float and an array (2,); shape (N, 2) gives (N,) and
        (N, 2).
        """
        xy = np.asarray(xy, dtype=np.float64)
        x, y = xy[..., 0], xy[..., 1]
        value = self.formula(x, y, np)
        gx, gy = self.gradient_formula(x, y)
        if xy.ndim == 1:
            return float(value), np.array([gx, gy], dtype=np.float64)
        return value + np.zeros_like(x), np.stack(np.broadcast_arrays(gx, gy), axis=-1)

    # -------------------------------------------------------------- contour levels
    def levels(self, n: int = 30, grid_n: int = 200) -> np.ndarray:
        """A hint for contour levels over ``bounds``: n increasing values.

        Log-spaced above ``min_value`` (covering ``log_decades`` decades below the grid's
        maximum) when the function spans decades, linear between the grid's min and max
        otherwise.
        """
        Z = self.evaluate_grid(grid_n)[2]
        top = float(np.nanmax(Z))
        if self.log_levels:
            base = self.min_value if self.min_value is not None else float(np.nanmin(Z))
            span = top - base
            return base + np.geomspace(span * 10.0 ** (-self.log_decades), span, n)
        return np.linspace(float(np.nanmin(Z)), top, n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, minima={self.minima}, start={self.start})"

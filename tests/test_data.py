"""Behaviour of minigrad.data: datasets, the DataLoader, synthetic problems, digits."""
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad.data import (
    DataLoader,
    Dataset,
    TensorDataset,
    load_digits,
    make_ill_conditioned_quadratic,
    make_linear_regression,
    make_moons,
    make_spirals,
)
from minigrad.tensor import Tensor


def _dataset(n=10, features=3):
    X = np.arange(n * features, dtype=np.float32).reshape(n, features)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(X, y)


def _epoch_labels(loader):
    return np.concatenate([yb.data for _, yb in loader]).tolist()


# --- TensorDataset -----------------------------------------------------------------

def test_tensor_dataset_accepts_arrays_and_returns_tensor_rows():
    ds = _dataset()
    x, y = ds[3]
    assert len(ds) == 10
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    np.testing.assert_array_equal(x.data, [9.0, 10.0, 11.0])
    assert y.data.item() == 3


def test_tensor_dataset_accepts_tensors_and_lists():
    X = minigrad.tensor(np.ones((4, 2), dtype=np.float64))
    ds = TensorDataset(X, [0, 1, 2, 3], [[0.5]] * 4)
    x, label, target = ds[1]
    assert x.dtype == np.float64
    assert label.dtype == np.int64
    assert target.dtype == np.float32  # Python floats become the default dtype


def test_tensor_dataset_mismatched_first_dims_raise_naming_sizes():
    with pytest.raises(ValueError, match=r"same first dimension.*\[5, 4\]"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


def test_tensor_dataset_rejects_empty_and_scalar_inputs():
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-dimensional"):
        TensorDataset(np.float32(1.0))


# --- DataLoader: batching ------------------------------------------------------------

@pytest.mark.parametrize("n, batch_size, drop_last, expected", [
    (10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (9, 3, True, 3),
    (2, 5, False, 1), (2, 5, True, 0), (0, 4, False, 0),
])
def test_loader_len_is_number_of_batches(n, batch_size, drop_last, expected):
    loader = DataLoader(_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == expected
    assert sum(1 for _ in loader) == expected


def test_loader_without_shuffle_keeps_order_and_last_partial_batch():
    batches = list(DataLoader(_dataset(10), batch_size=4))
    assert [tuple(xb.shape) for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert np.concatenate([yb.data for _, yb in batches]).tolist() == list(range(10))


def test_drop_last_drops_only_the_short_batch():
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=True)
    assert [tuple(yb.shape) for _, yb in loader] == [(4,), (4,)]


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_every_sample_seen_exactly_once_per_shuffled_epoch(n, batch_size, drop_last):
    loader = DataLoader(_dataset(n), batch_size=batch_size, shuffle=True, drop_last=drop_last,
                        generator=0)
    seen = _epoch_labels(loader) if len(loader) else []
    assert len(seen) == len(set(seen))
    if not drop_last:
        assert sorted(seen) == list(range(n))
    else:
        assert len(seen) == (n // batch_size) * batch_size


def test_batches_are_tensors_keeping_dtype_and_not_requiring_grad():
    for xb, yb in DataLoader(_dataset(), batch_size=4):
        assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        assert not xb.requires_grad and not yb.requires_grad


def test_float64_dataset_stays_float64():
    ds = TensorDataset(np.zeros((6, 2), dtype=np.float64), np.zeros(6, dtype=np.int64))
    xb, _ = next(iter(DataLoader(ds, batch_size=3)))
    assert xb.dtype == np.float64


def test_batches_are_copies_not_views_of_the_dataset():
    ds = _dataset(4)
    xb, _ = next(iter(DataLoader(ds, batch_size=4)))
    xb.data[...] = -1.0
    assert ds.arrays[0].min() >= 0.0


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", None, True])
def test_bad_batch_size_raises_naming_it(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(_dataset(), batch_size=bad)


# --- DataLoader: shuffling and reproducibility -----------------------------------------

def test_manual_seed_makes_shuffling_reproducible():
    loader = DataLoader(_dataset(50), batch_size=7, shuffle=True)
    minigrad.manual_seed(123)
    first = _epoch_labels(loader)
    minigrad.manual_seed(123)
    assert _epoch_labels(loader) == first


def test_different_seeds_give_different_orders():
    loader = DataLoader(_dataset(50), batch_size=7, shuffle=True)
    minigrad.manual_seed(1)
    a = _epoch_labels(loader)
    minigrad.manual_seed(2)
    assert _epoch_labels(loader) != a


def test_each_epoch_draws_a_new_order():
    loader = DataLoader(_dataset(50), batch_size=7, shuffle=True)
    minigrad.manual_seed(0)
    assert _epoch_labels(loader) != _epoch_labels(loader)


def test_generator_argument_is_honoured_and_independent_of_manual_seed():
    def epoch(generator):
        minigrad.manual_seed(99)  # must not matter when a generator is given
        loader = DataLoader(_dataset(50), batch_size=7, shuffle=True, generator=generator)
        return _epoch_labels(loader)

    assert epoch(np.random.default_rng(5)) == epoch(np.random.default_rng(5))
    assert epoch(5) == epoch(np.random.default_rng(5))
    assert epoch(5) != epoch(6)


def test_bad_generator_raises():
    with pytest.raises(TypeError, match="generator"):
        DataLoader(_dataset(), generator="seed")


# --- DataLoader: generic datasets --------------------------------------------------------

class _Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i


def test_generic_dataset_rows_are_stacked():
    xb, yb = next(iter(DataLoader(_Squares(), batch_size=3)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.data, [[0, 0], [1, 1], [2, 4]])
    np.testing.assert_array_equal(yb.data, [0, 1, 2])


def test_dataset_base_class_requires_len_and_getitem():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(TypeError, match="__len__"):
        DataLoader(object())


# --- synthetic datasets ------------------------------------------------------------------

def test_linear_regression_shapes_dtypes_and_determinism():
    X, y, w = make_linear_regression()
    assert X.shape == (1000, 10) and y.shape == (1000, 1) and w.shape == (10, 1)
    assert X.dtype == y.dtype == w.dtype == np.float32
    again = make_linear_regression()
    np.testing.assert_array_equal(X, again.X)
    assert not np.array_equal(X, make_linear_regression(seed=1).X)


def test_linear_regression_targets_follow_true_weights():
    data = make_linear_regression(n_samples=2000, noise=0.1, dtype=np.float64)
    residual = data.y - data.X @ data.w_true
    assert abs(residual.std() - 0.1) < 0.01
    w_fit = np.linalg.lstsq(data.X, data.y, rcond=None)[0]
    np.testing.assert_allclose(w_fit, data.w_true, atol=0.02)


@pytest.mark.parametrize("make, n_classes", [(make_moons, 2), (make_spirals, 3)])
def test_classification_sets_shapes_labels_and_determinism(make, n_classes):
    X, y = make(n_samples=101)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert sorted(set(y.tolist())) == list(range(n_classes))
    X2, y2 = make(n_samples=101)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(n_samples=101, seed=7)[0])


def test_spirals_balance_classes():
    _, y = make_spirals(n_samples=10, n_classes=3)
    assert np.bincount(y).tolist() == [4, 3, 3]


def test_seed_none_follows_manual_seed():
    minigrad.manual_seed(4)
    a = make_moons(seed=None)[0]
    minigrad.manual_seed(4)
    np.testing.assert_array_equal(a, make_moons(seed=None)[0])


@pytest.mark.parametrize("call, message", [
    (lambda: make_linear_regression(n_samples=-3), "n_samples must be a positive integer, got -3"),
    (lambda: make_moons(noise=-0.1), "noise must be a non-negative number"),
    (lambda: make_spirals(n_samples=2, n_classes=3), "at least n_classes"),
    (lambda: make_moons(dtype=np.int32), "floating dtype"),
    (lambda: make_ill_conditioned_quadratic(condition_number=0.5), "at least 1"),
    (lambda: make_ill_conditioned_quadratic(dim=0), "dim must be a positive integer"),
])
def test_synthetic_arguments_are_validated(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("dim, kappa, rotate", [(2, 100.0, True), (2, 10.0, False), (6, 1e3, True)])
def test_quadratic_has_requested_condition_number(dim, kappa, rotate):
    q = make_ill_conditioned_quadratic(dim=dim, condition_number=kappa, rotate=rotate)
    np.testing.assert_allclose(q.condition_number, kappa, rtol=1e-9)
    np.testing.assert_allclose(q.eigenvalues[[0, -1]], [1.0, kappa], rtol=1e-9)
    np.testing.assert_array_equal(q.A, q.A.T)
    if not rotate:
        np.testing.assert_array_equal(q.A, np.diag(np.diag(q.A)))


def test_quadratic_x_star_minimises_the_loss():
    q = make_ill_conditioned_quadratic(dim=3, condition_number=50.0, seed=1)
    np.testing.assert_allclose(q.grad(q.x_star), 0.0, atol=1e-10)
    steps = np.random.default_rng(0).standard_normal((100, 3)) * 0.1
    assert np.all(q.loss(q.x_star + steps) > q.loss(q.x_star))
    np.testing.assert_allclose(q.loss(q.x_star), -0.5 * q.b @ q.x_star)


def test_quadratic_is_deterministic_per_seed():
    a = make_ill_conditioned_quadratic(seed=3)
    np.testing.assert_array_equal(a.A, make_ill_conditioned_quadratic(seed=3).A)
    assert not np.array_equal(a.A, make_ill_conditioned_quadratic(seed=4).A)


# --- digits ---------------------------------------------------------------------------------

def test_load_digits_shapes_range_and_dtypes():
    pytest.importorskip("sklearn")
    X_train, y_train, X_test, y_test = load_digits()
    assert X_train.shape[1] == X_test.shape[1] == 64
    assert len(X_train) + len(X_test) == 1797
    assert abs(len(X_test) - 0.2 * 1797) <= 10
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    assert set(y_test.tolist()) == set(range(10))  # stratified: every class in test


def test_load_digits_is_deterministic_per_seed():
    pytest.importorskip("sklearn")
    a, b = load_digits(seed=0), load_digits(seed=0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], load_digits(seed=1)[0])


def test_load_digits_split_is_a_partition_of_all_rows():
    pytest.importorskip("sklearn")
    X_train, y_train, X_test, y_test = load_digits()
    X, y = load_digits(split=False)
    split = np.column_stack([np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])])
    full = np.column_stack([X, y])

    def sorted_rows(m):
        return m[np.lexsort(m.T[::-1])]

    np.testing.assert_array_equal(sorted_rows(split), sorted_rows(full))


def test_load_digits_without_normalize_keeps_pixel_counts():
    pytest.importorskip("sklearn")
    X, y = load_digits(split=False, normalize=False, dtype=np.float64)
    assert X.shape == (1797, 64) and X.dtype == np.float64 and X.max() == 16.0
    assert y.shape == (1797,) and y.dtype == np.int64


def test_load_digits_without_sklearn_raises_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'minigrad-optim\[datasets\]'"):
        load_digits()


def test_load_digits_validates_test_size():
    with pytest.raises(ValueError, match="test_size"):
        load_digits(test_size=1.5)

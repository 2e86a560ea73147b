"""The toy data sets: shapes, dtypes, seeds, balance, splitting and scaling."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import datasets

GENERATORS = sorted(datasets.DATASETS)


@pytest.mark.parametrize("name", GENERATORS)
def test_shapes_and_dtypes(name):
    X, y = datasets.DATASETS[name](n=101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data(name):
    make = datasets.DATASETS[name]
    X1, y1 = make(n=60, seed=3)
    X2, y2 = make(n=60, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(n=60, seed=4)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", ["spirals", "moons", "circles"])
@pytest.mark.parametrize("n", [100, 101])
def test_classes_are_balanced(name, n):
    _, y = datasets.DATASETS[name](n=n, seed=0)
    counts = np.bincount(y)
    assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_xor_classes_are_balanced_on_average():
    _, y = datasets.xor(n=4000, seed=0)
    # labels come from uniform draws: the fraction of 1s is within 4 standard errors of 1/2
    assert abs(y.mean() - 0.5) < 4 * np.sqrt(0.25 / 4000)


def test_spirals_with_more_classes():
    X, y = datasets.spirals(n=301, classes=3, seed=0)
    assert X.shape == (301, 2) and np.bincount(y).tolist() == [101, 100, 100]


def test_data_is_shuffled():
    _, y = datasets.spirals(n=200, seed=0)
    assert 0 < y[:100].mean() < 1      # not all of class 0 first


def test_noise_zero_spirals_lie_on_the_curve():
    X, y = datasets.spirals(n=100, noise=0.0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() == pytest.approx(0.05) and radius.max() == pytest.approx(1.0)


def test_train_val_split_sizes_and_no_overlap():
    X = np.arange(200, dtype=float).reshape(100, 2)       # every row is unique
    y = np.arange(100) % 2
    (X_train, y_train), (X_val, y_val) = datasets.train_val_split(X, y, val_fraction=0.2, seed=0)
    assert X_train.shape == (80, 2) and y_train.shape == (80,)
    assert X_val.shape == (20, 2) and y_val.shape == (20,)
    train_rows, val_rows = set(X_train[:, 0]), set(X_val[:, 0])
    assert not train_rows & val_rows
    assert train_rows | val_rows == set(X[:, 0])
    # labels travel with their rows
    np.testing.assert_array_equal(y_train, (X_train[:, 0] / 2).astype(int) % 2)
    np.testing.assert_array_equal(y_val, (X_val[:, 0] / 2).astype(int) % 2)


def test_train_val_split_follows_the_seed():
    X, y = datasets.moons(n=50, seed=0)
    first = datasets.train_val_split(X, y, seed=1)
    again = datasets.train_val_split(X, y, seed=1)
    other = datasets.train_val_split(X, y, seed=2)
    np.testing.assert_array_equal(first[1][0], again[1][0])
    assert not np.array_equal(first[1][0], other[1][0])


def test_standardize_gives_mean_zero_std_one():
    X = np.random.default_rng(0).normal([5.0, -3.0], [10.0, 0.01], (500, 2))
    Z = datasets.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)


def test_standardize_uses_the_reference_statistics():
    rng = np.random.default_rng(1)
    X_train = rng.normal(2.0, 3.0, (200, 2))
    X_val = rng.normal(0.0, 1.0, (50, 2))
    Z = datasets.standardize(X_val, reference=X_train)
    np.testing.assert_allclose(Z, (X_val - X_train.mean(axis=0)) / X_train.std(axis=0),
                               rtol=1e-14)
    assert abs(Z.mean()) > 0.3         # not standardized by its own statistics


def test_standardize_a_constant_feature_gives_zeros_not_nan():
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    Z = datasets.standardize(X)
    np.testing.assert_array_equal(Z[:, 0], 0.0)


def test_stretch_scales_each_feature():
    X = np.ones((3, 2))
    np.testing.assert_array_equal(datasets.stretch(X, [1.0, 100.0]), [[1.0, 100.0]] * 3)
    with pytest.raises(ValueError, match="one number per feature"):
        datasets.stretch(X, [1.0, 2.0, 3.0])

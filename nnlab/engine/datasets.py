"""Small 2-D toy data sets, generated with NumPy (nothing is ever downloaded).

Each generator takes ``n`` (examples), ``noise`` and ``seed`` and returns
``X`` of shape (n, 2), float64, and ``y`` of shape (n,), int64 class labels.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_features, check_labels, check_number, check_rng


def _check(n, noise, seed, minimum=2):
    n = check_number("n", n, low=minimum, integer=True)
    noise = check_number("noise", noise, low=0.0)
    return n, noise, check_rng("seed", seed)


def _split_counts(n: int, classes: int) -> list[int]:
    return [n // classes + (1 if c < n % classes else 0) for c in range(classes)]


def spirals(n: int = 300, noise: float = 0.1, seed=0, classes: int = 2, turns: float = 1.0):
    """``classes`` interleaved spiral arms: hard for a linear model, easy for a deep one."""
    n, noise, rng = _check(n, noise, seed)
    classes = check_number("classes", classes, low=2, integer=True)
    turns = check_number("turns", turns, low=0.0)
    X_parts, y_parts = [], []
    for label, count in enumerate(_split_counts(n, classes)):
        radius = np.linspace(0.05, 1.0, count)
        angle = (turns * 2 * np.pi * radius + 2 * np.pi * label / classes
                 + rng.normal(0.0, noise, count))
        X_parts.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y_parts.append(np.full(count, label))
    return _shuffle(np.concatenate(X_parts), np.concatenate(y_parts), rng)


def moons(n: int = 300, noise: float = 0.1, seed=0):
    """Two interleaving half circles."""
    n, noise, rng = _check(n, noise, seed)
    outer, inner = _split_counts(n, 2)
    t_outer = np.linspace(0, np.pi, outer)
    t_inner = np.linspace(0, np.pi, inner)
    X = np.concatenate([np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
                        np.column_stack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)])])
    y = np.concatenate([np.zeros(outer, int), np.ones(inner, int)])
    X = X + rng.normal(0.0, noise, X.shape)
    return _shuffle(X, y, rng)


def circles(n: int = 300, noise: float = 0.05, seed=0, factor: float = 0.5):
    """A small circle (class 1) inside a large one (class 0)."""
    n, noise, rng = _check(n, noise, seed)
    factor = check_number("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
    outer, inner = _split_counts(n, 2)
    t_outer = np.linspace(0, 2 * np.pi, outer, endpoint=False)
    t_inner = np.linspace(0, 2 * np.pi, inner, endpoint=False)
    X = np.concatenate([np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
                        factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])])
    y = np.concatenate([np.zeros(outer, int), np.ones(inner, int)])
    X = X + rng.normal(0.0, noise, X.shape)
    return _shuffle(X, y, rng)


def xor(n: int = 300, noise: float = 0.1, seed=0):
    """Points in the four quadrants; class 1 where x1 and x2 have opposite signs."""
    n, noise, rng = _check(n, noise, seed)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(np.int64)
    X = X + rng.normal(0.0, noise, X.shape)
    return X, y


def _shuffle(X, y, rng):
    order = rng.permutation(len(y))
    return X[order].astype(np.float64), y[order].astype(np.int64)


def add_noise_features(X, count: int, seed=0):
    """``X`` with ``count`` extra columns of pure Gaussian noise appended.

    The extra features carry no information about the label, but an over-sized
    network can still use them to memorize individual training examples.
    """
    X = check_features("X", X)
    count = check_number("count", count, low=0, integer=True)
    rng = check_rng("seed", seed)
    return np.hstack([X, rng.standard_normal((X.shape[0], count))])


def flip_labels(y, fraction: float, seed=0):
    """A copy of ``y`` with ``fraction`` of each class's labels changed to another class.

    Label noise: the kind of mistake real data sets carry, and exactly what an
    over-sized network memorizes when nothing stops it. The same fraction of
    every class is flipped, so balanced classes stay balanced.
    """
    y = check_labels("y", y, len(y), None)
    fraction = check_number("fraction", fraction, low=0.0, high=1.0)
    rng = check_rng("seed", seed)
    classes = max(int(y.max()) + 1, 2)
    flipped = y.copy()
    for label in range(classes):
        members = np.flatnonzero(y == label)
        chosen = rng.permutation(members)[:int(round(fraction * len(members)))]
        flipped[chosen] = (label + rng.integers(1, classes, len(chosen))) % classes
    return flipped


def train_val_split(X, y, val_fraction: float = 0.25, seed=0):
    """Shuffle and split into ``(X_train, y_train), (X_val, y_val)``.

    The split is stratified: each class gives ``val_fraction`` of its examples
    to validation, so both parts keep the data set's class balance.
    """
    X = check_features("X", X)
    y = check_labels("y", y, X.shape[0], None)
    val_fraction = check_number("val_fraction", val_fraction, low=0.0, high=1.0,
                                low_open=True, high_open=True)
    rng = check_rng("seed", seed)
    val_parts, train_parts = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_val = int(round(val_fraction * len(members)))
        val_parts.append(members[:n_val])
        train_parts.append(members[n_val:])
    val, tr = np.concatenate(val_parts), np.concatenate(train_parts)
    if len(val) < 1 or len(tr) < 1:
        raise ValueError(f"val_fraction={val_fraction} leaves {len(val)} of {X.shape[0]} examples "
                         "for validation; both parts need at least one example.")
    val, tr = rng.permutation(val), rng.permutation(tr)
    return (X[tr], y[tr]), (X[val], y[val])


def standardize(X, reference=None, eps: float = 1e-12):
    """Shift and scale every feature to mean 0 and standard deviation 1.

    Statistics come from ``reference`` (the training set) when given, so the
    validation data are scaled exactly like the training data. Returns the
    scaled copy of ``X``.
    """
    X = check_features("X", X)
    ref = X if reference is None else check_features("reference", reference)
    if ref.shape[1] != X.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} features but X has {X.shape[1]}.")
    mean = ref.mean(axis=0)
    std = ref.std(axis=0)
    return (X - mean) / np.maximum(std, eps)


def stretch(X, scales):
    """Multiply each feature by its own scale: inputs on very different scales, as raw data often are."""
    X = check_features("X", X)
    if not np.iterable(scales) or isinstance(scales, (str, bytes)):
        raise TypeError(f"scales must be a list of numbers, one per feature, but got "
                        f"{scales!r}.")
    scales = np.array([check_number(f"scales[{i}]", s) for i, s in enumerate(scales)])
    if scales.shape != (X.shape[1],):
        raise ValueError(f"scales needs one number per feature ({X.shape[1]}), but got shape "
                         f"{scales.shape}.")
    return X * scales


DATASETS = {"spirals": spirals, "moons": moons, "circles": circles, "xor": xor}

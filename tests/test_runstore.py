"""The shipped store of lab runs: compact, reproducible, and the same numbers as training."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import experiments, runstore


def test_the_store_is_shipped_and_compact():
    assert runstore.PATH.exists(), "run `make runs`"
    assert runstore.PATH.stat().st_size < 3e6
    assert set(runstore._load_index()) == {runstore.key(c) for c in runstore.stored_configs()}


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_a_stored_run_equals_a_fresh_computation(rate):
    config = experiments.CASES["dropout"].broken.replace(dropout=rate)
    stored, fresh = runstore.load(config), experiments.trained(config)
    assert stored is not None
    assert stored.history.same_as(fresh.history)
    for name in ("weight_change", "dead_units"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(fresh, name))
    for name in ("train_accuracy", "val_accuracy", "train_loss"):
        assert getattr(stored, name) == getattr(fresh, name) or \
            (np.isnan(getattr(stored, name)) and np.isnan(getattr(fresh, name)))
    for mine, theirs in zip(stored.model.layers, fresh.model.layers):
        for name in mine.params:
            np.testing.assert_array_equal(mine.params[name], theirs.params[name])
    X = np.random.default_rng(0).standard_normal((20, 2))
    np.testing.assert_array_equal(stored.model.predict(X), fresh.model.predict(X))
    assert experiments.hidden_dead_fraction(stored) == experiments.hidden_dead_fraction(fresh)


def test_settings_not_in_the_store_are_trained():
    config = experiments.CASES["dropout"].broken.replace(dropout=0.25, epochs=20)
    assert runstore.load(config) is None
    assert experiments.outcome(config).history.epochs == 20


def test_writing_the_store_is_reproducible(tmp_path):
    configs = [experiments.CASES["dropout"].broken.replace(dropout=0.5, epochs=30)]
    first = runstore.write(configs, tmp_path / "a.npz").read_bytes()
    second = runstore.write(configs, tmp_path / "b.npz").read_bytes()
    assert first == second

"""The shipped store of lab runs: compact, reproducible, and the same numbers as training."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import experiments, runstore


def test_the_store_is_shipped_and_compact():
    assert runstore.PATH.exists(), "run `make runs`"
    assert runstore.PATH.stat().st_size < 3e6
    assert set(runstore._load_index()) == {runstore.key(c) for c in experiments.stored_configs()}


@pytest.fixture(scope="module")
def exact():
    """Bit for bit on a machine that rounds as the store's did; to rounding elsewhere."""
    return runstore.built_here()


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_a_stored_run_equals_a_fresh_computation(rate, exact):
    config = experiments.CASES["dropout"].broken.replace(dropout=rate)
    stored, fresh = runstore.load(config), experiments.trained(config)
    assert stored is not None
    def close(a, b, err_msg):
        # NumPy 1.24 against 2.x: float64 histories apart by up to 2.5e-10 after 1000
        # epochs (rate 0.0); the float32 snapshots by one unit in the last place
        single = np.asarray(a).dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-6 if single else 1e-8,
                                   atol=1e-9 if single else 1e-12, err_msg=err_msg)

    same = np.testing.assert_array_equal if exact else close
    if exact:
        assert stored.history.same_as(fresh.history)
    for name in ("step_loss", "grad_norms", "activation_std", "dead_fraction",
                 "epoch_dead_fraction", "loss", "val_accuracy", "snapshots"):
        same(np.asarray(getattr(stored.history, name)), np.asarray(getattr(fresh.history, name)),
             err_msg=name)
    for name in ("weight_change", "dead_units", "train_accuracy", "val_accuracy", "train_loss"):
        same(getattr(stored, name), getattr(fresh, name), err_msg=name)
    for mine, theirs in zip(stored.model.layers, fresh.model.layers):
        for name in mine.params:
            same(mine.params[name], theirs.params[name], err_msg=name)
    X = np.random.default_rng(0).standard_normal((20, 2))
    np.testing.assert_array_equal(stored.model.predict(X), fresh.model.predict(X))
    assert experiments.hidden_dead_fraction(stored) == experiments.hidden_dead_fraction(fresh)


def test_this_machine_is_the_one_the_store_was_built_on_as_far_as_ci_can_tell(exact):
    """The shipped store is built with the pinned versions (constraints.txt), which `make
    test` installs: there it must be exact. (The test matrix's other versions may round
    differently; then the comparison above is to rounding.)"""
    import importlib.metadata
    from pathlib import Path
    pins = Path(__file__).resolve().parents[1] / "constraints.txt"
    pinned = {line.split("==")[0].lower(): line.split("==")[1].strip()
              for line in pins.read_text().splitlines() if "==" in line}
    if importlib.metadata.version("numpy") != pinned["numpy"]:
        pytest.skip("NumPy is not the pinned version (a test-matrix environment)")
    assert exact, "run `make runs`: the shipped store does not match this machine's arithmetic"


def test_settings_not_in_the_store_are_trained():
    config = experiments.CASES["dropout"].broken.replace(dropout=0.25, epochs=20)
    assert runstore.load(config) is None
    assert experiments.outcome(config).history.epochs == 20


def test_writing_the_store_is_reproducible(tmp_path):
    configs = [experiments.CASES["dropout"].broken.replace(dropout=0.5, epochs=30)]
    first = runstore.write(configs, tmp_path / "a.npz").read_bytes()
    second = runstore.write(configs, tmp_path / "b.npz").read_bytes()
    assert first == second

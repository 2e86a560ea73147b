"""Parameter snapshots: train(..., snapshot_epochs=...) and History.parameters_at."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import nnlab
from nnlab.engine import snapshots


@pytest.fixture(scope="module")
def moons():
    return nnlab.datasets.moons(n=200, noise=0.1, seed=0)


def test_snapshots_hold_the_parameters_after_each_requested_epoch(moons):
    X, y = moons
    model = nnlab.mlp([2, 8, 8, 2], batchnorm=True, seed=0)
    start = copy.deepcopy(model)
    history = nnlab.train(model, X, y, epochs=6, lr=0.1, snapshot_epochs=[0, 3, 6])
    assert list(history.snapshot_epochs) == [0, 3, 6]
    at_start, at_end = history.parameters_at(0), history.parameters_at(6)
    kept = lambda array: array.astype(snapshots.SNAPSHOT_DTYPE)     # as a snapshot holds it
    assert np.array_equal(at_start["dense1.W"], kept(start.layers[0].params["W"]))
    for layer in model.layers:
        for key, value in layer.params.items():
            assert np.array_equal(at_end[f"{layer.name}.{key}"], kept(value))
    assert np.array_equal(at_end["batchnorm1.running_var"], kept(model.layers[1].running_var))
    # Loaded into a fresh copy of the net, the last snapshot predicts as the trained model does.
    snapshots.load_state(start, at_end)
    assert np.mean(start.predict(X) == model.predict(X)) >= 0.99


def test_snapshots_are_part_of_the_reproducible_history(moons):
    X, y = moons
    run = lambda: nnlab.train(nnlab.mlp([2, 8, 2], seed=1), X, y, epochs=4,
                              snapshot_epochs=range(5))
    first, second = run(), run()
    assert first.same_as(second)
    assert first.snapshots.shape[0] == 5


def test_without_snapshot_epochs_nothing_is_kept(moons):
    X, y = moons
    history = nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X, y, epochs=2)
    assert history.snapshot_epochs.size == 0
    with pytest.raises(ValueError, match="pass snapshot_epochs= to train"):
        history.parameters_at(0)


def test_asking_for_an_epoch_not_kept_lists_the_ones_kept(moons):
    X, y = moons
    history = nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X, y, epochs=4, snapshot_epochs=[0, 2, 4])
    with pytest.raises(ValueError, match=r"epoch 3 was not kept; the epochs kept are 0, 2, 4"):
        history.parameters_at(3)


@pytest.mark.parametrize("epochs", [[-1], [7], ["last"]])
def test_snapshot_epochs_outside_the_run_are_refused(moons, epochs):
    X, y = moons
    with pytest.raises((ValueError, TypeError), match="snapshot_epochs"):
        nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X, y, epochs=6, snapshot_epochs=epochs)


def test_a_large_net_keeps_fewer_snapshots_within_the_budget(moons, monkeypatch):
    X, y = moons
    model = nnlab.mlp([2, 64, 64, 2], seed=0)
    row_bytes = model.flat_params.size * np.dtype(snapshots.SNAPSHOT_DTYPE).itemsize
    monkeypatch.setattr(snapshots, "SNAPSHOT_BUDGET_BYTES", 5 * row_bytes)
    history = nnlab.train(model, X, y, epochs=20, snapshot_epochs=range(21))
    kept = list(history.snapshot_epochs)
    assert len(kept) <= 5 and kept[0] == 0 and kept[-1] == 20
    assert history.snapshots.nbytes <= 5 * row_bytes


def test_a_diverged_run_keeps_the_snapshots_before_it_blew_up(moons):
    X, y = moons
    model = nnlab.mlp([2, 16, 16, 16, 2], init=3.0, seed=0)
    history = nnlab.train(model, X, y, epochs=5, lr=5.0, snapshot_epochs=range(6))
    assert history.diverged
    assert list(history.snapshot_epochs) == list(range(history.epochs + 1))

"""Telemetry records what happened: per-epoch dead units, float32 statistics, memory bound."""

import numpy as np
import pytest

import nnlab


@pytest.fixture(scope="module")
def spirals():
    """200 examples, 2 balanced classes."""
    return nnlab.datasets.spirals(n=200, noise=0.1, seed=0)


# --------------------------------------------------------------------------- epoch dead units


def test_epoch_dead_fraction_does_not_depend_on_the_batch_size(spirals):
    """A healthy ReLU net: with one example per batch, about half the units are off for
    that example, so the per-batch dead_fraction reads high; over an epoch almost no unit
    is off for every example, whatever the batch size: both readings stay near the units
    that are dead on the whole training set at the start (about 19% of relu2)."""
    X, y = spirals
    at_start = nnlab.dead_units(nnlab.mlp([2, 32, 32, 2], seed=0), X)
    one = nnlab.train(nnlab.mlp([2, 32, 32, 2], seed=0), X, y, epochs=3, batch_size=1, lr=0.01)
    full = nnlab.train(nnlab.mlp([2, 32, 32, 2], seed=0), X, y, epochs=3, batch_size=len(X),
                       lr=0.1)
    assert one.epoch_dead_fraction.shape == full.epoch_dead_fraction.shape == (3, 2)
    assert one.dead_fraction.mean() > 0.3                   # per batch of one: misleading
    for history in (one, full):
        np.testing.assert_allclose(history.epoch_dead_fraction, [at_start] * 3, atol=0.1)
    np.testing.assert_allclose(one.epoch_dead_fraction, full.epoch_dead_fraction, atol=0.1)


def test_a_truly_dead_layer_reads_one_over_an_epoch(spirals):
    X, y = spirals
    history = nnlab.train(nnlab.mlp([2, 16, 16, 2], bias=-10.0, seed=0), X, y, epochs=2,
                          batch_size=1, lr=0.01)
    np.testing.assert_array_equal(history.epoch_dead_fraction, 1.0)
    assert history.epoch_dead_fraction.shape == (2, 2)


def test_epoch_dead_fraction_is_exact_for_a_hand_count(spirals):
    """Full batch, one step per epoch: the epoch reading is the per-step reading, and
    both equal a hand count over a forward pass of the untrained net."""
    X, y = spirals
    model = nnlab.mlp([2, 16, 16, 2], bias=-0.3, seed=1)
    expected = []
    model.forward(X, training=True)
    for layer in model.relu_layers:
        expected.append(np.mean(~(layer.output != 0).any(axis=0)))
    history = nnlab.train(model, X, y, epochs=1, batch_size=len(X))
    np.testing.assert_allclose(history.epoch_dead_fraction[0], expected)
    np.testing.assert_allclose(history.dead_fraction[0], expected)


def test_epoch_dead_fraction_for_leaky_relu_and_other_activations(spirals):
    X, y = spirals
    leaky = nnlab.train(nnlab.mlp([2, 8, 8, 2], activation="leaky_relu", bias=-5.0), X, y,
                        epochs=2)
    assert leaky.epoch_dead_fraction.shape == (2, 2) and np.all(leaky.epoch_dead_fraction == 0)
    tanh = nnlab.train(nnlab.mlp([2, 8, 8, 2], activation="tanh"), X, y, epochs=2)
    assert tanh.epoch_dead_fraction.shape == (2, 0)


def test_epoch_dead_fraction_keeps_finished_epochs_only(spirals):
    """A run that diverges in its third epoch has two epoch rows, like ``loss``."""
    X, y = spirals
    history = nnlab.train(nnlab.mlp([2, 16, 16, 2], seed=0), X, y, epochs=2, telemetry=False)
    assert history.epoch_dead_fraction.shape[0] == 0
    diverged = nnlab.train(nnlab.mlp([2, 64, 64, 64, 2], init=3.0, seed=0), X, y, epochs=20,
                           lr=5.0)
    assert diverged.diverged
    assert diverged.epoch_dead_fraction.shape == (len(diverged.loss), 3)


# --------------------------------------------------------------------------- every row, by hand

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("batchnorm, sizes", [(True, (6, 32, 2, 32)), (False, (6, 32, 1, 32))])
def test_every_row_equals_a_float64_recomputation_whatever_the_batch_sizes(
        spirals, dtype, momentum, batchnorm, sizes, sums):
    """The recorder driven by hand through batches of different sizes, down to one example
    (its work arrays grow and are reused): each row equals the statistics recomputed in
    float64 from what the layers held at that step."""
    X, y = spirals
    model = nnlab.mlp([2, 16, 8, 2], batchnorm=batchnorm, seed=0, dtype=dtype)
    loss, optimizer = nnlab.SoftmaxCrossEntropy(), nnlab.SGD(0.1, momentum=momentum)
    recorder = nnlab.Recorder(model, 4)
    dense = model.dense_layers
    velocity = [0.0] * len(dense)       # the update, W <- W + v, kept here in float64
    expected = []
    for size in sizes:
        loss.forward(model.forward(X[:size].astype(dtype), training=True), y[:size])
        model.backward(loss.backward())
        grads = [layer.grads["W"].astype(np.float64) for layer in dense]
        recorder.record(optimizer.step(model))
        velocity = [momentum * v - 0.1 * g for v, g in zip(velocity, grads)]
        outputs = [layer.output.astype(np.float64) for layer in model.activation_layers]
        expected.append({
            "grad_norms": [np.linalg.norm(g) for g in grads],
            "update_ratios": [np.linalg.norm(v) / np.linalg.norm(layer.params["W"].astype(
                np.float64)) for v, layer in zip(velocity, dense)],
            "activation_mean": [out.mean() for out in outputs],
            "activation_std": [out.std() for out in outputs],
            "dead_fraction": [np.mean(np.all(out == 0, axis=0)) for out in outputs]})
    arrays = recorder.arrays()
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    for row, wanted in enumerate(expected):
        for name, values in wanted.items():
            np.testing.assert_allclose(arrays[name][row], values, rtol=tolerance, atol=1e-12,
                                       err_msg=f"{name}, step {row}")

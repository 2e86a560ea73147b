"""The training loop: reproducibility, divergence, float32, telemetry, SGD and progress."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import nnlab
from nnlab import SGD, Dropout, SoftmaxCrossEntropy
from nnlab.training import _batches


@pytest.fixture(scope="module")
def spirals():
    """400 examples, 2 balanced classes."""
    return nnlab.datasets.spirals(n=400, noise=0.1, seed=0)


def all_params(model):
    return [p for layer in model.layers for p in layer.params.values()]


def params_finite(model) -> bool:
    return all(np.all(np.isfinite(p)) for p in all_params(model))


# --------------------------------------------------------------------------- it learns


def test_training_learns_moons():
    X, y = nnlab.datasets.moons(n=300, noise=0.1, seed=0)
    model = nnlab.mlp([2, 16, 16, 2], seed=0)
    history = nnlab.train(model, X, y, epochs=30, lr=0.1, seed=0, val=(X, y))
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] > 0.9 and history.val_accuracy[-1] > 0.9
    assert len(history.loss) == len(history.val_loss) == history.epochs == 30
    assert history.message.startswith("Trained 30 epochs") and not history.diverged
    # the last epoch's validation numbers are what evaluate() reports
    assert nnlab.evaluate(model, X, y) == (history.val_loss[-1], history.val_accuracy[-1])


# --------------------------------------------------------------------------- reproducibility


def run(spirals, mlp_seed=0, train_seed=0):
    X, y = spirals
    model = nnlab.mlp([2, 16, 16, 2], batchnorm=True, dropout=0.2, seed=mlp_seed)
    return nnlab.train(model, X, y, epochs=3, batch_size=32, lr=0.1, seed=train_seed,
                       val=(X[:100], y[:100]))


def test_same_seed_same_history_bit_for_bit(spirals):
    first, second = run(spirals), run(spirals)
    assert first.steps == 3 * 13 and first.grad_norms.shape == (39, 3)
    assert first.same_as(second) and second.same_as(first)


def test_a_different_training_seed_changes_the_history(spirals):
    assert not run(spirals).same_as(run(spirals, train_seed=1))


def test_a_different_model_seed_changes_the_history(spirals):
    assert not run(spirals).same_as(run(spirals, mlp_seed=1))


def test_same_as_notices_a_single_changed_number(spirals):
    first, second = run(spirals), run(spirals)
    second.grad_norms = second.grad_norms.copy()
    second.grad_norms[5, 1] = np.nextafter(second.grad_norms[5, 1], np.inf)
    assert not first.same_as(second)


def test_dropout_masks_are_reseeded_by_train(spirals):
    """Dropout draws from train's seed, not from where its generator happened to be."""
    X, y = spirals
    model = nnlab.mlp([2, 16, 2], dropout=0.5, seed=0)
    same = copy.deepcopy(model)
    model.layers[2].rng.random(1000)             # move one generator along
    a = nnlab.train(model, X, y, epochs=1, seed=5)
    b = nnlab.train(same, X, y, epochs=1, seed=5)
    assert a.same_as(b)


# --------------------------------------------------------------------------- chance level


def test_dropout_rate_one_stays_at_chance(spirals):
    X, y = spirals
    assert np.bincount(y).tolist() == [200, 200]
    model = nnlab.mlp([2, 32, 32, 2], dropout=1.0, seed=0)
    assert sum(isinstance(layer, Dropout) for layer in model.layers) == 2
    history = nnlab.train(model, X, y, epochs=20, lr=0.1, seed=0)
    assert not history.diverged
    # every hidden unit is dropped, so the scores cannot depend on the input: the
    # prediction is one class per batch (whichever the output bias favours just then)
    assert abs(np.mean(history.accuracy) - 0.5) <= 0.05
    assert abs(history.accuracy[-1] - 0.5) <= 0.05 and max(history.accuracy) <= 0.55
    assert history.loss[-1] == pytest.approx(np.log(2), abs=0.01)
    # only the output bias learns: every weight sees zero inputs or zero gradients
    assert np.all(history.grad_norms == 0)
    assert np.all(history.bias_grad_norms[:, :2] == 0) and np.all(history.bias_grad_norms[:, 2] > 0)


# --------------------------------------------------------------------------- divergence


def train_quietly(model, X, y, **kwargs):
    """Train, and return the History and every warning raised on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = nnlab.train(model, X, y, **kwargs)
    return history, caught


def assert_stopped_cleanly(history, caught, model):
    assert history.diverged and history.diverged_at is not None
    assert "diverged" in history.message
    assert f"step {history.diverged_at}" in history.message
    assert not caught, [str(w.message) for w in caught]
    assert params_finite(model)
    # the arrays hold exactly the steps taken before the blow-up
    assert history.steps == history.diverged_at
    assert history.grad_norms.shape[0] == history.diverged_at
    assert np.all(np.isfinite(history.step_loss))
    assert "diverged" in repr(history)


def test_a_blow_up_stops_cleanly(spirals):
    X, y = spirals
    model = nnlab.mlp([2, 64, 64, 64, 2], init=3.0, seed=0)
    history, caught = train_quietly(model, X, y, epochs=5, lr=1.0)
    assert_stopped_cleanly(history, caught, model)
    assert history.diverged_at == 1
    assert "lr=1" in history.message


@pytest.mark.parametrize("dtype, init", [(np.float64, 1e40), (np.float32, 1e3)])
def test_a_loss_that_turns_nan_stops_cleanly(spirals, dtype, init):
    X, y = spirals
    model = nnlab.mlp([2, 64, 64, 64, 2], init=init, dtype=dtype, seed=0)
    one_step = copy.deepcopy(model)
    history, caught = train_quietly(model, X, y, epochs=5, batch_size=len(X), lr=1.0)
    assert_stopped_cleanly(history, caught, model)
    assert history.diverged_at == 1 and "nan" in history.message
    assert all(p.dtype == dtype for p in all_params(model))
    # the step that diverged was not applied: the weights are those after step 0
    nnlab.train(one_step, X, y, epochs=1, batch_size=len(X), lr=1.0)
    for mine, reference in zip(all_params(model), all_params(one_step)):
        np.testing.assert_array_equal(mine, reference)


class InfiniteGradient(nnlab.Dense):
    """A Dense layer whose weight gradient has one infinite entry."""

    def backward(self, grad_out, input_grad=True):
        grad_in = super().backward(grad_out, input_grad)
        self.grads["W"][0, 0] = np.inf
        return grad_in


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_infinite_gradients_stop_cleanly(spirals, dtype):
    X, y = spirals
    model = nnlab.Sequential([InfiniteGradient(2, 8, dtype=dtype), nnlab.ReLU(),
                              nnlab.Dense(8, 2, dtype=dtype)])
    initial = [p.copy() for p in all_params(model)]
    history, caught = train_quietly(model, X, y, epochs=5, lr=1.0)
    assert_stopped_cleanly(history, caught, model)
    assert history.diverged_at == 0 and "gradients became infinite or NaN" in history.message
    for now, before in zip(all_params(model), initial):      # no update was applied
        np.testing.assert_array_equal(now, before)


@pytest.mark.parametrize("dtype, init", [(np.float64, 1e60), (np.float32, 1e6)])
def test_huge_finite_gradients_are_not_called_infinite(spirals, dtype, init):
    """Their sum of squares overflows the dtype, their norm does not: with clipping the
    run trains; without, the huge step is taken and the loss blows up after it."""
    X, y = spirals
    clipped = nnlab.train(nnlab.mlp([2, 64, 64, 64, 2], init=init, dtype=dtype, seed=0), X, y,
                          epochs=1, optimizer=SGD(1e-3, clip_norm=1.0))
    assert not clipped.diverged and clipped.steps == 13
    assert np.all(np.isfinite(clipped.global_grad_norm))
    assert clipped.global_grad_norm[0] > (1e150 if dtype == np.float64 else 1e19)
    model = nnlab.mlp([2, 64, 64, 64, 2], init=init, dtype=dtype, seed=0)
    history, caught = train_quietly(model, X, y, epochs=5, lr=1.0)
    assert_stopped_cleanly(history, caught, model)
    assert history.diverged_at == 1 and "the loss became" in history.message


def test_a_too_large_learning_rate_diverges(spirals):
    X, y = spirals
    model = nnlab.mlp([2, 64, 64, 2], activation="tanh", seed=0)
    history, caught = train_quietly(model, X, y, epochs=5, lr=1e3)
    assert_stopped_cleanly(history, caught, model)


def test_clipping_prevents_that_blow_up(spirals):
    X, y = spirals
    model = nnlab.mlp([2, 64, 64, 64, 2], init=3.0, seed=0)
    history, caught = train_quietly(model, X, y, epochs=2, optimizer=SGD(1.0, clip_norm=1.0))
    assert not history.diverged and not caught
    assert history.global_grad_norm.max() > 1.0      # clipping had work to do


# --------------------------------------------------------------------------- float32


def test_float32_end_to_end(spirals):
    X, y = spirals                                   # float64 data
    model = nnlab.mlp([2, 16, 16, 2], activation="leaky_relu", batchnorm=True, dropout=0.2,
                      dtype=np.float32, seed=0)
    optimizer = SGD(0.1, momentum=0.9, clip_norm=5.0)
    history = nnlab.train(model, X, y, epochs=3, optimizer=optimizer, val=(X[:50], y[:50]))
    assert not history.diverged and np.all(np.isfinite(history.step_loss))
    f32 = np.dtype(np.float32)
    for layer in model.layers:
        for key in layer.params:
            assert layer.params[key].dtype == f32, (layer.name, key)
            assert layer.grads[key].dtype == f32, (layer.name, key)
        if isinstance(layer, nnlab.layers.Activation):      # last pass: validation, eval mode
            assert layer.output.dtype == f32, layer.name
    for bn in (layer for layer in model.layers if isinstance(layer, nnlab.BatchNorm)):
        assert bn.running_mean.dtype == f32 and bn.running_var.dtype == f32
        assert bn.x_hat.dtype == f32
    assert all(v.dtype == f32 for v in optimizer.velocity.values())
    assert model.forward(X, training=False).dtype == f32
    assert model.forward(X, training=True).dtype == f32
    for layer in model.layers:
        if isinstance(layer, nnlab.layers.Activation):
            assert layer.output.dtype == f32, layer.name
        if isinstance(layer, Dropout):
            assert layer.mask.dtype == f32
    assert model.backward(np.ones((len(X), 2), np.float32)).dtype == f32
    loss, accuracy = nnlab.evaluate(model, X, y)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    assert history.accuracy[-1] > 0.55               # it does learn something


# --------------------------------------------------------------------------- telemetry


def test_telemetry_shapes_and_names(spirals):
    X, y = spirals
    model = nnlab.mlp([2, 8, 8, 8, 2], batchnorm=True, dropout=0.1, seed=0)
    history = nnlab.train(model, X, y, epochs=2, batch_size=50, lr=0.1)
    steps = 2 * 8
    assert history.steps == steps and history.steps_per_epoch == 8
    for name in ("grad_norms", "bias_grad_norms", "update_ratios"):
        assert getattr(history, name).shape == (steps, 4), name
    assert history.layer_names == ["dense1", "dense2", "dense3", "dense4"]
    assert history.activation_names == ["relu1", "relu2", "relu3"]
    assert history.relu_names == ["relu1", "relu2", "relu3"]
    assert history.activation_mean.shape == history.activation_std.shape == (steps, 3)
    assert history.dead_fraction.shape == (steps, 3)
    assert history.step_loss.shape == history.global_grad_norm.shape == (steps,)
    assert np.all(history.grad_norms > 0) and np.all(history.update_ratios > 0)


def test_telemetry_for_sigmoid_has_no_relu_columns(spirals):
    X, y = spirals
    history = nnlab.train(nnlab.mlp([2, 8, 8, 2], activation="sigmoid"), X, y, epochs=1)
    assert history.relu_names == [] and history.dead_fraction.shape == (history.steps, 0)
    assert history.activation_names == ["sigmoid1", "sigmoid2"]


def test_telemetry_row_zero_is_measured_before_any_update(spirals):
    """With batch_size = n the first batch is all the data (shuffled); a mean loss's
    gradient does not depend on the order, so a hand forward/backward on a copy of the
    untrained model must give the same numbers, up to rounding."""
    X, y = spirals
    model = nnlab.mlp([2, 16, 16, 2], seed=3)
    untrained = copy.deepcopy(model)
    history = nnlab.train(model, X, y, epochs=2, batch_size=len(X), lr=0.1)

    loss = SoftmaxCrossEntropy()
    value = loss.forward(untrained.forward(X, training=True), y)
    untrained.backward(loss.backward())
    dense = untrained.dense_layers
    np.testing.assert_allclose(history.step_loss[0], value, rtol=1e-10)
    np.testing.assert_allclose(history.grad_norms[0],
                               [np.linalg.norm(layer.grads["W"]) for layer in dense], rtol=1e-10)
    np.testing.assert_allclose(history.bias_grad_norms[0],
                               [np.linalg.norm(layer.grads["b"]) for layer in dense], rtol=1e-10)
    global_norm = np.sqrt(sum(np.sum(g ** 2) for layer in dense for g in layer.grads.values()))
    np.testing.assert_allclose(history.global_grad_norm[0], global_norm, rtol=1e-10)
    # update ratio = ||lr * grad|| / ||W after the update||
    for column, layer in enumerate(dense):
        after = layer.params["W"] - 0.1 * layer.grads["W"]
        expected = 0.1 * np.linalg.norm(layer.grads["W"]) / np.linalg.norm(after)
        np.testing.assert_allclose(history.update_ratios[0, column], expected, rtol=1e-10)
    # row 1 is after one update, so it differs
    assert not np.allclose(history.grad_norms[1], history.grad_norms[0], rtol=1e-6)


def test_dead_fraction_is_a_fraction_and_zero_for_leaky_relu(spirals):
    X, y = spirals
    relu = nnlab.train(nnlab.mlp([2, 32, 32, 2], bias=-0.5, seed=0), X, y, epochs=2)
    assert np.all((relu.dead_fraction >= 0) & (relu.dead_fraction <= 1))
    assert relu.dead_fraction.max() > 0                      # some die with a negative bias
    leaky = nnlab.train(nnlab.mlp([2, 32, 32, 2], activation="leaky_relu", bias=-0.5, seed=0),
                        X, y, epochs=2)
    assert leaky.relu_names == ["leaky_relu1", "leaky_relu2"]
    assert np.all(leaky.dead_fraction == 0)


def test_dead_units_with_a_large_negative_bias(spirals):
    X, _ = spirals
    dead = nnlab.dead_units(nnlab.mlp([2, 16, 16, 2], bias=-10.0, seed=0), X)
    assert dead.shape == (2,)
    np.testing.assert_array_equal(dead, 1.0)
    alive = nnlab.dead_units(nnlab.mlp([2, 16, 16, 2], bias=0.1, seed=0), X)
    assert np.all(alive < 0.5)


def test_telemetry_off(spirals):
    X, y = spirals
    history = nnlab.train(nnlab.mlp([2, 8, 2]), X, y, epochs=1, telemetry=False)
    assert history.grad_norms.shape == (0, 0) and history.steps == 13


# --------------------------------------------------------------------------- batches


@pytest.mark.parametrize("n, batch_size", [(10, 1), (10, 3), (10, 9), (10, 10), (11, 5),
                                           (3, 2), (400, 32), (401, 32), (7, 100)])
def test_every_example_is_used_once_per_epoch(n, batch_size):
    batches = _batches(n, min(batch_size, n), np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    if batch_size > 1:
        assert min(len(batch) for batch in batches) >= 2       # never a lone example


@pytest.mark.parametrize("n, batch_size", [(10, 1), (10, 3), (10, 9), (11, 5), (40, 64)])
def test_steps_per_epoch_matches_the_steps_taken(n, batch_size):
    X, y = nnlab.datasets.spirals(n=n, seed=0)
    history = nnlab.train(nnlab.mlp([2, 4, 2]), X, y, epochs=3, batch_size=batch_size)
    assert history.steps == 3 * history.steps_per_epoch
    assert history.grad_norms.shape[0] == history.steps


# --------------------------------------------------------------------------- SGD


class Params:
    """A stand-in model: SGD only reads ``layers[i].params`` and ``layers[i].grads``."""

    def __init__(self, *pairs):
        self.layers = [type("L", (), {"params": {"W": w}, "grads": {"W": g}})()
                       for w, g in pairs]


def test_sgd_plain_step():
    W, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    optimizer = SGD(0.1)
    optimizer.step(Params((W, g)))
    np.testing.assert_allclose(W, [0.95, 2.1])
    assert optimizer.last_grad_norm == pytest.approx(np.sqrt(1.25))
    np.testing.assert_allclose(optimizer.updates[(0, "W")], [-0.05, 0.1])


def test_sgd_momentum():
    W, g = np.array([0.0]), np.array([1.0])
    model = Params((W, g))
    optimizer = SGD(0.1, momentum=0.9)
    optimizer.step(model)                # v = -0.1
    optimizer.step(model)                # v = 0.9 * -0.1 - 0.1 = -0.19
    optimizer.step(model)                # v = 0.9 * -0.19 - 0.1 = -0.271
    np.testing.assert_allclose(W, [-0.1 - 0.19 - 0.271])
    np.testing.assert_allclose(optimizer.updates[(0, "W")], [-0.271])


def test_sgd_clips_the_global_norm():
    W1, W2 = np.zeros(2), np.zeros(1)
    g1, g2 = np.array([3.0, 4.0]), np.array([12.0])        # global norm 13
    optimizer = SGD(0.5, clip_norm=2.6)
    optimizer.step(Params((W1, g1), (W2, g2)))
    assert optimizer.last_grad_norm == pytest.approx(13.0)     # measured before clipping
    applied = np.sqrt(np.sum(W1 ** 2) + np.sum(W2 ** 2)) / 0.5
    assert applied == pytest.approx(2.6)                       # clipped to clip_norm exactly
    np.testing.assert_allclose(W1, -0.5 * g1 * 2.6 / 13)      # direction kept
    np.testing.assert_allclose(W2, -0.5 * g2 * 2.6 / 13)


def test_sgd_does_not_clip_small_gradients():
    W, g = np.zeros(2), np.array([0.3, 0.4])
    optimizer = SGD(1.0, clip_norm=1.0)
    optimizer.step(Params((W, g)))
    np.testing.assert_allclose(W, -g)


def test_sgd_skips_non_finite_gradients():
    W, g = np.array([1.0, 2.0]), np.array([np.nan, 1.0])
    optimizer = SGD(0.1, momentum=0.5)
    optimizer.step(Params((W, g)))
    np.testing.assert_array_equal(W, [1.0, 2.0])
    assert not np.isfinite(optimizer.last_grad_norm) and optimizer.updates == {}


def test_clipping_in_training_reports_pre_clip_norms(spirals):
    X, y = spirals
    model = nnlab.mlp([2, 16, 16, 2], init=1.0, seed=0)
    history = nnlab.train(model, X, y, epochs=1, optimizer=SGD(0.01, clip_norm=0.5))
    assert history.global_grad_norm.max() > 0.5


# --------------------------------------------------------------------------- progress


def test_progress_writes_a_text_line_in_a_terminal(spirals, capsys):
    X, y = spirals
    quiet = nnlab.train(nnlab.mlp([2, 8, 2]), X, y, epochs=3, seed=0)
    shown = nnlab.train(nnlab.mlp([2, 8, 2]), X, y, epochs=3, seed=0, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "training [" in captured.err and "3/3" in captured.err
    assert "Trained 3 epochs" in captured.err and captured.err.endswith("\n")
    assert shown.same_as(quiet)


def test_progress_reports_a_divergence(spirals, capsys):
    X, y = spirals
    history = nnlab.train(nnlab.mlp([2, 64, 64, 64, 2], init=3.0), X, y, epochs=3, lr=1.0,
                          progress=True)
    assert history.diverged and "diverged" in capsys.readouterr().err

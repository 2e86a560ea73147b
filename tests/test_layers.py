"""What each layer computes, and the promises of Dropout and BatchNorm.

The backward passes are checked against finite differences in test_gradcheck.py;
here we check forward values, modes and statistics.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import (BatchNorm, Dense, Dropout, LeakyReLU, MeanSquaredError, ReLU, Sigmoid,
                   SoftmaxCrossEntropy, Tanh)


def normal(shape, seed=0, mean=0.0, std=1.0):
    return np.random.default_rng(seed).normal(mean, std, shape)


# --------------------------------------------------------------------------- Dense


def test_dense_computes_x_W_plus_b():
    layer = Dense(3, 2, bias=0.5, rng=0)
    X = normal((4, 3))
    out = layer.forward(X)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out, X @ layer.params["W"] + 0.5, rtol=1e-14)
    assert layer.params["W"].shape == (3, 2) and layer.params["b"].shape == (2,)
    assert {k: v.shape for k, v in layer.grads.items()} == {"W": (3, 2), "b": (2,)}


@pytest.mark.parametrize("init, expected", [("he", np.sqrt(2 / 400)),
                                            ("xavier", np.sqrt(2 / 900)),
                                            ("lecun", np.sqrt(1 / 400)),
                                            (0.3, 0.3)])
def test_dense_initial_weight_scale(init, expected):
    W = Dense(400, 500, init=init, rng=1).params["W"]       # 200,000 draws
    # the sample std of N draws is within a few times std / sqrt(2N) of the true one
    assert abs(W.std() / expected - 1) < 4 / np.sqrt(2 * W.size)
    assert abs(W.mean()) < 4 * expected / np.sqrt(W.size)


def test_dense_same_rng_same_weights():
    a, b = Dense(3, 4, rng=7), Dense(3, 4, rng=7)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], Dense(3, 4, rng=8).params["W"])


def test_dense_rejects_the_wrong_width():
    with pytest.raises(ValueError, match=r"\(batch, 3\).*\(4, 2\)"):
        Dense(3, 2).forward(np.zeros((4, 2)))


def test_backward_before_forward_explains_itself():
    for layer in (Dense(2, 2), ReLU(), LeakyReLU(), Sigmoid(), Tanh(), BatchNorm(2)):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones((3, 2)))


# --------------------------------------------------------------------------- activations


def test_activation_values():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(ReLU().forward(x), [[0, 0, 0, 0.5, 2.0]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, -0.05, 0, 0.5, 2.0]])
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x), rtol=1e-14)


def test_relu_passes_no_gradient_at_or_below_zero():
    relu = ReLU()
    relu.forward(np.array([[-1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[0, 0, 1]])


def test_leaky_relu_keeps_a_small_gradient():
    leaky = LeakyReLU(slope=0.01)
    leaky.forward(np.array([[-3.0, 2.0]]))
    np.testing.assert_allclose(leaky.backward(np.ones((1, 2))), [[0.01, 1.0]])


def test_sigmoid_never_overflows():
    x = np.array([[-1000.0, -40.0, 40.0, 1000.0]])   # exp(1000) would overflow
    out = Sigmoid().forward(x)                      # pytest turns any warning into an error
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(out[0, [0, 3]], [0.0, 1.0])


# --------------------------------------------------------------------------- Dropout


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_drops_a_fraction_rate_of_units(rate):
    layer = Dropout(rate, rng=0)
    out = layer.forward(np.ones((1000, 100)), training=True)        # 100,000 units
    dropped = float(np.mean(out == 0))
    sigma = np.sqrt(rate * (1 - rate) / out.size)
    assert abs(dropped - rate) < 4 * sigma
    # survivors are scaled by 1 / (1 - rate)
    np.testing.assert_allclose(out[out != 0], 1 / (1 - rate), rtol=1e-15)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_preserves_the_expected_value(rate):
    X = normal((1000, 100), seed=1, mean=1.0)
    out = Dropout(rate, rng=2).forward(X, training=True)
    # out_i = x_i * keep_i / (1 - rate) has variance x_i^2 * rate / (1 - rate)
    sigma = np.sqrt(np.sum(X ** 2) * rate / (1 - rate)) / X.size
    assert abs(out.mean() - X.mean()) < 4 * sigma


def test_dropout_backward_uses_the_same_mask():
    layer = Dropout(0.5, rng=3)
    out = layer.forward(np.ones((50, 20)), training=True)
    grad = layer.backward(np.ones((50, 20)))
    np.testing.assert_array_equal(grad, out)    # both equal the scaled mask


def test_dropout_in_eval_mode_is_the_identity():
    X = normal((20, 5))
    layer = Dropout(0.7, rng=0)
    assert layer.forward(X, training=False) is X
    grad = normal((20, 5), seed=1)
    assert layer.backward(grad) is grad


def test_dropout_rate_zero_is_the_identity_in_training_too():
    X = normal((20, 5))
    layer = Dropout(0.0, rng=0)
    assert layer.forward(X, training=True) is X
    assert layer.mask is None
    grad = normal((20, 5), seed=1)
    assert layer.backward(grad) is grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_rate_one_gives_zeros_without_nan(dtype):
    X = normal((20, 5)).astype(dtype)
    layer = Dropout(1.0, rng=0)
    out = layer.forward(X, training=True)        # a warning here would fail the test
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, 0.0)
    np.testing.assert_array_equal(layer.backward(np.ones_like(X)), 0.0)


def test_dropout_masks_follow_the_seed():
    X = np.ones((10, 10))
    first = Dropout(0.5, rng=4).forward(X)
    np.testing.assert_array_equal(first, Dropout(0.5, rng=4).forward(X))
    assert not np.array_equal(first, Dropout(0.5, rng=5).forward(X))


# --------------------------------------------------------------------------- BatchNorm


def test_batchnorm_training_normalizes_each_feature():
    X = normal((64, 3), seed=0) * [1.0, 5.0, 0.1] + [10.0, -3.0, 0.5]
    layer = BatchNorm(3, eps=1e-12)      # tiny eps: x_hat's std is then 1 to ~1e-10
    layer.params["gamma"][:] = [2.0, 0.5, 1.0]
    layer.params["beta"][:] = [1.0, 0.0, -1.0]
    out = layer.forward(X, training=True)
    np.testing.assert_allclose(layer.x_hat.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(layer.x_hat.std(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose(out, layer.x_hat * [2.0, 0.5, 1.0] + [1.0, 0.0, -1.0],
                               rtol=1e-14)


def test_batchnorm_default_eps_changes_the_std_only_slightly():
    X = normal((64, 3), seed=0) * 3.0
    layer = BatchNorm(3)
    layer.forward(X, training=True)
    var = X.var(axis=0)
    np.testing.assert_allclose(layer.x_hat.std(axis=0), np.sqrt(var / (var + 1e-5)), rtol=1e-12)


def test_batchnorm_eval_uses_running_statistics():
    layer = BatchNorm(2)
    layer.running_mean[:] = [1.0, -2.0]
    layer.running_var[:] = [4.0, 0.25]
    layer.params["gamma"][:] = [3.0, 0.5]
    layer.params["beta"][:] = [0.1, 0.2]
    X = normal((5, 2), seed=1)
    out = layer.forward(X, training=False)
    expected = (X - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5) * [3.0, 0.5] + [0.1, 0.2]
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    # evaluation reads the running statistics, it never updates them
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0])
    np.testing.assert_array_equal(layer.running_var, [4.0, 0.25])
    # and a batch of one is fine in evaluation
    assert layer.forward(X[:1], training=False).shape == (1, 2)


def test_batchnorm_running_update_by_hand():
    """running = 0.9 * running + 0.1 * batch statistic, with the *unbiased* batch variance."""
    layer = BatchNorm(2, momentum=0.1)
    first = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [7.0, 10.0]])
    second = np.array([[0.0, 1.0], [3.0, -1.0], [3.0, 2.0]])
    layer.forward(first, training=True)
    # by hand: first column mean 3.5, squared deviations 6.25 + 2.25 + 0.25 + 12.25 = 21 -> 21/3 = 7
    #          second column mean 20, squared deviations 100 + 0 + 400 + 100 = 600 -> 600/3 = 200
    np.testing.assert_allclose(layer.running_mean, [0.1 * 3.5, 0.1 * 20.0], rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, [0.9 + 0.1 * 7.0, 0.9 + 0.1 * 200.0],
                               rtol=1e-15)
    layer.forward(second, training=True)
    # second batch: means 2 and 2/3; unbiased variances 3 and 7/3
    np.testing.assert_allclose(layer.running_mean,
                               [0.9 * 0.35 + 0.1 * 2.0, 0.9 * 2.0 + 0.1 * (2 / 3)], rtol=1e-14)
    np.testing.assert_allclose(layer.running_var,
                               [0.9 * 1.6 + 0.1 * 3.0, 0.9 * 20.9 + 0.1 * (7 / 3)], rtol=1e-14)
    # the batch itself was normalized with the biased variance (divide by n, not n - 1)
    np.testing.assert_allclose(layer.x_hat[:, 0], (second[:, 0] - 2.0) / np.sqrt(2.0 + 1e-5))


def test_batchnorm_running_statistics_of_a_repeated_batch():
    """Fed the same batch over and over, the running statistics settle on its mean and its
    unbiased variance: n / (n - 1) = 4 / 3 times the biased one, easy to tell apart."""
    X = normal((4, 3), seed=2) * [1.0, 2.0, 3.0] + [0.0, 5.0, -5.0]
    layer = BatchNorm(3, momentum=0.1)
    for _ in range(400):                     # 0.9 ** 400 is about 5e-19
        layer.forward(X, training=True)
    np.testing.assert_allclose(layer.running_mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, X.var(axis=0, ddof=1), rtol=1e-12)


def test_batchnorm_running_statistics_converge_to_the_data():
    """Fresh batches of 4 from N(mean, std^2): the running estimates approach mean and std^2.

    The biased batch variance would settle at 3/4 of std^2, far outside the tolerance.
    """
    rng = np.random.default_rng(3)
    mean, std = np.array([2.0, -1.0, 0.0]), np.array([0.5, 1.0, 3.0])
    layer = BatchNorm(3, momentum=0.01)
    averages = []
    for step in range(3000):
        layer.forward(rng.normal(mean, std, (4, 3)), training=True)
        if step >= 1000:                      # after the start-up transient (0.99^1000 ~ 4e-5)
            averages.append((layer.running_mean.copy(), layer.running_var.copy()))
    running_mean = np.mean([a for a, _ in averages], axis=0)
    running_var = np.mean([v for _, v in averages], axis=0)
    # about 4 standard errors of an average over 2000 batches of 4
    assert np.all(np.abs(running_mean - mean) < 0.05 * std), running_mean
    assert np.all(np.abs(running_var / std ** 2 - 1) < 0.08), running_var / std ** 2
    assert np.all(running_var > 0.9 * std ** 2)        # not the biased 0.75 * std^2


def test_batchnorm_refuses_a_training_batch_of_one():
    layer = BatchNorm(3)
    with pytest.raises(ValueError, match="batch of one") as error:
        layer.forward(np.ones((1, 3)), training=True)
    assert "batch_size" in str(error.value)
    assert np.all(layer.running_mean == 0) and np.all(layer.running_var == 1)


def test_batchnorm_rejects_the_wrong_width():
    with pytest.raises(ValueError, match=r"\(batch, 3\).*\(4, 2\)"):
        BatchNorm(3).forward(np.ones((4, 2)))


# --------------------------------------------------------------------------- losses


def test_cross_entropy_matches_the_formula_and_survives_large_scores():
    scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 1.0, 2.0]])
    labels = np.array([1, 2])
    loss = SoftmaxCrossEntropy()
    value = loss.forward(scores, labels)
    # row 0: log-softmax of the true class is 0 - 1000 - log(1 + e^-1000 + e^-2000) = -1000
    row1 = 2.0 - np.log(np.exp(0.0) + np.exp(1.0) + np.exp(2.0))
    assert value == pytest.approx(-(-1000.0 + row1) / 2, rel=1e-14)
    grad = loss.backward()
    assert grad.shape == scores.shape and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


def test_cross_entropy_of_uniform_scores_is_log_classes():
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.zeros((5, 4)), np.array([0, 1, 2, 3, 0])) == pytest.approx(np.log(4))


def test_mean_squared_error_value():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[0.0, 2.0], [3.0, 6.0]])
    loss = MeanSquaredError()
    assert loss.forward(pred, target) == pytest.approx((1 + 0 + 0 + 4) / 4)
    np.testing.assert_allclose(loss.backward(), 2 * (pred - target) / 4)
    with pytest.raises(ValueError, match="same shape"):
        loss.forward(pred, np.zeros(3))


# --------------------------------------------------------------------------- Sequential / mlp


def test_mlp_layout_and_names():
    model = nnlab.mlp([2, 8, 8, 3], batchnorm=True, dropout=0.5)
    names = [layer.name for layer in model.layers]
    assert names == ["dense1", "batchnorm1", "relu1", "dropout1",
                     "dense2", "batchnorm2", "relu2", "dropout2", "dense3"]
    assert model.in_features == 2 and model.out_features == 3
    assert model.parameter_count() == (2 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3) + 2 * (8 + 8)
    assert model.forward(np.zeros((4, 2))).shape == (4, 3)
    assert model.predict(np.zeros((4, 2))).shape == (4,)


@pytest.mark.parametrize("activation, kind", [("relu", ReLU), ("leaky_relu", LeakyReLU),
                                              ("sigmoid", Sigmoid), ("tanh", Tanh)])
def test_mlp_activation_choice(activation, kind):
    model = nnlab.mlp([2, 4, 4, 2], activation=activation)
    assert [type(layer) for layer in model.activation_layers] == [kind, kind]


def test_mlp_same_seed_same_network():
    a, b = nnlab.mlp([2, 5, 2], seed=3), nnlab.mlp([2, 5, 2], seed=3)
    c = nnlab.mlp([2, 5, 2], seed=4)
    for la, lb in zip(a.dense_layers, b.dense_layers):
        np.testing.assert_array_equal(la.params["W"], lb.params["W"])
    assert not np.array_equal(a.dense_layers[0].params["W"], c.dense_layers[0].params["W"])


def test_layers_keep_their_names_and_new_ones_take_free_numbers():
    named = nnlab.Dense(4, 4)
    named.name = "encoder"
    first = nnlab.Sequential([nnlab.Dense(4, 4), nnlab.ReLU()])
    reused = first.layers[0]                          # named dense1 by the first model
    model = nnlab.Sequential([nnlab.Dense(2, 4), nnlab.ReLU(), named, nnlab.ReLU(),
                              nnlab.Dense(4, 4), reused])
    assert [layer.name for layer in model.layers] == [
        "dense2", "relu1", "encoder", "relu2", "dense3", "dense1"]

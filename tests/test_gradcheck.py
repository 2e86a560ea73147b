"""Backprop agrees with finite differences, for every layer and for whole networks.

All checks run in float64 with eps = 1e-5, passed explicitly: it balances the
truncation error (order eps^2) against round-off (order 1e-16 / eps) better than
gradcheck's default of 1e-6, at which round-off alone nears 1e-7. The bar
is a relative error of 1e-7, or 1e-5 where a ReLU kink lies within reach of
the perturbation (there the function is not differentiable and finite
differences straddle the corner).

Most checks use gradcheck's projection loss ``sum(output * R)`` (``y=None``):
it keeps every gradient of order one, so round-off in the finite differences
(about 1e-16 * |L| / eps) stays far below the 1e-7 bar. A mean loss over a
deep sigmoid net makes some gradients so small that round-off alone reaches
1e-7, which would test the arithmetic, not the backward passes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nnlab
from nnlab import (BatchNorm, Dense, Dropout, LeakyReLU, MeanSquaredError, ReLU, Sigmoid,
                   SoftmaxCrossEntropy, Tanh, relative_error)
from nnlab.layers import Layer

TOL = 1e-7          # smooth everywhere the perturbation reaches
KINK_TOL = 1e-5     # a ReLU-family kink within reach of the perturbation
EPS = 1e-5          # the finite-difference step used throughout this file


def gradcheck(*args, **kwargs):
    """nnlab.gradcheck with eps = EPS unless a test says otherwise."""
    kwargs.setdefault("eps", EPS)
    return nnlab.gradcheck(*args, **kwargs)
# A ReLU input closer than this to 0 could cross the kink when one entry moves by EPS
# (a weight change of EPS moves a pre-activation by EPS * |input|, inputs here are O(1)).
KINK_MARGIN = 100 * EPS


def inputs(rows=8, features=3, seed=0):
    """(rows, features) standard-normal float64 inputs."""
    return np.random.default_rng(seed).standard_normal((rows, features))


def relu_inputs(model, X):
    """The inputs each ReLU-family layer of ``model`` received, in training mode,
    with the dropout masks of the last forward pass held fixed (as gradcheck holds them).

    Returns a list of (batch, units) arrays, one per ReLU/LeakyReLU layer.
    """
    dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]
    saved = [(layer, layer.running_mean.copy(), layer.running_var.copy())
             for layer in model.layers if isinstance(layer, BatchNorm)]
    for layer in dropouts:
        layer.fixed_mask = layer.mask
    seen = []
    out = X
    try:
        for layer in model.layers:
            if isinstance(layer, (ReLU, LeakyReLU)):
                seen.append(out.copy())
            out = layer.forward(out, training=True)
    finally:
        for layer in dropouts:
            layer.fixed_mask = None
        for layer, mean, var in saved:
            layer.running_mean, layer.running_var = mean, var
    return seen


def kink_free(model, X) -> bool:
    """True when no ReLU-family input lies within KINK_MARGIN of the kink at 0."""
    return all(np.abs(z).min() > KINK_MARGIN for z in relu_inputs(model, X))


def assert_below(errors: dict, tolerance: float):
    worst = max(errors, key=errors.get)
    assert errors[worst] <= tolerance, (
        f"{worst}: relative error {errors[worst]:.2e} > {tolerance:.0e}; all: "
        + ", ".join(f"{k}={v:.1e}" for k, v in errors.items()))


class Identity(Layer):
    """Passes its input through: gradcheck on it checks a loss's backward by itself."""

    name = "identity"

    def forward(self, x, training=True):
        return x

    def backward(self, grad_out):
        return grad_out


class EvalMode(Layer):
    """Runs the wrapped layer with ``training=False`` (gradcheck always asks for training).

    Shares the wrapped layer's ``params`` and ``grads`` dicts, so gradcheck perturbs
    and reads the real parameters.
    """

    name = "eval"

    def __init__(self, inner: Layer):
        super().__init__()
        self.inner = inner
        self.params, self.grads = inner.params, inner.grads

    def forward(self, x, training=True):
        return self.inner.forward(x, training=False)

    def backward(self, grad_out):
        return self.inner.backward(grad_out)


# --------------------------------------------------------------------------- single layers


def test_dense():
    layer = Dense(3, 4, bias=0.1, rng=0)
    errors = gradcheck(layer, inputs())
    assert set(errors) == {"W", "b", "input"}
    assert_below(errors, TOL)


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, lambda: LeakyReLU(slope=0.2), Sigmoid, Tanh],
                         ids=["relu", "leaky_relu", "leaky_relu_0.2", "sigmoid", "tanh"])
def test_activation(make):
    X = inputs(8, 5, seed=1)
    X = X + 0.1 * np.sign(X)        # every input at least 0.1 away from the kink at 0
    assert np.abs(X).min() >= 0.1
    errors = gradcheck(make(), X)
    assert set(errors) == {"input"}
    assert_below(errors, TOL)


def test_dropout_with_a_fixed_mask():
    X = inputs(8, 6, seed=2)
    layer = Dropout(0.5, rng=0)
    mask = (np.random.default_rng(3).random(X.shape) >= 0.5) / 0.5
    assert 0 < (mask == 0).mean() < 1
    layer.fixed_mask = mask
    errors = gradcheck(layer, X)
    assert_below(errors, TOL)
    assert layer.fixed_mask is None, "gradcheck should release the mask it held"
    # and the gradient really is the mask: dL/dx = g * mask
    grad = np.random.default_rng(4).standard_normal(X.shape)
    layer.fixed_mask = mask
    layer.forward(X, training=True)
    np.testing.assert_array_equal(layer.backward(grad), grad * mask)


def test_batchnorm_training_mode():
    layer = BatchNorm(4)
    layer.params["gamma"][:] = [0.5, 1.0, 1.5, 2.0]
    layer.params["beta"][:] = [0.1, -0.2, 0.3, 0.0]
    before = layer.running_mean.copy(), layer.running_var.copy()
    errors = gradcheck(layer, inputs(8, 4, seed=5) * 2.0 + 1.0)
    assert set(errors) == {"gamma", "beta", "input"}
    assert_below(errors, TOL)
    # gradcheck leaves the running statistics as it found them
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])


def test_batchnorm_eval_mode():
    layer = BatchNorm(4)
    layer.params["gamma"][:] = [0.5, 1.0, 1.5, 2.0]
    layer.params["beta"][:] = [0.1, -0.2, 0.3, 0.0]
    layer.running_mean[:] = [0.3, -1.0, 0.0, 2.0]
    layer.running_var[:] = [0.5, 2.0, 1.0, 4.0]
    errors = gradcheck(EvalMode(layer), inputs(8, 4, seed=6))
    assert_below(errors, TOL)
    assert layer.training is False


# --------------------------------------------------------------------------- losses


def test_softmax_cross_entropy():
    scores = inputs(8, 3, seed=7) * 3.0
    labels = np.array([0, 1, 2, 0, 1, 2, 2, 1])
    errors = gradcheck(Identity(), scores, labels, loss=SoftmaxCrossEntropy())
    assert_below(errors, TOL)


def test_softmax_cross_entropy_with_large_logits():
    scores = inputs(6, 3, seed=8) + np.array([500.0, 0.0, -500.0])   # exp would overflow
    labels = np.array([0, 1, 2, 0, 1, 2])
    errors = gradcheck(Identity(), scores, labels, loss=SoftmaxCrossEntropy())
    assert_below(errors, TOL)


@pytest.mark.parametrize("columns", [1, 3])
def test_mean_squared_error(columns):
    pred = inputs(8, columns, seed=9)
    target = np.random.default_rng(10).standard_normal((8, columns))
    errors = gradcheck(Identity(), pred, target, loss=MeanSquaredError())
    assert_below(errors, TOL)


def test_mean_squared_error_with_flat_targets_for_one_output():
    pred = inputs(8, 1, seed=11)
    target = np.random.default_rng(12).standard_normal(8)     # shape (8,), pred (8, 1)
    assert_below(gradcheck(Identity(), pred, target), TOL)     # float y picks MSE


# --------------------------------------------------------------------------- whole networks

CONFIGS = list(itertools.product(["relu", "leaky_relu", "sigmoid", "tanh"], [False, True],
                                 [0.0, 0.25]))


@pytest.mark.parametrize("activation, batchnorm, dropout", CONFIGS,
                         ids=[f"{a}-{'bn' if b else 'nobn'}-drop{d}" for a, b, d in CONFIGS])
def test_mlp(activation, batchnorm, dropout):
    X = inputs(8, 3, seed=0)
    model = nnlab.mlp([3, 6, 5, 3], activation=activation, batchnorm=batchnorm,
                      dropout=dropout, bias=0.1, seed=1)
    errors = gradcheck(model, X)
    expected = {f"dense{i}.{p}" for i in (1, 2, 3) for p in "Wb"} | {"input"}
    if batchnorm:
        expected |= {f"batchnorm{i}.{p}" for i in (1, 2) for p in ("gamma", "beta")}
    assert set(errors) == expected
    if dropout:
        masks = [layer.mask for layer in model.layers if isinstance(layer, Dropout)]
        assert all(mask is not None and (mask == 0).any() for mask in masks), \
            "the dropout masks should have dropped something, or dropout went untested"
    smooth = activation in ("sigmoid", "tanh") or kink_free(model, X)
    # The nets above were chosen kink-free, so the strict bar is what is tested.
    assert smooth, "a ReLU input sits on the kink: pick another seed for this test"
    assert_below(errors, TOL if smooth else KINK_TOL)


def test_a_relu_exactly_on_its_kink_is_detected():
    """Why the nets above have bias 0.1: with bias 0, an example whose units were all
    dropped reaches the next ReLU at exactly 0, where relu has no derivative."""
    X = inputs(8, 3)
    model = nnlab.mlp([3, 6, 5, 3], dropout=0.5, bias=0.0, seed=1)
    mask = np.full((8, 6), 2.0)
    mask[0] = 0.0                                  # example 0 loses every unit
    model.layers[2].fixed_mask = mask              # the first Dropout
    errors = gradcheck(model, X)
    assert not kink_free(model, X)
    assert np.abs(relu_inputs(model, X)[1][0]).max() == 0.0
    assert errors["dense2.b"] > 1e-3               # the finite difference straddles the corner


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_with_each_loss(activation):
    X = inputs(8, 3, seed=13)
    model = nnlab.mlp([3, 6, 3], activation=activation, bias=0.1, seed=2)
    labels = np.array([0, 1, 2, 1, 0, 2, 1, 0])
    targets = np.random.default_rng(14).standard_normal((8, 3))
    assert activation == "tanh" or kink_free(model, X)
    assert_below(gradcheck(model, X, labels), TOL)                        # cross-entropy
    assert_below(gradcheck(model, X, targets, loss=MeanSquaredError()), TOL)


def test_mlp_gradcheck_leaves_model_as_it_found_it():
    X = inputs(8, 3)
    model = nnlab.mlp([3, 6, 3], batchnorm=True, dropout=0.3, bias=0.1, seed=3)
    before = [p.copy() for layer in model.layers for p in layer.params.values()]
    bn = model.layers[1]
    stats = bn.running_mean.copy(), bn.running_var.copy()
    gradcheck(model, X)
    after = [p for layer in model.layers for p in layer.params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    np.testing.assert_array_equal(bn.running_mean, stats[0])
    np.testing.assert_array_equal(bn.running_var, stats[1])
    assert all(layer.fixed_mask is None for layer in model.layers if isinstance(layer, Dropout))


# --------------------------------------------------------------------------- gradcheck can fail


def test_a_broken_backward_is_caught(monkeypatch):
    X = inputs(8, 3)
    model = nnlab.mlp([3, 6, 5, 3], activation="tanh", bias=0.1, seed=1)
    assert_below(gradcheck(model, X), TOL)
    tanh = model.layers[1]
    honest = tanh.backward
    monkeypatch.setattr(tanh, "backward", lambda grad_out: 2.0 * honest(grad_out))
    errors = gradcheck(model, X)
    # dense1 and the input sit below the doubled layer: their gradients are 2x too big,
    # a relative error of |2a - a| / (2|a| + |a|) = 1/3.
    for key in ("dense1.W", "dense1.b", "input"):
        assert errors[key] == pytest.approx(1 / 3, rel=1e-3), errors
    # layers above it are untouched
    assert errors["dense3.W"] <= TOL and errors["dense2.W"] <= TOL


def test_a_wrong_parameter_gradient_is_caught(monkeypatch):
    layer = Dense(3, 4, bias=0.1, rng=0)
    honest = Dense.backward

    def forgets_the_bias(self, grad_out):
        grad_in = honest(self, grad_out)
        self.grads["b"][:] = 0.0
        return grad_in

    monkeypatch.setattr(Dense, "backward", forgets_the_bias)
    errors = gradcheck(layer, inputs())
    assert errors["b"] == pytest.approx(1.0)
    assert errors["W"] <= TOL


# --------------------------------------------------------------------------- relative_error


def test_relative_error_definition():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, 2 * a) == pytest.approx(1 / 3)
    assert relative_error(np.zeros(3), np.full(3, 1e-12)) == 0.0     # both zero to round-off
    # an entry tiny next to the rest is measured against 1e-3 of the largest, not itself
    assert relative_error(np.array([1.0, 1e-9]), np.array([1.0, 2e-9])) < 1e-5


def test_gradcheck_refuses_float32():
    model = nnlab.mlp([3, 4, 2], dtype=np.float32)
    with pytest.raises(ValueError, match="float64"):
        gradcheck(model, inputs())


"""Mistakes end in a ValueError or TypeError that speaks to a learner.

Each message must name the argument, show the value that was seen and say what
would be valid; never an IndexError or ZeroDivisionError from deep inside NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import SGD, BatchNorm, Dropout

X, Y = nnlab.datasets.spirals(n=40, seed=0)


def model():
    return nnlab.mlp([2, 8, 2], seed=0)


def train(**kwargs):
    arguments = {"X": X, "y": Y, "epochs": 1}
    arguments.update(kwargs)
    return nnlab.train(model(), arguments.pop("X"), arguments.pop("y"), **arguments)


def with_value(row, column, value):
    bad = X.copy()
    bad[row, column] = value
    return bad


# (id, call, expected exception, fragments that must all appear in the message)
CASES = [
    # Dropout rate: the probability of dropping, in [0, 1]
    ("dropout-rate-negative", lambda: Dropout(-0.1), ValueError, ["rate", "-0.1", "[0.0, 1.0]"]),
    ("dropout-rate-above-one", lambda: Dropout(1.5), ValueError, ["rate", "1.5", "[0.0, 1.0]"]),
    ("dropout-rate-text", lambda: Dropout("a"), TypeError, ["rate", "'a'", "number"]),
    ("dropout-rate-nan", lambda: Dropout(float("nan")), ValueError, ["rate", "nan", "finite"]),
    ("mlp-dropout", lambda: nnlab.mlp([2, 4, 2], dropout=1.5), ValueError,
     ["dropout", "1.5", "[0.0, 1.0]"]),
    # learning rate
    ("lr-zero", lambda: train(lr=0), ValueError, ["lr", "got 0", "(0.0, inf]"]),
    ("lr-negative", lambda: train(lr=-1), ValueError, ["lr", "got -1", "(0.0, inf]"]),
    ("lr-nan", lambda: train(lr=float("nan")), ValueError, ["lr", "nan", "finite"]),
    ("lr-text", lambda: train(lr="0.1"), TypeError, ["lr", "'0.1'", "number"]),
    ("sgd-lr-zero", lambda: SGD(0), ValueError, ["lr", "got 0", "(0.0, inf]"]),
    ("sgd-momentum-one", lambda: SGD(0.1, momentum=1.0), ValueError,
     ["momentum", "got 1.0", "[0.0, 1.0)"]),
    ("sgd-clip-zero", lambda: SGD(0.1, clip_norm=0), ValueError, ["clip_norm", "got 0"]),
    # counts
    ("batch-size-zero", lambda: train(batch_size=0), ValueError,
     ["batch_size", "got 0", "[1, inf]"]),
    ("batch-size-fraction", lambda: train(batch_size=2.5), TypeError,
     ["batch_size", "2.5", "whole number"]),
    ("epochs-zero", lambda: train(epochs=0), ValueError, ["epochs", "got 0", "[1, inf]"]),
    ("epochs-fraction", lambda: train(epochs=1.5), TypeError, ["epochs", "1.5", "whole number"]),
    # inputs
    ("X-wrong-width", lambda: train(X=np.zeros((40, 3))), ValueError,
     ["X", "3 features", "takes 2", "sizes[0] = 3"]),
    ("X-one-dimensional", lambda: train(X=X[:, 0]), ValueError,
     ["X", "(40,)", "(examples, features)"]),
    ("X-nan", lambda: train(X=with_value(3, 1, np.nan)), ValueError, ["X", "1 NaN"]),
    ("X-inf", lambda: train(X=with_value(5, 0, np.inf)), ValueError, ["X", "infinite"]),
    ("X-empty", lambda: train(X=np.zeros((0, 2)), y=np.zeros(0, int)), ValueError,
     ["X", "empty", "(0, 2)"]),
    ("X-text", lambda: train(X="spirals"), TypeError, ["X", "NumPy array", "str"]),
    ("X-objects", lambda: train(X=np.array([[1, "a"]], dtype=object), y=Y[:1]), TypeError,
     ["X", "numbers", "object"]),
    ("val-wrong-width", lambda: train(val=(np.zeros((5, 3)), Y[:5])), ValueError,
     ["X_val", "3 features", "takes 2"]),
    ("val-not-a-pair", lambda: train(val=X), TypeError, ["val", "(X_val, y_val)"]),
    ("evaluate-wrong-width", lambda: nnlab.evaluate(model(), np.zeros((5, 3)), Y[:5]),
     ValueError, ["X", "3 features", "takes 2"]),
    # labels
    ("labels-too-large", lambda: train(y=np.where(Y == 1, 2, 0)), ValueError,
     ["y", "[0, 1]", "2 outputs", "to 2"]),
    ("labels-negative", lambda: train(y=Y - 1), ValueError, ["y", "[0, 1]", "from -1"]),
    ("labels-fractional", lambda: train(y=Y * 0.5), TypeError, ["y", "0.5", "integer"]),
    ("labels-count", lambda: train(y=Y[:-1]), ValueError, ["y", "39 labels", "40 examples"]),
    ("labels-text", lambda: train(y=np.array(["a"] * 40)), TypeError, ["y", "integer", "<U1"]),
    ("evaluate-labels", lambda: nnlab.evaluate(model(), X, Y + 3), ValueError,
     ["y", "[0, 1]", "to 4"]),
    ("gradcheck-labels", lambda: nnlab.gradcheck(model(), X[:4], np.array([0, 1, 5, 0])),
     ValueError, ["y", "[0, 1]", "to 5"]),
    # BatchNorm
    ("batchnorm-batch-of-one", lambda: BatchNorm(3).forward(np.ones((1, 3))), ValueError,
     ["batch of one", "batch_size", "2 or more"]),
    ("batchnorm-train-batch-size-one",
     lambda: nnlab.train(nnlab.mlp([2, 4, 2], batchnorm=True), X, Y, epochs=1, batch_size=1),
     ValueError, ["batch of one", "batch_size"]),
    ("batchnorm-momentum", lambda: BatchNorm(3, momentum=2), ValueError, ["momentum", "got 2"]),
    # building models
    ("unknown-activation", lambda: nnlab.mlp([2, 4, 2], activation="swish"), ValueError,
     ["activation", "'swish'", "'relu'", "'tanh'"]),
    ("unknown-init", lambda: nnlab.mlp([2, 4, 2], init="kaiming"), ValueError,
     ["init", "'kaiming'", "'he'", "'xavier'"]),
    ("init-negative", lambda: nnlab.mlp([2, 4, 2], init=-1.0), ValueError,
     ["init", "got -1.0", "(0.0, inf]"]),
    ("init-none", lambda: nnlab.mlp([2, 4, 2], init=None), TypeError,
     ["init", "None", "'he'", "positive standard deviation"]),
    ("sizes-too-short", lambda: nnlab.mlp([2]), ValueError, ["sizes", "[2]", "[2, 16, 2]"]),
    ("sizes-empty", lambda: nnlab.mlp([]), ValueError, ["sizes", "[]"]),
    ("sizes-a-number", lambda: nnlab.mlp(5), ValueError, ["sizes", "got 5"]),
    ("sizes-zero-width", lambda: nnlab.mlp([2, 0, 2]), ValueError, ["sizes[1]", "got 0"]),
    ("dtype", lambda: nnlab.mlp([2, 4, 2], dtype=int), ValueError,
     ["dtype", "int64", "float32"]),
    ("mlp-seed", lambda: nnlab.mlp([2, 4, 2], seed="a"), TypeError, ["seed", "'a'"]),
    ("train-seed", lambda: train(seed="a"), TypeError, ["seed", "'a'", "Generator"]),
    ("not-a-model", lambda: nnlab.train("model", X, Y, epochs=1), TypeError,
     ["model", "Sequential", "str"]),
    ("sequential-of-junk", lambda: nnlab.Sequential([nnlab.Dense(2, 2), "relu"]), TypeError,
     ["layer 1", "str"]),
    # data sets
    ("spirals-n", lambda: nnlab.datasets.spirals(n=1), ValueError, ["n", "got 1", "[2, inf]"]),
    ("spirals-noise", lambda: nnlab.datasets.moons(noise=-1), ValueError, ["noise", "got -1"]),
    ("split-fraction", lambda: nnlab.datasets.train_val_split(X, Y, 1.0), ValueError,
     ["val_fraction", "1.0", "(0.0, 1.0)"]),
    ("split-too-small", lambda: nnlab.datasets.train_val_split(X, Y, 0.001), ValueError,
     ["val_fraction=0.001", "0 of 40"]),
    ("standardize-reference", lambda: nnlab.datasets.standardize(X, np.zeros((3, 3))),
     ValueError, ["reference", "3 features", "X has 2"]),
]


@pytest.mark.parametrize("call, expected, fragments", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_gets_a_clear_error(call, expected, fragments):
    assert_clear_error(call, expected, fragments)


def assert_clear_error(call, expected, fragments):
    """``call()`` raises exactly ``expected``, with every fragment in its message."""
    with pytest.raises((ValueError, TypeError)) as error:
        call()
    assert type(error.value) is expected, f"{type(error.value).__name__}: {error.value}"
    message = str(error.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"{missing} not in {message!r}"


def test_case_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))


def test_a_bad_call_leaves_the_model_untouched():
    net = model()
    before = [p.copy() for layer in net.layers for p in layer.params.values()]
    with pytest.raises(ValueError):
        nnlab.train(net, X, np.where(Y == 1, 2, 0), epochs=1)
    after = [p for layer in net.layers for p in layer.params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))

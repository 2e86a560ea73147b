"""Lesson 0's exercises (backpropagation): each judge, then the catalogue entries."""

from __future__ import annotations

import numpy as np

from ..engine.layers import Dense, Sigmoid
from ..engine.models import mlp
from ._common import Exercise, Verdict, _array, _number, _right, _wrong


def _judge_sigmoid_backward(sigmoid_backward) -> Verdict:
    probe = _array("sigmoid_backward(output, grad_out)",
                   sigmoid_backward(np.array([[0.5, 0.9]]), np.array([[1.0, 2.0]])), (1, 2))
    expected_probe = np.array([[0.25, 2.0 * 0.9 * 0.1]])
    if not np.allclose(probe, expected_probe):
        return _wrong(f"for outputs s = [0.5, 0.9] and upstream gradients [1, 2] the answer is "
                      f"grad_out * s * (1 - s) = [0.25, 0.18], but yours returned "
                      f"{np.round(probe[0], 4).tolist()}. The slope of the sigmoid, written with "
                      f"its output s, is s (1 - s).")
    rng = np.random.default_rng(0)
    layer = Sigmoid()
    output = layer.forward(rng.normal(0.0, 2.0, (5, 4)))
    grad_out = rng.normal(size=(5, 4))
    expected = layer.backward(grad_out)
    got = _array("sigmoid_backward(output, grad_out)",
                 sigmoid_backward(output.copy(), grad_out.copy()), (5, 4))
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-12):
        return _wrong("it is right at the probe point but not on a random batch of shape (5, 4): "
                      "apply the formula element by element, for every entry.")
    return _right("your backward pass matches nnlab's Sigmoid.backward on a random batch. "
                  "The slope s (1 - s) is at most 0.25 (at s = 0.5); lesson 1 shows what a "
                  "product of many such slopes does.")


def _judge_dense_backward(dense_backward) -> Verdict:
    rng = np.random.default_rng(1)
    layer = Dense(3, 4, rng=rng)
    x = rng.normal(size=(5, 3))
    grad_out = rng.normal(size=(5, 4))
    layer.forward(x)
    expected_x = layer.backward(grad_out)
    result = dense_backward(x.copy(), layer.params["W"].copy(), grad_out.copy())
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        length = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        return _wrong("dense_backward should return three arrays, (grad_W, grad_b, grad_x), "
                      f"but it returned {type(result).__name__}{length}.")
    grad_W = _array("grad_W (dL/dW, the shape of W: in_features x out_features)", result[0], (3, 4))
    grad_b = _array("grad_b (dL/db, the shape of b: out_features)", result[1], (4,))
    grad_x = _array("grad_x (dL/dx, the shape of x: batch x in_features)", result[2], (5, 3))
    wrong = []
    if not np.allclose(grad_W, layer.grads["W"]):
        wrong.append("grad_W should be x.T @ grad_out (each weight collects input times error, "
                     "summed over the batch)")
    if not np.allclose(grad_b, layer.grads["b"]):
        hint = (" (you took the mean; each example adds its own share, so sum)"
                if np.allclose(grad_b, grad_out.mean(axis=0)) else "")
        wrong.append(f"grad_b should be grad_out.sum(axis=0){hint}")
    if not np.allclose(grad_x, expected_x):
        wrong.append("grad_x should be grad_out @ W.T (the error, handed down through the "
                     "same weights, transposed)")
    if wrong:
        return _wrong("; ".join(wrong) + ".")
    return _right("all three gradients match nnlab's Dense.backward. Note that grad_x reuses W "
                  "and grad_out: this hand-off, layer after layer, is backpropagation.")


def _judge_forward_passes(answer) -> Verdict:
    count = _number("finite_difference_passes", answer, low=0, integer=True)
    parameters = mlp([2, 64, 64, 64, 2]).parameter_count()
    if count in (2 * parameters, 2 * parameters + 1):
        return _right(f"the network has {parameters:,} parameters and a centred difference needs "
                      f"two forward passes for each (p + eps and p - eps): {2 * parameters:,} "
                      f"forward passes for one gradient. Backpropagation gets all {parameters:,} "
                      "partial derivatives from one forward and one backward pass.")
    if count == parameters:
        return _wrong("that is one forward pass per parameter, but the centred difference "
                      "(L(p + eps) - L(p - eps)) / (2 eps) needs two for each.")
    return _wrong(f"count the parameters first: model.parameter_count() gives {parameters:,} for "
                  "nnlab.mlp([2, 64, 64, 64, 2]). How many forward passes does the centred "
                  "difference need for each one?")


EXERCISES = [
    Exercise(
        "00.1", "implement", "Write the sigmoid's backward pass, given its output s.",
        "sigmoid_backward", "a function sigmoid_backward(output, grad_out)",
        hint="The derivative of the sigmoid can be written with its own output: "
             "d sigmoid(x) / dx = s (1 - s), where s = sigmoid(x). Multiply the upstream "
             "gradient by it, element by element.",
        solution="def sigmoid_backward(output, grad_out):\n"
                 "    return grad_out * output * (1 - output)\n",
        judge=_judge_sigmoid_backward),
    Exercise(
        "00.2", "implement", "Write a Dense layer's backward pass.",
        "dense_backward",
        "a function dense_backward(x, W, grad_out) returning (grad_W, grad_b, grad_x)",
        hint="Follow the shapes. x is (batch, in), W is (in, out), grad_out is (batch, out). "
             "grad_W must be (in, out): which product of x and grad_out gives that? The bias "
             "is added to every example, so its gradient adds up every example's share.",
        solution="def dense_backward(x, W, grad_out):\n"
                 "    grad_W = x.T @ grad_out\n"
                 "    grad_b = grad_out.sum(axis=0)\n"
                 "    grad_x = grad_out @ W.T\n"
                 "    return grad_W, grad_b, grad_x\n",
        judge=_judge_dense_backward),
    Exercise(
        "00.3", "predict", "How many forward passes do finite differences need for one gradient "
                           "of nnlab.mlp([2, 64, 64, 64, 2])?",
        "finite_difference_passes", "a whole number",
        hint="Count the parameters: each Dense layer from a to b units has a * b weights and b "
             "biases (or ask model.parameter_count()). The centred difference evaluates the loss "
             "twice per parameter.",
        solution="import nnlab\n"
                 "finite_difference_passes = 2 * nnlab.mlp([2, 64, 64, 64, 2]).parameter_count()\n",
        judge=_judge_forward_passes),
]

"""Lesson 3's exercises (dead ReLU units): each judge, then the catalogue entries."""

from __future__ import annotations

import copy

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES, LEARNING_RATES
from ..engine.layers import ReLU
from ..engine.losses import SoftmaxCrossEntropy
from ._common import Exercise, Verdict, _Invalid, _array, _number, _right, _wrong


def _judge_relu_backward(relu_backward) -> Verdict:
    probe = _array("relu_backward(output, grad_out)",
                   relu_backward(np.array([[0.0, 2.0]]), np.array([[1.0, 3.0]])), (1, 2))
    if probe[0, 0] != 0.0:
        return _wrong(f"where the output is 0 the unit is off, and no gradient may pass: for "
                      f"output 0 and upstream gradient 1 the answer is 0, but yours returned "
                      f"{probe[0, 0]:g}.")
    if probe[0, 1] != 3.0:
        return _wrong(f"where the unit is on (output 2), its slope is 1, so the upstream gradient "
                      f"3 passes unchanged; yours returned {probe[0, 1]:g}.")
    rng = np.random.default_rng(3)
    layer = ReLU()
    output = layer.forward(rng.normal(size=(6, 5)))
    grad_out = rng.normal(size=(6, 5))
    got = _array("relu_backward(output, grad_out)", relu_backward(output.copy(), grad_out.copy()),
                 (6, 5))
    if not np.array_equal(got, layer.backward(grad_out)):
        return _wrong("right at the probe points, but not on a random batch of shape (6, 5): "
                      "apply the rule to every entry.")
    return _right("your backward pass matches nnlab's ReLU.backward. A unit whose output is 0 "
                  "for every example passes back exactly 0: nothing below it learns from it, "
                  "and its own weights get no gradient.")


def _dead_percent(config) -> float:
    return metrics.dead_fraction(experiments.outcome(config))


def _judge_largest_safe_lr(answer) -> Verdict:
    lr = _number("largest_safe_lr", answer, low=0.0)
    options = sorted(LEARNING_RATES)
    if lr not in options:
        raise _Invalid(f"`largest_safe_lr` should be one of the learning rates on the lab's "
                       f"slider, {', '.join(f'{o:g}' for o in options)}, but it is {answer!r}.")
    broken = CASES["dead_relu"].broken
    dead = _dead_percent(broken.replace(lr=lr))
    if dead > 0.1:
        return _wrong(f"at learning rate {lr:g}, {dead:.0%} of the hidden units end dead; the "
                      "target is at most 10%.")
    safe = [option for option in options if _dead_percent(broken.replace(lr=option)) <= 0.1]
    if lr < max(safe):
        return _wrong(f"at learning rate {lr:g} only {dead:.0%} of the hidden units end dead, but "
                      "a larger value on the slider is safe too. Try them in the lab.")
    above = [option for option in options if option > lr]
    after = (f"; at {above[0]:g}, {_dead_percent(broken.replace(lr=above[0])):.0%} die"
             if above else "")
    return _right(f"at learning rate {lr:g}, {dead:.0%} of the hidden units end dead{after}. "
                  "A step that large knocks units below zero for every example, and they stay.")


def _judge_dead_unit_weights(answer) -> Verdict:
    count = _number("dead_unit_weights_changed", answer, low=0, integer=True)
    result = experiments.outcome(CASES["dead_relu"].broken)
    model = copy.deepcopy(result.model)            # leave the cached run untouched
    (X, y), _ = result.config.data()
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(X, training=True), y)
    model.backward(loss.backward())
    first_dense, first_relu = model.dense_layers[0], model.relu_layers[0]
    dead = ~(first_relu.output != 0).any(axis=0)
    n_dead = int(dead.sum())
    nonzero = int(np.count_nonzero(first_dense.grads["W"][:, dead]))
    nonzero_bias = int(np.count_nonzero(first_dense.grads["b"][dead]))
    measured = (f"in the broken run {n_dead} of {dead.size} hidden units are dead; over the whole "
                f"training set, {nonzero} of their {first_dense.in_features * n_dead} incoming "
                f"weights and {nonzero_bias} of their {n_dead} biases get a nonzero gradient")
    if count == 0 and nonzero == 0:
        return _right(f"{measured}. No gradient, no change, however large the step: the unit "
                      "stays dead for good.")
    return _wrong(f"{measured}. Each weight's gradient is (its input) x (the error at the unit), "
                  "and ReLU's backward pass sets that error to 0 wherever the unit's output is 0.")


EXERCISES = [
    Exercise(
        "03.1", "implement", "Write ReLU's backward pass, given its output.",
        "relu_backward", "a function relu_backward(output, grad_out)",
        hint="relu(x) = max(x, 0) has slope 1 where it is positive and 0 where it is not. "
             "The output tells you which: output > 0.",
        solution="def relu_backward(output, grad_out):\n"
                 "    return grad_out * (output > 0)\n",
        judge=_judge_relu_backward),
    Exercise(
        "03.2", "knob", "Find the largest learning rate on the lab's slider that leaves at "
                        "most 10% of the hidden units dead.",
        "largest_safe_lr", "one of the learning rates on the lab's slider",
        hint="Move the lab's learning-rate slider down from 5 and watch the status line's dead "
             "fraction.",
        solution="largest_safe_lr = 2.0\n",
        judge=_judge_largest_safe_lr),
    Exercise(
        "03.3", "predict", "A hidden unit is dead on every training example. In the next "
                           "gradient step, how many of its incoming weights change?",
        "dead_unit_weights_changed", "a whole number",
        hint="A weight's gradient is its input times the error arriving at the unit. What does "
             "ReLU's backward pass send down where the output is 0?",
        solution="dead_unit_weights_changed = 0\n",
        judge=_judge_dead_unit_weights),
]

"""Exercises: each lesson's questions, with a check that says right or wrong, and why.

A lesson's exercise is two cells: an answer, which ships as ``None`` (or, to
implement a piece of a layer, as a stub function that raises
``NotImplementedError``), and a check::

    shallow_net_prediction = None      # "larger" or "smaller"
    exercises.check("01.1", shallow_net_prediction)

``check`` prints one line, and never raises, so a lesson runs top to bottom
whatever state its exercises are in:

- ``Right — ...``: the answer meets the target, and why it does;
- ``Not quite — ...``: what is wrong, with the numbers that show it;
- ``Not answered yet — ...``: the answer is still ``None``;
- ``Not implemented yet — ...``: the function still raises ``NotImplementedError``.

``hint("01.1")`` prints a hint and ``solution("01.1")`` a worked answer.
Predictions are checked against a run, not against a stored answer: the
check trains the network (or runs the layer) and reports what it measured.
:func:`verdict` returns the same judgement as a :class:`Verdict`, for tests.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import experiments
from .experiments import CASES, LEARNING_RATES, Experiment, generalization_gap, hidden_dead_fraction
from .engine.layers import BatchNorm, Dense, Dropout, ReLU, Sigmoid
from .engine.losses import SoftmaxCrossEntropy
from .engine.models import mlp

RIGHT = "right"
WRONG = "wrong"
NOT_ANSWERED = "not answered"
NOT_IMPLEMENTED = "not implemented"

_OPENINGS = {RIGHT: "Right", WRONG: "Not quite", NOT_ANSWERED: "Not answered yet",
             NOT_IMPLEMENTED: "Not implemented yet"}


@dataclass(frozen=True)
class Verdict:
    """What a check concluded: ``status`` (one of the four above) and ``reason``, in words."""

    status: str
    reason: str

    @property
    def right(self) -> bool:
        return self.status == RIGHT

    def __str__(self):
        return f"{_OPENINGS[self.status]} — {self.reason}"


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    ``kind`` is "predict" (write a prediction, then the check runs the
    experiment), "knob" (change a setting to reach a target) or "implement"
    (write a small function). ``answer`` names the variable or function the
    learner fills in, and ``expects`` says what a valid answer looks like.
    ``solution`` is Python code that defines ``answer``. ``judge`` is called
    only with an answer that is not ``None``.
    """

    id: str
    kind: str
    task: str
    answer: str
    expects: str
    hint: str
    solution: str
    judge: Callable[[object], Verdict]


class _Invalid(Exception):
    """An answer of the wrong type or out of range; its message says what would be valid."""


def _right(reason: str) -> Verdict:
    return Verdict(RIGHT, reason)


def _wrong(reason: str) -> Verdict:
    return Verdict(WRONG, reason)


def _choice(name: str, answer, options) -> str:
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        valid = " or ".join(repr(option) for option in options)
        raise _Invalid(f"`{name}` should be {valid}, but it is {answer!r}.")
    return answer.strip().lower()


def _boolean(name: str, answer) -> bool:
    if not isinstance(answer, (bool, np.bool_)):
        raise _Invalid(f"`{name}` should be True or False, but it is {answer!r}.")
    return bool(answer)


def _number(name: str, answer, low=None, high=None, integer=False) -> float:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, kind):
        raise _Invalid(f"`{name}` should be {'a whole number' if integer else 'a number'}, "
                       f"but it is {answer!r}.")
    value = float(answer)
    if integer and value != int(value):
        raise _Invalid(f"`{name}` should be a whole number, but it is {answer!r}.")
    too_low = low is not None and value < low
    too_high = high is not None and value > high
    if not math.isfinite(value) or too_low or too_high:
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise _Invalid(f"`{name}` should be a number {bounds}, but it is {answer!r}.")
    return value


def _array(name: str, value, shape) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _Invalid(f"{name} should be a NumPy array of shape {shape}, "
                       f"but it is {type(value).__name__}.") from None
    if array.shape != shape:
        raise _Invalid(f"{name} should have shape {shape}, but it has shape {array.shape}.")
    return array


def _ratio(result) -> float:
    return result.history.first_last_ratio(0)


def _error_growth(result) -> float:
    """How many times larger the backpropagated error is at the first layer than at the last."""
    error = result.history.bias_grad_norms
    return float(error[0, 0] / error[0, -1]) if error.size and error[0, -1] > 0 else float("nan")


def _times(value: float) -> str:
    return f"{value:.3g}x"


# ---------------------------------------------------------------------------
# Lesson 0: backpropagation
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Lesson 1: vanishing gradients
# ---------------------------------------------------------------------------

def _judge_shallow_sigmoid(answer) -> Verdict:
    prediction = _choice("shallow_net_prediction", answer, ("larger", "smaller"))
    deep_config = CASES["vanishing"].broken
    shallow_config = deep_config.replace(hidden=deep_config.hidden[:2])
    deep = _ratio(experiments.outcome(deep_config))
    shallow = _ratio(experiments.outcome(shallow_config))
    truth = "larger" if shallow > deep else "smaller"
    measured = (f"first/last gradient ratio with 2 hidden layers {shallow:.1e}, "
               f"with {deep_config.depth} hidden layers {deep:.1e}")
    if prediction == truth:
        return _right(f"{measured}. Fewer layers, fewer factors in the product: each sigmoid slope "
                      "is at most 0.25, so every layer removed shrinks the gradient less.")
    return _wrong(f"{measured}. Count the factors: the gradient reaching the first layer has been "
                  "multiplied by one sigmoid slope (at most 0.25) per layer above it.")


def _judge_vanishing_fix(answer) -> Verdict:
    broken = CASES["vanishing"].broken
    if not isinstance(answer, Experiment):
        raise _Invalid("`my_fixed_config` should be an Experiment, such as "
                       "case.broken.replace(activation=...), but it is "
                       f"{type(answer).__name__}.")
    if answer.hidden != broken.hidden:
        return _wrong(f"keep the {broken.depth} hidden layers of {broken.hidden[0]} units: a "
                      "shallower net hides the problem instead of fixing it.")
    if (answer.dataset, answer.n, answer.noise) != (broken.dataset, broken.n, broken.noise):
        return _wrong("keep the data set as it is: the task is to fix the network.")
    result = experiments.outcome(answer)
    ratio = _ratio(result)
    if result.history.diverged:
        return _wrong(f"the run diverged at step {result.history.diverged_at}: "
                      f"{result.history.message}")
    if not 0.1 <= ratio <= 10:
        return _wrong(f"the first/last gradient ratio is {ratio:.1e}: the first layer's gradient "
                      f"is still {1 / ratio:.3g} times smaller than the last one's. What "
                      "multiplies the gradient at every layer?")
    if result.train_accuracy < 0.9:
        return _wrong(f"the gradients are balanced (ratio {ratio:.1e}), but training accuracy "
                      f"is only {result.train_accuracy:.2f} after {answer.epochs} epochs.")
    return _right(f"first/last gradient ratio {ratio:.1e} and training accuracy "
                  f"{result.train_accuracy:.2f}, with {answer.depth} hidden layers "
                  f"({answer.describe()}).")


# ---------------------------------------------------------------------------
# Lesson 2: exploding gradients
# ---------------------------------------------------------------------------

def _judge_init_std(answer) -> Verdict:
    std = _number("init_std", answer, low=1e-6, high=10.0)
    broken = CASES["exploding"].broken
    result = experiments.outcome(broken.replace(init=std))
    growth = _error_growth(result)
    if result.history.diverged:
        return _wrong(f"with init std {std:g} the backpropagated error grows {_times(growth)} from "
                      f"the last layer to the first, and the run diverged at step "
                      f"{result.history.diverged_at}. Smaller weights, smaller factors.")
    if not growth < 10:
        return _wrong(f"the run trains, but the error still grows {_times(growth)} from the last "
                      "layer to the first; the target is less than 10x.")
    if result.train_accuracy < 0.9:
        return _wrong(f"the error grows only {_times(growth)} and nothing diverges, but training "
                      f"accuracy is {result.train_accuracy:.2f} after {broken.epochs} epochs: with "
                      "weights this small the signal shrinks at every layer instead.")
    he = math.sqrt(2 / broken.hidden[0])
    return _right(f"init std {std:g}: the error grows only {_times(growth)}, and training accuracy "
                  f"is {result.train_accuracy:.2f}. He initialisation would choose "
                  f"sqrt(2 / {broken.hidden[0]}) = {he:.2f} for these layers.")


def _judge_clip(clip_by_global_norm) -> Verdict:
    grads = [np.array([3.0, 0.0]), np.array([[0.0, 4.0]])]     # global norm 5
    clipped = clip_by_global_norm([g.copy() for g in grads], 1.0)
    if not isinstance(clipped, (list, tuple)) or len(clipped) != 2:
        return _wrong("clip_by_global_norm should return a list with one array per gradient, "
                      f"but it returned {type(clipped).__name__}.")
    clipped = [_array(f"gradient {i} after clipping", c, g.shape)
               for i, (c, g) in enumerate(zip(clipped, grads))]
    norm = math.sqrt(sum(float(np.sum(c * c)) for c in clipped))
    if np.allclose(clipped[0], [1.0, 0.0]) and np.allclose(clipped[1], [[0.0, 1.0]]):
        return _wrong("you clipped each array on its own, which changes the direction of the "
                      "gradient. Clip by the global norm, sqrt(sum of every squared entry of "
                      "every array), and scale all arrays by the same factor.")
    if not (np.allclose(clipped[0], [0.6, 0.0]) and np.allclose(clipped[1], [[0.0, 0.8]])):
        return _wrong(f"gradients [3, 0] and [[0, 4]] have global norm 5; clipped at 1 they "
                      f"should be [0.6, 0] and [[0, 0.8]] (global norm 1), but yours have global "
                      f"norm {norm:.3g}.")
    small = clip_by_global_norm([g.copy() for g in grads], 10.0)
    if not all(np.allclose(np.asarray(s, dtype=float), g) for s, g in zip(small, grads)):
        return _wrong("with max_norm 10 the global norm 5 is already small enough: the "
                      "gradients should come back unchanged.")
    return _right("the gradients are scaled together, so the step keeps its direction and "
                  "its length is at most lr * max_norm.")


def _judge_clipping_growth(answer) -> Verdict:
    prediction = _boolean("clipping_changes_growth", answer)
    case = CASES["exploding"]
    without = _error_growth(experiments.outcome(case.broken))
    with_clipping = _error_growth(experiments.outcome(case.configs["clipping"]))
    changes = not math.isclose(without, with_clipping, rel_tol=1e-9)
    measured = (f"the error grows {_times(without)} from last layer to first without clipping, "
               f"and {_times(with_clipping)} with it")
    if prediction == changes:
        return _right(f"{measured}. Clipping multiplies every gradient by the same factor, so the "
                      "ratios between layers stay: it limits how far one step goes, not how the "
                      "error grows. Batch normalization is the remedy that changes the growth.")
    return _wrong(f"{measured}. Clipping scales all the gradients by one common factor: what does "
                  "that do to the ratio of two of them?")


# ---------------------------------------------------------------------------
# Lesson 3: dead ReLU units
# ---------------------------------------------------------------------------

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
    return hidden_dead_fraction(experiments.outcome(config))


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


# ---------------------------------------------------------------------------
# Lesson 4: dropout
# ---------------------------------------------------------------------------

_UNSCALED_OPTIONS = ("the same", "twice as large", "half as large")


def _judge_unscaled_dropout(answer) -> Verdict:
    prediction = _choice("unscaled_dropout_prediction", answer, _UNSCALED_OPTIONS)
    rate = 0.5
    layer = Dropout(rate=rate, rng=0)
    x = np.ones((1000, 10))
    scaled = float(layer.forward(x, training=True).mean())
    unscaled = scaled * (1.0 - rate)         # the same mask, without the 1 / (1 - rate)
    evaluation = float(layer.forward(x, training=False).mean())
    ratio = evaluation / unscaled
    factors = {"the same": 1.0, "twice as large": 2.0, "half as large": 0.5}
    truth = min(_UNSCALED_OPTIONS, key=lambda option: abs(math.log(ratio / factors[option])))
    measured = (f"for inputs of 1, Dropout(rate=0.5) without the scaling would average "
                f"{unscaled:.2f} in training, while evaluation passes {evaluation:.2f} through: "
                f"{ratio:.2f} times as much")
    if prediction == truth:
        return _right(f"{measured}. The next layer would see inputs about twice the size it was "
                      f"trained on. Inverted dropout scales the kept units by 1 / (1 - rate) "
                      f"during training (they average {scaled:.2f}), so evaluation needs no "
                      "correction.")
    return _wrong(f"{measured}. In training about half the units are 0 and the rest keep their "
                  "value; at evaluation every unit is there.")


def _judge_dropout_forward(dropout_forward) -> Verdict:
    for rate in (0.2, 0.5):
        x = np.ones((400, 50))
        out = _array(f"dropout_forward(x, rate={rate}, rng)",
                     dropout_forward(x.copy(), rate, np.random.default_rng(0)), x.shape)
        dropped = float(np.mean(out == 0.0))
        kept = out[out != 0.0]
        scale = 1.0 / (1.0 - rate)
        if abs(dropped - (1.0 - rate)) < 0.03 and rate != 0.5:
            return _wrong(f"with rate = {rate} you dropped {dropped:.0%} of the units: rate is the "
                          "probability of dropping a unit, not of keeping it.")
        if abs(dropped - rate) > 0.03:
            return _wrong(f"with rate = {rate} about {rate:.0%} of the units should be 0, but "
                          f"{dropped:.0%} of yours are.")
        if kept.size and np.allclose(kept, 1.0):
            return _wrong(f"the kept units must be scaled by 1 / (1 - rate) = {scale:g}, so each "
                          "unit's expected value stays x and evaluation can pass x through; "
                          "yours keep their value 1.")
        if not np.allclose(kept, scale):
            return _wrong(f"with rate = {rate}, a kept 1 should become 1 / (1 - rate) = {scale:g}, "
                          f"but yours range from {kept.min():.3g} to {kept.max():.3g}.")
    x = np.random.default_rng(5).normal(size=(20, 6))
    out = _array("dropout_forward(x, rate=0.5, rng)",
                 dropout_forward(x.copy(), 0.5, np.random.default_rng(0)), x.shape)
    if not np.all(np.isclose(out, 0.0) | np.isclose(out, 2.0 * x)):
        return _wrong("on random inputs each output should be either 0 or the input times "
                      "1 / (1 - rate): multiply x by the scaled mask.")
    return _right("about rate of the units are 0 and the rest are scaled by 1 / (1 - rate), "
                  "so the output's expected value equals the input.")


def _judge_dropout_rate(answer) -> Verdict:
    rate = _number("my_dropout_rate", answer, low=0.0, high=1.0)
    case = CASES["dropout"]
    none = experiments.outcome(case.broken)
    result = experiments.outcome(case.broken.replace(dropout=rate))
    history = result.history
    chance_loss = math.log(history.n_classes)
    if history.diverged:
        return _wrong(f"at rate {rate:g} the run diverged at step {history.diverged_at}.")
    gap, gap_none = generalization_gap(result), generalization_gap(none)
    learned = history.loss[-1] <= chance_loss - 0.1
    if not learned:
        return _wrong(f"at rate {rate:g} the final training loss is {history.loss[-1]:.3f}, "
                      f"hardly below ln {history.n_classes} = {chance_loss:.3f}, what guessing "
                      "gives: the network barely learns.")
    if not gap <= gap_none / 2:
        return _wrong(f"at rate {rate:g} the gap between training and validation accuracy is "
                      f"{gap:+.2f}; without dropout it is {gap_none:+.2f}, and the target is at "
                      f"most half of that, {gap_none / 2:+.2f}.")
    return _right(f"at rate {rate:g} the gap is {gap:+.2f} (without dropout {gap_none:+.2f}), "
                  f"validation accuracy {result.val_accuracy:.2f}, and the training loss "
                  f"{history.loss[-1]:.3f} is well below ln {history.n_classes} = "
                  f"{chance_loss:.3f}.")


# ---------------------------------------------------------------------------
# Lesson 5: batch normalization
# ---------------------------------------------------------------------------

def _judge_batchnorm_normalize(batchnorm_normalize) -> Verdict:
    rng = np.random.default_rng(4)
    x = rng.normal([5.0, -3.0, 0.0], [2.0, 0.5, 10.0], size=(16, 3))
    layer = BatchNorm(3)
    expected = layer.forward(x, training=True)        # gamma = 1, beta = 0: exactly x_hat
    got = _array("batchnorm_normalize(x)", batchnorm_normalize(x.copy()), x.shape)
    if np.allclose(got, expected, rtol=1e-4, atol=1e-6):
        return _right("each feature (column) now has mean 0 and standard deviation 1 over the "
                      "batch, exactly what BatchNorm computes before gamma and beta.")
    means, stds = got.mean(axis=0), got.std(axis=0)
    if np.allclose(got.mean(axis=1), 0.0, atol=1e-6) and not np.allclose(means, 0.0, atol=1e-6):
        return _wrong("your rows have mean 0, but the columns must: BatchNorm normalizes each "
                      "feature over the batch, along axis=0.")
    if np.allclose(means, 0.0, atol=1e-6) and np.allclose(stds, math.sqrt(15 / 16), rtol=1e-3):
        return _wrong("close: you divided by the unbiased standard deviation (n - 1). In "
                      "training, BatchNorm normalizes with the batch's own, biased variance "
                      "(divide by n); np.var and np.std do that by default.")
    return _wrong(f"after normalizing, each column should have mean 0 and standard deviation "
                  f"1, but yours have means {np.round(means, 3).tolist()} and standard deviations "
                  f"{np.round(stds, 3).tolist()}: subtract the column mean, divide by "
                  f"sqrt(column variance + eps).")


def _judge_raw_inputs_with_batchnorm(answer) -> Verdict:
    prediction = _boolean("batchnorm_rescues_raw_inputs", answer)
    case = CASES["batchnorm"]
    raw = experiments.outcome(case.configs["raw_inputs"])
    with_bn = experiments.outcome(case.configs["raw_inputs"].replace(batchnorm=True))
    standardized = experiments.outcome(case.configs["standardized"])
    target = 0.85
    rescues = with_bn.train_accuracy >= target
    measured = (f"training accuracy: raw inputs {raw.train_accuracy:.2f}, raw inputs with batch "
               f"normalization {with_bn.train_accuracy:.2f}, standardized inputs "
               f"{standardized.train_accuracy:.2f} (the target was {target:.2f})")
    scales = case.configs["raw_inputs"].input_scales
    large, small = max(scales), min(scales)
    why = (f"Batch normalization rescales each hidden unit's pre-activation, but the gradient of "
           f"a first-layer weight is still proportional to its input: the weight reading the "
           f"feature on scale {large:g} gets gradients {large / small:,.0f} times larger than the "
           f"one reading the feature on scale {small:g}, and one learning rate cannot suit both. "
           f"Standardize the inputs first.")
    if prediction == rescues:
        return _right(f"{measured}. " + (why if not rescues else
                                         "Here normalizing inside the network was enough."))
    return _wrong(f"{measured}. " + (why if not rescues else
                                    "Normalizing inside the network was enough here."))


def _judge_eval_statistics(answer) -> Verdict:
    prediction = _boolean("same_output_alone_and_in_batch", answer)
    result = experiments.outcome(CASES["batchnorm"].fixed)
    (X, _), _ = result.config.data()
    model = copy.deepcopy(result.model)
    layer = next(layer for layer in model.layers if isinstance(layer, BatchNorm))
    first = model.dense_layers[0]
    inputs = first.forward(X[:32])
    alone_eval = layer.forward(inputs[:1], training=False)
    batch_eval = layer.forward(inputs, training=False)[:1]
    batch_train = layer.forward(inputs, training=True)[:1]
    same = bool(np.allclose(alone_eval, batch_eval))
    shown = (f"the first BatchNorm layer's output for one example, first three units: alone in "
             f"evaluation mode {alone_eval[0, :3].round(3).tolist()}, in a batch of 32 in "
             f"evaluation mode {batch_eval[0, :3].round(3).tolist()}, in the same batch in "
             f"training mode {batch_train[0, :3].round(3).tolist()}")
    if prediction == same:
        return _right(f"{shown}. Evaluation uses the running mean and variance, fixed after "
                      "training, so an example's output does not depend on its neighbours; "
                      "training uses the batch's own statistics, so it does.")
    return _wrong(f"{shown}. Which statistics does evaluation mode normalize with: the batch's, or "
                  "the running averages kept during training?")


# ---------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------

_STUB_NOTE = "Replace the body of the stub, run its cell, then run the check."

EXERCISES = {exercise.id: exercise for exercise in [
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
    Exercise(
        "01.1", "predict", "With 2 hidden layers instead of 6, is the sigmoid net's first/last "
                           "gradient ratio larger or smaller?",
        "shallow_net_prediction", '"larger" or "smaller"',
        hint="Each sigmoid layer multiplies the backpropagated gradient by a slope of at most "
             "0.25. How many such factors are there with 2 layers, and with 6?",
        solution='shallow_net_prediction = "larger"\n',
        judge=_judge_shallow_sigmoid),
    Exercise(
        "01.2", "knob", "Change the broken configuration so the first/last gradient ratio is "
                        "between 0.1 and 10, keeping all 6 hidden layers.",
        "my_fixed_config", "an Experiment, such as case.broken.replace(...)",
        hint="Two settings decide how the gradient scales from layer to layer: the activation's "
             "slope and the size of the initial weights. Try the lab's dropdowns first.",
        solution='from nnlab import experiments\n'
                 'case = experiments.CASES["vanishing"]\n'
                 'my_fixed_config = case.broken.replace(activation="relu", init="he")\n',
        judge=_judge_vanishing_fix),
    Exercise(
        "02.1", "knob", "Choose an initial weight std at which the 6-layer ReLU net trains: "
                        "no divergence, error growth under 10x, training accuracy at least 0.9.",
        "init_std", "a positive number, the standard deviation of the initial weights",
        hint="The broken net uses 0.8. He initialisation picks sqrt(2 / fan_in), which keeps "
             "the signal's size steady through ReLU layers; each layer here has 32 inputs.",
        solution="init_std = (2 / 32) ** 0.5\n",
        judge=_judge_init_std),
    Exercise(
        "02.2", "implement", "Write gradient clipping by global norm.",
        "clip_by_global_norm", "a function clip_by_global_norm(grads, max_norm)",
        hint="First the global norm: the square root of the sum of every squared entry of every "
             "array. If it exceeds max_norm, multiply every array by max_norm / norm.",
        solution="import numpy as np\n\n"
                 "def clip_by_global_norm(grads, max_norm):\n"
                 "    norm = np.sqrt(sum(np.sum(g * g) for g in grads))\n"
                 "    if norm <= max_norm:\n"
                 "        return grads\n"
                 "    return [g * (max_norm / norm) for g in grads]\n",
        judge=_judge_clip),
    Exercise(
        "02.3", "predict", "Does clipping change how much the error grows from the last layer "
                           "to the first?",
        "clipping_changes_growth", "True or False",
        hint="Clipping multiplies every gradient by the same number max_norm / norm. What "
             "happens to the ratio of two numbers when both are multiplied by the same factor?",
        solution="clipping_changes_growth = False\n",
        judge=_judge_clipping_growth),
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
    Exercise(
        "04.1", "predict", "Without the 1 / (1 - rate) scaling in training, how large would a "
                           "layer's input be at evaluation, compared with training?",
        "unscaled_dropout_prediction", " or ".join(f'"{o}"' for o in _UNSCALED_OPTIONS),
        hint="In training, with rate 0.5, about half the units are 0 and (without scaling) the "
             "rest keep their value: what is the average? At evaluation no unit is dropped.",
        solution='unscaled_dropout_prediction = "twice as large"\n',
        judge=_judge_unscaled_dropout),
    Exercise(
        "04.2", "implement", "Write inverted dropout's training-mode forward pass.",
        "dropout_forward", "a function dropout_forward(x, rate, rng)",
        hint="Draw rng.random(x.shape): an entry is kept where it is at least rate. Multiply x "
             "by the keep-mask, and scale by 1 / (1 - rate).",
        solution="def dropout_forward(x, rate, rng):\n"
                 "    keep = rng.random(x.shape) >= rate\n"
                 "    return x * keep / (1 - rate)\n",
        judge=_judge_dropout_forward),
    Exercise(
        "04.3", "knob", "Find a dropout rate that at least halves the train/validation gap while "
                        "the network still learns.",
        "my_dropout_rate", "a number from 0 to 1",
        hint="Move the lab's rate slider and read the gap in the status line. Too little "
             "dropout leaves the gap; too much leaves nothing to learn with.",
        solution="my_dropout_rate = 0.5\n",
        judge=_judge_dropout_rate),
    Exercise(
        "05.1", "implement", "Write batch normalization's training-mode normalization (before "
                             "gamma and beta).",
        "batchnorm_normalize", "a function batchnorm_normalize(x, eps=1e-5)",
        hint="Per feature (column), over the batch (axis=0): subtract the mean, divide by the "
             "square root of the variance plus eps.",
        solution="def batchnorm_normalize(x, eps=1e-5):\n"
                 "    mean, var = x.mean(axis=0), x.var(axis=0)\n"
                 "    return (x - mean) / (var + eps) ** 0.5\n",
        judge=_judge_batchnorm_normalize),
    Exercise(
        "05.2", "predict", "Inputs on very different scales: does adding batch normalization "
                           "(without standardizing the inputs) make the net train?",
        "batchnorm_rescues_raw_inputs", "True or False",
        hint="BatchNorm sits after each Dense layer. The gradient of a first-layer weight is "
             "(its input) x (the error at its unit): does BatchNorm change the inputs?",
        solution="batchnorm_rescues_raw_inputs = False\n",
        judge=_judge_raw_inputs_with_batchnorm),
    Exercise(
        "05.3", "predict", "In evaluation mode, is an example's BatchNorm output the same "
                           "whether it comes alone or in a batch?",
        "same_output_alone_and_in_batch", "True or False",
        hint="Training mode normalizes with the batch's mean and variance. Evaluation mode "
             "uses running_mean and running_var, kept during training.",
        solution="same_output_alone_and_in_batch = True\n",
        judge=_judge_eval_statistics),
]}


def get(exercise_id: str) -> Exercise:
    """The exercise called ``exercise_id``, such as ``"01.2"`` (lesson 01, exercise 2)."""
    if exercise_id not in EXERCISES:
        raise ValueError(f"There is no exercise {exercise_id!r}. The exercises are "
                         f"{', '.join(EXERCISES)}.")
    return EXERCISES[exercise_id]


def verdict(exercise_id: str, answer) -> Verdict:
    """Judge ``answer`` to exercise ``exercise_id``. Never raises for a bad answer."""
    exercise = get(exercise_id)
    if answer is None:
        return Verdict(NOT_ANSWERED, f"set `{exercise.answer}` to {exercise.expects}, then run "
                                     f"this cell again. Stuck? exercises.hint(\"{exercise.id}\")")
    try:
        return exercise.judge(answer)
    except NotImplementedError:
        return Verdict(NOT_IMPLEMENTED, f"`{exercise.answer}` still raises NotImplementedError. "
                                        f"{_STUB_NOTE}")
    except _Invalid as invalid:
        return _wrong(str(invalid))
    except Exception as error:       # the learner's code failed: say how, do not stop the lesson
        return _wrong(f"running your answer raised {type(error).__name__}: {error}")


def check(exercise_id: str, answer) -> None:
    """Print whether ``answer`` to exercise ``exercise_id`` is right, and why."""
    print(verdict(exercise_id, answer))


def hint(exercise_id: str) -> None:
    """Print a hint for exercise ``exercise_id``."""
    exercise = get(exercise_id)
    print(f"Hint for {exercise.id} ({exercise.task}):\n{exercise.hint}")


def solution(exercise_id: str) -> None:
    """Print a worked answer for exercise ``exercise_id``: code to paste into the answer cell."""
    exercise = get(exercise_id)
    print(f"A solution to {exercise.id}:\n\n{exercise.solution}")


def lesson(number: int) -> list[Exercise]:
    """The exercises of lesson ``number``, in order."""
    prefix = f"{number:02d}."
    return [exercise for exercise in EXERCISES.values() if exercise.id.startswith(prefix)]

"""Lesson 3's exercises (dead ReLU units): each judge, then the catalogue entries."""

from __future__ import annotations

import numpy as np

from .. import experiments, metrics, studies
from ..experiments import CASES
from ..engine.layers import ReLU
from ._common import Exercise, Verdict, _array, _choice, _right, _wrong

_SHARE_OPTIONS = ("none", "under half", "at least half")


def _judge_dead_share(answer) -> Verdict:
    prediction = _choice("dead_share_prediction", answer, _SHARE_OPTIONS)
    broken = CASES["dead_relu"].broken
    dead = metrics.dead_fraction(experiments.outcome(broken))
    truth = ("none" if dead == 0 else
             "at least half" if dead >= metrics.DEAD_FRACTION_THRESHOLD else "under half")
    if prediction == truth:
        return _right(f"{metrics.dead_fraction_text(experiments.outcome(broken))} at learning rate "
                      f"{broken.lr:g}: at or above the course's threshold of "
                      f"{metrics.DEAD_FRACTION_THRESHOLD:.0%}, the net's ReLUs are mostly dead. "
                      "One step of that size pushes a unit's bias and weights so far that its "
                      "pre-activation is negative for every example, and many units take such a "
                      "step in the same few batches.")
    return _wrong("read the dead fraction that the run above printed (the share of the 64 units "
                  "that output 0 for every example of the last epoch) and compare it with one "
                  "half. A step of size lr x gradient can move a unit's bias by more than the "
                  "spread of its pre-activations over the data.")


def _judge_relu_backward(relu_backward) -> Verdict:
    probe = _array("relu_backward(output, grad_out)",
                   relu_backward(np.array([[0.0, 2.0]]), np.array([[1.0, 3.0]])), (1, 2))
    if probe[0, 0] != 0.0:
        return _wrong(f"where the output is 0 the unit is off, and no gradient may pass: for "
                      f"output 0 and upstream gradient 1 the answer is 0, but yours returned "
                      f"{probe[0, 0]:g}.")
    if not np.isclose(probe[0, 1], 3.0):
        return _wrong(f"where the unit is on (output 2), its slope is 1, so the upstream gradient "
                      f"3 passes unchanged; yours returned {probe[0, 1]:g}.")
    rng = np.random.default_rng(3)
    layer = ReLU()
    output = layer.forward(rng.normal(size=(6, 5)))
    grad_out = rng.normal(size=(6, 5))
    expected = layer.backward(grad_out)
    got = _array("relu_backward(output, grad_out)", relu_backward(output.copy(), grad_out.copy()),
                 (6, 5))
    off = output == 0
    if np.any(got[off] != 0):
        return _wrong("on a random batch of shape (6, 5), some entries where the unit's output "
                      "is 0 got a gradient: every off entry must pass back exactly 0.")
    # float32 or float64 answers alike: the on entries agree to float32 rounding.
    if not np.allclose(got[~off], expected[~off], rtol=1e-6, atol=0):
        return _wrong("right at the probe points, but not on a random batch of shape (6, 5): "
                      "where the unit is on, each entry's upstream gradient must pass unchanged.")
    return _right("your backward pass matches nnlab's ReLU.backward. A unit whose output is 0 "
                  "for every example passes back exactly 0: nothing below it learns from it, "
                  "and its own weights get no gradient.")


_LAYER_OPTIONS = ("neither", "the first", "the second", "both")
# A two-hidden-layer version of the broken net (lr 2: lr 5 diverges with two layers), trained,
# then continued at the fixed run's learning rate. The seed is one where the run trains.
TWO_LAYERS = CASES["dead_relu"].broken.replace(hidden=(64, 64), lr=2.0, seed=2)
CONTINUE_LR = 0.5


def _revived_by_layer() -> tuple[str, np.ndarray, np.ndarray]:
    run = studies.continued(TWO_LAYERS, CONTINUE_LR)
    names = ("the first", "the second")
    came_back = [name for name, count in zip(names, run.revived) if count > 0]
    truth = ("neither" if not came_back else "both" if len(came_back) == 2 else came_back[0])
    return truth, run.revived, run.dead_before


def _judge_which_layer_revives(answer) -> Verdict:
    prediction = _choice("layer_that_can_revive", answer, _LAYER_OPTIONS)
    truth, revived, before = _revived_by_layer()
    measured = (f"the net with two hidden layers of 64 ({TWO_LAYERS.describe()}) ended with "
                f"{before[0]:.0%} of the first layer and {before[1]:.0%} of the second dead; after "
                f"30 more epochs at lr {CONTINUE_LR:g}, {revived[0]} first-layer and {revived[1]} "
                "second-layer units that were dead came back")
    if prediction == truth:
        return _right(f"{measured}. A first-layer unit sees the data, which never changes: once "
                      "its pre-activation is negative on every example, nothing moves its weights. "
                      "A second-layer unit sees the first layer's outputs, which keep changing as "
                      "the live first-layer units learn: its pre-activation can turn positive on "
                      "some example again, and from then on it gets gradient.")
    if prediction == "neither":
        return _wrong("a dead unit's own weights get no gradient, true; but ask what its "
                      "pre-activation w . x + b depends on besides its own weights. Does x stay "
                      "fixed for every layer?")
    if prediction == "both":
        return _wrong("for a unit to come back, its pre-activation w . x + b must turn positive "
                      "on some example. Its own w and b get no gradient: which layers' inputs x "
                      "can still change?")
    return _wrong("a dead unit's own weights get no gradient, so only a change in its input x "
                  "can bring it back. What is the input of each hidden layer, and which of those "
                  "inputs can change during training?")


EXERCISES = [
    Exercise(
        "03.1", "predict", "Before the run: what share of the 64 hidden units will be dead "
                           "after 30 epochs at learning rate 5?",
        "dead_share_prediction", " or ".join(f'"{o}"' for o in _SHARE_OPTIONS),
        hint="A dead unit outputs 0 for every example. How far can one step of size 5 x gradient "
             "move a bias, compared with the spread of a unit's pre-activation over standardized "
             "inputs (about 1)?",
        solution='dead_share_prediction = "at least half"\n',
        judge=_judge_dead_share),
    Exercise(
        "03.2", "implement", "Write ReLU's backward pass, given its output.",
        "relu_backward", "a function relu_backward(output, grad_out)",
        hint="relu(x) = max(x, 0) has slope 1 where it is positive and 0 where it is not. "
             "The output tells you which: output > 0.",
        solution="def relu_backward(output, grad_out):\n"
                 "    return grad_out * (output > 0)\n",
        judge=_judge_relu_backward),
    Exercise(
        "03.3", "predict", "A net with two hidden layers lost many units to a large step. "
                           "Trained on at a safe learning rate, which layer's dead units can "
                           "come back?",
        "layer_that_can_revive", " or ".join(f'"{o}"' for o in _LAYER_OPTIONS),
        hint="A dead unit's weights and bias get no gradient. Its pre-activation is w . x + b: "
             "what is x for a first-layer unit, and for a second-layer unit?",
        solution='layer_that_can_revive = "the second"\n',
        judge=_judge_which_layer_revives),
]

"""Lesson 2's exercises (exploding gradients): each judge, then the catalogue entries.

02.1 is the lesson's opening prediction (the error's growth per layer, from the weight std
and the fan-in); 02.2 builds gradient clipping; 02.3 derives the learning rate that brings
the update-to-data ratio to about 1e-3.
"""

from __future__ import annotations

import math

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES
from ._common import (IN_PREDICT_FIRST, Exercise, Verdict, _array, _number, _right, _wrong)


def predicted_factor(std: float, fan_in: int) -> float:
    """Variance propagation through a ReLU layer: the error's size is multiplied by
    sqrt(fan_in * std^2 / 2) (ReLU passes half of it back, on average)."""
    return math.sqrt(fan_in * std * std / 2)


def _judge_factor_prediction(answer) -> Verdict:
    guess = _number("growth_factor_prediction", answer, low=0.0, low_open=True, high=1e6)
    broken = CASES["exploding"].broken
    fan_in, std = broken.hidden[0], broken.init
    measured = metrics.error_factor_per_layer(experiments.outcome(broken))
    theory = predicted_factor(std, fan_in)
    if min(theory, measured) / 1.25 <= guess <= max(theory, measured) * 1.25:
        return _right(f"the run's error grows by x{measured:.2f} per hidden layer at the first "
                      f"step (the geometric mean over the layers); variance propagation says "
                      f"sqrt(n Var(W) / 2) = sqrt({fan_in} x {std:g}^2 / 2) = {theory:.2f}. Over "
                      f"the {broken.depth - 1} gaps between the hidden layers that compounds to "
                      f"x{measured ** (broken.depth - 1):.0f}.")
    if math.isclose(guess, theory ** 2, rel_tol=0.1):
        return _wrong("that is the factor for the error's variance, its size squared. The "
                      "question asks how its size (a norm) grows.")
    if math.isclose(guess, fan_in * std, rel_tol=0.1) or math.isclose(guess, std, rel_tol=0.1):
        return _wrong(f"random weights do not add up like {fan_in} equal steps: the sum of n "
                      "independent terms grows like sqrt(n). Use Var(z) = n Var(W) Var(x).")
    if math.isclose(guess, math.sqrt(fan_in) * std, rel_tol=0.1):
        return _wrong("almost: that would hold for an activation that passes everything back. "
                      "What share of the error does a ReLU pass back, on average?")
    side = "larger" if guess > theory else "smaller"
    return _wrong(f"{guess:g} is {side} than the run's factor. Each layer multiplies the error "
                  "by its weights (transposed) and the ReLU's slopes: use Var(z) = n Var(W) "
                  "Var(x), and what ReLU does to half of the units.")


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
                      f"should have global norm 1 and keep their direction, but yours have "
                      f"global norm {norm:.3g}.")
    small = clip_by_global_norm([g.copy() for g in grads], 10.0)
    if not isinstance(small, (list, tuple)) or len(small) != len(grads):
        count = len(small) if isinstance(small, (list, tuple)) else type(small).__name__
        return _wrong(f"with max_norm 10 the global norm 5 is already small enough: all "
                      f"{len(grads)} gradients should come back unchanged, but yours returned "
                      f"{count}{' arrays' if isinstance(count, int) else ''}.")
    unchanged = [np.shape(s) == g.shape and np.allclose(np.asarray(s, dtype=float), g)
                 for s, g in zip(small, grads)]
    if not all(unchanged):
        return _wrong("with max_norm 10 the global norm 5 is already small enough: the "
                      "gradients should come back unchanged.")
    return _right("the gradients are scaled together, so the step keeps its direction and "
                  "its length is at most lr * max_norm.")


UPDATE_RATIO_CASE = "fixed"        # the batch-norm net: it trains, so its steps can be tuned


def first_update_ratio(lr: float) -> float:
    """The first Dense layer's update-to-data ratio at step 0 of the lesson's batch-norm net
    trained at ``lr`` (one epoch)."""
    config = CASES["exploding"].configs[UPDATE_RATIO_CASE].replace(lr=lr, epochs=1)
    return float(experiments.outcome(config).history.update_ratios[0, 0])


def _judge_update_lr(answer) -> Verdict:
    lr = _number("lr_for_update_ratio", answer, low=1e-8, high=10.0)
    target = metrics.UPDATE_RATIO_TARGET
    ratio = first_update_ratio(lr)
    if target / 2 <= ratio <= target * 2:
        return _right(f"at lr {lr:.2g} the first layer's first step moves it by {ratio:.1e} of "
                      f"its size. The step is lr x gradient: at the first step the ratio is "
                      "proportional to the learning rate, so one measurement tells you the rate "
                      "for any target.")
    side = "above" if ratio > target else "below"
    return _wrong(f"at lr {lr:.2g} the first layer's step is {ratio:.1e} of its size, {side} "
                  f"{target:g}. How does the step's size depend on the learning rate, and what "
                  "did it measure at the lesson's rate?")


EXERCISES = [
    Exercise(
        "02.1", "predict", "Predict the factor by which the error grows per hidden layer in the "
                           "broken net (weight std 0.8, 32 inputs per layer, ReLU).",
        "growth_factor_prediction", "a positive number, the factor per layer",
        hint="Lesson 1: Var(z) = n Var(W) Var(x) for a sum of n terms; a ReLU passes on half of "
             "that variance (its slope is 0 for half of the units). The backward pass through "
             "W transposed works the same way. The size of the error is the square root of its "
             "variance.",
        solution="growth_factor_prediction = (32 * 0.8 ** 2 / 2) ** 0.5\n",
        judge=_judge_factor_prediction, answer_cell=IN_PREDICT_FIRST),
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
        "02.3", "derive", "Which learning rate makes the batch-norm net's first step move its "
                          "first layer by about 1e-3 of its size?",
        "lr_for_update_ratio", "a positive number, a learning rate",
        hint="The update is lr x gradient, and at the first step the gradient does not depend "
             "on the learning rate. \"What you saw\" prints the ratio at lr 0.1.",
        solution="import nnlab\n"
                 "from nnlab import experiments\n"
                 "case = experiments.CASES['exploding']\n"
                 "measured = experiments.outcome(case.fixed).history.update_ratios[0, 0]\n"
                 "lr_for_update_ratio = case.fixed.lr * 1e-3 / measured\n",
        judge=_judge_update_lr),
]

"""Lesson 2's exercises (exploding gradients): each judge, then the catalogue entries."""

from __future__ import annotations

import math

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES
from ._common import Exercise, Verdict, _array, _boolean, _number, _right, _wrong


def _judge_init_std(answer) -> Verdict:
    std = _number("init_std", answer, low=1e-6, high=10.0)
    broken = CASES["exploding"].broken
    result = experiments.outcome(broken.replace(init=std))
    growth = metrics.error_growth_text(result)
    if result.history.diverged:
        return _wrong(f"with init std {std:g}: {growth}, and the run diverged at step "
                      f"{result.history.diverged_at}. Smaller weights, smaller factors.")
    accuracy = metrics.training_accuracy_after(result)
    reached = f"{metrics.NAMES['training_accuracy_after']} {accuracy:.2f}"
    if not metrics.error_growth(result) < 10:
        return _wrong(f"with init std {std:g} the run does not diverge ({reached}), but the "
                      f"{growth}; the target is less than x10.")
    if accuracy < 0.9:
        shrinks = metrics.error_growth(result) < 1
        why = (" With weights this small the error shrinks at every layer instead: the first "
               "layers get almost no gradient." if shrinks else "")
        return _wrong(f"with init std {std:g}: {growth} and nothing diverges, but {reached} "
                      f"after {broken.epochs} epochs; the target is 0.9.{why}")
    he = math.sqrt(2 / broken.hidden[0])
    return _right(f"init std {std:g}: {growth}, and {reached}. He initialisation would choose "
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
    without = metrics.error_growth(experiments.outcome(case.broken))
    with_clipping = metrics.error_growth(experiments.outcome(case.configs["clipping"]))
    changes = not math.isclose(without, with_clipping, rel_tol=1e-9)
    measured = (f"the {metrics.NAMES['error_growth']} is x{without:.3g} without clipping, "
                f"and x{with_clipping:.3g} with it")
    if prediction == changes:
        return _right(f"{measured}. Clipping multiplies every gradient by the same factor, so the "
                      "ratios between layers stay: it limits how far one step goes, not how the "
                      "error grows. Batch normalization is the remedy that changes the growth.")
    return _wrong(f"{measured}. Clipping scales all the gradients by one common factor: what does "
                  "that do to the ratio of two of them?")


EXERCISES = [
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
]

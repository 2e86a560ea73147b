"""Lesson 1's exercises (vanishing gradients): each judge, then the catalogue entries.

01.1 is the lesson's opening prediction (the first/last gradient ratio of the deep sigmoid
net); 01.2 derives an initialisation from variance propagation; 01.3 fixes the deep net.
"""

from __future__ import annotations

import math

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES, Experiment
from ._common import (IN_PREDICT_FIRST, Exercise, Verdict, _Invalid, _number, _right, _wrong)


def _judge_ratio_prediction(answer) -> Verdict:
    guess = _number("gradient_ratio_prediction", answer, low=0.0, low_open=True, high=1e6)
    result = experiments.outcome(CASES["vanishing"].broken)
    ratio = metrics.gradient_ratio(result)
    off = math.log10(guess / ratio)
    if abs(off) <= 1:
        return _right(f"the run's {metrics.NAMES['gradient_ratio']} is {ratio:.1e}, within a "
                      f"factor of ten of your {guess:.1e}. Six layers, each multiplying the "
                      "error by a sigmoid slope of at most 1/4 (and by its weights).")
    if off > 0:
        return _wrong(f"the run's ratio is more than ten times smaller than your {guess:.1e}. "
                      "Count the layers between the first and the output, and the largest "
                      "factor each can multiply the error by on its way down.")
    return _wrong(f"the run's ratio is more than ten times larger than your {guess:.1e}. Each "
                  "layer multiplies the error by a slope of at most 1/4: how small can six of "
                  "them make it, and do the weights shrink it further?")


TANH_FAN_IN, TANH_FAN_OUT = 64, 16


def tanh_variance_kept(std: float, layers: int = 10, input_std: float = 0.1,
                       seed: int = 0) -> float:
    """The variance of the pre-activations at the last of ``layers`` tanh layers of width
    ``TANH_FAN_IN`` with weights of standard deviation ``std``, over their variance at the
    first layer (1.0: kept). Inputs of std ``input_std`` (small: tanh's linear regime),
    1000 examples."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, input_std, size=(1000, TANH_FAN_IN))
    first = None
    for _ in range(layers):
        z = x @ rng.normal(0.0, std, (TANH_FAN_IN, TANH_FAN_IN))
        first = z.var() if first is None else first
        x = np.tanh(z)
    return float(z.var() / first)


def _judge_tanh_std(answer) -> Verdict:
    std = _number("tanh_init_std", answer, low=0.0, low_open=True, high=1e3)
    right = 1 / math.sqrt(TANH_FAN_IN)
    if math.isclose(std, right, rel_tol=0.05):
        kept = tanh_variance_kept(std)
        return _right(f"Var(z) = n Var(W) Var(x) with n = {TANH_FAN_IN} keeps the variance when "
                      f"Var(W) = 1/{TANH_FAN_IN}, std {right:.3f} (LeCun's init). Measured through "
                      f"10 tanh layers (small inputs) it keeps {kept:.2f} of it. With inputs of "
                      f"std 1, tanh's flat ends squeeze some of the spread away (10 layers keep "
                      f"{tanh_variance_kept(std, input_std=1.0):.2f}): the derivation holds "
                      "where tanh(z) is about z.")
    if math.isclose(std, math.sqrt(2 / TANH_FAN_IN), rel_tol=0.05):
        return _wrong("that std has He's factor 2, which makes up for ReLU zeroing half of its "
                      "inputs. Does tanh near 0 zero anything?")
    if math.isclose(std, math.sqrt(2 / (TANH_FAN_IN + TANH_FAN_OUT)), rel_tol=0.05):
        return _wrong("that is Glorot's compromise between the forward and the backward pass. "
                      "The question is about the forward pass only: which of the two widths "
                      "does each pre-activation sum over?")
    if math.isclose(std, right ** 2, rel_tol=0.05):
        return _wrong("that number is a variance; the question asks for a standard deviation.")
    side = "shrink" if std < right else "grow"
    return _wrong(f"with std {std:g} the variance would {side} layer after layer "
                  f"(n Var(W) = {TANH_FAN_IN * std * std:.3g}, not 1). Which Var(W) makes "
                  "n Var(W) = 1, near 0 where tanh(z) is about z?")


def _same_network_size(answer: Experiment, broken: Experiment) -> str | None:
    """What is wrong with the answer's hidden layers, or None if they are the broken net's."""
    hidden = list(answer.hidden)
    depth, width = broken.depth, broken.hidden[0]
    keep = f"keep all {depth} hidden layers of {width} units"
    if len(hidden) < depth:
        return (f"your network has {len(hidden)} hidden layers; {keep}: a shallower net hides "
                "the problem instead of fixing it.")
    if len(hidden) > depth:
        return (f"your network has {len(hidden)} hidden layers; {keep}: the task is to fix "
                "this depth, not a deeper one.")
    if hidden != list(broken.hidden):
        return (f"your {depth} hidden layers have widths {hidden}; {keep}: the fix is in how "
                "the gradient scales from layer to layer, not in the layers' size.")
    return None


def _judge_vanishing_fix(answer) -> Verdict:
    broken = CASES["vanishing"].broken
    if not isinstance(answer, Experiment):
        raise _Invalid("`my_fixed_config` should be an Experiment, such as "
                       "case.broken.replace(activation=...), but it is "
                       f"{type(answer).__name__}.")
    problem = _same_network_size(answer, broken)
    if problem:
        return _wrong(problem)
    answer = answer.replace(hidden=tuple(answer.hidden))     # a list is fine, and equivalent
    if (answer.dataset, answer.n, answer.noise) != (broken.dataset, broken.n, broken.noise):
        return _wrong("keep the data set as it is: the task is to fix the network.")
    result = experiments.outcome(answer)
    if result.history.diverged:
        return _wrong(f"the run diverged at step {result.history.diverged_at}: "
                      f"{result.history.message}")
    ratio = metrics.gradient_ratio(result)
    if not 0.1 <= ratio <= 10:
        if not 0 < ratio < float("inf"):
            return _wrong(f"{metrics.gradient_ratio_text(result)}.")
        side = (f"still {1 / ratio:.3g} times smaller than" if ratio < 1
                else f"{ratio:.3g} times larger than")
        return _wrong(f"the {metrics.NAMES['gradient_ratio']} is {ratio:.1e}: the first layer's "
                      f"gradient is {side} the last one's. What multiplies the gradient at "
                      "every layer?")
    accuracy = metrics.training_accuracy_after(result)
    if accuracy < 0.9:
        return _wrong(f"the gradients are balanced (ratio {ratio:.1e}), but the "
                      f"{metrics.NAMES['training_accuracy_after']} is only {accuracy:.2f} after "
                      f"{answer.epochs} epochs; the target is 0.9.")
    return _right(f"{metrics.NAMES['gradient_ratio']} {ratio:.1e} and "
                  f"{metrics.NAMES['training_accuracy_after']} {accuracy:.2f}, with "
                  f"{answer.depth} hidden layers ({answer.describe()}).")


EXERCISES = [
    Exercise(
        "01.1", "predict", "Predict the first/last gradient ratio of the 6-layer sigmoid net at "
                           "its first step.",
        "gradient_ratio_prediction", "a positive number, such as 0.5 or 1e-3",
        hint="Backprop multiplies the error, at every layer on its way down, by that layer's "
             "weights (transposed) and by the sigmoid's slope, which is at most 1/4. Six hidden "
             "layers lie between the output and the first layer.",
        solution="gradient_ratio_prediction = 0.25 ** 6   # the slopes' bound; the run is lower\n",
        judge=_judge_ratio_prediction, answer_cell=IN_PREDICT_FIRST),
    Exercise(
        "01.2", "derive", f"The weight std that keeps the forward variance through a tanh layer "
                          f"with {TANH_FAN_IN} inputs and {TANH_FAN_OUT} outputs.",
        "tanh_init_std", "a positive number, the standard deviation of the weights",
        hint="Var(z) = n Var(W) Var(x), where n is the number of terms each pre-activation "
             "sums. Near 0, tanh(z) is about z, so the activation keeps the variance it gets.",
        solution=f"tanh_init_std = 1 / {TANH_FAN_IN} ** 0.5\n",
        judge=_judge_tanh_std),
    Exercise(
        "01.3", "knob", "Change the broken configuration so the first/last gradient ratio is "
                        "between 0.1 and 10, keeping all 6 hidden layers.",
        "my_fixed_config", "an Experiment, such as case.broken.replace(...)",
        hint="Two settings decide how the gradient scales from layer to layer: the activation's "
             "slope and the size of the initial weights. Try the lab's dropdowns first.",
        solution='from nnlab import experiments\n'
                 'case = experiments.CASES["vanishing"]\n'
                 'my_fixed_config = case.broken.replace(activation="relu", init="he")\n',
        judge=_judge_vanishing_fix),
]

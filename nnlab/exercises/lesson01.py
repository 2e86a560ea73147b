"""Lesson 1's exercises (vanishing gradients): each judge, then the catalogue entries."""

from __future__ import annotations

from .. import experiments, metrics
from ..experiments import CASES, Experiment
from ._common import Exercise, Verdict, _Invalid, _choice, _right, _wrong


def _judge_shallow_sigmoid(answer) -> Verdict:
    prediction = _choice("shallow_net_prediction", answer, ("larger", "smaller"))
    deep_config = CASES["vanishing"].broken
    shallow_config = deep_config.replace(hidden=deep_config.hidden[:2])
    deep = metrics.gradient_ratio(experiments.outcome(deep_config))
    shallow = metrics.gradient_ratio(experiments.outcome(shallow_config))
    truth = "larger" if shallow > deep else "smaller"
    measured = (f"{metrics.NAMES['gradient_ratio']} with 2 hidden layers {shallow:.1e}, "
                f"with {deep_config.depth} hidden layers {deep:.1e}")
    if prediction == truth:
        return _right(f"{measured}. Fewer layers, fewer factors in the product: each sigmoid slope "
                      "is at most 0.25, so every layer removed shrinks the gradient less.")
    return _wrong(f"{measured}. Count the factors: the gradient reaching the first layer has been "
                  "multiplied by one sigmoid slope (at most 0.25) per layer above it.")


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
]

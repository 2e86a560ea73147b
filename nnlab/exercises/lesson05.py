"""Lesson 5's exercises (batch normalization): each judge, then the catalogue entries."""

from __future__ import annotations

import copy
import math

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES
from ..engine.layers import BatchNorm
from ._common import Exercise, Verdict, _array, _boolean, _right, _wrong


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
    after = metrics.training_accuracy_after
    rescues = after(with_bn) >= target
    measured = (f"{metrics.NAMES['training_accuracy_after']}: raw inputs {after(raw):.2f}, raw "
                f"inputs with batch normalization {after(with_bn):.2f}, standardized inputs "
                f"{after(standardized):.2f} (the target was {target:.2f})")
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


EXERCISES = [
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
]

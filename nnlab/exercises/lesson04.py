"""Lesson 4's exercises (dropout): each judge, then the catalogue entries."""

from __future__ import annotations

import math

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES
from ..engine.layers import Dropout
from ._common import Exercise, Verdict, _array, _choice, _number, _right, _wrong


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
    problem = _mask_randomness(dropout_forward)
    if problem:
        return _wrong(problem)
    return _right("about rate of the units are 0, the rest are scaled by 1 / (1 - rate), so the "
                  "output's expected value equals the input, and each call draws a new mask "
                  "from the generator it is given.")


def _mask_randomness(dropout_forward) -> str | None:
    """What is wrong with where the mask comes from, or None: it must be drawn from ``rng``.

    Drawn from the given generator means: generators seeded alike give the same
    mask, generators seeded differently give different ones, and two calls with
    one generator give two different masks (a new mask every step).
    """
    x = np.ones((40, 50))

    def mask(rng):
        out = _array("dropout_forward(x, rate=0.5, rng)", dropout_forward(x.copy(), 0.5, rng),
                     x.shape)
        return out != 0.0

    if not np.array_equal(mask(np.random.default_rng(7)), mask(np.random.default_rng(7))):
        return ("two generators made with the same seed gave different masks, so your mask is "
                "not drawn from `rng`: use rng.random(x.shape), not np.random or a generator of "
                "your own, so that a seed makes a run repeatable.")
    if np.array_equal(mask(np.random.default_rng(7)), mask(np.random.default_rng(8))):
        return ("generators with different seeds gave the same mask: your mask does not depend "
                "on `rng` (a fixed pattern, or a generator of your own). Draw it with "
                "rng.random(x.shape).")
    rng = np.random.default_rng(9)
    if np.array_equal(mask(rng), mask(rng)):
        return ("two calls with the same generator gave the same mask: draw a new mask on every "
                "call, so each step drops different units.")
    return None


def _judge_dropout_rate(answer) -> Verdict:
    rate = _number("my_dropout_rate", answer, low=0.0, high=1.0)
    case = CASES["dropout"]
    none = experiments.outcome(case.broken)
    result = experiments.outcome(case.broken.replace(dropout=rate))
    history = result.history
    chance_loss = math.log(history.n_classes)
    if history.diverged:
        return _wrong(f"at rate {rate:g} the run diverged at step {history.diverged_at}.")
    gap, gap_none = metrics.generalization_gap(result), metrics.generalization_gap(none)
    learned = history.loss[-1] <= chance_loss - 0.1
    if not learned:
        return _wrong(f"at rate {rate:g} the final training loss is {history.loss[-1]:.3f}, "
                      f"hardly below ln {history.n_classes} = {chance_loss:.3f}, what guessing "
                      "gives: the network barely learns.")
    if not gap <= gap_none / 2:
        return _wrong(f"at rate {rate:g}: {metrics.gap_text(result)}; without dropout it is "
                      f"{gap_none:+.2f}, and the target is at most half of that, "
                      f"{gap_none / 2:+.2f}.")
    return _right(f"at rate {rate:g}: {metrics.gap_text(result)} (without dropout "
                  f"{gap_none:+.2f}), and the final training loss {history.loss[-1]:.3f} is well "
                  f"below ln {history.n_classes} = {chance_loss:.3f}.")


EXERCISES = [
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
]

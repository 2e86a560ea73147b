"""Lesson 4's exercises (dropout): each judge, then the catalogue entries."""

from __future__ import annotations

import numpy as np

from .. import experiments, studies
from ..experiments import CASES
from ._common import Exercise, Verdict, _Invalid, _array, _number, _right, _wrong


def _judge_ceiling(answer) -> Verdict:
    try:
        guess = _number("validation_ceiling", answer, low=0.0, high=1.0)
    except _Invalid:
        if isinstance(answer, (int, float, np.number)) and 1 < answer <= 100:
            raise _Invalid(f"`validation_ceiling` is a share between 0 and 1 (a share like 45% "
                           f"is written 0.45), but it is {answer!r}.") from None
        raise
    config = CASES["dropout"].broken
    ceiling = studies.label_ceiling(config)
    noise = config.label_noise
    if abs(guess - ceiling) <= 0.05:
        return _right(f"a classifier that knew every validation example's true class would score "
                      f"{ceiling:.3f} on these labels: {noise:.0%} of them were flipped, and there "
                      "it is marked wrong. Validation accuracy near the ceiling is as good as "
                      "it gets; anything above it is luck on a few examples.")
    if guess > ceiling:
        return _wrong("the validation labels are flipped too. A network that predicts every "
                      "example's true class is marked wrong wherever the label was flipped: "
                      "what share of the validation labels is that?")
    if abs(guess - noise) <= 0.05:
        return _wrong(f"{noise:.0%} is the share of labels flipped, the examples where the true "
                      "class is marked wrong. What share does a classifier that always predicts "
                      "the true class get right?")
    if abs(guess - 0.5) <= 0.05:
        return _wrong("0.5 is what guessing scores on two balanced classes. A classifier that "
                      "knows the true class is right on every example whose label was not "
                      "flipped.")
    return _wrong("too low: a classifier that knows the true class is right on every example "
                  "whose label was not flipped. What share of the labels is that?")


def _judge_dropout_forward(dropout_forward) -> Verdict:
    # Where the mask comes from first: a mask not drawn per entry from `rng` also gets the
    # share dropped wrong, and that reason would miss the point.
    problem = _mask_randomness(dropout_forward) or _mask_shape_problem(dropout_forward)
    if problem:
        return _wrong(problem)
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
    return _right("about rate of the units are 0, the rest are scaled by 1 / (1 - rate), so the "
                  "output's expected value equals the input, and each call draws a new mask "
                  "from the generator it is given.")


def _mask_shape_problem(dropout_forward) -> str | None:
    """What is wrong with how the mask is drawn across a batch, or None.

    Each entry is dropped on its own, with probability ``rate`` (a Bernoulli draw): so the
    number dropped varies from row (example) to row, the rows get different masks, and
    within a row some units are dropped and others kept.
    """
    x = np.ones((400, 50))
    out = _array("dropout_forward(x, rate=0.5, rng)",
                 dropout_forward(x.copy(), 0.5, np.random.default_rng(1)), x.shape)
    dropped = (out == 0.0)
    per_row = dropped.sum(axis=1)
    if np.all(dropped.all(axis=1) | ~dropped.any(axis=1)):
        return ("each of your rows is dropped whole or kept whole: dropout drops units, each "
                "entry on its own, not whole examples. Draw one number per entry of x.")
    if np.all(dropped == dropped[0]):
        return ("every row (example) got the same mask: dropout draws a new mask for every "
                "example, so each example trains a different thinned network.")
    if per_row.std() < 1.0:
        return (f"every row drops exactly {int(np.median(per_row))} of its 50 units. Dropout "
                "drops each unit with probability rate, on its own, so the count dropped varies "
                "from row to row (a binomial count: 25 on average, often 21 or 29 at rate 0.5). "
                "Draw one random number per entry and compare it with rate.")
    return None


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


# A run of the lesson's network the lesson never shows (another seed draws other data,
# other weights, other label flips).
UNSEEN = CASES["dropout"].broken.replace(seed=7)


def _judge_early_stop_epoch(answer) -> Verdict:
    epoch = _number("early_stop_epoch", answer, low=1, high=UNSEEN.epochs, integer=True)
    result = experiments.outcome(UNSEEN)
    history = result.history
    stop = studies.early_stop(result)
    if epoch == stop.epoch:
        return _right(f"after epoch {stop.epoch} the validation loss is lowest, "
                      f"{stop.val_loss:.3f} (validation accuracy {stop.val_accuracy:.3f}); by "
                      f"epoch {len(history.val_loss)} it has risen to {stop.final_val_loss:.2f} "
                      "while the training loss kept falling: from that epoch on, the network "
                      "memorised its training labels, wrong ones included.")
    if epoch == stop.epoch - 1:
        return _wrong("one off: History.val_loss[0] is the loss after epoch 1, so the epoch is "
                      "the index plus one.")
    if epoch == int(np.argmax(history.val_accuracy)) + 1:
        return _wrong("that is the epoch of the highest validation accuracy. Early stopping here "
                      "watches the validation loss, which also sees how confident each "
                      "prediction is and does not jump with a few examples.")
    if epoch in (int(np.argmin(history.loss)) + 1, len(history.loss)):
        return _wrong("the training loss keeps falling to the end as the network memorises its "
                      "training set; early stopping reads the held-out data.")
    return _wrong(f"after epoch {epoch} the validation loss is {history.val_loss[epoch - 1]:.3f}; "
                  "early stopping keeps the epoch where it is lowest.")


EXERCISES = [
    Exercise(
        "04.1", "predict", "Before the run: 30% of the validation labels are flipped too. What "
                           "is the highest validation accuracy a network can be expected to reach?",
        "validation_ceiling", "a number from 0 to 1",
        hint="Picture a classifier that predicts every validation example's true class. Where is "
             "it marked wrong?",
        solution="validation_ceiling = 0.7\n",
        judge=_judge_ceiling),
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
        "04.3", "diagnose", "Read a run you have not seen: after which epoch would early "
                            "stopping keep the network?",
        "early_stop_epoch", "a whole number (an epoch, counting from 1)",
        hint="Early stopping keeps the weights from the epoch whose validation loss "
             "(History.val_loss) is lowest. np.argmin gives an index; epochs count from 1.",
        solution="import numpy as np\n"
                 "from nnlab import experiments\n"
                 "unseen = experiments.outcome(experiments.CASES[\"dropout\"].broken.replace(seed=7))\n"
                 "early_stop_epoch = int(np.argmin(unseen.history.val_loss)) + 1\n",
        judge=_judge_early_stop_epoch),
]

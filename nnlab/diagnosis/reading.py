"""Reading a History: the numbers the judges compare with their thresholds.

Every function here tolerates a malformed History (it returns an empty array
or NaN), because ``diagnose`` is called on whatever a learner's run produced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..engine.training import History
from .rules import MIN_BATCH_FOR_DEAD, MIN_DENSE_LAYERS, NOT_LEARNING_ACCURACY, NOT_LEARNING_LOSS


def rows(history: History, name: str) -> np.ndarray:
    """A per-step statistic as a float (steps, layers) array; empty if it is malformed."""
    try:
        values = np.asarray(getattr(history, name), dtype=float)
    except (TypeError, ValueError, AttributeError):
        return np.zeros((0, 0))
    return values if values.ndim == 2 else np.zeros((0, 0))


def floats(values) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.zeros(0)


def window(history: History, n_epochs: int = 3) -> int:
    """How many final epochs to average over: up to ``n_epochs``, fewer for short runs."""
    return max(1, min(n_epochs, len(history.loss) // 3))


def steps_per_epoch(history: History) -> int:
    return max(int(history.steps_per_epoch or 0), 1)


def step_of_row(history: History, row: int) -> int:
    """The step a per-layer telemetry row was measured at (long runs keep every k-th step)."""
    kept = getattr(history, "telemetry_steps", np.zeros(0))
    return int(kept[row]) if 0 <= row < np.shape(kept)[0] else int(row)


def rows_in_first_epoch(history: History) -> int:
    """How many per-layer telemetry rows were measured in the first epoch (at least 1)."""
    kept = floats(getattr(history, "telemetry_steps", np.zeros(0)))
    if kept.size == 0:
        return steps_per_epoch(history)
    return max(int(np.count_nonzero(kept < steps_per_epoch(history))), 1)


def rows_text(history: History, counted: int) -> str:
    """``"17 steps"``, or, for a run that kept every k-th step, ``"17 of its 1,040 steps
    (every 61st was kept)"``."""
    kept = floats(getattr(history, "telemetry_steps", np.zeros(0)))
    if kept.size < 2 or kept.size >= history.steps:
        return f"{counted} steps"
    return (f"{counted} recorded steps (the run kept every {int(kept[1] - kept[0])}th of its "
            f"{history.steps:,} steps)")


def name(names, index: int, kind: str) -> str:
    return names[index] if index < len(names) else f"{kind}{index + 1}"


def has_telemetry(history: History) -> bool:
    """True when the per-layer rows were recorded (``train(..., telemetry=True)``)."""
    return rows(history, "grad_norms").shape[0] > 0


# ---------------------------------------------------------------------------
# Chance: what a network that ignores its inputs gets
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Chance:
    """The loss and accuracy of ignoring the inputs, and how they were worked out.

    For classification, the best such network predicts the training labels'
    class frequencies p: its cross-entropy is their entropy -sum p ln p, and its
    accuracy the majority class's share max p. For a regression it predicts the
    targets' mean: its squared error is their variance (accuracy is NaN).
    """

    loss: float
    accuracy: float
    what: str      # in words, e.g. "the class frequencies (entropy of 95% / 5%)"


def chance(history: History) -> Chance:
    run = getattr(history, "run", None)
    if run is not None and run.classification and sum(run.class_counts) > 0:
        counts = np.asarray(run.class_counts, dtype=float)
        shares = counts[counts > 0] / counts.sum()
        entropy = float(-(shares * np.log(shares)).sum())
        split = " / ".join(f"{share:.0%}" for share in counts / counts.sum())
        return Chance(entropy, float(shares.max()), f"class frequencies ({split})")
    if run is not None and not run.classification and run.target_variance is not None:
        return Chance(float(run.target_variance), float("nan"), "targets' mean")
    if history.n_classes and history.n_classes >= 2 and history.accuracy:
        return Chance(math.log(history.n_classes), 1.0 / history.n_classes,
                      f"uniform guess over {history.n_classes} classes")
    for values in (history.step_loss, history.loss):
        losses = floats(values)
        losses = losses[np.isfinite(losses)]
        if losses.size:
            return Chance(float(losses[0]), float("nan"), "first step's loss")
    return Chance(float("nan"), float("nan"), "nothing recorded")


def final_loss(history: History) -> float:
    """The training loss at the end: the mean over the last epochs (or the last quarter of steps).

    The last epoch alone, where it is lower: a curve still falling steeply is
    judged by where it got to, not by the average of its way there.
    """
    losses = floats(history.loss)
    if losses.size >= 3:
        return float(min(losses[-window(history):].mean(), losses[-1]))
    steps = floats(history.step_loss)
    steps = steps[np.isfinite(steps)]
    if steps.size:
        return float(steps[-max(1, steps.size // 4):].mean())
    return float(losses[-1]) if losses.size else float("nan")


def final_accuracy(history: History) -> float:
    accuracy = floats(history.accuracy)
    return float(accuracy[-window(history):].mean()) if accuracy.size else float("nan")


def loss_level(history: History) -> float:
    """The final training loss as a fraction of chance (NaN if either is unknown)."""
    final, guess = final_loss(history), chance(history)
    if not (np.isfinite(final) and np.isfinite(guess.loss) and guess.loss > 0):
        return float("nan")
    return final / guess.loss


def at_chance(history: History) -> bool:
    """True when the run ends near chance: the not-learning rule, without its step count.

    The final training loss is at least ``NOT_LEARNING_LOSS`` of chance, and
    (for classification) the training accuracy has not got
    ``NOT_LEARNING_ACCURACY`` of the way from the majority class's share to 1.
    """
    level, guess = loss_level(history), chance(history)
    if not level >= NOT_LEARNING_LOSS:
        return False
    accuracy = final_accuracy(history)
    if np.isfinite(accuracy) and np.isfinite(guess.accuracy) and guess.accuracy < 1:
        return (accuracy - guess.accuracy) / (1.0 - guess.accuracy) < NOT_LEARNING_ACCURACY
    return True


# ---------------------------------------------------------------------------
# Error signal and dead units
# ---------------------------------------------------------------------------

def error_ratios(history: History) -> np.ndarray:
    """Per step: the error growth across the hidden layers, :func:`nnlab.metrics.error_growth`.

    The first hidden layer's error signal ||dL/db|| over the last hidden
    layer's (NaN where the last is 0), the one definition the labs and lessons
    also show. Empty for nets with fewer than ``MIN_DENSE_LAYERS`` Dense layers,
    where the first and last hidden layers are too close to compare.
    """
    if rows(history, "bias_grad_norms").shape[1] < MIN_DENSE_LAYERS:
        return np.zeros(0)
    return metrics.error_growth_per_step(history)


def geometric_median(values: np.ndarray) -> float:
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.median(np.log(values)))) if values.size else float("nan")


@dataclass(frozen=True)
class DeadReading:
    """Per ReLU-family layer, the dead fraction the judge reads, with where it comes from."""

    fractions: np.ndarray      # (ReLU layers,)
    per_step: np.ndarray       # (rows, ReLU layers): the series to find when it started
    source: str                # in words
    rows_per_epoch: int        # how many rows of per_step make one epoch


def dead_reading(history: History, whole_set=None) -> DeadReading | None:
    """The dead fraction of each ReLU layer at the end of the run, or None if it cannot be read.

    Preferred: dead on the whole training set after training (``whole_set``,
    from the model); then over the last epoch (a unit that output 0 for every
    example seen in the epoch: ``history.epoch_dead_fraction``); then, for
    batches of at least ``MIN_BATCH_FOR_DEAD``, per batch over the last epoch.
    """
    per_batch = rows(history, "dead_fraction")
    per_batch = np.where(np.isfinite(per_batch), per_batch, 0.0)
    epochs = rows(history, "epoch_dead_fraction")
    if whole_set is not None and per_batch.shape[1] == len(whole_set) and len(whole_set):
        series = epochs if epochs.shape[0] else per_batch
        fractions = np.nan_to_num(np.asarray(whole_set, dtype=float))
        return DeadReading(fractions, series, "of the whole training set, after training",
                           1 if epochs.shape[0] else steps_per_epoch(history))
    if epochs.shape[0] and epochs.shape[1]:
        epochs = np.where(np.isfinite(epochs), epochs, 0.0)
        return DeadReading(epochs[-1], epochs, "seen in the last epoch", 1)
    run = getattr(history, "run", None)
    batch = run.batch_size if run is not None else MIN_BATCH_FOR_DEAD
    if per_batch.shape[0] == 0 or per_batch.shape[1] == 0 or batch < MIN_BATCH_FOR_DEAD:
        return None
    spe = steps_per_epoch(history)
    return DeadReading(per_batch[-spe:].mean(axis=0), per_batch,
                       "of a batch, averaged over the last epoch's batches", spe)

"""The numbers a learner reads, each defined once.

Every quantity the course shows in words (a lab's status line, a lesson's
printed cell, an exercise's feedback, ``diagnose``'s evidence, a plot's title)
is computed by one function here, and its docstring says exactly what it
measures. Where a number can be missing (no gradient reached a layer, the run
diverged, there is no validation set), the function returns ``nan`` (or
``inf``, or None) and its ``*_text`` companion says why, in words.

This is the course layer: the engine (``nnlab/engine``) never imports it.

=====================================  =========================================================
quantity                                function
=====================================  =========================================================
error growth across the hidden layers   :func:`error_growth` (one step), :func:`error_growth_per_step`
first/last gradient ratio               :func:`gradient_ratio`
training accuracy during training       :func:`training_accuracy_during`
training accuracy after training        :func:`training_accuracy_after`
validation accuracy                     :func:`validation_accuracy`
generalization gap                      :func:`generalization_gap`
dead fraction                           :func:`dead_fraction`, :func:`dead_fraction_per_epoch`
epochs to a target accuracy             :func:`epochs_to_accuracy`
=====================================  =========================================================
"""

from __future__ import annotations

import math

import numpy as np

# What each number is called wherever it is shown (status lines, printed cells, feedback).
NAMES = {
    "error_growth": "error growth across the hidden layers",
    "gradient_ratio": "first/last gradient ratio",
    "training_accuracy_during": "training accuracy during training",
    "training_accuracy_after": "training accuracy after training",
    "validation_accuracy": "validation accuracy",
    "generalization_gap": "generalization gap",
    "dead_fraction": "dead hidden units",
}


def _history(run):
    """A History, from a History or anything holding one (an experiments.Outcome)."""
    return getattr(run, "history", run)


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


# ---------------------------------------------------------------------------
# Gradients, layer by layer
# ---------------------------------------------------------------------------

def error_growth_per_step(run) -> np.ndarray:
    """:func:`error_growth` at every recorded step, shape (steps,).

    Computed for all steps at once (``diagnose`` takes a median over them).
    Empty when the network has no hidden layer or no step was recorded.
    """
    rows = np.asarray(_history(run).bias_grad_norms, dtype=float)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] < 2:
        return np.zeros(0)
    first, last = rows[:, 0], rows[:, -2]
    with np.errstate(all="ignore"):
        ratios = first / last
    usable = np.isfinite(first) & np.isfinite(last) & (last > 0)
    return np.where(usable, ratios, np.nan)


def error_growth(run, step: int = 0) -> float:
    """How many times larger the backpropagated error is at the first hidden layer than at the last.

    The error signal arriving at a Dense layer is ``||dL/db||``, the norm of its
    bias gradient (``History.bias_grad_norms``; with batch normalization after
    the layer, ``||dL/dbeta||``). This is

        ||dL/db|| of the first hidden layer  /  ||dL/db|| of the last hidden layer

    at ``step`` (0: at initialisation, before any update). Above 1 the error
    grows as it travels back across the hidden layers (exploding); below 1 it
    shrinks (vanishing). It is the ratio of the leftmost point to the
    second-to-last point of the "backpropagated error" plot.

    The output layer is left out: its ``||dL/db||`` is the batch sum of
    (predicted probability - label), which nearly cancels whenever the
    predictions match the batch's label frequencies (at small initial weights
    it is near 0), so it says little about what the hidden layers do.

    ``nan`` when the net has no hidden layer, no step was recorded, or no error
    reaches the last hidden layer (its ``||dL/db||`` is 0 or not finite); see
    :func:`error_growth_text`. Accepts a History or an Outcome.
    """
    ratios = error_growth_per_step(run)
    if ratios.size == 0:
        return float("nan")
    return float(ratios[min(step, ratios.size - 1)])


def error_growth_text(run, step: int = 0) -> str:
    """:func:`error_growth` in words, e.g. "error growth across the hidden layers x535 (grows toward the input)"."""
    growth = error_growth(run, step)
    name = NAMES["error_growth"]
    if _finite(growth):
        direction = ("grows toward the input" if growth > 1 else
                     "shrinks toward the input" if growth < 1 else "stays level")
        return f"{name} x{growth:.3g} ({direction})"
    history = _history(run)
    rows = np.asarray(history.bias_grad_norms, dtype=float)
    if rows.ndim != 2 or rows.shape[0] == 0:
        return f"{name}: none (no step was recorded)"
    if rows.shape[1] < 2:
        return f"{name}: none (the network has no hidden layer)"
    return (f"{name}: none (no error reaches the last hidden layer: its ||dL/db|| is "
            f"{rows[min(step, rows.shape[0] - 1), -2]:.3g})")


def gradient_ratio(run, step: int = 0) -> float:
    """The first Dense layer's weight gradient norm over the last Dense layer's, at ``step``.

        ||dL/dW|| of the first Dense layer (next to the input)
        / ||dL/dW|| of the last Dense layer (the output layer)

    from ``History.grad_norms`` (step 0: at initialisation, before any update):
    the leftmost point of the "weight gradient norm" plot over its rightmost
    point. Near 1, every layer learns at a similar pace; 1e-4 means the first
    layer's weights get ten thousand times smaller steps than the last's.

    When no gradient reaches a layer (every unit feeding it output 0, as with
    dropout rate 1.0 or all units dead): ``nan`` if neither layer gets one
    (0/0: there is nothing to compare), ``inf`` if only the last layer gets
    none, 0.0 if only the first gets none. :func:`gradient_ratio_text` says
    which in words. Accepts a History or an Outcome.
    """
    rows = np.asarray(_history(run).grad_norms, dtype=float)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] == 0:
        return float("nan")
    first, last = rows[min(step, rows.shape[0] - 1), [0, -1]]
    if not (math.isfinite(first) and math.isfinite(last)):
        return float("nan")
    if last == 0:
        return float("nan") if first == 0 else float("inf")
    return float(first / last)


def gradient_ratio_text(run, step: int = 0) -> str:
    """:func:`gradient_ratio` in words, explaining a missing or infinite value."""
    ratio = gradient_ratio(run, step)
    name = NAMES["gradient_ratio"]
    if _finite(ratio) and ratio > 0:
        return f"{name} {ratio:.1e}"
    rows = np.asarray(_history(run).grad_norms, dtype=float)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] == 0:
        return f"{name}: none (no step was recorded)"
    first, last = rows[min(step, rows.shape[0] - 1), [0, -1]]
    if not (math.isfinite(first) and math.isfinite(last)):
        return f"{name}: none (the gradients are not finite: the run blew up)"
    if first == 0 and last == 0:
        return (f"{name}: none (no gradient reaches either layer: both weight gradients are "
                "exactly 0, so there is nothing to compare; this happens when every unit feeding "
                "them outputs 0, as with dropout rate 1.0 or all units dead)")
    if last == 0:
        return (f"{name}: infinite (the last layer's weight gradient is exactly 0: no unit "
                "feeding it is active)")
    return (f"{name} 0 (the first layer's weight gradient is exactly 0: no unit feeding it is "
            "active)")


# ---------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------

def final_window(run) -> int:
    """How many final epochs the accuracies below average over: a tenth of the epochs, at least 1.

    30 epochs: the last 3; 1000 epochs: the last 100. One epoch's accuracy is
    noisy (with dropout, or a single batch per epoch); the end of the curve is not.
    """
    return max(1, len(_history(run).loss) // 10)


def _final_mean(run, values) -> float:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return float("nan")
    return float(values[-final_window(run):].mean())


def training_accuracy_during(run) -> float:
    """Training accuracy during training: what the training-accuracy curve shows at its end.

    Each epoch's value (``History.accuracy``) is the fraction of training
    examples classified right, counted batch by batch in *training mode* while
    the weights were still moving (with dropout, by the thinned network that
    dropped units: as Keras reports it). This is its mean over the last
    :func:`final_window` epochs. ``nan`` without epochs or for regression.
    Compare :func:`training_accuracy_after`.
    """
    return _final_mean(run, _history(run).accuracy)


def training_accuracy_after(result) -> float:
    """Training accuracy after training: the final network evaluated on the whole training set.

    Evaluation mode (no unit dropped; BatchNorm with its running statistics),
    weights fixed, once, after the last epoch (``Outcome.train_accuracy``).
    It can differ from :func:`training_accuracy_during`: with dropout it is
    higher (all units vote), and the weights kept moving during the epoch.
    ``nan`` for a diverged run. Needs an experiments.Outcome.
    """
    return float(result.train_accuracy)


def validation_accuracy(run) -> float:
    """Validation accuracy: what the validation-accuracy curve shows at its end.

    Each epoch's value (``History.val_accuracy``) is measured in evaluation
    mode on the held-out set after that epoch; this is its mean over the last
    :func:`final_window` epochs. ``nan`` without a validation set.
    """
    return _final_mean(run, _history(run).val_accuracy)


def generalization_gap(run) -> float:
    """Training accuracy minus validation accuracy, as the accuracy curves show them at their end.

        generalization_gap = training_accuracy_during(run) - validation_accuracy(run)

    both averaged over the last :func:`final_window` epochs: the vertical
    distance between the two accuracy curves of the plot. Positive: the
    network does better on the examples it trains on than on new ones.
    With dropout, the training side is the thinned network's accuracy (what the
    curve shows), so :func:`gap_text` names both parts beside the gap.
    ``nan`` without a validation set. Accepts a History or an Outcome.
    """
    return training_accuracy_during(run) - validation_accuracy(run)


def gap_text(run) -> str:
    """The gap with the two numbers it is the difference of, e.g. "generalization gap +0.31 (...)"."""
    gap = generalization_gap(run)
    name = NAMES["generalization_gap"]
    if not _finite(gap):
        return f"{name}: none (there is no validation set, or no accuracy was recorded)"
    during, val = training_accuracy_during(run), validation_accuracy(run)
    window = final_window(run)
    epochs = "the last epoch" if window == 1 else f"the last {window} epochs"
    return (f"{name} {gap:+.2f} = {NAMES['training_accuracy_during']} {during:.2f} "
            f"− {NAMES['validation_accuracy']} {val:.2f} (mean over {epochs})")


def epochs_to_accuracy(run, target: float) -> int | None:
    """The first epoch (counting from 1) whose training accuracy during training reaches ``target``.

    Reads the per-epoch training-mode accuracy, ``History.accuracy`` (the curve
    of :func:`training_accuracy_during`, not averaged). None if no epoch
    reached it; :func:`epochs_to_accuracy_text` then says "never in N epochs".
    """
    for epoch, accuracy in enumerate(_history(run).accuracy, start=1):
        if accuracy >= target:
            return epoch
    return None


def epochs_to_accuracy_text(run, target: float) -> str:
    """:func:`epochs_to_accuracy` in words: "12" or "never in 40 epochs"."""
    epochs = epochs_to_accuracy(run, target)
    if epochs is not None:
        return f"{epochs}"
    history = _history(run)
    if history.diverged:
        return f"never (the run diverged in epoch {history.epochs + 1})"
    return f"never in {len(history.accuracy)} epochs"


# ---------------------------------------------------------------------------
# Dead units
# ---------------------------------------------------------------------------

def dead_fraction_per_epoch(run) -> np.ndarray:
    """:func:`dead_fraction` for every epoch, shape (epochs,): the curve the "dead units" panel draws.

    Empty for a run without telemetry, or one that diverged in its first epoch.
    All zeros for a network without ReLU-family layers.
    """
    per_layer = np.asarray(_history(run).epoch_dead_fraction, dtype=float)
    if per_layer.ndim != 2 or per_layer.shape[0] == 0:
        return np.zeros(0)
    if per_layer.shape[1] == 0:
        return np.zeros(per_layer.shape[0])
    return per_layer.mean(axis=1)


def dead_fraction(run) -> float:
    """The share of hidden ReLU units dead in the last epoch of training.

    A unit is dead in an epoch when it output exactly 0 on every training
    example that epoch showed it (training mode, ``History.epoch_dead_fraction``):
    no example sent it any gradient, so plain gradient descent cannot revive it.
    Per ReLU-family layer that is a share of the layer's units; this is their
    mean over the layers (the share of all hidden units, since every network in
    the course has equally wide hidden layers). 0.0 for a network without
    ReLU-family layers (LeakyReLU units are never exactly 0, so never dead);
    ``nan`` when no epoch was completed (see :func:`dead_fraction_text`).
    Accepts a History or an Outcome.
    """
    per_epoch = dead_fraction_per_epoch(run)
    return float(per_epoch[-1]) if per_epoch.size else float("nan")


def dead_fraction_text(run) -> str:
    """:func:`dead_fraction` in words, e.g. "dead hidden units 62% (in the last epoch)"."""
    history = _history(run)
    name = NAMES["dead_fraction"]
    if not history.relu_names:
        return f"{name}: none (the network has no ReLU units)"
    fraction = dead_fraction(history)
    if not _finite(fraction):
        return f"{name}: none (no epoch was completed: the run diverged in its first epoch)"
    return f"{name} {fraction:.0%} (in the last epoch)"


# ---------------------------------------------------------------------------
# Saturation, the course's thresholds, and what "diverged" means
# ---------------------------------------------------------------------------

# A tanh output beyond this (in absolute value) sits on a flat end: its slope 1 - tanh^2 is
# below 0.02, so the unit passes back less than 2% of the error that reaches it.
SATURATION_LEVEL = 0.99

#: The share of dead hidden units above which the course calls a net's ReLUs mostly dead.
DEAD_FRACTION_THRESHOLD = 0.5


def saturated_fraction(activations, level: float = SATURATION_LEVEL) -> float:
    """The share of tanh outputs in ``activations`` (any shape) with |output| > ``level``.

    Those outputs sit on the flat ends of tanh, where its slope 1 - tanh(z)^2 is below
    1 - level^2 (0.02 at the default 0.99). ``nan`` for an empty array.
    """
    values = np.abs(np.asarray(activations, dtype=float))
    return float((values > level).mean()) if values.size else float("nan")


def _diverged_meaning() -> str:
    from .engine.training import BLOWUP_FACTOR
    return (f"the loss of a batch became infinite or NaN, or rose above {BLOWUP_FACTOR:g} times "
            f"the first batch's loss (above {BLOWUP_FACTOR:g} if that loss was below 1), or a "
            "gradient became infinite or NaN; training stops at that step")


#: What ``History.diverged`` means, in one sentence: the engine's own rule (``BLOWUP_FACTOR``).
DIVERGED_MEANING = _diverged_meaning()


def update_ratio_by_epoch(run, layer: int = 0) -> np.ndarray:
    """The update-to-data ratio ||W_after - W_before|| / ||W_before|| of Dense layer ``layer``
    (0: next to the input), median over each epoch's steps: shape (epochs,).

    Karpathy's rule of thumb: about 1e-3 is healthy; far above, the steps are too large for
    the weights; far below, they hardly move. Reads ``History.update_ratios``; empty for a run
    that recorded no whole epoch.
    """
    history = _history(run)
    ratios = np.asarray(history.update_ratios, dtype=float)
    per_epoch = max(int(history.steps_per_epoch), 1)
    whole = ratios.shape[0] // per_epoch if ratios.ndim == 2 and ratios.shape[1] > layer else 0
    if whole == 0:
        return np.zeros(0)
    return np.median(ratios[:whole * per_epoch, layer].reshape(whole, per_epoch), axis=1)

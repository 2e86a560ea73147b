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

from .engine.layers import Activation, Sigmoid, Tanh
from .engine.training import BLOWUP_FACTOR

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


def _row(run, step: int, n_rows: int) -> int:
    """The telemetry row that shows ``step`` (``History.telemetry_row``: long runs keep every
    k-th step), for a History whose per-layer arrays hold ``n_rows`` rows."""
    history = _history(run)
    try:
        return history.telemetry_row(step)[0]
    except (AttributeError, ValueError, TypeError):
        return min(step, n_rows - 1)


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
    return float(ratios[_row(run, step, ratios.size)])


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
            f"{rows[_row(run, step, rows.shape[0]), -2]:.3g})")


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
    first, last = rows[_row(run, step, rows.shape[0]), [0, -1]]
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
    first, last = rows[_row(run, step, rows.shape[0]), [0, -1]]
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

# The one dead threshold of the course (lesson 03, its exercises, the capstone, ``diagnose``).
DEAD_FRACTION_THRESHOLD = 0.5
"""The share of dead hidden units at or above which the course calls a net's ReLUs mostly dead.

Half, because the two sides of it are far apart in every run the course shows: healthy
He-initialised ReLU nets keep every layer under 30% dead (lesson 03's fixed run: 0%),
while a step that kills units kills most of them at once (lesson 03's broken run: 80%,
69-89% over six seeds). CS231n warns that "as much as 40% of your network can be dead"
after too large a step: a threshold below that would call nets that merely lost some
units broken. Compare with :func:`dead_fraction`.
"""

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
# Lessons 00-02: the first loss, the forward signal, the per-layer factor, the step size
# ---------------------------------------------------------------------------

# What "diverged" means everywhere in the course (the engine's History.diverged, the labs,
# the lessons, the capstone): one sentence a lesson or a table can quote.
DIVERGED_MEANING = (
    f"A run has diverged when its loss becomes infinite or not a number, or climbs above "
    f"{BLOWUP_FACTOR:g} times its first value (or above {BLOWUP_FACTOR:g} if it started below "
    f"1): a loss that far up does not come back down, so training stops at that step "
    f"(History.diverged_at).")


def first_loss(run) -> float:
    """The loss of the very first batch, before any update (``History.step_loss[0]``).

    For a fresh classifier whose scores are all near 0 the softmax gives every
    class probability 1/C, so this is about :func:`chance_loss` ``= ln C``
    (CS231n's first sanity check). ``nan`` when no step was recorded.
    """
    losses = np.asarray(_history(run).step_loss, dtype=float)
    return float(losses[0]) if losses.size else float("nan")


def chance_loss(n_classes: int) -> float:
    """``ln C``: the cross-entropy of predicting probability 1/C for every one of C classes."""
    return math.log(n_classes)


def activation_spread(model, X) -> np.ndarray:
    """How much each activation layer's output varies from example to example, shape (layers,).

    Per activation layer: the standard deviation of each unit's output across the
    examples of ``X`` (evaluation mode), averaged over the layer's units. When it
    falls towards 0 layer after layer, the deep layers see (nearly) the same input
    for every example: the forward signal has collapsed. (``History.activation_std``
    is a different number: the spread over examples *and* units of a batch.)
    """
    spreads, out = [], np.asarray(X)
    for layer in model.layers:
        out = layer.forward(out, training=False)
        if isinstance(layer, Activation):
            spreads.append(float(np.asarray(out, dtype=float).std(axis=0).mean()))
    return np.array(spreads)


def saturated_fraction(model, X, slope_below: float = 0.05) -> np.ndarray:
    """Per sigmoid or tanh layer, the share of outputs in the activation's flat ends, shape (layers,).

    An output is saturated where the activation's slope there is below
    ``slope_below`` times its largest slope (sigma' = s (1 - s) against 1/4; tanh' = 1 - a^2
    against 1): such a unit passes back almost no gradient. Evaluation mode, every example
    of ``X``; layers of other activations are skipped.
    """
    fractions, out = [], np.asarray(X)
    for layer in model.layers:
        out = layer.forward(out, training=False)
        if isinstance(layer, Sigmoid):
            fractions.append(float(np.mean(4 * out * (1 - out) < slope_below)))
        elif isinstance(layer, Tanh):
            fractions.append(float(np.mean(1 - out * out < slope_below)))
    return np.array(fractions)


def error_factor_per_layer(run, step: int = 0) -> float:
    """The factor by which the backpropagated error changes per hidden layer, at ``step``.

    The geometric mean over the gaps between consecutive hidden layers:
    :func:`error_growth` ``** (1 / (hidden layers - 1))``. Backprop multiplies the error
    at each layer by the weights (transposed) and the activation's slope, so a sigmoid
    net at small weights should read near sigma'(0) = 1/4 times the weights' share.
    ``nan`` with fewer than two hidden layers or where the error growth is missing.
    """
    rows = np.asarray(_history(run).bias_grad_norms, dtype=float)
    if rows.ndim != 2 or rows.shape[1] < 3:
        return float("nan")
    growth = error_growth(run, step)
    gaps = rows.shape[1] - 2
    return float(growth ** (1 / gaps)) if _finite(growth) and growth > 0 else float("nan")


def error_growth_over_training(run) -> float:
    """The median of :func:`error_growth` over every recorded step of the run.

    :func:`error_growth` at step 0 is measured before any update, so every remedy that acts
    through the updates (a lower learning rate, clipping) leaves it exactly as it was; this
    median shows what the remedy did to the error's growth while the net trained.
    """
    ratios = error_growth_per_step(run)
    ratios = ratios[np.isfinite(ratios)]
    return float(np.median(ratios)) if ratios.size else float("nan")


UPDATE_RATIO_TARGET = 1e-3


def update_ratio_first_epoch(run) -> np.ndarray:
    """Per Dense layer, the median over the first epoch's steps of ||update of W|| / ||W||.

    CS231n and Karpathy's rule of thumb: about :data:`UPDATE_RATIO_TARGET` (1e-3) per step;
    1e-1 and above means a step throws the weights far from where they were; far below
    means the layer hardly learns. Shape (Dense layers,); empty without telemetry.
    """
    history = _history(run)
    ratios = np.asarray(history.update_ratios, dtype=float)
    if ratios.ndim != 2 or ratios.shape[0] == 0:
        return np.zeros(0)
    steps = max(int(history.steps_per_epoch), 1)
    return np.median(ratios[:steps], axis=0)


def score_scale(model, X) -> float:
    """The root mean square of a model's output scores over the examples of ``X``
    (evaluation mode). A fresh classifier should start with scores near 0 (a first loss
    near ln C); scores in the hundreds give a first loss in the hundreds."""
    scores = np.asarray(model.forward(np.asarray(X), training=False), dtype=float)
    return float(np.sqrt(np.mean(scores * scores)))


# ---------------------------------------------------------------------------
# Lessons 05-06: saturation by level, the update-to-data ratio per epoch
# ---------------------------------------------------------------------------

# A tanh output beyond this (in absolute value) sits on a flat end: its slope 1 - tanh^2 is
# below 0.02, so the unit passes back less than 2% of the error that reaches it.
SATURATION_LEVEL = 0.99


def tanh_saturated_share(activations, level: float = SATURATION_LEVEL) -> float:
    """The share of tanh outputs in ``activations`` (any shape) with |output| > ``level``.

    Those outputs sit on the flat ends of tanh, where its slope 1 - tanh(z)^2 is below
    1 - level^2 (0.02 at the default 0.99). ``nan`` for an empty array. (Lessons 00-02's
    :func:`saturated_fraction` counts per layer of a model, by the slope; this reads
    outputs already computed, by their level.)
    """
    values = np.abs(np.asarray(activations, dtype=float))
    return float((values > level).mean()) if values.size else float("nan")


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

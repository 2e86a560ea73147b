"""The judges: one function per case, each comparing the History's numbers with a threshold.

Each returns a :class:`~nnlab.diagnosis.report.Finding` or None, and may add
notes (warning signs below a threshold, checks that could not be made).
"""

from __future__ import annotations

import math

import numpy as np

from .. import metrics
from ..engine.training import History
from . import reading
from .reading import floats, geometric_median, name, rows
from .remedies import RunView, remedies
from .report import Finding
from .rules import (REMEDY_TEXT, UNSCALED_LARGEST, UNSCALED_RATIO, ACCURACY_GAP,
                    LEARNED_LOSS, STUCK_VANISHING_FACTOR, VAL_LOSS_STRONG_RISE, DEAD_FRACTION, EXPLODING_RATIO, LARGE_UPDATE_RATIO,
                    MIN_DENSE_LAYERS, MIN_EPOCHS, MIN_STEPS, NOT_LEARNING_ACCURACY,
                    NOT_LEARNING_LOSS, SATURATED_STD, TINY_UPDATE_RATIO, VAL_LOSS_RISE,
                    VANISHING_RATIO, WARNING_SIGN, WHY, CLIPPED_FACTOR)


def scaled(excess: float, span: float) -> float:
    """A confidence: 0.5 just past a threshold, rising to 1 at ``span`` beyond it."""
    if not np.isfinite(excess):
        return 1.0
    return float(round(0.5 + 0.5 * min(1.0, max(0.0, excess / span)), 2))


def _finding(case, evidence, confidence, numbers, layers, step, history, hints=(), why=None,
             **extra) -> Finding:
    texts, actions = remedies(case, RunView(history), hints, **extra)
    return Finding(case, evidence, confidence, numbers, tuple(layers), step, texts,
                   why or WHY[case], actions)


# ---------------------------------------------------------------------------
# Root causes
# ---------------------------------------------------------------------------

def unscaled(low: float, high: float) -> bool:
    """Feature scales ``low`` to ``high`` are far apart, or far from 1 (``UNSCALED_*``)."""
    return bool(high >= UNSCALED_LARGEST or (low > 0 and high / low >= UNSCALED_RATIO))


def check_unscaled(history: History, notes: list, data_scale=None) -> Finding | None:
    """The inputs' features are on scales far apart: from ``data=`` (``data_scale``, the
    (smallest, largest) scale of its non-constant features) or else from the run record."""
    run = getattr(history, "run", None)
    if data_scale is not None:
        (low, high), source = data_scale, "in the data passed to diagnose"
    elif run is not None and run.input_scale and not run.inputs_standardized:
        (low, high), source = run.input_scale, "when training started (history.run)"
    else:
        return None
    if not unscaled(low, high):
        return None
    ratio = high / low if low > 0 else float("inf")
    evidence = (f"The input features are on scales from {low:.3g} to {high:.3g} ({source}; a "
                f"feature's scale is max(|mean|, std), constant columns left out): "
                + (f"{ratio:.3g} times apart" if np.isfinite(ratio) else "far apart")
                + ", so they were not standardized.")
    activations = run.activations if run is not None else ()
    saturated = saturated_inputs(history)
    if activations and all(kind in ("relu", "leaky_relu") for kind in activations):
        evidence += (" On a ReLU net nothing saturates, but the first layer's gradients are on "
                     "the same spread of scales, so no single learning rate suits every feature.")
    elif saturated:
        evidence += f" {saturated}."
    excess = math.log10(max(ratio if np.isfinite(ratio) else high, high) / UNSCALED_RATIO)
    view = RunView(history)
    actions = ["normalize_inputs"] + (["add_batchnorm"] if saturated and not view.batchnorm
                                      else [])
    texts = tuple(REMEDY_TEXT[action] for action in actions)
    return Finding("unscaled_inputs", evidence, scaled(excess, 2.0),
                   {"smallest_scale": float(low), "largest_scale": float(high),
                    "scale_ratio": float(ratio), "threshold": UNSCALED_RATIO},
                   (), 0, texts, WHY["unscaled_inputs"], tuple(actions))


def check_vanishing(history: History, notes: list) -> Finding | None:
    values = rows(history, "bias_grad_norms")
    n_dense = values.shape[1]
    if values.shape[0] == 0 or n_dense < MIN_DENSE_LAYERS:
        return None
    ratios = reading.error_ratios(history)
    typical = geometric_median(ratios)
    if not np.isfinite(typical):
        return None
    threshold = VANISHING_RATIO
    run = getattr(history, "run", None)
    saturating = run is not None and any(kind in ("sigmoid", "tanh") for kind in run.activations)
    if saturating and not history.diverged and history.steps >= MIN_STEPS and \
            reading.loss_level(history) >= NOT_LEARNING_LOSS and saturated_inputs(history) is None:
        # Stuck at chance with a weak error signal in a deep tanh/sigmoid net: the network is
        # the likelier cause, before the data is blamed.
        threshold = STUCK_VANISHING_FACTOR * VANISHING_RATIO
    if typical > threshold:
        if typical <= 3 * VANISHING_RATIO:
            notes.append(f"{WARNING_SIGN}the error signal reaching the first hidden layer is "
                         f"{typical:.1e} of the last hidden layer's: low, but above the "
                         f"vanishing threshold ({VANISHING_RATIO:.0e}).")
        return None
    step = reading.step_of_row(history, int(np.flatnonzero(ratios <= threshold)[0]))
    names = history.layer_names
    with np.errstate(all="ignore"):
        medians = np.array([geometric_median(values[:, column]) for column in range(n_dense)])
    starved = [name(names, column, "dense") for column in range(n_dense - 2)
               if medians[column] <= threshold * medians[-2]] or [name(names, 0, "dense")]
    per_layer = typical ** (1.0 / (n_dense - 2))
    first, last = name(names, 0, "dense"), name(names, n_dense - 2, "dense")
    evidence = (f"The error signal ||dL/db|| at {first} is {typical:.1e} times the one at "
                f"{last} (median over {reading.rows_text(history, int(np.isfinite(ratios).sum()))}, below "
                f"{threshold:.0e} from step {step}"
                + (f"; the threshold is {threshold:.0e}, not {VANISHING_RATIO:.0e}, for a deep "
                   "tanh or sigmoid net that stays at chance" if threshold != VANISHING_RATIO
                   else "") + "): each layer passes back only about "
                f"{per_layer:.2f} of what it receives. Starved layers: {', '.join(starved)}.")
    return _finding("vanishing_gradients", evidence,
                    scaled(math.log10(threshold / typical), 2.0),
                    {"error_ratio": typical, "per_layer_factor": per_layer,
                     "weight_grad_ratio": _weight_grad_ratio(history, step),
                     "threshold": VANISHING_RATIO}, starved, step, history)


def _weight_grad_ratio(history: History, step: int) -> float:
    """First Dense layer's ||dL/dW|| over the last one's at ``step`` (what the lessons plot)."""
    values = rows(history, "grad_norms")
    if values.shape[0] == 0 or values.shape[1] < 2:
        return float("nan")
    row = history.telemetry_row(step)[0] if isinstance(history, History) else step
    if row >= values.shape[0] or not values[row, -1] > 0:
        return float("nan")
    return float(values[row, 0] / values[row, -1])


def check_exploding(history: History, notes: list) -> Finding | None:
    values = rows(history, "bias_grad_norms")
    if values.shape[0] == 0 or values.shape[1] < MIN_DENSE_LAYERS:
        return None
    ratios = reading.error_ratios(history)
    if not np.isfinite(ratios[0]) or ratios[0] < EXPLODING_RATIO:
        return None
    growth = float(ratios[0])
    updates = rows(history, "update_ratios")[:reading.rows_in_first_epoch(history)]
    updates = updates[np.isfinite(updates)] if updates.size else updates.ravel()
    largest_update = float(updates.max()) if updates.size else float("nan")
    names = history.layer_names
    first, last = name(names, 0, "dense"), name(names, values.shape[1] - 2, "dense")
    too_large = np.isfinite(largest_update) and largest_update >= LARGE_UPDATE_RATIO
    clip = getattr(getattr(history, "run", None), "clip_norm", None)
    norms = floats(history.global_grad_norm)[:reading.steps_per_epoch(history)]
    clipped = float(np.median(norms)) / clip if clip and norms.size else float("nan")
    # Clipping is a remedy when the run learns; when it does not, it only hides the explosion.
    binding = (np.isfinite(clipped) and clipped >= CLIPPED_FACTOR
               and reading.loss_level(history) >= NOT_LEARNING_LOSS)
    trained_well = not history.diverged and reading.loss_level(history) < LEARNED_LOSS
    persists = geometric_median(ratios) >= EXPLODING_RATIO
    if too_large and trained_well and not persists and not binding:
        notes.append(f"{WARNING_SIGN}at step 0 the error signal grows x{growth:.3g} from {last} "
                     f"back to {first} and the first updates are large (largest update ratio "
                     f"{largest_update:.2f}), but the growth did not last (median over the run "
                     f"x{geometric_median(ratios):.2g}) and the run trained well: not a fault.")
        return None
    if not (too_large or history.diverged or binding):
        notes.append(f"{WARNING_SIGN}at initialisation the error signal grows x{growth:.3g} "
                     f"from {last} back to {first}, but the updates stay below "
                     f"{LARGE_UPDATE_RATIO:g} of the weights "
                     f"(largest {largest_update:.1e} in the first epoch), so training copes: the "
                     "learning rate or clipping keeps the steps small.")
        return None
    consequence = (f"the run diverged at step {history.diverged_at}" if history.diverged else
                   f"one update changed a layer's weights by {largest_update:.0%} of their size"
                   if too_large else
                   f"clipping cut the typical first-epoch gradient norm down {clipped:.0f}-fold "
                   f"(to clip_norm={clip:g}): clipping hides the explosion, it does not cure it")
    evidence = (f"At step 0 the error signal ||dL/db|| grows x{growth:.3g} from {last} back to "
                f"{first} (above x{EXPLODING_RATIO:g}), and {consequence} "
                f"(largest update ratio {largest_update:.2f} in the first epoch).")
    grown = [name(names, column, "dense") for column in range(values.shape[1] - 2)
             if values[0, column] >= EXPLODING_RATIO * values[0, -2]]
    excess = max(math.log10(largest_update / LARGE_UPDATE_RATIO) if too_large else 0.0,
                 math.log10(clipped / CLIPPED_FACTOR) if binding else 0.0)
    confidence = 1.0 if history.diverged else scaled(
        math.log10(growth / EXPLODING_RATIO) + excess, 2.0)
    return _finding("exploding_gradients", evidence, confidence,
                    {"error_growth": growth, "largest_update_ratio": largest_update,
                     "clipped_factor": clipped, "threshold": EXPLODING_RATIO}, grown, 0, history,
                    ("clipping_binds",) if binding else ())


def check_dead_relu(history: History, notes: list, whole_set=None) -> Finding | None:
    if rows(history, "dead_fraction").shape[1] == 0 and whole_set is None:
        return None
    if history.diverged:
        return None       # units silenced by a blow-up are part of that story, not a finding
    found = reading.dead_reading(history, whole_set)
    if found is None:
        notes.append("Dead units were not checked: the run records them per batch, and with "
                     "batches this small a unit can be silent on a batch without being dead "
                     "(pass model= and data= to count them on the whole training set).")
        return None
    names, fractions, source = history.relu_names, found.fractions, found.source
    dead_layers = [column for column in range(fractions.size) if fractions[column] >= DEAD_FRACTION]
    if not dead_layers:
        worst = int(np.argmax(fractions)) if fractions.size else 0
        if fractions.size and fractions[worst] >= 0.6 * DEAD_FRACTION:
            notes.append(f"{WARNING_SIGN}{fractions[worst]:.0%} of {name(names, worst, 'relu')}'s "
                         f"units are dead (zero for every example {source}), below the "
                         f"{DEAD_FRACTION:.0%} threshold.")
        return None
    worst = max(dead_layers, key=lambda column: fractions[column])
    layer_names = tuple(name(names, column, "relu") for column in dead_layers)
    series, span = found.per_step[:, worst], found.rows_per_epoch
    start_row = next((start for start in range(0, series.size, max(1, span // 2))
                      if series[start:start + span].mean() >= DEAD_FRACTION), 0)
    step = start_row * (reading.steps_per_epoch(history) if span == 1 else 1)
    at_start = float(rows(history, "dead_fraction")[0, worst]) if history.steps else 0.0
    described = ", ".join(f"{layer} {fractions[column]:.0%}"
                          for layer, column in zip(layer_names, dead_layers))
    evidence = (f"Units that output 0 for every example ({source}): {described}. "
                f"{name(names, worst, 'relu')} was {at_start:.0%} dead at step 0 and "
                f"{DEAD_FRACTION:.0%} or more from step {step}.")
    why, hints = WHY["dead_relu"], ()
    if at_start >= DEAD_FRACTION:
        hints = ("at_start",)
        why = ("These units were dead from the very first step, before any update: the cause is "
               "what feeds them (a negative initial bias, inputs zeroed by dropout), not the "
               "step size. A ReLU that is 0 for every example passes back no gradient.")
    return _finding("dead_relu", evidence, scaled(fractions[worst] - DEAD_FRACTION, 0.3),
                    {"dead_fractions": {layer: float(fractions[column])
                                        for layer, column in zip(layer_names, dead_layers)},
                     "worst_dead_fraction": float(fractions[worst]), "dead_at_step_0": at_start,
                     "threshold": DEAD_FRACTION}, layer_names, step, history, hints, why)


# ---------------------------------------------------------------------------
# Symptoms and the rest
# ---------------------------------------------------------------------------

def check_diverged(history: History) -> Finding | None:
    losses = np.concatenate([floats(history.loss), floats(history.step_loss)])
    if not history.diverged and np.isfinite(losses).all():
        return None
    step = history.diverged_at if history.diverged else None
    if step is None:
        bad = np.flatnonzero(~np.isfinite(floats(history.step_loss)))
        step = int(bad[0]) if bad.size else None
    where = f"at step {step}" if step is not None else "(a loss became infinite or NaN)"
    if step is not None:
        where += f" (epoch {step // reading.steps_per_epoch(history) + 1})"
    step_loss = floats(history.step_loss)
    finite = step_loss[np.isfinite(step_loss)]
    before = f"; the last finite loss was {finite[-1]:.3g}" if finite.size else ""
    start = f" (it started at {finite[0]:.3g})" if finite.size > 1 else ""
    evidence = f"Training stopped {where}: the loss became infinite or blew up{before}{start}."
    if history.message:
        evidence += f" The training loop said: {history.message}"
    return _finding("diverged", evidence, 1.0,
                    {"diverged_at": step,
                     "last_finite_loss": float(finite[-1]) if finite.size else float("nan")},
                    (), step, history)


def saturated_inputs(history: History) -> str | None:
    """A sentence if the first activation layer is saturated (inputs far too large), else None."""
    stds = rows(history, "activation_std")
    if stds.shape[0] == 0 or stds.shape[1] == 0 or not history.activation_names:
        return None
    first = history.activation_names[0]
    limit = SATURATED_STD.get(first.rstrip("0123456789"))
    value = float(np.nanmedian(stds[:, 0])) if np.isfinite(stds[:, 0]).any() else float("nan")
    if limit is None or not value > limit:
        return None
    if first.rstrip("0123456789") in ("relu", "leaky_relu"):
        return (f"The first activation layer ({first}) has outputs with standard deviation "
                f"{value:.3g} (above {limit:g}): far too large, which is what inputs or weights "
                "on too large a scale do")
    return (f"The first activation layer ({first}) has outputs with standard deviation "
            f"{value:.2f} (above {limit:g}): it is saturated, pinned at its flat ends, which is "
            "what inputs or weights on too large a scale do")


def check_saturated(history: History, notes: list) -> Finding | None:
    """The first tanh/sigmoid layer is pinned at its flat ends, and the run is stuck at chance."""
    sentence = saturated_inputs(history)
    if sentence is None or history.diverged or history.steps < MIN_STEPS:
        return None
    level = reading.loss_level(history)
    if not level >= NOT_LEARNING_LOSS:
        notes.append(f"{WARNING_SIGN}{sentence[0].lower()}{sentence[1:]}, but the run learns "
                     "anyway.")
        return None
    stds = rows(history, "activation_std")[:, 0]
    value = float(np.nanmedian(stds))
    limit = SATURATED_STD[history.activation_names[0].rstrip("0123456789")]
    run = getattr(history, "run", None)
    scales = ""
    if run is not None and run.input_scale:
        scales = (f" The input features are on scales up to {run.input_scale[1]:.3g}"
                  + ("." if run.inputs_standardized else ": they were not standardized."))
    evidence = (f"{sentence}.{scales} The training loss ends at {level:.0%} of chance: "
                "not well below what ignoring the inputs gives.")
    hints = ("raw_inputs",) if run is not None and not run.inputs_standardized else ()
    # How far the spread is from the limit toward its largest possible value (1 for tanh).
    top = {"tanh": 1.0, "sigmoid": 0.5}.get(history.activation_names[0].rstrip("0123456789"),
                                            2 * limit)
    relu = history.activation_names[0].rstrip("0123456789") in ("relu", "leaky_relu")
    return _finding("saturated_activations", evidence,
                    scaled((value - limit) / max(top - limit, 1e-9), 0.5),
                    {"activation_std": value, "threshold": limit},
                    (history.activation_names[0],), 0, history, hints,
                    WHY["saturated_activations_relu"] if relu else None)


def _typical_update(history: History) -> float:
    updates = rows(history, "update_ratios")
    return float(np.nanmedian(updates)) if updates.size and np.isfinite(updates).any() \
        else float("nan")


def check_not_learning(history: History, notes: list, input_scales=None) -> Finding | None:
    losses = floats(history.loss)
    if history.diverged or not np.isfinite(losses).all() or history.steps == 0 and not losses.size:
        return None
    final, guess = reading.final_loss(history), reading.chance(history)
    if not (np.isfinite(final) and np.isfinite(guess.loss) and guess.loss > 0):
        return None
    level = final / guess.loss
    typical_update = _typical_update(history)
    tiny = np.isfinite(typical_update) and typical_update < TINY_UPDATE_RATIO
    if history.steps < MIN_STEPS and not tiny:
        return None       # too short to judge: the inconclusive finding says so
    if level < NOT_LEARNING_LOSS:
        return None
    numbers = {"final_loss": final, "chance_loss": guess.loss, "loss_level": level,
               "threshold": NOT_LEARNING_LOSS}
    accuracy_text = ""
    accuracy = reading.final_accuracy(history)
    if np.isfinite(accuracy) and np.isfinite(guess.accuracy) and guess.accuracy < 1:
        progress = (accuracy - guess.accuracy) / (1.0 - guess.accuracy)
        if progress >= NOT_LEARNING_ACCURACY:
            return None     # a few confident mistakes inflate the loss of a net that classifies
        numbers.update(final_accuracy=accuracy, chance_accuracy=guess.accuracy)
        accuracy_text = (f"; training accuracy {accuracy:.2f} (always answering the majority "
                         f"class gives {guess.accuracy:.2f})")
    start = losses[0] if losses.size else floats(history.step_loss)[0]
    evidence = (f"The training loss at the end is {final:.3g}, {level:.0%} of {guess.loss:.3g} "
                f"(chance: predicting the {guess.what}); it started at {start:.3g}"
                f"{accuracy_text}.")
    hints = []
    weights = rows(history, "grad_norms")
    saturated = saturated_inputs(history)
    run = getattr(history, "run", None)
    if input_scales is not None or (run is not None and not run.inputs_standardized
                                    and run.input_scale and run.input_scale[1] >= 10):
        evidence += " " + (input_scales or f"The input features are on scales up to "
                           f"{run.input_scale[1]:.3g}: they were not standardized") + "."
        hints.append("raw_inputs")
    if saturated:
        evidence += f" {saturated}."
        hints.append("saturated")
    if weights.size and np.all(weights[np.isfinite(weights)] == 0):
        evidence += (" Every weight gradient is exactly 0 at every step: no error reaches any "
                     "weight.")
        hints.append("blocked")
    elif np.isfinite(typical_update):
        numbers["typical_update_ratio"] = typical_update
        if tiny:
            evidence += (f" A step changes the weights by only {typical_update:.1e} of their "
                         "size (about 1e-3 is typical).")
            hints.append("tiny_steps")
    if not hints and level < 1.1:
        hints.append("no_signal")
    return _finding("not_learning", evidence, scaled(level - NOT_LEARNING_LOSS, 0.15), numbers,
                    (), 0, history, hints, what=guess.what)


def check_overfitting(history: History, notes: list) -> Finding | None:
    val_loss, losses = floats(history.val_loss), floats(history.loss)
    val_accuracy, accuracy = floats(history.val_accuracy), floats(history.accuracy)
    if val_loss.size == 0 and val_accuracy.size == 0:
        if losses.size:
            notes.append("No validation data, so overfitting could not be checked "
                         "(train with val=(X_val, y_val)).")
        return None
    if history.diverged or min(val_loss.size or val_accuracy.size, losses.size) < MIN_EPOCHS:
        return None
    window = reading.window(history)
    numbers = {}
    gap = float("nan")
    if val_accuracy.size and accuracy.size:
        # The gap the accuracy plot and the labs show (metrics.generalization_gap).
        gap = metrics.generalization_gap(history)
        numbers.update(accuracy_gap=gap, train_accuracy=metrics.training_accuracy_during(history),
                       val_accuracy=metrics.validation_accuracy(history))
    rise, best_epoch = float("nan"), None
    finite = val_loss[np.isfinite(val_loss)] if val_loss.size else val_loss
    if finite.size and finite.min() > 0:
        best_epoch = int(np.nanargmin(np.where(np.isfinite(val_loss), val_loss, np.nan)))
        rise = float(val_loss[-window:].mean() / val_loss[best_epoch])
        if not losses[-1] < losses[min(best_epoch, losses.size - 1)]:
            rise = 1.0      # both got worse together: that is not overfitting
        numbers.update(val_loss_rise=rise, best_val_epoch=best_epoch + 1)
    guess = reading.chance(history)
    learned = np.isfinite(guess.loss) and losses[-window:].mean() < NOT_LEARNING_LOSS * guess.loss
    gap_past = np.isfinite(gap) and gap >= ACCURACY_GAP
    rise_past = np.isfinite(rise) and rise >= VAL_LOSS_RISE
    if np.isfinite(gap):
        # With accuracies, the gap must be there: a validation loss that rises while
        # validation accuracy holds is growing overconfidence, only a warning sign.
        overfitting = (gap_past and (rise_past or gap >= 2 * ACCURACY_GAP)) or (
            gap >= ACCURACY_GAP / 2 and np.isfinite(rise) and rise >= VAL_LOSS_STRONG_RISE)
    else:
        overfitting = np.isfinite(rise) and rise >= 1 + 2 * (VAL_LOSS_RISE - 1)
    if not (learned and overfitting):
        if learned and (gap_past or rise_past):
            notes.append(f"{WARNING_SIGN}validation is starting to fall behind training ("
                         + _overfit_numbers(numbers) + "), below the overfitting thresholds.")
        return None
    excess = max(gap / ACCURACY_GAP - 1 if np.isfinite(gap) else 0.0,
                 (rise - 1) / (VAL_LOSS_RISE - 1) - 1 if np.isfinite(rise) else 0.0)
    step = best_epoch * reading.steps_per_epoch(history) if best_epoch is not None else None
    numbers.update(gap_threshold=ACCURACY_GAP, rise_threshold=VAL_LOSS_RISE)
    return _finding("overfitting", f"Validation falls behind training: "
                    f"{_overfit_numbers(numbers)}.", scaled(excess, 2.0), numbers, (), step,
                    history)


def _overfit_numbers(numbers: dict) -> str:
    parts = []
    if "accuracy_gap" in numbers:
        parts.append(f"training accuracy {numbers['train_accuracy']:.2f} vs validation "
                     f"{numbers['val_accuracy']:.2f} (gap {numbers['accuracy_gap']:.2f})")
    if "val_loss_rise" in numbers:
        parts.append(f"validation loss {numbers['val_loss_rise']:.2f}x its best "
                     f"(epoch {numbers['best_val_epoch']}) while the training loss kept falling")
    return "; ".join(parts)


def inconclusive(history: History) -> Finding:
    """The finding for a run too short to judge (fewer than MIN_STEPS steps)."""
    final, guess = reading.final_loss(history), reading.chance(history)
    level = final / guess.loss if np.isfinite(guess.loss) and guess.loss > 0 else float("nan")
    reading_text = (f"; so far the loss is {final:.3g}, {level:.0%} of chance ({guess.loss:.3g})"
                    if np.isfinite(level) else "")
    evidence = (f"inconclusive: too few steps. The run took {history.steps} gradient step(s); "
                f"at least {MIN_STEPS} are needed to tell whether it learns{reading_text}.")
    return _finding("inconclusive", evidence, 1.0,
                    {"steps": history.steps, "min_steps": MIN_STEPS, "final_loss": final,
                     "chance_loss": guess.loss}, (), None, history)


def healthy(history: History, notes: list) -> Finding:
    final, guess = reading.final_loss(history), reading.chance(history)
    losses = floats(history.loss)
    level = final / guess.loss if np.isfinite(guess.loss) and guess.loss > 0 else float("nan")
    start = losses[0] if losses.size else float("nan")
    parts = [f"the training loss fell from {start:.3g} to {final:.3g}"
             + (f" ({level:.0%} of chance, {guess.loss:.3g}: predicting the {guess.what})"
                if np.isfinite(level) else "")]
    typical = geometric_median(reading.error_ratios(history))
    if np.isfinite(typical):
        parts.append(f"the error signal at the first hidden layer is {typical:.2g} times the "
                     "last hidden layer's")
    dead = reading.dead_reading(history)
    if dead is not None and dead.fractions.size:
        parts.append(f"at most {dead.fractions.max():.0%} of a ReLU layer is dead "
                     f"({dead.source})")
    if history.val_accuracy and history.accuracy:
        gap = metrics.generalization_gap(history)
        parts.append(f"validation accuracy is within {max(gap, 0.0):.2f} of training "
                     f"(generalization gap {gap:+.2f})")
    if np.isfinite(level) and level >= NOT_LEARNING_LOSS:
        parts.append(f"the loss is still {level:.0%} of chance only because a few mistakes are "
                     f"wildly confident: training accuracy {reading.final_accuracy(history):.2f} "
                     f"(the majority class is {guess.accuracy:.2f})")
    # Confident when the loss is far below chance and no warning sign was noted.
    confidence = scaled(NOT_LEARNING_LOSS - level, 0.6) if np.isfinite(level) else 0.6
    if any(note.startswith(WARNING_SIGN) for note in notes):
        confidence = max(0.5, confidence - 0.15)
    evidence = "; ".join(parts) + "."
    return _finding("healthy", evidence[0].upper() + evidence[1:], confidence,
                    {"final_loss": final, "chance_loss": guess.loss}, (), None, history)

"""Diagnose: name what went wrong in a training run, from its telemetry and its run record.

``diagnose(history)`` reads the same per-step rows the plots draw (gradient
norms per layer, update ratios, dead units, the loss curves) and the run
record ``history.run`` (what the network, data and optimizer were), and
returns a :class:`Diagnosis`: a list of :class:`Finding` objects, each naming
one case of :data:`CASE_NAMES`,

    "vanishing_gradients", "exploding_gradients", "dead_relu", "saturated_activations",
    "overfitting", "not_learning", "diverged", "inconclusive" or "healthy",

with the numbers that point to it (which layers, which ratio, from which
step), a confidence, the remedies that fit this run and a one-line why. It is
a second opinion, not an oracle: every threshold is a rule of thumb, named and
explained in :mod:`nnlab.diagnosis.rules`, so a learner can check the
reasoning against the plots.

The package: ``rules`` (the catalogue as data: thresholds, why, remedies),
``reading`` (the numbers read from a History, chance included), ``checks``
(one judge per case), ``remedies`` (which fit the run), ``report`` (Finding
and Diagnosis), ``corpus`` (generated runs of known ground truth, for the
benchmark). Nothing here imports matplotlib; :meth:`Diagnosis.plot` draws
through :mod:`nnlab.diagnosis_plots`.
"""

from __future__ import annotations

import numpy as np

from ..engine.training import History
from . import checks, reading
from .remedies import resolve
from .report import Diagnosis, Finding, confidence_word
from .rules import (ACCURACY_GAP, CASE_NAMES, DEAD_FRACTION, EXPLODING_RATIO,
                    LARGE_UPDATE_RATIO, LEARNED_LOSS, MIN_DENSE_LAYERS, MIN_EPOCHS, MIN_STEPS,
                    NOT_LEARNING_ACCURACY, NOT_LEARNING_LOSS, REMEDY_TEXT, ROOT_CAUSES,
                    SATURATED_STD, SYMPTOMS, TINY_UPDATE_RATIO, VAL_LOSS_RISE, VANISHING_RATIO,
                    WARNING_SIGN, WHY)

__all__ = ["CASE_NAMES", "Diagnosis", "Finding", "confidence_word", "diagnose", "WHY",
           "REMEDY_TEXT", "VANISHING_RATIO", "EXPLODING_RATIO", "LARGE_UPDATE_RATIO",
           "TINY_UPDATE_RATIO", "DEAD_FRACTION", "NOT_LEARNING_LOSS", "NOT_LEARNING_ACCURACY",
           "ACCURACY_GAP", "VAL_LOSS_RISE", "MIN_STEPS", "MIN_EPOCHS", "MIN_DENSE_LAYERS",
           "SATURATED_STD", "WARNING_SIGN", "ROOT_CAUSES", "SYMPTOMS"]

# The checks that read per-layer telemetry, named for the note a run without it gets.
TELEMETRY_CHECKS = ("vanishing gradients", "exploding gradients", "dead ReLU units",
                    "saturated activations", "the size of the updates")


def _input_scales(data) -> tuple | None:
    """The (smallest, largest) scale, max(|mean|, std), of the non-constant features of the
    inputs in ``data`` (``X`` or ``(X, y)``); None when there are none to read."""
    from ..engine.runinfo import constant_columns
    X = data[0] if isinstance(data, (tuple, list)) else data
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        return None
    means, stds = np.abs(X.mean(axis=0)), X.std(axis=0)
    varying = ~constant_columns(means, stds)
    if not varying.any():
        return None
    scale = np.maximum(stds, means)[varying]
    return float(scale.min()), float(scale.max())


def _scales_sentence(scales) -> str | None:
    if scales is None or not checks.unscaled(*scales):
        return None
    return (f"The input features are on scales from {scales[0]:.2g} to {scales[1]:.2g}: "
            "they were not standardized")


def diagnose(history: History, *, model=None, data=None) -> Diagnosis:
    """Name what went wrong in a training run, from its History; return a :class:`Diagnosis`.

    Each check reads the telemetry the plots draw and compares one number with
    a named threshold (see :mod:`nnlab.diagnosis.rules`). Chance is this run's
    own: the entropy of its training labels' class frequencies (and the
    majority class's share for accuracy), or for a regression the loss of
    predicting the targets' mean, read from ``history.run``. A run of fewer than
    ``MIN_STEPS`` steps gets an "inconclusive: too few steps" finding, not a
    verdict, unless its loss is already below ``LEARNED_LOSS`` of chance; a run trained with ``telemetry=False`` gets a note naming the
    checks that could not be made. Remedies never propose what the run already
    does, and a symptom leaves its remedies to its root cause.

    Optional extra evidence: ``model`` (the trained network) and ``data`` (the
    training inputs ``X``, or ``(X, y)``) let it count dead units on the whole
    training set and check the inputs' scales. It never raises: a check that
    cannot be made becomes a note.
    """
    if not isinstance(history, History):
        return Diagnosis(History(), [], [f"diagnose needs the History that nnlab.train returns, "
                                         f"but got {type(history).__name__}."])
    notes: list[str] = []
    whole_set, input_scales, data_scale = None, None, None
    if data is not None:
        data_scale = _guard(notes, "the input scales", lambda: _input_scales(data))
        input_scales = _scales_sentence(data_scale)
        if model is not None:
            from ..engine.telemetry import dead_units
            X = data[0] if isinstance(data, (tuple, list)) else data
            whole_set = _guard(notes, "dead units on the training set",
                               lambda: dead_units(model, X))
    if history.steps == 0 and not history.loss:
        diverged = _guard(notes, "divergence", lambda: checks.check_diverged(history))
        if diverged is None:
            notes.append("No training steps were recorded, so there is nothing to diagnose "
                         "(train for at least one step, with telemetry on).")
        return Diagnosis(history, [diverged] if diverged else [], notes)
    if not reading.has_telemetry(history):
        notes.append("This run was trained without telemetry (telemetry=False), so these checks "
                     "could not be made: " + ", ".join(TELEMETRY_CHECKS) + ". Only the loss, "
                     "accuracy and validation curves were read.")

    # Root causes first, then the symptoms they cause: the order findings are listed in.
    judges = {
        "unscaled_inputs": lambda: checks.check_unscaled(history, notes, data_scale),
        "exploding_gradients": lambda: checks.check_exploding(history, notes),
        "vanishing_gradients": lambda: checks.check_vanishing(history, notes),
        "dead_relu": lambda: checks.check_dead_relu(history, notes, whole_set),
        "saturated_activations": lambda: checks.check_saturated(history, notes),
        "diverged": lambda: checks.check_diverged(history),
        "not_learning": lambda: checks.check_not_learning(history, notes, input_scales),
        "overfitting": lambda: checks.check_overfitting(history, notes),
    }
    findings = []
    for case, judge in judges.items():
        if case == "dead_relu" and "exploding_gradients" in [f.case for f in findings]:
            continue     # units killed by exploding updates are part of that finding's story
        if case == "saturated_activations" and "unscaled_inputs" in [f.case for f in findings] \
                and history.activation_names[:1] and \
                history.activation_names[0].rstrip("0123456789") in ("relu", "leaky_relu"):
            continue     # a ReLU layer's huge outputs are the unscaled inputs, said once
        finding = _guard(notes, case.replace("_", " "), judge)
        if finding is not None:
            findings.append(finding)
    if not findings:
        short = history.steps < MIN_STEPS and not reading.loss_level(history) < LEARNED_LOSS
        final = (lambda: checks.inconclusive(history)) if short \
            else (lambda: checks.healthy(history, notes))
        finding = _guard(notes, "health", final)
        if finding is not None:
            findings.append(finding)
    return Diagnosis(history, resolve(findings), notes)


def _guard(notes: list, what: str, check):
    """Run one check; if the History is too malformed for it, say so in a note instead of raising.

    ``diagnose`` is called on whatever a learner's run produced, mid-lesson; a
    crash there would hide every other finding.
    """
    try:
        with np.errstate(all="ignore"):
            return check()
    except Exception as error:   # noqa: BLE001 - see the docstring
        notes.append(f"Could not check {what}: {type(error).__name__}: {error}")
        return None

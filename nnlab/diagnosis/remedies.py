"""Remedies that fit the run: never one already in place, never two that contradict.

Each judge names the remedies of its case that could apply (as keys of
``rules.REMEDY_TEXT``, with hints about the cause it saw); :func:`fitting`
keeps those the run record says are not in place yet, and :func:`resolve`
leaves a symptom's remedies to its root cause.
"""

from __future__ import annotations

import numpy as np

from ..engine.layers import init_std
from ..engine.training import History
from .rules import (CONFLICTS, MIN_STEPS, REMEDY_TEXT, ROOT_CAUSES, SUPERSEDED_BY,
                    SYMPTOMS, WHY)

SATURATING = ("sigmoid", "tanh")


class RunView:
    """What is in place in a run, from ``history.run`` (or the History alone, built by hand)."""

    def __init__(self, history: History):
        run = getattr(history, "run", None)
        self.run = run
        if run is not None:
            self.activations = run.activations
            self.batchnorm = run.has_batchnorm
            self.dropout = max(run.dropout_rates, default=0.0)
            self.standardized = run.inputs_standardized
            self.lr, self.clip = run.lr, run.clip_norm
            self.momentum = run.momentum
            self.dense = [layer for layer in run.layers if layer["type"] == "dense"]
        else:
            self.activations = tuple(name.rstrip("0123456789")
                                     for name in history.activation_names)
            self.batchnorm, self.dropout, self.standardized = False, 0.0, None
            self.lr, self.clip, self.dense = float(history.lr), None, []
            self.momentum = 0.0

    def numeric_init(self, larger: bool):
        """The first numeric ``init`` larger (or smaller) than He would give, else None."""
        for layer in self.dense:
            init = layer["init"]
            if isinstance(init, str):
                continue
            he = init_std("he", layer["in_features"], layer["out_features"])
            if (init > 1.5 * he) if larger else (init < he / 1.5):
                return init
        return None

    def in_place(self, action: str) -> bool:
        """True when the remedy ``action`` is already what the run does."""
        saturating = any(kind in SATURATING for kind in self.activations)
        return {
            "use_relu": not saturating,
            "add_batchnorm": self.batchnorm,
            "clip": self.clip is not None,
            "add_dropout": self.dropout > 0,
            "more_dropout": self.dropout >= 0.5 or self.dropout == 0,
            "normalize_inputs": self.standardized is not False,
            "leaky_relu": bool(self.activations) and all(k == "leaky_relu"
                                                         for k in self.activations),
            "he_init": False, "smaller_init": False,
        }.get(action, False)


def fitting(candidates, view: RunView) -> list[str]:
    """The candidate actions not already in place, in order, each once."""
    return [action for action in dict.fromkeys(candidates) if not view.in_place(action)]


def text(action: str, view: RunView, **extra) -> str:
    saturating = " or ".join(sorted({k for k in view.activations if k in SATURATING})) or \
        "sigmoid or tanh"
    init = view.numeric_init(True) or view.numeric_init(False)
    values = {"lr": view.lr if np.isfinite(view.lr) else float("nan"), "clip": view.clip or 0.0,
              "dropout": view.dropout, "init": init, "saturating": saturating,
              "min_steps": MIN_STEPS, "what": "class frequencies", **extra}
    said = REMEDY_TEXT[action].format(**values)
    if action == "lower_lr" and 0 < view.momentum < 1 and np.isfinite(view.lr):
        # Momentum m adds up past steps: in a steady direction the step is lr / (1 - m).
        said += (f" With momentum {view.momentum:g} the effective step is lr / (1 - momentum) "
                 f"= {view.lr / (1 - view.momentum):.3g}, {1 / (1 - view.momentum):.3g}x the "
                 "learning rate: lower the momentum too, or the learning rate that much more.")
    return said


def candidates(case: str, view: RunView, hints=()) -> list[str]:
    """The remedies of ``case`` that could apply, most relevant first."""
    hints = set(hints)
    if case == "unscaled_inputs":
        return ["normalize_inputs"] + (["add_batchnorm"] if "saturated" in hints else [])
    if case == "vanishing_gradients":
        found = ["use_relu"]
        if view.numeric_init(False) is not None:
            found.insert(0, "he_init")
        return found + ["add_batchnorm", "fewer_layers"]
    if case == "exploding_gradients":
        found = ["add_batchnorm", "lower_lr", "clip" if view.clip is None else "tighter_clip"]
        if view.numeric_init(True) is not None:
            found.insert(0, "he_init")
        return found
    if case == "dead_relu":
        return ["check_bias", "leaky_relu"] if "at_start" in hints else ["lower_lr", "leaky_relu"]
    if case == "overfitting":
        return ["add_dropout", "more_dropout", "more_data"]
    if case == "saturated_activations":
        found = ["normalize_inputs", "add_batchnorm"]
        if view.numeric_init(True) is not None:
            found.insert(0, "smaller_init")
        return found
    if case == "diverged":
        return ["lower_lr", "add_batchnorm", "clip" if view.clip is None else "tighter_clip"]
    if case == "inconclusive":
        return ["train_longer"]
    if case == "not_learning":
        found = []
        if "blocked" in hints:
            found.append("unblock")
        if "tiny_steps" in hints:
            found.append("raise_lr")
        if "raw_inputs" in hints or "saturated" in hints:
            found += ["normalize_inputs", "add_batchnorm"]
        if "saturated" in hints and view.numeric_init(True) is not None:
            found.append("smaller_init")
        if "no_signal" in hints:
            found.append("check_data")
        return found or ["normalize_inputs", "add_batchnorm", "check_data"]
    return []


def remedies(case: str, view: RunView, hints=(), **extra) -> tuple[tuple, tuple]:
    """``(texts, actions)``: the remedies of ``case`` that fit this run."""
    actions = fitting(candidates(case, view, hints), view)
    if case == "exploding_gradients" and "tighter_clip" in actions and (
            "clipping_binds" in hints or (view.clip is not None and view.clip <= 0.1)):
        actions.remove("tighter_clip")      # clipping harder cannot cure what clipping hides
    return tuple(text(action, view, **extra) for action in actions), tuple(actions)


def resolve(findings: list) -> list:
    """Leave each symptom's remedies to its root cause, and drop contradicting remedies.

    A symptom (diverged, not learning) of a root cause found in the same run
    keeps its evidence, loses its remedies and says which cause to fix. Then,
    of two contradicting remedies, the one of the later (less fundamental)
    finding is dropped.
    """
    from dataclasses import replace

    roots = [finding.case for finding in findings if finding.case in ROOT_CAUSES]
    resolved = []
    for finding in findings:
        if roots and finding.case in SYMPTOMS:
            cause = " and ".join(root.replace("_", " ") for root in roots)
            finding = replace(finding, remedies=(), actions=(),
                              why=f"{WHY[finding.case]} Here it is a symptom of {cause}: "
                                  "fix that first, with the remedies given for it.")
        resolved.append(finding)
    superseded = {action for root in roots for action in SUPERSEDED_BY.get(root, ())}
    if superseded:
        for index, finding in enumerate(resolved):
            if finding.case in SUPERSEDED_BY:
                continue
            keep = [i for i, action in enumerate(finding.actions) if action not in superseded]
            if len(keep) != len(finding.actions):
                resolved[index] = replace(
                    finding, remedies=tuple(finding.remedies[i] for i in keep),
                    actions=tuple(finding.actions[i] for i in keep),
                    why=f"{finding.why} Standardize the inputs first: they are the root cause "
                        "here, and a lower learning rate or clipping would only hide it.")
    taken: set = set()
    final = []
    for finding in resolved:
        keep = [i for i, action in enumerate(finding.actions)
                if not any({action, other} == set(pair) for pair in CONFLICTS for other in taken)]
        if len(keep) != len(finding.actions):
            finding = replace(finding, remedies=tuple(finding.remedies[i] for i in keep),
                              actions=tuple(finding.actions[i] for i in keep))
        taken.update(finding.actions)
        final.append(finding)
    return final

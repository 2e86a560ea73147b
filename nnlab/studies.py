"""Studies: the measurements a lesson makes beyond one run of an experiment.

A lesson's broken and fixed runs come from ``experiments``. Some questions need
more than one run, or a run done differently: does a network whose units died
recover at a safe learning rate? What does a unit that is dead from the start
cost? How does validation accuracy move with the dropout rate? Each study here
answers one of them, from ``experiments`` configurations and with the numbers
``metrics`` defines, so a lesson, its claim tests and its exercises read the
same values. Every study is deterministic: its seeds are its configurations'.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import metrics
from .engine import datasets
from .engine.optim import SGD
from .engine.training import History, evaluate, train
from .experiments import Experiment, outcome


# ---------------------------------------------------------------------------
# Lesson 03: what dead units cost, and whether they come back
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Continued:
    """A finished run trained further, from its final weights, at another learning rate.

    ``history`` is the continuation's own History (its epochs count from 1 again);
    ``train_accuracy`` is measured in evaluation mode at its end; ``dead_before`` and
    ``dead_after`` are :func:`metrics.dead_fraction` per hidden layer at the end of the
    first run and of the continuation; ``revived`` counts, per hidden layer, the units
    dead in the first run's last epoch that are alive in the continuation's last epoch.
    """

    history: History
    train_accuracy: float
    dead_before: np.ndarray
    dead_after: np.ndarray
    revived: np.ndarray


def _dead_units_in_last_epoch(model, X) -> list[np.ndarray]:
    """Per ReLU layer, a boolean per unit: output 0 on every example of ``X`` (training mode
    off, so dropout does not count)."""
    model.forward(X, training=False)
    return [~(layer.output != 0).any(axis=0) for layer in model.relu_layers]


@lru_cache(maxsize=32)
def continued(config: Experiment, lr: float, epochs: int = 30) -> Continued:
    """``config``'s run, then ``epochs`` more epochs at learning rate ``lr`` (same batches' seed).

    The first run is ``experiments.outcome(config)`` (left untouched: the model is copied).
    """
    first = outcome(config)
    if first.history.diverged:
        raise ValueError(f"the run {config.describe()} diverged at step "
                         f"{first.history.diverged_at}: there are no weights to continue from. "
                         "Pick a configuration that trains to its last epoch.")
    (X, y), _ = config.data()
    model = copy.deepcopy(first.model)
    dead_first = _dead_units_in_last_epoch(model, X)
    history = train(model, X, y, epochs=epochs, batch_size=config.batch_size,
                    optimizer=SGD(lr, momentum=config.momentum, clip_norm=config.clip_norm),
                    seed=config.seed)
    dead_then = _dead_units_in_last_epoch(model, X)
    revived = np.array([int((before & ~after).sum())
                        for before, after in zip(dead_first, dead_then)])
    return Continued(history, float(evaluate(model, X, y)[1]),
                     np.asarray(first.history.epoch_dead_fraction[-1], dtype=float),
                     np.asarray(history.epoch_dead_fraction[-1], dtype=float), revived)


@dataclass(frozen=True)
class KilledUnits:
    """A fresh run in which ``killed`` hidden units were dead from the first step.

    ``alive`` units were left as initialised; ``dead_fraction`` is
    :func:`metrics.dead_fraction` at the end; ``train_accuracy`` is measured in
    evaluation mode at the end.
    """

    killed: int
    alive: int
    history: History
    train_accuracy: float
    dead_fraction: float


@lru_cache(maxsize=64)
def with_units_killed(config: Experiment, killed: int) -> KilledUnits:
    """Train ``config`` (one hidden layer) with its first ``killed`` hidden units dead from the start.

    A unit is killed by setting its bias below minus its largest pre-activation over the
    training set, so it outputs 0 for every training example; nothing else changes
    (same weights, same batches, same learning rate and epochs). This is the controlled
    experiment: the same network and schedule, some units dead and the rest alive.
    """
    if len(config.hidden) != 1:
        raise ValueError(f"with_units_killed takes a network with one hidden layer, but "
                         f"{config.describe()} has {len(config.hidden)}.")
    width = config.hidden[0]
    if not 0 <= killed < width:
        raise ValueError(f"killed must be a whole number from 0 to {width - 1} (at least one "
                         f"unit must stay alive), but it is {killed!r}.")
    (X, y), _ = config.data()
    model = config.build(X.shape[1], int(y.max()) + 1)
    dense = model.dense_layers[0]
    if killed:
        pre_activation = X @ dense.params["W"][:, :killed] + dense.params["b"][:killed]
        dense.params["b"][:killed] -= pre_activation.max(axis=0) + 1.0
    history = train(model, X, y, epochs=config.epochs, batch_size=config.batch_size,
                    optimizer=SGD(config.lr, momentum=config.momentum,
                                  clip_norm=config.clip_norm), seed=config.seed)
    return KilledUnits(killed, width - killed, history, float(evaluate(model, X, y)[1]),
                       metrics.dead_fraction(history))


# ---------------------------------------------------------------------------
# Lesson 04: the ceiling, early stopping, the dropout-rate sweep, clipping
# ---------------------------------------------------------------------------

def label_ceiling(config: Experiment) -> float:
    """The validation accuracy of a classifier that knows every example's true class.

    ``config.label_noise`` flips labels in the validation set too: a prediction of the
    true class is marked wrong wherever the label was flipped. This is the share of
    validation labels left unflipped (about 1 - label_noise): no network can be expected
    to score above it, except by luck on a few examples. 1.0 without label noise;
    ``nan`` without a validation set.
    """
    if not config.val_fraction:
        return float("nan")
    clean = config.replace(label_noise=0.0)
    X, y_true = datasets.DATASETS[config.dataset](n=config.n, noise=config.noise, seed=config.seed)
    if not config.label_noise:
        return 1.0
    y_given = datasets.flip_labels(y_true, config.label_noise, seed=config.seed + 1)
    # The split is the one config.data() makes (it depends on the given labels and the seed);
    # the true class travels with each example as an extra column.
    _, (carried, y_val) = datasets.train_val_split(np.column_stack([X, y_true]), y_given,
                                                   config.val_fraction, seed=clean.seed)
    return float(np.mean(carried[:, -1].astype(int) == y_val))


@dataclass(frozen=True)
class EarlyStop:
    """Early stopping read off a run: keep the weights of the epoch with the lowest validation loss.

    ``epoch`` counts from 1; ``val_loss`` and ``val_accuracy`` are that epoch's (evaluation
    mode); ``final_val_loss`` is the last epoch's, for comparison.
    """

    epoch: int
    val_loss: float
    val_accuracy: float
    final_val_loss: float


def early_stop(run) -> EarlyStop:
    """:class:`EarlyStop` of a run with a validation set (a History or an Outcome).

    What early stopping with unlimited patience would keep: the network after the epoch
    whose validation loss is lowest. Raises ValueError without a validation set.
    """
    history = getattr(run, "history", run)
    losses = np.asarray(history.val_loss, dtype=float)
    if losses.size == 0 or not np.isfinite(losses).any():
        raise ValueError("early stopping reads the validation loss, but this run has none: "
                         "give the experiment a val_fraction (or train with val=(X_val, y_val)).")
    best = int(np.nanargmin(losses))
    return EarlyStop(best + 1, float(losses[best]), float(history.val_accuracy[best]),
                     float(losses[-1]))


SWEEP_RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def dropout_sweep(config: Experiment, rates=SWEEP_RATES) -> dict:
    """Rate -> ``experiments.outcome`` of ``config`` with that dropout rate, for each rate.

    At the lesson's seed the dropout case's rates come from the run store (instant).
    """
    return {float(rate): outcome(config.replace(dropout=float(rate))) for rate in rates}


def best_rate(sweep: dict) -> float:
    """The rate of a :func:`dropout_sweep` with the highest :func:`metrics.validation_accuracy`."""
    return max(sweep, key=lambda rate: metrics.validation_accuracy(sweep[rate]))


def clipped_share(run, clip_norm: float) -> float:
    """The share of a run's steps whose gradient norm (before clipping) was above ``clip_norm``.

    ``History.global_grad_norm`` is each step's ||g|| over every parameter, before the
    optimizer clipped it: the steps where clipping at ``clip_norm`` changed the update.
    """
    norms = np.asarray(getattr(run, "history", run).global_grad_norm, dtype=float)
    return float(np.mean(norms > clip_norm)) if norms.size else float("nan")


def largest_gradient_norm(run) -> float:
    """The largest gradient norm of any step of a run, before clipping."""
    norms = np.asarray(getattr(run, "history", run).global_grad_norm, dtype=float)
    return float(np.nanmax(norms)) if norms.size else float("nan")


def chance_loss(n_classes: int) -> float:
    """ln C: the cross-entropy of a network that gives every one of C classes probability 1/C."""
    return math.log(n_classes)


# ---------------------------------------------------------------------------
# In words: one line per study, with the names nnlab.metrics gives its numbers
# ---------------------------------------------------------------------------

def killed_units_text(run: KilledUnits) -> str:
    """E.g. "13 of 64 units alive (51 killed): training accuracy after training 0.99"."""
    return (f"{run.alive:2d} of {run.alive + run.killed} units alive ({run.killed} killed): "
            f"{metrics.NAMES['training_accuracy_after']} {run.train_accuracy:.2f}, "
            f"{metrics.dead_fraction_text(run.history)}")


def continued_text(run: Continued, lr: float) -> str:
    """Dead fraction per hidden layer before and after continuing, units revived, accuracy."""
    before = ", ".join(f"{value:.0%}" for value in run.dead_before)
    after = ", ".join(f"{value:.0%}" for value in run.dead_after)
    return (f"continued {len(run.history.loss)} epochs at lr {lr:g}: dead hidden units "
            f"{before} -> {after} (per hidden layer), units that came back "
            f"{', '.join(map(str, run.revived))}, {metrics.NAMES['training_accuracy_after']} "
            f"{run.train_accuracy:.2f}")


def early_stop_text(run) -> str:
    """Where early stopping would stop a run, and what it would keep."""
    stop = early_stop(run)
    return (f"lowest validation loss {stop.val_loss:.2f} after epoch {stop.epoch} "
            f"(validation accuracy there {stop.val_accuracy:.2f}); last epoch's validation loss "
            f"{stop.final_val_loss:.2f}")

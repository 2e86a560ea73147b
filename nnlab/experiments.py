"""The failure-case experiments: each a small frozen configuration, broken and fixed.

One :class:`Experiment` fully describes a run: the data set, the network, the
optimizer and the seed. The same objects drive the labs, the static figures,
the tests and the benchmarks. :func:`run` trains a configuration and caches
its History, so asking again for a configuration already seen is instant.

``CASES`` maps each lesson's case to its configurations: ``"broken"``, the
failure the lesson shows; ``"fixed"``, the remedy the lesson text gives; and
further named variants (other remedies, asides).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from . import metrics
from .engine import datasets
from .engine._checks import check_choice
from .engine.models import mlp
from .engine.optim import SGD
from .engine.telemetry import dead_units
from .engine.training import History, evaluate, train

# The learning rates a lab's slider offers (a lesson's own rate is added to them).
LEARNING_RATES = (0.0001, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
# A lab can be played through at most this many epochs after the first (0, before training).
MOST_FRAMES = 50


@dataclass(frozen=True)
class Experiment:
    """Everything that defines one training run. Frozen, so it can be cached and compared.

    ``hidden`` lists the hidden layer widths (input and output widths come from
    the data). ``input_scales`` multiplies each input feature (raw data on very
    different scales); ``label_noise`` is the fraction of labels flipped to a
    wrong class (in training and validation data alike); ``noise_features`` appends
    that many columns of pure noise to the inputs; ``standardize`` rescales inputs to mean 0, std 1 using
    the training set's statistics. ``seed`` draws the data, the weights, the
    shuffling and the dropout masks.
    """

    dataset: str = "spirals"
    n: int = 300
    noise: float = 0.1
    label_noise: float = 0.0
    noise_features: int = 0
    val_fraction: float = 0.0
    input_scales: tuple | None = None
    standardize: bool = False
    hidden: tuple = (32, 32)
    activation: str = "relu"
    init: str | float = "he"
    bias: float = 0.0
    batchnorm: bool = False
    dropout: float = 0.0
    lr: float = 0.1
    momentum: float = 0.0
    clip_norm: float | None = None
    epochs: int = 30
    batch_size: int = 32
    seed: int = 0
    title: str = field(default="", compare=False)

    def replace(self, **changes) -> "Experiment":
        """A copy with some settings changed, e.g. ``config.replace(activation="relu")``."""
        return replace(self, **changes)

    @property
    def depth(self) -> int:
        return len(self.hidden)

    def data(self):
        """``(X_train, y_train), (X_val, y_val)``; the validation pair is None without ``val_fraction``."""
        check_choice("dataset", self.dataset, tuple(datasets.DATASETS))
        X, y = datasets.DATASETS[self.dataset](n=self.n, noise=self.noise, seed=self.seed)
        if self.noise_features:
            X = datasets.add_noise_features(X, self.noise_features, seed=self.seed + 2)
        if self.label_noise:
            y = datasets.flip_labels(y, self.label_noise, seed=self.seed + 1)
        if self.input_scales is not None:
            X = datasets.stretch(X, self.input_scales)
        val = None
        if self.val_fraction:
            (X, y), val = datasets.train_val_split(X, y, self.val_fraction, seed=self.seed)
        if self.standardize:
            if val is not None:
                val = (datasets.standardize(val[0], reference=X), val[1])
            X = datasets.standardize(X)
        return (X, y), val

    def build(self, n_inputs: int, n_classes: int):
        """The untrained network this configuration describes."""
        return mlp([n_inputs, *self.hidden, n_classes], activation=self.activation,
                   init=self.init, batchnorm=self.batchnorm, dropout=self.dropout,
                   bias=self.bias, seed=self.seed)

    def describe(self) -> str:
        """One line a learner can read: the settings that make this run what it is."""
        parts = [f"{self.depth} hidden x {self.hidden[0]}" if len(set(self.hidden)) == 1
                 else f"hidden {list(self.hidden)}", self.activation,
                 f"init {self.init}", f"lr {self.lr:g}"]
        if self.batchnorm:
            parts.append("batchnorm")
        if self.dropout:
            parts.append(f"dropout {self.dropout:g}")
        if self.bias:
            parts.append(f"bias {self.bias:g}")
        if self.clip_norm is not None:
            parts.append(f"clip {self.clip_norm:g}")
        if self.input_scales is not None:
            parts.append("inputs x" + "/".join(f"{s:g}" for s in self.input_scales))
        if self.standardize:
            parts.append("standardized")
        return ", ".join(parts)


@dataclass(eq=False)
class Outcome:
    """A finished run: its History and the measurements a lesson needs beyond it.

    ``weight_change`` is, per Dense layer, ||W_after - W_before|| / ||W_before||;
    ``dead_units`` is, per ReLU-family layer, the fraction of units dead on the
    whole training set after training; ``train_accuracy`` and ``val_accuracy``
    are measured in evaluation mode at the end (nan where there is no such set).
    """

    config: Experiment
    history: History
    model: object
    weight_change: np.ndarray
    dead_units: np.ndarray
    train_accuracy: float
    val_accuracy: float
    train_loss: float


@lru_cache(maxsize=128)
def outcome(config: Experiment) -> Outcome:
    """Train ``config`` (once; later calls with an equal config return the cached result).

    A few slow runs the labs need at once ship with the course, already trained
    (``nnlab.runstore``, written by ``make runs``): those are read, not trained, and
    are the same numbers, bit for bit.
    """
    from . import runstore
    stored = runstore.load(config)
    return stored if stored is not None else trained(config)


def trained(config: Experiment) -> Outcome:
    """Train ``config`` now (no cache, no store)."""
    (X, y), val = config.data()
    n_classes = int(y.max()) + 1
    model = config.build(X.shape[1], n_classes)
    before = [layer.params["W"].copy() for layer in model.dense_layers]
    optimizer = SGD(config.lr, momentum=config.momentum, clip_norm=config.clip_norm)
    history = train(model, X, y, epochs=config.epochs, batch_size=config.batch_size,
                    optimizer=optimizer, val=val, seed=config.seed,
                    snapshot_epochs=frame_epochs(config.epochs))
    with np.errstate(all="ignore"):
        change = np.array([np.linalg.norm(layer.params["W"] - w0) / np.linalg.norm(w0)
                           for layer, w0 in zip(model.dense_layers, before)])
    train_loss, train_accuracy = evaluate(model, X, y) if not history.diverged else (np.nan, np.nan)
    val_accuracy = (evaluate(model, *val)[1] if val is not None and not history.diverged
                    else float("nan"))
    return Outcome(config, history, model, change, dead_units(model, X), train_accuracy,
                   val_accuracy, train_loss)


def frame_step(epochs: int) -> int:
    """The spacing of the epochs a lab shows: the smallest divisor of ``epochs`` that
    leaves at most ``MOST_FRAMES`` frames after epoch 0 (so the last epoch is one)."""
    return next(step for step in range(1, epochs + 1)
                if epochs % step == 0 and epochs // step <= MOST_FRAMES)


def frame_epochs(epochs: int) -> list[int]:
    """The epochs a lab can show for a run of ``epochs`` epochs: 0 (before training) to the last."""
    return list(range(0, epochs + 1, frame_step(epochs)))


def step_at_epoch(history: History, epoch: int) -> int:
    """The telemetry row that shows the network after ``epoch`` epochs: the first step of
    the next epoch (its gradient is taken at those weights), or the last step recorded."""
    return max(min(epoch * history.steps_per_epoch, history.steps - 1), 0)


def snapshot_at(history: History, epoch: int) -> int:
    """The latest epoch at or before ``epoch`` whose parameters the run kept (0 if none)."""
    kept = history.snapshot_epochs
    index = int(np.searchsorted(kept, epoch, side="right")) - 1
    return int(kept[max(index, 0)]) if kept.size else 0


def weight_change_at(result: Outcome, epoch: int) -> np.ndarray:
    """``weight_change`` after ``epoch`` epochs: per Dense layer, ||W_epoch - W_0|| / ||W_0||
    (from the kept parameters, in float32; the last value is ``result.weight_change`` to
    float32 precision)."""
    history = result.history
    if not history.snapshot_epochs.size:
        return result.weight_change
    start, now = history.parameters_at(0), history.parameters_at(snapshot_at(history, epoch))
    names = [f"{layer.name}.W" for layer in result.model.dense_layers]
    with np.errstate(all="ignore"):
        return np.array([np.linalg.norm(now[name] - start[name]) / np.linalg.norm(start[name])
                         for name in names])


def run(config: Experiment) -> History:
    """The History of ``config``'s run, trained once and cached."""
    return outcome(config).history


# ---------------------------------------------------------------------------
# Measurements the lessons quote: defined once, in nnlab.metrics
# ---------------------------------------------------------------------------

# The lessons' numbers are defined in nnlab.metrics; these names are kept for the notebooks
# and outside checks that use them.
hidden_dead_fraction = metrics.dead_fraction
generalization_gap = metrics.generalization_gap
epochs_to_accuracy = metrics.epochs_to_accuracy


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One lesson's failure: its configurations and what the lab plots."""

    name: str
    title: str
    configs: dict          # variant name -> Experiment; always has "broken" and "fixed"
    statistic: str = "grad_norms"

    @property
    def broken(self) -> Experiment:
        return self.configs["broken"]

    @property
    def fixed(self) -> Experiment:
        return self.configs["fixed"]


_VANISHING = Experiment(hidden=(32,) * 6, activation="sigmoid", init="xavier",
                        standardize=True, lr=0.1, epochs=30, title="Deep sigmoid net")
_EXPLODING = Experiment(hidden=(32,) * 6, activation="relu", init=0.8, standardize=True,
                        lr=0.1, epochs=30, title="Deep ReLU net, large initial weights")
_DEAD = Experiment(hidden=(64,), activation="relu", standardize=True, lr=5.0, epochs=30,
                   title="ReLU net, learning rate 5")
_DROPOUT = Experiment(dataset="moons", n=300, noise=0.2, label_noise=0.3, val_fraction=250 / 300,
                      hidden=(32, 32), standardize=True, lr=1.0, epochs=1000, batch_size=50,
                      # Rates near 1 scale the kept units up to 10x; clipping keeps those runs
                      # from diverging at this learning rate (it never binds at rates 0 to 0.5).
                      clip_norm=5.0,
                      title="Over-sized net, 50 examples, 30% wrong labels")
_BATCHNORM = Experiment(hidden=(32,) * 6, activation="relu", standardize=True, lr=0.02,
                        epochs=40, title="Deep ReLU net")
_STUCK = Experiment(hidden=(32,) * 6, activation="sigmoid", init="xavier", standardize=True,
                    lr=0.1, epochs=60, title="Deep sigmoid net, stuck")
_RAW = Experiment(hidden=(32, 32), activation="tanh", init="xavier", input_scales=(100.0, 0.01),
                  lr=0.1, epochs=30, title="Inputs on scales 100 and 0.01")

CASES = {
    "vanishing": Case("vanishing", "Vanishing gradients", {
        "broken": _VANISHING,
        "fixed": _VANISHING.replace(activation="relu", init="he", title="Deep ReLU net, He init"),
    }),
    "exploding": Case("exploding", "Exploding gradients", {
        "broken": _EXPLODING,
        "fixed": _EXPLODING.replace(batchnorm=True, title="... with batch normalization"),
        "lower_lr": _EXPLODING.replace(lr=1e-3, title="... with learning rate 0.001"),
        "clipping": _EXPLODING.replace(clip_norm=1.0, title="... with gradient clipping at 1"),
    }, statistic="bias_grad_norms"),
    "dead_relu": Case("dead_relu", "Dead ReLU units", {
        "broken": _DEAD,
        "fixed": _DEAD.replace(lr=0.5, title="ReLU net, learning rate 0.5"),
        "leaky_relu": _DEAD.replace(activation="leaky_relu", title="LeakyReLU net, learning rate 5"),
    }),
    "dropout": Case("dropout", "Dropout", {
        "broken": _DROPOUT,
        "fixed": _DROPOUT.replace(dropout=0.5, title="... with dropout 0.5"),
        "everything": _DROPOUT.replace(dropout=1.0, title="... with dropout 1.0"),
    }),
    "batchnorm": Case("batchnorm", "Batch normalization", {
        "broken": _BATCHNORM,
        "fixed": _BATCHNORM.replace(batchnorm=True, title="Deep ReLU net with batch normalization"),
        "stuck": _STUCK,
        "unstuck": _STUCK.replace(batchnorm=True, title="Deep sigmoid net with batch normalization"),
        "raw_inputs": _RAW,
        "standardized": _RAW.replace(standardize=True, title="Standardized inputs"),
    }),
}


def case(name: str) -> Case:
    """The case called ``name`` (one of ``CASES``)."""
    check_choice("case", name, tuple(CASES))
    return CASES[name]


# ---------------------------------------------------------------------------
# Lesson 5's measurements: batch norm against the learning rate and the batch size
# ---------------------------------------------------------------------------

# The learning rates lesson 5 sweeps, and the batch sizes it compares.
BATCHNORM_SWEEP_RATES = (0.02, 0.2, 1.0, 2.0)
BATCHNORM_BATCH_SIZES = (4, 32)


def learning_rate_sweep(config: Experiment, rates=BATCHNORM_SWEEP_RATES,
                        target: float = 0.9) -> dict:
    """``{rate: (epochs without batch norm, epochs with it)}`` to reach ``target``.

    Each entry is :func:`nnlab.metrics.epochs_to_accuracy_text` of ``config`` at that
    learning rate, trained without and with batch normalization (same seed, data,
    network and epochs): "12", or "never in 40 epochs", or "never (the run diverged ...)".
    """
    return {rate: tuple(metrics.epochs_to_accuracy_text(
                outcome(config.replace(lr=rate, batchnorm=batchnorm)), target)
                for batchnorm in (False, True))
            for rate in rates}


def batch_size_runs(config: Experiment, batch_sizes=BATCHNORM_BATCH_SIZES,
                    epochs: int = 10) -> dict:
    """``{(batch_size, batchnorm): Outcome}``: ``config`` for ``epochs`` epochs at each batch
    size, without and with batch normalization (everything else the same)."""
    return {(size, batchnorm): outcome(config.replace(batch_size=size, batchnorm=batchnorm,
                                                      epochs=epochs))
            for size in batch_sizes for batchnorm in (False, True)}


def first_activation_at_init(config: Experiment) -> np.ndarray:
    """The first activation layer's outputs on the whole training set, before any training:
    shape (examples, units) (the network ``config`` builds, with its seed's initial weights,
    the whole set as one batch in training mode)."""
    (X, y), _ = config.data()
    model = config.build(X.shape[1], int(y.max()) + 1)
    activations = X
    for layer in model.layers:     # training mode: a BatchNorm normalizes with the batch's statistics
        activations = layer.forward(activations, training=True)
        if layer in model.activation_layers:
            return activations
    raise ValueError(f"{config.describe()}: the network has no activation layer.")


def one_example_scores(result: Outcome, index: int = 0, batch_size: int = 32) -> dict:
    """Class scores, shape (classes,), of training example ``index`` of a trained network with
    batch normalization, four ways (on a copy, so the running statistics stay as trained).

    ``"training, batch A"`` and ``"training, batch B"``: in training mode, inside two batches
    of ``batch_size`` examples that share only this one; ``"evaluation, alone"`` and
    ``"evaluation, in batch A"``: in evaluation mode (running statistics).
    """
    import copy
    (X, _), _ = result.config.data()
    model = copy.deepcopy(result.model)
    others = np.delete(np.arange(len(X)), index)
    batch_a = np.concatenate([[index], others[:batch_size - 1]])
    batch_b = np.concatenate([[index], others[batch_size - 1:2 * (batch_size - 1)]])
    # Evaluation first: a training-mode pass moves the copy's running statistics.
    alone = model.forward(X[[index]], training=False)[0]
    in_batch = model.forward(X[batch_a], training=False)[0]
    return {"training, batch A": model.forward(X[batch_a], training=True)[0],
            "training, batch B": model.forward(X[batch_b], training=True)[0],
            "evaluation, alone": alone, "evaluation, in batch A": in_batch}

"""One experiment and its run: the frozen configuration (:class:`Experiment`), what a
finished run holds (:class:`Outcome`), and :func:`trained`, which trains one.

The course's cases and the cache of their runs are in ``nnlab.experiments``, which
re-exports every name here; ``nnlab.runstore`` reads and writes finished runs. This
module imports neither, so the two do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from .engine import datasets
from .engine._checks import check_choice, check_positive_int
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
        """A copy with some settings changed, e.g. ``config.replace(activation="relu")``.

        A setting that does not exist (a typo such as ``activaton``) raises a TypeError
        that names it and lists the valid settings."""
        check_settings(type(self), changes)
        return replace(self, **changes)

    def check(self) -> "Experiment":
        """Refuse, with a ValueError a learner can act on, settings no run can have
        (``epochs=0``, ``batch_size=0``, ``n=0``); return the configuration otherwise."""
        for name in ("epochs", "batch_size", "n"):
            value = getattr(self, name)
            try:
                check_positive_int(name, value)
            except (TypeError, ValueError) as error:
                raise ValueError(f"This experiment cannot run: {error} A run needs at least "
                                 f"one epoch, one example and a batch of one.") from None
        return self

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


def check_settings(settings_type, changes: dict) -> None:
    """Every name in ``changes`` must be a setting of the dataclass ``settings_type``:
    otherwise a TypeError names the unknown one(s), suggests the closest, and lists them all."""
    valid = [f.name for f in fields(settings_type)]
    unknown = [name for name in changes if name not in valid]
    if not unknown:
        return
    import difflib
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    noun = "setting" if len(unknown) == 1 else "settings"
    raise TypeError(f"{settings_type.__name__} has no {noun} {', '.join(hints)}. The valid "
                    f"settings are: {', '.join(valid)}.")


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


def trained(config: Experiment) -> Outcome:
    """Train ``config`` now (no cache, no store)."""
    config.check()
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
    check_positive_int("epochs", epochs)
    return next(step for step in range(1, epochs + 1)
                if epochs % step == 0 and epochs // step <= MOST_FRAMES)


def frame_epochs(epochs: int) -> list[int]:
    """The epochs a lab can show for a run of ``epochs`` epochs: 0 (before training) to the last."""
    return list(range(0, epochs + 1, frame_step(epochs)))

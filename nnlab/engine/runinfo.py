"""The run record: what a training run was, written down once so that nothing has to guess it.

``describe_run`` reads the model, the data, the optimizer and the loss at the
start of :func:`~nnlab.engine.training.train` and returns a :class:`RunInfo`,
which the History keeps as ``history.run``. ``diagnose`` reads it to know the
chance level of this very data set (the class counts, or the targets'
variance) and which remedies are already in place (batch norm, clipping, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import Activation, BatchNorm, Dense, Dropout, LeakyReLU, init_std

# Inputs "look standardized" when every feature's mean is within this distance of 0
# and its standard deviation within this range of 1 (standardize() gives exactly 0 and 1;
# raw measurements in metres or dollars are far outside).
STANDARDIZED_MEAN = 0.5
STANDARDIZED_STD = (0.5, 2.0)


@dataclass(frozen=True)
class RunInfo:
    """What one training run was.

    ``layers``: one dict per layer, in order, with its ``type`` ("dense",
    "batchnorm", "relu", "leaky_relu", "sigmoid", "tanh", "dropout") and settings
    (a Dense layer's ``in_features``, ``out_features``, ``init`` and ``init_std``;
    a LeakyReLU's ``slope``; a Dropout's ``rate``; a BatchNorm's ``momentum``).
    ``optimizer``: its ``name``, ``lr`` (None if it has none), ``momentum`` and
    ``clip_norm`` (None: off).
    ``batch_size`` is the one used (at most ``n_examples``); ``dtype`` the
    model's; ``loss`` the loss's name ("cross-entropy" or "mean squared error").
    ``class_counts`` (classification) counts the training labels of each class,
    ``target_variance`` (regression) is the variance of the targets, averaged
    over their columns: the loss of always predicting their mean (None for
    classification). ``input_scale`` is the (smallest, largest) feature scale,
    max(|mean|, std), over the features that are not constant (empty without examples,
    or when every feature is constant),
    and ``inputs_standardized`` says whether every non-constant feature had a mean within
    ``STANDARDIZED_MEAN`` of 0 and a standard deviation within ``STANDARDIZED_STD``.
    No field holds NaN, so two records of the same run compare equal.
    """

    layers: tuple = ()
    optimizer: dict | None = None
    batch_size: int = 0
    n_examples: int = 0
    dtype: str = ""
    loss: str = ""
    classification: bool = True
    class_counts: tuple = ()
    target_variance: float | None = None
    input_scale: tuple = ()
    inputs_standardized: bool = False

    # Questions diagnose asks --------------------------------------------------
    @property
    def activations(self) -> tuple:
        """The activation type of every activation layer, e.g. ("relu", "relu")."""
        return tuple(layer["type"] for layer in self.layers if "activation" in layer)

    @property
    def has_batchnorm(self) -> bool:
        return any(layer["type"] == "batchnorm" for layer in self.layers)

    @property
    def dropout_rates(self) -> tuple:
        return tuple(layer["rate"] for layer in self.layers if layer["type"] == "dropout")

    @property
    def inits(self) -> tuple:
        """Each Dense layer's ``init`` as given ("he", "xavier", "lecun" or a number)."""
        return tuple(layer["init"] for layer in self.layers if layer["type"] == "dense")

    @property
    def lr(self) -> float:
        """The optimizer's learning rate (NaN if it has none)."""
        lr = self.optimizer.get("lr") if self.optimizer else None
        return float(lr) if lr is not None else float("nan")

    @property
    def clip_norm(self):
        return self.optimizer.get("clip_norm") if self.optimizer else None

    @property
    def momentum(self) -> float:
        return float(self.optimizer.get("momentum", 0.0)) if self.optimizer else 0.0


def _layer_record(layer) -> dict:
    record = {"type": type(layer).name, "name": getattr(layer, "name", "")}
    if isinstance(layer, Dense):
        record.update(in_features=layer.in_features, out_features=layer.out_features,
                      init=layer.init,
                      init_std=init_std(layer.init, layer.in_features, layer.out_features))
    elif isinstance(layer, Activation):
        record["activation"] = True
        if isinstance(layer, LeakyReLU):
            record["slope"] = layer.slope
    elif isinstance(layer, Dropout):
        record["rate"] = layer.rate
    elif isinstance(layer, BatchNorm):
        record["momentum"] = layer.momentum
    return record


def constant_columns(means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """Which features are constant (their spread is rounding error next to their size)."""
    return ~(stds > 1e-12 * np.maximum(np.abs(means), 1.0))


def describe_run(model, X: np.ndarray, y: np.ndarray, *, batch_size: int, optimizer,
                 loss) -> RunInfo:
    """The :class:`RunInfo` of training ``model`` on inputs ``X`` (n, features) and targets ``y``.

    ``y`` is (n,) integer labels for a classification loss, else (n,) or (n, outputs)
    targets. ``batch_size`` is clipped to n, as ``train`` does.
    """
    X = np.asarray(X)
    n = int(X.shape[0])
    classification = bool(getattr(loss, "classification", False))
    counts, variance = (), None
    if classification:
        counts = tuple(int(c) for c in np.bincount(np.asarray(y, dtype=np.intp),
                                                   minlength=model.out_features))
    elif n:
        targets = np.asarray(y, dtype=np.float64).reshape(n, -1)
        variance = float(targets.var(axis=0).mean())
    with np.errstate(all="ignore"):
        means = np.abs(X.mean(axis=0, dtype=np.float64)) if n else np.zeros(0)
        stds = X.std(axis=0, dtype=np.float64) if n else np.zeros(0)
    # A constant column (border pixels, a column of ones, what standardize() makes of a
    # constant feature) has no scale to judge: it is left out of both readings.
    varying = ~constant_columns(means, stds)
    means, stds = means[varying], stds[varying]
    scales = np.maximum(means, stds)
    low, high = STANDARDIZED_STD
    standardized = bool(scales.size and np.all(means <= STANDARDIZED_MEAN)
                        and np.all((stds >= low) & (stds <= high)))
    settings = {"name": type(optimizer).__name__,
                "lr": float(optimizer.lr) if hasattr(optimizer, "lr") else None,
                "momentum": float(getattr(optimizer, "momentum", 0.0)),
                "clip_norm": getattr(optimizer, "clip_norm", None)}
    return RunInfo(
        layers=tuple(_layer_record(layer) for layer in model.layers), optimizer=settings,
        batch_size=int(min(batch_size, n)), n_examples=n, dtype=str(model.dtype),
        loss=getattr(loss, "name", type(loss).__name__), classification=classification,
        class_counts=counts, target_variance=variance,
        input_scale=(float(scales.min()), float(scales.max())) if scales.size else (),
        inputs_standardized=standardized)

"""The training loop, and the History it returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_features, check_labels, check_number, check_positive_int, check_rng
from .layers import Dropout
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .models import Sequential
from .optim import SGD
from .snapshots import Snapshots, unpack
from .telemetry import Recorder

# A loss that grows this many times above where it started (or above 1, whichever
# is larger) has blown up: it will not come back down on its own.
BLOWUP_FACTOR = 100.0


@dataclass(eq=False)
class History:
    """Everything a training run measured.

    Per epoch (lists of floats): ``loss`` and ``accuracy`` (the mean over that
    epoch's batches in training mode, i.e. what the optimizer saw), and
    ``val_loss`` and ``val_accuracy`` (evaluation mode; empty without ``val``).
    ``accuracy`` is empty for a regression loss.

    Per step (NumPy arrays, one row per gradient step; row 0 is measured at
    initialisation, before the first update):
    ``step_loss`` (steps,); ``grad_norms`` (||dL/dW||), ``bias_grad_norms`` (||dL/db||,
    or ||dL/dbeta|| of a BatchNorm that follows the layer), ``update_ratios``
    (steps, Dense layers, named by ``layer_names``); ``activation_mean``,
    ``activation_std`` (steps, activation layers, ``activation_names``);
    ``dead_fraction`` (steps, ReLU-family layers, ``relu_names``);
    ``global_grad_norm`` (steps,), before any clipping.

    ``diverged_at`` is the step at which the loss became non-finite or blew up
    (None if it never did) and ``diverged_loss`` the loss seen there (that step
    is not applied, so it is not in ``step_loss``); ``message`` says in words how
    the run ended.

    With ``train(..., snapshot_epochs=...)``: ``snapshot_epochs`` (the epochs whose
    parameters were kept, 0 = before training), ``snapshots`` (one row per such
    epoch) and ``snapshot_layout``; read them with :meth:`parameters_at`.
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    global_grad_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grad_norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    bias_grad_norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    update_ratios: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    activation_mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    activation_std: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    dead_fraction: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    layer_names: list = field(default_factory=list)
    activation_names: list = field(default_factory=list)
    relu_names: list = field(default_factory=list)
    diverged_at: int | None = None
    diverged_loss: float = float("nan")
    message: str = ""
    steps_per_epoch: int = 0
    epochs: int = 0
    n_classes: int = 0
    lr: float = float("nan")
    snapshot_epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    snapshots: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    snapshot_layout: list = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.step_loss.shape[0])

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def first_last_ratio(self, step: int = 0, which: str = "grad_norms") -> float:
        """First Dense layer's gradient norm over the last one's, at ``step``."""
        rows = getattr(self, which)
        if rows.shape[0] == 0 or rows.shape[1] == 0:
            return float("nan")
        first, last = rows[step, 0], rows[step, -1]
        return float(first / last) if last > 0 else float("inf")

    def parameters_at(self, epoch: int) -> dict:
        """The model's parameters (and BatchNorm running statistics) after ``epoch`` epochs,
        as {"dense1.W": array, ...} (in float32); epoch 0 is before training. Only the epochs
        in ``snapshot_epochs`` were kept (see ``train(..., snapshot_epochs=...)``)."""
        stored = [int(e) for e in self.snapshot_epochs]
        if epoch not in stored:
            kept = ", ".join(map(str, stored)) if stored else (
                "none: pass snapshot_epochs= to train to keep some")
            raise ValueError(f"parameters_at: epoch {epoch!r} was not kept; the epochs kept "
                             f"are {kept}.")
        return unpack(self.snapshots[stored.index(epoch)], self.snapshot_layout)

    def same_as(self, other: "History") -> bool:
        """True when every number of both runs is identical, bit for bit."""
        for name, value in vars(self).items():
            theirs = getattr(other, name)
            if isinstance(value, np.ndarray):
                if not (value.shape == theirs.shape and np.array_equal(value, theirs, equal_nan=True)):
                    return False
            elif value != theirs and not (value != value and theirs != theirs):
                return False
        return True

    def __repr__(self):
        parts = [f"{self.epochs} epochs", f"{self.steps} steps"]
        if self.loss:
            parts.append(f"loss {self.loss[-1]:.4g}")
        if self.accuracy:
            parts.append(f"accuracy {self.accuracy[-1]:.3f}")
        if self.val_accuracy:
            parts.append(f"val_accuracy {self.val_accuracy[-1]:.3f}")
        if self.diverged:
            parts.append(f"diverged at step {self.diverged_at}")
        return f"History({', '.join(parts)})"


def _default_loss(model: Sequential, y: np.ndarray):
    classification = y.ndim == 1 and (y.dtype.kind in "iu" or model.out_features > 1)
    return SoftmaxCrossEntropy() if classification else MeanSquaredError()


def _check_targets(name, y, n_examples, model, loss):
    if getattr(loss, "classification", False):
        return check_labels(name, y, n_examples, model.out_features)
    y = check_features(name, y, dtype=model.dtype, ndim=np.ndim(y))
    if y.shape[0] != n_examples:
        raise ValueError(f"{name} has {y.shape[0]} targets but the inputs have "
                         f"{n_examples} examples; they must match.")
    return y


def _check_inputs(name, X, model):
    X = check_features(name, X, dtype=model.dtype)
    if X.shape[1] != model.in_features:
        raise ValueError(f"{name} has {X.shape[1]} features per example, but the model's first "
                         f"layer takes {model.in_features}. Build the model with "
                         f"sizes[0] = {X.shape[1]}.")
    return X


def evaluate(model: Sequential, X: np.ndarray, y: np.ndarray, loss=None) -> tuple[float, float]:
    """Loss and accuracy on ``(X, y)`` in evaluation mode (accuracy is nan for regression)."""
    loss = loss if loss is not None else _default_loss(model, np.asarray(y))
    X = _check_inputs("X", X, model)
    y = _check_targets("y", y, X.shape[0], model, loss)
    with np.errstate(all="ignore"):
        scores = model.forward(X, training=False)
        value = loss.forward(scores, y)
    accuracy = float(np.mean(scores.argmax(axis=1) == y)) if loss.classification else float("nan")
    return value, accuracy


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled index batches; a lone leftover example joins the batch before it
    (BatchNorm cannot normalize a batch of one)."""
    order = rng.permutation(n)
    batches = [order[start:start + batch_size] for start in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1 and batch_size > 1:
        lone = batches.pop()
        batches[-1] = np.concatenate([batches[-1], lone])
    return batches


def _steps_per_epoch(n: int, batch_size: int) -> int:
    count = -(-n // batch_size)
    return count - 1 if count > 1 and n % batch_size == 1 else count


def train(model: Sequential, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int = 32,
          lr: float = 0.1, optimizer=None, loss=None, val=None, seed=0, progress: bool = False,
          telemetry: bool = True, snapshot_epochs=None) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batch gradient descent; return its History.

    Each step: forward a shuffled batch in training mode, compute the loss,
    backpropagate, let the optimizer update every parameter, and let the
    recorder read the layers. ``seed`` fixes the shuffling and the dropout
    masks, so the same model, data and seed give the same History, bit for bit.

    ``optimizer`` defaults to ``SGD(lr)``; ``loss`` to softmax cross-entropy for
    integer labels (mean squared error otherwise); ``val=(X_val, y_val)`` adds
    per-epoch validation metrics. If the loss becomes non-finite or blows up,
    training stops at that step, and ``diverged_at`` and ``message`` say so.
    ``snapshot_epochs`` (e.g. ``range(0, epochs + 1, 5)``) keeps the parameters after
    those epochs (0 = before training), within a memory budget (``engine.snapshots``),
    for ``History.parameters_at``.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnlab Sequential (build one with nnlab.mlp), "
                        f"but got {type(model).__name__}.")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    if optimizer is None:
        optimizer = SGD(check_number("lr", lr, low=0.0, low_open=True))
    loss = loss if loss is not None else _default_loss(model, np.asarray(y))
    X = _check_inputs("X", X, model)
    y = _check_targets("y", y, X.shape[0], model, loss)
    if val is not None:
        if not (isinstance(val, (tuple, list)) and len(val) == 2):
            raise TypeError("val must be a pair (X_val, y_val).")
        X_val = _check_inputs("val[0] (X_val)", val[0], model)
        y_val = _check_targets("val[1] (y_val)", val[1], X_val.shape[0], model, loss)

    n = X.shape[0]
    batch_size = min(batch_size, n)
    steps_per_epoch = _steps_per_epoch(n, batch_size)
    shuffle_rng, dropout_rng = check_rng("seed", seed).spawn(2)
    for layer in model.layers:
        if isinstance(layer, Dropout):
            layer.rng = dropout_rng.spawn(1)[0]

    total_steps = epochs * steps_per_epoch
    recorder = Recorder(model, total_steps) if telemetry else None
    step_loss = np.zeros(total_steps)
    global_norms = np.zeros(total_steps)
    history = History(steps_per_epoch=steps_per_epoch, n_classes=model.out_features,
                      lr=optimizer.lr)
    snapshots = (Snapshots(model, snapshot_epochs, epochs) if snapshot_epochs is not None
                 else None)
    if snapshots is not None:
        snapshots.take(0)
    bar = _progress(progress, epochs)
    step = 0
    blowup_level = None
    with np.errstate(all="ignore"):   # blow-ups are detected and reported below, not warned about
        for epoch in range(epochs):
            loss_sum = correct = seen = 0.0
            for batch in _batches(n, batch_size, shuffle_rng):
                targets = y[batch]
                scores = model.forward(X[batch], training=True)
                value = loss.forward(scores, targets)
                if blowup_level is None:
                    blowup_level = BLOWUP_FACTOR * max(abs(value), 1.0) if math.isfinite(value) else 0.0
                if not math.isfinite(value) or value > blowup_level:
                    history.diverged_at = step
                    history.diverged_loss = float(value)
                    history.message = (
                        f"Training diverged at step {step} (epoch {epoch + 1}): the loss became "
                        f"{value:.3g}. The gradients grew too large for the step size; try a "
                        f"lower learning rate (lr={optimizer.lr:g}), batch normalization, or "
                        f"gradient clipping.")
                    break
                model.backward(loss.backward(), input_grad=False)
                optimizer.step(model)
                if not np.isfinite(optimizer.last_grad_norm):
                    history.diverged_at = step
                    history.diverged_loss = float(value)
                    history.message = (f"Training diverged at step {step} (epoch {epoch + 1}): "
                                       "the gradients became infinite or NaN. Try a lower "
                                       "learning rate, batch normalization, or gradient clipping.")
                    break
                if recorder is not None:
                    recorder.record(optimizer)
                step_loss[step] = value
                global_norms[step] = optimizer.last_grad_norm
                step += 1
                size = len(batch)
                loss_sum += value * size
                seen += size
                if loss.classification:
                    correct += np.count_nonzero(scores.argmax(axis=1) == targets)
            if history.diverged:
                break
            history.loss.append(loss_sum / seen)
            if loss.classification:
                history.accuracy.append(correct / seen)
            if val is not None:
                val_loss, val_accuracy = evaluate(model, X_val, y_val, loss)
                history.val_loss.append(val_loss)
                if loss.classification:
                    history.val_accuracy.append(val_accuracy)
            history.epochs = epoch + 1
            if snapshots is not None:
                snapshots.take(epoch + 1)
            if bar is not None:
                bar.update(epoch + 1, f"loss {history.loss[-1]:.4f}")

    history.step_loss = step_loss[:step]
    history.global_grad_norm = global_norms[:step]
    if recorder is not None:
        for name, value in recorder.arrays().items():
            setattr(history, name, value)
    if snapshots is not None:
        for name, value in snapshots.arrays().items():
            setattr(history, name, value)
    if not history.diverged:
        history.message = f"Trained {history.epochs} epochs ({step} steps)."
        if history.loss:
            history.message += f" Final training loss {history.loss[-1]:.4g}."
    if bar is not None:
        bar.close(history.message)
    return history


def _progress(progress, epochs):
    if not progress:
        return None
    from .progress import progress_bar
    return progress_bar(epochs, "training")

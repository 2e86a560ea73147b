"""The training loop, and the History it returns."""

from __future__ import annotations

import math
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ._checks import (_show, check_features, check_labels, check_memory, check_number,
                      check_positive_int, check_rng, format_bytes, spawn)
from .layers import Dense, Dropout
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .models import Sequential
from .optim import SGD, StepRecord
from .runinfo import RunInfo, describe_run
from .snapshots import Snapshots, unpack
from .telemetry import TELEMETRY_BUDGET, Recorder, row_bytes, work_bytes

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
    ``dead_fraction`` (steps, ReLU-family layers, ``relu_names``): per batch, the
    share of a layer's units that output exactly 0 for every example *of that batch*
    (with small batches many healthy units read as off, see ``epoch_dead_fraction``);
    ``global_grad_norm`` (steps,), before any clipping. ``step_loss`` and
    ``global_grad_norm`` keep every step; the per-layer arrays keep one row per
    step too, unless the run has more steps than fit the telemetry's 200 MB budget
    (``nnlab.telemetry.TELEMETRY_BUDGET``): then they keep every k-th step.
    ``telemetry_steps`` (rows,) is the step each row was measured at (0, 1, 2, ...
    for every run the size of the lessons).

    Per epoch: ``epoch_dead_fraction`` (epochs, ReLU-family layers, ``relu_names``),
    the share of a layer's units that output exactly 0 on every example seen in that
    epoch's training-mode forward passes: units dead for the whole epoch, whatever the
    batch size (1.0 is a layer that never fired; empty without telemetry).

    ``diverged_at`` is the step at which the loss became non-finite or blew up
    (None if it never did) and ``diverged_loss`` the loss seen there (that step
    is not applied, so it is not in ``step_loss``); ``message`` says in words how
    the run ended. ``interrupted`` is True when the run was stopped by hand
    (Kernel > Interrupt, Ctrl-C): it then holds the epochs and steps completed.

    ``run`` is the run record (:class:`~nnlab.engine.runinfo.RunInfo`): every
    layer's type and settings, the optimizer's settings, batch size, dtype,
    loss, the class counts of the training labels (or the targets' variance)
    and whether the inputs looked standardized. None for a History built by hand.

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
    epoch_dead_fraction: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    telemetry_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    layer_names: list = field(default_factory=list)
    activation_names: list = field(default_factory=list)
    relu_names: list = field(default_factory=list)
    diverged_at: int | None = None
    diverged_loss: float = float("nan")
    interrupted: bool = False
    message: str = ""
    steps_per_epoch: int = 0
    epochs: int = 0
    n_classes: int = 0
    lr: float = float("nan")
    run: RunInfo | None = None
    snapshot_epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    snapshots: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    snapshot_layout: list = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.step_loss.shape[0])

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def telemetry_rows(self) -> int:
        """How many per-layer telemetry rows the run kept (0 with ``telemetry=False``)."""
        return int(max(np.shape(self.grad_norms)[0] if np.ndim(self.grad_norms) == 2 else 0,
                       np.shape(self.activation_mean)[0] if np.ndim(self.activation_mean) == 2
                       else 0, self.telemetry_steps.shape[0]))

    def telemetry_row(self, step: int) -> tuple[int, int]:
        """``(row, shown_step)``: the per-layer telemetry row that shows ``step``, and the step
        that row was measured at. Every step is kept for runs within the telemetry budget (then
        row = step); a longer run keeps every k-th step, and the row is the latest kept step at
        or before ``step``. ``step=-1`` (or any negative step) counts from the last step.
        Every plot, metric and diagnosis that reads telemetry at a step goes through here.
        Raises ValueError when the run kept no rows (``telemetry=False``)."""
        n_rows = self.telemetry_rows
        if n_rows == 0:
            raise ValueError("this run has no per-layer telemetry (it was trained with "
                             "telemetry=False, or took no step): train with telemetry=True.")
        kept = self.telemetry_steps
        if kept.shape[0] != n_rows:            # a History built by hand: one row per step
            kept = np.arange(n_rows)
        step = int(step)
        if step < 0:
            step = max(self.steps, int(kept[-1]) + 1) + step
        row = min(max(int(np.searchsorted(kept, step, side="right")) - 1, 0), n_rows - 1)
        return row, int(kept[row])

    def first_last_ratio(self, step: int = 0, which: str = "grad_norms") -> float:
        """First Dense layer's gradient norm over the last one's, at ``step``."""
        rows = getattr(self, which)
        if rows.shape[0] == 0 or rows.shape[1] == 0:
            return float("nan")
        row, _ = self.telemetry_row(step)
        first, last = rows[row, 0], rows[row, -1]
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
        if self.interrupted:
            parts.append("interrupted")
        return f"History({', '.join(parts)})"


# The History of the most recent ``train`` call, however it ended (finished,
# diverged or interrupted); read it as ``nnlab.last_history``. Runs made inside
# ``quietly()`` (the course's own runs in a background thread) never replace it.
last_history: History | None = None

# Per thread: whether runs are the learner's (published as last_history), and what to
# call between epochs (see ``quietly``).
_thread = threading.local()


@contextmanager
def quietly(between_epochs=None):
    """Runs trained inside this block, in this thread, are not the learner's: they do not
    become ``nnlab.last_history``. ``between_epochs()``, if given, is called after every
    epoch (a background thread passes one that waits while the learner's own code runs).
    What a run computes is unchanged."""
    before = getattr(_thread, "quiet", None)
    _thread.quiet = (between_epochs,)
    try:
        yield
    finally:
        _thread.quiet = before


class TrainingInterrupted(KeyboardInterrupt):
    """Raised when a ``train`` call is interrupted (Kernel > Interrupt, Ctrl-C).

    It is a KeyboardInterrupt, so it still stops a loop of runs; ``history`` holds
    the run so far (``history.interrupted`` is True), as does ``nnlab.last_history``.
    """

    def __init__(self, history: History):
        super().__init__(f"Training was interrupted after {history.steps} steps "
                         f"({history.epochs} full epochs). The model keeps what it learned; "
                         "the History so far is nnlab.last_history (interrupted=True).")
        self.history = history


def _check_model(model) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnlab Sequential (build one with nnlab.mlp), "
                        f"but got {_show(model)} ({type(model).__name__}).")
    model.check_trainable()
    model.parameters()          # packs again (or refuses clearly) if the learner changed it
    return model


def _default_loss(model: Sequential, y: np.ndarray):
    """Softmax cross-entropy for class labels, mean squared error for other targets. Bool or
    whole-number float labels on a 1-output model are regressed onto, and a warning says so."""
    classification = y.ndim == 1 and (y.dtype.kind in "iu" or model.out_features > 1)
    if not classification and y.ndim == 1 and model.out_features == 1 and (
            y.dtype.kind == "b" or (y.dtype.kind == "f" and y.size
                                    and np.all(np.isfinite(y)) and np.all(y == np.round(y)))):
        warnings.warn(f"y holds {y.dtype} values that look like class labels and the model has 1 "
                      "output, so nnlab trains it as a regression with mean squared error "
                      "(the loss is nnlab.MeanSquaredError). To classify, use integer labels "
                      "(y.astype(int)) and a model with 2 outputs; to regress on purpose, pass "
                      "loss=nnlab.MeanSquaredError() and this warning goes away.",
                      UserWarning, stacklevel=4)
    return SoftmaxCrossEntropy() if classification else MeanSquaredError()


def _check_targets(name, y, n_examples, model, loss, chosen: bool):
    """Labels for a classification loss, targets for a regression loss.

    ``chosen``: the learner picked ``loss``; otherwise it was picked from ``y``, and
    shapes that look like labels in the wrong form are refused, not regressed onto."""
    shape = np.shape(y)
    if len(shape) == 2 and shape[1] == 1 and model.out_features > 1 and (
            chosen and loss.classification or not chosen):
        raise ValueError(f"{name} has shape {shape}: class labels must be one per example, "
                         f"shape ({shape[0]},). Pass {name}.ravel().")
    if not chosen and len(shape) == 2 and shape[1] == model.out_features > 1:
        values = np.asarray(y)
        if values.dtype.kind in "biuf" and np.isin(values, (0, 1)).all() and (
                values.sum(axis=1) == 1).all():
            raise ValueError(f"{name} looks one-hot (shape {shape}, one 1 per row): nnlab "
                             f"takes class labels, shape ({shape[0]},). Pass "
                             f"{name}.argmax(axis=1), or loss=nnlab.MeanSquaredError() to "
                             "regress onto these targets.")
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


def _check_loss(loss):
    if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None))):
        raise TypeError(f"loss must be an nnlab loss such as nnlab.SoftmaxCrossEntropy() or "
                        f"nnlab.MeanSquaredError(), but got {_show(loss)} "
                        f"({type(loss).__name__}).")
    return loss


def evaluate(model: Sequential, X: np.ndarray, y: np.ndarray, loss=None) -> tuple[float, float]:
    """Loss and accuracy on ``(X, y)`` in evaluation mode (accuracy is nan for regression)."""
    model = _check_model(model)
    chosen = loss is not None
    loss = _check_loss(loss) if chosen else _default_loss(model, np.asarray(y))
    X = _check_inputs("X", X, model)
    y = _check_targets("y", y, X.shape[0], model, loss, chosen)
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


def _check_optimizer(optimizer, lr):
    if optimizer is None:
        return SGD(0.1 if lr is None else check_number("lr", lr, low=0.0, low_open=True))
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must be an nnlab optimizer such as nnlab.SGD(0.1, "
                        f"momentum=0.9), but got {_show(optimizer)} ({type(optimizer).__name__}).")
    if lr is not None and lr != getattr(optimizer, "lr", None):
        raise ValueError(f"lr={_show(lr)} was given beside optimizer={optimizer!r}, which has its "
                         "own learning rate. Give one or the other: set the rate in the "
                         "optimizer, e.g. SGD(lr, momentum=...).")
    return optimizer


def _check_run_memory(model, epochs, batch_size, total_steps, optimizer, telemetry) -> None:
    """Refuse at once a run whose arrays would not fit a learner's kernel."""
    values = model.parameters().values
    copies = 3 if getattr(optimizer, "momentum", 0) else 2     # values, gradients, velocity
    parameters = values.nbytes * copies
    itemsize = values.itemsize
    # each layer's output, its cache and its gradient, for one batch (an activation is
    # no wider than the Dense layer before it, so twice the Dense widths bounds them all)
    widths = sum(layer.out_features for layer in model.layers if isinstance(layer, Dense))
    activations = 3 * batch_size * 2 * widths * itemsize
    per_step = 16 * total_steps               # step_loss and global_grad_norm
    rows = (min(total_steps * row_bytes(model), TELEMETRY_BUDGET) + work_bytes(model, batch_size)
            if telemetry else 0)
    check_memory(f"train(epochs={epochs:,}, batch_size={batch_size:,}) on this model "
                 f"({total_steps:,} steps, {values.size:,} parameters)",
                 parameters + activations + per_step + rows,
                 f"Use fewer epochs (the per-step loss alone takes {format_bytes(per_step)}), "
                 "or a smaller network or batch.")


@dataclass(eq=False)
class _Run:
    """Everything one ``train`` call works with, passed between its named steps."""

    model: Sequential
    X: np.ndarray
    y: np.ndarray
    loss: object
    optimizer: object
    batch_size: int
    history: History
    recorder: Recorder | None
    step_loss: np.ndarray
    global_norms: np.ndarray
    shuffle_rng: np.random.Generator
    val: tuple | None = None
    step: int = 0                          # steps taken (and recorded) so far
    blowup_level: float | None = None
    epoch_totals: tuple = (0.0, 0, 0)      # loss sum, correct, examples of the last epoch
    snapshots: Snapshots | None = None     # the parameters kept at chosen epochs


def train(model: Sequential, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int = 32,
          lr: float | None = None, optimizer=None, loss=None, val=None, seed=0,
          progress: bool | None = None, telemetry: bool = True, snapshot_epochs=None) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batch gradient descent; return its History.

    Each step: forward a shuffled batch in training mode, compute the loss,
    backpropagate, let the optimizer update every parameter, and let the
    recorder read the layers. ``seed`` fixes the shuffling and the dropout
    masks, so the same model, data and seed give the same History, bit for bit.

    ``optimizer`` defaults to ``SGD(lr)`` with ``lr`` 0.1 (give ``lr`` or an
    optimizer, not both); ``loss`` to softmax cross-entropy for integer labels
    (mean squared error otherwise); ``val=(X_val, y_val)`` adds per-epoch
    validation metrics. If the loss becomes non-finite or blows up, training
    stops at that step, and ``diverged_at`` and ``message`` say so.
    ``snapshot_epochs`` (e.g. ``range(0, epochs + 1, 5)``) keeps the parameters after
    those epochs (0 = before training), within a memory budget (``engine.snapshots``),
    for ``History.parameters_at``.

    ``progress``: None (the default) shows a progress bar in a notebook once the run has
    taken more than ``progress.PROGRESS_AFTER`` (2) seconds, and never in a terminal, a test,
    nbval or nbconvert runs with ``NNLAB_PROGRESS=0`` (what ``make test`` and ``make
    notebooks`` set); True always shows one (a text bar outside a notebook); False never.

    Interrupting (Kernel > Interrupt, Ctrl-C) stops training at once and raises
    :class:`TrainingInterrupted`, a KeyboardInterrupt, so a loop of runs stops
    too. The model keeps the training it had, and the History so far, marked
    ``interrupted=True``, is ``nnlab.last_history`` (the most recent run's
    History, however it ended).

    Memory: the History's per-layer telemetry stays under 200 MB (long runs keep
    every k-th step, see ``History.telemetry_steps``); a run whose arrays would
    need more than 2 GB is refused before it starts, with the estimate.
    """
    run = _start(model, X, y, epochs=epochs, batch_size=batch_size, lr=lr,
                 optimizer=optimizer, loss=loss, val=val, seed=seed, telemetry=telemetry,
                 snapshot_epochs=snapshot_epochs)
    run.history.run = describe_run(run.model, run.X, run.y, batch_size=run.batch_size,
                                   optimizer=run.optimizer, loss=run.loss)
    bar = _progress(progress, epochs)
    quiet = getattr(_thread, "quiet", None)
    between_epochs = quiet[0] if quiet else None
    interrupted = False
    try:
        with np.errstate(all="ignore"):   # blow-ups are detected and reported, not warned about
            for epoch in range(epochs):
                if not _train_epoch(run, _batches(len(run.X), run.batch_size, run.shuffle_rng), epoch):
                    break
                _end_epoch(run, epoch)
                if bar is not None:
                    bar.update(epoch + 1, f"loss {run.history.loss[-1]:.4f}")
                if between_epochs is not None:
                    between_epochs()
    except KeyboardInterrupt:
        interrupted = True
    _finish(run, interrupted)
    if bar is not None:
        bar.close(run.history.message)
    if interrupted:
        raise TrainingInterrupted(run.history) from None
    return run.history


def _start(model, X, y, *, epochs, batch_size, lr, optimizer, loss, val, seed, telemetry,
           snapshot_epochs=None) -> _Run:
    """Check every argument, and set up what the run needs (nothing is trained yet)."""
    model = _check_model(model)
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    optimizer = _check_optimizer(optimizer, lr)
    chosen = loss is not None
    loss = _check_loss(loss) if chosen else _default_loss(model, np.asarray(y))
    X = _check_inputs("X", X, model)
    y = _check_targets("y", y, X.shape[0], model, loss, chosen)
    if val is not None:
        if not (isinstance(val, (tuple, list)) and len(val) == 2):
            raise TypeError("val must be a pair (X_val, y_val).")
        X_val = _check_inputs("val[0] (X_val)", val[0], model)
        val = (X_val, _check_targets("val[1] (y_val)", val[1], X_val.shape[0], model, loss, chosen))
    batch_size = min(batch_size, X.shape[0])
    steps_per_epoch = _steps_per_epoch(X.shape[0], batch_size)
    total_steps = epochs * steps_per_epoch
    _check_run_memory(model, epochs, batch_size, total_steps, optimizer, telemetry)
    shuffle_rng, dropout_rng = spawn(check_rng("seed", seed), 2)
    for layer in model.layers:
        if isinstance(layer, Dropout):
            layer.rng = spawn(dropout_rng, 1)[0]
    history = History(steps_per_epoch=steps_per_epoch, n_classes=model.out_features,
                      lr=getattr(optimizer, "lr", float("nan")))
    run = _Run(model=model, X=X, y=y, loss=loss, optimizer=optimizer, batch_size=batch_size,
               history=history, recorder=Recorder(model, total_steps) if telemetry else None,
               step_loss=np.zeros(total_steps), global_norms=np.zeros(total_steps),
               shuffle_rng=shuffle_rng, val=val)
    if snapshot_epochs is not None:
        run.snapshots = Snapshots(model, snapshot_epochs, epochs)
        run.snapshots.take(0)
    return run


def _train_epoch(run: _Run, batches, epoch: int) -> bool:
    """One pass over the shuffled data; False if the run diverged in it."""
    model, loss, y = run.model, run.loss, run.y
    loss_sum = correct = seen = 0.0
    for batch in batches:
        targets = y[batch]
        scores = model.forward(run.X[batch], training=True)
        value = loss.forward(scores, targets)
        if _loss_blew_up(run, value):
            lr = getattr(run.optimizer, "lr", None)
            lower = (f"a learning rate below the lr={lr:g} used here" if lr is not None
                     else "a lower learning rate")
            return _diverge(run, epoch, value, (
                f"the loss became {value:.3g}. The gradients grew too large for the step "
                f"size; try {lower}, batch normalization, or gradient clipping."))
        model.backward(loss.backward(), input_grad=False)
        step = run.optimizer.step(model)
        if not isinstance(step, StepRecord):
            raise TypeError(f"optimizer.step must return an nnlab StepRecord (what the step "
                            f"did), but {type(run.optimizer).__name__}.step returned "
                            f"{_show(step)}.")
        if not step.applied:
            return _diverge(run, epoch, value, (
                "the gradients became infinite or NaN. Try a lower learning rate, batch "
                "normalization, or gradient clipping."))
        _record(run, value, step)
        size = len(batch)
        loss_sum += value * size
        seen += size
        if loss.classification:
            correct += np.count_nonzero(scores.argmax(axis=1) == targets)
    run.epoch_totals = (loss_sum, correct, seen)
    return True


def _loss_blew_up(run: _Run, value: float) -> bool:
    """Non-finite, or BLOWUP_FACTOR times above where the run started (or above 1)."""
    if run.blowup_level is None:
        run.blowup_level = BLOWUP_FACTOR * max(abs(value), 1.0) if math.isfinite(value) else 0.0
    return not math.isfinite(value) or value > run.blowup_level


def _diverge(run: _Run, epoch: int, value: float, what: str) -> bool:
    """Mark the run diverged at this step (which is not applied to the History)."""
    history = run.history
    history.diverged_at = run.step
    history.diverged_loss = float(value)
    history.message = f"Training diverged at step {run.step} (epoch {epoch + 1}): {what}"
    return False


def _record(run: _Run, value: float, step: StepRecord) -> None:
    """The step's loss and global gradient norm; the recorder reads the layers."""
    if run.recorder is not None:
        run.recorder.record(step)
    run.step_loss[run.step] = value
    run.global_norms[run.step] = step.grad_norm
    run.step += 1


def _end_epoch(run: _Run, epoch: int) -> None:
    """The epoch's mean training loss and accuracy, and its validation metrics."""
    history, loss = run.history, run.loss
    loss_sum, correct, seen = run.epoch_totals
    if run.recorder is not None:
        run.recorder.end_epoch()
    history.loss.append(loss_sum / seen)
    if loss.classification:
        history.accuracy.append(correct / seen)
    if run.val is not None:
        val_loss, val_accuracy = evaluate(run.model, *run.val, loss)
        history.val_loss.append(val_loss)
        if loss.classification:
            history.val_accuracy.append(val_accuracy)
    history.epochs = epoch + 1
    if run.snapshots is not None:
        run.snapshots.take(epoch + 1)


def _finish(run: _Run, interrupted: bool = False) -> None:
    """Fill the History's per-step arrays and its closing message."""
    global last_history
    history = run.history
    history.step_loss = run.step_loss[:run.step]
    history.global_grad_norm = run.global_norms[:run.step]
    if run.recorder is not None:
        for name, value in run.recorder.arrays(run.step).items():
            setattr(history, name, value)
    if run.snapshots is not None:
        for name, value in run.snapshots.arrays().items():
            setattr(history, name, value)
    if interrupted:
        history.interrupted = True
        history.message = (f"Interrupted after {run.step} steps ({history.epochs} full "
                           "epochs); the model keeps the training it had.")
    elif not history.diverged:
        history.message = f"Trained {history.epochs} epochs ({run.step} steps)."
        if history.loss:
            history.message += f" Final training loss {history.loss[-1]:.4g}."
    if not getattr(_thread, "quiet", None):
        last_history = history


def _progress(progress, epochs):
    from .progress import AutoProgress, auto_progress_allowed, progress_bar
    if progress is None:          # the default: a bar in a notebook, once a run takes a while
        quiet = getattr(_thread, "quiet", None)
        return AutoProgress(epochs, "training") if not quiet and auto_progress_allowed() else None
    if not progress:
        return None
    return progress_bar(epochs, "training")

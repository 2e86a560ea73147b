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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import metrics, runstore
from .engine._checks import check_choice
from .engine.training import History

from .runner import (LEARNING_RATES, MOST_FRAMES, Experiment, Outcome,  # noqa: F401
                     check_settings, frame_epochs, frame_step, trained)

@lru_cache(maxsize=128)
def outcome(config: Experiment) -> Outcome:
    """Train ``config`` (once; later calls with an equal config return the cached result).

    A few slow runs the labs need at once ship with the course, already trained
    (``nnlab.runstore``, written by ``make runs``): those are read, not trained, and
    are the same numbers, bit for bit.
    """
    config.check()
    stored = runstore.load(config)
    return stored if stored is not None else trained(config)


def step_at_epoch(history: History, epoch: int) -> int:
    """The telemetry row that shows the network after ``epoch`` epochs: the first step of
    the next epoch (its gradient is taken at those weights), or the last step recorded."""
    step = max(min(epoch * history.steps_per_epoch, history.steps - 1), 0)
    return history.telemetry_row(step)[0] if history.telemetry_rows else step


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


def stored_configs() -> list:
    """The settings the run store holds: every rate of the dropout lab's slider (seed 0)."""
    base = CASES["dropout"].broken
    return [base.replace(dropout=rate) for rate in np.round(np.arange(0.0, 1.01, 0.1), 1)]


def write_store(path=None):
    """Train :func:`stored_configs` and write the run store (``make runs``)."""
    return runstore.write(stored_configs(), runstore.PATH if path is None else path)


# ---------------------------------------------------------------------------
# Classic results the lessons reproduce (each with its claim test)
# ---------------------------------------------------------------------------

# Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward neural
# networks" (AISTATS), section 4.2: activations through tanh layers at initialisation under
# the "standard" init W ~ U[-1/sqrt(n_in), 1/sqrt(n_in)] and the "normalized" one
# W ~ U[-sqrt(6/(n_in + n_out)), sqrt(6/(n_in + n_out))].
GLOROT_NET = Experiment(hidden=(32,) * 6, activation="tanh", init="xavier", standardize=True,
                        title="6 tanh layers of 32 units")
GLOROT_INITS = ("standard", "normalized")


def glorot_spread(init: str, seed: int = 0):
    """Per tanh layer, :func:`metrics.activation_spread` of ``GLOROT_NET`` at initialisation
    with Glorot & Bengio's ``"standard"`` or ``"normalized"`` uniform init (every Dense
    layer redrawn with its own fan-in and fan-out), on the training inputs. Shape (6,)."""
    check_choice("init", init, GLOROT_INITS)
    config = GLOROT_NET.replace(seed=seed)
    (X, y), _ = config.data()
    model = config.build(X.shape[1], int(y.max()) + 1)
    rng = np.random.default_rng(seed)
    for layer in model.dense_layers:
        n_in, n_out = layer.params["W"].shape
        limit = (1 / np.sqrt(n_in) if init == "standard" else np.sqrt(6 / (n_in + n_out)))
        layer.params["W"][...] = rng.uniform(-limit, limit, (n_in, n_out))
    return metrics.activation_spread(model, X)


# He, Zhang, Ren & Sun 2015, "Delving deep into rectifiers" (ICCV), figure 3: a 30-layer
# plain ReLU net stalls with a 1/fan-in init (Xavier's for equal widths) and trains with He's.
HE_2015 = {
    "fan_in": Experiment(dataset="moons", hidden=(16,) * 30, activation="relu", init="lecun",
                         standardize=True, lr=0.01, epochs=20,
                         title="30 ReLU layers, std sqrt(1/fan-in)"),
    "he": Experiment(dataset="moons", hidden=(16,) * 30, activation="relu", init="he",
                     standardize=True, lr=0.01, epochs=20, title="30 ReLU layers, He init"),
}


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


if __name__ == "__main__":
    written = write_store()
    print(f"{written}: {len(stored_configs())} runs, {written.stat().st_size / 1e6:.2f} MB")

"""nnlab: learn why neural-network training fails, and how to fix it.

Backpropagation, dropout and batch normalization from scratch in NumPy, with
per-layer telemetry that makes vanishing, exploding and dead gradients visible.

    >>> import nnlab
    >>> X, y = nnlab.datasets.spirals(n=300, seed=0)
    >>> model = nnlab.mlp([2, 32, 32, 2], activation="relu", seed=0)
    >>> history = nnlab.train(model, X, y, epochs=20, lr=0.1)
"""

import os
import sys as _sys

# One BLAS thread, unless you chose otherwise: for lesson-sized nets the threads'
# start-up costs more than they save (a 6 x 64 net trains about twice as fast),
# and the numbers stay identical from run to run and machine to machine. It only
# takes effect when nnlab is imported before NumPy, as the lessons do.
# This is the one place the setting is written: the Makefile, the benchmarks and the
# browser tests' Jupyter server all take it from here.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
for _variable, _value in ONE_BLAS_THREAD.items():
    os.environ.setdefault(_variable, _value)

from .engine import datasets  # noqa: E402  (after the thread setting, on purpose)
from .engine import gradcheck as _gradcheck_module
from .engine import layers, losses, models, optim, progress, telemetry, training
from .engine.gradcheck import gradcheck, relative_error
from .engine.layers import BatchNorm, Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from .engine.losses import MeanSquaredError, SoftmaxCrossEntropy
from .engine.models import Sequential, mlp
from .engine.optim import SGD, StepRecord
from .engine.telemetry import Recorder, dead_units
from .engine.training import History, TrainingInterrupted, evaluate, train
from .diagnosis import Diagnosis, Finding, diagnose
from .notebook_progress import WidgetProgress as _WidgetProgress

progress.NOTEBOOK_BAR = _WidgetProgress

# The engine's modules were once top-level (nnlab.layers, nnlab.training, ...):
# those names keep working, as aliases of the modules in nnlab/engine/.
for _module in (datasets, layers, losses, models, optim, progress, telemetry, training,
                _gradcheck_module):
    _sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}"] = _module

__version__ = "0.1.0"


def __getattr__(name):
    # nnlab.last_history: the History of the most recent train() call, however it ended
    # (an interrupted run's History is only reachable this way, or on the exception).
    if name == "last_history":
        return training.last_history
    raise AttributeError(f"module 'nnlab' has no attribute {name!r}")


__all__ = [
    "BatchNorm", "Dense", "Diagnosis", "Finding", "Dropout", "History", "LeakyReLU", "MeanSquaredError", "ReLU",
    "Recorder", "SGD", "Sequential", "StepRecord", "TrainingInterrupted", "Sigmoid", "SoftmaxCrossEntropy", "Tanh", "datasets",
    "dead_units", "diagnose", "evaluate", "gradcheck", "mlp", "relative_error", "train",
]

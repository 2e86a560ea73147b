"""nnlab: learn why neural-network training fails, and how to fix it.

Backpropagation, dropout and batch normalization from scratch in NumPy, with
per-layer telemetry that makes vanishing, exploding and dead gradients visible.

    >>> import nnlab
    >>> X, y = nnlab.datasets.spirals(n=300, seed=0)
    >>> model = nnlab.mlp([2, 32, 32, 2], activation="relu", seed=0)
    >>> history = nnlab.train(model, X, y, epochs=20, lr=0.1)
"""

import os

# One BLAS thread, unless you chose otherwise: for lesson-sized nets the threads'
# start-up costs more than they save (a 6 x 64 net trains about twice as fast),
# and the numbers stay identical from run to run and machine to machine. It only
# takes effect when nnlab is imported before NumPy, as the lessons do.
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from . import datasets  # noqa: E402  (after the thread setting, on purpose)
from .diagnosis import Diagnosis, Finding, diagnose
from .gradcheck import gradcheck, relative_error
from .layers import BatchNorm, Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .models import Sequential, mlp
from .optim import SGD
from .telemetry import Recorder, dead_units
from .training import History, evaluate, train

__version__ = "0.1.0"

__all__ = [
    "BatchNorm", "Dense", "Diagnosis", "Finding", "Dropout", "History", "LeakyReLU", "MeanSquaredError", "ReLU",
    "Recorder", "SGD", "Sequential", "Sigmoid", "SoftmaxCrossEntropy", "Tanh", "datasets",
    "dead_units", "diagnose", "evaluate", "gradcheck", "mlp", "relative_error", "train",
]

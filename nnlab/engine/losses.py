"""Losses: a number that says how wrong the network is, and its gradient.

Each loss has ``forward(pred, target) -> float`` (the mean over the batch) and
``backward() -> dL/dpred`` of the same shape as ``pred``.
"""

from __future__ import annotations

import numpy as np


def _check_batch(pred: np.ndarray) -> None:
    if pred.shape[0] == 0:
        raise ValueError(f"pred is an empty batch (shape {pred.shape}): a loss is a mean over "
                         "the batch, so it needs at least one example.")


class SoftmaxCrossEntropy:
    """Softmax over the class scores, then the negative log-likelihood of the true class.

    Shapes: ``pred`` (batch, classes) of raw scores ("logits"); ``target``
    (batch,) of integer labels in ``[0, classes)``.

    Stable: the largest score is subtracted before exponentiating, so large
    logits cannot overflow (``log_softmax = z - max - log(sum(exp(z - max)))``).
    """

    name = "cross-entropy"
    classification = True

    def __init__(self):
        self.probs = None
        self.target = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        target = np.asarray(target)
        if pred.ndim != 2 or target.shape != (pred.shape[0],):
            raise ValueError(f"SoftmaxCrossEntropy needs scores of shape (batch, classes) and "
                             f"labels of shape (batch,), but got {pred.shape} and {target.shape}.")
        _check_batch(pred)
        if target.dtype.kind not in "iu":
            raise TypeError(f"target must hold integer class labels (0, 1, ...), but its dtype "
                            f"is {target.dtype}; pass target.astype(int) if they are whole "
                            "numbers.")
        shifted = pred - np.maximum.reduce(pred, axis=1, keepdims=True)
        n = pred.shape[0]
        try:
            if target.min() < 0:      # NumPy would read label -1 as the last class
                raise IndexError
            picked = shifted[np.arange(n), target]     # (a label too large fails here)
        except IndexError:
            raise ValueError(f"target must hold labels in [0, {pred.shape[1] - 1}] for "
                             f"{pred.shape[1]} classes, but saw labels from {target.min()} to "
                             f"{target.max()}.") from None
        exp = np.exp(shifted)
        total = np.add.reduce(exp, axis=1, keepdims=True)
        self.probs = exp / total
        self.target = target
        log_likelihood = picked - np.log(total[:, 0])
        return -float(np.add.reduce(log_likelihood)) / n

    def backward(self) -> np.ndarray:
        """dL/dz = (softmax(z) - onehot(y)) / batch."""
        if self.probs is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward was called before forward.")
        grad = self.probs.copy()
        grad[np.arange(grad.shape[0]), self.target] -= 1.0
        grad /= grad.shape[0]
        return grad


class MeanSquaredError:
    """``mean((pred - target)^2)`` over every element. Shapes: ``pred`` and ``target`` equal."""

    name = "mean squared error"
    classification = False

    def __init__(self):
        self.diff = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        _check_batch(pred)
        target = np.asarray(target, dtype=pred.dtype)
        if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
            target = target[:, None]
        if target.shape != pred.shape:
            raise ValueError(f"MeanSquaredError needs target of the same shape as the "
                             f"predictions {pred.shape}, but got {target.shape}.")
        self.diff = pred - target
        return float(np.mean(self.diff * self.diff))

    def backward(self) -> np.ndarray:
        """dL/dpred = 2 (pred - target) / size."""
        if self.diff is None:
            raise RuntimeError("MeanSquaredError.backward was called before forward.")
        return self.diff * (2.0 / self.diff.size)

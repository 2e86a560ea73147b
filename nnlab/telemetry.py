"""Telemetry: one recorder that watches a model's layers while it trains.

Like fast.ai's activation hooks, the recorder is not sprinkled through the
layers. After every gradient step it *reads* what the layers already hold
(each Dense layer's gradients, each activation's last output, the optimizer's
last update) and writes one row per step. The training loop, the plots, the
labs, ``diagnose`` and the tests all read those same rows from the History.
"""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm, Dense, LeakyReLU, ReLU


def _norm(array: np.ndarray) -> float:
    """The Euclidean (Frobenius) norm, sqrt(sum of squares)."""
    return float(np.sqrt(np.vdot(array, array)))


class Recorder:
    """Collects per-step, per-layer statistics into preallocated arrays.

    Columns: one per Dense layer for ``grad_norms`` (||dL/dW||), ``bias_grad_norms``
    (||dL/db||, the error signal arriving at the layer's output; ||dL/dbeta|| of the
    BatchNorm right after it, if there is one, since dL/db is then exactly 0) and ``update_ratios``
    (||update of W|| / ||W||); one per activation layer for ``activation_mean``
    and ``activation_std``; one per ReLU-family layer for ``dead_fraction``
    (units that output exactly 0 for every example of the batch).
    """

    def __init__(self, model, max_steps: int):
        self.dense = [(index, layer) for index, layer in enumerate(model.layers)
                      if isinstance(layer, Dense)]
        # Where a BatchNorm follows a Dense layer, dL/db is exactly 0 (BN subtracts the
        # batch mean, bias included); the error signal arriving there is dL/dbeta instead.
        self.error_signal = []
        for index, layer in self.dense:
            after = model.layers[index + 1] if index + 1 < len(model.layers) else None
            if isinstance(after, BatchNorm):
                self.error_signal.append((after.grads, "beta"))
            else:
                self.error_signal.append((layer.grads, "b"))
        self.activations = model.activation_layers
        self.relus = [layer for layer in self.activations if isinstance(layer, (ReLU, LeakyReLU))]
        self.layer_names = [layer.name for _, layer in self.dense]
        self.activation_names = [layer.name for layer in self.activations]
        self.relu_names = [layer.name for layer in self.relus]
        n_dense, n_act, n_relu = len(self.dense), len(self.activations), len(self.relus)
        self.grad_norms = np.zeros((max_steps, n_dense))
        self.bias_grad_norms = np.zeros((max_steps, n_dense))
        self.update_ratios = np.zeros((max_steps, n_dense))
        self.activation_mean = np.zeros((max_steps, n_act))
        self.activation_std = np.zeros((max_steps, n_act))
        self.dead_fraction = np.zeros((max_steps, n_relu))
        self.steps = 0

    def record(self, optimizer) -> None:
        """Read one step's statistics, after backward and the optimizer's step."""
        row = self.steps
        for column, (index, layer) in enumerate(self.dense):
            self.grad_norms[row, column] = _norm(layer.grads["W"])
            grads, key = self.error_signal[column]
            self.bias_grad_norms[row, column] = _norm(grads[key])
            update = optimizer.updates.get((index, "W"))
            weight_norm = _norm(layer.params["W"])
            self.update_ratios[row, column] = (
                _norm(update) / weight_norm if update is not None and weight_norm > 0 else 0.0)
        for column, layer in enumerate(self.activations):
            out = layer.output
            self.activation_mean[row, column] = out.mean()
            self.activation_std[row, column] = out.std()
        for column, layer in enumerate(self.relus):
            alive = (layer.output != 0).any(axis=0)
            self.dead_fraction[row, column] = 1.0 - alive.mean()
        self.steps += 1

    def arrays(self) -> dict:
        """The recorded rows, trimmed to the steps actually taken."""
        n = self.steps
        return {"grad_norms": self.grad_norms[:n], "bias_grad_norms": self.bias_grad_norms[:n],
                "update_ratios": self.update_ratios[:n],
                "activation_mean": self.activation_mean[:n],
                "activation_std": self.activation_std[:n],
                "dead_fraction": self.dead_fraction[:n],
                "layer_names": self.layer_names, "activation_names": self.activation_names,
                "relu_names": self.relu_names}


def dead_units(model, X: np.ndarray) -> np.ndarray:
    """Per ReLU-family layer, the fraction of units that output 0 for *every* row of ``X``.

    Runs ``X`` through the model in evaluation mode. A unit that is dead on the
    whole training set receives no gradient from any example, so plain gradient
    descent can never revive it. Shape: (number of ReLU-family layers,).
    """
    with np.errstate(all="ignore"):
        model.forward(np.asarray(X, dtype=model.dtype), training=False)
    return np.array([1.0 - (layer.output != 0).any(axis=0).mean() for layer in model.relu_layers])

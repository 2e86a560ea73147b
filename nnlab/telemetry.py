"""Telemetry: one recorder that watches a model's layers while it trains.

Like fast.ai's activation hooks, the recorder is not sprinkled through the
layers. After every gradient step it *reads* what the layers already hold
(each parameter's gradient, each activation's last output, the optimizer's
last update) and writes one row per step. The training loop, the plots, the
labs, ``diagnose`` and the tests all read those same rows from the History.
"""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm, Dense, LeakyReLU, ReLU


class Recorder:
    """Collects per-step, per-layer statistics into preallocated arrays.

    Columns: one per Dense layer for ``grad_norms`` (||dL/dW||), ``bias_grad_norms``
    (||dL/db||, the error signal arriving at the layer's output; ||dL/dbeta|| of the
    BatchNorm right after it, if there is one, since dL/db is then exactly 0) and
    ``update_ratios`` (||update of W|| / ||W||, after the update); one per
    activation layer for ``activation_mean`` and ``activation_std``; one per
    ReLU-family layer for ``dead_fraction`` (units that output exactly 0 for every
    example of the batch).
    """

    def __init__(self, model, max_steps: int):
        self.model = model
        dense = [(index, layer) for index, layer in enumerate(model.layers)
                 if isinstance(layer, Dense)]
        # Where a BatchNorm follows a Dense layer, dL/db is exactly 0 (BN subtracts the
        # batch mean, bias included); the error signal arriving there is dL/dbeta instead.
        signal = []
        for index, _ in dense:
            after = model.layers[index + 1] if index + 1 < len(model.layers) else None
            signal.append((index + 1, "beta") if isinstance(after, BatchNorm) else (index, "b"))
        position = {key: i for i, key in enumerate(model.param_keys)}
        self.weight_columns = np.array([position[(index, "W")] for index, _ in dense], dtype=np.intp)
        self.signal_columns = np.array([position[key] for key in signal], dtype=np.intp)
        self.activations = model.activation_layers
        self.relu_columns = [column for column, layer in enumerate(self.activations)
                             if isinstance(layer, (ReLU, LeakyReLU))]
        self.layer_names = [layer.name for _, layer in dense]
        self.activation_names = [layer.name for layer in self.activations]
        self.relu_names = [self.activations[column].name for column in self.relu_columns]
        n_dense, n_act = len(dense), len(self.activations)
        self.grad_norms = np.zeros((max_steps, n_dense))
        self.bias_grad_norms = np.zeros((max_steps, n_dense))
        self.update_ratios = np.zeros((max_steps, n_dense))
        self.activation_mean = np.zeros((max_steps, n_act))
        self.activation_std = np.zeros((max_steps, n_act))
        self.dead_fraction = np.zeros((max_steps, len(self.relu_columns)))
        self.steps = 0

    def _squared_norms(self, optimizer):
        """Per parameter: squared norms of the gradient, the weights and the update."""
        model = self.model
        if model.flat_params is not None:
            offsets = model.param_offsets
            grads, params = model.flat_grads, model.flat_params
            update = getattr(optimizer, "flat_update", None)
            grad_sq = np.add.reduceat(grads * grads, offsets)
            param_sq = np.add.reduceat(params * params, offsets)
            if update is not None:
                update_sq = np.add.reduceat(update * update, offsets)
            else:    # plain SGD: the update was -last_scale * gradient
                update_sq = getattr(optimizer, "last_scale", 0.0) ** 2 * grad_sq
            return grad_sq, param_sq, update_sq
        layers = model.layers
        square = lambda array: float(np.vdot(array, array)) if array is not None else 0.0
        updates = getattr(optimizer, "updates", {})
        keys = model.param_keys
        grad_sq = np.array([square(layers[i].grads[k]) for i, k in keys])
        if updates:
            update_sq = np.array([square(updates.get((i, k))) for i, k in keys])
        else:
            update_sq = getattr(optimizer, "last_scale", 0.0) ** 2 * grad_sq
        return grad_sq, np.array([square(layers[i].params[k]) for i, k in keys]), update_sq

    def record(self, optimizer) -> None:
        """Read one step's statistics, after backward and the optimizer's step."""
        row = self.steps
        grad_sq, param_sq, update_sq = self._squared_norms(optimizer)
        weights = self.weight_columns
        self.grad_norms[row] = np.sqrt(grad_sq[weights])
        self.bias_grad_norms[row] = np.sqrt(grad_sq[self.signal_columns])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.update_ratios[row] = np.where(param_sq[weights] > 0,
                                               np.sqrt(update_sq[weights] / param_sq[weights]), 0.0)
        self._activation_statistics(row)
        self.steps += 1

    def _activation_statistics(self, row: int) -> None:
        """Mean, std and dead fraction of every activation layer's output, in a few NumPy calls.

        The outputs are laid side by side, (batch, all units), and reduced per column
        and then per layer. A unit is dead when its column of squares sums to 0,
        that is, when it output exactly 0 for every example of the batch.
        """
        if not self.activations:
            return
        outputs = [layer.output for layer in self.activations]
        side_by_side = np.concatenate(outputs, axis=1) if len(outputs) > 1 else outputs[0]
        column_sums = np.add.reduce(side_by_side, axis=0)
        column_squares = np.add.reduce(side_by_side * side_by_side, axis=0)
        starts = self._unit_starts(outputs)
        count = side_by_side.shape[0] * self._units
        mean = np.add.reduceat(column_sums, starts) / count
        mean_square = np.add.reduceat(column_squares, starts) / count
        self.activation_mean[row] = mean
        self.activation_std[row] = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
        if self.relu_columns:
            dead = np.add.reduceat(column_squares == 0, starts) / self._units
            self.dead_fraction[row] = dead[self.relu_columns]

    def _unit_starts(self, outputs) -> np.ndarray:
        widths = [out.shape[1] for out in outputs]
        if widths != getattr(self, "_widths", None):
            self._widths = widths
            self._units = np.array(widths, dtype=float)
            self._starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.intp)
        return self._starts

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

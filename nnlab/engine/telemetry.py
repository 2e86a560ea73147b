"""Telemetry: one recorder that watches a model's layers while it trains.

Like fast.ai's activation hooks, the recorder is not sprinkled through the
layers. After every gradient step it *reads* what the layers already hold
(each parameter's gradient, each activation's last output, the optimizer's
last update) and writes one row per step. The training loop, the plots, the
labs, ``diagnose`` and the tests all read those same rows from the History.

To stay cheap on small nets, where every NumPy call costs more than its
arithmetic, a step only stores raw sums (squared norms per parameter, sums and
sums of squares per unit); the statistics are derived from them for all steps
at once, in :meth:`Recorder.arrays`.
"""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm, Dense, LeakyReLU, ReLU


class Recorder:
    """Collects per-step, per-layer statistics of a model in training.

    Columns of what :meth:`arrays` returns: one per Dense layer for ``grad_norms``
    (||dL/dW||), ``bias_grad_norms`` (||dL/db||, the error signal arriving at the
    layer's output; ||dL/dbeta|| of the BatchNorm right after it, if there is one,
    since dL/db is then exactly 0) and ``update_ratios`` (||update of W|| / ||W||,
    after the update); one per activation layer for ``activation_mean`` and
    ``activation_std``; one per ReLU-family layer for ``dead_fraction`` (units
    that output exactly 0 for every example of the batch).

    Per epoch, :meth:`end_epoch` adds a row to ``epoch_dead_fraction``: per ReLU-family
    layer, the share of units that output exactly 0 on every example of every batch of
    that epoch's training-mode forward passes. Unlike the per-batch ``dead_fraction``,
    it does not depend on the batch size.
    """

    def __init__(self, model, max_steps: int):
        self.model = model
        self.max_steps = max_steps
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
        n_params = len(model.param_keys)
        # Raw sums, one row per step, in the model's own dtype (no casting per step).
        self.dtype = model.dtype
        self.grad_squares = np.zeros((max_steps, n_params), dtype=self.dtype)
        self.weight_squares = np.zeros((max_steps, n_params), dtype=self.dtype)
        self.update_squares = np.zeros((max_steps, n_params), dtype=self.dtype)
        self.scratch = (np.empty_like(model.flat_params) if model.flat_params is not None
                        else None)
        self.update_scales = np.full(max_steps, np.nan)    # plain SGD: update = -scale * grad
        self.batch_sizes = np.zeros(max_steps)
        self.unit_sums = self.unit_squares = None       # (steps, all activation units)
        self.steps = 0
        self.epoch_start = 0                            # first step of the current epoch
        self.epoch_dead = []                            # one row per finished epoch

    def _record_norms(self, row: int, optimizer) -> None:
        """Per parameter: squared norms of the gradient, the weights and the update."""
        model = self.model
        if model.flat_params is None:
            self.grad_squares[row], self.weight_squares[row], self.update_squares[row] = \
                self._squared_norms_each(optimizer)
            return
        offsets = model.param_offsets
        grads, params = model.flat_grads, model.flat_params
        scratch = self.scratch
        np.add.reduceat(np.square(grads, out=scratch), offsets, out=self.grad_squares[row])
        np.add.reduceat(np.square(params, out=scratch), offsets, out=self.weight_squares[row])
        update = getattr(optimizer, "flat_update", None)
        if update is not None:
            np.add.reduceat(np.square(update, out=scratch), offsets, out=self.update_squares[row])
        else:    # plain SGD: the update was -last_scale * gradient, squared below
            self.update_scales[row] = getattr(optimizer, "last_scale", 0.0)

    def _squared_norms_each(self, optimizer):
        """The same sums, one parameter at a time (a model whose parameters are not packed)."""
        model = self.model
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
        """Read one step's raw sums, after backward and the optimizer's step."""
        row = self.steps
        self._record_norms(row, optimizer)
        if self.activations:
            outputs = [layer.output for layer in self.activations]
            # All activation outputs side by side, (batch, all units), reduced per unit.
            side_by_side = np.concatenate(outputs, axis=1) if len(outputs) > 1 else outputs[0]
            if self.unit_sums is None:
                self._allocate_units([out.shape[1] for out in outputs])
            self.batch_sizes[row] = side_by_side.shape[0]
            np.add.reduce(side_by_side, axis=0, out=self.unit_sums[row])
            np.einsum("ij,ij->j", side_by_side, side_by_side, out=self.unit_squares[row])
        self.steps += 1

    def _allocate_units(self, widths) -> None:
        total = int(sum(widths))
        self.widths = np.array(widths, dtype=float)
        self.unit_starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.intp)
        self.unit_sums = np.zeros((self.max_steps, total), dtype=self.dtype)
        self.unit_squares = np.zeros((self.max_steps, total), dtype=self.dtype)

    def _silent_units(self, rows: slice) -> np.ndarray:
        """Per activation unit: True when it output exactly 0 on every example of ``rows``.

        A unit's outputs are all 0 exactly when their sum and their sum of squares are
        both 0 (the sum alone suffices for ReLU, whose outputs are never negative; the
        squares catch a LeakyReLU's positive and negative outputs that cancel)."""
        active = np.logical_or.reduce(self.unit_sums[rows] != 0, axis=0)
        active |= np.logical_or.reduce(self.unit_squares[rows] != 0, axis=0)
        return ~active

    def _dead_share(self, silent: np.ndarray) -> np.ndarray:
        """Share of silent units per ReLU-family layer, from (..., all units) flags."""
        counts = np.add.reduceat(silent, self.unit_starts, axis=-1)
        return (counts / self.widths)[..., self.relu_columns]

    def end_epoch(self) -> None:
        """Close an epoch: record which units never fired on any example it saw."""
        rows = slice(self.epoch_start, self.steps)
        if self.unit_sums is None or rows.start == rows.stop:
            self.epoch_dead.append(np.zeros(len(self.relu_columns)))
        else:
            self.epoch_dead.append(self._dead_share(self._silent_units(rows)))
        self.epoch_start = self.steps

    def arrays(self) -> dict:
        """The statistics of every step taken, derived from the raw sums."""
        n = self.steps
        weights = self.weight_columns
        grad_sq = self.grad_squares[:n].astype(np.float64)
        weight_sq = self.weight_squares[:n, weights].astype(np.float64)
        scales = self.update_scales[:n, None]
        update_sq = np.where(np.isnan(scales), self.update_squares[:n, weights],
                             np.nan_to_num(scales) ** 2 * grad_sq[:, weights])
        ratios = np.sqrt(np.divide(update_sq, weight_sq, out=np.zeros_like(update_sq),
                                   where=weight_sq > 0))
        n_act = len(self.activations)
        mean = np.zeros((n, n_act))
        std = np.zeros((n, n_act))
        dead = np.zeros((n, len(self.relu_columns)))
        if n and self.unit_sums is not None:
            count = self.batch_sizes[:n, None] * self.widths[None, :]
            unit_sums = self.unit_sums[:n].astype(np.float64)
            unit_squares = self.unit_squares[:n].astype(np.float64)
            mean = np.add.reduceat(unit_sums, self.unit_starts, axis=1) / count
            mean_square = np.add.reduceat(unit_squares, self.unit_starts, axis=1) / count
            std = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
            # A unit is dead in a step when its outputs' squares sum to 0: it output
            # exactly 0 for every example of the batch.
            dead = self._dead_share(unit_squares == 0)
        return {"grad_norms": np.sqrt(grad_sq[:, weights]),
                "bias_grad_norms": np.sqrt(grad_sq[:, self.signal_columns]),
                "update_ratios": ratios, "activation_mean": mean, "activation_std": std,
                "dead_fraction": dead,
                "epoch_dead_fraction": np.array(self.epoch_dead).reshape(
                    len(self.epoch_dead), len(self.relu_columns)),
                "layer_names": self.layer_names,
                "activation_names": self.activation_names, "relu_names": self.relu_names}


def dead_units(model, X: np.ndarray) -> np.ndarray:
    """Per ReLU-family layer, the fraction of units that output 0 for *every* row of ``X``.

    Runs ``X`` through the model in evaluation mode. A unit that is dead on the
    whole training set receives no gradient from any example, so plain gradient
    descent can never revive it. Shape: (number of ReLU-family layers,).
    """
    with np.errstate(all="ignore"):
        model.forward(np.asarray(X, dtype=model.dtype), training=False)
    return np.array([1.0 - (layer.output != 0).any(axis=0).mean() for layer in model.relu_layers])

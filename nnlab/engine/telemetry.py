"""Telemetry: one recorder that watches a model's layers while it trains.

Like fast.ai's activation hooks, the recorder is not sprinkled through the
layers. After every gradient step it *reads* what the layers already hold
(the model's packed parameters and gradients, each activation's last output)
and what the optimizer says it did (its :class:`~nnlab.engine.optim.StepRecord`),
and writes one row. The training loop, the plots, the labs, ``diagnose`` and
the tests all read those same rows from the History.

To stay cheap on small nets, where every NumPy call costs more than its
arithmetic, a step only stores raw sums (norms per parameter; per unit, the sum
of its outputs and of their squares);
the statistics are derived from them for all steps at once, in :meth:`Recorder.arrays`.
The sums are float64 whatever the model's dtype, so a float32 model's statistics
neither overflow near the float32 limits nor lose a nearly constant layer's
spread to cancellation (``E[x^2] - E[x]^2`` summed in float32 would).

Two ways to get them, by size (the numbers agree to rounding; tests check both
against a float64 recomputation). Small nets: everything copied to float64 and
summed in a few calls. Large nets, where memory traffic is what costs time: one
BLAS dot product per parameter, scaled when its sum of squares would leave the
dtype's range (:func:`~nnlab.engine.optim.global_norm`); a float32 batch of
activations summed in float32 after subtracting each unit's first output (the
sums are then of the size of the spread, not of the mean), falling back to the
float64 copy when a float32 sum overflows or underflows.

Memory: the rows stay under :data:`TELEMETRY_BUDGET` (200 MB). A run with more
steps than fit keeps every k-th step (k as small as fits), and the History's
``telemetry_steps`` says which; runs the size of the lessons' keep every step.
"""

from __future__ import annotations

import math

import numpy as np

from .layers import BatchNorm, Dense, LeakyReLU, ReLU
from .optim import global_norm

# The most memory one run's per-step telemetry rows may take.
TELEMETRY_BUDGET = 200 * 1024 ** 2

# Parameters this large on average (entries) get their norms one BLAS dot product each, in
# the model's own dtype (optim.global_norm); smaller ones all at once, squared in float64
# (on small nets the per-call overhead, not the arithmetic, is what costs time).
DOT_PER_PARAMETER = 4096


# A float32 model's batches of at least this many activation entries (batch x units) are
# summed in float32 after subtracting each unit's first output (see _sums_shifted):
# half the memory traffic of a float64 copy, which on large nets is what costs time.
SHIFTED_FLOAT32 = 2 ** 18
# Sums of squares below this (float32's smallest normal number times 2^24) may have lost
# bits to underflow; such a step is summed in float64 instead.
_FLOAT32_SQUARES_LOW = float(np.finfo(np.float32).tiny) * 2.0 ** 24


def _one_dot_each(packed) -> bool:
    return packed.values.size > DOT_PER_PARAMETER * len(packed.starts)


def row_bytes(model) -> int:
    """Bytes one telemetry row of ``model`` takes (float64 sums)."""
    n_params = len(model.parameters().keys)
    units = sum(model.activation_widths())
    return 8 * (3 * n_params + 2 * units + 2)


def work_bytes(model, batch_size: int) -> int:
    """Bytes of the recorder's work arrays at most, whatever the number of steps: float64
    squares of every parameter's value and gradient (small nets), a float64 batch of
    activations and their squares, and a float32 copy for the shifted sums."""
    packed = model.parameters()
    squares = 0 if _one_dot_each(packed) else 16 * packed.values.size
    per_activation = 16 + (4 if np.dtype(model.dtype) == np.float32 else 0)
    return squares + per_activation * batch_size * sum(model.activation_widths())


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

    ``max_steps`` is the most steps the run can take; a row is kept every
    ``stride`` steps, the smallest stride whose rows fit in ``budget`` bytes.
    """

    def __init__(self, model, max_steps: int, budget: int | None = None):
        self.model = model
        packed = model.parameters()
        dense = [(index, layer) for index, layer in enumerate(model.layers)
                 if isinstance(layer, Dense)]
        # Where a BatchNorm follows a Dense layer, dL/db is exactly 0 (BN subtracts the
        # batch mean, bias included); the error signal arriving there is dL/dbeta instead.
        signal = []
        for index, _ in dense:
            after = model.layers[index + 1] if index + 1 < len(model.layers) else None
            signal.append((index + 1, "beta") if isinstance(after, BatchNorm) else (index, "b"))
        position = {key: i for i, key in enumerate(packed.keys)}
        self.weight_columns = np.array([position[(index, "W")] for index, _ in dense], dtype=np.intp)
        self.signal_columns = np.array([position[key] for key in signal], dtype=np.intp)
        self.activations = model.activation_layers
        self.relu_columns = [column for column, layer in enumerate(self.activations)
                             if isinstance(layer, (ReLU, LeakyReLU))]
        self.layer_names = [layer.name for _, layer in dense]
        self.activation_names = [layer.name for layer in self.activations]
        self.relu_names = [self.activations[column].name for column in self.relu_columns]
        widths = model.activation_widths()
        self.widths = np.array(widths, dtype=np.intp)
        self.unit_starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.intp)

        budget = TELEMETRY_BUDGET if budget is None else budget
        self.stride = -(-max_steps // max(1, budget // row_bytes(model))) if max_steps else 1
        rows = -(-max_steps // self.stride)
        n_params, units = len(packed.keys), int(sum(widths))
        # Raw numbers in float64, one row per kept step: per parameter, the norms of its
        # values, its gradient and its update, one above the other.
        self.norms = np.zeros((rows, 3, n_params))
        self.scratch = np.empty((2, 0))          # squares of values and grads (small nets)
        # A float32 square is at most 1.2e77, far inside float64; a float64 model's
        # entries above 1e154 would overflow it (then each norm is taken scaled).
        self.may_overflow = np.dtype(model.dtype).itemsize >= 8
        self.update_scales = np.full(rows, np.nan)    # plain SGD: update = -scale * grad
        self.batch_sizes = np.zeros(rows)
        # Per unit, the sum of its outputs over the batch and the sum of their squares.
        self.unit_stats = np.zeros((rows, 2, units))
        self.spare = np.zeros((2, units))               # the sums of a step that is not kept
        self.side_by_side = np.empty((2, 0, units))     # work arrays, grown to the batch
        self.ones = np.ones(0)
        self.shifted = (np.empty((0, units), dtype=np.float32), np.ones(0, dtype=np.float32),
                        np.empty(units, dtype=np.float32), np.empty((2, units), dtype=np.float32))
        self.float32 = np.dtype(model.dtype) == np.float32
        self.steps = 0                                  # steps seen
        self.kept = 0                                   # rows written
        self.epoch_start = 0                            # first row of the current epoch
        self.epoch_active = np.zeros(units, dtype=bool)  # (stride > 1) units that fired
        self.epoch_dead = []                            # one row per finished epoch

    @property
    def unit_sums(self) -> np.ndarray:
        """(kept rows, units): per step, each unit's outputs summed over the batch."""
        return self.unit_stats[:, 0]

    @property
    def unit_squares(self) -> np.ndarray:
        """(kept rows, units): per step, the sum of each unit's squared outputs."""
        return self.unit_stats[:, 1]

    def record(self, step) -> None:
        """Read one step's raw sums, after backward and the optimizer's ``step``
        (``step`` is the :class:`~nnlab.engine.optim.StepRecord` it returned)."""
        keep = self.steps % self.stride == 0
        row = self.kept
        if keep:
            self._record_norms(row, step)
        if self.activations:
            stats = self.unit_stats[row] if keep else self.spare
            batch = self._record_units(stats)
            if keep:
                self.batch_sizes[row] = batch
            if self.stride > 1:
                np.logical_or(self.epoch_active, stats[0], out=self.epoch_active)
                np.logical_or(self.epoch_active, stats[1], out=self.epoch_active)
        self.kept += keep
        self.steps += 1

    def _record_norms(self, row: int, step) -> None:
        """Per parameter: norms of the values, the gradient and the update."""
        packed = step.parameters     # the very arrays the optimizer read and changed
        if packed is None:
            packed = self.model.parameters()
        norms = self.norms[row]
        if step.update is None:    # plain SGD: the update was -scale * gradient
            self.update_scales[row] = step.scale
        if _one_dot_each(packed):
            self._norms_each(packed, step, norms)
            return
        # Values and gradients together: squared in float64, summed per parameter.
        squares = self.scratch
        if squares.shape[1] != packed.values.size:
            squares = self.scratch = np.empty((2, packed.values.size))
        np.square(packed.stacked, out=squares, dtype=np.float64)
        np.add.reduceat(squares, packed.starts, axis=1, out=norms[:2])
        if step.update is not None:
            np.square(step.update, out=squares[0], dtype=np.float64)
            np.add.reduceat(squares[0], packed.starts, out=norms[2])
        np.sqrt(norms, out=norms)
        if self.may_overflow and math.isinf(norms.sum()):    # a float64 square overflowed
            self._norms_each(packed, step, norms)

    @staticmethod
    def _norms_each(packed, step, norms: np.ndarray) -> None:
        """One parameter at a time, each norm safe from overflow (``optim.global_norm``)."""
        for flat, out in zip((packed.values, packed.grads, step.update), norms):
            if flat is not None:
                out[:] = [global_norm(part) for part in np.split(flat, packed.starts[1:])]

    def _record_units(self, stats: np.ndarray) -> int:
        """Per unit, the sum of its outputs over the batch and the sum of their squares,
        into ``stats`` (2, units), in float64: no overflow near the float32 limits, and
        E[x^2] - E[x]^2 keeps a float32 layer's spread (float64 carries 29 more bits
        than the data)."""
        outputs = [layer.output for layer in self.activations]
        batch = outputs[0].shape[0]
        if not (self.float32 and batch * stats.shape[1] >= SHIFTED_FLOAT32
                and self._sums_shifted(outputs, batch, stats)):
            self._sums_float64(outputs, batch, stats)
        return batch

    def _sums_float64(self, outputs: list, batch: int, stats: np.ndarray) -> None:
        if batch > self.ones.shape[0]:     # the first step, or a larger batch than before
            self.side_by_side = np.empty((2, batch, stats.shape[1]))
            self.ones = np.ones(batch)
        both = self.side_by_side[:, :batch]
        # All activation outputs side by side in float64, (batch, all units), and their
        # squares below them; one matrix-vector product sums both over the batch.
        np.concatenate(outputs, axis=1, out=both[0])
        np.square(both[0], out=both[1])
        np.matmul(self.ones[:batch], both, out=stats)

    def _sums_shifted(self, outputs: list, batch: int, stats: np.ndarray) -> bool:
        """The same sums for a large float32 batch, without a float64 copy of it.

        Each unit's outputs x are shifted by its first one, c: d = x - c. The sums of d
        and d^2 are taken in float32 (no cancellation: d is of the size of the spread,
        not of the mean), then, per unit in float64, sum x = B c + sum d and
        sum x^2 = sum d^2 + c (2 sum d + B c). False (nothing written) when a float32
        sum overflowed or a sum of squares is small enough to have lost bits to underflow.
        """
        side_by_side, ones, shift, sums = self.shifted
        if batch > ones.shape[0]:
            side_by_side = np.empty((batch, stats.shape[1]), dtype=np.float32)
            ones = np.ones(batch, dtype=np.float32)
            self.shifted = side_by_side, ones, shift, sums
        d = side_by_side[:batch]
        np.concatenate(outputs, axis=1, out=d)
        np.copyto(shift, d[0])
        np.subtract(d, shift, out=d)
        np.matmul(ones[:batch], d, out=sums[0])
        np.einsum("ij,ij->j", d, d, out=sums[1])
        with np.errstate(all="ignore"):
            if not np.isfinite(sums).all() or np.any((sums[1] < _FLOAT32_SQUARES_LOW) & (
                    (sums[1] > 0) | (sums[0] != 0))):
                return False
        c = shift.astype(np.float64)
        np.multiply(c, batch, out=stats[0])
        stats[0] += sums[0]                                  # sum x = B c + sum d
        np.multiply(c, stats[0] + sums[0], out=stats[1])     # c (2 sum d + B c) ...
        stats[1] += sums[1]                                  # ... + sum d^2
        return True

    def _dead_share(self, silent: np.ndarray) -> np.ndarray:
        """Share of silent units per ReLU-family layer, from (..., all units) flags."""
        counts = np.add.reduceat(silent, self.unit_starts, axis=-1)
        return (counts / self.widths)[..., self.relu_columns]

    def end_epoch(self) -> None:
        """Close an epoch: record which units never fired on any example it saw.

        A unit's outputs over a batch are all exactly 0 when their sum and the sum
        of their squares are both 0."""
        if not self.activations:
            self.epoch_dead.append(np.zeros(0))
            return
        if self.stride == 1:    # every step has its row: reduce this epoch's rows
            rows = slice(self.epoch_start, self.kept)
            self.epoch_active = np.logical_or.reduce(self.unit_sums[rows] != 0, axis=0)
            self.epoch_active |= np.logical_or.reduce(self.unit_squares[rows] != 0, axis=0)
        self.epoch_dead.append(self._dead_share(~self.epoch_active))
        self.epoch_active[:] = False
        self.epoch_start = self.kept

    def arrays(self, steps: int | None = None) -> dict:
        """The statistics of every kept step (of the first ``steps``), from the raw sums."""
        n = self.kept if steps is None else min(self.kept, -(-steps // self.stride))
        with np.errstate(all="ignore"):     # a diverging run's statistics may overflow
            return self._arrays(n)

    def _arrays(self, n: int) -> dict:
        weights = self.weight_columns
        weight_norms = self.norms[:n, 0, weights]
        grad_norms = self.norms[:n, 1]
        scales = self.update_scales[:n, None]
        update_norms = np.where(np.isnan(scales), self.norms[:n, 2, weights],
                                np.nan_to_num(scales) * grad_norms[:, weights])
        ratios = np.divide(update_norms, weight_norms, out=np.zeros_like(update_norms),
                           where=weight_norms > 0)
        n_act = len(self.activations)
        mean = np.zeros((n, n_act))
        std = np.zeros((n, n_act))
        dead = np.zeros((n, len(self.relu_columns)))
        if n and n_act:
            batch = self.batch_sizes[:n, None]
            count = batch * self.widths[None, :]
            sums, squares = self.unit_sums[:n], self.unit_squares[:n]
            mean = np.add.reduceat(sums, self.unit_starts, axis=1) / count
            mean_square = np.add.reduceat(squares, self.unit_starts, axis=1) / count
            std = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
            # A unit is dead in a step when it output exactly 0 for every example of the batch.
            dead = self._dead_share((sums == 0) & (squares == 0))
        relus = len(self.relu_columns)
        return {"grad_norms": grad_norms[:, weights],
                "bias_grad_norms": grad_norms[:, self.signal_columns],
                "update_ratios": ratios, "activation_mean": mean, "activation_std": std,
                "dead_fraction": dead,
                "epoch_dead_fraction": np.array(self.epoch_dead).reshape(len(self.epoch_dead),
                                                                         relus),
                "telemetry_steps": np.arange(n) * self.stride,
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

"""Snapshots: a model's parameters at a few chosen epochs of a training run.

Telemetry keeps a handful of numbers per step; a snapshot keeps every number the
model holds (weights, biases, and BatchNorm's running statistics, which
evaluation-mode predictions need), so a run can be replayed: the decision
boundary after epoch 5, how far each layer had moved by epoch 10. That is far
more memory per row, so a run keeps at most ``SNAPSHOT_BUDGET_BYTES`` of them: a
few dozen for a lesson-sized net, fewer (evenly spaced, always the first and the
last requested) for a large one. They are kept in float32 (``SNAPSHOT_DTYPE``), half
the memory of float64: plenty to draw a boundary or measure how far a layer moved,
not meant for resuming training bit for bit.
"""

from __future__ import annotations

import numpy as np

from .layers import BatchNorm

# Per run: a quarter of a megabyte (the experiment cache keeps up to 128 runs; the
# memory benchmark watches the total).
SNAPSHOT_BUDGET_BYTES = 1 << 18
SNAPSHOT_DTYPE = np.float32


def model_state(model) -> list[tuple[str, np.ndarray]]:
    """Every array that defines the model's predictions, named ``"dense1.W"``,
    ``"batchnorm1.running_mean"``, ...: the parameters, then each BatchNorm's
    running statistics. The arrays are the model's own (not copies)."""
    state = [(f"{layer.name}.{key}", value) for layer in model.layers
             for key, value in layer.params.items()]
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            state += [(f"{layer.name}.running_mean", layer.running_mean),
                      (f"{layer.name}.running_var", layer.running_var)]
    return state


def load_state(model, values: dict) -> None:
    """Copy arrays named as :func:`model_state` names them into ``model``, in place."""
    for layer in model.layers:
        for key in layer.params:
            layer.params[key][...] = values[f"{layer.name}.{key}"]
        if isinstance(layer, BatchNorm):
            dtype = layer.running_mean.dtype
            layer.running_mean = np.array(values[f"{layer.name}.running_mean"], dtype=dtype)
            layer.running_var = np.array(values[f"{layer.name}.running_var"], dtype=dtype)


def evenly_spaced(epochs: list[int], keep: int) -> list[int]:
    """At most ``keep`` of the sorted ``epochs``, evenly spaced, the first and last kept."""
    if keep >= len(epochs):
        return list(epochs)
    if keep <= 1:
        return list(epochs[-1:])
    picks = np.round(np.linspace(0, len(epochs) - 1, keep)).astype(int)
    return [epochs[i] for i in sorted(set(picks))]


class Snapshots:
    """Takes snapshots of ``model`` at the requested epochs (0 = before training).

    ``wanted`` is thinned to fit ``budget`` bytes; :meth:`take` is called by the
    training loop after each epoch and copies the state when the epoch is wanted.
    """

    def __init__(self, model, epochs, last_epoch: int, budget: int | None = None):
        try:
            requested = sorted({int(epoch) for epoch in epochs})
        except (TypeError, ValueError):
            raise TypeError(f"snapshot_epochs must be a list of whole numbers of epochs, "
                            f"but got {epochs!r}.") from None
        if requested and (requested[0] < 0 or requested[-1] > last_epoch):
            raise ValueError(f"snapshot_epochs must lie between 0 (before training) and "
                             f"epochs={last_epoch}, but got {requested}.")
        budget = SNAPSHOT_BUDGET_BYTES if budget is None else budget
        self.model = model
        state = model_state(model)
        self.names = [name for name, _ in state]
        self.shapes = [value.shape for _, value in state]
        self.sizes = [value.size for _, value in state]
        self.dtype = np.dtype(SNAPSHOT_DTYPE)
        row_bytes = max(sum(value.size for _, value in state) * self.dtype.itemsize, 1)
        self.wanted = set(evenly_spaced(requested, budget // row_bytes))
        self.epochs: list[int] = []
        self.rows: list[np.ndarray] = []

    def take(self, epoch: int) -> None:
        if epoch in self.wanted:
            self.rows.append(np.concatenate([value.ravel() for _, value
                                             in model_state(self.model)]).astype(self.dtype))
            self.epochs.append(epoch)

    def arrays(self) -> dict:
        """The History fields: ``snapshot_epochs`` (n,), ``snapshots`` (n, values per model),
        and ``snapshot_layout`` ((name, shape) of each array, in row order)."""
        width = sum(self.sizes)
        rows = np.array(self.rows, dtype=self.dtype).reshape(len(self.rows), width)
        return {"snapshot_epochs": np.array(self.epochs, dtype=int), "snapshots": rows,
                "snapshot_layout": list(zip(self.names, self.shapes))}


def unpack(row: np.ndarray, layout) -> dict:
    """One snapshot row as {name: array of its shape} (views into ``row``)."""
    values, start = {}, 0
    for name, shape in layout:
        size = int(np.prod(shape, dtype=int))
        values[name] = row[start:start + size].reshape(shape)
        start += size
    return values

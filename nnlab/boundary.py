"""Decision boundaries of a run, epoch by epoch, from the parameters it kept.

As TensorFlow Playground shows it: the plane coloured by the class the network
predicts there, with the data on top. A run keeps its parameters at the epochs
a lab can show (``History.snapshot_epochs``); :class:`BoundaryGrids` loads each
into a private copy of the model and predicts a grid of points once, so an
animation only swaps precomputed images.
"""

from __future__ import annotations

import copy

import numpy as np

from .engine.snapshots import load_state
from .experiments import Outcome, snapshot_at

RESOLUTION = 60     # grid points per side: 3,600 predictions per epoch
CHUNKS = 6          # predicted 600 at a time


class BoundaryGrids:
    """Predicted classes over a grid around ``result``'s training data, per kept epoch.

    ``X``, ``y``: the training data (2 features shown: the first two columns).
    ``extent``: (left, right, bottom, top) of the grid. :meth:`at` returns the
    (RESOLUTION, RESOLUTION) grid of classes (row 0 at the bottom) after an epoch,
    and the epoch whose parameters drew it (the latest kept at or before it).
    """

    def __init__(self, result: Outcome, resolution: int = RESOLUTION):
        (X, y), _ = result.config.data()
        self.X, self.y = X, y
        self.history = result.history
        self.model = copy.deepcopy(result.model)
        self._shrink_caches(X)
        low, high = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
        pad = 0.1 * (high - low)
        low, high = low - pad, high + pad
        self.extent = (low[0], high[0], low[1], high[1])
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                             np.linspace(low[1], high[1], resolution))
        points = np.zeros((gx.size, X.shape[1]))     # extra (noise) features held at 0
        points[:, 0], points[:, 1] = gx.ravel(), gy.ravel()
        self.points = points.astype(self.model.dtype)
        self.shape = gx.shape
        self._grids: dict = {}

    def at(self, epoch: int) -> tuple[np.ndarray, int]:
        kept = snapshot_at(self.history, epoch)
        grid = self._grids.get(kept)
        if grid is None:
            if self.history.snapshot_epochs.size:
                load_state(self.model, self.history.parameters_at(kept))
            with np.errstate(all="ignore"):     # in chunks: a wide net's layers stay small
                scores = np.concatenate([self.model.forward(chunk, training=False)
                                         for chunk in np.array_split(self.points, CHUNKS)])
            self._shrink_caches(self.X)
            # A diverged net's scores can be NaN: argmax is then 0, shown as one flat region.
            grid = scores.argmax(axis=1).reshape(self.shape).astype(np.int8)
            self._grids[kept] = grid
        return grid, kept

    def _shrink_caches(self, X) -> None:
        """Layers keep their last input and output for backward: after a pass over the
        whole grid (3,600 rows per layer, megabytes in a wide net) a one-row pass leaves
        them one row big, so a lab that keeps a few of these stays small."""
        with np.errstate(all="ignore"):
            self.model.forward(X[:1].astype(self.model.dtype), training=False)

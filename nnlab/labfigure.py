"""The figure every lab shows: the current run drawn over a faint reference run.

Three panels: gradient magnitude per layer at initialisation, loss, and a
case-specific third panel (accuracy, dead units, or how far each layer moved);
the playground adds a fourth, the decision boundary.

Every panel also shows one epoch of the run (the last, unless a lab's epoch
slider says otherwise): the curves get a marker there, and the per-layer and
boundary panels show the network after that many epochs. :meth:`LabFigure.show_epoch`
changes only those artists: they are *animated* (left out of the figure's own
drawing), the rest is rendered once per run and kept as a background, and a
frame is that background with the epoch's artists drawn over it (matplotlib's
blitting), encoded as PNG.

A lab redraws this figure on every click, so it is built once and then only
updated: each run owns a fixed set of line artists whose data are replaced,
titles sit at fixed positions, log axes show major ticks only, and the PNG is
compressed lightly. That keeps a redraw near the floor of what matplotlib
needs to rasterize three small axes (see benchmarks/).
"""

from __future__ import annotations

import io

import numpy as np
import matplotlib
from PIL import Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from .boundary import BoundaryGrids
from .experiments import frame_epochs, step_at_epoch, weight_change_at
from .plots import (BROKEN_COLOR, FIXED_COLOR, REFERENCE_ALPHA, STATISTICS, decades, smooth,
                    step_epochs)

THIRD_PANELS = ("accuracy", "dead", "weight_change")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _position=None) -> str:
    """'10⁻³' in plain text: it renders like mathtext's 10^{-3}, without its cost."""
    if value <= 0:
        return ""
    exponent = int(round(np.log10(value)))
    return "1" if exponent == 0 else "10" + str(exponent).translate(_SUPERSCRIPT)


class _RunArtists:
    """The lines that show one run (current or reference) in every panel."""

    def __init__(self, axes, third: str, alpha: float, zorder: int):
        grad_ax, loss_ax, third_ax = axes
        style = dict(alpha=alpha, zorder=zorder)
        self.gradient, = grad_ax.plot([], [], marker="o", **style)
        self.step_loss, = loss_ax.plot([], [], linewidth=0.8, **style)
        self.loss, = loss_ax.plot([], [], linewidth=1.6, **style)
        self.val_loss, = loss_ax.plot([], [], linestyle="--", linewidth=1.6, **style)
        self.blowup, = loss_ax.plot([], [], marker="X", markersize=10, linestyle="none", **style)
        self.diverged_line = loss_ax.axvline(np.nan, linestyle="--", linewidth=1.4, **style)
        self.diverged_text = loss_ax.text(0, 0.97, "", transform=loss_ax.get_xaxis_transform(),
                                          va="top", ha="left", fontsize="small", **style)
        if third == "accuracy":
            self.third = [third_ax.plot([], [], **style)[0],
                          third_ax.plot([], [], linestyle="--", **style)[0]]
        else:
            marker = "s" if third == "weight_change" else None
            self.third = [third_ax.plot([], [], marker=marker, **style)[0]]
        self.step_alpha = 0.3 * alpha
        self.step_loss.set_alpha(self.step_alpha)

    def color(self, color: str) -> None:
        for line in (self.gradient, self.step_loss, self.loss, self.val_loss, self.blowup,
                     self.diverged_line, *self.third):
            line.set_color(color)
        self.diverged_text.set_color(color)


class LabFigure:
    """A three-panel figure, created once and redrawn in place by :meth:`draw`.

    ``statistic`` picks the per-layer gradient statistic of the first panel
    (see ``plots.STATISTICS``); ``third`` picks the third panel, one of
    ``"accuracy"``, ``"dead"`` or ``"weight_change"``. ``gradient_at`` is
    ``"start"`` (the gradient at initialisation) or ``"end"`` (at the last step).
    ``lecture=True`` draws a larger figure with larger type, for a projector.
    ``boundary=True`` adds the decision-boundary panel (2-D data sets only).
    """

    def __init__(self, statistic: str = "grad_norms", third: str = "accuracy",
                 lecture: bool = False, gradient_at: str = "start", boundary: bool = False):
        if gradient_at not in ("start", "end"):
            raise ValueError(f"gradient_at must be 'start' or 'end', but got {gradient_at!r}.")
        self.gradient_row = 0 if gradient_at == "start" else -1
        if third not in THIRD_PANELS:
            raise ValueError(f"third must be one of {', '.join(map(repr, THIRD_PANELS))}, "
                             f"but got {third!r}.")
        self.statistic, self.third, self.lecture = statistic, third, lecture
        self.boundary = boundary
        self.fonts = {"font.size": 13 if lecture else 9,
                      "legend.fontsize": 11 if lecture else 8,
                      "axes.titlesize": 14 if lecture else 10}
        with matplotlib.rc_context(self.fonts):
            width = (15, 12) if not boundary else (18.5, 15)
            self.figure = Figure(figsize=(width[0], 4.6) if lecture else (width[1], 3.6),
                                 dpi=80 if lecture else 72)
            FigureCanvasAgg(self.figure)
            if boundary:
                *self.axes, self.boundary_ax = self.figure.subplots(
                    1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.8]})
            else:
                self.axes = self.figure.subplots(1, 3)
            self.figure.subplots_adjust(left=0.05 if boundary else 0.06, right=0.985,
                                        bottom=0.17, top=0.83, wspace=0.3)
            self._decorate()
            self.reference = _RunArtists(self.axes, third, REFERENCE_ALPHA, zorder=2)
            self.current = _RunArtists(self.axes, third, 1.0, zorder=3)
            self._epoch_artists()
            self._legends()
        self.n_layers = None
        self._grids = {}          # id(outcome) -> BoundaryGrids of the runs drawn lately

    # --- built once -------------------------------------------------------
    def _decorate(self):
        grad_ax, loss_ax, third_ax = self.axes
        # An explicit title height spares matplotlib a layout pass on every draw.
        grad_ax.set_title("Gradient per layer (solid: at start, dashed: now)" if self.gradient_row == 0
                          else "Gradient magnitude per layer (at the epoch shown)", y=1.0)
        grad_ax.set_xlabel("Dense layer (1 = next to the input)")
        grad_ax.set_ylabel(STATISTICS.get(self.statistic, self.statistic))
        loss_ax.set_title("Loss", y=1.0)
        loss_ax.set_xlabel("epoch")
        loss_ax.set_ylabel("loss (cross-entropy)")
        log_axes = [grad_ax, loss_ax]
        if self.third == "accuracy":
            third_ax.set_title("Accuracy", y=1.0)
            third_ax.set_xlabel("epoch (long runs smoothed)")
            third_ax.set_ylabel("accuracy (fraction correct)")
            third_ax.set_ylim(0, 1.02)
            self.chance = third_ax.axhline(0.5, color="gray", linestyle=":", linewidth=1)
        elif self.third == "dead":
            third_ax.set_title("Dead ReLU units (per batch)", y=1.0)
            third_ax.set_xlabel("epoch")
            third_ax.set_ylabel("dead hidden units (fraction)")
            third_ax.set_ylim(-0.02, 1.02)
        else:
            third_ax.set_title("How far each layer has moved (by now)", y=1.0)
            third_ax.set_xlabel("Dense layer (1 = next to the input)")
            third_ax.set_ylabel("‖W_now − W_start‖ / ‖W_start‖")
            log_axes.append(third_ax)
        for ax in log_axes:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=7))
            ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
            ax.yaxis.set_minor_locator(NullLocator())
        for ax in self.axes:
            ax.grid(True, alpha=0.3)
            if ax is not grad_ax and not (ax is third_ax and self.third == "weight_change"):
                ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))

    def _epoch_artists(self):
        grad_ax, loss_ax, third_ax = self.axes
        marker = dict(color="0.25", linestyle=":", linewidth=1.2, zorder=5)
        self.epoch_lines = [loss_ax.axvline(np.nan, **marker)]
        if self.third != "weight_change":
            self.epoch_lines.append(third_ax.axvline(np.nan, **marker))
        # Labs that show the gradient at initialisation keep it, and add this run's
        # gradient after the epoch shown (dashed): the profile moving away from the start.
        self.gradient_now = None
        if self.gradient_row == 0:
            self.gradient_now, = grad_ax.plot([], [], marker="o", linestyle="--",
                                              markerfacecolor="none", zorder=4)
        if self.boundary:
            ax = self.boundary_ax
            self.boundary_image = ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto",
                                            cmap="coolwarm", vmin=0, vmax=1, alpha=0.35,
                                            interpolation="nearest", extent=(0, 1, 0, 1))
            self.boundary_points = ax.scatter(np.zeros(0), np.zeros(0), c=np.zeros(0), s=7,
                                              cmap="coolwarm", vmin=0, vmax=1,
                                              edgecolors="none")
            ax.set_title("Decision boundary", y=1.0)
            # As in TensorFlow Playground: the shape of the regions is the point, not the
            # coordinates (and unlabelled axes spare a frame's worth of text).
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("feature 1 (background: predicted class)")
            ax.set_ylabel("feature 2")
        # What moves from epoch to epoch, in drawing order.
        self.moving = [(loss_ax, self.epoch_lines[0])]
        if self.third != "weight_change":
            self.moving.append((third_ax, self.epoch_lines[1]))
        else:
            self.moving += [(third_ax, self.reference.third[0]), (third_ax, self.current.third[0])]
        if self.gradient_now is not None:
            self.moving.append((grad_ax, self.gradient_now))
        else:
            self.moving += [(grad_ax, self.reference.gradient), (grad_ax, self.current.gradient)]
        if self.boundary:
            self.moving += [(self.boundary_ax, self.boundary_image),
                            (self.boundary_ax, self.boundary_points),
                            (self.boundary_ax, self.boundary_ax.title)]
        for _, artist in self.moving:
            artist.set_animated(True)
        self.background = None

    def _legends(self):
        # Above the panels, where it can never cover a curve.
        self.run_legend = self.figure.legend([self.reference.gradient, self.current.gradient],
                                             ["reference", "this run"], loc="upper center",
                                             ncol=2, frameon=False)
        self.legend_flags = None
        self.loss_legend = self.third_legend = None

    def _legend_entries(self, histories) -> None:
        """Line styles for the loss and accuracy panels: "validation" and "blew up" only
        when some run has them (rebuilt only when that changes)."""
        has_val = any(h.val_loss for h in histories)
        diverged = any(h.diverged for h in histories)
        if (has_val, diverged) == self.legend_flags:
            return
        self.legend_flags = (has_val, diverged)
        grad_ax, loss_ax, third_ax = self.axes
        gray = dict(color="0.35")
        training = Line2D([], [], **gray)
        validation = Line2D([], [], linestyle="--", **gray)
        blew_up = Line2D([], [], marker="X", linestyle="none", **gray)
        entries = [(training, "training")] + [(validation, "validation")] * has_val \
            + [(blew_up, "blew up (diverged)")] * diverged
        if self.loss_legend is not None:
            self.loss_legend.remove()
        self.loss_legend = loss_ax.legend(*zip(*entries), loc="lower left")
        if self.third == "accuracy":
            entries = [(training, "training")] + [(validation, "validation")] * has_val \
                + [(self.chance, "chance")]
            if self.third_legend is not None:
                self.third_legend.remove()
            self.third_legend = third_ax.legend(*zip(*entries), loc="lower right")

    # --- on every click ---------------------------------------------------
    def draw(self, current, reference, current_label: str = "this run",
             reference_label: str = "reference", current_color: str = FIXED_COLOR,
             reference_color: str = BROKEN_COLOR, epoch: int | None = None) -> bytes:
        """Show ``current`` over ``reference`` (``experiments.Outcome`` objects) after ``epoch``
        epochs (None: the last); return PNG bytes."""
        with matplotlib.rc_context(self.fonts):
            for artists, result, color in ((self.reference, reference, reference_color),
                                           (self.current, current, current_color)):
                artists.color(color)
                self._show_run(artists, result)
            texts = self.run_legend.get_texts()
            texts[0].set_text(reference_label)
            texts[1].set_text(current_label)
            for handle, color in zip(self.run_legend.legend_handles,
                                     (reference_color, current_color)):
                handle.set_color(color)
            if self.gradient_now is not None:
                self.gradient_now.set_color(current_color)
            self._set_limits(current, reference)
            self._legend_entries((current.history, reference.history))
            if self.boundary:
                self._show_data(current)
            self.figure.canvas.draw()      # everything but the moving artists
            self.background = self.figure.canvas.copy_from_bbox(self.figure.bbox)
        return self.show_epoch(current, reference, epoch)

    def show_epoch(self, current, reference, epoch: int | None = None) -> bytes:
        """Move the figure drawn by :meth:`draw` to ``epoch`` (None: the last); return PNG bytes.

        Only what depends on the epoch changes: the markers on the curves, the
        per-layer panel and the decision boundary, drawn over the background
        that :meth:`draw` rendered.
        """
        if self.background is None:
            raise RuntimeError("show_epoch draws over a figure drawn by draw(); call draw first.")
        last = current.config.epochs
        epoch = last if epoch is None else int(min(max(epoch, 0), last))
        with matplotlib.rc_context(self.fonts):
            for line in self.epoch_lines:
                line.set_xdata([epoch, epoch])
            if self.gradient_now is not None:
                values = self._gradient(current.history, epoch)
                self.gradient_now.set_data(np.arange(1, len(values) + 1), values)
                self.gradient_now.set_visible(epoch > 0)
            else:
                for artists, result in ((self.reference, reference), (self.current, current)):
                    values = self._gradient(result.history, epoch)
                    artists.gradient.set_data(np.arange(1, len(values) + 1), values)
            if self.third == "weight_change":
                for artists, result in ((self.reference, reference), (self.current, current)):
                    change = weight_change_at(result, epoch)
                    artists.third[0].set_data(np.arange(1, len(change) + 1), change)
            if self.boundary:
                grid, kept = self._grid(current).at(epoch)
                self.boundary_image.set_data(grid)
                self.boundary_ax.title.set_text(f"Decision boundary (epoch {kept})")
            canvas = self.figure.canvas
            canvas.restore_region(self.background)
            for ax, artist in self.moving:
                if artist.get_visible():
                    ax.draw_artist(artist)
            buffer = io.BytesIO()
            Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _gradient(self, history, epoch: int) -> np.ndarray:
        """The per-layer statistic after ``epoch`` epochs (gaps where a log axis cannot show it)."""
        rows = getattr(history, self.statistic)
        if not rows.shape[0]:
            return np.full(rows.shape[1], np.nan)
        values = rows[step_at_epoch(history, epoch)]
        return np.where(values > 0, values, np.nan)

    def _grid(self, result) -> BoundaryGrids:
        grids = self._grids.get(id(result))
        if grids is None or grids.history is not result.history:
            if len(self._grids) >= 8:
                self._grids.pop(next(iter(self._grids)))     # forget the oldest run
            grids = self._grids[id(result)] = BoundaryGrids(result)
        return grids

    def _show_data(self, current) -> None:
        grids = self._grid(current)
        classes = max(int(grids.y.max()), 1)
        self.boundary_image.set_extent(grids.extent)
        self.boundary_image.set_clim(0, classes)
        self.boundary_points.set_offsets(grids.X[:, :2])
        self.boundary_points.set_array(grids.y)
        self.boundary_points.set_clim(0, classes)
        self.boundary_ax.set_xlim(grids.extent[0], grids.extent[1])
        self.boundary_ax.set_ylim(grids.extent[2], grids.extent[3])

    def _show_run(self, artists: _RunArtists, result) -> None:
        history = result.history
        # A gradient of exactly 0 (every unit dead) has no place on a log axis: leave a gap.
        # (Labs that show the gradient at the epoch shown set it in show_epoch.)
        artists.gradient.set_data(*self._gradient_at_start(history))
        steps_x = step_epochs(history)
        epochs = np.arange(1, len(history.loss) + 1)
        artists.step_loss.set_data(steps_x, history.step_loss)
        artists.step_loss.set_alpha(artists.gradient.get_alpha() if history.diverged
                                    else artists.step_alpha)
        artists.step_loss.set_marker("o" if history.diverged else "None")
        artists.step_loss.set_markersize(4)
        artists.loss.set_data(epochs, smooth(history.loss))
        artists.val_loss.set_data(np.arange(1, len(history.val_loss) + 1), smooth(history.val_loss))
        if history.diverged:
            x = history.diverged_at / max(history.steps_per_epoch, 1)
            artists.diverged_line.set_xdata([x, x])
            artists.diverged_text.set_x(x)
            artists.diverged_text.set_text(f" diverged (step {history.diverged_at})")
            blown = history.diverged_loss if np.isfinite(history.diverged_loss) else np.nan
            artists.blowup.set_data([x], [blown])
        else:
            artists.diverged_line.set_xdata([np.nan, np.nan])
            artists.diverged_text.set_text("")
            artists.blowup.set_data([], [])
        if self.third == "accuracy":
            artists.third[0].set_data(np.arange(1, len(history.accuracy) + 1),
                                      smooth(history.accuracy))
            artists.third[1].set_data(np.arange(1, len(history.val_accuracy) + 1),
                                      smooth(history.val_accuracy))
        elif self.third == "dead":
            dead = (history.dead_fraction.mean(axis=1) if history.dead_fraction.shape[1]
                    else np.zeros(history.steps))
            artists.third[0].set_data(steps_x, dead)
        else:
            change = result.weight_change
            artists.third[0].set_data(np.arange(1, len(change) + 1), change)

    def _gradient_at_start(self, history):
        rows = getattr(history, self.statistic)
        layers = np.arange(1, rows.shape[1] + 1)
        if self.gradient_row != 0 or not rows.shape[0]:
            return layers, np.full(len(layers), np.nan)
        return layers, np.where(rows[0] > 0, rows[0], np.nan)

    def _set_limits(self, current, reference) -> None:
        grad_ax, loss_ax, third_ax = self.axes
        histories = (current.history, reference.history)
        n_layers = max(getattr(h, self.statistic).shape[1] for h in histories)
        if n_layers != self.n_layers:
            self.n_layers = n_layers
            ticks = np.arange(1, n_layers + 1)
            for ax in ([grad_ax, third_ax] if self.third == "weight_change" else [grad_ax]):
                ax.set_xticks(ticks)
                ax.set_xlim(0.6, n_layers + 0.4)
        # Limits that hold for every epoch a lab can show, so the axes stay still while playing.
        frames = frame_epochs(current.config.epochs)
        shown = [self._gradient(current.history, epoch) for epoch in frames]
        shown += ([getattr(h, self.statistic)[:1].ravel() for h in histories]
                  if self.gradient_row == 0 else
                  [self._gradient(reference.history, epoch) for epoch in frames])
        grad_ax.set_ylim(*decades(np.concatenate(shown)))
        losses = np.concatenate([np.concatenate([h.step_loss, h.loss, h.val_loss,
                                                 [h.diverged_loss]]) for h in histories])
        loss_ax.set_ylim(*decades(losses))
        last_epoch = max(max(h.epochs, (h.diverged_at or 0) / max(h.steps_per_epoch, 1))
                         for h in histories)
        loss_ax.set_xlim(0, max(last_epoch, 1) * 1.02)
        if self.third == "weight_change":
            changes = [weight_change_at(current, epoch) for epoch in frames]
            third_ax.set_ylim(*decades(np.concatenate([*changes, reference.weight_change])))
        else:
            third_ax.set_xlim(0, max(last_epoch, 1) * 1.02)
            if self.third == "accuracy":
                classes = max(h.n_classes for h in histories) or 2
                self.chance.set_ydata([1.0 / classes] * 2)

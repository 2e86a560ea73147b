"""The figure every lab shows: the current run drawn over a faint reference run.

Three panels: gradient magnitude per layer at initialisation, loss, and a
case-specific third panel (accuracy, dead units, or how far each layer moved).

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from .plots import (BROKEN_COLOR, FIXED_COLOR, REFERENCE_ALPHA, STATISTICS, decades, smooth,
                    step_epochs)

THIRD_PANELS = ("accuracy", "dead", "weight_change")
# Lecture mode: 1200 x 440 px with 19 px type, so that the page (nnlab.labs) can show it at
# its natural size or larger on a 1280 x 720 projector; thick lines, a reference run that
# stays visible from the back of the room.
LECTURE = {"figsize": (12, 4.4), "dpi": 100, "reference_alpha": 0.6,
           "rc": {"font.size": 14, "legend.fontsize": 14, "axes.titlesize": 14,
                  "lines.linewidth": 2.6, "lines.markersize": 8, "axes.linewidth": 1.2},
           "margins": dict(left=0.075, right=0.985, bottom=0.2, top=0.76, wspace=0.38)}
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
    ``lecture=True`` draws for a projector (``LECTURE``): 1200 x 440 px, 19 px type,
    thick lines and a reference run drawn at 0.6 opacity instead of a faint 0.25.
    """

    def __init__(self, statistic: str = "grad_norms", third: str = "accuracy",
                 lecture: bool = False, gradient_at: str = "start"):
        if gradient_at not in ("start", "end"):
            raise ValueError(f"gradient_at must be 'start' or 'end', but got {gradient_at!r}.")
        self.gradient_row = 0 if gradient_at == "start" else -1
        if third not in THIRD_PANELS:
            raise ValueError(f"third must be one of {', '.join(map(repr, THIRD_PANELS))}, "
                             f"but got {third!r}.")
        self.statistic, self.third, self.lecture = statistic, third, lecture
        self.fonts = LECTURE["rc"] if lecture else {"font.size": 9, "legend.fontsize": 8,
                                                    "axes.titlesize": 10}
        with matplotlib.rc_context(self.fonts):
            self.figure = Figure(figsize=LECTURE["figsize"] if lecture else (12, 3.6),
                                 dpi=LECTURE["dpi"] if lecture else 72)
            FigureCanvasAgg(self.figure)
            self.axes = self.figure.subplots(1, 3)
            self.figure.subplots_adjust(**LECTURE["margins"] if lecture else dict(
                left=0.06, right=0.985, bottom=0.17, top=0.83, wspace=0.3))
            self._decorate()
            self.reference = _RunArtists(self.axes, third, LECTURE["reference_alpha"] if lecture
                                         else REFERENCE_ALPHA, zorder=2)
            self.current = _RunArtists(self.axes, third, 1.0, zorder=3)
            self._legends()
        self.n_layers = None

    # --- built once -------------------------------------------------------
    def _decorate(self):
        grad_ax, loss_ax, third_ax = self.axes
        # An explicit title height spares matplotlib a layout pass on every draw.
        when = "at initialisation" if self.gradient_row == 0 else "at the last step"
        grad_ax.set_title(f"Gradient magnitude per layer{chr(10) if self.lecture else ' '}({when})",
                          y=1.0)
        layer_label = ("layer (1 = next to the input)" if self.lecture
                       else "Dense layer (1 = next to the input)")
        grad_ax.set_xlabel(layer_label)
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
            third_ax.set_title("How far each layer moved", y=1.0)
            third_ax.set_xlabel(layer_label)
            third_ax.set_ylabel("‖W_end − W_start‖ / ‖W_start‖")
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
             reference_color: str = BROKEN_COLOR) -> bytes:
        """Show ``current`` over ``reference`` (``experiments.Outcome`` objects); return PNG bytes."""
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
            self._set_limits(current, reference)
            self._legend_entries((current.history, reference.history))
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def _show_run(self, artists: _RunArtists, result) -> None:
        history = result.history
        rows = getattr(history, self.statistic)
        layers = np.arange(1, rows.shape[1] + 1)
        values = rows[self.gradient_row] if rows.shape[0] else np.full(len(layers), np.nan)
        # A gradient of exactly 0 (every unit dead) has no place on a log axis: leave a gap.
        artists.gradient.set_data(layers, np.where(values > 0, values, np.nan))
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
        grad_ax.set_ylim(*decades(np.concatenate(
            [getattr(h, self.statistic)[self.gradient_row:][:1].ravel() for h in histories])))
        losses = np.concatenate([np.concatenate([h.step_loss, h.loss, h.val_loss,
                                                 [h.diverged_loss]]) for h in histories])
        loss_ax.set_ylim(*decades(losses))
        last_epoch = max(max(h.epochs, (h.diverged_at or 0) / max(h.steps_per_epoch, 1))
                         for h in histories)
        loss_ax.set_xlim(0, max(last_epoch, 1) * 1.02)
        if self.third == "weight_change":
            third_ax.set_ylim(*decades(np.concatenate([current.weight_change,
                                                        reference.weight_change])))
        else:
            third_ax.set_xlim(0, max(last_epoch, 1) * 1.02)
            if self.third == "accuracy":
                classes = max(h.n_classes for h in histories) or 2
                self.chance.set_ydata([1.0 / classes] * 2)

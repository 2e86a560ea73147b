"""What each panel of a figure shows: its title, axis labels, scale, and the series it draws.

One specification per panel, read by both renderers: the static figures of
``plots`` (drawn once, e.g. ``plots.comparison_figure``) and the lab figure of
``labfigure`` (built once, then redrawn in place on every click). A panel is
data, not drawing: each of its series turns a run into x and y arrays and a
line style, so the two renderers cannot disagree about what a panel means.

A run is an ``experiments.Outcome`` or a bare ``History`` (the weight-change
panel needs an Outcome). This module imports no plotting library.

A lab also plays a run through its epochs: a series that changes with the
epoch shown has ``at(run, epoch)`` beside ``data(run)`` (which is its view at the
last epoch, the one static figures show), and a panel with an epoch axis gets a
marker at the epoch shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import metrics
from .experiments import step_at_epoch, weight_change_at

STATISTICS = {
    "grad_norms": "‖dL/dW‖ (weight gradient norm)",
    "bias_grad_norms": "‖dL/db‖ (backpropagated error)",
    "update_ratios": "‖ΔW‖ / ‖W‖ (update ratio)",
}
LAYER_AXIS = "Dense layer (1 = next to the input)"
THIRD_PANELS = ("accuracy", "dead", "weight_change")

# How a figure tells its two runs apart: by colour AND by marker shape, never by colour
# alone. The colours are from Okabe & Ito's palette for colour-vision deficiencies (orange
# and blue stay apart under deuteranopia, tests/test_accessibility_figures.py), darkened to 5:1
# contrast on white; the markers keep the runs apart in grey print too. Lessons may quote
# ``words``: "orange triangles" is the broken run, "blue circles" the fixed one.
RUN_STYLES = {
    "broken": {"color": "#B84D00", "marker": "^", "words": "orange triangles"},
    "fixed": {"color": "#0072B2", "marker": "o", "words": "blue circles"},
}
# Markers along a curve of many points: about this many per line (the markevery step).
MARKERS_PER_CURVE = 8


# ---------------------------------------------------------------------------
# Helpers the series use
# ---------------------------------------------------------------------------

def history_of(run):
    """The History of a run (an Outcome's ``history``, or the History itself)."""
    return getattr(run, "history", run)


def smooth(values, longest: int = 100) -> np.ndarray:
    """A trailing moving average for curves of more than ``longest`` points (else unchanged).

    The window is a fortieth of the curve, so a 1000-epoch run is averaged over
    25 epochs: the trend shows through epoch-to-epoch noise.
    """
    values = np.asarray(values, dtype=float)
    if values.size <= longest:
        return values
    window = values.size // 40
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, values.size + 1), window)
    return (sums[1:] - sums[np.maximum(np.arange(1, values.size + 1) - window, 0)]) / counts


def step_epochs(history) -> np.ndarray:
    """Each step's position in epochs (step 0 at 0, the last step of epoch 1 just below 1)."""
    return np.arange(history.steps) / max(history.steps_per_epoch, 1)


def safe_log_values(values) -> np.ndarray:
    """Zeros and non-finite values cannot sit on a log axis: show them as gaps (nan)."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def positive_values(values) -> np.ndarray:
    """The finite, positive entries: the ones a log axis can show."""
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values) & (values > 0)]


def decades(values, minimum_span: int = 1) -> tuple[float, float]:
    """Log-axis limits at whole powers of ten around ``values`` (1e-3 to 1 if none is positive)."""
    values = positive_values(values)
    if values.size == 0:
        return 1e-3, 1.0
    low, high = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
    if high - low < minimum_span:
        high = low + minimum_span
    return 10.0 ** low, 10.0 ** high


def divergence_mark(history):
    """``(x in epochs, text)`` of the marker at the step a run blew up, or None if it did not."""
    if not history.diverged:
        return None
    return (history.diverged_at / max(history.steps_per_epoch, 1),
            f" diverged (step {history.diverged_at})")


def epoch_span(history) -> float:
    """The epochs an epoch axis must show for a run: all it trained, and the step it blew up."""
    return max(history.epochs, (history.diverged_at or 0) / max(history.steps_per_epoch, 1))


def _epochs_of(values) -> np.ndarray:
    return np.arange(1, len(values) + 1)


def run_look(color: str) -> str:
    """How a run is drawn, in words: "blue circles" (``panels.RUN_STYLES``), or its colour."""
    return next((style["words"] for style in RUN_STYLES.values()
                 if style["color"].lower() == str(color).lower()), f"colour {color}")


def _number(value) -> str:
    return f"{value:.2g}" if np.isfinite(value) else "none (zero or not finite)"


def panel_words(spec, shown, epoch: int, several: bool) -> str | None:
    """One run's numbers on one panel: a per-layer panel's first and last layer, an epoch
    panel's value at ``epoch``. ``shown`` holds (series, x, y) as the panel draws them; None
    when the run has nothing on the panel. (For text alternatives of figures.)"""
    words = []
    for series, x, y in shown:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if y.size == 0 or not series.run_marker:
            continue
        name = f"{series.legend} " if several else ""
        if spec.x == "layer":
            words.append(f"{name}first layer {_number(y[0])}, last layer {_number(y[-1])}")
        else:
            before = np.flatnonzero(x <= epoch)
            words.append(f"{name}{_number(y[before[-1]])}" if before.size else
                         f"{name}no value yet")
    return ", ".join(words) or None


# ---------------------------------------------------------------------------
# The specification
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """One line of a panel.

    ``data(run) -> (x, y)``; ``style`` is the line's keyword arguments (a dict,
    or a function of the History); its ``alpha`` is relative to the run's.
    ``label(history)`` names the line in a per-run legend (None: not in it);
    ``legend`` names it in a legend shared by several runs (if ``shared_legend``).
    ``at(run, epoch) -> (x, y)`` is the series after ``epoch`` epochs, for a figure
    that plays a run (None: the series is the same at every epoch).
    ``run_marker``: the line carries its run's marker (``RUN_STYLES``), so that two runs
    differ in shape as well as colour (False for a faint per-step line and a one-point mark).
    """

    legend: str
    data: Callable
    style: object = None
    label: Callable | None = None
    shared_legend: bool = True
    at: Callable | None = None
    run_marker: bool = True

    def style_for(self, history) -> dict:
        style = self.style(history) if callable(self.style) else self.style
        return dict(style or {})

    def label_for(self, history):
        return self.legend if self.label is None else self.label(history)

    def style_with_marker(self, history, marker: str | None, points: int) -> dict:
        """``style_for(history)`` with the run's ``marker`` (None: unchanged): it replaces the
        series' own marker, or is put on every k-th of the line's ``points``."""
        style = self.style_for(history)
        if marker is None or not self.run_marker:
            return style
        if style.get("marker", "None") in ("None", None, ""):
            style["markevery"] = max(1, points // MARKERS_PER_CURVE)
        style["marker"] = marker
        return style


@dataclass(frozen=True)
class Panel:
    """A panel: title, axis labels and scale, and the series it draws from each run.

    ``x`` is ``"layer"`` (one tick per Dense layer), ``"epoch"``, or ``"plane"`` (the
    input plane of the decision boundary, drawn as an image: no series); ``ylim`` is
    fixed limits, or None for limits that fit the data (whole decades on a log
    axis); ``chance`` draws the accuracy of guessing; ``marks_divergence``
    marks the step where a run blew up.
    """

    title: str
    xlabel: str
    ylabel: str
    series: tuple
    x: str = "epoch"
    log: bool = False
    ylim: tuple | None = None
    chance: bool = False
    marks_divergence: bool = False
    smoothed_note: str = ""     # appended to the x label when a run has long, smoothed curves

    def xlabel_for(self, histories) -> str:
        long = any(len(h.loss) > 100 for h in histories)
        return self.xlabel + (self.smoothed_note if long else "")


def zero_gradient_note(values, who: str = "this run") -> str | None:
    """What a gradient panel must say when a run's line cannot be drawn: every value exactly 0.

    A log axis has no place for 0, so a run whose gradients are all exactly 0 (dropout
    rate 1.0: every hidden unit dropped at every step; every unit dead) draws no line at
    all. ``values`` are the run's per-layer values as recorded (before ``safe_log_values``);
    None when at least one is positive (a line is drawn) or when none is finite.
    """
    values = np.asarray(values, dtype=float)
    if values.size and np.all(values[np.isfinite(values)] == 0) and np.isfinite(values).any():
        return f"{who}: no line:\nevery gradient is exactly 0,\nwhich a log axis cannot show"
    return None


def gradient_panel(statistic: str = "grad_norms", step: int = 0, when: str | None = None,
                   moving: bool = False) -> Panel:
    """Gradient magnitude of each Dense layer at one step (0: initialisation, -1: the last).

    ``moving=True``, for a figure that plays a run: with ``step=-1`` the line shows the
    gradient after the epoch shown; with ``step=0`` the line at initialisation stays and a
    dashed one (``"now"``) shows the gradient after the epoch shown.
    """

    def data(run):
        rows = getattr(history_of(run), statistic)
        layers = np.arange(1, rows.shape[1] + 1)
        if rows.shape[0] == 0:
            return layers, np.full(len(layers), np.nan)
        row = min(step, rows.shape[0] - 1) if step >= 0 else step
        return layers, safe_log_values(rows[row])

    def at(run, epoch):
        history = history_of(run)
        rows = getattr(history, statistic)
        layers = np.arange(1, rows.shape[1] + 1)
        if rows.shape[0] == 0:
            return layers, np.full(len(layers), np.nan)
        return layers, safe_log_values(rows[step_at_epoch(history, epoch)])

    title = "Gradient magnitude per layer" + (f" ({when})" if when else "")
    series = (Series("gradient", data, {"marker": "o"}, at=at if moving and step != 0 else None,
                     shared_legend=not moving),)
    if moving and step == 0:
        last = lambda run: at(run, history_of(run).epochs)
        series += (Series("now", last, {"marker": "o", "linestyle": "--",
                                        "markerfacecolor": "none"}, at=at,
                          shared_legend=False),)     # the panel's title says which is which
    return Panel(title, LAYER_AXIS, STATISTICS.get(statistic, statistic), series, x="layer",
                 log=True)


def _step_loss_style(history) -> dict:
    if history.diverged:     # few steps, each one worth seeing, and the one that blew up
        return {"marker": "o", "markersize": 4, "linewidth": 1}
    return {"alpha": 0.3, "linewidth": 0.8}


def _blowup(run):
    history = history_of(run)
    if not history.diverged or not np.isfinite(history.diverged_loss):
        return np.array([]), np.array([])
    return np.array([divergence_mark(history)[0]]), np.array([history.diverged_loss])


def _lowest_validation(run):
    """The epoch (from 1) and value of a run's lowest validation loss: where early stopping
    would keep the network (none without a validation set)."""
    losses = np.asarray(history_of(run).val_loss, dtype=float)
    if losses.size == 0 or not np.isfinite(losses).any():
        return np.array([]), np.array([])
    best = int(np.nanargmin(losses))
    return np.array([best + 1.0]), np.array([losses[best]])


LOSS = Panel("Loss", "epoch", "loss (cross-entropy)", (
    Series("training (per step)",
           lambda run: (step_epochs(history_of(run)), safe_log_values(history_of(run).step_loss)),
           _step_loss_style, label=lambda h: "training (per step)" if h.diverged else None,
           shared_legend=False, run_marker=False),
    Series("training", lambda run: (_epochs_of(history_of(run).loss),
                                    smooth(history_of(run).loss)), {"linewidth": 1.6}),
    Series("validation", lambda run: (_epochs_of(history_of(run).val_loss),
                                      smooth(history_of(run).val_loss)),
           {"linestyle": "--", "linewidth": 1.6}),
    Series("lowest validation loss", lambda run: _lowest_validation(run),
           {"marker": "v", "markersize": 9, "linestyle": "none"},
           label=lambda h: f"lowest validation loss (epoch {_lowest_validation(h)[0][0]:.0f})"
           if len(_lowest_validation(h)[0]) else None),
    Series("blew up (diverged)", _blowup, {"marker": "X", "markersize": 9, "linestyle": "none"},
           label=lambda h: f"loss {h.diverged_loss:.2g} (blew up)", run_marker=False),
), log=True, marks_divergence=True)

ACCURACY = Panel("Accuracy", "epoch", "accuracy (fraction correct)", (
    Series("training", lambda run: (_epochs_of(history_of(run).accuracy),
                                    smooth(history_of(run).accuracy))),
    Series("validation", lambda run: (_epochs_of(history_of(run).val_accuracy),
                                      smooth(history_of(run).val_accuracy)), {"linestyle": "--"}),
), ylim=(0, 1.02), chance=True, marks_divergence=True, smoothed_note=" (curves smoothed)")


def _mean_dead(run):
    dead = metrics.dead_fraction_per_epoch(run)
    return _epochs_of(dead), dead


DEAD = Panel("Dead ReLU units (per epoch)", "epoch", "dead hidden units (fraction)",
             (Series("dead units", _mean_dead),), ylim=(-0.02, 1.02))


def _weight_change_at(run, epoch):
    change = weight_change_at(run, epoch)
    return _epochs_of(change), safe_log_values(change)


WEIGHT_CHANGE = Panel("How far each layer moved", LAYER_AXIS, "‖W_end − W_start‖ / ‖W_start‖", (
    Series("weight change", lambda run: (_epochs_of(run.weight_change),
                                         safe_log_values(run.weight_change)), {"marker": "s"},
           at=_weight_change_at),
), x="layer", log=True)

# TensorFlow Playground's picture: the predicted class over the input plane, the data on
# top (drawn by ``labfigure`` from ``boundary.BoundaryGrids``; the coordinates are left
# unlabelled: the shape of the regions is the point).
BOUNDARY = Panel("Decision boundary", "feature 1 (shade: prediction)", "feature 2",
                 (), x="plane")

THIRD = {"accuracy": ACCURACY, "dead": DEAD, "weight_change": WEIGHT_CHANGE}


def third_panel(kind: str) -> Panel:
    """The third panel of a comparison or lab figure: ``"accuracy"``, ``"dead"`` or ``"weight_change"``."""
    if kind not in THIRD:
        raise ValueError(f"third must be 'accuracy', 'dead' or 'weight_change', but got {kind!r}.")
    return THIRD[kind]

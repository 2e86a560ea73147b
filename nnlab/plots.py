"""Plots of what training did, layer by layer.

Every function draws on a matplotlib Axes: pass ``ax=`` to place it in your own
figure, or leave it out to get a new one. Each returns the Axes. Gradient
magnitudes are on a log scale, because the story of vanishing and exploding
gradients is told in powers of ten.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from . import panels
from .engine.training import History
from .panels import STATISTICS, decades, positive_values, smooth, step_epochs  # noqa: F401 (re-exported)

# The failure in orange triangles, the remedy in blue circles: told apart by shape as well
# as colour, and by colours that colour-vision deficiencies keep apart (panels.RUN_STYLES).
RUN_STYLES = panels.RUN_STYLES
BROKEN_COLOR = RUN_STYLES["broken"]["color"]     # orange: the failure
FIXED_COLOR = RUN_STYLES["fixed"]["color"]       # blue: the remedy
BROKEN_MARKER = RUN_STYLES["broken"]["marker"]
FIXED_MARKER = RUN_STYLES["fixed"]["marker"]
REFERENCE_ALPHA = 0.25


class DescribedFigure(Figure):
    """A matplotlib Figure that carries its text alternative, ``alt``: shown in a notebook, its
    PNG goes out with ``{"image/png": {"alt": alt}}`` in the output's metadata, which
    ``nnlab.export`` puts on the page's ``<img>`` (a screen reader reads it for the picture)."""

    alt = ""

    def __repr__(self):     # as a plain Figure's (the lessons' saved text outputs say so)
        return super().__repr__().replace(type(self).__name__, "Figure", 1)

    def _repr_mimebundle_(self, include=None, exclude=None):
        # No data here: IPython's own PNG formatter draws the figure; this adds the metadata.
        return {}, ({"image/png": {"alt": self.alt}} if self.alt else {})


def _axes(ax, figsize=(5, 3.5)):
    if ax is not None:
        return ax
    return Figure(figsize=figsize).add_subplot()


# ---------------------------------------------------------------------------
# Drawing a panel (its specification is in ``panels``)
# ---------------------------------------------------------------------------

def draw_panel(ax, panel: panels.Panel, run, color=None, alpha=1.0, name=None, divergence=True,
               marker=None):
    """Draw ``panel``'s series for one run on ``ax``, with its title, labels and scale.

    ``name`` labels the run in the legend (a one-series panel shows the name, a
    panel of several shows "name: series"); without it, the series' own labels.
    ``marker`` (e.g. ``BROKEN_MARKER``) marks the run's lines, so that two runs drawn on
    one panel differ in shape, not in colour alone.
    Call it once per run to draw several runs on one panel.
    """
    history = panels.history_of(run)
    for series in panel.series:
        x, y = series.data(run)
        if len(x) == 0:
            continue
        style = series.style_with_marker(history, marker, len(x))
        label = series.label_for(history)
        if label is not None and name is not None:
            label = name if len(panel.series) == 1 else f"{name}: {label}"
        elif label is not None and len(panel.series) == 1:
            label = None
        ax.plot(x, y, color=color, **{**style, "alpha": alpha * style.get("alpha", 1.0)},
                label=label)
    if panel.chance and history.n_classes and alpha == 1.0 and not getattr(ax, "_nnlab_chance", False):
        ax._nnlab_chance = True
        ax.axhline(1.0 / history.n_classes, color="gray", linewidth=1, linestyle=":",
                   label="chance")
    _decorate(ax, panel, [history])
    if panel.marks_divergence:
        _mark_divergence(ax, history)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize="small")
    return ax


def _decorate(ax, panel: panels.Panel, histories):
    ax.set_title(panel.title)
    ax.set_xlabel(panel.xlabel_for(histories))
    ax.set_ylabel(panel.ylabel)
    if panel.log:
        ax.set_yscale("log")
        _whole_decades(ax)
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    if panel.x == "layer":
        positions = np.arange(1, max((len(line.get_xdata()) for line in ax.get_lines()),
                                     default=0) + 1)
        ax.set_xticks(positions)
        ax.set_xticklabels([str(p) for p in positions])
    ax.grid(True, which="major", alpha=0.3)


def _whole_decades(ax):
    """Stretch a log axis to whole powers of ten, so it always shows labelled major ticks."""
    values = positive_values(np.concatenate(
        [np.asarray(line.get_ydata(), dtype=float).ravel() for line in ax.get_lines()] or [[]]))
    if values.size:
        ax.set_ylim(*decades(values))
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _mark_divergence(ax, history: History):
    mark = panels.divergence_mark(history)
    if mark is None:
        return
    x, text = mark
    ax.axvline(x, color=BROKEN_COLOR, linestyle="--", linewidth=1.5)
    # Near the right end of the run, the label goes to the left of the line, inside the panel.
    low, high = ax.get_xlim()
    right_half = x >= low + 0.5 * (max(high, panels.epoch_span(history)) - low)
    ax.annotate(text, (x, 0.97), xycoords=ax.get_xaxis_transform(), color=BROKEN_COLOR,
                xytext=(-4 if right_half else 0, 0), textcoords="offset points", va="top",
                ha="right" if right_half else "left", fontsize="small")


TELEMETRY_OFF = "telemetry was off for this run"


def _nothing_recorded(history) -> str:
    """Why a per-layer panel is empty: no step was taken, or telemetry was off."""
    return TELEMETRY_OFF if history.steps else "no steps recorded"


def _no_steps(ax, history, text="no steps recorded"):
    if history.steps == 0:
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
        return True
    return False


def gradient_per_layer(history: History, step: int = 0, statistic: str = "grad_norms", ax=None,
                       label=None, color=None, alpha=1.0, marker=None):
    """Gradient magnitude of each Dense layer at one step (log scale), input layer on the left.

    ``statistic`` is ``"grad_norms"`` (‖dL/dW‖), ``"bias_grad_norms"`` (‖dL/db‖) or
    ``"update_ratios"``. Step 0 is at initialisation, before any update.
    """
    ax = _axes(ax)
    rows = getattr(history, statistic)
    # A long run keeps every k-th step: the title says the step the row was measured at.
    row, shown = history.telemetry_row(step) if rows.shape[0] else (0, 0)
    panel = panels.gradient_panel(statistic, row, when=f"step {shown}" if shown else None)
    if rows.shape[0] == 0:
        ax.text(0.5, 0.5, _nothing_recorded(history), ha="center", va="center",
                transform=ax.transAxes)
        _decorate(ax, panel, [history])
        return ax
    note = panels.zero_gradient_note(rows[row], label or "this run")
    if note:
        ax.text(0.5, 0.2, note, ha="center", va="center", transform=ax.transAxes,
                color=color, fontsize="small")
    return draw_panel(ax, panel, history, color=color, alpha=alpha, name=label, marker=marker)


def loss_curves(history: History, ax=None, color=None, alpha=1.0, label_prefix=""):
    """Training loss per step (thin) and per epoch, validation loss per epoch; divergence marked."""
    return draw_panel(_axes(ax), panels.LOSS, history, color, alpha,
                      name=label_prefix.rstrip(": ") or None)


def accuracy_curves(history: History, ax=None, color=None, alpha=1.0, label_prefix=""):
    """Training accuracy (training mode) and validation accuracy (evaluation mode) per epoch."""
    return draw_panel(_axes(ax), panels.ACCURACY, history, color, alpha,
                      name=label_prefix.rstrip(": ") or None)


def dead_fraction_curves(history: History, ax=None, alpha=1.0):
    """Fraction of dead units in each ReLU layer, per epoch.

    A unit is dead in an epoch when it output 0 on every example of that epoch
    (``History.epoch_dead_fraction``; their mean over layers is ``metrics.dead_fraction``).
    """
    ax = _axes(ax)
    x = np.arange(1, history.epoch_dead_fraction.shape[0] + 1)
    for column, name in enumerate(history.relu_names):
        ax.plot(x, history.epoch_dead_fraction[:, column], alpha=alpha, label=name)
    if not history.relu_names:
        text = TELEMETRY_OFF if history.steps and not history.telemetry_rows else "no ReLU layers"
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("dead units (fraction of layer)")
    ax.set_title("Dead ReLU units")
    ax.grid(True, alpha=0.3)
    if history.relu_names:
        ax.legend(fontsize="small")
    return ax


def activation_statistics(history: History, step: int = -1, ax=None):
    """Mean and standard deviation of each activation layer's output at one step."""
    ax = _axes(ax)
    if history.activation_mean.size == 0:
        ax.text(0.5, 0.5, _nothing_recorded(history), ha="center", va="center",
                transform=ax.transAxes)
        return ax
    row, shown = history.telemetry_row(step)
    positions = np.arange(1, len(history.activation_names) + 1)
    ax.errorbar(positions, history.activation_mean[row], yerr=history.activation_std[row],
                fmt="o", capsize=4)
    ax.set_xticks(positions)
    ax.set_xticklabels(history.activation_names, rotation=30)
    ax.set_xlabel("activation layer")
    ax.set_ylabel("activation mean ± std")
    ax.set_title(f"Activations at step {shown}")
    ax.grid(True, alpha=0.3)
    return ax


def decision_boundary(model, X, y, ax=None, resolution: int = 150):
    """The model's predicted class over the plane, with the data on top (2-D inputs only)."""
    ax = _axes(ax, figsize=(4, 4))
    X = np.asarray(X, dtype=float)
    if X.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D inputs only, but X has {X.shape[1]} features.")
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    with np.errstate(all="ignore"):
        classes = model.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, classes, alpha=0.25, cmap="coolwarm", levels=np.arange(classes.max() + 2) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=8, edgecolors="none")
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.set_title("Decision boundary")
    return ax


# ---------------------------------------------------------------------------
# Broken vs fixed
# ---------------------------------------------------------------------------

def comparison_figure(broken, fixed, statistic: str = "grad_norms", third: str = "accuracy",
                      titles=("broken", "fixed"), figsize=(12, 3.6), step: int = 0):
    """A side-by-side figure of two runs (``Outcome`` objects from ``nnlab.experiments``).

    Panels: gradient magnitude per layer at ``step`` (0: at initialisation, -1:
    the last step), loss per epoch, and ``third`` ("accuracy", "dead" or
    "weight_change"). The broken run is orange triangles, the fixed one blue circles
    (``RUN_STYLES``).
    """
    figure = DescribedFigure(figsize=figsize)
    axes = figure.subplots(1, 3)
    figure.alt = describe_comparison(broken, fixed, statistic, third, titles, step)
    for result, role, title in ((broken, "broken", titles[0]), (fixed, "fixed", titles[1])):
        history = result.history
        color, marker = RUN_STYLES[role]["color"], RUN_STYLES[role]["marker"]
        gradient_per_layer(history, step % max(history.steps, 1), statistic, ax=axes[0],
                           label=title, color=color, marker=marker)
        draw_panel(axes[1], panels.LOSS, result, color, name=title, marker=marker)
        draw_panel(axes[2], panels.third_panel(third), result, color, name=title, marker=marker)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.88, wspace=0.32)
    return figure


def dropout_sweep_curve(sweep: dict, ceiling: float | None = None, ax=None):
    """Validation accuracy and training accuracy (during training) against the dropout rate.

    ``sweep`` maps rate -> ``experiments.Outcome`` (``studies.dropout_sweep``);
    ``ceiling`` (``studies.label_ceiling``) draws the accuracy that noisy validation
    labels allow. Srivastava et al. (2014) show validation error against the rate as a U:
    here, validation accuracy as an inverted U.
    """
    from . import metrics
    ax = _axes(ax, figsize=(6, 3.6))
    rates = np.array(sorted(sweep))
    during = [metrics.training_accuracy_during(sweep[rate]) for rate in rates]
    val = [metrics.validation_accuracy(sweep[rate]) for rate in rates]
    ax.plot(rates, during, marker="o", color=BROKEN_COLOR, label="training accuracy (dropout on)")
    ax.plot(rates, val, marker="o", linestyle="--", color=FIXED_COLOR,
            label="validation accuracy")
    if ceiling is not None and np.isfinite(ceiling):
        ax.axhline(ceiling, color="black", linewidth=1, linestyle="-.",
                   label=f"ceiling {ceiling:.2f} (labels left unflipped)")
    classes = max(panels.history_of(sweep[rates[0]]).n_classes, 2)
    ax.axhline(1.0 / classes, color="gray", linewidth=1, linestyle=":", label="chance")
    ax.set_xlabel("dropout rate (probability of dropping a unit)")
    ax.set_ylabel("accuracy (mean over the last tenth)")
    ax.set_title("Accuracy against the dropout rate")
    ax.set_ylim(0.4, 1.0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper right")
    ax.figure.subplots_adjust(left=0.12, right=0.98, bottom=0.15, top=0.9)
    return ax


def layer_profiles(profiles: dict, ylabel: str, title: str = "", reference: float | None = None,
                   reference_label: str = "", ax=None):
    """One line per run of a number measured per layer, input side first, on a log scale.

    ``profiles`` maps a label to its values, shape (layers,) each (for example
    ``metrics.activation_spread`` or ``metrics.update_ratio_first_epoch``); the first
    profile is drawn like a broken run (``RUN_STYLES``: orange, triangles), the second like a
    fixed one (blue, circles), others in grey tones with their own markers and dashes, so no
    two runs differ by colour alone. ``reference`` draws a dotted horizontal line (a rule of thumb). Returns the Axes.
    """
    ax = _axes(ax)
    looks = [(BROKEN_COLOR, BROKEN_MARKER, "-"), (FIXED_COLOR, FIXED_MARKER, "-"),
             ("#555555", "s", "--"), ("#777777", "D", ":"), ("#333333", "v", "-."),
             ("#999999", "P", "--")]
    for (label, values), (color, marker, line) in zip(profiles.items(), looks * 2):
        values = np.asarray(values, dtype=float)
        layers = np.arange(1, values.size + 1)
        shown = values > 0
        ax.plot(layers[shown], values[shown], marker=marker, linestyle=line, color=color,
                label=label)
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle=":", linewidth=1, label=reference_label or None)
    ax.set_yscale("log")
    ax.set_xlabel("layer (input side first)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def describe_comparison(broken, fixed, statistic: str = "grad_norms", third: str = "accuracy",
                        titles=("broken", "fixed"), step: int = 0) -> str:
    """``comparison_figure``'s text alternative: each run's look, then each panel's numbers
    (the first and last layer, the value after the last epoch), from the series it draws."""
    runs = ((titles[0], broken, "broken"), (titles[1], fixed, "fixed"))
    sentences = ["; ".join(f"{title}: {RUN_STYLES[role]['words']}" for title, _, role in runs) + "."]
    for panel in (panels.gradient_panel(statistic, step), panels.LOSS, panels.third_panel(third)):
        words = []
        for title, result, _ in runs:
            history = result.history
            if panel.x == "layer" and getattr(history, statistic).shape[0]:
                rows = getattr(history, statistic)
                row, _ = history.telemetry_row(step)
                shown = [(panel.series[0], np.arange(1, rows.shape[1] + 1),
                          panels.safe_log_values(rows[row]))]
            else:
                shown = [(series, *series.data(result)) for series in panel.series]
            said = panels.panel_words(panel, shown, history.epochs, several=len(shown) > 1)
            mark = panels.divergence_mark(history) if panel.marks_divergence else None
            if mark is not None:
                said = mark[1].strip() if said is None else f"{said}, {mark[1].strip()}"
            words.append(f"{title} {said or 'nothing to show'}")
        when = f" (step {step % max(broken.history.steps, 1)})" if panel.x == "layer" else ""
        sentences.append(f"{panel.title}{when}: {'; '.join(words)}.")
    return " ".join(sentences)

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

BROKEN_COLOR = "#d62728"    # red: the failure
FIXED_COLOR = "#1f77b4"     # blue: the remedy
REFERENCE_ALPHA = 0.25


def _axes(ax, figsize=(5, 3.5)):
    if ax is not None:
        return ax
    return Figure(figsize=figsize).add_subplot()


# ---------------------------------------------------------------------------
# Drawing a panel (its specification is in ``panels``)
# ---------------------------------------------------------------------------

def draw_panel(ax, panel: panels.Panel, run, color=None, alpha=1.0, name=None, divergence=True):
    """Draw ``panel``'s series for one run on ``ax``, with its title, labels and scale.

    ``name`` labels the run in the legend (a one-series panel shows the name, a
    panel of several shows "name: series"); without it, the series' own labels.
    Call it once per run to draw several runs on one panel.
    """
    history = panels.history_of(run)
    for series in panel.series:
        x, y = series.data(run)
        if len(x) == 0:
            continue
        style = series.style_for(history)
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


def _no_steps(ax, history, text="no steps recorded"):
    if history.steps == 0:
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
        return True
    return False


def gradient_per_layer(history: History, step: int = 0, statistic: str = "grad_norms", ax=None,
                       label=None, color=None, alpha=1.0):
    """Gradient magnitude of each Dense layer at one step (log scale), input layer on the left.

    ``statistic`` is ``"grad_norms"`` (‖dL/dW‖), ``"bias_grad_norms"`` (‖dL/db‖) or
    ``"update_ratios"``. Step 0 is at initialisation, before any update.
    """
    ax = _axes(ax)
    rows = getattr(history, statistic)
    step = min(step, rows.shape[0] - 1) if rows.shape[0] else 0
    panel = panels.gradient_panel(statistic, step, when=f"step {step}" if step else None)
    if rows.shape[0] == 0:
        ax.text(0.5, 0.5, "no steps recorded", ha="center", va="center", transform=ax.transAxes)
        _decorate(ax, panel, [history])
        return ax
    return draw_panel(ax, panel, history, color=color, alpha=alpha, name=label)


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
        ax.text(0.5, 0.5, "no ReLU layers", ha="center", va="center", transform=ax.transAxes)
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
        ax.text(0.5, 0.5, "no steps recorded", ha="center", va="center", transform=ax.transAxes)
        return ax
    positions = np.arange(1, len(history.activation_names) + 1)
    ax.errorbar(positions, history.activation_mean[step], yerr=history.activation_std[step],
                fmt="o", capsize=4)
    ax.set_xticks(positions)
    ax.set_xticklabels(history.activation_names, rotation=30)
    ax.set_xlabel("activation layer")
    ax.set_ylabel("activation mean ± std")
    ax.set_title(f"Activations at step {step % max(history.steps, 1)}")
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
    "weight_change"). The broken run is red, the fixed one blue.
    """
    figure = Figure(figsize=figsize)
    axes = figure.subplots(1, 3)
    for result, color, title in ((broken, BROKEN_COLOR, titles[0]), (fixed, FIXED_COLOR, titles[1])):
        history = result.history
        gradient_per_layer(history, step % max(history.steps, 1), statistic, ax=axes[0],
                           label=title, color=color)
        draw_panel(axes[1], panels.LOSS, result, color, name=title)
        draw_panel(axes[2], panels.third_panel(third), result, color, name=title)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.88, wspace=0.32)
    return figure

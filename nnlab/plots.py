"""Plots of what training did, layer by layer.

Every function draws on a matplotlib Axes: pass ``ax=`` to place it in your own
figure, or leave it out to get a new one. Each returns the Axes. Gradient
magnitudes are on a log scale, because the story of vanishing and exploding
gradients is told in powers of ten.
"""

from __future__ import annotations

import numpy as np
import matplotlib

from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from . import metrics
from .engine.training import History

BROKEN_COLOR = "#d62728"    # red: the failure
FIXED_COLOR = "#1f77b4"     # blue: the remedy
REFERENCE_ALPHA = 0.25

STATISTICS = {
    "grad_norms": "‖dL/dW‖ (weight gradient norm)",
    "bias_grad_norms": "‖dL/db‖ (backpropagated error)",
    "update_ratios": "‖ΔW‖ / ‖W‖ (update ratio)",
}


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


def _axes(ax, figsize=(5, 3.5)):
    if ax is not None:
        return ax
    return Figure(figsize=figsize).add_subplot()


def _layer_positions(history: History):
    return np.arange(1, len(history.layer_names) + 1)


def _safe_log_values(values):
    """Zeros and non-finite values cannot sit on a log axis: show them as gaps."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def gradient_per_layer(history: History, step: int = 0, statistic: str = "grad_norms", ax=None,
                       label=None, color=None, alpha=1.0):
    """Gradient magnitude of each Dense layer at one step (log scale), input layer on the left.

    ``statistic`` is ``"grad_norms"`` (‖dL/dW‖), ``"bias_grad_norms"`` (‖dL/db‖) or
    ``"update_ratios"``. Step 0 is at initialisation, before any update.
    """
    ax = _axes(ax)
    rows = getattr(history, statistic)
    if rows.shape[0] == 0:
        ax.text(0.5, 0.5, "no steps recorded", ha="center", va="center", transform=ax.transAxes)
    else:
        step = min(step, rows.shape[0] - 1)
        ax.plot(_layer_positions(history), _safe_log_values(rows[step]), marker="o",
                color=color, alpha=alpha, label=label)
    _format_layer_axis(ax, history, statistic, step)
    if label and rows.shape[0]:
        ax.legend(fontsize="small")
    return ax


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


def _whole_decades(ax):
    """Stretch a log axis to whole powers of ten, so it always shows labelled major ticks."""
    values = positive_values(np.concatenate(
        [np.asarray(line.get_ydata(), dtype=float).ravel() for line in ax.get_lines()] or [[]]))
    if values.size:
        ax.set_ylim(*decades(values))
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _format_layer_axis(ax, history, statistic, step=0):
    ax.set_yscale("log")
    _whole_decades(ax)
    positions = _layer_positions(history)
    ax.set_xticks(positions)
    ax.set_xticklabels([str(p) for p in positions])
    ax.set_xlabel("Dense layer (1 = next to the input)")
    ax.set_ylabel(STATISTICS.get(statistic, statistic))
    ax.set_title("Gradient magnitude per layer" + ("" if step == 0 else f" (step {step})"))
    ax.grid(True, which="major", alpha=0.3)


def _mark_divergence(ax, history: History, per: str = "epoch"):
    if not history.diverged:
        return
    x = history.diverged_at if per == "step" else history.diverged_at / max(history.steps_per_epoch, 1)
    ax.axvline(x, color=BROKEN_COLOR, linestyle="--", linewidth=1.5)
    ax.text(x, 0.97, f" diverged (step {history.diverged_at})", color=BROKEN_COLOR,
            transform=ax.get_xaxis_transform(), va="top", ha="left", fontsize="small")


def step_epochs(history: History) -> np.ndarray:
    """Each step's position in epochs (step 0 at 0, the last step of epoch 1 just below 1)."""
    return np.arange(history.steps) / max(history.steps_per_epoch, 1)


def loss_curves(history: History, ax=None, color=None, alpha=1.0, label_prefix=""):
    """Training loss per step (thin) and per epoch, validation loss per epoch; divergence marked."""
    ax = _axes(ax)
    if history.diverged:   # few steps, each one worth seeing, and the one that blew up
        ax.plot(step_epochs(history), _safe_log_values(history.step_loss), color=color,
                alpha=alpha, marker="o", markersize=4, linewidth=1,
                label=f"{label_prefix}training (per step)")
        if np.isfinite(history.diverged_loss):
            ax.plot([history.diverged_at / max(history.steps_per_epoch, 1)],
                    [history.diverged_loss], color=color, alpha=alpha, marker="X",
                    markersize=9, linestyle="none",
                    label=f"{label_prefix}loss {history.diverged_loss:.2g} (blew up)")
    else:
        ax.plot(step_epochs(history), _safe_log_values(history.step_loss), color=color,
                alpha=0.3 * alpha, linewidth=0.8)
    _training_and_validation(ax, history.loss, history.val_loss, color, alpha, label_prefix)
    ax.set_yscale("log")
    _whole_decades(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (cross-entropy)")
    ax.set_title("Loss")
    ax.grid(True, alpha=0.3)
    _mark_divergence(ax, history)
    ax.legend(fontsize="small")
    return ax


def _training_and_validation(ax, training, validation, color, alpha, label_prefix):
    """Per-epoch training (solid) and validation (dashed) curves, smoothed when long."""
    if training:
        ax.plot(np.arange(1, len(training) + 1), smooth(training), color=color, alpha=alpha,
                label=f"{label_prefix}training")
    if validation:
        ax.plot(np.arange(1, len(validation) + 1), smooth(validation), color=color, alpha=alpha,
                linestyle="--", label=f"{label_prefix}validation")


def accuracy_curves(history: History, ax=None, color=None, alpha=1.0, label_prefix=""):
    """Training accuracy (training mode) and validation accuracy (evaluation mode) per epoch."""
    ax = _axes(ax)
    _training_and_validation(ax, history.accuracy, history.val_accuracy, color, alpha,
                             label_prefix)
    if history.n_classes and alpha == 1.0 and not getattr(ax, "_nnlab_chance", False):
        ax._nnlab_chance = True
        ax.axhline(1.0 / history.n_classes, color="gray", linewidth=1, linestyle=":",
                   label="chance")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("epoch" + (" (curves smoothed)" if len(history.accuracy) > 100 else ""))
    ax.set_ylabel("accuracy (fraction correct)")
    ax.set_title("Accuracy")
    ax.grid(True, alpha=0.3)
    _mark_divergence(ax, history)
    ax.legend(fontsize="small")
    return ax


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
        loss_curves(history, ax=axes[1], color=color, label_prefix=f"{title}: ")
        _third_panel(third, result, axes[2], color, title)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.88, wspace=0.32)
    return figure


def _third_panel(kind, result, ax, color, label, alpha=1.0):
    history = result.history
    if kind == "accuracy":
        accuracy_curves(history, ax=ax, color=color, alpha=alpha, label_prefix=f"{label}: ")
    elif kind == "dead":
        dead = metrics.dead_fraction_per_epoch(history)
        ax.plot(np.arange(1, len(dead) + 1), dead, color=color, alpha=alpha, label=label)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("epoch")
        ax.set_ylabel("dead hidden units (fraction)")
        ax.set_title("Dead ReLU units (per epoch)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    elif kind == "weight_change":
        positions = np.arange(1, len(result.weight_change) + 1)
        ax.plot(positions, _safe_log_values(result.weight_change), marker="s", color=color,
                alpha=alpha, label=label)
        ax.set_yscale("log")
        ax.set_xticks(positions)
        ax.set_xlabel("Dense layer (1 = next to the input)")
        ax.set_ylabel("‖W_end − W_start‖ / ‖W_start‖")
        ax.set_title("How far each layer moved")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    else:
        raise ValueError(f"third must be 'accuracy', 'dead' or 'weight_change', but got {kind!r}.")

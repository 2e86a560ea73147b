"""Figures of the capstone: a diagnosis drawn on the gradient plot, and a run's dashboard.

Both are drawn from :mod:`nnlab.plots`' panels; matplotlib is imported when
this module is, so the course imports it only when a figure is asked for.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import metrics, panels, plots
from .diagnosis.reading import rows
from .diagnosis.captions import short
from .engine.training import History


def _layer_position(history: History, name: str) -> int | None:
    """Where a layer named by a finding sits on the Dense-layer axis (1 = input side).

    A ReLU layer is drawn at the Dense layer that feeds it (in an ``mlp`` the
    k-th activation follows the k-th Dense layer).
    """
    if name in history.layer_names:
        return history.layer_names.index(name) + 1
    if name in history.activation_names:
        position = history.activation_names.index(name) + 1
        return position if position <= len(history.layer_names) else None
    return None


def plot_diagnosis(diagnosis, ax=None):
    """Draw a Diagnosis's evidence on the gradient-per-layer plot; return the Axes.

    The backpropagated error ||dL/db|| of each Dense layer at the step the
    evidence comes from (solid) and at the last step (faint), with the layers
    named by the findings circled and labelled; the title lists each finding
    with the one number that carries it.
    """
    if ax is None:
        ax = Figure(figsize=(6.5, 4.5), layout="constrained").add_subplot()
    history = diagnosis.history
    statistic = "bias_grad_norms"
    step = next((finding.step for finding in diagnosis.findings
                 if finding.step is not None and finding.case in
                 ("vanishing_gradients", "exploding_gradients")), 0)
    values = rows(history, statistic)
    recorded = values.shape[0] > 0 and values.shape[1] == len(history.layer_names)
    step = min(step, max(values.shape[0] - 1, 0))
    # A History whose rows do not match its layer names cannot be drawn: show an empty plot.
    color = plots.FIXED_COLOR if diagnosis.healthy else plots.BROKEN_COLOR
    ax = plots.gradient_per_layer(history if recorded else History(), step=step,
                                  statistic=statistic, ax=ax,
                                  label=f"step {step}" if recorded else None, color=color)
    if recorded and values.shape[0] > 1 and step != values.shape[0] - 1:
        last = values.shape[0] - 1
        plots.gradient_per_layer(history, step=last, statistic=statistic, ax=ax,
                                 label=f"step {last} (last)", color="gray", alpha=0.5)
    for finding in diagnosis.findings:
        marked = [(name, _layer_position(history, name)) for name in finding.layers]
        marked = [(name, position) for name, position in marked
                  if recorded and position is not None
                  and np.isfinite(values[step, position - 1]) and values[step, position - 1] > 0]
        for number, (name, position) in enumerate(marked):
            value = values[step, position - 1]
            ax.plot([position], [value], marker="o", markersize=14, fillstyle="none",
                    color=plots.BROKEN_COLOR, linestyle="none")
            if number == 0:    # one label is enough; the circles show the rest
                ax.annotate(f"{name} ({finding.case})", (position, value),
                            textcoords="offset points", xytext=(8, 8), fontsize="small",
                            color=plots.BROKEN_COLOR)
    captions = [f"{finding.case}: {short(finding)}" for finding in diagnosis.findings]
    ax.set_title("\n".join(["Diagnosis" + ("" if diagnosis.findings else ": nothing recorded")]
                           + captions), fontsize="medium")
    return ax


def _layer_colors(history: History) -> dict:
    """One color per Dense layer, shared by the ReLU layer it feeds (relu k follows dense k)."""
    from matplotlib import colormaps
    palette = colormaps["tab10"]
    colors = {name: palette(index % 10) for index, name in enumerate(history.layer_names)}
    colors.update({name: palette(index % 10) for index, name in enumerate(history.relu_names)})
    return colors


def _epochs_of_steps(history: History, count: int) -> np.ndarray:
    """The x position, in epochs, of the first ``count`` recorded steps (step k after k updates)."""
    kept = np.asarray(history.telemetry_steps, dtype=float)
    steps = kept[:count] if kept.size >= count else np.arange(count, dtype=float)
    return steps / max(history.steps_per_epoch, 1)


def dead_units_panel(history: History, ax, colors: dict) -> None:
    """Dead units per ReLU layer: per batch (faint) and per whole epoch (bold, the reading
    ``diagnose`` uses), the course's threshold, and in words why the panel is empty if it is."""
    ax.set_title("Dead ReLU units\nfaint: per batch; bold: whole epoch", fontsize="medium")
    ax.set_xlabel("epoch")
    ax.set_ylabel("dead units (share of layer)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    if not history.relu_names:
        ax.text(0.5, 0.5, "no ReLU layers:\ntanh and sigmoid units\ncannot die", ha="center",
                va="center", transform=ax.transAxes)
        return
    per_batch = rows(history, "dead_fraction")
    per_epoch = rows(history, "epoch_dead_fraction")
    x = _epochs_of_steps(history, per_batch.shape[0])
    for column, name in enumerate(history.relu_names):
        if per_batch.shape[0] and per_batch.shape[1] == len(history.relu_names):
            ax.plot(x, per_batch[:, column], color=colors[name], alpha=0.25, linewidth=0.8)
        if per_epoch.shape[0] and per_epoch.shape[1] == len(history.relu_names):
            ax.plot(np.arange(1, per_epoch.shape[0] + 1), per_epoch[:, column],
                    color=colors[name], linewidth=2)
    if per_epoch.shape[0] == 0:
        when = (f"the run diverged at step {history.diverged_at},\n" if history.diverged
                else "")
        ax.text(0.5, 0.5, f"nothing to show:\n{when}before its first epoch ended.\nA unit is "
                "dead when it outputs 0\nfor every example of an epoch.", ha="center",
                va="center", transform=ax.transAxes, fontsize="small")
        ax.set_xlim(0, max(panels.epoch_span(history), 1))
        return
    ax.axhline(metrics.DEAD_FRACTION_THRESHOLD, color="gray", linestyle=":", linewidth=1)
    ax.text(0.01, metrics.DEAD_FRACTION_THRESHOLD, f" mostly dead above "
            f"{metrics.DEAD_FRACTION_THRESHOLD:.0%}", color="gray", fontsize="small",
            va="bottom", transform=ax.get_yaxis_transform())


def update_ratio_panel(history: History, ax, colors: dict) -> None:
    """The update-to-data ratio ||W_after - W_before|| / ||W_before|| of each Dense layer at
    every step (log scale), against the healthy 1e-3 of Karpathy's rule of thumb."""
    ax.set_title("Update-to-data ratio per step\n||ΔW|| / ||W||; healthy ≈ 1e-3", fontsize="medium")
    ax.set_xlabel("epoch")
    ax.set_ylabel("update ratio (log)")
    ax.grid(True, alpha=0.3)
    ratios = rows(history, "update_ratios")
    usable = ratios[np.isfinite(ratios) & (ratios > 0)] if ratios.size else ratios
    if ratios.shape[0] == 0 or usable.size == 0 or ratios.shape[1] != len(history.layer_names):
        why = ("no step was recorded" if ratios.shape[0] == 0 else
               "every update was exactly 0:\nno weight moved")
        ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes)
        return
    x = _epochs_of_steps(history, ratios.shape[0])
    style = {"marker": "o"} if ratios.shape[0] <= 3 else {}
    with np.errstate(all="ignore"):
        shown = np.where(ratios > 0, ratios, np.nan)
    for column, name in enumerate(history.layer_names):
        ax.plot(x, shown[:, column], color=colors[name], linewidth=1, **style)
    ax.set_yscale("log")
    ax.set_xlim(0, max(panels.epoch_span(history), float(x.max()), 1e-9) * 1.02)
    ax.axhline(1e-3, color="gray", linestyle=":", linewidth=1)
    low, high = float(np.nanmin(usable)), float(np.nanmax(usable))
    ax.set_ylim(max(min(low, 1e-4) / 2, 1e-6), max(high, 1e-2) * 2)   # below 1e-6: nothing moved


def _legend_panel(history: History, ax, colors: dict) -> None:
    """The layers' colors, once, for the dead-units and update-ratio panels."""
    from matplotlib.lines import Line2D
    ax.axis("off")
    relu_of = dict(zip(history.layer_names, history.relu_names))
    handles = [Line2D([], [], color=colors[name], linewidth=2,
                      label=f"{name}" + (f" / {relu_of[name]}" if name in relu_of else ""))
               for name in history.layer_names]
    if handles:
        ax.legend(handles=handles, loc="center", fontsize="small", frameon=False,
                  title="layer (update ratio / dead units)", title_fontsize="small",
                  ncols=2 if len(handles) > 8 else 1)


def dashboard(history, title: str = ""):
    """Seven panels of telemetry for one run, as a matplotlib Figure.

    Top: loss, accuracy, dead units over training (per batch, faint, and per
    epoch, bold: the reading ``diagnose`` uses) and each Dense layer's
    update-to-data ratio per step. Bottom: the weight gradient ||dL/dW|| and the
    backpropagated error ||dL/db|| of each Dense layer at the first and the last
    step, each activation layer's spread at the last step, and the layers' colors.
    """
    figure = Figure(figsize=(15, 7), dpi=80, layout="constrained")
    axes = figure.subplots(2, 4)
    colors = _layer_colors(history)
    plots.loss_curves(history, ax=axes[0, 0])
    plots.accuracy_curves(history, ax=axes[0, 1])
    dead_units_panel(history, axes[0, 2], colors)
    update_ratio_panel(history, axes[0, 3], colors)
    for ax, statistic in ((axes[1, 0], "grad_norms"), (axes[1, 1], "bias_grad_norms")):
        plots.gradient_per_layer(history, step=0, statistic=statistic, ax=ax, label="step 0",
                                 color=plots.FIXED_COLOR)
        if history.steps > 1:
            plots.gradient_per_layer(history, step=history.steps - 1, statistic=statistic, ax=ax,
                                     label=f"step {history.steps - 1} (last)", color="gray")
    axes[1, 1].set_title("Backpropagated error per layer")
    plots.activation_statistics(history, step=-1, ax=axes[1, 2])
    _legend_panel(history, axes[1, 3], colors)
    if title:
        figure.suptitle(title)
    return figure

"""Figures of the capstone: a diagnosis drawn on the gradient plot, and a run's dashboard.

Both are drawn from :mod:`nnlab.plots`' panels; matplotlib is imported when
this module is, so the course imports it only when a figure is asked for.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import plots
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


def _epoch_dead(history: History, ax) -> None:
    """Over the per-batch dead-unit curves, the per-epoch reading diagnose uses (markers).

    A unit counts as dead in an epoch when it output 0 on every example of it
    (``History.epoch_dead_fraction``); per batch, many healthy units read as off.
    """
    epochs = rows(history, "epoch_dead_fraction")
    if epochs.shape[0] == 0 or not history.relu_names or \
            epochs.shape[1] != len(history.relu_names):
        return
    x = np.arange(1, epochs.shape[0] + 1)
    for column, (name, line) in enumerate(zip(history.relu_names, ax.get_lines())):
        ax.plot(x, epochs[:, column], color=line.get_color(), linewidth=2,
                label=f"{name}, whole epoch")
    ax.set_title("Dead ReLU units\nfaint: per batch; bold: whole epoch", fontsize="medium")
    ax.legend(fontsize="small")


def dashboard(history, title: str = ""):
    """Six panels of telemetry for one run, as a matplotlib Figure.

    Top: loss, accuracy, dead units over training (per batch, faint, and per
    epoch, bold: the reading ``diagnose`` uses). Bottom: the weight
    gradient ||dL/dW|| and the backpropagated error ||dL/db|| of each Dense
    layer at the first and the last step, and each activation layer's spread
    at the last step.
    """
    figure = Figure(figsize=(12, 6.5), dpi=80, layout="constrained")
    axes = figure.subplots(2, 3)
    plots.loss_curves(history, ax=axes[0, 0])
    plots.accuracy_curves(history, ax=axes[0, 1])
    plots.dead_fraction_curves(history, ax=axes[0, 2], alpha=0.35)
    _epoch_dead(history, axes[0, 2])
    for ax, statistic in ((axes[1, 0], "grad_norms"), (axes[1, 1], "bias_grad_norms")):
        plots.gradient_per_layer(history, step=0, statistic=statistic, ax=ax, label="step 0",
                                 color=plots.FIXED_COLOR)
        if history.steps > 1:
            plots.gradient_per_layer(history, step=history.steps - 1, statistic=statistic, ax=ax,
                                     label=f"step {history.steps - 1} (last)", color="gray")
    axes[1, 1].set_title("Backpropagated error per layer")
    plots.activation_statistics(history, step=-1, ax=axes[1, 2])
    if title:
        figure.suptitle(title)
    return figure

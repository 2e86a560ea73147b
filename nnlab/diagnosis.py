"""Diagnose: name what went wrong in a training run, from its telemetry.

``diagnose(history)`` reads the same per-step rows the plots draw (gradient
norms per layer, update ratios, dead units, the loss curves) and returns a
:class:`Diagnosis`: a list of :class:`Finding` objects, each naming one case,

    "vanishing_gradients", "exploding_gradients", "dead_relu", "overfitting",
    "not_learning", "diverged" or "healthy",

with the numbers that point to it (which layers, which ratio, from which
step), a confidence, the remedies the lessons give and a one-line why. It is a
second opinion, not an oracle: every threshold below is a rule of thumb, named
and explained, so a learner can check the reasoning against the plots.

Root causes come first in the list (exploding, vanishing, dead units), then
symptoms (diverged, not learning, overfitting). Nothing here imports
matplotlib until :meth:`Diagnosis.plot` is called.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

from .engine.training import History

# ---------------------------------------------------------------------------
# Thresholds: each a rule of thumb, with where it comes from
# ---------------------------------------------------------------------------

# Vanishing: the error signal reaching the first hidden layer (||dL/db||) is less
# than 1/100 of the one at the last hidden layer. Nielsen's deep sigmoid net
# shows about this drop over four hidden layers (0.003 vs 0.285); healthy
# ReLU/He or batch-normalized nets in the lessons stay within a factor of 3.
VANISHING_RATIO = 1e-2

# Exploding: the error signal grows at least tenfold (one order of magnitude)
# on its way from the last hidden layer back to the first one ...
EXPLODING_RATIO = 10.0

# ... and the updates it causes are too large: in the first epoch, one step moves
# a layer's weights by a quarter of their size or more (||dW|| / ||W|| >= 0.25).
# Karpathy's rule of thumb (CS231n) for a healthy update ratio is about 1e-3.
# In the lessons, exploding runs reach 0.7 to 1.0; the same net with a learning
# rate of 1e-3 (the remedy) peaks near 0.08 and trains well.
LARGE_UPDATE_RATIO = 0.25

# Too-small updates (used to choose a remedy for a run that is not learning):
# a hundred times below the same 1e-3 rule of thumb.
TINY_UPDATE_RATIO = 1e-5

# Dead ReLU: at least half of a layer's units output 0 for every example of a
# batch, on average over the last epoch. CS231n warns that "as much as 40% of
# your network can be dead" after too large a step; healthy He-initialised
# ReLU nets in the lessons keep every layer below 30%.
DEAD_FRACTION = 0.5

# Not learning: the training loss (mean of the last epochs) is still above 80%
# of what guessing gives, ln(number of classes) for softmax cross-entropy
# (0.69 for two classes). At 0.8 * ln 2 = 0.55 the network puts on average
# only about 0.58 probability on the right class: barely better than a coin.
NOT_LEARNING_LOSS = 0.8

# ... and the training accuracy has not got halfway from guessing to perfect
# (below 0.75 for two classes). Every toy data set here can be learned to 0.9
# or more; the accuracy check keeps a run that classifies well, but whose loss
# is inflated by a few very confident mistakes, from counting as not learning.
NOT_LEARNING_ACCURACY = 0.5

# Overfitting: training accuracy above validation accuracy by 0.1 or more.
# The sampling noise of an accuracy measured on 100 examples is about
# sqrt(0.25 / 100) = 0.05, so a gap twice that is not chance ...
ACCURACY_GAP = 0.1

# ... and the validation loss has risen 25% above its best epoch while the
# training loss kept falling: the point where early stopping would have stopped.
VAL_LOSS_RISE = 1.25

# Fewer epochs than this are too few to say a run is not learning or overfitting.
MIN_EPOCHS = 3

# Vanishing and exploding are about depth: they need at least this many Dense layers.
MIN_DENSE_LAYERS = 3

# The first activation layer is saturated (its inputs are far too large) when a
# tanh's outputs have a standard deviation above 0.8 (unit-variance inputs give
# about 0.63; 0.8 means most outputs are pinned near -1 or +1), a sigmoid's
# above 0.4 (pinned near 0 or 1), or a ReLU's above 10.
SATURATED_STD = {"tanh": 0.8, "sigmoid": 0.4, "relu": 10.0, "leaky_relu": 10.0}

# Notes that start with this are signs of a fault below its threshold.
WARNING_SIGN = "Warning sign: "

# Every case a finding can name.
CASES = ("vanishing_gradients", "exploding_gradients", "dead_relu", "overfitting",
         "not_learning", "diverged", "healthy")

REMEDIES = {
    "vanishing_gradients": ("Use ReLU (with He initialization) instead of sigmoid or tanh.",),
    "exploding_gradients": ("Add batch normalization.", "Lower the learning rate.",
                            "Clip the gradients (SGD(clip_norm=1.0))."),
    "dead_relu": ("Lower the learning rate.", "Or use LeakyReLU, which never goes fully silent."),
    "overfitting": ("Add dropout (rate 0.5 is a good start).",
                    "Or get more training data, or use a smaller network."),
    "not_learning": ("Add batch normalization.",
                     "Normalize the inputs (standardize each feature to mean 0, std 1)."),
    "diverged": ("Lower the learning rate.", "Add batch normalization.",
                 "Clip the gradients (SGD(clip_norm=1.0))."),
    "healthy": (),
}

WHY = {
    "vanishing_gradients": ("Each sigmoid or tanh layer multiplies the backpropagated error by "
                            "its slope (at most 0.25 for sigmoid), so the layers near the input "
                            "get almost no gradient and barely learn."),
    "exploding_gradients": ("Weights that are too large multiply the error at every layer, so the "
                            "gradient grows on its way back to the input and one step throws the "
                            "weights far from where they were."),
    "dead_relu": ("A ReLU whose input is negative for every example outputs 0 and passes back no "
                  "gradient, so gradient descent can never revive it: the layer has lost those "
                  "units."),
    "overfitting": ("The network is memorising the training examples, noise included: training "
                    "accuracy keeps improving while performance on unseen data gets worse."),
    "not_learning": ("The training loss stays near the value that guessing gives, so the updates "
                     "are not moving the network toward a solution."),
    "diverged": ("An update overshot so far that the loss became infinite or blew up; training "
                 "cannot recover from there."),
    "healthy": ("No check found a fault: the loss fell below what guessing gives, the error "
                "signal reaches every layer, the units stay alive and (where measured) "
                "validation keeps up with training."),
}


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def confidence_word(confidence: float) -> str:
    """'high', 'medium' or 'low', for a confidence between 0 and 1."""
    if confidence >= 0.85:
        return "high"
    return "medium" if confidence >= 0.65 else "low"


@dataclass(frozen=True)
class Finding:
    """One thing :func:`diagnose` found.

    ``case`` is one of :data:`CASES`; ``evidence`` says in one sentence what
    the numbers show; ``numbers`` holds those numbers by name; ``layers``
    names the layers concerned and ``step`` the step from which the evidence
    holds (None when it is about the whole run); ``confidence`` is between 0.5
    (just past the threshold) and 1 (far past it); ``remedies`` are the
    lessons' fixes, most relevant first; ``why`` explains the case in one line.
    """

    case: str
    evidence: str
    confidence: float
    numbers: dict = field(default_factory=dict)
    layers: tuple = ()
    step: int | None = None
    remedies: tuple = ()
    why: str = ""

    def __str__(self):
        word = confidence_word(self.confidence)
        lines = [f"{self.case} (confidence {self.confidence:.2f}, {word})",
                 f"  Evidence: {self.evidence}"]
        if self.why:
            lines.append(f"  Why: {self.why}")
        for remedy in self.remedies:
            lines.append(f"  Remedy: {remedy}")
        return "\n".join(lines)


@dataclass(eq=False)
class Diagnosis:
    """What :func:`diagnose` concluded about one run: ``findings`` and ``notes``.

    ``findings`` lists :class:`Finding` objects, root causes first; a run with
    no fault gets a single "healthy" finding, and a run with nothing recorded
    gets none. ``notes`` are remarks that are not findings (what could not be
    checked, warning signs below a threshold).
    """

    history: History
    findings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def cases(self) -> list[str]:
        """The case of every finding, in order."""
        return [finding.case for finding in self.findings]

    @property
    def healthy(self) -> bool:
        return self.cases == ["healthy"]

    def finding(self, case: str) -> Finding | None:
        """The finding for ``case``, or None if there is none."""
        for finding in self.findings:
            if finding.case == case:
                return finding
        return None

    def _headline(self) -> str:
        if not self.findings:
            return "Nothing to diagnose."
        if self.healthy:
            return "Healthy: no fault found."
        return "Found: " + ", ".join(self.cases) + "."

    def __str__(self):
        lines = [f"Diagnosis of {self.history!r}", self._headline()]
        for number, finding in enumerate(self.findings, start=1):
            lines.append(f"{number}. {finding}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        escape = html.escape
        rows = []
        for finding in self.findings:
            remedies = "".join(f"<li>{escape(remedy)}</li>" for remedy in finding.remedies)
            rows.append(
                "<tr>"
                f"<td style='text-align:left'><b>{escape(finding.case)}</b></td>"
                f"<td style='text-align:left'>{finding.confidence:.2f} "
                f"({confidence_word(finding.confidence)})</td>"
                f"<td style='text-align:left'>{escape(finding.evidence)}</td>"
                f"<td style='text-align:left'>{escape(finding.why)}</td>"
                f"<td style='text-align:left'><ul style='margin:0'>{remedies}</ul></td>"
                "</tr>")
        table = ""
        if rows:
            table = ("<table><tr><th>case</th><th>confidence</th><th>evidence</th><th>why</th>"
                     "<th>remedies</th></tr>" + "".join(rows) + "</table>")
        notes = "".join(f"<li>{escape(note)}</li>" for note in self.notes)
        return (f"<div><p><b>Diagnosis</b> of {escape(repr(self.history))}: "
                f"{escape(self._headline())}</p>{table}"
                + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else "") + "</div>")

    def plot(self, ax=None):
        """Draw the evidence on the gradient-per-layer plot; return the Axes.

        The backpropagated error ||dL/db|| of each Dense layer at the step the
        evidence comes from (solid) and at the last step (faint), with the
        layers named by the findings circled and labelled.
        """
        from . import plots    # matplotlib is imported only when a plot is drawn

        if ax is None:
            from matplotlib.figure import Figure
            ax = Figure(figsize=(6.5, 4.5), layout="constrained").add_subplot()

        history = self.history
        statistic = "bias_grad_norms"
        step = next((finding.step for finding in self.findings
                     if finding.step is not None and finding.case in
                     ("vanishing_gradients", "exploding_gradients")), 0)
        rows = _rows(history, statistic)
        recorded = rows.shape[0] > 0 and rows.shape[1] == len(history.layer_names)
        step = min(step, max(rows.shape[0] - 1, 0))
        # A History whose rows do not match its layer names cannot be drawn: show an empty plot.
        ax = plots.gradient_per_layer(history if recorded else History(), step=step,
                                      statistic=statistic, ax=ax,
                                      label=f"step {step}" if recorded else None,
                                      color=plots.BROKEN_COLOR if not self.healthy
                                      else plots.FIXED_COLOR)
        if recorded and rows.shape[0] > 1 and step != rows.shape[0] - 1:
            last = rows.shape[0] - 1
            plots.gradient_per_layer(history, step=last, statistic=statistic, ax=ax,
                                     label=f"step {last} (last)", color="gray", alpha=0.5)
        for finding in self.findings:
            marked = [(name, _layer_position(history, name)) for name in finding.layers]
            marked = [(name, position) for name, position in marked
                      if recorded and position is not None
                      and np.isfinite(rows[step, position - 1]) and rows[step, position - 1] > 0]
            for number, (name, position) in enumerate(marked):
                value = rows[step, position - 1]
                ax.plot([position], [value], marker="o", markersize=14, fillstyle="none",
                        color=plots.BROKEN_COLOR, linestyle="none")
                if number == 0:    # one label is enough; the circles show the rest
                    ax.annotate(f"{name} ({finding.case})", (position, value),
                                textcoords="offset points", xytext=(8, 8), fontsize="small",
                                color=plots.BROKEN_COLOR)
        captions = [f"{finding.case}: {_short(finding)}" for finding in self.findings]
        ax.set_title("\n".join(["Diagnosis" + ("" if self.findings else ": nothing recorded")]
                               + captions), fontsize="medium")
        return ax


def _short(finding: Finding) -> str:
    """The one number that carries a finding, for the plot's caption."""
    numbers = finding.numbers
    if finding.case == "vanishing_gradients":
        return f"first/last hidden-layer error {numbers['error_ratio']:.1e}"
    if finding.case == "exploding_gradients":
        return f"error grows x{numbers['error_growth']:.3g} toward the input"
    if finding.case == "dead_relu":
        worst = max(numbers["dead_fractions"], key=numbers["dead_fractions"].get)
        return f"{numbers['worst_dead_fraction']:.0%} dead in {worst}"
    if finding.case == "diverged":
        return f"at step {finding.step}"
    if finding.case == "not_learning":
        return f"loss {numbers['final_loss']:.3g} vs chance {numbers['chance_loss']:.3g}"
    if finding.case == "overfitting":
        return f"accuracy gap {numbers['accuracy_gap']:.2f}"
    return f"loss {numbers.get('final_loss', float('nan')):.3g}"


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


# ---------------------------------------------------------------------------
# Reading the History
# ---------------------------------------------------------------------------

def _rows(history: History, name: str) -> np.ndarray:
    """A per-step statistic as a float (steps, layers) array; empty if it is malformed."""
    try:
        rows = np.asarray(getattr(history, name), dtype=float)
    except (TypeError, ValueError):
        return np.zeros((0, 0))
    return rows if rows.ndim == 2 else np.zeros((0, 0))


def _floats(values) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.zeros(0)


def _window(history: History, n_epochs: int = 3) -> int:
    """How many final epochs to average over: up to ``n_epochs``, fewer for short runs."""
    return max(1, min(n_epochs, len(history.loss) // 3))


def _steps_per_epoch(history: History) -> int:
    return max(int(history.steps_per_epoch or 0), 1)


def _name(names, index: int, kind: str) -> str:
    return names[index] if index < len(names) else f"{kind}{index + 1}"


def _chance_loss(history: History) -> float:
    """The loss of guessing: ln(classes) for cross-entropy, else the loss at the first step."""
    if history.n_classes and history.n_classes >= 2 and history.accuracy:
        return math.log(history.n_classes)
    losses = _floats(history.step_loss)
    losses = losses[np.isfinite(losses)]
    if losses.size:
        return float(losses[0])
    losses = _floats(history.loss)
    losses = losses[np.isfinite(losses)]
    return float(losses[0]) if losses.size else float("nan")


def _scaled(excess: float, span: float) -> float:
    """A confidence: 0.5 just past a threshold, rising to 1 at ``span`` beyond it."""
    if not np.isfinite(excess):
        return 1.0
    return float(round(0.5 + 0.5 * min(1.0, max(0.0, excess / span)), 2))


def _error_ratios(history: History) -> np.ndarray:
    """Per step: the first hidden layer's error signal ||dL/db|| over the last hidden layer's.

    NaN where either is 0. The output layer is left out: its ||dL/db|| is the
    batch sum of (predicted probability - label), which nearly cancels
    whenever the predictions match the batch's label frequencies, so it makes
    a noisy yardstick.
    """
    rows = _rows(history, "bias_grad_norms")
    if rows.shape[0] == 0 or rows.shape[1] < MIN_DENSE_LAYERS:
        return np.zeros(0)
    first, last = rows[:, 0], rows[:, -2]
    with np.errstate(all="ignore"):
        ratios = first / last
    usable = np.isfinite(first) & np.isfinite(last) & (first > 0) & (last > 0)
    return np.where(usable, ratios, np.nan)


def _geometric_median(values: np.ndarray) -> float:
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.median(np.log(values)))) if values.size else float("nan")


# ---------------------------------------------------------------------------
# One check per case
# ---------------------------------------------------------------------------

def _check_vanishing(history: History, notes: list) -> Finding | None:
    rows = _rows(history, "bias_grad_norms")
    n_dense = rows.shape[1]
    if rows.shape[0] == 0 or n_dense < MIN_DENSE_LAYERS:
        return None
    ratios = _error_ratios(history)
    typical = _geometric_median(ratios)
    if not np.isfinite(typical):
        return None
    if typical > VANISHING_RATIO:
        if typical <= 3 * VANISHING_RATIO:
            notes.append(f"{WARNING_SIGN}the error signal reaching the first hidden layer is "
                         f"{typical:.1e} of the last hidden layer's: low, but above the "
                         f"vanishing threshold ({VANISHING_RATIO:.0e}).")
        return None
    step = int(np.flatnonzero(ratios <= VANISHING_RATIO)[0])
    names = history.layer_names
    with np.errstate(all="ignore"):
        medians = np.array([_geometric_median(rows[:, column]) for column in range(n_dense)])
    starved = [_name(names, column, "dense") for column in range(n_dense - 2)
               if medians[column] <= VANISHING_RATIO * medians[-2]] or [_name(names, 0, "dense")]
    per_layer = typical ** (1.0 / (n_dense - 2))
    weight_ratio = _weight_grad_ratio(history, step)
    first, last = _name(names, 0, "dense"), _name(names, n_dense - 2, "dense")
    evidence = (f"The error signal ||dL/db|| at {first} is {typical:.1e} times the one at "
                f"{last} (median over {int(np.isfinite(ratios).sum())} steps, below "
                f"{VANISHING_RATIO:.0e} from step {step}): each layer passes back only about "
                f"{per_layer:.2f} of what it receives. Starved layers: {', '.join(starved)}.")
    return Finding("vanishing_gradients", evidence,
                   _scaled(math.log10(VANISHING_RATIO / typical), 2.0),
                   {"error_ratio": typical, "per_layer_factor": per_layer,
                    "weight_grad_ratio": weight_ratio, "threshold": VANISHING_RATIO},
                   tuple(starved), step, REMEDIES["vanishing_gradients"],
                   WHY["vanishing_gradients"])


def _weight_grad_ratio(history: History, step: int) -> float:
    """First Dense layer's ||dL/dW|| over the last one's at ``step`` (what the lessons plot)."""
    rows = _rows(history, "grad_norms")
    if rows.shape[0] <= step or rows.shape[1] < 2 or not rows[step, -1] > 0:
        return float("nan")
    return float(rows[step, 0] / rows[step, -1])


def _check_exploding(history: History, notes: list) -> Finding | None:
    rows = _rows(history, "bias_grad_norms")
    if rows.shape[0] == 0 or rows.shape[1] < MIN_DENSE_LAYERS:
        return None
    ratios = _error_ratios(history)
    if not np.isfinite(ratios[0]) or ratios[0] < EXPLODING_RATIO:
        return None
    growth = float(ratios[0])
    updates = _rows(history, "update_ratios")[:_steps_per_epoch(history)]
    updates = updates[np.isfinite(updates)] if updates.size else updates.ravel()
    largest_update = float(updates.max()) if updates.size else float("nan")
    names = history.layer_names
    first, last = _name(names, 0, "dense"), _name(names, rows.shape[1] - 2, "dense")
    too_large = np.isfinite(largest_update) and largest_update >= LARGE_UPDATE_RATIO
    if not (too_large or history.diverged):
        notes.append(f"{WARNING_SIGN}at initialisation the error signal grows x{growth:.3g} "
                     f"from {last} back to {first}, but the updates stay below "
                     f"{LARGE_UPDATE_RATIO:g} of the weights "
                     f"(largest {largest_update:.1e} in the first epoch), so training copes: the "
                     "learning rate or clipping keeps the steps small.")
        return None
    consequence = (f"the run diverged at step {history.diverged_at}" if history.diverged else
                   f"one update changed a layer's weights by {largest_update:.0%} of their size")
    evidence = (f"At step 0 the error signal ||dL/db|| grows x{growth:.3g} from {last} back to "
                f"{first} (above x{EXPLODING_RATIO:g}), and {consequence} "
                f"(largest update ratio {largest_update:.2f} in the first epoch).")
    grown = [_name(names, column, "dense") for column in range(rows.shape[1] - 2)
             if rows[0, column] >= EXPLODING_RATIO * rows[0, -2]]
    confidence = 1.0 if history.diverged else _scaled(
        math.log10(growth / EXPLODING_RATIO) + math.log10(largest_update / LARGE_UPDATE_RATIO), 2.0)
    return Finding("exploding_gradients", evidence, confidence,
                   {"error_growth": growth, "largest_update_ratio": largest_update,
                    "threshold": EXPLODING_RATIO},
                   tuple(grown), 0, REMEDIES["exploding_gradients"], WHY["exploding_gradients"])


def _check_dead_relu(history: History, notes: list, whole_set=None) -> Finding | None:
    dead = _rows(history, "dead_fraction")
    if dead.shape[0] == 0 or dead.shape[1] == 0:
        return None
    names = history.relu_names
    window = _steps_per_epoch(history)
    dead = np.where(np.isfinite(dead), dead, 0.0)    # a step that measured nothing counts as alive
    fractions = dead[-window:].mean(axis=0)
    source = "of each batch, averaged over the last epoch"
    if whole_set is not None and len(whole_set) == dead.shape[1]:
        fractions = np.asarray(whole_set, dtype=float)
        source = "of the whole training set, after training"
    fractions = np.where(np.isfinite(fractions), fractions, 0.0)
    dead_layers = [column for column in range(dead.shape[1]) if fractions[column] >= DEAD_FRACTION]
    if not dead_layers:
        worst = int(np.argmax(fractions))
        if fractions[worst] >= 0.6 * DEAD_FRACTION:
            notes.append(f"{WARNING_SIGN}{fractions[worst]:.0%} of {_name(names, worst, 'relu')}'s "
                         f"units are dead (zero for every example {source}), below the "
                         f"{DEAD_FRACTION:.0%} threshold.")
        return None
    worst = max(dead_layers, key=lambda column: fractions[column])
    layer_names = tuple(_name(names, column, "relu") for column in dead_layers)
    # From which step the worst layer stayed dead: the first epoch-long stretch at or
    # above the threshold.
    column = dead[:, worst]
    step = 0
    for start in range(0, dead.shape[0], max(1, window // 2)):
        if column[start:start + window].mean() >= DEAD_FRACTION:
            step = start
            break
    at_start = float(dead[0, worst])
    described = ", ".join(f"{name} {fractions[column]:.0%}"
                          for name, column in zip(layer_names, dead_layers))
    evidence = (f"Units that output 0 for every example ({source}): {described}. "
                f"{_name(names, worst, 'relu')} was {at_start:.0%} dead at step 0 and "
                f"{DEAD_FRACTION:.0%} or more from step {step}.")
    remedies, why = REMEDIES["dead_relu"], WHY["dead_relu"]
    if at_start >= DEAD_FRACTION:
        why = ("These units were dead from the very first step, before any update: the cause is "
               "what feeds them (a negative initial bias, inputs zeroed by dropout), not the "
               "step size. A ReLU that is 0 for every example passes back no gradient.")
        remedies = ("Check the initial bias and anything that zeroes the layer's input "
                    "(a dropout rate near 1).", "Use LeakyReLU, which never goes fully silent.")
    return Finding("dead_relu", evidence,
                   _scaled(fractions[worst] - DEAD_FRACTION, 0.3),
                   {"dead_fractions": {name: float(fractions[column])
                                       for name, column in zip(layer_names, dead_layers)},
                    "worst_dead_fraction": float(fractions[worst]), "dead_at_step_0": at_start,
                    "threshold": DEAD_FRACTION},
                   layer_names, step, remedies, why)


def _check_diverged(history: History) -> Finding | None:
    losses = np.concatenate([_floats(history.loss), _floats(history.step_loss)])
    if not history.diverged and np.isfinite(losses).all():
        return None
    step = history.diverged_at if history.diverged else None
    if step is None:
        bad = np.flatnonzero(~np.isfinite(_floats(history.step_loss)))
        step = int(bad[0]) if bad.size else None
    where = f"at step {step}" if step is not None else "(a loss became infinite or NaN)"
    if step is not None:
        where += f" (epoch {step // _steps_per_epoch(history) + 1})"
    step_loss = _floats(history.step_loss)
    finite = step_loss[np.isfinite(step_loss)]
    before = f"; the last finite loss was {finite[-1]:.3g}" if finite.size else ""
    start = f" (it started at {finite[0]:.3g})" if finite.size > 1 else ""
    evidence = f"Training stopped {where}: the loss became infinite or blew up{before}{start}."
    if history.message:
        evidence += f" The training loop said: {history.message}"
    return Finding("diverged", evidence, 1.0,
                   {"diverged_at": step, "last_finite_loss": float(finite[-1]) if finite.size
                    else float("nan")},
                   (), step, REMEDIES["diverged"], WHY["diverged"])


def _saturated_inputs(history: History) -> str | None:
    """A sentence if the first activation layer is saturated (inputs far too large), else None."""
    stds = _rows(history, "activation_std")
    if stds.shape[0] == 0 or stds.shape[1] == 0 or not history.activation_names:
        return None
    name = history.activation_names[0]
    kind = name.rstrip("0123456789")
    limit = SATURATED_STD.get(kind)
    value = float(np.nanmedian(stds[:, 0])) if np.isfinite(stds[:, 0]).any() else float("nan")
    if limit is None or not value > limit:
        return None
    return (f"The first activation layer ({name}) has outputs with standard deviation "
            f"{value:.2f} (above {limit:g}): it is saturated, which is what inputs on a large "
            "scale do")


def _check_not_learning(history: History, notes: list, input_scales=None) -> Finding | None:
    losses = _floats(history.loss)
    if losses.size == 0 or history.diverged or not np.isfinite(losses).all():
        return None
    if losses.size < MIN_EPOCHS:
        notes.append(f"Only {losses.size} epoch(s): too few to say whether the run is learning "
                     f"(at least {MIN_EPOCHS} are needed).")
        return None
    window = _window(history)
    final = float(losses[-window:].mean())
    chance = _chance_loss(history)
    if not (np.isfinite(chance) and chance > 0):
        return None
    level = final / chance
    if level < NOT_LEARNING_LOSS:
        return None
    accuracy = _floats(history.accuracy)
    accuracy_text = ""
    numbers = {"final_loss": final, "chance_loss": chance, "loss_level": level,
               "threshold": NOT_LEARNING_LOSS}
    if accuracy.size and history.n_classes:
        final_accuracy = float(accuracy[-window:].mean())
        chance_accuracy = 1.0 / history.n_classes
        progress = (final_accuracy - chance_accuracy) / (1.0 - chance_accuracy)
        if progress >= NOT_LEARNING_ACCURACY:
            return None
        numbers.update(final_accuracy=final_accuracy, chance_accuracy=chance_accuracy)
        accuracy_text = (f"; training accuracy {final_accuracy:.2f} (guessing gives "
                         f"{chance_accuracy:.2f})")
    reference = "ln(classes), what guessing gives" if history.accuracy else "the first step's loss"
    evidence = (f"The training loss over the last {window} epoch(s) is {final:.3g}, "
                f"{level:.0%} of {chance:.3g} ({reference}); it started at {losses[0]:.3g}"
                f"{accuracy_text}.")
    remedies = list(REMEDIES["not_learning"])
    weights = _rows(history, "grad_norms")
    updates = _rows(history, "update_ratios")
    saturated = _saturated_inputs(history)
    if input_scales is not None:
        evidence += f" {input_scales}."
        remedies.remove(REMEDIES["not_learning"][1])
        remedies.insert(0, REMEDIES["not_learning"][1])
    elif saturated:
        evidence += f" {saturated}."
        remedies.remove(REMEDIES["not_learning"][1])
        remedies.insert(0, REMEDIES["not_learning"][1])
    if weights.size and np.all(weights[np.isfinite(weights)] == 0):
        evidence += (" Every weight gradient is exactly 0 at every step: no error reaches any "
                     "weight.")
        remedies.insert(0, "Find what blocks every gradient (a dropout rate of 1, every unit "
                           "dead).")
    elif updates.size and np.isfinite(updates).any():
        typical_update = float(np.nanmedian(updates))
        numbers["typical_update_ratio"] = typical_update
        if typical_update < TINY_UPDATE_RATIO:
            evidence += (f" A step changes the weights by only {typical_update:.1e} of their size "
                         "(about 1e-3 is typical).")
            remedies.insert(0, "Raise the learning rate: the steps are far too small.")
    return Finding("not_learning", evidence,
                   _scaled(level - NOT_LEARNING_LOSS, 0.15), numbers, (), 0,
                   tuple(remedies), WHY["not_learning"])


def _check_overfitting(history: History, notes: list) -> Finding | None:
    val_loss, losses = _floats(history.val_loss), _floats(history.loss)
    val_accuracy, accuracy = _floats(history.val_accuracy), _floats(history.accuracy)
    if val_loss.size == 0 and val_accuracy.size == 0:
        if losses.size:
            notes.append("No validation data, so overfitting could not be checked "
                         "(train with val=(X_val, y_val)).")
        return None
    if history.diverged or min(val_loss.size or val_accuracy.size, losses.size) < MIN_EPOCHS:
        return None
    window = _window(history)
    numbers = {}
    gap = float("nan")
    if val_accuracy.size and accuracy.size:
        gap = float(accuracy[-window:].mean() - val_accuracy[-window:].mean())
        numbers.update(accuracy_gap=gap, train_accuracy=float(accuracy[-window:].mean()),
                       val_accuracy=float(val_accuracy[-window:].mean()))
    rise, best_epoch = float("nan"), None
    finite = val_loss[np.isfinite(val_loss)] if val_loss.size else val_loss
    if finite.size and finite.min() > 0:
        best_epoch = int(np.nanargmin(np.where(np.isfinite(val_loss), val_loss, np.nan)))
        rise = float(val_loss[-window:].mean() / val_loss[best_epoch])
        training_fell = losses[-1] < losses[min(best_epoch, losses.size - 1)]
        if not training_fell:
            rise = 1.0      # both got worse together: that is not overfitting
        numbers.update(val_loss_rise=rise, best_val_epoch=best_epoch + 1)
    chance = _chance_loss(history)
    learned = np.isfinite(chance) and losses[-window:].mean() < NOT_LEARNING_LOSS * chance
    gap_past = np.isfinite(gap) and gap >= ACCURACY_GAP
    rise_past = np.isfinite(rise) and rise >= VAL_LOSS_RISE
    if np.isfinite(gap):
        # With accuracies, the gap must be there: a validation loss that rises while
        # validation accuracy holds is growing overconfidence, only a warning sign.
        overfitting = gap_past and (rise_past or gap >= 2 * ACCURACY_GAP)
    else:
        overfitting = np.isfinite(rise) and rise >= 1 + 2 * (VAL_LOSS_RISE - 1)
    if not (learned and overfitting):
        if learned and (gap_past or rise_past):
            notes.append(f"{WARNING_SIGN}validation is starting to fall behind training ("
                         + _overfit_numbers(numbers) + "), below the overfitting thresholds.")
        return None
    evidence = f"Validation falls behind training: {_overfit_numbers(numbers)}."
    excess = max(gap / ACCURACY_GAP - 1 if np.isfinite(gap) else 0.0,
                 (rise - 1) / (VAL_LOSS_RISE - 1) - 1 if np.isfinite(rise) else 0.0)
    step = best_epoch * _steps_per_epoch(history) if best_epoch is not None else None
    numbers.update(gap_threshold=ACCURACY_GAP, rise_threshold=VAL_LOSS_RISE)
    return Finding("overfitting", evidence, _scaled(excess, 2.0), numbers, (), step,
                   REMEDIES["overfitting"], WHY["overfitting"])


def _overfit_numbers(numbers: dict) -> str:
    parts = []
    if "accuracy_gap" in numbers:
        parts.append(f"training accuracy {numbers['train_accuracy']:.2f} vs validation "
                     f"{numbers['val_accuracy']:.2f} (gap {numbers['accuracy_gap']:.2f})")
    if "val_loss_rise" in numbers:
        parts.append(f"validation loss {numbers['val_loss_rise']:.2f}x its best "
                     f"(epoch {numbers['best_val_epoch']}) while the training loss kept falling")
    return "; ".join(parts)


def _healthy(history: History, notes: list) -> Finding:
    losses = _floats(history.loss)
    final = float(losses[-_window(history):].mean())
    chance = _chance_loss(history)
    level = final / chance if np.isfinite(chance) and chance > 0 else float("nan")
    parts = [f"the training loss fell from {losses[0]:.3g} to {final:.3g}"
             + (f" ({level:.0%} of chance, {chance:.3g})" if np.isfinite(level) else "")]
    ratios = _error_ratios(history)
    typical = _geometric_median(ratios)
    if np.isfinite(typical) and _rows(history, "bias_grad_norms").shape[1] >= MIN_DENSE_LAYERS:
        parts.append(f"the error signal at the first hidden layer is {typical:.2g} times the "
                     "last hidden layer's")
    dead = _rows(history, "dead_fraction")
    if dead.size:
        latest = np.where(np.isfinite(dead), dead, 0.0)[-_steps_per_epoch(history):]
        parts.append(f"at most {latest.mean(axis=0).max():.0%} of a ReLU layer is dead "
                     "(last epoch)")
    if history.val_accuracy and history.accuracy:
        window = _window(history)
        gap = np.mean(history.accuracy[-window:]) - np.mean(history.val_accuracy[-window:])
        parts.append(f"validation accuracy is within {max(gap, 0.0):.2f} of training")
    # Confident when the loss is far below chance and no warning sign was noted.
    confidence = _scaled(NOT_LEARNING_LOSS - level, 0.6) if np.isfinite(level) else 0.6
    if any(note.startswith(WARNING_SIGN) for note in notes):
        confidence = max(0.5, confidence - 0.15)
    if losses.size < MIN_EPOCHS:
        confidence = 0.5
    evidence = "; ".join(parts) + "."
    return Finding("healthy", evidence[0].upper() + evidence[1:], confidence,
                   {"final_loss": final, "chance_loss": chance}, (), None, (), WHY["healthy"])


# ---------------------------------------------------------------------------
# diagnose
# ---------------------------------------------------------------------------

def _input_scales(data) -> str | None:
    """A sentence if the inputs in ``data`` are far from standardized, else None."""
    X = data[0] if isinstance(data, (tuple, list)) else data
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        return None
    spread = X.std(axis=0)
    centre = np.abs(X.mean(axis=0))
    scale = np.maximum(spread, centre)
    if scale.min() <= 0:
        return None
    if scale.max() / scale.min() >= 100 or scale.max() >= 100:
        return (f"The input features are on scales from {scale.min():.2g} to {scale.max():.2g}: "
                "they were not standardized")
    return None


def diagnose(history: History, *, model=None, data=None) -> Diagnosis:
    """Name what went wrong in a training run, from its History; return a :class:`Diagnosis`.

    Each check reads the telemetry the plots draw and compares one number with
    a named threshold (see the constants at the top of this module). Optional
    extra evidence: ``model`` (the trained network) and ``data`` (the training
    inputs ``X``, or ``(X, y)``) let it count dead units on the whole training
    set and check the inputs' scales. It never raises: a check that cannot be
    made becomes a note.
    """
    if not isinstance(history, History):
        return Diagnosis(History(), [], [f"diagnose needs the History that nnlab.train returns, "
                                         f"but got {type(history).__name__}."])
    notes: list[str] = []
    whole_set, input_scales = None, None
    if data is not None:
        input_scales = _guard(notes, "the input scales", lambda: _input_scales(data))
        if model is not None:
            from .engine.telemetry import dead_units
            X = data[0] if isinstance(data, (tuple, list)) else data
            whole_set = _guard(notes, "dead units on the training set",
                               lambda: dead_units(model, X))
    if history.steps == 0 and not history.loss:
        diverged = _guard(notes, "divergence", lambda: _check_diverged(history))
        if diverged is None:
            notes.append("No training steps were recorded, so there is nothing to diagnose "
                          "(train for at least one step, with telemetry on).")
        return Diagnosis(history, [diverged] if diverged else [], notes)

    # Root causes first, then the symptoms they cause: the order findings are listed in.
    checks = {
        "exploding_gradients": lambda: _check_exploding(history, notes),
        "vanishing_gradients": lambda: _check_vanishing(history, notes),
        "dead_relu": lambda: _check_dead_relu(history, notes, whole_set),
        "diverged": lambda: _check_diverged(history),
        "not_learning": lambda: _check_not_learning(history, notes, input_scales),
        "overfitting": lambda: _check_overfitting(history, notes),
    }
    findings = [finding for case, check in checks.items()
                if (finding := _guard(notes, case.replace("_", " "), check)) is not None]
    if not findings:
        healthy = _guard(notes, "health", lambda: _healthy(history, notes))
        if healthy is not None:
            findings.append(healthy)
    return Diagnosis(history, findings, notes)


def _guard(notes: list, what: str, check):
    """Run one check; if the History is too malformed for it, say so in a note instead of raising.

    ``diagnose`` is called on whatever a learner's run produced, mid-lesson; a
    crash there would hide every other finding.
    """
    try:
        with np.errstate(all="ignore"):
            return check()
    except Exception as error:   # noqa: BLE001 - see the docstring
        notes.append(f"Could not check {what}: {type(error).__name__}: {error}")
        return None

"""Mystery networks for the capstone lesson: find the fault, fix it, check your answer.

``MYSTERIES`` maps a name ("A" to "F") to an :class:`~nnlab.experiments.Experiment`
that hides a fault: most have one, one hides a second fault behind its first (it shows
only once the first is fixed), one has none. A learner trains
one with :func:`train`, reads its telemetry with :func:`dashboard`, names the
fault with :func:`check`, and tries a remedy with :func:`check_fix`. :func:`hint`
nudges; :func:`solution` tells all. The faults are the cases of
:mod:`nnlab.diagnosis`, so :func:`nnlab.diagnosis.diagnose` can give a second
opinion at the end.

Every mystery trains in well under a second, and the same configuration always
gives the same run, so a verdict never changes between runs.

In the lesson, mystery "A" is the worked example; each of the others (``GRADED``)
has an answer cell and a check cell for naming its fault, ``answer_b = ...`` then
``mysteries.check("B", answer_b)``, and for fixing it, ``fix_b = ...`` then
``mysteries.check_fix("B", fix_b)`` (the names :func:`answer_name` and
:func:`fix_name` give). ``make assignments`` (:mod:`nnlab.grading`) grades those
pairs, with :func:`worked_answer` and :func:`worked_fix_source` as the solutions.
Under a grader (:mod:`nnlab.classroom`) ``check`` and ``check_fix`` raise
:class:`~nnlab.classroom.NotRight`, with the line a learner sees, for an answer
that is not right or not given; :func:`solution` and the reveal of
:func:`compare_with_diagnosis` are off wherever worked solutions are off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import classroom, metrics
from .classroom import NotRight
from .diagnosis import CASE_NAMES, diagnose
from .experiments import Experiment, outcome, run

# A fix must raise the mystery's measure (training or validation accuracy) by at least
# this much: 0.05 is 15 of the 300 training examples, or 10 of the 200 validation ones,
# well above the 0.01-0.03 a change of seed moves them.
FIX_MARGIN = 0.05

# Mystery A is the lesson's worked example (answered and fixed in front of the learner);
# the others are the learner's to solve, and the ones an assignment grades.
WORKED_EXAMPLE = "A"
GRADED = ("B", "C", "D", "E", "F")

# A change to the healthy network is accepted if it costs at most this much.
HEALTHY_TOLERANCE = 0.02

# Short names a learner may type for a case.
ALIASES = {
    "vanishing": "vanishing_gradients", "vanishing_gradient": "vanishing_gradients",
    "exploding": "exploding_gradients", "exploding_gradient": "exploding_gradients",
    "dead": "dead_relu", "dead_relus": "dead_relu", "dead_units": "dead_relu",
    "dying_relu": "dead_relu", "overfit": "overfitting", "overfits": "overfitting",
    "not_learning": "not_learning", "stuck": "not_learning", "underfitting": "not_learning",
    "divergence": "diverged", "diverges": "diverged", "nan": "diverged",
    "none": "healthy", "nothing": "healthy", "fine": "healthy", "ok": "healthy",
    "no_fault": "healthy", "saturated": "saturated_activations",
    "saturation": "saturated_activations", "saturated_activation": "saturated_activations",
    "raw_inputs": "saturated_activations", "unscaled_inputs": "saturated_activations",
}

# The fields of an Experiment that are the data, not the network or its training:
# a fix may not change them (``standardize``, how the inputs are prepared, may change).
DATA_FIELDS = ("dataset", "n", "noise", "label_noise", "noise_features", "val_fraction",
               "input_scales", "seed")


@dataclass(frozen=True)
class _Secret:
    """What a mystery hides: the faults to name, and how to explain and fix them."""

    faults: frozenset         # the cases a full answer names
    symptoms: frozenset       # true consequences of the faults: naming them too is fine
    hint: str
    explanation: str
    fix: dict                 # Experiment.replace(**fix) gives a working network
    measure: str = "train_accuracy"    # what a fix must not make worse (or "val_accuracy")
    # The cause one step further back (inputs on a raw scale, behind saturated units): naming
    # it, alone or with the faults, is right too, and diagnose may find it.
    root: frozenset = frozenset()
    # Faults that show only once the first is fixed (naming them too is fine; the fix must
    # remove them as well).
    uncovered: frozenset = frozenset()


MYSTERIES = {
    "A": Experiment(dataset="moons", noise=0.15, hidden=(24,) * 7, activation="sigmoid",
                    init="xavier", standardize=True, lr=0.05, epochs=20, seed=101,
                    title="Mystery A"),
    "B": Experiment(dataset="spirals", hidden=(80,), activation="relu", standardize=True,
                    lr=6.0, epochs=20, seed=110, title="Mystery B"),
    "C": Experiment(dataset="circles", hidden=(32, 32), activation="tanh", init="xavier",
                    input_scales=(300.0, 300.0), lr=0.1, epochs=20, seed=130,
                    title="Mystery C"),
    "D": Experiment(dataset="spirals", hidden=(32, 32, 32), activation="relu", standardize=True,
                    lr=0.1, epochs=25, seed=104, title="Mystery D"),
    "E": Experiment(dataset="xor", hidden=(48,) * 6, activation="relu", init=0.7,
                    standardize=True, lr=0.05, epochs=20, seed=105, title="Mystery E"),
    "F": Experiment(dataset="circles", n=300, noise=0.25, label_noise=0.1, val_fraction=0.8,
                    hidden=(160, 160), standardize=True, lr=0.6, epochs=150, batch_size=10,
                    seed=121, title="Mystery F"),
}

_SECRETS = {
    "A": _Secret(
        frozenset({"vanishing_gradients"}), frozenset({"not_learning"}),
        hint="Compare the gradient of the first Dense layer with the last one's. How many "
             "powers of ten apart are they?",
        explanation="Seven sigmoid layers: the error signal shrinks by a factor of about 4.5 "
                    "at every layer, so the first hidden layer gets about 1e-4 of the error the "
                    "last one gets and barely moves. The loss stays at ln 2 = 0.69.",
        fix={"activation": "relu", "init": "he"}),
    "B": _Secret(
        frozenset({"dead_relu"}), frozenset({"not_learning"}),
        hint="Look at the dead-units panel: what fraction of the hidden layer ever fires? "
             "Then look at the update-to-data ratio in the first steps: how does it compare "
             "with the 1e-3 of a healthy run?",
        explanation="A learning rate of 6 makes the first steps huge: the update-to-data ratio "
                    "of the hidden layer is about 0.76 in the first epoch (the median over its steps): "
                    "a step changes the weights by most of their own size, where about 1e-3 is "
                    "healthy. Those steps "
                    "throw most hidden units into the region where their input is negative "
                    "for every example. A dead ReLU passes back no gradient, so they never come "
                    "back: about 80% of the layer is lost. The ratio is what names the learning "
                    "rate as the cause (a bad bias or init would kill units with ordinary-sized "
                    "steps).",
        fix={"lr": 0.5}),
    "C": _Secret(
        frozenset({"saturated_activations"}), frozenset({"not_learning"}),
        hint="The gradients reach every layer and nothing is dead. Look at the scale of the "
             "inputs in the description, and at the first activation layer: where do tanh "
             "outputs sit when their input is in the hundreds?",
        explanation="The inputs are about 300 times too large, so 96% of the first tanh "
                    "layer's outputs are beyond +-0.99 before training starts: each unit "
                    "gives +1 for about half of the examples and -1 for the others, and its "
                    "slope there is below 0.02, so it passes back almost no gradient. A "
                    "saturated unit only says on which side of a line through the origin an "
                    "example lies; on concentric circles that says nothing about the radius, "
                    "which is what separates the classes, so the network stays at chance. (The "
                    "same network reaches about 0.85 on the moons and 0.89 on the XOR data, "
                    "where a few such lines do separate the classes: saturation does not "
                    "always leave the loss at chance.) Not learning is what happened; "
                    "saturated activations are why.",
        fix={"standardize": True}, root=frozenset({"unscaled_inputs"})),
    "D": _Secret(
        frozenset({"healthy"}), frozenset(),
        hint="Is the loss well below ln 2 = 0.69? Are the gradients of all layers within a "
             "factor of ten of each other? Are the units alive?",
        explanation="Nothing is wrong: the loss falls far below chance, the error signal "
                    "reaches every layer at a similar size and almost every unit is alive. "
                    "Knowing when to stop debugging is a skill too.",
        fix={}),
    "E": _Secret(
        frozenset({"exploding_gradients"}), frozenset({"diverged", "dead_relu"}),
        hint="The run stopped almost at once. At step 0, is the gradient larger near the "
             "input or near the output, and by how much?",
        explanation="Initial weights with standard deviation 0.7 (He would be 0.2) make every "
                    "layer multiply the error by more than 1: it grows several hundredfold on "
                    "its way back to the input, and the first update blows the loss up.",
        fix={"batchnorm": True}),
    "F": _Secret(
        frozenset({"dead_relu"}), frozenset(),
        hint="Look at the dead-units panel, layer by layer, and at the learning rate. Is the "
             "training accuracy high enough for the network to be memorising its 60 examples?",
        explanation="A learning rate of 0.6 kills most units of the second hidden layer (dead "
                    "ReLU): the training accuracy ends at 0.68 during training and 0.72 after, "
                    "so the network is not memorising its 60 examples yet. Fixing one fault "
                    "uncovers another: at lr 0.1 the units live, and the big network (two "
                    "layers of 160 for 60 examples, 10% of them mislabelled) memorises them: "
                    "training accuracy 0.87 after training against 0.60 on validation "
                    "(overfitting). Lesson 4's remedy, which diagnose proposes, does not work "
                    "here: with dropout 0.5 the network no longer fits even its training set "
                    "(0.60 after training) and validation falls to 0.55, below the broken "
                    "run's 0.57. Dropout fights memorising with noise, and 60 examples (6 of "
                    "them mislabelled), seen 10 at a time by a different half of the units at "
                    "every step, carry too little signal to learn the circles through that "
                    "noise. A network too small to memorise 60 examples (8 units) at lr 0.1 "
                    "reaches 0.73 on validation.",
        fix={"lr": 0.1, "hidden": (8,)}, measure="val_accuracy",
        uncovered=frozenset({"overfitting"})),
}


# ---------------------------------------------------------------------------
# The signs of each case, as the capstone's table shows them
# ---------------------------------------------------------------------------

def signs() -> dict:
    """``{case: (what the telemetry shows, where on the dashboard)}`` for every answer a
    learner may give: the capstone's table, with the course's thresholds (nnlab.metrics)."""
    from .diagnosis import MIN_STEPS
    from .diagnosis.rules import UNSCALED_LARGEST, UNSCALED_RATIO
    dead = metrics.DEAD_FRACTION_THRESHOLD
    return {
        "unscaled_inputs": (
            "the inputs were not standardized: the input features' scales (max(|mean|, std) of "
            f"each) are {UNSCALED_RATIO:g} times apart or more, or one is {UNSCALED_LARGEST:g} or "
            "larger. A tanh or sigmoid "
            "net's first layer then saturates; a ReLU net's first-layer gradients share the "
            "features' spread of scales, so no one learning rate suits them all",
            "the inputs' scale in the description; the activation panel's first bar"),
        "vanishing_gradients": (
            "the backpropagated error shrinks on its way back: the first hidden layer gets a "
            "hundred times less than the last, or worse; the first layers' update-to-data "
            "ratios sit far below 1e-3",
            "gradient panels: a line climbing steeply to the right (log scale)"),
        "exploding_gradients": (
            "the backpropagated error *grows* on its way back to the input (a hundredfold or "
            "more), and the loss spikes or the run diverges",
            "gradient panels: a line falling steeply to the right"),
        "dead_relu": (
            f"more than {dead:.0%} of a ReLU layer's units output 0 for every example of an "
            "epoch; when huge steps killed them, the update-to-data ratio of the first epoch is "
            "far above 1e-3",
            "dead units panel (bold lines); update-to-data ratio panel"),
        "saturated_activations": (
            "the first tanh or sigmoid layer's outputs sit on their flat ends (most tanh "
            "outputs beyond ±0.99, a spread near 1), usually because the inputs are on large "
            "scales. The loss stays near chance only when the data need more than the lines "
            "through the origin that saturated units draw",
            "activation panel: the first layer's bar; the inputs' scale in the description"),
        "overfitting": (
            "training accuracy high and far above validation accuracy (the network memorises "
            "its examples); validation loss rising while training loss falls",
            "loss and accuracy panels: solid (training) vs dashed (validation)"),
        "not_learning": (
            "the loss stays near chance: ln 2 = 0.69 for two balanced classes (what predicting "
            "the class frequencies gives), accuracy near the majority class's share. What "
            "happened, not why: look for the cause",
            "loss and accuracy panels"),
        "diverged": (
            f"the engine stopped the run: {metrics.DIVERGED_MEANING}",
            "loss panel: the orange dashed line and the cross"),
        "inconclusive": (
            f"the run is too short to judge (fewer than {MIN_STEPS} steps, and the loss has not "
            "yet fallen far): a network still warming up looks like one that never learns",
            "the step count in the description; the loss panel"),
        "healthy": (
            "none of the above: the loss falls well below chance, the error reaches every "
            "layer at a similar size, the units stay alive, validation keeps up",
            "everywhere"),
    }


def signs_table():
    """The signs of every case as a Markdown table (an IPython display object)."""
    from IPython.display import Markdown
    lines = ["| case | what the telemetry shows | where on the dashboard |", "|---|---|---|"]
    lines += [f"| `{case}` | {shows} | {where} |" for case, (shows, where) in signs().items()]
    return Markdown("\n".join(lines))


# ---------------------------------------------------------------------------
# Training and looking
# ---------------------------------------------------------------------------

def _mystery(name) -> Experiment | None:
    return MYSTERIES.get(name) if isinstance(name, str) else None


def _unknown(name) -> str:
    return (f"There is no mystery called {name!r}: choose one of "
            f"{', '.join(map(repr, MYSTERIES))}.")


def answer_name(name: str) -> str:
    """The variable a learner names mystery ``name``'s fault in: ``answer_b`` for "B"."""
    return f"answer_{name.lower()}"


def fix_name(name: str) -> str:
    """The variable a learner puts mystery ``name``'s fixed Experiment in: ``fix_b`` for "B"."""
    return f"fix_{name.lower()}"


def train(name: str):
    """Train mystery ``name`` (once; later calls return the same History at once)."""
    config = _mystery(name)
    if config is None:
        raise ValueError(_unknown(name))
    return run(config)


def describe(name: str) -> str:
    """One paragraph a learner can read: mystery ``name``'s data, network and training."""
    config = _mystery(name)
    if config is None:
        raise ValueError(_unknown(name))
    (_, y_train), val = config.data()
    data = f"{config.dataset}, {len(y_train)} training examples"
    if val is not None:
        data += f" and {len(val[1])} for validation"
    if getattr(config, "label_noise", 0.0):
        data += f", {config.label_noise:.0%} of the labels wrong"
    return (f"Mystery {name}. Data: {data}. Network and training: {config.describe()}; "
            f"{config.epochs} epochs, batches of {config.batch_size}.")


def dashboard(history, title: str = ""):
    """Seven panels of telemetry for one run, as a matplotlib Figure (see
    :func:`nnlab.diagnosis_plots.dashboard`; matplotlib is loaded only when it is drawn)."""
    from .diagnosis_plots import dashboard as draw
    return draw(history, title)


# ---------------------------------------------------------------------------
# Checking an answer
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MysteryVerdict:
    """The result of :func:`verdict`: ``correct`` is True, False, or None (not answered)."""

    correct: bool | None
    message: str

    def __str__(self):
        return self.message


def _normalise(answer) -> tuple[set, list]:
    """The cases an answer names, and the words that are not cases."""
    if isinstance(answer, str):
        words = [answer]
    elif isinstance(answer, (list, tuple, set, frozenset)):
        words = list(answer)
    else:
        return set(), [repr(answer)]
    cases, unknown = set(), []
    for word in words:
        if not isinstance(word, str):
            unknown.append(repr(word))
            continue
        key = word.strip().lower().replace(" ", "_").replace("-", "_")
        key = ALIASES.get(key, key)
        (cases.add(key) if key in CASE_NAMES else unknown.append(repr(word)))
    return cases, unknown


def verdict(name: str, answer) -> MysteryVerdict:
    """Judge ``answer`` (a case name, or a list of them) for mystery ``name``; never raises."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    if secret is None:
        return MysteryVerdict(False, _unknown(name))
    if answer is None:
        return MysteryVerdict(None, f"Not answered yet — set {answer_name(name)} = '...' (one "
                                    f"of {', '.join(CASE_NAMES)}) and re-run.")
    named, unknown = _normalise(answer)
    if unknown:
        return MysteryVerdict(False, f"{', '.join(unknown)} is not one of the cases. Answer with one "
                              f"of {', '.join(CASE_NAMES)} (or a list of them, for two faults).")
    if not named:
        return MysteryVerdict(False, f"The answer names no case: write one, e.g. "
                                     f"{answer_name(name)} = 'dead_relu'.")
    faults = secret.faults
    allowed = secret.faults | secret.symptoms | secret.root | secret.uncovered
    if named and named <= secret.uncovered:
        return MysteryVerdict(False, f"{', '.join(sorted(named))} does not show in this run yet: "
                              "look at what the dashboard of the broken run shows first. "
                              f"Hint: {secret.hint}")
    if (faults <= named or named & secret.root) and named <= allowed:
        return MysteryVerdict(True, f"Correct: {' and '.join(sorted(faults))}. {secret.explanation}")
    if "healthy" in named and len(named) > 1:
        return MysteryVerdict(False, "'healthy' means no fault at all, so it cannot go with another "
                              "case. Pick one or the other.")
    if "healthy" in faults:
        return MysteryVerdict(False, f"Not quite: {', '.join(sorted(named))} is not what the numbers "
                              f"show. Hint: {secret.hint}")
    found, missing, wrong = named & faults, faults - named, named - allowed
    if named <= secret.symptoms:
        return MysteryVerdict(False, f"{', '.join(sorted(named))} is what happened, not why it "
                              f"happened: look for the cause. Hint: {secret.hint}")
    if found and wrong:
        return MysteryVerdict(False, f"{', '.join(sorted(found))} is right, but "
                              f"{', '.join(sorted(wrong))} is not there. Hint: {secret.hint}")
    if found and missing:
        return MysteryVerdict(False, f"{', '.join(sorted(found))} is right, but there is another "
                              f"fault. Hint: {secret.hint}")
    return MysteryVerdict(False, f"Not quite: {', '.join(sorted(named))} does not fit the numbers. "
                          f"Hint: {secret.hint}")


def _report(judged: MysteryVerdict) -> None:
    """Print a verdict; under a grader, raise NotRight with it unless it is right."""
    if judged.correct is not True and classroom.settings().grading:
        raise NotRight(judged.message)
    print(judged.message)


def check(name: str, answer) -> None:
    """Print whether ``answer`` names mystery ``name``'s fault(s), and why.

    Under a grader (:mod:`nnlab.classroom`) an answer that is not right, or not given,
    raises :class:`~nnlab.classroom.NotRight` with that line instead."""
    _report(verdict(name, answer))


def hint(name: str) -> None:
    """Print a nudge toward mystery ``name``'s fault."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    print(secret.hint if secret else _unknown(name))


_SOLUTIONS_OFF = ("Worked solutions are off in this course (your instructor's setting, "
                  "nnlab.classroom). Hints stay on: {hints}")


def worked_answer(name: str):
    """Mystery ``name``'s fault as an answer ``check`` accepts: the case's name, or a sorted
    list of names for more than one. Spoilers. Raises ValueError for an unknown mystery."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    if secret is None:
        raise ValueError(_unknown(name))
    faults = sorted(secret.faults)
    return faults[0] if len(faults) == 1 else faults


def worked_fix_source(name: str) -> str:
    """Python source of a fix ``check_fix`` accepts for mystery ``name``, such as
    ``mysteries.MYSTERIES["B"].replace(lr=0.5)`` (the mystery itself for the healthy one), in a
    namespace where ``mysteries`` is :mod:`nnlab.mysteries`. Spoilers. ValueError if unknown."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    if secret is None:
        raise ValueError(_unknown(name))
    changes = ", ".join(f"{key}={value!r}" for key, value in secret.fix.items())
    mystery = f'mysteries.MYSTERIES["{name}"]'
    return f"{mystery}.replace({changes})" if changes else mystery


def solution(name: str) -> None:
    """Print mystery ``name``'s fault(s), the explanation and a fix that works.

    Off (it says so) where worked solutions are off (:mod:`nnlab.classroom`)."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    if secret is None:
        print(_unknown(name))
        return
    if not classroom.settings().solutions:
        print(_SOLUTIONS_OFF.format(hints=f"mysteries.hint({name!r})"))
        return
    fix = (f"{fix_name(name)} = {worked_fix_source(name)}" if secret.fix
           else "No fix needed: leave it as it is.")
    print(f"Mystery {name}: {' and '.join(sorted(secret.faults))}.\n"
          f"{secret.explanation}\n{fix}")


# ---------------------------------------------------------------------------
# Checking a fix
# ---------------------------------------------------------------------------

def _changed_data(config: Experiment, fix: Experiment) -> list[str]:
    return [name for name in DATA_FIELDS
            if getattr(config, name, None) != getattr(fix, name, None)]


def _score(result, measure: str) -> float:
    """The measure a fix must improve, as the dashboard shows it (:mod:`nnlab.metrics`).

    ``"train_accuracy"``: :func:`~nnlab.metrics.training_accuracy_during` (the end
    of the training-accuracy curve); ``"val_accuracy"``:
    :func:`~nnlab.metrics.validation_accuracy` (the end of the validation curve).
    A diverged run scores what always answering the majority class scores.
    """
    history = result.history
    if history.diverged:
        counts = np.asarray(history.run.class_counts if history.run else (1, 1), dtype=float)
        return float(counts.max() / counts.sum())
    if measure == "val_accuracy":
        return metrics.validation_accuracy(history)
    return metrics.training_accuracy_during(history)


def _shown(score: float, result) -> str:
    return f"diverged, counted as {score:.2f}" if result.history.diverged else f"{score:.2f}"


def fix_verdict(name: str, fix) -> MysteryVerdict:
    """Train ``fix`` (an Experiment) and judge whether it removes mystery ``name``'s faults.

    Accepted when ``diagnose`` finds no fault in the new run (healthy) and the
    mystery's measure (training or validation accuracy) gains at least
    ``FIX_MARGIN`` over the broken run: a change that moves it less is not
    clearly better than leaving the network alone. For the healthy mystery, a
    change is accepted if it costs at most ``HEALTHY_TOLERANCE``.
    """
    config, secret = _mystery(name), _SECRETS.get(name) if isinstance(name, str) else None
    if config is None or secret is None:
        return MysteryVerdict(False, _unknown(name))
    if fix is None:
        return MysteryVerdict(None, f"Not answered yet — set {fix_name(name)} = "
                                    f"mysteries.MYSTERIES[{name!r}].replace(...) and re-run.")
    if not isinstance(fix, Experiment):
        return MysteryVerdict(False, f"{fix_name(name)} must be an Experiment, such as "
                                     f"mysteries.MYSTERIES[{name!r}].replace(lr=0.1), but got "
                                     f"{type(fix).__name__}.")
    try:
        fix.check()
    except ValueError as error:
        return MysteryVerdict(False, str(error))
    if secret.faults & {"vanishing_gradients", "exploding_gradients"} and \
            len(fix.hidden) < len(config.hidden):
        # The same rule as exercise 01.2: the task is to make this depth train.
        return MysteryVerdict(False, f"Your network has {len(fix.hidden)} hidden layers; keep "
                                     f"all {len(config.hidden)}: a shallower net hides the "
                                     "problem instead of fixing it. Fix how the gradient scales "
                                     "from layer to layer.")
    changed = _changed_data(config, fix)
    if changed:
        return MysteryVerdict(False, f"That changes the data ({', '.join(changed)}). Keep the "
                                     "data as it is and fix the network or its training; to "
                                     "rescale the inputs, use standardize=True.")
    before, after = outcome(config), outcome(fix)
    label = "validation accuracy" if secret.measure == "val_accuracy" else "training accuracy"
    score_before, score_after = _score(before, secret.measure), _score(after, secret.measure)
    if after.history.diverged:
        return MysteryVerdict(False, f"Not fixed: the run diverged at step "
                                     f"{after.history.diverged_at}.")
    if "healthy" in secret.faults:
        if fix == config:
            return MysteryVerdict(True, "Nothing to fix, and you left it alone: well done.")
        return MysteryVerdict(score_after >= score_before - HEALTHY_TOLERANCE,
                              f"This network had no fault. With your change its {label} is "
                              f"{score_after:.2f} (it was {score_before:.2f}).")
    found = [case for case in diagnose(after.history).cases if case != "healthy"]
    trend = f"{label} {_shown(score_before, before)} -> {_shown(score_after, after)}"
    remaining = [case for case in found if case in secret.faults | secret.root]
    if remaining:
        return MysteryVerdict(False, f"Not fixed yet: {' and '.join(remaining)} still "
                                     f"show{'s' if len(remaining) == 1 else ''} ({trend}). "
                                     "Look at the dashboard of the new run.")
    uncovered = [case for case in found if case in secret.uncovered]
    if uncovered:
        return MysteryVerdict(False, f"{' and '.join(sorted(secret.faults))} is gone, and fixing "
                                     f"it uncovered another fault: diagnose now finds "
                                     f"{' and '.join(uncovered)} ({trend}). Look at the dashboard "
                                     "of the new run, and fix that too.")
    if found:
        return MysteryVerdict(False, f"The fault is gone, but diagnose now finds "
                                     f"{' and '.join(found)} ({trend}). Try another remedy.")
    if not score_after >= score_before + FIX_MARGIN:
        return MysteryVerdict(False, f"The fault no longer shows, but the {label} gained less "
                                     f"than the {FIX_MARGIN:.2f} a fix must gain ({trend}). "
                                     "Try another remedy.")
    return MysteryVerdict(True, f"Fixed: {' and '.join(sorted(secret.faults))} no longer "
                                f"show{'s' if len(secret.faults) == 1 else ''} ({trend}).")


def check_fix(name: str, fix) -> None:
    """Print whether the Experiment ``fix`` removes mystery ``name``'s fault(s).

    Under a grader (:mod:`nnlab.classroom`) a fix that is not accepted, or not given,
    raises :class:`~nnlab.classroom.NotRight` with that line instead."""
    _report(fix_verdict(name, fix))


def answer_key() -> dict:
    """Each mystery's fault(s), sorted: ``{name: [case, ...]}``. Spoilers."""
    return {name: sorted(secret.faults) for name, secret in _SECRETS.items()}


HIDDEN = ("The answers are hidden, so that the saved notebook does not give them away. When you "
          "have answered every mystery, set `reveal = True` in the cell above and run it again.")


def compare_with_diagnosis(reveal: bool = False) -> None:
    """Print, for each mystery, its faults next to what ``diagnose`` finds: spoilers, so only
    with ``reveal=True``; otherwise say how to reveal them. Where worked solutions are off
    (:mod:`nnlab.classroom`) it says so instead of revealing."""
    if reveal is not True:
        print(HIDDEN)
        return
    if not classroom.settings().solutions:
        print(_SOLUTIONS_OFF.format(hints='mysteries.hint("B") ... mysteries.hint("F")'))
        return
    for name, faults in answer_key().items():
        found = diagnose(train(name)).cases
        print(f"{name}: faults {', '.join(faults):<34} diagnose: {', '.join(found)}")
    print()
    print(mystery_f_story())


def _f_line(what: str, changes: dict) -> str:
    result = outcome(MYSTERIES["F"].replace(**changes))
    history = result.history
    if history.diverged:
        return f"  {what}: diverged at step {history.diverged_at}"
    return (f"  {what}: {metrics.NAMES['training_accuracy_after']} "
            f"{metrics.training_accuracy_after(result):.2f}, {metrics.NAMES['validation_accuracy']} "
            f"{metrics.validation_accuracy(history):.2f}; diagnose: "
            f"{', '.join(diagnose(history).cases)}")


def mystery_f_story() -> str:
    """Mystery F, one fix at a time, each judged by a run (spoilers): the broken run, the
    learning rate fixed (which uncovers overfitting), diagnose's remedy for that (dropout), and
    a network too small to memorise."""
    return "\n".join(["Mystery F, one fix at a time (each line is a run):",
                      _f_line("as given (lr 0.6)", {}),
                      _f_line("lr 0.1", {"lr": 0.1}),
                      _f_line("lr 0.1 and dropout 0.5 (diagnose's remedy for overfitting)",
                              {"lr": 0.1, "dropout": 0.5}),
                      _f_line("lr 0.1 and one hidden layer of 8", _SECRETS["F"].fix)])

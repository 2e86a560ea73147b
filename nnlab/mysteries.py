"""Mystery networks for the capstone lesson: find the fault, fix it, check your answer.

``MYSTERIES`` maps a name ("A" to "F") to an :class:`~nnlab.experiments.Experiment`
that hides a fault: most have one, one has two, one has none. A learner trains
one with :func:`train`, reads its telemetry with :func:`dashboard`, names the
fault with :func:`check`, and tries a remedy with :func:`check_fix`. :func:`hint`
nudges; :func:`solution` tells all. The faults are the cases of
:mod:`nnlab.diagnosis`, so :func:`nnlab.diagnosis.diagnose` can give a second
opinion at the end.

Every mystery trains in well under a second, and the same configuration always
gives the same run, so a verdict never changes between runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics
from .diagnosis import CASE_NAMES, diagnose
from .experiments import Experiment, outcome, run

# A fix must raise the mystery's measure (training or validation accuracy) by at least
# this much: 0.05 is 15 of the 300 training examples, or 10 of the 200 validation ones,
# well above the 0.01-0.03 a change of seed moves them.
FIX_MARGIN = 0.05

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
             "Then look at the learning rate.",
        explanation="A learning rate of 6 throws most hidden units into the region where "
                    "their input is negative for every example. A dead ReLU passes back no "
                    "gradient, so they never come back: about 80% of the layer is lost.",
        fix={"lr": 0.5}),
    "C": _Secret(
        frozenset({"saturated_activations"}), frozenset({"not_learning"}),
        hint="The gradients reach every layer and nothing is dead. Look at the first "
             "activation layer's spread, and at the scale of the inputs in the description.",
        explanation="The inputs are about 300 times too large, so every tanh unit of the first "
                    "layer is pinned at -1 or +1 (the spread of its outputs is 1.00, the most "
                    "a tanh can give): the units answer the same whatever the example, pass "
                    "back no gradient, and the network stays at chance. Not learning is what "
                    "happened; saturated activations are why.",
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
        frozenset({"dead_relu", "overfitting"}), frozenset(),
        hint="There are two faults. One shows in the dead-units panel; the other shows "
             "only when you compare training with validation.",
        explanation="Two faults. A learning rate of 0.6 kills most units of the second hidden "
                    "layer (dead ReLU), and a big network (two layers of 160) trained on 60 "
                    "examples, 10% of them mislabelled, memorises them, wrong labels included: "
                    "training accuracy far above validation (overfitting). A lower learning "
                    "rate revives the units; a network too small to memorise 60 examples "
                    "(8 units) stops the overfitting.",
        fix={"lr": 0.1, "hidden": (8,)}, measure="val_accuracy"),
}


# ---------------------------------------------------------------------------
# Training and looking
# ---------------------------------------------------------------------------

def _mystery(name) -> Experiment | None:
    return MYSTERIES.get(name) if isinstance(name, str) else None


def _unknown(name) -> str:
    return (f"There is no mystery called {name!r}: choose one of "
            f"{', '.join(map(repr, MYSTERIES))}.")


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
    """Six panels of telemetry for one run, as a matplotlib Figure (see
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
        return MysteryVerdict(None, "Not answered yet — set answer = '...' (one of "
                             f"{', '.join(CASE_NAMES)}) and re-run.")
    named, unknown = _normalise(answer)
    if unknown:
        return MysteryVerdict(False, f"{', '.join(unknown)} is not one of the cases. Answer with one "
                              f"of {', '.join(CASE_NAMES)} (or a list of them, for two faults).")
    if not named:
        return MysteryVerdict(False, "The answer names no case: write one, e.g. answer = 'dead_relu'.")
    faults, allowed = secret.faults, secret.faults | secret.symptoms | secret.root
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


def check(name: str, answer) -> None:
    """Print whether ``answer`` names mystery ``name``'s fault(s), and why."""
    print(verdict(name, answer).message)


def hint(name: str) -> None:
    """Print a nudge toward mystery ``name``'s fault."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    print(secret.hint if secret else _unknown(name))


def solution(name: str) -> None:
    """Print mystery ``name``'s fault(s), the explanation and a fix that works."""
    secret = _SECRETS.get(name) if isinstance(name, str) else None
    if secret is None:
        print(_unknown(name))
        return
    changes = ", ".join(f"{key}={value!r}" for key, value in secret.fix.items())
    fix = (f"fix = mysteries.MYSTERIES[{name!r}].replace({changes})" if changes
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
        return MysteryVerdict(None, f"Not answered yet — set fix = mysteries.MYSTERIES[{name!r}]"
                                    ".replace(...) and re-run.")
    if not isinstance(fix, Experiment):
        return MysteryVerdict(False, f"fix must be an Experiment, such as "
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
    remaining = [case for case in found if case in secret.faults]
    if remaining:
        return MysteryVerdict(False, f"Not fixed yet: {' and '.join(remaining)} still "
                                     f"show{'s' if len(remaining) == 1 else ''} ({trend}). "
                                     "Look at the dashboard of the new run.")
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
    """Print whether the Experiment ``fix`` removes mystery ``name``'s fault(s)."""
    print(fix_verdict(name, fix).message)


def answer_key() -> dict:
    """Each mystery's fault(s), sorted: ``{name: [case, ...]}``. Spoilers."""
    return {name: sorted(secret.faults) for name, secret in _SECRETS.items()}


def compare_with_diagnosis() -> None:
    """Print, for each mystery, its faults next to what ``diagnose`` finds. Spoilers."""
    for name, faults in answer_key().items():
        found = diagnose(train(name)).cases
        print(f"{name}: faults {', '.join(faults):<34} diagnose: {', '.join(found)}")

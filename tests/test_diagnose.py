"""diagnose names what is wrong with a run: on the lessons' cases, on runs the lessons never
defined, and on odd Histories (empty, short, diverged) without ever raising."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nnlab
from nnlab import mysteries
from nnlab.diagnosis import CASE_NAMES, ROOT_CAUSES, SYMPTOMS, Diagnosis, Finding, diagnose
from nnlab.experiments import CASES as LESSON_CASES
from nnlab.experiments import Experiment, outcome, run

# ---------------------------------------------------------------------------
# The lessons' experiments
# ---------------------------------------------------------------------------

# (case, variant) -> the findings that count as naming the lesson's fault (any one of them).
INTENDED = {
    ("vanishing", "broken"): {"vanishing_gradients"},
    ("exploding", "broken"): {"exploding_gradients"},
    ("dead_relu", "broken"): {"dead_relu"},
    ("dropout", "broken"): {"overfitting"},
    ("batchnorm", "stuck"): {"not_learning", "vanishing_gradients"},
    ("batchnorm", "raw_inputs"): {"not_learning"},
}

# What every other variant of a case must NOT be called: the case's own fault.
BROKEN_LABELS = {
    "vanishing": {"vanishing_gradients"},
    "exploding": {"exploding_gradients", "diverged"},
    "dead_relu": {"dead_relu"},
    "dropout": {"overfitting"},
    "batchnorm": {"not_learning", "vanishing_gradients"},
}

LESSON_RUNS = [(case, variant) for case, lesson in LESSON_CASES.items()
               for variant in lesson.configs]
OTHER_RUNS = [key for key in LESSON_RUNS if key not in INTENDED]


@pytest.mark.parametrize("case, variant", sorted(INTENDED), ids=lambda key: key)
def test_names_the_lessons_broken_runs(case, variant):
    diagnosis = diagnose(run(LESSON_CASES[case].configs[variant]))
    assert INTENDED[case, variant] & set(diagnosis.cases), str(diagnosis)


@pytest.mark.parametrize("case, variant", OTHER_RUNS, ids=lambda key: key)
def test_does_not_give_a_remedied_run_the_broken_label(case, variant):
    diagnosis = diagnose(run(LESSON_CASES[case].configs[variant]))
    assert not BROKEN_LABELS[case] & set(diagnosis.cases), str(diagnosis)


@pytest.mark.parametrize("case", LESSON_CASES)
def test_the_lessons_fixed_runs_are_healthy(case):
    diagnosis = diagnose(run(LESSON_CASES[case].fixed))
    assert diagnosis.healthy, str(diagnosis)


def test_dropout_rate_one_is_not_learning():
    diagnosis = diagnose(run(LESSON_CASES["dropout"].configs["everything"]))
    assert "not_learning" in diagnosis.cases, str(diagnosis)


def test_exploding_evidence_names_layers_ratio_and_step():
    finding = diagnose(run(LESSON_CASES["exploding"].broken)).finding("exploding_gradients")
    assert finding.step == 0
    assert finding.layers and finding.layers[0] == "dense1"
    assert finding.numbers["error_growth"] >= 10
    assert f"x{finding.numbers['error_growth']:.3g}" in finding.evidence


def test_vanishing_evidence_names_starved_layers():
    finding = diagnose(run(LESSON_CASES["vanishing"].broken)).finding("vanishing_gradients")
    assert finding.layers[0] == "dense1"
    assert finding.numbers["error_ratio"] < 1e-2
    assert f"{finding.numbers['error_ratio']:.1e}" in finding.evidence


# ---------------------------------------------------------------------------
# Runs the lessons never defined, each with a fault known by construction
# ---------------------------------------------------------------------------

X = Experiment
HELD_OUT = {
    # Vanishing: deep sigmoid or tanh, or weights far too small.
    "sigmoid 5x16 spirals": (X(hidden=(16,) * 5, activation="sigmoid", init="xavier",
                               standardize=True, lr=0.1, epochs=20, seed=1),
                             {"vanishing_gradients"}),
    "tanh 8x24 tiny init moons": (X(dataset="moons", hidden=(24,) * 8, activation="tanh", init=0.05,
                                    standardize=True, lr=0.1, epochs=20, seed=2),
                                  {"vanishing_gradients"}),
    "sigmoid 7x24 circles": (X(dataset="circles", hidden=(24,) * 7, activation="sigmoid",
                               init="lecun", standardize=True, lr=0.5, epochs=20, seed=3),
                             {"vanishing_gradients"}),
    "relu 6x32 tiny init xor": (X(dataset="xor", hidden=(32,) * 6, init=0.02, standardize=True,
                                  lr=0.1, epochs=15, seed=4), {"vanishing_gradients"}),
    # Exploding: large initial weights in deep ReLU nets.
    "relu 5x32 init 1.0 moons": (X(dataset="moons", hidden=(32,) * 5, init=1.0, standardize=True,
                                   lr=0.1, epochs=10, seed=5), {"exploding_gradients"}),
    "relu 8x16 init 0.6 circles": (X(dataset="circles", hidden=(16,) * 8, init=0.6,
                                     standardize=True, lr=0.05, epochs=10, seed=6),
                                   {"exploding_gradients"}),
    "relu 4x64 init 0.5 xor": (X(dataset="xor", hidden=(64,) * 4, init=0.5, standardize=True,
                                 lr=0.1, epochs=10, seed=7), {"exploding_gradients"}),
    "relu 7x32 init 0.5 spirals": (X(hidden=(32,) * 7, init=0.5, standardize=True, lr=0.03,
                                     epochs=20, seed=44), {"exploding_gradients"}),
    # Dead ReLU: too large a learning rate, or a negative initial bias.
    "relu 64-64 bias -3 circles": (X(dataset="circles", hidden=(64, 64), standardize=True,
                                     bias=-3.0, lr=0.1, epochs=20, seed=9), {"dead_relu"}),
    "relu 128 lr 6 xor": (X(dataset="xor", hidden=(128,), standardize=True, lr=6.0, epochs=20,
                            seed=10), {"dead_relu"}),
    "relu 96 lr 6 spirals": (X(hidden=(96,), standardize=True, lr=6.0, epochs=20, seed=31),
                             {"dead_relu"}),
    "relu 64 lr 7 circles": (X(dataset="circles", hidden=(64,), standardize=True, lr=7.0,
                               epochs=20, seed=32), {"dead_relu"}),
    "relu 3x32 bias -2 xor": (X(dataset="xor", hidden=(32,) * 3, bias=-2.0, standardize=True,
                                lr=0.1, epochs=20, seed=33), {"dead_relu"}),
    # Overfitting: a big network, 32-40 noisy training examples, many epochs.
    "128-128 on 32 moons": (X(dataset="moons", n=160, noise=0.4, val_fraction=0.8,
                              hidden=(128, 128), standardize=True, lr=0.1, epochs=150,
                              batch_size=8, seed=11), {"overfitting"}),
    "128-128 on 32 circles": (X(dataset="circles", n=160, noise=0.25, val_fraction=0.8,
                                hidden=(128, 128), standardize=True, lr=0.1, epochs=150,
                                batch_size=8, seed=12), {"overfitting"}),
    "128-128 on 40 spirals": (X(n=200, noise=0.4, val_fraction=0.8, hidden=(128, 128),
                                standardize=True, lr=0.1, epochs=150, batch_size=8, seed=13),
                              {"overfitting"}),
    "128-128 on 30 xor": (X(dataset="xor", n=200, noise=0.3, val_fraction=0.85,
                            hidden=(128, 128), standardize=True, lr=0.1, epochs=150,
                            batch_size=8, seed=30), {"overfitting"}),
    # Not learning: raw inputs on large scales, or a learning rate far too small.
    "tanh raw inputs x300/0.003 moons": (X(dataset="moons", hidden=(32, 32), activation="tanh",
                                           init="xavier", input_scales=(300.0, 0.003), lr=0.1,
                                           epochs=20, seed=14), {"saturated_activations"}),
    "tanh raw inputs x500 circles": (X(dataset="circles", hidden=(32, 32), activation="tanh",
                                       init="xavier", input_scales=(500.0, 500.0), lr=0.1,
                                       epochs=20, seed=25), {"saturated_activations"}),
    "relu lr 1e-4 circles": (X(dataset="circles", hidden=(32, 32), standardize=True, lr=1e-4,
                               epochs=20, seed=15), {"not_learning"}),
    "sigmoid lr 0.005 moons": (X(dataset="moons", hidden=(32, 32), activation="sigmoid",
                                 init="xavier", standardize=True, lr=0.005, epochs=20, seed=16),
                               {"not_learning"}),
    # Diverged: a shallow net and an absurd learning rate (nothing deep to explode).
    "tanh lr 50 raw x1000 moons": (X(dataset="moons", hidden=(32,), activation="tanh",
                                     init="xavier", input_scales=(1000.0, 1000.0), lr=50.0,
                                     epochs=10, seed=17), {"diverged"}),
    "relu lr 30 circles": (X(dataset="circles", hidden=(64, 64), standardize=True, lr=30.0,
                             epochs=10, seed=27), {"diverged"}),
    "relu lr 40 moons": (X(dataset="moons", hidden=(16, 16), standardize=True, lr=40.0,
                           epochs=10, seed=34), {"diverged"}),
    # Two faults: units killed by a large step, and a big net memorising few examples.
    "lr 1 on 40 moons": (X(dataset="moons", n=200, noise=0.35, val_fraction=0.8,
                           hidden=(128, 128), standardize=True, lr=1.0, epochs=100,
                           batch_size=8, seed=40), {"dead_relu", "overfitting"}),
    "lr 0.6 on 50 xor": (X(dataset="xor", n=250, noise=0.35, val_fraction=0.8,
                           hidden=(160, 160), standardize=True, lr=0.6, epochs=80,
                           batch_size=10, seed=124), {"dead_relu", "overfitting"}),
    # Healthy.
    "relu 32-32 moons": (X(dataset="moons", hidden=(32, 32), standardize=True, lr=0.1, epochs=20,
                           seed=18), {"healthy"}),
    "tanh 3x16 circles": (X(dataset="circles", hidden=(16,) * 3, activation="tanh",
                            init="xavier", standardize=True, lr=0.3, epochs=20, seed=19),
                          {"healthy"}),
    "leaky relu 64 xor": (X(dataset="xor", hidden=(64,), activation="leaky_relu",
                            standardize=True, lr=0.2, epochs=20, seed=20), {"healthy"}),
    "batchnorm 4x32 spirals": (X(hidden=(32,) * 4, batchnorm=True, standardize=True, lr=0.1,
                                 epochs=20, seed=21), {"healthy"}),
    "relu 32-32 moons with validation": (X(dataset="moons", n=400, noise=0.2, val_fraction=0.3,
                                           hidden=(32, 32), standardize=True, lr=0.1, epochs=30,
                                           seed=22), {"healthy"}),
    "sigmoid 16 moons": (X(dataset="moons", hidden=(16,), activation="sigmoid", init="xavier",
                           standardize=True, lr=1.0, epochs=30, seed=23), {"healthy"}),
    "relu 5x48 spirals": (X(hidden=(48,) * 5, standardize=True, lr=0.05, epochs=30, seed=28),
                          {"healthy"}),
    "tanh 64-64 circles with validation": (X(dataset="circles", n=400, noise=0.1,
                                             val_fraction=0.25, hidden=(64, 64),
                                             activation="tanh", init="xavier", standardize=True,
                                             lr=0.3, epochs=30, seed=29), {"healthy"}),
    "relu 5x32 init 1.0 with batchnorm": (X(dataset="moons", hidden=(32,) * 5, init=1.0,
                                            batchnorm=True, standardize=True, lr=0.1,
                                            epochs=10, seed=5), {"healthy"}),
}

# Findings that may come along with a fault because the fault causes them.
CONSEQUENCES = {
    "unscaled_inputs": {"saturated_activations", "not_learning", "diverged", "dead_relu"},
    "vanishing_gradients": {"not_learning", "dead_relu"},
    "exploding_gradients": {"diverged", "dead_relu", "not_learning"},
    "dead_relu": {"not_learning", "diverged"},
    "saturated_activations": {"not_learning"},
    "diverged": {"exploding_gradients", "dead_relu"},
    "not_learning": set(),
    "overfitting": set(),
    "healthy": set(),
}


def is_right(diagnosis: Diagnosis, faults: set) -> bool:
    """Every known fault is named, and nothing else but what those faults cause."""
    found = set(diagnosis.cases)
    allowed = faults.union(*(CONSEQUENCES[fault] for fault in faults))
    return faults <= found <= allowed


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_labels_are_true(name):
    """The known faults, checked without diagnose: the test set itself must be honest."""
    config, faults = HELD_OUT[name]
    result = outcome(config)
    if "diverged" in faults or "exploding_gradients" in faults:
        assert result.history.diverged or result.train_accuracy < 0.9
    if "healthy" in faults:
        assert not result.history.diverged and result.train_accuracy >= 0.85
        if config.val_fraction:
            assert result.train_accuracy - result.val_accuracy < 0.1
    if "dead_relu" in faults:
        assert result.dead_units.max() >= 0.5
    if "overfitting" in faults:
        val_loss = result.history.val_loss
        assert (result.train_accuracy - result.val_accuracy >= 0.1
                or np.mean(val_loss[-3:]) >= 1.5 * min(val_loss))
    if faults & {"not_learning", "vanishing_gradients", "saturated_activations"}:
        assert result.train_accuracy <= 0.75


def test_right_on_at_least_90_percent_of_held_out_runs():
    wrong = {}
    for name, (config, faults) in HELD_OUT.items():
        diagnosis = diagnose(run(config))
        if not is_right(diagnosis, faults):
            wrong[name] = (sorted(faults), diagnosis.cases)
    assert len(HELD_OUT) >= 20
    assert len(wrong) <= 0.1 * len(HELD_OUT), wrong


def test_never_calls_a_diverged_run_healthy():
    configs = [config for config, _ in HELD_OUT.values()]
    configs += [config for lesson in LESSON_CASES.values() for config in lesson.configs.values()]
    diverged = [run(config) for config in configs if run(config).diverged]
    assert len(diverged) >= 5
    for history in diverged:
        diagnosis = diagnose(history)
        assert "diverged" in diagnosis.cases and "healthy" not in diagnosis.cases


# ---------------------------------------------------------------------------
# Odd Histories: diagnose never raises
# ---------------------------------------------------------------------------

def _tiny_data(seed=0):
    return nnlab.datasets.moons(n=40, seed=seed)


def _odd_histories():
    X_data, y = _tiny_data()
    empty = nnlab.History()
    one_step = nnlab.train(nnlab.mlp([2, 4, 2], seed=0), X_data, y, epochs=1, batch_size=40)
    short = nnlab.train(nnlab.mlp([2, 8, 8, 2], seed=0), X_data, y, epochs=2, batch_size=16)
    no_telemetry = nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X_data, y, epochs=4, telemetry=False)
    blown = nnlab.train(nnlab.mlp([2, 8, 8, 2], seed=0), X_data * 1e4, y, epochs=3, lr=1e3)
    regression = nnlab.train(nnlab.mlp([2, 8, 1], seed=0), X_data, X_data[:, :1], epochs=4)
    at_step_0 = nnlab.History(diverged_at=0, message="diverged at once")
    nan_loss = nnlab.History(loss=[0.7, float("nan")], step_loss=np.array([0.7, np.nan]))
    ragged = nnlab.History(loss=[0.7, 0.6, 0.5, 0.4], accuracy=[0.5], val_loss=[1.0],
                           step_loss=np.ones(3), grad_norms=np.ones((3, 4)),
                           bias_grad_norms=np.ones((2, 1)), update_ratios=np.zeros((3, 0)),
                           dead_fraction=np.full((3, 2), np.nan), layer_names=["x"],
                           steps_per_epoch=0, n_classes=2)
    return {"empty": empty, "one step": one_step, "short": short, "no telemetry": no_telemetry,
            "blown up": blown, "regression": regression, "diverged at step 0": at_step_0,
            "nan loss": nan_loss, "ragged": ragged}


ODD = _odd_histories()


@pytest.mark.parametrize("name", ODD)
def test_never_raises_and_renders(name):
    history = ODD[name]
    diagnosis = diagnose(history)
    assert isinstance(diagnosis, Diagnosis)
    assert all(finding.case in CASE_NAMES for finding in diagnosis.findings)
    assert str(diagnosis) and repr(diagnosis)
    assert diagnosis._repr_html_().startswith("<div>")
    if history.diverged or name == "nan loss":
        assert "diverged" in diagnosis.cases
    ax = diagnosis.plot()
    assert ax.get_title().startswith("Diagnosis")


def test_the_empty_history_has_nothing_to_diagnose():
    diagnosis = diagnose(nnlab.History())
    assert diagnosis.findings == []
    assert "nothing to diagnose" in str(diagnosis).lower()


def test_short_runs_are_inconclusive_not_healthy():
    diagnosis = diagnose(ODD["one step"])
    assert diagnosis.cases == ["inconclusive"]
    assert diagnosis.findings[0].evidence.startswith("inconclusive: too few steps")
    assert "too few steps" in str(diagnosis).lower()


def test_something_that_is_not_a_history_gets_a_note():
    diagnosis = diagnose("history")
    assert diagnosis.findings == [] and "History" in diagnosis.notes[0]


def test_healthy_runs_raise_no_check_errors():
    for config, faults in list(HELD_OUT.values())[:12]:
        assert not any(note.startswith("Could not") for note in diagnose(run(config)).notes)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

LESSON_REMEDY_WORDS = {
    "vanishing_gradients": ["ReLU"],
    "exploding_gradients": ["batch normalization", "learning rate"],
    "dead_relu": ["learning rate"],
    "saturated_activations": ["Normalize the inputs", "batch normalization"],
    "overfitting": ["dropout"],
    "not_learning": ["batch normalization"],
}


@pytest.mark.parametrize("case, variant", sorted(INTENDED), ids=lambda key: key)
def test_findings_carry_evidence_confidence_remedies_and_why(case, variant):
    diagnosis = diagnose(run(LESSON_CASES[case].configs[variant]))
    for finding in diagnosis.findings:
        assert isinstance(finding, Finding)
        assert 0.5 <= finding.confidence <= 1.0
        assert finding.evidence and any(ch.isdigit() for ch in finding.evidence)
        assert finding.why and "\n" not in finding.why
        if finding.case in SYMPTOMS and set(diagnosis.cases) & set(ROOT_CAUSES):
            assert not finding.remedies and "symptom of" in finding.why
            continue
        remedies = " ".join(finding.remedies)
        if "unscaled_inputs" in diagnosis.cases:     # its remedy supersedes the others'
            remedies += " " + " ".join(diagnosis.finding("unscaled_inputs").remedies)
        for word in LESSON_REMEDY_WORDS.get(finding.case, []):
            assert word in remedies, (finding.case, remedies)
        assert finding.case in str(diagnosis) and finding.case in diagnosis._repr_html_()


def test_plot_marks_the_evidence_on_the_gradient_plot():
    diagnosis = diagnose(run(LESSON_CASES["vanishing"].broken))
    ax = diagnosis.plot()
    assert ax.get_yscale() == "log"
    assert any(text.get_text().startswith("dense1") for text in ax.texts)
    assert "vanishing_gradients: first/last hidden-layer error" in ax.get_title()


def test_importing_diagnosis_does_not_import_matplotlib():
    code = ("import sys, nnlab.diagnosis, nnlab.mysteries; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_whole_training_set_dead_units_with_model_and_data():
    config = LESSON_CASES["dead_relu"].broken
    result = outcome(config)
    (X_train, y_train), _ = config.data()
    diagnosis = diagnose(result.history, model=result.model, data=(X_train, y_train))
    finding = diagnosis.finding("dead_relu")
    assert "whole training set" in finding.evidence
    assert finding.numbers["worst_dead_fraction"] == pytest.approx(result.dead_units.max())


def test_unscaled_inputs_are_named_as_the_cause():
    config = LESSON_CASES["batchnorm"].configs["raw_inputs"]
    diagnosis = diagnose(run(config))
    assert diagnosis.cases == ["unscaled_inputs", "saturated_activations", "not_learning"]
    finding = diagnosis.finding("unscaled_inputs")
    assert "not standardized" in finding.evidence
    assert finding.remedies[0].startswith("Normalize the inputs")
    assert not diagnosis.finding("not_learning").remedies


# ---------------------------------------------------------------------------
# The capstone's mysteries
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", mysteries.MYSTERIES)
def test_diagnose_finds_each_mysterys_faults(name):
    # A fault that a mystery hides behind its first (F's overfitting) may show already.
    faults = set(mysteries.answer_key()[name])
    root = set(mysteries._SECRETS[name].root)      # the cause behind the fault, found too
    uncovered = mysteries._SECRETS[name].uncovered
    found = diagnose(mysteries.train(name))
    assert is_right(found, faults | root) or is_right(found, faults | root | uncovered)


@pytest.mark.parametrize("name", mysteries.MYSTERIES)
def test_the_right_answer_and_the_documented_fix_are_accepted(name):
    secret = mysteries._SECRETS[name]
    assert mysteries.verdict(name, sorted(secret.faults)).correct is True
    fix = mysteries.MYSTERIES[name].replace(**secret.fix)
    assert mysteries.fix_verdict(name, fix).correct is True, mysteries.fix_verdict(name, fix)


def test_an_unanswered_exercise_does_not_raise(capsys):
    mysteries.check("B", None)
    mysteries.check_fix("B", None)
    out = capsys.readouterr().out
    assert out.count("Not answered yet") == 2


def test_wrong_partial_and_aliased_answers():
    assert mysteries.verdict("B", "dead").correct is True
    assert mysteries.verdict("B", "vanishing").correct is False
    assert mysteries.verdict("B", "nonsense").correct is False
    assert mysteries.verdict("F", "overfitting").correct is False
    assert "does not show in this run yet" in mysteries.verdict("F", "overfitting").message
    assert "not why" in mysteries.verdict("E", "diverged").message
    assert mysteries.verdict("D", "none").correct is True
    assert mysteries.verdict("Z", "healthy").correct is False


def test_a_fix_may_not_change_the_data():
    changed = mysteries.MYSTERIES["B"].replace(lr=0.5, seed=3)
    assert "changes the data" in mysteries.fix_verdict("B", changed).message
    assert mysteries.fix_verdict("B", "lr=0.5").correct is False

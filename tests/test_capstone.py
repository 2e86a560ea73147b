"""Lesson 06 (the capstone): its text, exercises, checks and mysteries agree with each other
and with ``diagnose``. Each claim the lesson makes is measured here on the run it is about."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nnlab import metrics, mysteries
from nnlab.diagnosis import ROOT_CAUSES, SYMPTOMS, diagnose
from nnlab.experiments import run

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "06_capstone_debugging.ipynb"
TEXT = "\n".join("".join(cell["source"]) for cell in json.loads(LESSON.read_text())["cells"])
BROKEN = [name for name, faults in mysteries.answer_key().items() if faults != ["healthy"]]


def gain(name, **fix):
    """How much mystery ``name``'s measure moves with ``fix`` (what check_fix compares)."""
    secret = mysteries._SECRETS[name]
    before = mysteries._score(mysteries.outcome(mysteries.MYSTERIES[name]), secret.measure)
    after = mysteries.outcome(mysteries.MYSTERIES[name].replace(**fix))
    return mysteries._score(after, secret.measure) - before


@pytest.mark.parametrize("name", mysteries.MYSTERIES)
def test_every_answer_is_a_cause_not_a_symptom(name):
    faults = set(mysteries.answer_key()[name])
    assert not faults & set(SYMPTOMS), f"mystery {name}'s answer {faults} names a symptom"
    assert faults == {"healthy"} or faults <= set(ROOT_CAUSES) | {"overfitting"}


@pytest.mark.parametrize("name", mysteries.MYSTERIES)
def test_diagnose_finds_exactly_the_answer_and_its_symptoms(name):
    secret = mysteries._SECRETS[name]
    found = set(diagnose(mysteries.train(name)).cases)
    assert secret.faults <= found <= (secret.faults | secret.symptoms | secret.root
                                      | secret.uncovered)


def test_mystery_a_error_shrinks_by_a_factor_of_about_4_5_per_layer():
    """The text: "by a factor of about 4.5 per layer"; the answer: "a factor of about 4.5"
    and "about 1e-4"; the printed cell shows the same numbers from nnlab.metrics."""
    history = mysteries.train("A")
    growth = metrics.error_growth(history)
    assert 5e-5 <= growth <= 2.5e-4
    factor = 1 / growth ** (1 / 6)
    assert 4.0 <= factor <= 5.0
    assert "factor of about 4.5 per layer" in TEXT
    assert "factor of about 4.5" in mysteries._SECRETS["A"].explanation
    assert "one power of ten per layer" not in TEXT
    per_layer = growth ** (1 / 6)
    assert 0.6 <= -math.log10(per_layer) <= 0.7
    assert diagnose(history).finding("vanishing_gradients").numbers["per_layer_factor"] == \
        pytest.approx(per_layer, rel=0.3)


@pytest.mark.parametrize("name", BROKEN)
def test_the_official_fix_is_accepted_and_gains_the_margin(name):
    secret = mysteries._SECRETS[name]
    fix = mysteries.MYSTERIES[name].replace(**secret.fix)
    assert mysteries.fix_verdict(name, fix).correct is True
    assert diagnose(run(fix)).healthy
    assert gain(name, **secret.fix) >= mysteries.FIX_MARGIN


def test_mystery_f_official_fix_is_clearly_better_than_the_rejected_ones():
    official = gain("F", lr=0.1, hidden=(8,))
    for rejected in ({"lr": 0.1}, {"dropout": 0.5}, {"lr": 0.1, "dropout": 0.5}):
        verdict = mysteries.fix_verdict("F", mysteries.MYSTERIES["F"].replace(**rejected))
        assert verdict.correct is False, (rejected, verdict)
        moved = gain("F", **rejected)
        assert math.isnan(moved) or moved <= official - mysteries.FIX_MARGIN, (rejected, moved)
    # Exercise 3: the learning rate alone uncovers overfitting; dropout alone diverges.
    uncovered = mysteries.fix_verdict("F", mysteries.MYSTERIES["F"].replace(lr=0.1))
    assert "uncovered another fault" in uncovered.message and "overfitting" in uncovered.message
    assert diagnose(run(mysteries.MYSTERIES["F"].replace(lr=0.1))).cases == ["overfitting"]
    assert run(mysteries.MYSTERIES["F"].replace(dropout=0.5)).diverged
    assert "60 examples of the circles data, with a validation set of 240" in TEXT
    assert "60 training examples and 240 for validation" in mysteries.describe("F")


def test_exercise_1_leaky_relu_on_b_is_rejected_and_diagnose_says_why():
    leaky = mysteries.MYSTERIES["B"].replace(activation="leaky_relu")
    verdict = mysteries.fix_verdict("B", leaky)
    assert verdict.correct is False and "gained less than" in verdict.message
    assert gain("B", activation="leaky_relu") < mysteries.FIX_MARGIN
    assert gain("B", **mysteries._SECRETS["B"].fix) >= gain("B", activation="leaky_relu") + 0.2
    diagnosis = diagnose(run(leaky))
    assert diagnosis.cases == ["healthy"] and diagnosis.findings[0].confidence < 0.65
    assert any("LeakyReLU" in r for r in diagnose(mysteries.train("B")).remedies)
    assert "it is rejected, because the training accuracy does not improve" in TEXT


def test_exercise_2_e_accepts_two_remedies_and_rejects_clipping():
    E = mysteries.MYSTERIES["E"]
    accepted = {key: mysteries.fix_verdict("E", E.replace(**{key: value})).correct
                for key, value in (("batchnorm", True), ("lr", 1e-3), ("clip_norm", 1.0))}
    assert accepted == {"batchnorm": True, "lr": True, "clip_norm": False}
    finding = diagnose(run(E.replace(clip_norm=1.0))).finding("exploding_gradients")
    assert "clipping hides the explosion" in finding.evidence
    assert "accepts two of them" in TEXT


def test_the_lesson_names_where_the_thresholds_live():
    assert "nnlab/diagnosis/rules.py" in TEXT and "nnlab/diagnosis.py" not in TEXT


@pytest.mark.parametrize("name", ["A", "F"])
def test_the_dashboard_draws_without_warnings(name, recwarn):
    figure = mysteries.dashboard(mysteries.train(name), title=f"Mystery {name}")
    assert len(figure.axes) == 8
    assert not [w for w in recwarn if "legend" in str(w.message)]

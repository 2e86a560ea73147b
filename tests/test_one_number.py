"""One number, one value: each place that shows a quantity shows the same value for the same run.

For each learner-facing quantity (nnlab.metrics), the lab's status line, the
lab's figure, the lesson's printed cell (its saved output, from `make notebooks`),
the exercise's feedback and ``diagnose`` are compared with the metric on the
same run.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nnlab import diagnose, exercises, experiments, labs, metrics
from nnlab.experiments import CASES

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def printed(stem: str) -> str:
    """Everything a lesson's code cells printed, as saved."""
    notebook = json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text(encoding="utf-8"))
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                texts.append("".join(output["text"]))
    return "".join(texts)


def outcome(case, variant="broken", **changes):
    return experiments.outcome(CASES[case].configs[variant].replace(**changes))


def lab_at(name, preset):
    lab = getattr(labs, name)()
    lab.preset.value = preset
    return lab


def test_error_growth_is_one_number_in_lab_figure_lesson_exercise_and_diagnose():
    broken = outcome("exploding")
    growth = metrics.error_growth(broken)
    shown = f"x{growth:.3g}"
    lab = lab_at("exploding", "broken")
    assert f"error growth across the hidden layers {shown}" in lab.status_text()
    plotted = lab.figure.current.gradient.get_ydata()
    assert plotted[0] / plotted[-2] == pytest.approx(growth)
    assert f"broken    error growth across the hidden layers {shown}" in printed("02_exploding_gradients")
    assert shown in exercises.verdict("02.1", 3.2).reason
    finding = diagnose(broken.history).finding("exploding_gradients")
    assert finding is not None and finding.numbers["error_growth"] == pytest.approx(growth)


def test_gradient_ratio_is_one_number_in_lab_figure_lesson_and_exercise():
    broken = outcome("vanishing")
    text = metrics.gradient_ratio_text(broken)
    lab = lab_at("vanishing", "broken")
    assert text in lab.status_text()
    plotted = lab.figure.current.gradient.get_ydata()
    assert plotted[0] / plotted[-1] == pytest.approx(metrics.gradient_ratio(broken))
    assert f"sigmoid + Xavier  {text}" in printed("01_vanishing_gradients")
    assert f"{metrics.gradient_ratio(broken):.1e}" in exercises.verdict("01.1", 2.4e-4).reason


@pytest.mark.parametrize("stem,case,lab_name", [("01_vanishing_gradients", "vanishing", "vanishing"),
                                                 ("03_dead_relu", "dead_relu", "dead_relu")])
def test_training_accuracy_during_and_after_are_named_and_agree(stem, case, lab_name):
    broken = outcome(case)
    during = metrics.training_accuracy_during(broken)
    after = metrics.training_accuracy_after(broken)
    text = printed(stem)
    assert f"training accuracy during training {during:.2f}, after training {after:.2f}" in text
    assert not re.search(r"training accuracy \d", text), "a training accuracy without its name"
    assert f"training accuracy during training {during:.2f}" in lab_at(lab_name, "broken").status_text()


def test_the_generalization_gap_is_one_number_in_lab_lesson_and_exercise():
    for preset, rate in (("broken", 0.0), ("fixed", 0.5), ("everything", 1.0)):
        result = outcome("dropout", dropout=rate)
        text = metrics.gap_text(result)
        assert text in lab_at("dropout", preset).status_text()
        assert f"rate {rate:.1f}: {text}" in printed("04_dropout")
    for line in printed("04_dropout").splitlines():
        match = re.search(r"gap ([+-][\d.]+) = .* during training ([\d.]+) − validation accuracy ([\d.]+)", line)
        if match:
            gap, during, val = map(float, match.groups())
            assert gap == pytest.approx(during - val, abs=0.011), line


def test_the_dead_fraction_is_one_number_in_lab_figure_lesson_and_exercise():
    broken = outcome("dead_relu")
    text = metrics.dead_fraction_text(broken)
    lab = lab_at("dead_relu", "broken")
    assert text in lab.status_text()
    assert lab.figure.current.lines[2][0].get_ydata()[-1] == pytest.approx(metrics.dead_fraction(broken))
    assert text in printed("03_dead_relu")
    assert text in exercises.verdict("03.1", "at least half").reason


def test_epochs_to_a_target_is_one_number_in_lab_and_lesson():
    for preset in ("broken", "fixed"):
        result = outcome("batchnorm", preset)
        epochs = metrics.epochs_to_accuracy_text(result, 0.9)
        status = lab_at("batchnorm", preset).status_text()
        assert f"epochs to 90% training accuracy during training: {epochs} " in status
        assert f"{result.config.describe()}: {epochs} epochs to 90% training accuracy" in printed(
            "05_batch_normalization")


def test_the_lessons_printed_cells_call_metrics_not_their_own_arithmetic():
    for stem in ("00_backpropagation", "01_vanishing_gradients", "02_exploding_gradients",
                 "03_dead_relu", "04_dropout", "05_batch_normalization"):
        source = (NOTEBOOKS / f"{stem}.ipynb").read_text(encoding="utf-8")
        for own in ("first_last_ratio", ".train_accuracy", "error[0] / error", "generalization_gap(",
                    "hidden_dead_fraction", "epochs_to_accuracy("):
            assert own not in source, f"{stem} computes {own} itself; call nnlab.metrics"
    assert np.isfinite(metrics.error_growth(outcome("exploding")))

"""Lesson 05's claims (batch normalization), each measured on the runs the lesson shows, over
several seeds; and the lesson's words checked against the numbers it prints."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nnlab import experiments, metrics
from nnlab.exercises import lesson05
from nnlab.experiments import CASES

from test_claims import holds_across_seeds

CASE = CASES["batchnorm"]
TARGET = 0.9
LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "05_batch_normalization.ipynb"
CELLS = json.loads(LESSON.read_text(encoding="utf-8"))["cells"]
MARKDOWN = "\n".join("".join(c["source"]) for c in CELLS if c["cell_type"] == "markdown")
PRINTED = "".join("".join(o["text"]) for c in CELLS for o in c.get("outputs", [])
                  if o["output_type"] == "stream")


def epochs(result):
    return metrics.epochs_to_accuracy(result, TARGET)


# --- raw inputs: saturation ---------------------------------------------------

def test_raw_inputs_saturate_half_the_first_layer_at_init_and_standardized_none():
    def claim(raw, standardized):
        saturated = metrics.tanh_saturated_share(experiments.first_activation_at_init(raw.config))
        scaled = metrics.tanh_saturated_share(experiments.first_activation_at_init(standardized.config))
        return saturated >= 0.45 and scaled <= 0.02
    holds_across_seeds(claim, CASE.configs["raw_inputs"], CASE.configs["standardized"])
    raw = experiments.first_activation_at_init(CASE.configs["raw_inputs"])
    assert f"{metrics.tanh_saturated_share(raw):.0%}" == "53%"
    assert "53% of the outputs are beyond" in MARKDOWN and "53% of its first-layer outputs" in MARKDOWN


def test_batchnorm_takes_the_raw_first_layer_out_of_saturation_but_does_not_train_it():
    """Exercise 05.4's explanation: BN undoes the saturation, yet the net stays below the 0.85
    target that the standardized one passes (0.56 to 0.84 over six seeds)."""
    def claim(raw):
        with_bn = raw.config.replace(batchnorm=True)
        saturated = metrics.tanh_saturated_share(experiments.first_activation_at_init(with_bn))
        return saturated <= 0.02 and experiments.outcome(with_bn).train_accuracy < 0.85
    holds_across_seeds(claim, CASE.configs["raw_inputs"])


def test_the_saturated_tanh_slope_is_below_2_percent():
    assert 1 - metrics.SATURATION_LEVEL ** 2 < 0.02 and "below 0.02" in MARKDOWN


# --- batch norm against the learning rate (Ioffe & Szegedy 2015) -------------

@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_at_high_rates_the_plain_net_fails_where_batchnorm_trains(rate):
    def claim(plain, with_bn):
        return epochs(plain) is None and epochs(with_bn) is not None and epochs(with_bn) <= 12
    holds_across_seeds(claim, CASE.broken.replace(lr=rate), CASE.fixed.replace(lr=rate))


def test_at_rate_2_the_plain_net_diverges():
    holds_across_seeds(lambda plain: plain.history.diverged, CASE.broken.replace(lr=2.0))


def test_at_rate_0_2_the_plain_net_is_fast_too():
    holds_across_seeds(lambda plain: epochs(plain) is not None and epochs(plain) <= 10,
                       CASE.broken.replace(lr=0.2))


def test_the_sweep_printed_is_the_sweep_measured_and_the_text_quotes_it():
    sweep = experiments.learning_rate_sweep(CASE.broken)
    assert sweep[0.02] == ("12", "4") and sweep[0.2] == ("5", "4")
    assert sweep[1.0] == ("never in 40 epochs", "4") and sweep[2.0][1] == "8"
    assert sweep[2.0][0].startswith("never (the run diverged")
    for rate, (without, with_bn) in sweep.items():
        assert re.search(rf"lr {rate:g} +without batch norm: {re.escape(without)} +with: "
                         rf"{with_bn}\n", PRINTED)
    assert "in 4 epochs at 1.0 and in 8 at 2.0" in MARKDOWN and "(12 against 4)" in MARKDOWN


def test_batchnorm_brakes_itself_the_update_ratio_falls_while_the_plain_net_dies():
    def claim(plain, with_bn):
        ratios = metrics.update_ratio_by_epoch(with_bn, layer=0)
        return (ratios[0] >= 0.015 and ratios[-1] <= ratios[0] / 2
                and (plain.history.diverged or metrics.dead_fraction(plain) >= 0.5))
    holds_across_seeds(claim, CASE.broken.replace(lr=1.0), CASE.fixed.replace(lr=1.0))
    plain, with_bn = (experiments.outcome(CASE.broken.replace(lr=1.0, batchnorm=bn))
                      for bn in (False, True))
    ratios = metrics.update_ratio_by_epoch(with_bn, layer=0)
    assert f"from {ratios[0]:.2g} in the first epoch to {ratios[-1]:.2g} in the last" in MARKDOWN
    assert f"{metrics.dead_fraction(plain):.0%} of its ReLU units die" in MARKDOWN


def test_the_gradient_shrinks_by_the_factor_the_weights_grow():
    """The derivation L(aW) = L(W) => grad at aW = grad at W / a, measured."""
    for scale in (2.0, 10.0, 100.0):     # (with much smaller weights eps starts to count)
        assert lesson05.measured_gradient_factor(scale) == pytest.approx(1 / scale, rel=1e-3)


# --- training versus evaluation; the batch size ------------------------------

def test_one_example_depends_on_its_batch_in_training_but_not_in_evaluation():
    def claim(result):
        scores = experiments.one_example_scores(result)
        return (np.abs(scores["training, batch A"] - scores["training, batch B"]).max() > 0.1
                and np.allclose(scores["evaluation, alone"], scores["evaluation, in batch A"]))
    holds_across_seeds(claim, CASE.fixed)
    assert "(1.68 against 2.52 for the first class)" in MARKDOWN
    assert "[ 1.677 -0.947]" in PRINTED and "[ 2.517 -2.295]" in PRINTED


def test_batches_of_4_cripple_batchnorm_but_not_the_plain_net():
    def claim(result):
        runs = experiments.batch_size_runs(result.config)
        during = metrics.training_accuracy_during
        return (during(runs[4, True]) <= 0.65 and metrics.training_accuracy_after(runs[4, True]) <= 0.8
                and during(runs[4, False]) >= 0.95 and during(runs[32, True]) >= 0.9)
    holds_across_seeds(claim, CASE.fixed)
    assert "batches of 4, the network with batch normalization ends at 0.56" in MARKDOWN
    assert "with batch norm: training accuracy during training 0.56, after 0.68" in PRINTED


def test_the_stuck_net_numbers_in_the_text_are_the_printed_ones():
    unstuck = experiments.outcome(CASE.configs["unstuck"])
    assert f"after {unstuck.train_accuracy:.2f}" in PRINTED and "0.99 after training" in MARKDOWN
    raw = experiments.outcome(CASE.configs["raw_inputs"])
    assert f"{raw.train_accuracy:.2f}" == "0.55" and "ends at 0.55" in MARKDOWN


def test_the_lesson_cites_both_papers_and_says_the_explanation_is_disputed():
    assert "Ioffe & Szegedy" in MARKDOWN and "Santurkar et al." in MARKDOWN
    assert "disputed" in MARKDOWN and "at most half the epochs" not in MARKDOWN


def test_the_lab_cell_says_the_saved_figure_is_a_picture():
    index = next(i for i, c in enumerate(CELLS) if "".join(c["source"]).strip()
                 == "from nnlab import labs\nlabs.batchnorm()")
    above = "".join(CELLS[index - 1]["source"])
    assert "picture saved with the notebook" in above and "run the cell" in above

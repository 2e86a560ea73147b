"""Every claim lesson 04 (dropout) makes, measured on the runs it shows.

Each claim must hold for the configuration's own seed and for at least 4 of 5 other
seeds: the numbers are not cherry-picked. The lesson quotes seed 0's numbers.
"""

import math

import numpy as np
import pytest

from nnlab import experiments, labs, metrics, panels, plots, studies
from nnlab.experiments import CASES

OTHER_SEEDS = (1, 2, 3, 4, 5)
CASE = CASES["dropout"]
CLEARLY_POSITIVE_GAP = 0.1


def holds_across_seeds(claim, *configs):
    """``claim(*configs_at_seed)`` for the default seed and for at least 4 of 5 others."""
    assert claim(*configs), "the claim fails for the lesson's own seed"
    passed = [seed for seed in OTHER_SEEDS if claim(*[c.replace(seed=seed) for c in configs])]
    assert len(passed) >= 4, f"the claim holds only for seeds {passed} of {OTHER_SEEDS}"


def val(config):
    return metrics.validation_accuracy(experiments.outcome(config))


def gap(config):
    return metrics.generalization_gap(experiments.outcome(config))


# --- what you saw ------------------------------------------------------------

def test_no_dropout_overfits_and_half_dropout_at_least_halves_the_gap():
    holds_across_seeds(lambda none, half: gap(none) >= CLEARLY_POSITIVE_GAP
                       and gap(half) <= gap(none) / 2, CASE.broken, CASE.fixed)


def test_rate_one_learns_nothing():
    def claim(everything):
        history = experiments.outcome(everything).history
        return (all(abs(a - 0.5) <= 0.05 for a in history.accuracy)
                and abs(history.loss[-1] - math.log(2)) <= 0.05)
    holds_across_seeds(claim, CASE.configs["everything"])


def test_the_ceiling_is_the_share_of_validation_labels_left_unflipped_about_0_7():
    holds_across_seeds(lambda broken: abs(studies.label_ceiling(broken) - 0.7) <= 0.03, CASE.broken)
    assert studies.label_ceiling(CASE.broken) == pytest.approx(0.688)
    assert studies.label_ceiling(CASE.broken.replace(label_noise=0.0)) == 1.0


def test_no_rate_passes_the_ceiling():
    def claim(broken):
        ceiling = studies.label_ceiling(broken)
        return all(metrics.validation_accuracy(result) <= ceiling + 0.03
                   for result in studies.dropout_sweep(broken).values())
    holds_across_seeds(claim, CASE.broken)


def test_without_dropout_validation_loss_is_lowest_early_then_rises_far():
    def claim(broken):
        stop = studies.early_stop(experiments.outcome(broken))
        return stop.epoch <= 20 and stop.final_val_loss >= 2 * stop.val_loss
    holds_across_seeds(claim, CASE.broken)
    stop = studies.early_stop(experiments.outcome(CASE.broken))
    assert (stop.epoch, round(stop.val_loss, 2), round(stop.final_val_loss, 2)) == (4, 0.64, 1.82)


# --- why it happens ------------------------------------------------------------

def test_clip_5_hardly_acts_up_to_rate_0_6_and_rate_0_9_diverges_without_it():
    def share(config):
        return studies.clipped_share(experiments.outcome(config), 5.0)

    def claim(broken):
        return (all(share(broken.replace(dropout=rate)) <= 0.002 for rate in (0.0, 0.5, 0.6))
                and share(broken.replace(dropout=0.9)) >= 0.01
                and experiments.outcome(broken.replace(dropout=0.9, clip_norm=None)).history.diverged)
    holds_across_seeds(claim, CASE.broken)
    assert all(share(CASE.broken.replace(dropout=rate)) == 0 for rate in (0.0, 0.5, 0.6))


def test_dropout_sits_after_each_hidden_layer_as_the_text_says():
    names = [type(layer).__name__ for layer in experiments.outcome(CASE.fixed).model.layers]
    assert names == ["Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]


# --- fixes, and where they stop ----------------------------------------------------

def test_early_stopping_is_about_as_good_as_dropout_and_beats_no_regularisation():
    def claim(broken, half):
        stop = studies.early_stop(experiments.outcome(broken))
        return (abs(stop.val_accuracy - val(half)) <= 0.1 and stop.val_accuracy > val(broken))
    holds_across_seeds(claim, CASE.broken, CASE.fixed)


BIG = CASE.broken.replace(n=1300, val_fraction=300 / 1300, epochs=100)


def test_a_net_that_does_not_overfit_gets_nothing_from_dropout():
    holds_across_seeds(lambda big, big_half: abs(gap(big)) <= 0.05 and val(big_half) <= val(big),
                       BIG, BIG.replace(dropout=0.5))


# --- a classic result: Srivastava et al. 2014, the inverted U ------------------------

def test_validation_accuracy_against_the_rate_is_an_inverted_u_and_high_rates_underfit():
    def claim(broken):
        sweep = studies.dropout_sweep(broken)
        best = studies.best_rate(sweep)
        accuracy = {rate: metrics.validation_accuracy(result) for rate, result in sweep.items()}
        return (0.3 <= best <= 0.7 and accuracy[best] >= accuracy[0.0] + 0.03
                and accuracy[best] >= accuracy[0.9] + 0.08
                and metrics.training_accuracy_during(sweep[0.9]) <= 0.55)
    holds_across_seeds(claim, CASE.broken)


def test_the_sweep_curve_draws_both_accuracies_the_ceiling_and_chance():
    sweep = studies.dropout_sweep(CASE.broken)
    ax = plots.dropout_sweep_curve(sweep, ceiling=studies.label_ceiling(CASE.broken))
    lines = ax.get_lines()
    assert np.allclose(lines[1].get_ydata(), [metrics.validation_accuracy(r) for r in sweep.values()])
    assert "ceiling 0.69" in [t.get_text() for t in ax.get_legend().get_texts()][2]


# --- the figures ---------------------------------------------------------------------

def test_rate_one_says_on_the_lab_figure_and_the_static_plot_why_it_draws_no_gradient_line():
    lab = labs.dropout()
    lab.preset.value = "everything"
    assert np.all(np.isnan(lab.figure.current.gradient.get_ydata()))
    assert "every gradient is exactly 0" in lab.figure.zero_note.get_text()
    assert "every gradient is exactly 0" in lab.figure.render("svg").decode()
    lab.preset.value = "fixed"
    assert lab.figure.zero_note.get_text() == ""
    everything = experiments.outcome(CASE.configs["everything"]).history
    ax = plots.gradient_per_layer(everything)
    assert any("every gradient is exactly 0" in text.get_text() for text in ax.texts)
    ax = plots.gradient_per_layer(experiments.outcome(CASE.fixed).history)
    assert not any("exactly 0" in text.get_text() for text in ax.texts)


def test_the_loss_panel_marks_the_lowest_validation_loss():
    (series,) = [s for s in panels.LOSS.series if s.legend == "lowest validation loss"]
    x, y = series.data(experiments.outcome(CASE.broken))
    assert x.tolist() == [4.0] and y[0] == pytest.approx(min(experiments.outcome(CASE.broken).history.val_loss))
    assert len(series.data(experiments.outcome(CASES["dead_relu"].broken))[0]) == 0

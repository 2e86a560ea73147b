"""Lesson 01 (vanishing gradients): every number the lesson states, over several seeds, the two
classic results it reproduces, and its exercise checks fed wrong-but-plausible answers (rejected,
pointing at the idea without the answer) and right answers in the forms a learner writes."""

import math

import numpy as np
import pytest

from nnlab import exercises, experiments, metrics
from nnlab.exercises import RIGHT, WRONG
from nnlab.experiments import CASES

from test_claims import OTHER_SEEDS, holds_across_seeds

CASE = CASES["vanishing"]
SEEDS = (0, *OTHER_SEEDS)


def fresh(config, seed=0):
    config = config.replace(seed=seed)
    (X, y), _ = config.data()
    return config.build(X.shape[1], int(y.max()) + 1), X


# --- what you saw ------------------------------------------------------------------------

def test_the_first_layer_gets_a_thousand_times_less_gradient_and_the_net_learns_nothing():
    def claim(broken):
        return (metrics.gradient_ratio(broken) <= 1e-3
                and abs(broken.history.loss[-1] - math.log(2)) <= 0.02
                and metrics.training_accuracy_after(broken) <= 0.55)
    holds_across_seeds(claim, CASE.broken)


def test_the_first_hidden_layer_moves_ten_times_less_than_the_last_hidden_layer():
    holds_across_seeds(lambda broken: broken.weight_change[0] * 10 <= broken.weight_change[-2],
                       CASE.broken)
    broken = experiments.outcome(CASE.broken)       # the run the lesson quotes: 22 times
    assert broken.weight_change[-2] / broken.weight_change[0] > 20


def test_the_output_layer_moves_most_in_the_healthy_net_too():
    holds_across_seeds(lambda fixed: fixed.weight_change[-1] >= 2 * fixed.weight_change[:-1].max(),
                       CASE.fixed)


# --- why it happens ----------------------------------------------------------------------

def test_the_error_shrinks_by_a_factor_near_the_sigmoid_slope_at_0_per_layer():
    holds_across_seeds(lambda broken: 0.2 <= metrics.error_factor_per_layer(broken) <= 0.25,
                       CASE.broken)


def test_the_forward_signal_collapses_by_a_quarter_per_layer_at_initialisation():
    for seed in SEEDS:
        spread = metrics.activation_spread(*fresh(CASE.broken, seed))
        assert np.all(spread[1:] <= 0.3 * spread[:-1]), spread
        assert spread[-1] <= 1e-3 * spread[0]


def test_the_broken_net_is_not_saturated_and_a_large_init_is():
    for seed in SEEDS:
        assert not metrics.saturated_fraction(*fresh(CASE.broken, seed)).any()
        assert np.all(metrics.saturated_fraction(*fresh(CASE.broken.replace(init=4.0), seed))[1:] >= 0.5)


# --- fixes, and where they stop ------------------------------------------------------------

def test_relu_he_and_tanh_xavier_train_the_six_layers():
    for config in (CASE.fixed, CASE.broken.replace(activation="tanh")):
        holds_across_seeds(lambda result: 0.1 <= metrics.gradient_ratio(result) <= 10
                           and metrics.training_accuracy_after(result) >= 0.9, config)


def test_a_larger_init_lifts_the_sigmoid_ratio_at_least_fifty_times_but_not_to_balance():
    holds_across_seeds(lambda broken, larger: metrics.gradient_ratio(larger)
                       >= 50 * metrics.gradient_ratio(broken)
                       and metrics.gradient_ratio(larger) < 0.1,
                       CASE.broken, CASE.broken.replace(init=1.0))


def test_batch_norm_brings_the_sigmoid_ratio_near_1():
    holds_across_seeds(lambda bn: 0.1 <= metrics.gradient_ratio(bn) <= 30,
                       CASE.broken.replace(batchnorm=True))


# --- the classic results -------------------------------------------------------------------

def test_glorot_bengio_2010_standard_init_shrinks_tanh_activations_normalized_keeps_them():
    for seed in SEEDS:
        standard = experiments.glorot_spread("standard", seed)
        normalized = experiments.glorot_spread("normalized", seed)
        assert np.all(np.diff(standard) < 0) and standard[-1] <= 0.1 * standard[0], standard
        assert normalized[-1] >= 0.3 * normalized[0], normalized
        assert normalized[-1] >= 4 * standard[-1]


def test_he_2015_thirty_relu_layers_stall_at_1_over_fan_in_and_train_with_he():
    def claim(fan_in, he):
        return (metrics.training_accuracy_after(fan_in) <= 0.55
                and abs(fan_in.history.loss[-1] - math.log(2)) <= 0.01
                and metrics.training_accuracy_after(he) >= 0.8)
    holds_across_seeds(claim, experiments.HE_2015["fan_in"], experiments.HE_2015["he"])


# --- the exercises, adversarially ------------------------------------------------------------

@pytest.mark.parametrize("answer", [1, 0.5, 0.25, 1e-2, 1e-3, 1e-7, 1e-9])
def test_01_1_predictions_off_by_more_than_ten_times_are_rejected_without_the_number(answer):
    result = exercises.verdict("01.1", answer)
    ratio = metrics.gradient_ratio(experiments.outcome(CASE.broken))
    assert result.status == WRONG, str(result)
    assert f"{ratio:.1e}" not in result.reason and f"{ratio:.2g}" not in result.reason


@pytest.mark.parametrize("answer", [0.25 ** 6, 1e-4, 5e-5, 1e-5, np.float64(2e-4), 0.0001])
def test_01_1_predictions_within_ten_times_are_accepted(answer):
    assert exercises.verdict("01.1", answer).status == RIGHT


@pytest.mark.parametrize("answer,words", [((2 / 64) ** 0.5, "ReLU"), ((2 / 80) ** 0.5, "compromise"),
                                          (1 / 64, "variance"), (0.5, "grow"), (0.01, "shrink"),
                                          (1 / 16 ** 0.5, "grow")])
def test_01_2_wrong_stds_point_at_the_idea_without_the_answer(answer, words):
    result = exercises.verdict("01.2", answer)
    assert result.status == WRONG and words in result.reason, str(result)
    assert "0.125" not in result.reason and "1/64" not in result.reason


@pytest.mark.parametrize("answer", [0.125, 1 / math.sqrt(64), np.float64(0.125), 0.126, 64 ** -0.5])
def test_01_2_right_stds_are_accepted(answer):
    assert exercises.verdict("01.2", answer).status == RIGHT


@pytest.mark.parametrize("changes", [dict(activation="relu", init="he"),
                                     dict(activation="tanh"),
                                     dict(activation="relu", init="he", hidden=[32] * 6)])
def test_01_3_fixes_in_any_form_are_accepted(changes):
    assert exercises.verdict("01.3", CASE.broken.replace(**changes)).status == RIGHT


@pytest.mark.parametrize("changes,words", [(dict(init="he"), "times smaller"),
                                           (dict(init=1.0), "times smaller"),
                                           (dict(hidden=(32, 32)), "shallower"),
                                           (dict(dataset="moons"), "data set")])
def test_01_3_non_fixes_are_rejected_with_the_reason(changes, words):
    result = exercises.verdict("01.3", CASE.broken.replace(**changes))
    assert result.status == WRONG and words in result.reason, str(result)

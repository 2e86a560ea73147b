"""Every claim lesson 03 (dead ReLU units) makes, measured on the runs it shows.

Each claim must hold for the configuration's own seed and for at least 4 of 5 other
seeds: the numbers are not cherry-picked. The lesson quotes seed 0's numbers.
"""

import json
from pathlib import Path

import numpy as np

from nnlab import experiments, metrics, panels, studies
from nnlab.exercises import lesson03
from nnlab.experiments import CASES
from nnlab.metrics import DEAD_FRACTION_THRESHOLD

OTHER_SEEDS = (1, 2, 3, 4, 5)
CASE = CASES["dead_relu"]
ROOT = Path(__file__).resolve().parents[1]


def holds_across_seeds(claim, *configs):
    """``claim(*configs_at_seed)`` for the default seed and for at least 4 of 5 others."""
    assert claim(*configs), "the claim fails for the lesson's own seed"
    passed = [seed for seed in OTHER_SEEDS if claim(*[c.replace(seed=seed) for c in configs])]
    assert len(passed) >= 4, f"the claim holds only for seeds {passed} of {OTHER_SEEDS}"


def dead(config):
    return metrics.dead_fraction(experiments.outcome(config))


def accuracy_after(config):
    return metrics.training_accuracy_after(experiments.outcome(config))


def markdown() -> str:
    notebook = json.loads((ROOT / "notebooks" / "03_dead_relu.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")


# --- the threshold ----------------------------------------------------------

def test_one_dead_threshold_for_the_course_and_diagnose_reads_it():
    from nnlab.diagnosis import rules
    assert DEAD_FRACTION_THRESHOLD == 0.5 and rules.DEAD_FRACTION is DEAD_FRACTION_THRESHOLD
    assert "DEAD_FRACTION_THRESHOLD" in markdown()


# --- what you saw -----------------------------------------------------------

def test_the_large_learning_rate_leaves_the_net_mostly_dead():
    holds_across_seeds(lambda broken: dead(broken) >= DEAD_FRACTION_THRESHOLD, CASE.broken)


def test_the_lower_learning_rate_kills_no_unit_and_fits_the_training_set():
    holds_across_seeds(lambda fixed: dead(fixed) == 0.0 and accuracy_after(fixed) >= 0.99,
                       CASE.fixed)


def test_units_die_in_the_first_epoch_and_the_share_never_falls_back():
    def claim(broken):
        per_epoch = metrics.dead_fraction_per_epoch(experiments.outcome(broken))
        _, drawn = panels.DEAD.series[0].data(experiments.outcome(broken))
        return (per_epoch[0] == 0.0 and per_epoch[1] >= DEAD_FRACTION_THRESHOLD
                and np.all(np.diff(per_epoch[1:]) >= 0) and np.array_equal(drawn, per_epoch))
    holds_across_seeds(claim, CASE.broken)


def test_leaky_relu_has_no_dead_units_but_stays_below_the_lower_learning_rate():
    leaky = CASE.configs["leaky_relu"]

    def claim(leaky, fixed):
        history = experiments.outcome(leaky).history
        return (dead(leaky) == 0.0 and not history.dead_fraction.any()
                and accuracy_after(leaky) <= accuracy_after(fixed) - 0.03)
    holds_across_seeds(claim, leaky, CASE.fixed)
    assert round(accuracy_after(leaky), 2) == round(accuracy_after(CASE.broken), 2) == 0.73
    seeds = [accuracy_after(leaky.replace(seed=seed)) for seed in (0, *OTHER_SEEDS)]
    assert (round(min(seeds), 2), round(max(seeds), 2)) == (0.72, 0.96)     # as the lesson says


# --- why it happens: the controlled experiment --------------------------------

def test_killed_units_cost_capacity_only_when_nearly_all_are_gone():
    def claim(fixed):
        runs = {killed: studies.with_units_killed(fixed, killed) for killed in (0, 51, 60, 62)}
        accuracy = {killed: run.train_accuracy for killed, run in runs.items()}
        return (accuracy[0] >= 0.99 and accuracy[51] >= 0.98
                and accuracy[51] > accuracy[60] + 0.05 > accuracy[62] + 0.05
                and accuracy[62] <= 0.75
                and all(run.dead_fraction == killed / 64 for killed, run in runs.items()))
    holds_across_seeds(claim, CASE.fixed)


def test_the_broken_run_is_far_below_a_net_with_as_many_live_units():
    def claim(broken, fixed):
        alive = round((1 - dead(broken)) * 64)
        return studies.with_units_killed(fixed, 64 - alive).train_accuracy >= accuracy_after(broken) + 0.2
    holds_across_seeds(claim, CASE.broken, CASE.fixed)


def test_dead_first_layer_units_stay_dead_at_a_safe_learning_rate():
    def claim(broken):
        run = studies.continued(broken, 0.5)
        return (run.revived.tolist() == [0] and run.dead_after[0] >= run.dead_before[0]
                and run.train_accuracy <= accuracy_after(broken) + 0.05 and run.train_accuracy < 0.8)
    holds_across_seeds(claim, CASE.broken)


def test_with_two_hidden_layers_only_second_layer_units_come_back():
    two = lesson03.TWO_LAYERS
    runs = {}
    for seed in (0, *OTHER_SEEDS):
        if not experiments.outcome(two.replace(seed=seed)).history.diverged:
            runs[seed] = studies.continued(two.replace(seed=seed), lesson03.CONTINUE_LR)
    assert all(run.revived[0] == 0 for run in runs.values())
    assert runs[two.seed].revived[1] > 0
    came_back = [seed for seed, run in runs.items() if run.revived[1] > 0]
    assert len(came_back) >= 3, f"second-layer units came back only for seeds {came_back}"


# --- fixes, and where they stop -------------------------------------------------

def test_a_negative_initial_bias_kills_units_from_the_start_and_a_small_positive_one_none():
    def claim(fixed):
        first_epoch = {bias: metrics.dead_fraction_per_epoch(
            experiments.outcome(fixed.replace(bias=bias)))[0] for bias in (-2.0, -1.0, 0.0, 0.1)}
        return (first_epoch[-2.0] >= 0.25 and first_epoch[-1.0] < first_epoch[-2.0]
                and first_epoch[0.0] == first_epoch[0.1] == 0.0
                and dead(fixed.replace(bias=0.1)) == 0.0)
    holds_across_seeds(claim, CASE.fixed)


def test_no_initial_bias_saves_the_units_from_the_large_step():
    holds_across_seeds(lambda broken: dead(broken.replace(bias=0.5)) >= DEAD_FRACTION_THRESHOLD,
                       CASE.broken)


def test_smaller_initial_weights_lose_more_units_to_the_large_step():
    def claim(broken):
        return dead(broken.replace(init="xavier")) > dead(broken) and dead(broken.replace(init=0.01)) > dead(broken)
    holds_across_seeds(claim, CASE.broken)
    assert [round(dead(CASE.broken.replace(init=init)), 2) for init in ("he", "xavier", 0.01)] == [0.8, 0.97, 1.0]


# --- a classic result: CS231n's "as much as 40% of your network can be dead" ----

def test_too_high_a_learning_rate_kills_at_least_40_percent_and_lower_ones_do_not():
    def claim(broken):
        return (dead(broken) >= 0.4
                and all(dead(broken.replace(lr=lr)) < DEAD_FRACTION_THRESHOLD
                        for lr in (0.5, 1.0, 2.0)))
    holds_across_seeds(claim, CASE.broken)
    shares = [dead(CASE.broken.replace(seed=seed)) for seed in (0, *OTHER_SEEDS)]
    assert (f"{min(shares):.0%}", f"{max(shares):.0%}") == ("69%", "88%")   # as the lesson says

"""Every claim the lessons make, measured on the experiments that the labs show.

Each claim must hold for the configuration's own seed and for at least 4 of 5
other seeds: the numbers are not cherry-picked.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from nnlab import exercises, experiments, labs, metrics, panels
from nnlab.experiments import CASES, epochs_to_accuracy

OTHER_SEEDS = (1, 2, 3, 4, 5)


def holds_across_seeds(claim, *configs):
    """``claim(*outcomes)`` for the default seed and for at least 4 of 5 others."""
    def check(seed):
        return bool(claim(*[experiments.outcome(c.replace(seed=seed)) for c in configs]))
    assert check(configs[0].seed), "the claim fails for the lesson's own seed"
    passed = [seed for seed in OTHER_SEEDS if check(seed)]
    assert len(passed) >= 4, f"the claim holds only for seeds {passed} of {OTHER_SEEDS}"


def init_ratio(result, statistic="grad_norms"):
    return result.history.first_last_ratio(0, statistic)


# --- vanishing gradients --------------------------------------------------

def test_vanishing_first_layer_gradient_is_100x_smaller_in_the_broken_net():
    holds_across_seeds(lambda broken: init_ratio(broken) <= 1e-2, CASES["vanishing"].broken)


def test_vanishing_fixed_net_keeps_first_and_last_layer_within_10x():
    holds_across_seeds(lambda fixed: 0.1 <= init_ratio(fixed) <= 10, CASES["vanishing"].fixed)


def test_vanishing_broken_first_layer_barely_moves_while_the_last_does():
    holds_across_seeds(lambda broken: broken.weight_change[0] * 20 <= broken.weight_change[-1],
                       CASES["vanishing"].broken)


# --- exploding gradients --------------------------------------------------

def test_exploding_backpropagated_error_grows_100x_toward_the_input_and_the_run_diverges():
    def claim(broken):
        return metrics.error_growth(broken) >= 100 and broken.history.diverged_at is not None
    holds_across_seeds(claim, CASES["exploding"].broken)


@pytest.mark.parametrize("remedy", ["fixed", "lower_lr", "clipping"])
def test_exploding_each_remedy_trains_to_a_finite_falling_loss(remedy):
    def claim(result):
        loss = result.history.loss
        return (not result.history.diverged and len(loss) == result.config.epochs
                and all(map(math.isfinite, loss)) and loss[-1] < 0.5 * loss[0])
    holds_across_seeds(claim, CASES["exploding"].configs[remedy])


# Lessons 03 (dead ReLU units) and 04 (dropout): tests/test_claims_lesson03.py and _lesson04.py.


# --- batch normalization --------------------------------------------------

TARGET_ACCURACY = 0.9


def test_batchnorm_reaches_the_target_in_at_most_half_the_epochs():
    case = CASES["batchnorm"]

    def claim(without, with_bn):
        slow = epochs_to_accuracy(without.history, TARGET_ACCURACY)
        fast = epochs_to_accuracy(with_bn.history, TARGET_ACCURACY)
        slow = without.config.epochs + 1 if slow is None else slow
        return fast is not None and fast <= slow / 2
    holds_across_seeds(claim, case.broken, case.fixed)


def test_batchnorm_unsticks_a_stuck_run():
    case = CASES["batchnorm"]
    holds_across_seeds(
        lambda stuck, unstuck: (abs(stuck.train_accuracy - 0.5) <= 0.05
                                and abs(stuck.history.loss[-1] - math.log(2)) <= 0.02
                                and unstuck.train_accuracy >= 0.65),
        case.configs["stuck"], case.configs["unstuck"])


def test_standardized_inputs_train_where_raw_ones_stall():
    case = CASES["batchnorm"]
    holds_across_seeds(
        lambda raw, scaled: raw.train_accuracy <= 0.7 and scaled.train_accuracy >= 0.85,
        case.configs["raw_inputs"], case.configs["standardized"])


# --- the machinery --------------------------------------------------------

# --- pressing play: what the lessons invite the learner to watch ----------
# The same numbers the lab draws at each epoch it can show (panels' Series.at).

def at_every_frame(result, numbers):
    """``numbers(result, epoch)`` for every epoch the lab can show (epoch 0 excluded)."""
    return [numbers(result, epoch) for epoch in experiments.frame_epochs(result.config.epochs)[1:]]


def ratio_now(result, epoch):
    """First/last layer gradient of the dashed "now" line of the lab's left panel."""
    now = panels.gradient_panel("grad_norms", 0, moving=True).series[1]     # both labs draw it
    _, values = now.at(result, epoch)
    return values[0] / values[-1]


def test_playing_the_vanishing_run_the_first_layer_never_catches_up():
    def claim(broken):
        moved = at_every_frame(broken, experiments.weight_change_at)
        return (max(at_every_frame(broken, ratio_now)) <= 1e-2
                and all(change[-1] >= 10 * change[0] for change in moved))
    holds_across_seeds(claim, CASES["vanishing"].broken)


def test_playing_the_dead_relu_run_units_die_in_the_first_epoch_and_stay_dead():
    def claim(broken):
        # The panel's value per epoch: units that output 0 on every example of that epoch.
        # Epoch 1 began with live units, so the units that died in it count from epoch 2.
        _, dead = panels.DEAD.series[0].data(broken)
        return dead[1:].min() >= 0.4
    holds_across_seeds(claim, CASES["dead_relu"].broken)


def test_playing_the_stuck_run_batchnorm_keeps_the_profile_flat_at_every_epoch():
    def claim(stuck, unstuck):
        return (max(at_every_frame(stuck, ratio_now)) <= 1 / 50
                and all(1 / 30 <= r <= 30 for r in at_every_frame(unstuck, ratio_now)))
    case = CASES["batchnorm"]
    holds_across_seeds(claim, case.configs["stuck"], case.configs["unstuck"])


def test_a_configuration_runs_once_and_is_then_served_from_the_cache():
    config = CASES["vanishing"].fixed.replace(epochs=2, seed=42)
    first = experiments.run(config)
    assert experiments.run(config.replace()) is first
    assert experiments.run(config.replace(seed=43)) is not first


def test_every_case_has_a_broken_and_a_fixed_variant():
    for case in CASES.values():
        assert {"broken", "fixed"} <= set(case.configs)
        assert case.broken != case.fixed


def test_an_unknown_case_names_the_valid_ones():
    with pytest.raises(ValueError, match="vanishing"):
        experiments.case("exploded")


# --- issue 11: every sentence about a number is true of the number shown ---

ROOT = Path(__file__).resolve().parents[1]


def lesson(stem: str) -> dict:
    return json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))


def printed(stem: str) -> str:
    return "".join("".join(o["text"]) for c in lesson(stem)["cells"] for o in c.get("outputs", [])
                   if o["output_type"] == "stream")


def markdown(stem: str) -> str:
    return "\n".join("".join(c["source"]) for c in lesson(stem)["cells"] if c["cell_type"] == "markdown")


def test_error_growth_is_across_the_hidden_layers_x175_not_x535():
    broken = experiments.outcome(CASES["exploding"].broken)
    bias = broken.history.bias_grad_norms[0]
    assert metrics.error_growth(broken) == pytest.approx(bias[0] / bias[-2])
    assert "x175" in labs.exploding().status_text() and "535" not in printed("02_exploding_gradients")
    assert "first hidden layer" in markdown("02_exploding_gradients")


def test_at_init_std_005_the_status_says_the_error_shrinks_as_its_own_plot_shows():
    lab = labs.exploding()
    lab.controls["init"].value = 0.05
    plotted = lab.figure.current.gradient.get_ydata()
    assert plotted[0] < plotted[-2] / 1000                 # the plot: shrinking toward the input
    assert "shrinks toward the input" in lab.status_text() and "grows 12" not in lab.status_text()


@pytest.mark.parametrize("stem", ["01_vanishing_gradients", "03_dead_relu", "05_batch_normalization"])
def test_training_accuracy_always_says_whether_during_or_after_training(stem):
    text = printed(stem)
    assert "training accuracy during training" in text
    assert not re.search(r"training accuracy \d", text)


def test_lesson_04_shows_the_gap_beside_the_two_numbers_it_is_the_difference_of():
    for line in printed("04_dropout").splitlines():
        if "generalization gap" in line:
            gap, during, val = map(float, re.search(
                r"gap ([+-][\d.]+) = training accuracy during training ([\d.]+) − validation "
                r"accuracy ([\d.]+)", line).groups())
            assert gap == pytest.approx(during - val, abs=0.011), line


def test_a_preset_stays_highlighted_only_while_the_knobs_equal_it():
    lab = labs.dropout()
    lab.controls["rate"].value = 1.0
    assert lab.preset.value == "everything"
    lab.controls["rate"].value = 0.7
    assert lab.preset.value == labs.CUSTOM
    exploding = labs.exploding()
    exploding.controls["init"].value = 1.0
    exploding.preset.value = "clipping"
    exploding.preset.value = "broken"
    assert exploding.config().init == 0.8                     # "broken: init std 0.8" is 0.8
    assert exploding.controls["clip"].label == "no clipping"  # never blank


def test_no_message_suggests_the_learning_rate_already_in_use():
    text = printed("02_exploding_gradients")
    assert "lr=0.1" in text and "lower learning rate (lr=" not in text
    reason = exercises.verdict("01.3", CASES["vanishing"].broken.replace(
        activation="relu", init="he", lr=1e10)).reason
    assert "lower learning rate (lr=1e+10)" not in reason


def test_the_playground_at_dropout_1_explains_its_missing_gradient_ratio():
    lab = labs.playground()
    lab.controls["dropout"].value = 1.0
    assert "no gradient reaches" in lab.status_text() and "inf" not in lab.status_text()


def test_lesson_04_ln_2_is_the_training_loss_and_the_validation_loss_is_explained():
    history = experiments.outcome(CASES["dropout"].configs["everything"]).history
    assert history.loss[-1] == pytest.approx(math.log(2), abs=0.01)
    assert history.val_loss[-1] > math.log(2) + 0.5
    text = printed("04_dropout")
    assert f"final training loss {history.loss[-1]:.3f}" in text
    assert f"final validation loss {history.val_loss[-1]:.2f}" in text
    words = markdown("04_dropout")
    assert "training loss ends at $\\ln 2$" in words and "validation loss is higher" in words


def test_lesson_03_figure_draws_two_lines_that_differ_and_says_why_at_the_last_step():
    broken = experiments.outcome(CASES["dead_relu"].broken)
    fixed = experiments.outcome(CASES["dead_relu"].fixed)
    assert np.array_equal(broken.history.grad_norms[0], fixed.history.grad_norms[0])
    assert np.all(fixed.history.grad_norms[-1] > 10 * broken.history.grad_norms[-1])
    cells = ["".join(c["source"]) for c in lesson("03_dead_relu")["cells"]]
    assert any("plots.comparison_figure(" in c and "step=-1" in c for c in cells)
    assert "would lie exactly under the blue one" in markdown("03_dead_relu")


def test_the_readme_does_not_say_every_lesson_has_a_lab():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Each lesson has a lab" not in readme and "lesson 06 has no lab" in readme

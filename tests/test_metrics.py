"""The numbers a learner reads, each defined once (nnlab.metrics), on the lessons' own runs."""

import math
import subprocess
import sys

import numpy as np
import pytest

from nnlab import experiments, metrics
from nnlab.experiments import CASES


def outcome(case, variant="broken", **changes):
    return experiments.outcome(CASES[case].configs[variant].replace(**changes))


def test_every_metric_says_what_it_measures():
    for name in ("error_growth", "gradient_ratio", "training_accuracy_during",
                 "training_accuracy_after", "validation_accuracy", "generalization_gap",
                 "dead_fraction", "epochs_to_accuracy"):
        doc = getattr(metrics, name).__doc__
        assert doc and len(doc.split()) >= 30, f"metrics.{name} needs a docstring saying what it measures"


def test_error_growth_is_across_the_hidden_layers_not_to_the_output_layer():
    broken = outcome("exploding")
    bias = broken.history.bias_grad_norms[0]
    assert metrics.error_growth(broken) == pytest.approx(bias[0] / bias[-2])
    assert metrics.error_growth(broken) == pytest.approx(175, rel=0.01)
    assert "x175" in metrics.error_growth_text(broken)


def test_error_growth_at_small_weights_shrinks_as_the_plot_shows():
    small = outcome("exploding", init=0.05)
    bias = small.history.bias_grad_norms[0]
    assert bias[0] < bias[-2] / 1000            # the plot: the error shrinks toward the input
    assert metrics.error_growth(small) < 1e-3
    assert "shrinks toward the input" in metrics.error_growth_text(small)


def test_error_growth_per_step_agrees_with_one_step():
    broken = outcome("vanishing")
    per_step = metrics.error_growth_per_step(broken)
    assert per_step.shape == (broken.history.steps,)
    assert per_step[5] == metrics.error_growth(broken, step=5)


def test_gradient_ratio_is_first_over_last_dense_layer():
    broken = outcome("vanishing")
    norms = broken.history.grad_norms[0]
    assert metrics.gradient_ratio(broken) == pytest.approx(norms[0] / norms[-1])
    assert metrics.gradient_ratio_text(broken) == f"first/last gradient ratio {norms[0] / norms[-1]:.1e}"


def test_gradient_ratio_without_any_gradient_is_nan_and_says_why():
    everything = outcome("dropout", "everything")
    assert np.all(everything.history.grad_norms[0] == 0)
    assert math.isnan(metrics.gradient_ratio(everything))
    text = metrics.gradient_ratio_text(everything)
    assert "none" in text and "no gradient reaches" in text and "inf" not in text


def test_the_gap_is_the_difference_of_the_two_numbers_shown_beside_it():
    none = outcome("dropout")
    during, val = metrics.training_accuracy_during(none), metrics.validation_accuracy(none)
    assert metrics.generalization_gap(none) == pytest.approx(during - val)
    text = metrics.gap_text(none)
    assert f"{during - val:+.2f}" in text and f"{during:.2f}" in text and f"{val:.2f}" in text


def test_training_accuracy_has_two_names_for_two_measurements():
    half = outcome("dropout", "fixed")
    assert metrics.training_accuracy_after(half) == half.train_accuracy
    window = metrics.final_window(half)
    assert window == 100
    assert metrics.training_accuracy_during(half) == pytest.approx(np.mean(half.history.accuracy[-100:]))
    assert metrics.NAMES["training_accuracy_during"] != metrics.NAMES["training_accuracy_after"]


def test_dead_fraction_is_the_last_epochs_share_of_units_that_never_fired():
    broken = outcome("dead_relu")
    per_epoch = broken.history.epoch_dead_fraction.mean(axis=1)
    assert metrics.dead_fraction(broken) == pytest.approx(per_epoch[-1])
    np.testing.assert_allclose(metrics.dead_fraction_per_epoch(broken), per_epoch)
    # ... and it agrees with the whole training set, evaluated after training
    assert metrics.dead_fraction(broken) == pytest.approx(float(broken.dead_units[0]), abs=0.05)
    assert "80%" in metrics.dead_fraction_text(broken)
    assert metrics.dead_fraction(outcome("dead_relu", "leaky_relu")) == 0.0
    assert "no ReLU units" in metrics.dead_fraction_text(outcome("vanishing"))
    assert "diverged" in metrics.dead_fraction_text(outcome("exploding"))


def test_epochs_to_accuracy_reads_the_training_curve():
    fixed = outcome("batchnorm", "fixed")
    epochs = metrics.epochs_to_accuracy(fixed, 0.9)
    assert epochs is not None and fixed.history.accuracy[epochs - 1] >= 0.9
    assert all(a < 0.9 for a in fixed.history.accuracy[:epochs - 1])
    stuck = outcome("batchnorm", "stuck")
    assert metrics.epochs_to_accuracy(stuck, 0.9) is None
    assert metrics.epochs_to_accuracy_text(stuck, 0.9) == "never in 60 epochs"


def test_metrics_loads_neither_matplotlib_nor_ipywidgets():
    code = ("import nnlab.metrics, sys; "
            "print([m for m in ('matplotlib', 'ipywidgets') if m in sys.modules])")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"


def test_a_divergence_message_never_suggests_the_learning_rate_in_use():
    message = outcome("exploding").history.message
    assert "lr=0.1" in message and "lower learning rate (lr=" not in message
    assert "below the lr=0.1 used here" in message

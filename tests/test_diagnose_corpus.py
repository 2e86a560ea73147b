"""diagnose on runs a learner makes: any batch size, class balance, loss, dtype and length.

The whole generated corpus (about 240 runs) runs in ``make bench``
(benchmarks/bench_diagnose.py); here a cross-section of it, plus each run the
issue reported, as a learner would make it with ``nnlab.train``.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab.diagnosis import corpus, diagnose
from nnlab.engine.runinfo import RunInfo, describe_run

SUBSET = corpus.subset()


@pytest.fixture(scope="module")
def subset_results():
    return [corpus.judge(spec) for spec in SUBSET]


def test_the_corpus_is_big_and_covers_every_setting():
    specs = corpus.specs()
    assert len(specs) >= 200
    depths = [len(spec.hidden) for spec in specs]
    widths = [w for spec in specs for w in spec.hidden]
    assert min(depths) <= 2 - 1 + 1 and max(depths) >= 12       # 1-2 up to 12 hidden layers
    assert min(widths) <= 4 and max(widths) >= 512
    assert {spec.activation for spec in specs} >= set(nnlab.layers.ACTIVATIONS)
    assert {spec.dtype for spec in specs} == {"float32", "float64"}
    batches = {spec.batch_size for spec in specs}
    assert 1 in batches and any(b >= spec.n for spec in specs for b in [spec.batch_size])
    assert {spec.regression for spec in specs} == {True, False}
    assert {spec.minority for spec in specs} >= {0.05, 0.5}
    assert {spec.telemetry for spec in specs} == {True, False}
    assert min(spec.epochs for spec in specs) <= 2 and max(spec.epochs for spec in specs) >= 150


def test_a_cross_section_gets_exactly_the_right_cases(subset_results):
    assert len(subset_results) >= 20
    wrong = [(r.spec.name, r.spec.seed, sorted(r.truth), r.cases) for r in subset_results
             if not r.exact]
    assert not wrong, wrong
    truths = set().union(*(r.truth for r in subset_results))
    assert {"healthy", "vanishing_gradients", "exploding_gradients",
            "dead_relu", "overfitting", "not_learning", "diverged"} <= truths


def test_no_remedy_in_place_or_in_conflict(subset_results):
    assert not [(r.spec.name, r.remedy_problems) for r in subset_results if r.remedy_problems]


def test_summary_holds_confusion_and_reliability(subset_results):
    summary = corpus.summary(subset_results)
    assert summary["runs"] == len(subset_results)
    assert summary["exact_rate"] == 1.0 and summary["broken_called_healthy"] == 0
    assert summary["confusion"]["healthy"]["healthy"] >= 5
    findings = sum(n for bands in summary["reliability"].values() for n, _ in bands.values())
    assert findings == sum(len(r.cases) for r in subset_results)


# ---------------------------------------------------------------------------
# The runs the issue reported, as a learner makes them
# ---------------------------------------------------------------------------

def _blobs(n=200, minority=0.5, seed=0, signal=True):
    spec = corpus.RunSpec("x", frozenset(), data="blobs" if signal else "noise", n=n,
                          features=4, minority=minority, seed=seed)
    return corpus.make_data(spec)[0]


def test_batch_size_one_is_not_called_dead():
    X, y = nnlab.datasets.moons(n=100, noise=0.1, seed=3)
    X = nnlab.datasets.standardize(X)
    history = nnlab.train(nnlab.mlp([2, 32, 32, 2], seed=0), X, y, epochs=8, batch_size=1,
                          lr=0.02)
    assert history.dead_fraction[-100:].mean() > 0.3      # per batch, most units look off
    diagnosis = diagnose(history)
    assert diagnosis.cases == ["healthy"], diagnosis


def test_noise_inputs_with_5_percent_positives_are_not_learning():
    X, y = _blobs(n=300, minority=0.05, seed=1, signal=False)
    history = nnlab.train(nnlab.mlp([4, 16, 16, 2], seed=0), X, y, epochs=10, lr=0.05)
    finding = diagnose(history).finding("not_learning")
    assert finding is not None
    shares = np.bincount(y) / y.size
    assert finding.numbers["chance_loss"] == pytest.approx(-(shares * np.log(shares)).sum())
    assert finding.numbers["chance_accuracy"] == pytest.approx(shares.max())
    assert "class frequencies" in finding.evidence
    assert any("carry information" in remedy for remedy in finding.remedies)


def test_regression_on_unrelated_targets_is_not_learning():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = rng.standard_normal((200, 1)) * 3 + 5
    history = nnlab.train(nnlab.mlp([3, 16, 16, 1], seed=0), X, y, epochs=10, lr=0.01)
    diagnosis = diagnose(history)
    assert diagnosis.cases == ["not_learning"], diagnosis
    assert diagnosis.findings[0].numbers["chance_loss"] == pytest.approx(y.var())
    assert "targets' mean" in diagnosis.findings[0].evidence


def test_two_epochs_at_a_tiny_learning_rate_is_not_learning_and_says_raise_it():
    X, y = _blobs()
    history = nnlab.train(nnlab.mlp([4, 32, 32, 2], seed=0), X, y, epochs=2, lr=1e-5)
    assert history.steps < nnlab.diagnosis.MIN_STEPS
    diagnosis = diagnose(history)
    assert diagnosis.cases == ["not_learning"], diagnosis
    remedies = " ".join(diagnosis.remedies)
    assert "Raise the learning rate" in remedies and "Lower the learning rate" not in remedies


def test_a_short_healthy_run_is_inconclusive():
    X, y = _blobs()
    diagnosis = diagnose(nnlab.train(nnlab.mlp([4, 16, 2], seed=0), X, y, epochs=2))
    assert diagnosis.cases == ["inconclusive"]
    assert "Train for more steps" in diagnosis.remedies[0]


def test_a_short_run_that_has_already_learned_is_healthy():
    X, y = _blobs()
    history = nnlab.train(nnlab.mlp([4, 16, 2], seed=0), X, y, epochs=30, batch_size=200,
                          lr=0.5)
    assert history.steps < nnlab.diagnosis.MIN_STEPS
    assert diagnose(history).cases == ["healthy"]


def test_a_saturated_tanh_net_is_named():
    X, y = nnlab.datasets.xor(n=200, seed=0)
    X = nnlab.datasets.standardize(X)
    history = nnlab.train(nnlab.mlp([2, 64, 64, 64, 2], activation="tanh", init=3.0, seed=0),
                          X, y, epochs=20, lr=0.001)
    diagnosis = diagnose(history)
    assert diagnosis.cases == ["saturated_activations", "not_learning"], diagnosis
    remedies = " ".join(diagnosis.remedies)
    assert "smaller initialization" in remedies
    assert "Normalize the inputs" not in remedies          # they are standardized


def test_remedies_already_in_place_are_never_proposed():
    X, y = _blobs()
    # A ReLU net whose gradients vanish (tiny weights): not "use ReLU".
    vanishing = diagnose(nnlab.train(nnlab.mlp([4] + [16] * 8 + [2], init=0.02, seed=0), X, y,
                                     epochs=10))
    assert "vanishing_gradients" in vanishing.cases
    assert not any(remedy.startswith("Use ReLU") for remedy in vanishing.remedies)
    assert any("He initialization" in remedy for remedy in vanishing.remedies)
    # Exploding with clipping on: not "clip the gradients", and not both directions of lr.
    model = nnlab.mlp([4] + [32] * 6 + [2], init=1.2, seed=0)
    clipped = diagnose(nnlab.train(model, X, y, epochs=10,
                                   optimizer=nnlab.SGD(0.5, clip_norm=1.0)))
    assert "exploding_gradients" in clipped.cases, clipped
    assert not any("SGD(clip_norm=1.0)" in remedy for remedy in clipped.remedies)
    # Batch norm on, lr far too small: not "add batch normalization".
    stuck = diagnose(nnlab.train(nnlab.mlp([4, 32, 32, 2], batchnorm=True, seed=0), X, y,
                                 epochs=10, lr=1e-6))
    assert stuck.cases == ["not_learning"]
    assert not any("batch normalization" in remedy for remedy in stuck.remedies)


def test_a_symptom_leaves_its_remedies_to_the_root_cause():
    X, y = nnlab.datasets.moons(n=200, seed=1)
    X = nnlab.datasets.standardize(X)
    model = nnlab.mlp([2] + [24] * 7 + [2], activation="sigmoid", init="xavier", seed=1)
    diagnosis = diagnose(nnlab.train(model, X, y, epochs=20, lr=0.05))
    assert diagnosis.cases == ["vanishing_gradients", "not_learning"]
    symptom = diagnosis.finding("not_learning")
    assert symptom.remedies == () and "symptom of vanishing gradients" in symptom.why


def test_a_run_without_telemetry_names_the_checks_it_could_not_make():
    X, y = _blobs()
    diagnosis = diagnose(nnlab.train(nnlab.mlp([4, 16, 2], seed=0), X, y, epochs=20,
                                     telemetry=False))
    note = next(note for note in diagnosis.notes if "telemetry=False" in note)
    for check in ("vanishing gradients", "exploding gradients", "dead ReLU units"):
        assert check in note
    assert diagnosis.cases == ["healthy"]


# ---------------------------------------------------------------------------
# The run record
# ---------------------------------------------------------------------------

def test_the_run_record_describes_the_run():
    X, y = _blobs(minority=0.2)
    model = nnlab.mlp([4, 8, 8, 2], activation="tanh", init="xavier", batchnorm=True,
                      dropout=0.25, seed=0, dtype=np.float32)
    history = nnlab.train(model, X, y, epochs=1, batch_size=500,
                          optimizer=nnlab.SGD(0.3, momentum=0.9, clip_norm=2.0))
    run = history.run
    assert isinstance(run, RunInfo)
    assert [layer["type"] for layer in run.layers] == [
        "dense", "batchnorm", "tanh", "dropout", "dense", "batchnorm", "tanh", "dropout", "dense"]
    assert run.activations == ("tanh", "tanh") and run.has_batchnorm
    assert run.dropout_rates == (0.25, 0.25) and run.inits == ("xavier",) * 3
    assert run.optimizer == {"name": "SGD", "lr": 0.3, "momentum": 0.9, "clip_norm": 2.0}
    assert run.batch_size == 200 and run.dtype == "float32" and run.loss == "cross-entropy"
    assert run.class_counts == tuple(np.bincount(y)) and run.inputs_standardized


def test_the_run_record_of_a_regression_and_raw_inputs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2)) * [300.0, 1.0]
    y = rng.standard_normal(50) * 2
    model = nnlab.mlp([2, 4, 1], seed=0)
    run = describe_run(model, X, y, batch_size=8, optimizer=nnlab.SGD(0.1),
                       loss=nnlab.MeanSquaredError())
    assert not run.classification and run.class_counts == ()
    assert run.target_variance == pytest.approx(y.var())
    assert not run.inputs_standardized and run.input_scale[1] > 100


def test_the_same_run_gives_the_same_record_and_history():
    X, y = _blobs()
    first = nnlab.train(nnlab.mlp([4, 8, 2], seed=0), X, y, epochs=2)
    second = nnlab.train(nnlab.mlp([4, 8, 2], seed=0), X, y, epochs=2)
    assert first.run == second.run and first.same_as(second)


def test_diagnose_reports_the_numbers_the_labs_show():
    """One definition per number: error growth and the generalization gap come from nnlab.metrics."""
    from nnlab import metrics
    from nnlab.experiments import CASES, run

    exploding = run(CASES["exploding"].broken)
    finding = diagnose(exploding).finding("exploding_gradients")
    assert finding.numbers["error_growth"] == metrics.error_growth(exploding, 0)
    assert metrics.error_growth_text(exploding).startswith(
        f"error growth across the hidden layers x{finding.numbers['error_growth']:.3g}")
    overfit = run(CASES["dropout"].broken)
    finding = diagnose(overfit).finding("overfitting")
    assert finding.numbers["accuracy_gap"] == metrics.generalization_gap(overfit)
    assert finding.numbers["train_accuracy"] == metrics.training_accuracy_during(overfit)
    history = run(CASES["dead_relu"].broken)
    dead = diagnose(history).finding("dead_relu").numbers["worst_dead_fraction"]
    assert dead == history.epoch_dead_fraction[-1].max()

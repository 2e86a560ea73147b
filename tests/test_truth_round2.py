"""Issue 22, nothing lies off the path (round two): one test per item, each of which failed
before the fix (the background thread, long runs, telemetry off, empty runs, typos in
settings, stale answers, labels, import cycles)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import nnlab
from nnlab import experiments, labs, metrics, mysteries, speculate
from nnlab.engine import telemetry

from test_speculate import wait_until_idle


def _learner_run(seed=0):
    X, y = nnlab.datasets.moons(n=100, seed=seed)
    model = nnlab.mlp([2, 8, 2], seed=seed)
    return nnlab.train(model, X, y, epochs=2, seed=seed)


# --- the background thread --------------------------------------------------

@pytest.fixture
def fresh_speculator(monkeypatch):
    speculator = speculate.Speculator()
    monkeypatch.setattr(speculate, "SPECULATOR", speculator)
    experiments.outcome.cache_clear()        # so that the thread really trains
    yield speculator
    if speculator.shell is not None:
        speculator.shell.events.unregister("pre_run_cell", speculator.pause)
        speculator.shell.events.unregister("post_run_cell", speculator.resume)


def test_background_runs_never_replace_the_learners_last_history(fresh_speculator):
    lab = labs.vanishing()
    mine = _learner_run()
    lab.output._view_count = 1                   # a learner looks at the lab: the thread starts
    wait_until_idle(fresh_speculator)
    assert fresh_speculator.runs > 0 and not fresh_speculator.errors
    assert nnlab.last_history is mine, "a background run replaced the learner's last_history"


def test_an_interrupted_learner_run_stays_last_history_with_a_lab_on_screen(fresh_speculator,
                                                                           monkeypatch):
    lab = labs.exploding()
    lab.output._view_count = 1
    X, y = nnlab.datasets.moons(n=100, seed=0)
    model = nnlab.mlp([2, 8, 2], seed=0)
    original = nnlab.training._end_epoch

    def interrupt_in_epoch_three(run, epoch):
        original(run, epoch)
        if epoch == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(nnlab.training, "_end_epoch", interrupt_in_epoch_three)
    with pytest.raises(nnlab.TrainingInterrupted):
        nnlab.train(model, X, y, epochs=10, seed=0)
    monkeypatch.setattr(nnlab.training, "_end_epoch", original)
    mine = nnlab.last_history
    assert mine.interrupted
    wait_until_idle(fresh_speculator)
    assert fresh_speculator.runs > 0
    assert nnlab.last_history is mine and nnlab.last_history.interrupted


def test_the_background_thread_starts_nothing_while_a_learners_cell_runs(fresh_speculator):
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try:
        lab = labs.batchnorm()
        lab.output._view_count = 1               # tasks queued; the thread follows the cells
        assert fresh_speculator.shell is shell
        shell.user_ns["speculator"] = fresh_speculator
        result = shell.run_cell("import time\n"
                                "started_before = speculator.started\n"
                                "time.sleep(1.0)\n"
                                "started_during = speculator.started - started_before\n")
        assert result.success
        assert fresh_speculator.queue, "the queue should still wait for the learner's cell"
        assert shell.user_ns["started_during"] == 0
        wait_until_idle(fresh_speculator)        # after the cell, the thread goes on
        assert fresh_speculator.started > 0 and not fresh_speculator.errors
    finally:
        InteractiveShell.clear_instance()


def test_a_click_waiting_for_a_paused_background_run_is_not_stuck(fresh_speculator):
    config = experiments.CASES["vanishing"].broken.replace(seed=7)
    fresh_speculator.pause()                     # as if a learner's cell ran
    fresh_speculator.ahead([("k", lambda: fresh_speculator.train(config))])
    time.sleep(0.3)                              # (not a timing assertion: lets it start)
    result = fresh_speculator.outcome(config)    # would wait forever if the pause held
    assert result.history.epochs == config.epochs
    fresh_speculator.resume()


# --- long runs over the telemetry budget ------------------------------------

@pytest.fixture
def thinned_history(monkeypatch):
    """A run that keeps every k-th step (k > 1), as a run over the 200 MB budget does."""
    X, y = nnlab.datasets.spirals(n=200, seed=0)
    model = nnlab.mlp([2, 16, 16, 16, 2], activation="sigmoid", init="xavier", seed=0)
    monkeypatch.setattr(telemetry, "TELEMETRY_BUDGET", 25 * telemetry.row_bytes(model))
    history = nnlab.train(model, X, y, epochs=20, batch_size=20, seed=0)
    assert history.telemetry_steps.size < history.steps
    return history


def test_a_step_maps_to_the_kept_row_that_shows_it(thinned_history):
    history = thinned_history
    kept = history.telemetry_steps
    for step in (0, 1, int(kept[3]), int(kept[3]) + 1, history.steps - 1, -1):
        row, shown = history.telemetry_row(step)
        target = step if step >= 0 else history.steps + step
        assert shown == kept[row] and shown <= target
        assert row == kept.size - 1 or kept[row + 1] > target


def test_metrics_read_the_step_not_the_row(thinned_history):
    history = thinned_history
    step = int(history.telemetry_steps[5]) + 1
    row, _ = history.telemetry_row(step)
    assert row == 5
    expected = history.grad_norms[5, 0] / history.grad_norms[5, -1]
    assert metrics.gradient_ratio(history, step) == pytest.approx(expected)
    growth = history.bias_grad_norms[5, 0] / history.bias_grad_norms[5, -2]
    assert metrics.error_growth(history, step) == pytest.approx(growth)


def test_plot_titles_say_the_step_shown(thinned_history):
    from nnlab import plots
    history = thinned_history
    last = history.steps - 1
    shown = history.telemetry_row(last)[1]
    assert shown != last
    ax = plots.gradient_per_layer(history, step=last)
    assert f"step {shown}" in ax.get_title()
    ax = plots.activation_statistics(history, step=-1)
    assert ax.get_title() == f"Activations at step {shown}"


def test_diagnose_says_a_long_run_kept_every_kth_step(thinned_history):
    report = nnlab.diagnose(thinned_history)
    text = str(report)
    assert "median over" not in text or "the run kept every" in text
    finding = next((f for f in report.findings if f.case == "vanishing_gradients"), None)
    if finding is not None:
        assert finding.step in set(int(s) for s in thinned_history.telemetry_steps)


# --- telemetry off ----------------------------------------------------------

def test_plots_of_a_run_without_telemetry_say_so():
    from nnlab import plots
    X, y = nnlab.datasets.moons(n=120, seed=0)
    history = nnlab.train(nnlab.mlp([2, 8, 8, 2], seed=0), X, y, epochs=3, telemetry=False)
    for draw in (plots.gradient_per_layer, plots.activation_statistics, plots.dead_fraction_curves):
        ax = draw(history)
        texts = [text.get_text() for text in ax.texts]
        assert "telemetry was off for this run" in texts, (draw.__name__, texts)


# --- empty runs -------------------------------------------------------------

def test_zero_epochs_is_a_clear_value_error_everywhere():
    config = experiments.CASES["vanishing"].broken.replace(epochs=0)
    with pytest.raises(ValueError, match="epochs"):
        experiments.run(config)
    with pytest.raises(ValueError, match="epochs"):
        experiments.frame_epochs(0)
    verdict = mysteries.fix_verdict("A", mysteries.MYSTERIES["A"].replace(epochs=0))
    assert verdict.correct is False and "epochs" in verdict.message
    from nnlab import exercises
    said = str(exercises.verdict("01.3", config))
    assert "StopIteration" not in said and "epochs" in said


# --- settings a learner edits -----------------------------------------------

def test_a_typo_in_replace_names_the_setting_and_lists_the_valid_ones():
    broken = experiments.CASES["vanishing"].broken
    with pytest.raises(TypeError) as raised:
        broken.replace(activaton="relu")
    message = str(raised.value)
    assert "'activaton'" in message and "did you mean 'activation'" in message
    for setting in ("activation", "init", "lr", "hidden", "batchnorm"):
        assert setting in message
    with pytest.raises(TypeError, match="valid settings"):
        mysteries.MYSTERIES["A"].replace(learning_rate=0.1)


def test_a_check_never_judges_the_answer_left_from_before_a_failed_answer_cell():
    from IPython.core.interactiveshell import InteractiveShell
    from nnlab import exercises
    shell = InteractiveShell.instance()
    try:
        exercises._follow_cells()
        shell.run_cell("from nnlab import exercises, experiments\n"
                       "case = experiments.case('vanishing')\n"
                       "my_fixed_config = case.broken.replace(activation='tanh')\n")
        failed = shell.run_cell("my_fixed_config = case.broken.replace(activaton='relu')\n")
        assert not failed.success
        said = exercises.verdict("01.3", namespace=shell.user_ns)
        assert said.status == exercises.NOT_RUN and "raised an error" in said.reason
        shell.run_cell("my_fixed_config = None\n")
        said = exercises.verdict("01.3", namespace=shell.user_ns)
        assert said.status == exercises.NOT_ANSWERED
        # a failing cell that did assign the answer first leaves a fresh answer, judged
        shell.run_cell("my_fixed_config = case.broken\nraise RuntimeError('later line')\n")
        assert exercises.verdict("01.3", namespace=shell.user_ns).status == exercises.WRONG
    finally:
        shell.events.unregister("pre_run_cell", exercises._cell_starts)
        shell.events.unregister("post_run_cell", exercises._cell_ends)
        exercises._followed_shell = None
        exercises._stale.clear()
        InteractiveShell.clear_instance()


# --- labels -----------------------------------------------------------------

def test_integer_labels_on_a_one_output_net_say_to_use_two_outputs():
    X, y = nnlab.datasets.moons(n=60, seed=0)
    with pytest.raises(ValueError) as raised:
        nnlab.train(nnlab.mlp([2, 8, 1], seed=0), X, y, epochs=1)
    assert "2 outputs" in str(raised.value) and "MeanSquaredError" in str(raised.value)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_the_loss_chosen_for_bool_or_float_labels_is_said(kind):
    X, y = nnlab.datasets.moons(n=60, seed=0)
    labels = y.astype(bool) if kind == "bool" else y.astype(float)
    with pytest.warns(UserWarning, match="mean squared error"):
        nnlab.train(nnlab.mlp([2, 8, 1], seed=0), X, labels, epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # chosen on purpose: nothing to say
        nnlab.train(nnlab.mlp([2, 8, 1], seed=0), X, labels.astype(float), epochs=1,
                    loss=nnlab.MeanSquaredError())
        targets = np.linspace(-1, 1, 60)     # real regression targets: nothing to say either
        nnlab.train(nnlab.mlp([2, 8, 1], seed=0), X, targets, epochs=1)


# --- a progress bar by default, in a notebook, for long runs -----------------

class _RecordingBar:
    shown: list = []

    def __init__(self, total, description):
        self.updates = []
        _RecordingBar.shown.append(self)

    def update(self, done, text=""):
        self.updates.append(done)

    def close(self, text=""):
        self.closed = text


@pytest.mark.parametrize("setting, after, expect_bar", [
    ("1", 0.0, True),            # a notebook, a run past the threshold: a bar by default
    ("1", 3600.0, False),        # a short run: nothing
    ("0", 0.0, False),           # NNLAB_PROGRESS=0 (tests, nbval, make notebooks): nothing
])
def test_train_shows_a_progress_bar_by_default_in_a_notebook_for_long_runs(monkeypatch, setting,
                                                                           after, expect_bar):
    from nnlab.engine import progress
    monkeypatch.setenv("NNLAB_PROGRESS", setting)
    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    monkeypatch.setattr(progress, "NOTEBOOK_BAR", _RecordingBar)
    monkeypatch.setattr(progress, "PROGRESS_AFTER", after)
    _RecordingBar.shown = []
    X, y = nnlab.datasets.moons(n=60, seed=0)
    nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X, y, epochs=4)
    assert bool(_RecordingBar.shown) is expect_bar
    if expect_bar:
        assert _RecordingBar.shown[0].updates[-1] == 4
    _RecordingBar.shown = []
    nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X, y, epochs=4, progress=False)
    assert not _RecordingBar.shown
    with nnlab.training.quietly():        # the course's background runs never show one
        nnlab.train(nnlab.mlp([2, 8, 2], seed=0), X, y, epochs=4)
    assert not _RecordingBar.shown


def test_the_test_suite_runs_with_the_default_bar_off():
    import os
    assert os.environ.get("NNLAB_PROGRESS") == "0"


# --- diagnose: unscaled inputs and constant columns ----------------------------

def _moons_one_feature_times_1000(lr):
    X, y = nnlab.datasets.moons(n=300, seed=0)
    X = X.copy()
    X[:, 0] *= 1000
    model = nnlab.mlp([2, 32, 32, 2], activation="relu", seed=0)
    return nnlab.train(model, X, y, epochs=30, lr=lr, seed=0), model, (X, y)


@pytest.mark.parametrize("lr", [0.1, 0.001])
def test_diagnose_names_unscaled_inputs_on_a_relu_net_and_standardizing_comes_first(lr):
    history, model, data = _moons_one_feature_times_1000(lr)
    for report in (nnlab.diagnose(history), nnlab.diagnose(history, model=model, data=data)):
        assert report.cases[0] == "unscaled_inputs", report.cases
        first = report.findings[0]
        assert "standardize" in " ".join(first.remedies).lower()
        others = " ".join(r for f in report.findings[1:] for r in f.remedies).lower()
        assert "lower the learning rate" not in others and "clip" not in others
        assert "-1 or +1" not in str(report)      # ReLU units are not pinned at -1 or +1


def test_standardizing_is_the_fix_the_diagnosis_promised():
    history, _, (X, y) = _moons_one_feature_times_1000(0.001)
    fixed = nnlab.train(nnlab.mlp([2, 32, 32, 2], activation="relu", seed=0),
                        nnlab.datasets.standardize(X), y, epochs=30, lr=0.001, seed=0)
    assert metrics.training_accuracy_during(fixed) > metrics.training_accuracy_during(history)


@pytest.mark.parametrize("column", [0.0, 1.0])
def test_a_constant_column_is_not_read_as_unstandardized(column):
    X, y = nnlab.datasets.moons(n=200, seed=0)
    X = nnlab.datasets.standardize(np.hstack([X, np.full((200, 1), column)]))
    history = nnlab.train(nnlab.mlp([3, 16, 16, 2], seed=0), X, y, epochs=20, seed=0)
    assert history.run.inputs_standardized
    lo, hi = history.run.input_scale
    assert 0.5 <= lo <= hi <= 2
    for report in (nnlab.diagnose(history), nnlab.diagnose(history, data=(X, y))):
        assert "unscaled_inputs" not in report.cases
        assert not any("Normalize the inputs" in r for r in report.remedies)


def test_a_constant_zero_column_does_not_hide_unscaled_inputs_passed_as_data():
    X, y = nnlab.datasets.moons(n=200, seed=0)
    X = np.hstack([X * [1000.0, 1.0], np.zeros((200, 1))])
    history = nnlab.train(nnlab.mlp([3, 16, 16, 2], seed=0), X, y, epochs=5, lr=0.001, seed=0)
    report = nnlab.diagnose(history, data=(X, y))
    assert "unscaled_inputs" in report.cases


def test_diagnose_reads_momentum_into_the_effective_step():
    X, y = nnlab.datasets.spirals(n=300, seed=0)
    X = nnlab.datasets.standardize(X)
    model = nnlab.mlp([2, 32, 32, 2], seed=0)
    history = nnlab.train(model, X, y, epochs=30, optimizer=nnlab.SGD(0.1, momentum=0.99),
                          seed=0)
    remedies = [r for r in nnlab.diagnose(history).remedies if "Lower the learning rate" in r]
    assert remedies, nnlab.diagnose(history)
    assert all("momentum 0.99" in r and "effective step" in r and "= 10" in r for r in remedies)


# --- an interrupted lab click -------------------------------------------------

def test_an_interrupted_click_leaves_a_consistent_lab(monkeypatch):
    lab = labs.vanishing()
    before = (lab.values(), lab.preset.value, lab.history, lab.epoch.max, lab.epoch.value,
              lab.output.outputs[0]["data"]["image/svg+xml"])
    original = speculate.outcome

    def interrupted(config):
        if config.depth != before[0]["depth"]:
            raise nnlab.TrainingInterrupted(nnlab.History())
        return original(config)
    monkeypatch.setattr(speculate, "outcome", interrupted)
    name = "depth"
    widget = lab.controls[name]
    widget.value = next(v for v in _values(widget) if v != widget.value)
    values, preset, history, epoch_max, epoch, svg = before
    assert lab.values() == values and lab.preset.value == preset
    assert lab.history is history and lab.epoch.max == epoch_max and lab.epoch.value == epoch
    assert lab.output.outputs[0]["data"]["image/svg+xml"] == svg
    assert "training:" not in lab.status_text() and "interrupted" in lab.status_text()
    monkeypatch.setattr(speculate, "outcome", original)
    widget.value = next(v for v in _values(widget) if v != widget.value)   # the lab still works
    assert lab.values()[name] == widget.value and "interrupted" not in lab.status_text()


def _values(widget):
    from nnlab.lab import widget_values
    return widget_values(widget)


# --- structure ------------------------------------------------------------------

def test_no_two_modules_import_each_other():
    from pathlib import Path
    from test_layout import imported_modules
    root = Path(nnlab.__file__).resolve().parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    # ``from . import reading`` names the package too; a submodule always loads its own
    # package first, so that edge says nothing about the layering.
    graph = {name: {other for other in imported_modules(path) if other in modules
                    and other != name and not name.startswith(other + ".")}
             for name, path in modules.items()}
    pairs = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets
                    if a in graph.get(b, set())})
    assert not pairs, f"these modules import each other: {pairs}"


# --- diagnose: judgment calls, settled ----------------------------------------

def test_a_deep_sigmoid_net_with_he_init_that_stays_at_chance_is_the_networks_fault():
    X, y = nnlab.datasets.spirals(n=300, seed=0)
    X = nnlab.datasets.standardize(X)
    model = nnlab.mlp([2, 32, 32, 32, 32, 2], activation="sigmoid", init="he", seed=0)
    report = nnlab.diagnose(nnlab.train(model, X, y, epochs=30, lr=0.1, seed=0))
    assert report.cases[0] == "vanishing_gradients", report.cases
    assert not any("inputs carry information" in remedy for remedy in report.remedies)
    assert any("ReLU" in remedy for remedy in report.remedies)


def test_a_run_that_trained_well_is_not_called_exploding_from_step_0_alone():
    X, y = nnlab.datasets.spirals(n=300, seed=0)
    X = nnlab.datasets.standardize(X)
    model = nnlab.mlp([2] + [32] * 12 + [2], activation="sigmoid", init="xavier", batchnorm=True,
                      seed=0)
    history = nnlab.train(model, X, y, epochs=30, lr=0.1, seed=0)
    assert metrics.error_growth(history) > 10 and history.accuracy[-1] > 0.9
    report = nnlab.diagnose(history)
    assert "exploding_gradients" not in report.cases
    assert any("did not last" in note for note in report.notes)


def test_validation_loss_far_above_its_best_is_overfitting_evidence():
    """Training accuracy 1.00, validation 0.907 (best 0.927), validation loss 3.5x its best:
    the accuracy gap alone (0.08) is under ACCURACY_GAP, the rising loss is read too."""
    history = nnlab.History(
        loss=list(np.linspace(0.6, 0.01, 30)), accuracy=list(np.linspace(0.7, 1.0, 30)),
        val_loss=list(np.r_[np.linspace(0.6, 0.3, 10), np.linspace(0.3, 1.08, 20)]),
        val_accuracy=list(np.r_[np.linspace(0.7, 0.927, 10), np.linspace(0.927, 0.907, 20)]),
        step_loss=np.linspace(0.7, 0.01, 300), epochs=30, steps_per_epoch=10, n_classes=2)
    assert metrics.generalization_gap(history) < nnlab.diagnosis.ACCURACY_GAP
    report = nnlab.diagnose(history)
    assert report.cases == ["overfitting"]
    assert "validation loss" in report.findings[0].evidence


def test_mystery_c_may_be_answered_with_its_root_cause_too():
    assert mysteries.verdict("C", "saturated_activations").correct
    assert mysteries.verdict("C", "unscaled_inputs").correct
    assert mysteries.verdict("C", ["unscaled_inputs", "saturated_activations"]).correct
    assert not mysteries.verdict("C", "dead_relu").correct


def test_removing_hidden_layers_is_not_a_fix_for_a_gradient_fault_here_either():
    A = mysteries.MYSTERIES["A"]
    for hidden in ((), (24,)):
        verdict = mysteries.fix_verdict("A", A.replace(hidden=hidden))
        assert verdict.correct is False and "shallower" in verdict.message
    assert mysteries.fix_verdict("A", A.replace(activation="relu", init="he")).correct

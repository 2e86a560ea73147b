"""Adversarial checks of lessons 03 and 04's exercises (issue 22).

Wrong-but-plausible answers are rejected with a reason that points at the idea and
does not give the answer away; right answers are accepted in every reasonable form.
"""

import numpy as np
import pytest

from nnlab import exercises, experiments, studies
from nnlab.exercises import RIGHT, WRONG, lesson03, lesson04


def verdict(exercise_id, answer):
    return exercises.verdict(exercise_id, answer)


def assert_wrong(exercise_id, answer, *words, not_words=()):
    result = verdict(exercise_id, answer)
    assert result.status == WRONG, f"{answer!r} was accepted: {result}"
    for word in words:
        assert word in result.reason, str(result)
    for word in not_words:
        assert word not in result.reason, f"the reason gives the answer away: {result}"
    return result


# --- 03.1: predict the dead share ----------------------------------------------------

@pytest.mark.parametrize("answer", ["at least half", "At least half", "  at least half "])
def test_03_1_accepts_the_right_prediction_in_any_case_and_spacing(answer):
    assert verdict("03.1", answer).status == RIGHT


@pytest.mark.parametrize("answer", ["none", "under half"])
def test_03_1_a_wrong_prediction_points_at_the_threshold_without_the_answer(answer):
    assert_wrong("03.1", answer, "one half", not_words=("at least half", "80%"))


def test_03_1_a_free_text_answer_lists_the_options():
    assert_wrong("03.1", "80%", "'none' or 'under half' or 'at least half'")


# --- 03.2: ReLU's backward pass ---------------------------------------------------------

RELU_WRONG = {
    "multiplies by the output": ("lambda output, grad_out: grad_out * output", "slope is 1"),
    "passes gradient at zero output": ("lambda output, grad_out: grad_out * (output >= 0)",
                                       "no gradient may pass"),
    "ignores the unit": ("lambda output, grad_out: grad_out", "no gradient may pass"),
    "clips the gradient instead": ("lambda output, grad_out: np.maximum(grad_out, 0)",
                                   "no gradient may pass"),
    "forgets grad_out": ("lambda output, grad_out: (output > 0).astype(float)", "slope is 1"),
    "only the first row": ("lambda output, grad_out: np.where(np.arange(len(output))[:, None] == 0,"
                           " grad_out * (output > 0), grad_out)", "off entry"),
    "sign of the output": ("lambda output, grad_out: grad_out * np.sign(output) * 2", "slope is 1"),
}


@pytest.mark.parametrize("kind", list(RELU_WRONG))
def test_03_2_rejects_plausible_wrong_backward_passes(kind):
    code, word = RELU_WRONG[kind]
    assert_wrong("03.2", eval(code, {"np": np}), word, not_words=("output > 0",))


RELU_RIGHT = {
    "mask": lambda output, grad_out: grad_out * (output > 0),
    "where": lambda output, grad_out: np.where(output > 0, grad_out, 0.0),
    "float32": lambda output, grad_out: (grad_out * (output > 0)).astype(np.float32),
    "float32 inputs": lambda output, grad_out: np.float32(grad_out) * (np.float32(output) > 0),
    "list": lambda output, grad_out: (grad_out * (output > 0)).tolist(),
    "heaviside": lambda output, grad_out: grad_out * np.heaviside(output, 0.0),
}


def _in_place(output, grad_out):
    grad_out[output <= 0] = 0
    return grad_out


RELU_RIGHT["in place"] = _in_place


@pytest.mark.parametrize("kind", list(RELU_RIGHT))
def test_03_2_accepts_right_backward_passes_in_every_form(kind):
    result = verdict("03.2", RELU_RIGHT[kind])
    assert result.status == RIGHT, str(result)


# --- 03.3: which layer can revive ------------------------------------------------------

def test_03_3_the_answer_is_what_the_run_measures():
    run = studies.continued(lesson03.TWO_LAYERS, lesson03.CONTINUE_LR)
    assert run.revived[0] == 0 and run.revived[1] > 0
    result = verdict("03.3", "The second")
    assert result.status == RIGHT and f"{run.revived[1]} second-layer units" in result.reason


@pytest.mark.parametrize("answer,word", [("neither", "Does x stay fixed"),
                                         ("both", "which layers' inputs"),
                                         ("the first", "which of those inputs can change")])
def test_03_3_wrong_answers_point_at_the_input_without_naming_the_layer(answer, word):
    assert_wrong("03.3", answer, word, not_words=("second",))


# --- 04.1: the ceiling ----------------------------------------------------------------

@pytest.mark.parametrize("answer", [0.7, 0.69, 0.688, 0.65, 0.72, np.float64(0.7), np.float32(0.7)])
def test_04_1_accepts_the_ceiling_in_any_reasonable_form(answer):
    assert verdict("04.1", answer).status == RIGHT


@pytest.mark.parametrize("answer,word", [(1.0, "flipped too"), (0.9, "flipped too"),
                                         (0.3, "share of labels flipped"), (0.5, "guessing"),
                                         (0.2, "too low")])
def test_04_1_wrong_ceilings_point_at_the_flipped_labels_without_the_answer(answer, word):
    assert_wrong("04.1", answer, word, not_words=("0.69", "0.688", "0.7 "))


def test_04_1_a_percentage_is_told_to_be_a_share():
    assert_wrong("04.1", 70, "written 0.45")


def test_04_1_the_ceiling_is_measured_not_stored():
    config = experiments.CASES["dropout"].broken
    assert studies.label_ceiling(config.replace(label_noise=0.1)) == pytest.approx(0.9, abs=0.02)


# --- 04.2: inverted dropout --------------------------------------------------------------

DROPOUT_WRONG = {
    "exactly rate x n per row": (
        "def dropout_forward(x, rate, rng):\n"
        "    keep = np.ones(x.shape, dtype=bool)\n"
        "    for row in keep:\n"
        "        row[rng.permutation(x.shape[1])[:int(round(rate * x.shape[1]))]] = False\n"
        "    return x * keep / (1 - rate)\n", "varies from row to row"),
    "one mask for the whole batch": (
        "def dropout_forward(x, rate, rng):\n"
        "    return x * (rng.random(x.shape[1:]) >= rate) / (1 - rate)\n", "same mask"),
    "whole examples dropped": (
        "def dropout_forward(x, rate, rng):\n"
        "    return x * (rng.random((x.shape[0], 1)) >= rate) / (1 - rate)\n", "whole"),
    "scaled by 1 - rate": (
        "def dropout_forward(x, rate, rng):\n"
        "    return x * (rng.random(x.shape) >= rate) * (1 - rate)\n", "1 / (1 - rate)"),
    "not scaled": (
        "def dropout_forward(x, rate, rng):\n"
        "    return x * (rng.random(x.shape) >= rate)\n", "scaled by 1 / (1 - rate)"),
    "keeps with probability rate": (
        "def dropout_forward(x, rate, rng):\n"
        "    return x * (rng.random(x.shape) < rate) / rate\n", "probability of dropping"),
    "same mask every call": (
        "def dropout_forward(x, rate, rng):\n"
        "    return x * (np.random.default_rng(rng.integers(1) * 0).random(x.shape) >= rate)"
        " / (1 - rate)\n", "`rng`"),
}


@pytest.mark.parametrize("kind", list(DROPOUT_WRONG))
def test_04_2_rejects_plausible_wrong_dropouts(kind):
    code, word = DROPOUT_WRONG[kind]
    namespace = {"np": np}
    exec(code, namespace)
    assert_wrong("04.2", namespace["dropout_forward"], word)


DROPOUT_RIGHT = [
    "def dropout_forward(x, rate, rng):\n    return x * (rng.random(x.shape) >= rate) / (1 - rate)\n",
    "def dropout_forward(x, rate, rng):\n"
    "    mask = rng.binomial(1, 1 - rate, size=x.shape)\n    return mask * x / (1 - rate)\n",
    "def dropout_forward(x, rate, rng):\n"
    "    return np.where(rng.uniform(size=x.shape) < rate, 0.0, x / (1 - rate))\n",
    "def dropout_forward(x, rate, rng):\n"
    "    keep = rng.random(x.shape) > rate\n    out = x.copy()\n    out[~keep] = 0\n"
    "    out[keep] /= 1 - rate\n    return out\n",
    "def dropout_forward(x, rate, rng):\n"
    "    return (x * (rng.random(x.shape) >= rate) / (1 - rate)).astype(np.float32)\n",
]


@pytest.mark.parametrize("code", DROPOUT_RIGHT)
def test_04_2_accepts_right_dropouts_in_every_form(code):
    namespace = {"np": np}
    exec(code, namespace)
    result = verdict("04.2", namespace["dropout_forward"])
    assert result.status == RIGHT, str(result)


# --- 04.3: early stopping on an unseen run ------------------------------------------------

def unseen():
    return experiments.outcome(lesson04.UNSEEN)


def test_04_3_the_answer_is_the_epoch_of_the_lowest_validation_loss_counted_from_1():
    epoch = int(np.argmin(unseen().history.val_loss)) + 1
    for form in (epoch, float(epoch), np.int64(epoch)):
        assert verdict("04.3", form).status == RIGHT
    assert studies.early_stop(unseen()).epoch == epoch


def test_04_3_wrong_readings_are_named_without_the_answer():
    history = unseen().history
    best = int(np.argmin(history.val_loss)) + 1
    assert_wrong("04.3", best - 1, "one off", not_words=(str(best),))
    assert_wrong("04.3", int(np.argmax(history.val_accuracy)) + 1, "highest validation accuracy",
                 not_words=(f"epoch {best}",))
    assert_wrong("04.3", len(history.loss), "training loss keeps falling")
    assert_wrong("04.3", best + 100, "is lowest", not_words=(f"epoch {best}",))
    assert_wrong("04.3", 0, "[1, 1000]")

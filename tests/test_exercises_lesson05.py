"""Lesson 05's exercises, adversarially: wrong-but-plausible answers are rejected with a reason
that points at the idea without giving the answer away; right answers in every reasonable form
are accepted."""

import numpy as np
import pytest

from nnlab import exercises
from nnlab.exercises import RIGHT, WRONG


def verdict(exercise_id, answer):
    return exercises.verdict(exercise_id, answer)


def solution(exercise_id):
    namespace = {"np": np}
    exec(exercises.get(exercise_id).solution, namespace)
    return namespace[exercises.get(exercise_id).answer]


# --- 05.1: which net trains at lr 1 ---------------------------------------------------

@pytest.mark.parametrize("answer", ["batchnorm", "BatchNorm", " batchnorm "])
def test_05_1_right_in_any_case(answer):
    result = verdict("05.1", answer)
    assert result.status == RIGHT and "never in 40 epochs" in result.reason, str(result)


@pytest.mark.parametrize("answer", ["plain", "both", "neither"])
def test_05_1_wrong_points_at_the_idea_not_the_answer(answer):
    result = verdict("05.1", answer)
    assert result.status == WRONG and "sweep" in result.reason
    assert "batchnorm" not in result.reason.lower().replace("batch normalization", "")


def test_05_1_unknown_word_names_the_choices():
    result = verdict("05.1", "bn")
    assert result.status == WRONG and "'plain' or 'batchnorm'" in result.reason


# --- 05.2: batch norm's backward pass, gradient-checked ---------------------------------

def _parts(grad_out, x, gamma, eps):
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_std
    return inv_std, x_hat


def evaluation_mode(grad_out, x, gamma, eps=1e-5):
    inv_std, x_hat = _parts(grad_out, x, gamma, eps)
    return gamma * inv_std * grad_out, (grad_out * x_hat).sum(0), grad_out.sum(0)


def without_variance_path(grad_out, x, gamma, eps=1e-5):
    inv_std, x_hat = _parts(grad_out, x, gamma, eps)
    return (gamma * inv_std * (grad_out - grad_out.mean(0)), (grad_out * x_hat).sum(0),
            grad_out.sum(0))


def without_mean_path(grad_out, x, gamma, eps=1e-5):
    inv_std, x_hat = _parts(grad_out, x, gamma, eps)
    return (gamma * inv_std * (grad_out - x_hat * (grad_out * x_hat).mean(0)),
            (grad_out * x_hat).sum(0), grad_out.sum(0))


def gamma_times_x(grad_out, x, gamma, eps=1e-5):
    grad_x, _, grad_beta = solution("05.2")(grad_out, x, gamma, eps)
    return grad_x, (grad_out * x).sum(0), grad_beta


def mean_beta(grad_out, x, gamma, eps=1e-5):
    grad_x, grad_gamma, _ = solution("05.2")(grad_out, x, gamma, eps)
    return grad_x, grad_gamma, grad_out.mean(0)


def unbiased_variance(grad_out, x, gamma, eps=1e-5):
    n = x.shape[0]
    inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_std
    grad_beta, grad_gamma = grad_out.sum(0), (grad_out * x_hat).sum(0)
    return gamma * inv_std / n * (n * grad_out - grad_beta - x_hat * grad_gamma), grad_gamma, grad_beta


@pytest.mark.parametrize("wrong,words", [
    (evaluation_mode, "constants"), (without_variance_path, "variance"),
    (without_mean_path, "mean"), (gamma_times_x, "x_hat"), (mean_beta, "sum"),
    (unbiased_variance, "chain rule")])
def test_05_2_plausible_wrong_backward_passes_are_rejected_with_a_reason(wrong, words):
    result = verdict("05.2", wrong)
    assert result.status == WRONG and words in result.reason, str(result)
    assert "relative error" in result.reason
    assert "n * grad_out" not in result.reason and "n g" not in result.reason


def test_05_2_right_as_tuple_list_or_float32_and_gradient_checked():
    right = solution("05.2")
    for form in (right, lambda *a: list(right(*a)),
                 lambda *a: tuple(np.asarray(v, np.float32) for v in right(*a))):
        result = verdict("05.2", form)
        assert result.status == RIGHT and "relative error" in result.reason, str(result)


def test_05_2_wrong_shapes_and_counts_say_which_gradient():
    right = solution("05.2")
    result = verdict("05.2", lambda *a: right(*a)[:2])
    assert result.status == WRONG and "three arrays" in result.reason
    result = verdict("05.2", lambda g, x, gamma, eps=1e-5: (right(g, x, gamma, eps)[0],
                                                           right(g, x, gamma, eps)[1][None, :],
                                                           right(g, x, gamma, eps)[2]))
    assert result.status == WRONG and "grad_gamma" in result.reason and "shape" in result.reason
    result = verdict("05.2", lambda *a: None)
    assert result.status == WRONG and "returned None" in result.reason


# --- 05.3: scale the weights --------------------------------------------------------------

@pytest.mark.parametrize("answer", [0.1, 1 / 10, np.float64(0.1), 0.1000001])
def test_05_3_right_in_every_form(answer):
    assert verdict("05.3", answer).status == RIGHT


@pytest.mark.parametrize("answer,words", [(10, "does the layer's output"), (1, "chain rule"),
                                          (0.01, "one power of ten"), (0.5, "chain rule")])
def test_05_3_plausible_wrong_factors_point_at_the_idea(answer, words):
    result = verdict("05.3", answer)
    assert result.status == WRONG and words in result.reason, str(result)
    assert "0.1" not in result.reason and "1/10" not in result.reason


def test_05_3_not_a_number_says_what_is_valid():
    result = verdict("05.3", "0.1")
    assert result.status == WRONG and "number" in result.reason


# --- 05.4: batch norm on raw inputs ---------------------------------------------------------

def test_05_4_right_and_wrong():
    assert verdict("05.4", False).status == RIGHT
    assert verdict("05.4", np.bool_(False)).status == RIGHT
    wrong = verdict("05.4", True)
    assert wrong.status == WRONG and "proportional" not in wrong.reason
    assert "(its input) x (the error at its unit)" in wrong.reason
    assert verdict("05.4", "no").status == WRONG

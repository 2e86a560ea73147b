"""Every exercise's check: right for its solution, wrong (with a reason) for a typical
wrong answer, "not answered" for None, and "not implemented" for an untouched stub."""

import numpy as np
import pytest

from nnlab import exercises
from nnlab.exercises import NOT_ANSWERED, NOT_IMPLEMENTED, RIGHT, WRONG
from nnlab.experiments import CASES


def stub(*args, **kwargs):
    raise NotImplementedError("your code here")


# A typical mistake for each exercise, and a word its reason must contain.
TYPICAL_WRONG = {
    "00.1": ("def sigmoid_backward(output, grad_out):\n    return grad_out * output\n",
             "s (1 - s)"),
    "00.2": ("def dense_backward(x, W, grad_out):\n"
             "    return x.T @ grad_out, grad_out.mean(axis=0), grad_out @ W.T\n", "mean"),
    "00.3": ("import nnlab\n"
             "finite_difference_passes = nnlab.mlp([2, 64, 64, 64, 2]).parameter_count()\n", "two"),
    "01.1": ('shallow_net_prediction = "smaller"\n', "factors"),
    "01.2": ('from nnlab import experiments\n'
             'my_fixed_config = experiments.CASES["vanishing"].broken.replace(init="he")\n',
             "times smaller"),
    "02.1": ("init_std = 0.8\n", "diverged"),
    "02.2": ("import numpy as np\n"
             "def clip_by_global_norm(grads, max_norm):\n"
             "    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]\n",
             "each array on its own"),
    "02.3": ("clipping_changes_growth = True\n", "common factor"),
    "03.1": ("def relu_backward(output, grad_out):\n    return grad_out * output\n", "slope is 1"),
    "03.2": ("largest_safe_lr = 5.0\n", "dead"),
    "03.3": ("dead_unit_weights_changed = 2\n", "sets that error to 0"),
    "04.1": ('unscaled_dropout_prediction = "the same"\n', "every unit is there"),
    "04.2": ("def dropout_forward(x, rate, rng):\n"
             "    return x * (rng.random(x.shape) < rate)\n", "probability of dropping"),
    "04.3": ("my_dropout_rate = 1.0\n", "barely learns"),
    "05.1": ("def batchnorm_normalize(x, eps=1e-5):\n"
             "    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)\n",
             "axis=0"),
    "05.2": ("batchnorm_rescues_raw_inputs = True\n", "Standardize the inputs"),
    "05.3": ("same_output_alone_and_in_batch = False\n", "running averages"),
}

IDS = list(exercises.EXERCISES)


def answer_from(code: str, name: str):
    namespace = {}
    exec(compile(code, "<answer>", "exec"), namespace)
    return namespace[name]


def test_every_exercise_has_a_typical_wrong_answer_here():
    assert set(TYPICAL_WRONG) == set(IDS)


def test_every_lesson_has_two_or_three_exercises():
    for number in range(6):
        assert 2 <= len(exercises.lesson(number)) <= 3, f"lesson {number:02d}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_solution_is_right(exercise_id):
    exercise = exercises.get(exercise_id)
    result = exercises.verdict(exercise_id, answer_from(exercise.solution, exercise.answer))
    assert result.status == RIGHT, str(result)
    assert str(result).startswith("Right — ")


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_typical_wrong_answer_is_wrong_and_says_why(exercise_id):
    code, reason_word = TYPICAL_WRONG[exercise_id]
    exercise = exercises.get(exercise_id)
    result = exercises.verdict(exercise_id, answer_from(code, exercise.answer))
    assert result.status == WRONG, str(result)
    assert str(result).startswith("Not quite — ")
    assert reason_word in result.reason, str(result)


@pytest.mark.parametrize("exercise_id", IDS)
def test_none_is_not_answered_yet(exercise_id, capsys):
    exercises.check(exercise_id, None)
    printed = capsys.readouterr().out
    assert printed.startswith("Not answered yet — ")
    assert exercises.get(exercise_id).answer in printed


@pytest.mark.parametrize("exercise_id", [i for i in IDS if exercises.get(i).kind == "implement"])
def test_an_untouched_stub_is_not_implemented_yet(exercise_id, capsys):
    assert exercises.verdict(exercise_id, stub).status == NOT_IMPLEMENTED
    exercises.check(exercise_id, stub)
    assert capsys.readouterr().out.startswith("Not implemented yet — ")


def test_an_answer_of_the_wrong_type_is_wrong_and_names_what_is_valid():
    result = exercises.verdict("01.1", "bigger")
    assert result.status == WRONG and "'larger' or 'smaller'" in result.reason
    result = exercises.verdict("02.1", "small")
    assert result.status == WRONG and "number" in result.reason
    result = exercises.verdict("03.2", 0.3)
    assert result.status == WRONG and "slider" in result.reason
    result = exercises.verdict("05.3", "yes")
    assert result.status == WRONG and "True or False" in result.reason


def test_a_learner_function_that_crashes_is_wrong_not_an_error():
    def broken(output, grad_out):
        return output @ grad_out       # shapes do not fit
    result = exercises.verdict("00.1", broken)
    assert result.status == WRONG and "ValueError" in result.reason


def test_a_shallower_net_does_not_count_as_a_fix():
    config = CASES["vanishing"].broken.replace(hidden=(32, 32))
    result = exercises.verdict("01.2", config)
    assert result.status == WRONG and "6 hidden layers" in result.reason


def test_too_small_an_init_is_wrong_for_a_different_reason():
    result = exercises.verdict("02.1", 0.01)
    assert result.status == WRONG
    assert "diverged" not in result.reason


def test_checks_leave_the_cached_runs_untouched():
    from nnlab import experiments
    result = experiments.outcome(CASES["dead_relu"].broken)
    weights = [layer.params["W"].copy() for layer in result.model.dense_layers]
    exercises.verdict("03.3", 0)
    for before, layer in zip(weights, result.model.dense_layers):
        assert np.array_equal(before, layer.params["W"])


def test_hint_and_solution_print(capsys):
    exercises.hint("04.2")
    assert "rng.random" in capsys.readouterr().out
    exercises.solution("04.2")
    assert "def dropout_forward" in capsys.readouterr().out


def test_an_unknown_exercise_names_the_valid_ones():
    with pytest.raises(ValueError, match="01.1"):
        exercises.check("1.1", None)

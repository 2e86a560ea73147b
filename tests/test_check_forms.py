"""Every number, choice and true/false check takes a right answer in every reasonable form,
and still refuses wrong-but-plausible ones (the generic part of the checks, in
nnlab/exercises/_common.py; the checks of implemented functions have their own tests)."""

from __future__ import annotations

import numbers

import numpy as np
import pytest

from nnlab import exercises
from nnlab.exercises import _common


def _solved(exercise):
    namespace: dict = {}
    exec(exercise.solution, namespace)
    return namespace[exercise.answer]


SCALAR_EXERCISES = [exercise for exercise in exercises.EXERCISES.values()
                    if exercise.kind != "implement"
                    and isinstance(_solved(exercise), (str, bool, numbers.Real))]


def forms(answer) -> list:
    """The same answer as a learner might write it."""
    if isinstance(answer, bool):
        return [np.bool_(answer), np.array(answer), int(answer), np.int64(answer),
                np.array(int(answer))]
    if isinstance(answer, str):
        return [np.str_(answer), np.array(answer), f"  {answer.upper()} "]
    found = [np.float64(answer), np.array(answer), np.array(float(answer)), np.float32(answer)
             if float(np.float32(answer)) == float(answer) else np.float64(answer)]
    if float(answer).is_integer():
        found += [np.int64(int(answer)), float(answer), np.array(int(answer))]
    return found


def test_the_scalar_exercises_are_found():
    kinds = {type(_solved(exercise)) for exercise in SCALAR_EXERCISES}
    assert {str, bool} <= kinds and (int in kinds or float in kinds)


@pytest.mark.parametrize("exercise", SCALAR_EXERCISES, ids=lambda exercise: exercise.id)
def test_a_right_answer_is_right_in_every_form(exercise):
    answer = _solved(exercise)
    plain = exercises.verdict(exercise.id, answer)
    assert plain.right, (exercise.id, str(plain))
    for form in forms(answer):
        said = exercises.verdict(exercise.id, form)
        assert said.right, (exercise.id, repr(form), str(said))


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), (1, True), (0, False),
                                             (np.int8(1), True), (np.array(0), False),
                                             (np.array(True), True), (np.bool_(False), False)])
def test_true_false_in_every_form(value, expected):
    assert _common._boolean("x", value) is expected


@pytest.mark.parametrize("value", [2, -1, 0.5, 1.0, "True", "yes", None, [True], np.array([1]),
                                   np.array([True, False])])
def test_what_is_not_true_or_false_is_refused_with_the_valid_forms(value):
    with pytest.raises(_common._Invalid, match="True or False"):
        _common._boolean("x", value)


@pytest.mark.parametrize("value", [np.array(["larger"]), 1, np.array(1.0), b"larger", None])
def test_a_choice_refuses_what_is_not_one_of_its_words(value):
    with pytest.raises(_common._Invalid, match="'larger' or 'smaller'"):
        _common._choice("x", value, ("larger", "smaller"))


@pytest.mark.parametrize("value", [np.array([0.1]), np.array([[0.1]]), "0.1", True, np.nan,
                                   np.array(np.inf)])
def test_a_number_refuses_arrays_words_and_non_finite_values(value):
    with pytest.raises(_common._Invalid):
        _common._number("x", value)


def test_a_zero_d_array_reads_as_the_number_it_holds():
    assert _common._number("x", np.array(0.25), low=0.0) == 0.25
    assert _common._number("x", np.array(3), integer=True) == 3
    assert _common._number("x", np.array(3.0), integer=True) == 3


@pytest.mark.parametrize("exercise", SCALAR_EXERCISES, ids=lambda exercise: exercise.id)
def test_a_wrong_but_plausible_answer_is_not_right(exercise):
    answer = _solved(exercise)
    if isinstance(answer, bool):
        wrong = [not answer, int(not answer), np.array(not answer)]
    elif isinstance(answer, str):
        options = {"larger": "smaller", "smaller": "larger"}
        wrong = [options[answer]] if answer in options else []
        if not wrong:
            pytest.skip("a choice among more than two words: the lesson's own test covers it")
    else:
        wrong = [answer * 1000 + 1000, -abs(answer) - 1]
    for form in wrong:
        assert not exercises.verdict(exercise.id, form).right, (exercise.id, repr(form))

"""Exercises: each lesson's questions, with a check that says right or wrong, and why.

A lesson's exercise is two cells: an answer, which ships as ``None`` (or, to
implement a piece of a layer, as a stub function that raises
``NotImplementedError``), and a check::

    gradient_ratio_prediction = None   # a positive number

    exercises.check("01.1")            # reads `gradient_ratio_prediction` from the notebook

``check`` prints one line, and never raises, so a lesson runs top to bottom
whatever state its exercises are in:

- ``Right — ...``: the answer meets the target, and why it does;
- ``Not quite — ...``: what is wrong, with the numbers that show it;
- ``Not answered yet — ...``: the answer is still ``None``;
- ``Not implemented yet — ...``: the function still raises ``NotImplementedError``;
- ``Run the answer cell first — ...``: the answer's name is not defined yet;
- ``No such exercise — ...``: the id is not one of ``EXERCISES`` (they are listed).

``check("01.1", answer)`` judges an answer passed explicitly instead.
In IPython, a check never judges a stale answer: when the answer cell raised before
it assigned its variable (a typo, an error in the learner's code), the check says so
(``Run the answer cell first``) instead of judging the value left from before.
``hint("01.1")`` prints a hint and ``solution("01.1")`` a worked answer.
Under a grader (``nnlab.classroom``: nbgrader autograding or validating, or
``classroom.configure(grading=True)``) ``check`` raises :class:`NotRight`
with the same line for any answer that is not right, so an autograder test
cell loses its points; ``solution`` is off there, and wherever an instructor
turned worked solutions off.
Predictions are checked against a run, not against a stored answer: the
check trains the network (or runs the layer) and reports what it measured,
with the numbers nnlab.metrics defines. :func:`verdict` returns the same
judgement as a :class:`Verdict`, for tests.

One module per lesson (``lesson00`` ... ``lesson05``) holds that lesson's
judges and catalogue entries; importing this package loads neither matplotlib
nor ipywidgets.
"""

from __future__ import annotations

import re
import sys

from .. import classroom
from ..classroom import NotRight   # raised by check under a grader (nnlab.classroom)
from . import lesson00, lesson01, lesson02, lesson03, lesson04, lesson05
from ._common import (NOT_ANSWERED, NOT_IMPLEMENTED, NOT_RUN, RIGHT, STUB_NOTE, UNKNOWN, WRONG,
                      Exercise, Verdict, _Invalid, _wrong)

EXERCISES = {exercise.id: exercise
             for module in (lesson00, lesson01, lesson02, lesson03, lesson04, lesson05)
             for exercise in module.EXERCISES}

# ``check(id)`` without an answer reads it from the notebook by its name.
_FROM_NOTEBOOK = object()
_MISSING = object()

# Answer names whose last answer cell failed and left the value from before it (IPython).
_stale: set = set()
_before_cell: dict = {}          # answer name -> its value when the running cell started
_followed_shell = None


def _answers_in(source: str) -> list:
    """The exercises' answer names that a cell's code assigns or defines."""
    names = {exercise.answer for exercise in EXERCISES.values()}
    return [name for name in names
            if re.search(rf"(^|[\s;,(])({re.escape(name)}\s*(:[^=\n]*)?=(?!=)|def\s+{re.escape(name)}\b)",
                         source, flags=re.MULTILINE)]


def _cell_starts(info=None) -> None:
    _before_cell.clear()
    source = getattr(info, "raw_cell", None) or ""
    namespace = getattr(_followed_shell, "user_ns", {})
    for name in _answers_in(source):
        _before_cell[name] = namespace.get(name, _MISSING)


def _cell_ends(result=None) -> None:
    failed = result is not None and (getattr(result, "error_in_exec", None) is not None
                                     or getattr(result, "error_before_exec", None) is not None)
    namespace = getattr(_followed_shell, "user_ns", {})
    for name, before in _before_cell.items():
        if failed and namespace.get(name, _MISSING) is before:
            _stale.add(name)          # the cell never assigned it: the value is from before
        else:
            _stale.discard(name)
    _before_cell.clear()


def _follow_cells() -> None:
    """In IPython, watch the cells that assign an exercise's answer (see the module's text)."""
    global _followed_shell
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or shell is _followed_shell:
        return
    shell.events.register("pre_run_cell", _cell_starts)
    shell.events.register("post_run_cell", _cell_ends)
    _followed_shell = shell


def _unknown(exercise_id) -> str:
    return f"there is no exercise {exercise_id!r}. The exercises are {', '.join(EXERCISES)}."


def get(exercise_id: str) -> Exercise:
    """The exercise called ``exercise_id``, such as ``"01.2"`` (lesson 01, exercise 2).

    Raises ValueError, listing the ids, for an unknown one (``check`` prints that instead).
    """
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        raise ValueError(f"There is no exercise {exercise_id!r}. The exercises are "
                         f"{', '.join(EXERCISES)}.")
    return EXERCISES[exercise_id]


def _not_run(exercise: Exercise) -> Verdict:
    what = (f"defines `def {exercise.answer}(...)`" if exercise.kind == "implement"
            else f"sets `{exercise.answer} = ...`")
    return Verdict(NOT_RUN, f"`{exercise.answer}` is not defined yet. Run the answer cell "
                            f"{exercise.answer_cell} (the cell that {what}), then run this check "
                            "again.")


def verdict(exercise_id: str, answer=_FROM_NOTEBOOK, namespace: dict | None = None) -> Verdict:
    """Judge ``answer`` to exercise ``exercise_id``. Never raises.

    Without ``answer``, the answer is read from ``namespace`` (a dict of names,
    such as a notebook's globals) under the exercise's answer name.
    """
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        return Verdict(UNKNOWN, _unknown(exercise_id))
    exercise = EXERCISES[exercise_id]
    if answer is _FROM_NOTEBOOK:
        if namespace is None or exercise.answer not in namespace:
            return _not_run(exercise)
        if exercise.answer in _stale and namespace is getattr(_followed_shell, "user_ns", None):
            return Verdict(NOT_RUN, f"the answer cell raised an error before it set "
                                    f"`{exercise.answer}`, so `{exercise.answer}` still holds "
                                    "the value from before and is not judged. Fix the error "
                                    "shown under the answer cell, run it again, then run "
                                    "this check.")
        answer = namespace[exercise.answer]
    if answer is None:
        return Verdict(NOT_ANSWERED, f"set `{exercise.answer}` to {exercise.expects}, then run "
                                     f"this cell again. Stuck? exercises.hint(\"{exercise.id}\")")
    try:
        return exercise.judge(answer)
    except NotImplementedError:
        return Verdict(NOT_IMPLEMENTED, f"`{exercise.answer}` still raises NotImplementedError. "
                                        f"{STUB_NOTE}")
    except _Invalid as invalid:
        return _wrong(str(invalid))
    except Exception as error:       # the learner's code failed: say how, do not stop the lesson
        return _wrong(f"running your answer raised {type(error).__name__}: {error}")


def check(exercise_id: str, answer=_FROM_NOTEBOOK) -> None:
    """Print whether the answer to exercise ``exercise_id`` is right, and why.

    ``check("01.1")`` reads the answer from the notebook (the calling code's
    globals) by the exercise's answer name, so a check run before its answer
    cell says which cell to run first; ``check("01.1", answer)`` judges ``answer``.
    Under a grader (``nnlab.classroom``) an answer that is not right raises
    :class:`NotRight` with that line instead, so the autograder's test cell fails.
    """
    namespace = sys._getframe(1).f_globals if answer is _FROM_NOTEBOOK else None
    judged = verdict(exercise_id, answer, namespace)
    if not judged.right and classroom.settings().grading:
        raise NotRight(str(judged))
    print(judged)


_follow_cells()


def _known(exercise_id) -> Exercise | None:
    """The exercise, or None after printing which ids there are."""
    if exercise_id in EXERCISES:
        return EXERCISES[exercise_id]
    print(Verdict(UNKNOWN, _unknown(exercise_id)))
    return None


def hint(exercise_id: str) -> None:
    """Print a hint for exercise ``exercise_id``."""
    exercise = _known(exercise_id)
    if exercise is not None:
        print(f"Hint for {exercise.id} ({exercise.task}):\n{exercise.hint}")


def solution(exercise_id: str) -> None:
    """Print a worked answer for exercise ``exercise_id``: code to paste into the answer cell.

    Off (it says so) where the instructor turned worked solutions off (``nnlab.classroom``)."""
    exercise = _known(exercise_id)
    if exercise is not None and not classroom.settings().solutions:
        print(f"Worked solutions are off in this course (your instructor's setting, "
              f"nnlab.classroom). For a nudge instead: exercises.hint(\"{exercise.id}\")")
    elif exercise is not None:
        print(f"A solution to {exercise.id}:\n\n{exercise.solution}")


def lesson(number: int) -> list[Exercise]:
    """The exercises of lesson ``number``, in order."""
    prefix = f"{number:02d}."
    return [exercise for exercise in EXERCISES.values() if exercise.id.startswith(prefix)]


__all__ = ["EXERCISES", "Exercise", "Verdict", "RIGHT", "WRONG", "NOT_ANSWERED",
           "NOT_IMPLEMENTED", "NOT_RUN", "NotRight", "UNKNOWN", "check", "get", "hint", "lesson",
           "solution", "verdict"]

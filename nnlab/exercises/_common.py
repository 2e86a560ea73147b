"""What every exercise shares: the verdicts, the Exercise record, and the answer readers.

A judge reads the learner's answer with :func:`_choice`, :func:`_boolean`,
:func:`_number` or :func:`_array`; each raises :class:`_Invalid` with a message
saying what a valid answer looks like, which the check prints as "Not quite".
Each takes a right answer in every reasonable form: a NumPy scalar or 0-d array
(``np.float64(0.05)``, ``np.array("larger")``, ``np.array(True)``), and ``0``/``1``
for False/True.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..engine._checks import check_number

RIGHT = "right"
WRONG = "wrong"
NOT_ANSWERED = "not answered"
NOT_IMPLEMENTED = "not implemented"
NOT_RUN = "not run"              # the answer cell has not been run yet
UNKNOWN = "unknown"              # no exercise has that id

_OPENINGS = {RIGHT: "Right", WRONG: "Not quite", NOT_ANSWERED: "Not answered yet",
             NOT_IMPLEMENTED: "Not implemented yet", NOT_RUN: "Run the answer cell first",
             UNKNOWN: "No such exercise"}

# Where a prediction's answer cell is, seen from its check cell further down the lesson.
IN_PREDICT_FIRST = 'in "Predict first" at the top of this lesson'

STUB_NOTE = "Replace the body of the stub, run its cell, then run the check."


@dataclass(frozen=True)
class Verdict:
    """What a check concluded: ``status`` (one of the constants above) and ``reason``, in words."""

    status: str
    reason: str

    @property
    def right(self) -> bool:
        return self.status == RIGHT

    def __str__(self):
        return f"{_OPENINGS[self.status]} — {self.reason}"


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    ``kind`` is "predict" (write a prediction, then the check runs the
    experiment), "knob" (change a setting to reach a target), "implement"
    (write a small function), "derive" (compute a quantity from the maths; the
    check measures it on the engine) or "diagnose" (read measurements of a run or
    a layer the learner has not seen). ``answer`` names the variable or function the
    learner fills in, and ``expects`` says what a valid answer looks like.
    ``solution`` is Python code that defines ``answer``. ``judge`` is called
    only with an answer that is not ``None``. ``answer_cell`` says where the
    answer cell is, seen from the check cell: "just above this one", or, for a
    prediction made at the top of a lesson, "in \"Predict first\" at the top of this lesson".
    """

    id: str
    kind: str
    task: str
    answer: str
    expects: str
    hint: str
    solution: str
    judge: Callable[[object], Verdict]
    answer_cell: str = "just above this one"


class _Invalid(Exception):
    """An answer of the wrong type or out of range; its message says what would be valid."""


def _right(reason: str) -> Verdict:
    return Verdict(RIGHT, reason)


def _wrong(reason: str) -> Verdict:
    return Verdict(WRONG, reason)


def _scalar(answer):
    """A NumPy scalar or 0-d array as the Python value it holds; anything else unchanged."""
    if isinstance(answer, (np.ndarray, np.generic)) and np.ndim(answer) == 0:
        return answer.item()
    return answer


def _choice(name: str, answer, options) -> str:
    answer = _scalar(answer)
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        valid = " or ".join(repr(option) for option in options)
        raise _Invalid(f"`{name}` should be {valid}, but it is {answer!r}.")
    return answer.strip().lower()


def _boolean(name: str, answer) -> bool:
    answer = _scalar(answer)
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, int) and answer in (0, 1):     # 1 for True, 0 for False
        return bool(answer)
    raise _Invalid(f"`{name}` should be True or False (or 1 or 0), but it is {answer!r}.")


def _number(name: str, answer, **limits) -> float | int:
    """``answer`` read by the engine's ``check_number`` (17284.0 counts as the whole number 17284)."""
    try:
        return check_number(f"`{name}`", _scalar(answer), **limits)
    except (TypeError, ValueError) as error:
        raise _Invalid(str(error)) from None


def _array(name: str, value, shape) -> np.ndarray:
    if value is None:
        raise _Invalid(f"{name} returned None: end the function with `return` and the result.")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _Invalid(f"{name} should be a NumPy array of shape {shape}, "
                       f"but it is {type(value).__name__}.") from None
    if array.shape != shape:
        raise _Invalid(f"{name} should have shape {shape}, but it has shape {array.shape}.")
    return array

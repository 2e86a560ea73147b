"""How a class runs the course: worked solutions on or off, and grading mode.

Two settings, read wherever they matter (``exercises.solution``, ``exercises.check``,
the capstone's ``mysteries`` checks, solutions and reveal, the labs' background
preparation):

- ``solutions``: ``exercises.solution("01.2")`` prints a worked answer, and
  ``mysteries.solution("B")`` and ``mysteries.compare_with_diagnosis(True)`` the
  capstone's answers. An
  instructor who ships the lessons without worked solutions turns it off, for
  the whole class with the environment variable ``NNLAB_SOLUTIONS=0`` (set in
  the JupyterHub image, say), or in a notebook with
  ``classroom.configure(solutions=False)``; the assignments ``make assignments``
  generates do the latter in a read-only cell. Hints stay on.
- ``grading``: a grader runs the notebook. Then ``exercises.check`` and the
  capstone's ``mysteries.check`` / ``mysteries.check_fix`` raise :class:`NotRight`
  (with the reason a learner's check prints) for an answer that is not right, so
  an autograder test cell loses its points; no background thread starts; and
  worked solutions are off. It is on while
  nbgrader autogrades or validates (nbgrader sets ``NBGRADER_EXECUTION``), with
  ``NNLAB_GRADING=1`` (for another grader), or with ``configure(grading=True)``.

An explicit ``configure`` wins over the environment; ``configure(grading=None)``
hands that setting back to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_ON = ("1", "on", "true", "yes")
_OFF = ("0", "off", "false", "no")

_solutions: bool | None = None      # set by configure(); None: from the environment
_grading: bool | None = None


@dataclass(frozen=True)
class ClassSettings:
    """The settings in force: ``solutions`` (worked answers shown), ``grading`` (a grader runs)."""

    solutions: bool
    grading: bool


def _switch(variable: str, default: bool) -> bool:
    value = os.environ.get(variable, "").strip().lower()
    if not value:
        return default
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"The environment variable {variable} is {os.environ[variable]!r}; "
                     f"it should be one of {', '.join(_ON)} (on) or {', '.join(_OFF)} (off).")


def settings() -> ClassSettings:
    """The settings in force now (explicit ``configure`` first, then the environment)."""
    grading = _grading
    if grading is None:
        grading = bool(os.environ.get("NBGRADER_EXECUTION")) or _switch("NNLAB_GRADING", False)
    solutions = _solutions if _solutions is not None else _switch("NNLAB_SOLUTIONS", True)
    return ClassSettings(solutions=solutions and not grading, grading=grading)


_KEEP = object()


class NotRight(AssertionError):
    """Raised by a check under a grader for an answer that is not right (or not given); the
    message is the line the learner's check prints ("Not quite — ...", "Not answered yet — ...",
    "Not quite: ..." for a mystery).
    ``exercises.NotRight`` is this class."""


def configure(*, solutions=_KEEP, grading=_KEEP) -> ClassSettings:
    """Set ``solutions`` and/or ``grading`` for this kernel (True or False; ``None`` hands
    the setting back to the environment; one not given stays as it is). Returns the
    settings now in force."""
    global _solutions, _grading
    for name, value in (("solutions", solutions), ("grading", grading)):
        if value is not _KEEP and value is not None and not isinstance(value, bool):
            raise ValueError(f"configure({name}=...) takes True, False or None, not {value!r}.")
    if solutions is not _KEEP:
        _solutions = solutions
    if grading is not _KEEP:
        _grading = grading
    return settings()

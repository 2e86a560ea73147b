"""An nbgrader course made from the lessons: ``make assignments`` (``python -m nnlab.grading``).

Writes ``build/course/``: ``nbgrader_config.py`` and, for each lesson
``notebooks/NN_name.ipynb``, the instructor's version of its assignment,
``source/NN_name/NN_name.ipynb``. Nothing is written by hand: the cells come from
the lesson and the exercise catalogue (``nnlab.exercises``), by the convention
every lesson keeps for each exercise ``NN.M``:

- its *check cell* is exactly ``from nnlab import exercises`` and
  ``exercises.check("NN.M")  # reads `name```, with ``name`` the exercise's
  ``answer``. It becomes an autograder test cell worth the exercise's points;
  under a grader the check raises (``nnlab.classroom``), with the reason a
  learner's check prints, when the answer is wrong or missing.
- its *answer cell* is the nearest code cell above the check that assigns
  ``name`` (or defines the function ``name``); a prediction's may sit far above.
  It becomes an autograded-answer cell: the lesson's cell as it is, then the
  exercise's worked ``solution`` between nbgrader's solution markers, which
  ``nbgrader generate_assignment`` removes from the released notebook (the
  stub is empty), so a learner gets the lesson's own ``name = None`` or stub.

The capstone (lesson 06) has no exercises of that kind: its graded work is
naming each mystery's fault and fixing it (:mod:`nnlab.mysteries`; the worked
example, mystery A, is not graded). For each graded mystery ``X`` (B to F) the
lesson keeps the same convention, with its own variables so that a check never
judges another mystery's answer:

- naming the fault, item ``06.X`` (kind ``mystery``): the check cell is exactly
  ``mysteries.check("X", answer_x)``, the answer cell the nearest code cell above
  it assigning ``answer_x`` (the lesson's ``answer_x = None  # ...``);
- fixing it, item ``06.X.fix`` (kind ``mystery_fix``): the check cell is exactly
  ``mysteries.check_fix("X", fix_x)``, the answer cell the one assigning ``fix_x``.

They become graded cells as an exercise's do; the solutions come from the
mystery catalogue (``mysteries.worked_answer`` and ``mysteries.worked_fix_source``),
so they follow it. Under a grader both checks raise, with the learner's line,
when the answer is not right or not given.

The lesson's text and its labs are read-only cells (nbgrader ``locked``); its
other code cells stay plain cells a learner may change (the capstone's
diagnoses, say). One read-only cell after the lesson's first code cell turns
worked solutions off (``classroom.configure(solutions=False)``). Outputs are
cleared: the grader runs the notebook, and a lab then shows its static figure.

Points live in one file an instructor edits (``grading_points.json`` at the top
of the repository): points by kind of exercise (``mystery`` and ``mystery_fix``
for the capstone), and any exercise's or mystery item's own (by its id).

A lesson that breaks the convention stops the generator with a
:class:`ConventionError` naming the lesson, the cell and what was expected.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import exercises, mysteries

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CHECK_CELL = re.compile(r'from nnlab import exercises\n'
                        r'exercises\.check\("(?P<id>\d\d\.\d+)"\)  # reads `(?P<name>\w+)`')
MYSTERY_CHECK_CELL = re.compile(r'mysteries\.(?P<call>check|check_fix)\("(?P<mystery>\w+)", '
                                r'(?P<name>\w+)\)')
MYSTERY_CALL = re.compile(r'mysteries\.check(?:_fix)?\(\s*["\'](?P<mystery>\w+)["\']')
MYSTERY_LESSON = "06"                 # the capstone, whose mysteries are graded
MYSTERY_KINDS = ("mystery", "mystery_fix")
LESSON_FILE = re.compile(r"(?P<number>\d\d)_\w+\.ipynb")
SOLUTIONS_OFF_CELL = ("from nnlab import classroom\n"
                      "classroom.configure(solutions=False)  # a graded assignment: worked "
                      "solutions are off")
LAB_CALL = re.compile(r"^\s*labs\.\w+\(", re.MULTILINE)
WIDGET = "application/vnd.jupyter.widget-view+json"
ROOT = Path(__file__).resolve().parents[1]

NBGRADER_CONFIG = '''\
# nbgrader's configuration for the nnlab course, written by `make assignments`
# (nnlab/grading.py); run nbgrader's commands from this folder.
import os

c = get_config()  # noqa: F821 (nbgrader defines it)

c.CourseDirectory.course_id = "nnlab"
# source/, release/, submitted/, autograded/, feedback/ and the gradebook live beside this file.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# Each answer cell keeps the lesson's own `name = None` (or stub function) above the
# solution, so the released cell needs no stub of nbgrader's.
c.ClearSolutions.code_stub = {"python": ""}
# A check may train a network: give a cell up to five minutes (nbgrader's default is 30 s).
c.Execute.timeout = 300
'''


class ConventionError(ValueError):
    """A lesson does not keep the exercise convention the generator reads."""


@dataclass(frozen=True)
class MysteryItem:
    """A graded item of the capstone: naming mystery ``mystery``'s fault (``kind``
    "mystery", id "06.B") or fixing it ("mystery_fix", id "06.B.fix"). It has the fields
    the generator reads from an exercise: ``id``, ``kind``, ``answer`` (the variable the
    check reads) and ``solution`` (the worked answer's code, from the mystery catalogue)."""

    id: str
    kind: str
    mystery: str
    answer: str
    solution: str


def mystery_items() -> dict[str, MysteryItem]:
    """The capstone's graded items by id, in the lesson's order: for each graded mystery
    (``mysteries.GRADED``), naming its fault, then fixing it."""
    items = {}
    for mystery in mysteries.GRADED:
        answer, fix = mysteries.answer_name(mystery), mysteries.fix_name(mystery)
        named = f"{MYSTERY_LESSON}.{mystery}"
        items[named] = MysteryItem(named, "mystery", mystery, answer,
                                   f"{answer} = {json.dumps(mysteries.worked_answer(mystery))}")
        items[f"{named}.fix"] = MysteryItem(f"{named}.fix", "mystery_fix", mystery, fix,
                                            f"{fix} = {mysteries.worked_fix_source(mystery)}")
    return items


@dataclass(frozen=True)
class ExerciseCells:
    """Where a graded item sits in a lesson: its answer and check cells' indices.
    ``exercise`` is an :class:`exercises.Exercise` or, in the capstone, a :class:`MysteryItem`."""

    exercise: exercises.Exercise | MysteryItem
    answer_cell: int
    check_cell: int


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _defines(source: str, name: str) -> bool:
    """True if ``source`` assigns ``name`` or defines the function ``name`` at its top level."""
    try:
        tree = ast.parse("\n".join(line for line in source.splitlines()
                                   if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        for target in targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            if any(isinstance(item, ast.Name) and item.id == name for item in names):
                return True
    return False


def _is_lab(cell) -> bool:
    """A cell that shows a lab: its saved output is a widget, or it calls ``labs.<lab>(...)``."""
    shown = any(WIDGET in output.get("data", {}) for output in cell.get("outputs", []))
    return cell["cell_type"] == "code" and (shown or bool(LAB_CALL.search(_source(cell))))


def lesson_number(path: Path) -> str:
    """``"01"`` for ``01_vanishing_gradients.ipynb``; a ConventionError for another name."""
    match = LESSON_FILE.fullmatch(path.name)
    if not match:
        raise ConventionError(f"{path.name}: a lesson's file name starts with its two-digit "
                              "number and an underscore, such as 01_vanishing_gradients.ipynb.")
    return match["number"]


def find_exercises(notebook, number: str, name: str = "the lesson") -> list[ExerciseCells]:
    """Each exercise of lesson ``number`` in ``notebook`` (a dict), with its answer and check
    cells, in the lesson's order. Raises ConventionError where the lesson breaks the convention."""
    cells = notebook["cells"]
    found: list[ExerciseCells] = []
    for index, cell in enumerate(cells):
        source = _source(cell).strip()
        if cell["cell_type"] != "code" or "exercises.check" not in source:
            continue
        match = CHECK_CELL.fullmatch(source)
        where = f"{name}, cell {index}"
        if not match:
            raise ConventionError(
                f"{where} calls exercises.check but is not a check cell of the form\n"
                f'    from nnlab import exercises\n    exercises.check("NN.M")  # reads `name`\n'
                f"(exactly these two lines); it is:\n{source}")
        exercise_id = match["id"]
        if exercise_id not in exercises.EXERCISES:
            raise ConventionError(f"{where} checks {exercise_id!r}, which nnlab.exercises does "
                                  f"not register (known: {', '.join(exercises.EXERCISES)}).")
        exercise = exercises.EXERCISES[exercise_id]
        if not exercise_id.startswith(f"{number}."):
            raise ConventionError(f"{where} checks {exercise_id}, an exercise of another lesson; "
                                  f"lesson {number}'s exercises are {number}.1, {number}.2, ...")
        if match["name"] != exercise.answer:
            raise ConventionError(f"{where}: the comment says the check reads `{match['name']}`, "
                                  f"but exercise {exercise_id} reads `{exercise.answer}`.")
        if any(entry.exercise.id == exercise_id for entry in found):
            raise ConventionError(f"{where} checks {exercise_id} a second time; each exercise "
                                  "has one check cell.")
        answer = next((above for above in range(index - 1, -1, -1)
                       if cells[above]["cell_type"] == "code"
                       and _defines(_source(cells[above]), exercise.answer)), None)
        if answer is None:
            raise ConventionError(f"{where} checks {exercise_id}, but no code cell above it "
                                  f"assigns `{exercise.answer}` (or defines the function "
                                  f"`{exercise.answer}`): that is the answer cell it needs.")
        shared = [entry.exercise.id for entry in found if entry.answer_cell == answer]
        if shared:
            raise ConventionError(f"{name}, cell {answer} is the answer cell of both {shared[0]} "
                                  f"and {exercise_id}; each exercise needs a cell of its own.")
        found.append(ExerciseCells(exercise, answer, index))
    missing = [exercise.id for exercise in exercises.lesson(int(number))
               if exercise.id not in {entry.exercise.id for entry in found}]
    if missing:
        raise ConventionError(f"{name} has no check cell for {', '.join(missing)} (registered "
                              f"in nnlab/exercises/lesson{number}.py).")
    return found


def _answer_cell_above(cells, index: int, name: str) -> int | None:
    """The nearest code cell above cell ``index`` that assigns (or defines) ``name``."""
    return next((above for above in range(index - 1, -1, -1)
                 if cells[above]["cell_type"] == "code" and _defines(_source(cells[above]), name)),
                None)


def find_mysteries(notebook, number: str, name: str = "the lesson") -> list[ExerciseCells]:
    """Each graded mystery item of lesson ``number`` in ``notebook`` (a dict), with its answer
    and check cells, in the lesson's order (none in a lesson without mystery checks). Raises
    ConventionError where the lesson breaks the capstone's convention (the module's text)."""
    cells, items = notebook["cells"], mystery_items()
    found: list[ExerciseCells] = []
    for index, cell in enumerate(cells):
        source = _source(cell).strip()
        called = set(MYSTERY_CALL.findall(source)) if cell["cell_type"] == "code" else set()
        if not called or called == {mysteries.WORKED_EXAMPLE}:
            continue                      # no mystery check, or the worked example's (not graded)
        where = f"{name}, cell {index}"
        match = MYSTERY_CHECK_CELL.fullmatch(source)
        if not match:
            raise ConventionError(
                f"{where} checks a mystery but is not a check cell of the form\n"
                f'    mysteries.check("B", answer_b)\nor\n    mysteries.check_fix("B", fix_b)\n'
                f"(exactly one such line, the mystery's letter and its own variable); it is:\n"
                f"{source}")
        mystery = match["mystery"]
        if mystery not in mysteries.GRADED:
            raise ConventionError(f"{where} checks mystery {mystery!r}, which is not one of the "
                                  f"graded mysteries ({', '.join(mysteries.GRADED)}).")
        if number != MYSTERY_LESSON:
            raise ConventionError(f"{where} checks mystery {mystery}: the mysteries are graded "
                                  f"in lesson {MYSTERY_LESSON} (the capstone), not in {number}.")
        item = items[f"{number}.{mystery}" + (".fix" if match["call"] == "check_fix" else "")]
        if match["name"] != item.answer:
            raise ConventionError(f"{where}: mysteries.{match['call']}(\"{mystery}\", ...) reads "
                                  f"`{match['name']}`, but mystery {mystery}'s "
                                  f"{'fix' if item.kind == 'mystery_fix' else 'answer'} is "
                                  f"`{item.answer}`: each mystery has its own names.")
        if any(entry.exercise.id == item.id for entry in found):
            raise ConventionError(f"{where} checks {item.id} a second time; each graded item "
                                  "has one check cell.")
        answer = _answer_cell_above(cells, index, item.answer)
        if answer is None:
            raise ConventionError(f"{where} checks {item.id}, but no code cell above it assigns "
                                  f"`{item.answer}`: that is the answer cell it needs.")
        found.append(ExerciseCells(item, answer, index))
    if found or number == MYSTERY_LESSON:
        missing = [item_id for item_id in items
                   if item_id not in {entry.exercise.id for entry in found}]
        if missing:
            raise ConventionError(f"{name} has no check cell for {', '.join(missing)} (the "
                                  f"graded mysteries are {', '.join(mysteries.GRADED)}, each "
                                  "named and fixed).")
    return found


def find_graded(notebook, number: str, name: str = "the lesson") -> list[ExerciseCells]:
    """Every graded item of lesson ``number``: its exercises and, in the capstone, its
    mysteries, in the lesson's order. Raises ConventionError as the two finders do, and
    where two items share one answer cell."""
    found = sorted(find_exercises(notebook, number, name) + find_mysteries(notebook, number, name),
                   key=lambda entry: entry.check_cell)
    for position, entry in enumerate(found):
        shared = [other.exercise.id for other in found[:position]
                  if other.answer_cell == entry.answer_cell]
        if shared:
            raise ConventionError(f"{name}, cell {entry.answer_cell} is the answer cell of both "
                                  f"{shared[0]} and {entry.exercise.id}; each needs a cell of "
                                  "its own.")
    return found


def read_points(path: Path) -> dict:
    """The points file: ``{"by_kind": {kind: points, "default": points},
    "by_exercise": {id: points}}`` (an item's own points, else its kind's, else the default).
    The kinds are the exercises' and the capstone's ``mystery`` and ``mystery_fix``; the ids
    the exercises' ("01.2") and the mystery items' ("06.B", "06.B.fix"). Raises ValueError,
    saying what is valid, for anything else."""
    try:
        points = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"Cannot read the points file {path}: {error}") from None
    kinds = {exercise.kind for exercise in exercises.EXERCISES.values()} | set(MYSTERY_KINDS)
    ids = [*exercises.EXERCISES, *mystery_items()]
    by_kind, by_exercise = points.get("by_kind", {}), points.get("by_exercise", {})
    if not isinstance(by_kind, dict) or not isinstance(by_exercise, dict):
        raise ValueError(f"{path}: by_kind and by_exercise should each map names to points.")
    if "default" not in by_kind and kinds - set(by_kind):
        raise ValueError(f"{path}: by_kind gives no points for {sorted(kinds - set(by_kind))}; "
                         f"give every kind of exercise ({sorted(kinds)}) or a \"default\".")
    unknown_kinds = set(by_kind) - kinds - {"default"}
    if unknown_kinds:
        raise ValueError(f"{path}: by_kind names {sorted(unknown_kinds)}, which are not kinds of "
                         f"exercise (they are {', '.join(sorted(kinds))}, and \"default\").")
    unknown = set(by_exercise) - set(ids)
    if unknown:
        raise ValueError(f"{path}: by_exercise names {sorted(unknown)}, which are not exercises "
                         f"or mystery items (they are {', '.join(ids)}).")
    for key, value in {**by_kind, **by_exercise}.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{path}: {key} is worth {value!r} points; points are a number "
                             "of at least 0.")
    return {"by_kind": by_kind, "by_exercise": by_exercise}


def points_of(exercise: exercises.Exercise | MysteryItem, points: dict) -> float:
    """The points ``exercise`` (or a mystery item) is worth under the points file's table."""
    by_kind = points["by_kind"]
    default = by_kind.get(exercise.kind, by_kind.get("default"))
    return points["by_exercise"].get(exercise.id, default)


def _metadata(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def assignment(path: Path, points: dict):
    """The instructor's (source) version of lesson ``path`` as an nbformat notebook."""
    path = Path(path)
    number = lesson_number(path)
    notebook = nbformat.read(path, as_version=4)
    found = find_graded(notebook, number, path.name)
    roles = {}
    for entry in found:
        label = entry.exercise.id.replace(".", "_")
        roles[entry.answer_cell] = ("answer", entry.exercise, f"answer_{label}")
        roles[entry.check_cell] = ("check", entry.exercise, f"check_{label}")
    cells = []
    for index, cell in enumerate(notebook.cells):
        cell = nbformat.from_dict(dict(cell))
        cell.metadata = nbformat.from_dict({key: value for key, value in cell.metadata.items()
                                            if key != "nbgrader"})
        role, exercise, grade_id = roles.get(index, (None, None, f"lesson_{index:03d}"))
        if role is None and (cell.cell_type != "code" or _is_lab(cell)):
            role = "read-only"
        if role == "answer":
            cell.source = (f"{_source(cell).rstrip()}\n{BEGIN_SOLUTION}\n"
                           f"{exercise.solution.strip()}\n{END_SOLUTION}")
            cell.metadata.nbgrader = _metadata(grade_id, solution=True)
        elif role == "check":
            cell.metadata.nbgrader = _metadata(grade_id, grade=True, locked=True,
                                               points=points_of(exercise, points))
        elif role == "read-only":
            cell.metadata.nbgrader = _metadata(grade_id, locked=True)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    first_code = next((index for index, cell in enumerate(cells) if cell.cell_type == "code"), -1)
    settings = nbformat.v4.new_code_cell(SOLUTIONS_OFF_CELL)
    settings.metadata.nbgrader = _metadata("classroom_settings", locked=True)
    cells.insert(first_code + 1, settings)
    notebook.cells = cells
    notebook.metadata.pop("widgets", None)        # the saved widget state of the lesson's run
    nbformat.validate(notebook)
    return notebook


def write_course(lessons: list[Path], output: Path, points_file: Path) -> list[Path]:
    """Write the nbgrader course directory ``output`` for ``lessons``; returns the source
    notebooks written. ``source/`` is rewritten; the gradebook, submissions and feedback
    an instructor already has are left alone."""
    points = read_points(points_file)
    made = [(Path(lesson).stem, assignment(lesson, points)) for lesson in sorted(lessons)]
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    shutil.rmtree(output / "source", ignore_errors=True)
    written = []
    for name, notebook in made:
        target = output / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(notebook, target)
        written.append(target)
    return written


def _summary(lesson: Path, points: dict) -> str:
    """What lesson ``lesson``'s assignment grades, for ``make assignments``' report."""
    found = find_graded(nbformat.read(lesson, 4), lesson_number(Path(lesson)), Path(lesson).name)
    counts = {"exercise": sum(entry.exercise.kind not in MYSTERY_KINDS for entry in found),
              "mystery to name": sum(entry.exercise.kind == "mystery" for entry in found),
              "mystery to fix": sum(entry.exercise.kind == "mystery_fix" for entry in found)}
    parts = [f"{count} {what}" if count == 1 else
             f"{count} {what.replace('mystery', 'mysteries').replace('exercise', 'exercises')}"
             for what, count in counts.items() if count]
    total = sum(points_of(entry.exercise, points) for entry in found)
    return f"{', '.join(parts) or 'nothing graded'}, {total:g} points"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlab.grading",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("lessons", nargs="*", type=Path,
                        help="lesson notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--output", type=Path, default=Path("build/course"))
    parser.add_argument("--points", type=Path, default=ROOT / "grading_points.json")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        parser.error("no lessons found: pass the lesson notebooks")
    missing = [str(path) for path in lessons if not Path(path).is_file()]
    if missing:
        parser.error(f"no such lesson notebook: {', '.join(missing)} (give paths such as "
                     "notebooks/01_vanishing_gradients.ipynb)")
    try:
        written = write_course(lessons, args.output, args.points)
    except (ConventionError, ValueError) as error:
        print(f"make assignments: {error}", file=sys.stderr)
        return 2
    points = read_points(args.points)
    print(f"Wrote {args.output}/nbgrader_config.py and {len(written)} "
          f"assignment{'s' if len(written) != 1 else ''} in "
          f"{args.output}/source/:")
    for lesson in sorted(lessons):
        print(f"  {Path(lesson).stem}: {_summary(lesson, points)}")
    print(f"Next: cd {args.output} && nbgrader generate_assignment <assignment> "
          "(the README's 'Teaching with nnlab' goes on from there).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

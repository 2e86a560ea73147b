"""The course as nbgrader assignments, round trip with the real nbgrader CLI (issue 25).

``make assignments`` (``python -m nnlab.grading``) writes the course directory;
then, for every lesson: ``nbgrader generate_assignment`` releases it with no
solution in it; three learners hand it in: one unchanged, one with the
instructor's solutions, one with the solutions but one wrong answer;
``nbgrader autograde`` scores them 0, full marks, and full marks less exactly
that exercise's points; ``nbgrader export`` writes the grades. The capstone
(lesson 06) is graded by its mysteries: naming each one's fault and fixing it.
Also: the grading switch itself (``nnlab.classroom``, for the exercises' and the
mysteries' checks), worked solutions turned off, the points file, and lessons
that break the exercise or mystery convention stop the generator with a clear
error.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nnlab import classroom, exercises, grading, mysteries, speculate

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
POINTS = grading.read_points(ROOT / "grading_points.json")
NBGRADER = shutil.which("nbgrader", path=str(Path(sys.executable).parent))
WIDGET = "application/vnd.jupyter.widget-view+json"
LEARNERS = ("unchanged", "solutions", "one_wrong")


def _source(cell) -> str:
    return grading._source(cell)


def _solution_free(source: str) -> str:
    """An answer cell of the instructor's version as a learner would hand in the solution."""
    lines = source.split("\n")
    return "\n".join(line for line in lines if line not in (grading.BEGIN_SOLUTION,
                                                              grading.END_SOLUTION))


def _wrong_answer(exercise) -> str:
    """A wrong answer to any exercise or mystery item: a function that returns nothing, or a
    value no judge accepts (a word where a choice, number, case or configuration is expected)."""
    if exercise.kind == "mystery_fix":          # an Experiment, but one epoch fixes nothing
        return f'{exercise.answer} = mysteries.MYSTERIES["{exercise.mystery}"].replace(epochs=1)'
    if exercise.kind == "implement":
        return f"def {exercise.answer}(*args, **kwargs):\n    return None"
    return f'{exercise.answer} = "a wrong answer"'


def _wrong_one(found) -> grading.ExerciseCells:
    return found[len(found) // 2]


def _found(lesson: Path) -> list[grading.ExerciseCells]:
    return grading.find_graded(json.loads(lesson.read_text()), grading.lesson_number(lesson),
                               lesson.name)


def _wrong_message(exercise) -> str:
    """The start of the line a check gives for :func:`_wrong_answer`."""
    if exercise.kind == "mystery":
        return mysteries.verdict(exercise.mystery, "a wrong answer").message
    if exercise.kind == "mystery_fix":
        one_epoch = mysteries.MYSTERIES[exercise.mystery].replace(epochs=1)
        return mysteries.fix_verdict(exercise.mystery, one_epoch).message
    return "Not quite — "


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([NBGRADER, *args], cwd=course, capture_output=True, text=True,
                            env=env, timeout=1500)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-4000:]}"
    return result


# --------------------------------------------------------------------------- the switch

@pytest.fixture
def restore_settings():
    """Ask for it before monkeypatch: it hands the settings back to the environment after
    monkeypatch has restored the environment."""
    yield
    classroom.configure(solutions=None, grading=None)


def test_checks_print_for_a_learner_and_raise_under_a_grader(restore_settings, monkeypatch,
                                                             capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NNLAB_GRADING", raising=False)
    exercises.check("01.1", None)
    assert capsys.readouterr().out.startswith("Not answered yet — ")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(exercises.NotRight, match="^Not answered yet — set `gradient_ratio_"):
        exercises.check("01.1", None)
    with pytest.raises(exercises.NotRight, match="^Not quite — `gradient_ratio_prediction` must"):
        exercises.check("01.1", "bigger")
    exercises.check("01.1", 1e-4)                       # right: prints, does not raise
    assert capsys.readouterr().out.startswith("Right — ")
    monkeypatch.delenv("NBGRADER_EXECUTION")
    classroom.configure(grading=True)                   # the explicit setting, without nbgrader
    with pytest.raises(exercises.NotRight, match="^Run the answer cell first"):
        exercises.check("01.1")
    classroom.configure(grading=None)
    exercises.check("01.1")
    assert capsys.readouterr().out.startswith("Run the answer cell first — ")


def test_worked_solutions_can_be_turned_off(restore_settings, monkeypatch, capsys):
    for variable in ("NBGRADER_EXECUTION", "NNLAB_GRADING", "NNLAB_SOLUTIONS"):
        monkeypatch.delenv(variable, raising=False)
    exercises.solution("01.1")
    assert exercises.get("01.1").solution in capsys.readouterr().out
    classroom.configure(solutions=False)
    exercises.solution("01.1")
    said = capsys.readouterr().out
    assert exercises.get("01.1").solution not in said
    assert said.startswith("Worked solutions are off") and 'exercises.hint("01.1")' in said
    classroom.configure(solutions=None)
    monkeypatch.setenv("NNLAB_SOLUTIONS", "off")        # the class-wide setting
    assert not classroom.settings().solutions
    monkeypatch.setenv("NNLAB_SOLUTIONS", "1")
    assert classroom.settings().solutions
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert classroom.settings() == classroom.ClassSettings(solutions=False, grading=True)
    monkeypatch.setenv("NNLAB_SOLUTIONS", "maybe")
    with pytest.raises(ValueError, match="NNLAB_SOLUTIONS is 'maybe'; it should be one of 1, on"):
        classroom.settings()
    with pytest.raises(ValueError, match="takes True, False or None, not 'no'"):
        classroom.configure(solutions="no")


def test_mystery_checks_print_for_a_learner_and_raise_under_a_grader(restore_settings,
                                                                     monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NNLAB_GRADING", raising=False)
    mysteries.check("B", None)
    mysteries.check_fix("B", None)
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("Not answered yet — set answer_b = ")
    assert said[1].startswith("Not answered yet — set fix_b = mysteries.MYSTERIES['B']")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    # the same class as the exercises' checks raise, with the line the learner sees
    assert mysteries.NotRight is exercises.NotRight is classroom.NotRight
    for call, answer in ((mysteries.check, None), (mysteries.check, "vanishing"),
                         (mysteries.check, "not a case"), (mysteries.check_fix, None),
                         (mysteries.check_fix, "lr=0.5")):
        judge = mysteries.verdict if call is mysteries.check else mysteries.fix_verdict
        with pytest.raises(exercises.NotRight) as raised:
            call("B", answer)
        assert str(raised.value) == judge("B", answer).message
    mysteries.check("B", "dead_relu")                   # right: prints, does not raise
    mysteries.check("A", "vanishing_gradients")         # the worked example, right
    assert capsys.readouterr().out.count("Correct: ") == 2
    monkeypatch.delenv("NBGRADER_EXECUTION")
    classroom.configure(grading=True)
    with pytest.raises(exercises.NotRight, match="^Not quite: "):
        mysteries.check("D", "dead_relu")
    classroom.configure(grading=None)
    mysteries.check("D", "dead_relu")
    assert capsys.readouterr().out.startswith("Not quite: ")


def test_mystery_solutions_and_the_reveal_follow_the_class_setting(restore_settings,
                                                                   monkeypatch, capsys):
    for variable in ("NBGRADER_EXECUTION", "NNLAB_GRADING", "NNLAB_SOLUTIONS"):
        monkeypatch.delenv(variable, raising=False)
    mysteries.solution("B")
    shown = capsys.readouterr().out
    assert mysteries._SECRETS["B"].explanation in shown
    assert f"fix_b = {mysteries.worked_fix_source('B')}" in shown
    for turn_off in (lambda: classroom.configure(solutions=False),
                     lambda: monkeypatch.setenv("NNLAB_SOLUTIONS", "0"),
                     lambda: monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")):
        classroom.configure(solutions=None)
        for variable in ("NNLAB_SOLUTIONS", "NBGRADER_EXECUTION"):
            monkeypatch.delenv(variable, raising=False)
        turn_off()
        mysteries.solution("B")
        said = capsys.readouterr().out
        assert said.startswith("Worked solutions are off") and "mysteries.hint('B')" in said
        assert "dead" not in said and mysteries._SECRETS["B"].explanation[:40] not in said
        mysteries.compare_with_diagnosis(True)
        said = capsys.readouterr().out
        assert said.startswith("Worked solutions are off") and "faults" not in said
        mysteries.compare_with_diagnosis()
        assert capsys.readouterr().out.strip() == mysteries.HIDDEN
        mysteries.hint("B")                             # hints stay on
        assert capsys.readouterr().out.strip() == mysteries._SECRETS["B"].hint


@pytest.mark.parametrize("name", mysteries.GRADED)
def test_the_catalogues_worked_answer_and_fix_are_accepted(name):
    """The solutions an assignment carries come from the catalogue: they must pass (it trains)."""
    item = grading.mystery_items()[f"06.{name}.fix"]
    namespace = {"mysteries": mysteries}
    exec(grading.mystery_items()[f"06.{name}"].solution, namespace)
    exec(item.solution, namespace)
    assert mysteries.verdict(name, namespace[mysteries.answer_name(name)]).correct is True
    fixed = mysteries.fix_verdict(name, namespace[mysteries.fix_name(name)])
    assert fixed.correct is True, fixed.message


def test_no_background_thread_starts_under_a_grader(restore_settings, monkeypatch):
    monkeypatch.setattr(speculate, "SPECULATOR", speculate.Speculator())
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    ran = []
    speculate.ahead([("task", lambda: ran.append(1))])
    assert speculate.SPECULATOR.thread is None and not speculate.SPECULATOR.queue and not ran


# --------------------------------------------------------------------------- the generator

def test_every_lesson_keeps_the_exercise_convention():
    counted = []
    for lesson in LESSONS:
        notebook = json.loads(lesson.read_text())
        found = grading.find_exercises(notebook, grading.lesson_number(lesson), lesson.name)
        counted.extend(entry.exercise.id for entry in found)
        for entry in found:
            assert entry.answer_cell < entry.check_cell
    assert sorted(counted) == sorted(exercises.EXERCISES), "an exercise is in no lesson"


def test_the_capstone_keeps_the_mystery_convention():
    capstone = ROOT / "notebooks" / "06_capstone_debugging.ipynb"
    notebook = json.loads(capstone.read_text())
    found = grading.find_mysteries(notebook, "06", capstone.name)
    assert [entry.exercise.id for entry in found] == list(grading.mystery_items())
    assert [entry.exercise.id for entry in grading.find_graded(notebook, "06")] == \
        list(grading.mystery_items())
    for entry in found:
        assert entry.answer_cell < entry.check_cell
        # the answer cell ships unanswered, and the worked example (A) is not graded
        assert _source(notebook["cells"][entry.answer_cell]).startswith(
            f"{entry.exercise.answer} = None    # e.g. ")
    assert not any(entry.exercise.mystery == mysteries.WORKED_EXAMPLE for entry in found)
    for lesson in LESSONS:
        if lesson != capstone:
            assert grading.find_mysteries(json.loads(lesson.read_text()),
                                          grading.lesson_number(lesson)) == []


def _lesson_with(cells):
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                       "execution_count": None} for source in cells]}


CHECK = 'from nnlab import exercises\nexercises.check("01.1")  # reads `gradient_ratio_prediction`'
CHECK_2 = 'from nnlab import exercises\nexercises.check("01.2")  # reads `tanh_init_std`'


@pytest.mark.parametrize("cells, message", [
    (["gradient_ratio_prediction = None", 'exercises.check("01.1")', "tanh_init_std = None",
      CHECK_2], "calls exercises.check but is not a check cell of the form"),
    ([CHECK, "tanh_init_std = None", CHECK_2], "no code cell above it assigns "
                                                 "`gradient_ratio_prediction`"),
    (["gradient_ratio_prediction = None", CHECK.replace("01.1", "01.9"), "tanh_init_std = None",
      CHECK_2], "checks '01.9', which nnlab.exercises does not register"),
    (["gradient_ratio_prediction = None", CHECK.replace("`gradient_ratio_prediction`", "`guess`")],
     "the comment says the check reads `guess`, but exercise 01.1 reads "
     "`gradient_ratio_prediction`"),
    (["gradient_ratio_prediction = None", CHECK], "has no check cell for 01.2"),
    (["gradient_ratio_prediction = tanh_init_std = None", CHECK, CHECK_2],
     "is the answer cell of both 01.1 and 01.2"),
    (["gradient_ratio_prediction = None", CHECK, CHECK, "tanh_init_std = None", CHECK_2],
     "checks 01.1 a second time"),
    (["x = 1", 'from nnlab import exercises\nexercises.check("02.1")  # reads `x`'],
     "an exercise of another lesson"),
])
def test_a_lesson_that_breaks_the_convention_is_refused(cells, message):
    with pytest.raises(grading.ConventionError, match=re.escape(message)):
        grading.find_exercises(_lesson_with(cells), "01", "01_test.ipynb")


def _capstone_cells():
    """A lesson 06 that keeps the mystery convention: the worked example, then each graded
    mystery's answer and check cells, naming and fixing."""
    cells = ['answer = "vanishing_gradients"\nmysteries.check("A", answer)',
             'fix = mysteries.MYSTERIES["A"].replace(activation="relu", init="he")\n'
             'mysteries.check_fix("A", fix)']
    for name in mysteries.GRADED:
        x = name.lower()
        cells += [f"answer_{x} = None", f'mysteries.check("{name}", answer_{x})',
                  f"fix_{x} = None", f'mysteries.check_fix("{name}", fix_{x})']
    return cells


def _broken(*changes: str, number: str = "06"):
    """The capstone's cells with each (old, new) pair of ``changes`` applied."""
    cells = _capstone_cells()
    for old, new in zip(changes[::2], changes[1::2]):
        assert old in cells, old
        cells[cells.index(old)] = new
    return cells, number


@pytest.mark.parametrize("cells, number, message", [
    (*_broken('mysteries.check("C", answer_c)', 'answer_c = None\nmysteries.check("C", answer_c)'),
     "cell 7 checks a mystery but is not a check cell of the form"),
    (*_broken('mysteries.check("C", answer_c)', 'mysteries.check("C", answer)'),
     'reads `answer`, but mystery C\'s answer is `answer_c`'),
    (*_broken('mysteries.check_fix("C", fix_c)', 'mysteries.check_fix("C", fix_b)'),
     "reads `fix_b`, but mystery C's fix is `fix_c`"),
    (*_broken('mysteries.check("C", answer_c)', 'mysteries.check("G", answer_g)'),
     "checks mystery 'G', which is not one of the graded mysteries (B, C, D, E, F)"),
    (*_broken("answer_c = None", "print(answer_c)"), "no code cell above it assigns `answer_c`"),
    (*_broken('mysteries.check_fix("F", fix_f)', "print(fix_f)"), "has no check cell for 06.F.fix"),
    (*_broken('mysteries.check_fix("F", fix_f)', 'mysteries.check_fix("E", fix_e)'),
     "checks 06.E.fix a second time"),
    (*_broken("answer_c = None", "answer_c = fix_c = None", "fix_c = None", "print()"),
     "cell 6 is the answer cell of both 06.C and 06.C.fix"),
    (['x = None', 'mysteries.check("B", x)'], "06",
     "cell 1: mysteries.check(\"B\", ...) reads `x`"),
    (['answer_b = None', 'mysteries.check("B", answer_b)'], "07",
     "the mysteries are graded in lesson 06 (the capstone), not in 07"),
])
def test_a_capstone_that_breaks_the_mystery_convention_is_refused(cells, number, message):
    with pytest.raises(grading.ConventionError, match=re.escape(message)):
        grading.find_graded(_lesson_with(cells), number, f"{number}_test.ipynb")


def test_a_capstone_that_keeps_the_convention_is_read():
    found = grading.find_graded(_lesson_with(_capstone_cells()), "06")
    assert [(entry.exercise.id, entry.answer_cell, entry.check_cell) for entry in found][:2] == \
        [("06.B", 2, 3), ("06.B.fix", 4, 5)]


def test_answer_cells_are_found_by_assignment_or_definition():
    assert grading._defines("x, gradient_ratio_prediction = 1, None", "gradient_ratio_prediction")
    assert grading._defines("def sigmoid_backward(s, g):\n    return g", "sigmoid_backward")
    assert grading._defines("%matplotlib inline\nrate: float = 0.5", "rate")
    assert not grading._defines("print(gradient_ratio_prediction)", "gradient_ratio_prediction")
    assert not grading._defines("if True:\n    rate = 1", "rate")


def test_the_points_file_is_checked(tmp_path):
    bad = tmp_path / "points.json"
    bad.write_text(json.dumps({"by_kind": {"predict": 1}, "by_exercise": {}}))
    with pytest.raises(ValueError, match="by_kind gives no points for"):
        grading.read_points(bad)
    bad.write_text(json.dumps({"by_kind": {"default": 1}, "by_exercise": {"09.1": 2}}))
    with pytest.raises(ValueError, match=r"by_exercise names \['09.1'\], which are not exercises"):
        grading.read_points(bad)
    bad.write_text(json.dumps({"by_kind": {"default": -1}, "by_exercise": {}}))
    with pytest.raises(ValueError, match="default is worth -1 points"):
        grading.read_points(bad)
    bad.write_text(json.dumps({"by_kind": {"default": 1, "mysteries": 2}, "by_exercise": {}}))
    with pytest.raises(ValueError, match=r"by_kind names \['mysteries'\], which are not kinds "
                                         r"of exercise \(they are .*mystery, mystery_fix"):
        grading.read_points(bad)
    bad.write_text(json.dumps({"by_kind": {"default": 1}, "by_exercise": {"06.A": 2}}))
    with pytest.raises(ValueError, match=r"by_exercise names \['06.A'\], which are not exercises "
                                         r"or mystery items \(they are .*06.B, 06.B.fix"):
        grading.read_points(bad)                        # the worked example is not graded
    bad.write_text(json.dumps({"by_kind": {k: 1 for k in ("predict", "knob", "implement",
                                                          "derive", "diagnose", "mystery")},
                               "by_exercise": {}}))
    with pytest.raises(ValueError, match=r"by_kind gives no points for \['mystery_fix'\]"):
        grading.read_points(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"by_kind": {"default": 1, "knob": 4}, "by_exercise": {"01.1": 7}}))
    points = grading.read_points(good)
    assert grading.points_of(exercises.get("01.1"), points) == 7
    assert grading.points_of(exercises.get("01.3"), points) == 4
    assert grading.points_of(exercises.get("00.1"), points) == 1
    items = grading.mystery_items()
    good.write_text(json.dumps({"by_kind": {"default": 1, "mystery_fix": 5},
                                "by_exercise": {"06.C": 4}}))
    points = grading.read_points(good)
    assert [grading.points_of(items[item], points) for item in ("06.B", "06.B.fix", "06.C",
                                                                "06.C.fix")] == [1, 5, 4, 5]
    # the repository's own file: 2 points for naming a mystery's fault, 3 for fixing it
    assert {grading.points_of(item, POINTS) for item in items.values() if item.kind == "mystery"} \
        == {2}
    assert {grading.points_of(item, POINTS) for item in items.values()
            if item.kind == "mystery_fix"} == {3}


# --------------------------------------------------------------------------- the round trip

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course generated, released, handed in by three learners, autograded and exported."""
    if NBGRADER is None:
        pytest.skip("nbgrader is not installed: pip install -e '.[instructor]' (make test does)")
    course = tmp_path_factory.mktemp("course")
    made = subprocess.run([sys.executable, "-m", "nnlab.grading", "--output", str(course)],
                          capture_output=True, text=True, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    assert "make assignments" not in made.stderr and "generate_assignment" in made.stdout
    _nbgrader(course, "generate_assignment", "*", "--force")
    for lesson in LESSONS:
        name = lesson.stem
        source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
        released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
        found = _found(lesson)
        answers = {cell.metadata.nbgrader["grade_id"]: _solution_free(cell.source)
                   for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}
        wrong = f"answer_{_wrong_one(found).exercise.id.replace('.', '_')}" if found else None
        for learner in LEARNERS:
            handed_in = nbformat.from_dict(json.loads(json.dumps(released)))
            for cell in handed_in.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if learner != "unchanged" and grade_id in answers:
                    cell.source = answers[grade_id]
                if learner == "one_wrong" and wrong is not None and grade_id == wrong:
                    cell.source += "\n" + _wrong_answer(_wrong_one(found).exercise)
            target = course / "submitted" / learner / name / f"{name}.ipynb"
            target.parent.mkdir(parents=True)
            nbformat.write(handed_in, target)
    _nbgrader(course, "autograde", "*", "--create")
    _nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as grades:
        scores = {(row["assignment"], row["student_id"]): (float(row["score"]),
                                                           float(row["max_score"]))
                  for row in csv.DictReader(grades)}
    return course, scores


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_the_released_assignment_holds_no_solution(course, lesson):
    course, _ = course
    name = lesson.stem
    released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in released.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    lesson_notebook = json.loads(lesson.read_text())
    found = _found(lesson)
    items = {f"check_{entry.exercise.id.replace('.', '_')}": entry.exercise for entry in found}
    lines = {line.strip() for line in text.splitlines()}
    for entry in found:
        answer = next(cell for cell in released.cells
                      if cell.metadata.get("nbgrader", {}).get("grade_id")
                      == f"answer_{entry.exercise.id.replace('.', '_')}")
        # the learner gets the lesson's own answer cell (its `name = None` or stub), no more
        assert answer.source.strip() == _source(lesson_notebook["cells"][entry.answer_cell]).strip()
        if isinstance(entry.exercise, grading.MysteryItem):   # one line, such as `fix_d = ...`
            assert entry.exercise.solution not in lines
        else:
            assert entry.exercise.solution.strip() not in text
    assert grading.SOLUTIONS_OFF_CELL in text
    # the text and the labs are read-only, the checks graded (with the points file's points);
    # only the answers and the lesson's other code cells can be changed
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader", {"locked": False, "solution": False, "grade": False})
        if cell.cell_type == "markdown" or grading.LAB_CALL.search(cell.source):
            assert meta["locked"], cell.source
        if meta["solution"]:
            assert not meta["locked"]
        if meta["grade"]:
            assert meta["locked"]
            assert meta["points"] == grading.points_of(items[meta["grade_id"]], POINTS)
    assert sum(cell.metadata.get("nbgrader", {}).get("grade", False)
               for cell in released.cells) == len(found)
    lab_cells = [cell for cell in lesson_notebook["cells"] if grading._is_lab(cell)]
    locked = [cell.source for cell in released.cells
              if cell.metadata.get("nbgrader", {}).get("locked")]
    assert all(_source(cell) in locked for cell in lab_cells)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_autograde_scores_nothing_full_marks_and_one_wrong_answer(course, lesson):
    course, scores = course
    name = lesson.stem
    found = _found(lesson)
    total = sum(grading.points_of(entry.exercise, POINTS) for entry in found)
    assert scores[(name, "unchanged")] == (0.0, total)
    assert scores[(name, "solutions")] == (total, total)
    if found:
        wrong = _wrong_one(found).exercise
        assert scores[(name, "one_wrong")] == (total - grading.points_of(wrong, POINTS), total)
        # the failed test cell says why, as the learner's check would
        graded = nbformat.read(course / "autograded" / "one_wrong" / name / f"{name}.ipynb", 4)
        check = next(cell for cell in graded.cells
                     if cell.metadata.get("nbgrader", {}).get("grade_id")
                     == f"check_{wrong.id.replace('.', '_')}")
        (error,) = [output for output in check.outputs if output.output_type == "error"]
        assert error.ename == "NotRight" and error.evalue.startswith(_wrong_message(wrong))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_labs_render_statically_under_the_grader(course, lesson):
    course, _ = course
    name = lesson.stem
    shown = [cell for cell in json.loads(lesson.read_text())["cells"]
             if cell["cell_type"] == "code"
             and any(WIDGET in output.get("data", {}) for output in cell["outputs"])]
    graded = nbformat.read(course / "autograded" / "solutions" / name / f"{name}.ipynb", 4)
    for cell in shown:
        (ran,) = [mine for mine in graded.cells if mine.source == _source(cell)]
        assert any("image/png" in output.get("data", {}) for output in ran.outputs), cell["source"]
    assert not [output for cell in graded.cells for output in cell.get("outputs", [])
                if output.output_type == "error"], "the instructor's solutions raised"

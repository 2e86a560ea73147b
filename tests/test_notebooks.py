"""The lessons' shape and their saved state, read from the .ipynb files (no kernel needed).

nbval (``make test``) re-runs every lesson and compares its outputs with the saved ones.
These cheaper checks say what the saved notebooks must hold in the first place: every
lesson in the same order of sections, its lab and per-layer gradient plot, outputs from
one clean top-to-bottom run (``make notebooks``) without errors or warnings, the labs'
widget state for viewers without a kernel, and exercises that ship unanswered.
"""

import json
import re
from pathlib import Path

import pytest

from nnlab import exercises
from nnlab.exercises._common import IN_PREDICT_FIRST

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))

# The lessons that follow the common shape, and the lab each one shows.
LESSON_LABS = {
    "00_backpropagation": "playground",
    "01_vanishing_gradients": "vanishing",
    "02_exploding_gradients": "exploding",
    "03_dead_relu": "dead_relu",
    "04_dropout": "dropout",
    "05_batch_normalization": "batchnorm",
}
# The shape of a lesson (../shared/LESSON_DESIGN.md): the learner predicts before anything
# reveals the answer, runs it, reads the numbers, and only then gets the mechanism, the
# fixes (each with where it stops working), a classic result reproduced, and exercises.
SECTIONS = ["## Learning goals", "## Predict first", "## Experiment", "## What you saw",
            "## Why it happens", "## Fixes, and where they stop", "## A classic result",
            "## Exercises", "## Summary"]
# A lesson whose topic is not a failure case may name its middle sections differently; it
# still predicts first and ends with exercises and a summary.
LESSON_SECTIONS = {stem: SECTIONS for stem in LESSON_LABS}
# Lesson 00 teaches backpropagation itself, not a failure: after the mechanism it teaches how to
# check a backward pass instead of fixes and a classic result.
LESSON_SECTIONS["00_backpropagation"] = [
    "## Learning goals", "## Predict first", "## Experiment", "## What you saw",
    "## Why it happens", "## Checking a backward pass", "## Exercises", "## Summary"]
# The words beside every lab cell: saved, the lab is a picture; running the cell brings controls.
LAB_NOTE = "run the cell (Shift+Enter) to get the controls"
MAX_CODE_LINES = 6
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def text_of(output) -> str:
    if output["output_type"] == "stream":
        text = output["text"]
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def lesson_path(stem: str) -> Path:
    return NOTEBOOKS / f"{stem}.ipynb"


# --- every notebook in notebooks/ ------------------------------------------------------

def test_the_lessons_are_all_there_and_numbered_in_order():
    names = [path.stem for path in ALL]
    assert set(LESSON_LABS) <= set(names), f"missing lessons: {set(LESSON_LABS) - set(names)}"
    for index, name in enumerate(names):
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", name), f"{name}: lessons are named NN_topic"
        assert int(name[:2]) == index, f"{name}: lesson numbers should run 00, 01, 02, ..."


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_saved_outputs_come_from_one_clean_top_to_bottom_run(path):
    cells = [cell for cell in code_cells(load(path)) if source(cell).strip()]
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; run `make notebooks` to re-run it from a "
        "fresh kernel")


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_no_saved_errors_or_warnings(path):
    for index, cell in enumerate(load(path)["cells"]):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{path.name}, cell {index}: an error"
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), (
                f"{path.name}, cell {index} wrote to stderr: {text_of(output)[:200]}")


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_the_kernel_is_plain_python3(path):
    assert load(path)["metadata"]["kernelspec"]["name"] == "python3"


# --- the lessons that share the common shape ----------------------------------------

@pytest.fixture(scope="module", params=list(LESSON_LABS))
def lesson(request):
    return request.param, load(lesson_path(request.param))


def test_a_lesson_has_its_sections_in_order(lesson):
    stem, notebook = lesson
    headings = [line.strip() for cell in notebook["cells"] if cell["cell_type"] == "markdown"
                for line in source(cell).splitlines() if line.startswith("## ")]
    assert headings == LESSON_SECTIONS[stem], f"{stem}: sections {headings}"
    title = source(notebook["cells"][0]).splitlines()[0]
    assert title.startswith(f"# {int(stem[:2])}. "), f"{stem}: title {title!r}"


def test_a_lesson_keeps_code_cells_short(lesson):
    stem, notebook = lesson
    for cell in code_cells(notebook):
        lines = source(cell).strip().splitlines()
        assert len(lines) <= MAX_CODE_LINES, (
            f"{stem}: a code cell of {len(lines)} lines; move the logic into nnlab:\n"
            + source(cell))


def test_a_lesson_displays_its_lab_and_saves_its_initial_figure(lesson):
    stem, notebook = lesson
    call = f"from nnlab import labs\nlabs.{LESSON_LABS[stem]}()"
    cells = [cell for cell in code_cells(notebook) if source(cell).strip() == call]
    assert cells, f"{stem}: no cell that is just `{call}` (it imports labs, so it runs first too)"
    (output,) = [o for o in cells[0]["outputs"] if o["output_type"] == "execute_result"]
    assert WIDGET_VIEW in output["data"], f"{stem}: the lab was not displayed as a widget"
    assert " lab: " in text_of(output), "the plain-text fallback should be the lab's settings"
    state = notebook["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    figures = [o for model in state.values() if model["model_name"] == "OutputModel"
               for o in model["state"].get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert figures, f"{stem}: the saved widget state has no lab figure (run `make notebooks`)"


def test_a_lesson_shows_a_per_layer_gradient_figure(lesson):
    stem, notebook = lesson
    pattern = re.compile(r"plots\.(comparison_figure|gradient_per_layer)\(")
    shown = [cell for cell in code_cells(notebook) if pattern.search(source(cell))
             and any("image/png" in o.get("data", {}) for o in cell["outputs"])]
    assert shown, f"{stem}: no saved per-layer gradient figure"


def test_a_lesson_prints_its_numbers(lesson):
    stem, notebook = lesson
    cells = notebook["cells"]
    start = next(i for i, c in enumerate(cells) if source(c).startswith("## What you saw"))
    end = next(i for i, c in enumerate(cells) if source(c).startswith("## ")
               and i > start)
    printed = [o for c in cells[start:end] for o in c.get("outputs", [])
               if o["output_type"] == "stream" and re.search(r"\d", text_of(o))]
    assert printed, f"{stem}: 'What you saw' prints no numbers"


def test_a_lesson_checks_each_of_its_exercises_and_ships_them_unanswered(lesson):
    stem, notebook = lesson
    expected = [exercise.id for exercise in exercises.lesson(int(stem[:2]))]
    calls = []
    for cell in code_cells(notebook):
        match = re.fullmatch(r'from nnlab import exercises\nexercises\.check\("([\d.]+)"\)'
                             r'  # reads `(\w+)`', source(cell).strip())
        if not match:
            assert "exercises.check(" not in source(cell), f"{stem}: a check cell of another form"
            continue
        exercise_id, answer = match.groups()
        calls.append(exercise_id)
        assert answer == exercises.get(exercise_id).answer, f"{stem}: check of {exercise_id}"
        printed = "".join(text_of(o) for o in cell["outputs"])
        assert printed.startswith(("Not answered yet — ", "Not implemented yet — ")), (
            f"{stem}: exercise {exercise_id} should ship unanswered, but its check printed "
            f"{printed[:120]!r}")
    assert calls == expected, f"{stem}: checks {calls}, exercises {expected}"


@pytest.mark.parametrize("stem", list(LESSON_LABS))
def test_lab_and_check_cells_work_even_as_the_first_cell_run(stem, capsys):
    """Each lab cell and each check cell, run alone in an empty namespace: no NameError."""
    notebook = load(lesson_path(stem))
    for cell in code_cells(notebook):
        text = source(cell)
        if "labs." in text and "from nnlab import labs" in text:
            namespace = {}
            exec(compile(text.replace(text.strip().splitlines()[-1], "_lab = " + text.strip().splitlines()[-1]),
                         "<lab cell>", "exec"), namespace)
            assert namespace["_lab"].status_text(), f"{stem}: the lab cell showed no status"
        elif "exercises.check(" in text:
            exec(compile(text, "<check cell>", "exec"), {})
            printed = capsys.readouterr().out
            assert printed.startswith("Run the answer cell first — "), printed
            exercise_id = re.search(r'check\("([\d.]+)"\)', text).group(1)
            if exercises.get(exercise_id).answer_cell == IN_PREDICT_FIRST:
                # a prediction's answer cell is at the top of the lesson, not above its check
                assert 'Run the answer cell in "Predict first"' in printed, printed
                assert "just above" not in printed, printed
            else:
                assert "Run the answer cell just above this one" in printed, printed


def _section_of_each_cell(notebook) -> list:
    """For each cell, the "## " section it sits in ("" before the first)."""
    section, sections = "", []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            headings = [line.strip() for line in source(cell).splitlines() if line.startswith("## ")]
            if headings:
                section = headings[0]
        sections.append(section)
    return sections


@pytest.mark.parametrize("stem", ["00_backpropagation", "01_vanishing_gradients",
                                  "02_exploding_gradients"])
def test_the_prediction_is_answered_before_the_experiment_and_checked_after_it(stem):
    notebook = load(lesson_path(stem))
    sections = _section_of_each_cell(notebook)
    predictions = [e for e in exercises.lesson(int(stem[:2])) if e.answer_cell == IN_PREDICT_FIRST]
    assert predictions, f"{stem}: no prediction exercise answered in \"Predict first\""
    for exercise in predictions:
        answers = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
                   and re.match(rf"{exercise.answer} = None\b", source(cell).strip())]
        checks = [i for i, cell in enumerate(notebook["cells"])
                  if f'exercises.check("{exercise.id}")' in source(cell)]
        assert len(answers) == 1 and len(checks) == 1, f"{stem}: {exercise.id}"
        assert sections[answers[0]] == "## Predict first", f"{stem}: {exercise.id} answered in {sections[answers[0]]}"
        assert sections[checks[0]] in ("## What you saw", "## Why it happens"), (
            f"{stem}: {exercise.id} checked in {sections[checks[0]]}, before the run shows it")


@pytest.mark.parametrize("stem", ["00_backpropagation", "01_vanishing_gradients",
                                  "02_exploding_gradients"])
def test_beside_each_lab_cell_the_lesson_says_the_saved_lab_is_a_picture(stem):
    cells = load(lesson_path(stem))["cells"]
    labs_at = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"
               and "from nnlab import labs\nlabs." in source(cell)]
    assert labs_at, stem
    for index in labs_at:
        above = source(cells[index - 1])
        assert cells[index - 1]["cell_type"] == "markdown" and LAB_NOTE in above, (
            f"{stem}: the markdown above the lab cell should say: {LAB_NOTE}")

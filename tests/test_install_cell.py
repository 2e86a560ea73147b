"""The install cell and the Colab / Binder links at the top of every lesson (tools/install_cell.py).

The lesson notebooks are rewritten by their own authors; after merging, running
``.venv/bin/python tools/install_cell.py`` (then ``make notebooks``) puts the current cells
in. Until then ``test_every_lesson_starts_with_the_current_install_cell`` fails, on purpose.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("install_cell", ROOT / "tools" / "install_cell.py")
install_cell = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_cell)

LESSONS = install_cell.lessons()


def source(cell) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_lesson_starts_with_the_current_install_cell(lesson):
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    first_code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert source(first_code) == install_cell.install_source(), (
        f"{lesson.name}: its first code cell is not the current install cell; "
        "run .venv/bin/python tools/install_cell.py, then make notebooks")
    assert notebook == install_cell.refreshed(notebook, lesson)


def test_the_cell_is_short_and_installs_from_the_one_repository_url():
    text = install_cell.install_source()
    repository = install_cell.settings()["repository"]
    assert len(text.splitlines()) <= 6
    assert f"nnlab @ git+{repository}@" in text
    assert "upgrade" not in text.replace("nothing else is upgraded", "") and " -U" not in text


def test_where_nnlab_is_importable_the_cell_does_nothing_and_prints_nothing():
    done = subprocess.run([sys.executable, "-c", install_cell.install_source()],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_where_nnlab_is_missing_the_cell_runs_pip_install_without_upgrades(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append((command, kwargs)))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "nnlab" else real_find_spec(name, *a))
    exec(compile(install_cell.install_source(), "install cell", "exec"), {})
    ((command, kwargs),) = calls
    repository = install_cell.settings()["repository"]
    assert command == [sys.executable, "-m", "pip", "install", "-q",
                       f"nnlab @ git+{repository}@{install_cell.settings()['branch']}"]
    assert kwargs == {"check": True}


def test_the_tool_is_idempotent_and_leaves_the_other_cells_alone():
    for lesson in LESSONS:
        notebook = json.loads(lesson.read_text(encoding="utf-8"))
        once = install_cell.refreshed(notebook, lesson)
        assert install_cell.refreshed(once, lesson) == once
        theirs = [c for c in notebook["cells"] if install_cell.ROLE not in c.get("metadata", {})]
        assert [c for c in once["cells"] if install_cell.ROLE not in c["metadata"]] == theirs
        assert once["cells"][0] == theirs[0]                  # the title stays first
        assert [c["metadata"][install_cell.ROLE] for c in once["cells"][1:3]] == ["links", "install"]


def test_the_links_open_the_lesson_in_colab_and_on_binder():
    text = install_cell.links("notebooks/01_vanishing_gradients.ipynb")
    owner_name = install_cell.settings()["repository"].removeprefix("https://github.com/")
    assert (f"https://colab.research.google.com/github/{owner_name}/blob/main/"
            "notebooks/01_vanishing_gradients.ipynb") in text
    assert f"https://mybinder.org/v2/gh/{owner_name}/main?labpath=notebooks%2F01_vanishing" in text


def test_the_readme_carries_the_links_from_the_same_url():
    readme = (ROOT / "README.md").read_text()
    assert install_cell.links("notebooks/00_backpropagation.ipynb") in readme

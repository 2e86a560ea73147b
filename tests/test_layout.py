"""The package's layering, as the README's map draws it.

- ``nnlab/engine/`` imports nothing from the course beside it (labs, plots,
  exercises, diagnosis, ...): a learner can read it on its own.
- Importing ``nnlab`` or ``nnlab.exercises`` loads neither matplotlib nor
  ipywidgets (the widgets and figures are loaded by the modules that draw).
- The old top-level engine names (``nnlab.layers``, ``nnlab.training``, ...)
  still work, as aliases of the engine's modules.
- A non-editable install (the wheel) carries the engine subpackage and runs a lesson.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nnlab

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "nnlab" / "engine"
ENGINE_MODULES = sorted(path.stem for path in ENGINE.glob("*.py") if path.stem != "__init__")
COURSE_MODULES = sorted(path.stem for path in (ROOT / "nnlab").glob("*.py") if path.stem != "__init__")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved against the nnlab package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, [base, node.module]))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_engine_holds_the_modules_the_readme_names():
    assert {"layers", "losses", "models", "optim", "telemetry", "training", "gradcheck",
            "datasets"} <= set(ENGINE_MODULES)
    assert not set(ENGINE_MODULES) & set(COURSE_MODULES), "a module is in both places"


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_no_engine_module_imports_the_course(module):
    imports = imported_modules(ENGINE / f"{module}.py")
    course = {f"nnlab.{name}" for name in COURSE_MODULES} | {"matplotlib", "ipywidgets", "IPython"}
    upward = {name for name in imports
              if name in course or name.split(".")[0] in {"matplotlib", "ipywidgets", "IPython"}
              or (name.startswith("nnlab.") and not name.startswith("nnlab.engine"))}
    assert not upward, f"nnlab/engine/{module}.py imports {sorted(upward)}: the engine must not import upward"


@pytest.mark.parametrize("statement", ["import nnlab", "import nnlab.exercises"])
def test_importing_loads_neither_matplotlib_nor_ipywidgets(statement):
    code = (f"{statement}; import sys, json; "
            "print(json.dumps(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules)))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout
    assert json.loads(output.splitlines()[-1]) == []


@pytest.mark.parametrize("name", ["layers", "losses", "models", "optim", "telemetry", "training",
                                  "gradcheck", "datasets"])
def test_old_module_names_still_import(name):
    module = __import__(f"nnlab.{name}", fromlist=["*"])
    assert module.__name__ == f"nnlab.engine.{name}"


def test_engine_modules_are_the_ones_the_package_exports():
    from nnlab.engine import layers, training
    assert nnlab.Dense is layers.Dense and nnlab.train is training.train


def test_the_wheel_carries_the_engine_and_runs_a_lesson(tmp_path):
    """Build the wheel, install it (not editable) into a folder of its own and run lesson 01 there."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, text=True, cwd=tmp_path)
    (wheel,) = wheels.glob("nnlab-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    # Every module and data file of the source tree is in the installed copy (an editable
    # install would otherwise quietly supply a subpackage the wheel forgot).
    source = ROOT / "nnlab"
    wanted = {path.relative_to(source) for pattern in ("*.py", "*.npz")
              for path in source.rglob(pattern) if "__pycache__" not in path.parts}
    missing = sorted(str(path) for path in wanted if not (target / "nnlab" / path).is_file())
    assert not missing, f"the wheel lacks {missing}"
    env = {**os.environ, "PYTHONPATH": str(target)}
    # Lesson 01 top to bottom in a fresh kernel that imports nnlab from the installed copy.
    lesson = tmp_path / "lesson.ipynb"
    notebook = json.loads((ROOT / "notebooks" / "01_vanishing_gradients.ipynb").read_text())
    notebook["cells"].insert(0, {"cell_type": "code", "metadata": {}, "outputs": [],
                                 "execution_count": None,
                                 "source": "import nnlab\nprint('FROM', nnlab.__file__)"})
    lesson.write_text(json.dumps(notebook))
    result = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                             "--execute", "--output", "ran.ipynb", str(lesson)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = json.loads((tmp_path / "ran.ipynb").read_text())
    first_output = "".join(ran["cells"][0]["outputs"][0]["text"])
    assert f"FROM {target}" in first_output

"""The project scaffolding: dependency lists that agree, the CI script, the README.

The dependency rule: environment.yml (the conda route, and Binder / JupyterHub through
repo2docker) and ``make install`` install the same, tested, versions.

- constraints.txt pins (``==``) every dependency pyproject.toml names (runtime and the
  test, demo and export extras), each within pyproject's bounds; ``make install`` and
  environment.yml's ``pip:`` section both install under it.
- environment.yml's conda dependencies are only ``python`` (the version constraints.txt
  was tested with, within ``requires-python``) and ``pip``; pip installs nnlab itself,
  editable, with its lab extra (what learners need: JupyterLab, not the test tools).
- The runtime dependencies are what the lessons import; JupyterLab and the test tools are
  extras (tests/test_compat.py checks that they leave a Colab-like runtime as it is).
- constraints-min.txt (``make test-matrix``) holds exactly pyproject's lower bounds (for a
  package named twice, the higher one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:    # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI_RUN = ROOT / ".ci" / "run"


def normalize(name: str) -> str:
    """PEP 503 names: case, '-', '_' and '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_requirement(requirement: str) -> tuple[str, str]:
    """'numpy>=1.24' -> ('numpy', '>=1.24'); environment markers and extras are not used here."""
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", requirement)
    assert match, f"cannot read the requirement {requirement!r}"
    return normalize(match.group(1)), match.group(2).replace(" ", "")


def read_environment(path: Path) -> dict:
    """A tiny reader for environment.yml's flat layout (PyYAML may not be installed):
    ``name``, ``channels`` and ``dependencies`` with an optional nested ``- pip:`` list."""
    result: dict = {"channels": [], "dependencies": [], "pip": []}
    section = None
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent == 0:
            key, _, value = text.partition(":")
            section = key
            if value.strip():
                result[key] = value.strip()
        elif text == "- pip:":
            section = "pip"
        elif text.startswith("- "):
            item = text[2:].strip()
            if section == "pip" and indent <= 2:       # back out of the pip list
                section = "dependencies"
            result[section].append(item)
    return result


@pytest.fixture(scope="module")
def environment():
    return read_environment(ROOT / "environment.yml")


@pytest.fixture(scope="module")
def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def test_the_tiny_reader_agrees_with_pyyaml(environment):
    yaml = pytest.importorskip("yaml")     # jupyterlab brings it in; the reader must not need it
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in data["dependencies"] if isinstance(d, str)]
    pip = [d["pip"] for d in data["dependencies"] if isinstance(d, dict)]
    assert environment["name"] == data["name"]
    assert environment["channels"] == data["channels"]
    assert environment["dependencies"] == conda
    assert [environment["pip"]] == pip


def test_environment_basics(environment):
    assert environment["name"] == "nnlab"
    assert environment["channels"] == ["conda-forge"]
    assert environment["pip"] == ["--constraint constraints.txt", "-e .[lab]"]


def read_pins(path: Path) -> dict:
    """'name==version' lines (comments skipped) -> {normalized name: version}."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[normalize(name)] = version
    return pins


def declared(pyproject) -> dict:
    """Every dependency pyproject.toml names: {normalized name: specifier}, the specifiers of a
    package named more than once joined (ipywidgets: >=7.7,<9 to run, >=8.1 for JupyterLab)."""
    extras = pyproject["project"]["optional-dependencies"]
    names = pyproject["project"]["dependencies"] + [
        r for extra in ("lab", "test", "demo", "export") for r in extras[extra]]
    found: dict = {}
    for name, specifier in map(split_requirement, names):
        found[name] = ",".join(filter(None, [found.get(name), specifier]))
    return found


def test_the_runtime_is_what_the_lessons_import_and_the_rest_are_extras(pyproject):
    runtime = dict(map(split_requirement, pyproject["project"]["dependencies"]))
    assert set(runtime) == {"numpy", "matplotlib", "ipywidgets"}
    extras = pyproject["project"]["optional-dependencies"]
    for tool in ("jupyterlab", "nbval", "pytest"):
        assert tool not in runtime
    assert {"jupyterlab", "ipywidgets"} <= {split_requirement(r)[0] for r in extras["lab"]}
    assert {"jupyterlab", "notebook", "nbval", "pytest"} <= \
        {split_requirement(r)[0] for r in extras["test"]}


def test_constraints_pin_every_dependency_within_its_bounds(pyproject):
    from packaging.specifiers import SpecifierSet

    pins = read_pins(ROOT / "constraints.txt")
    for name, bound in declared(pyproject).items():
        assert name in pins, f"constraints.txt does not pin {name} (make constraints)"
        assert pins[name] in SpecifierSet(bound), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject.toml's {bound!r}")
    assert "nnlab" not in pins


def test_environment_and_make_install_use_the_constraints(environment, pyproject):
    from packaging.specifiers import SpecifierSet

    conda = dict(split_requirement(r) for r in environment["dependencies"])
    assert set(conda) == {"python", "pip"}, f"conda installs more than python and pip: {conda}"
    tested = re.search(r"\(Python (3\.\d+)\)", (ROOT / "constraints.txt").read_text())
    assert tested, "constraints.txt should say which Python it was tested with: (Python 3.X)"
    assert conda["python"] == f"={tested.group(1)}"
    assert f"{tested.group(1)}.0" in SpecifierSet(pyproject["project"]["requires-python"])
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS ?= constraints.txt" in makefile
    assert re.search(r'pip install .*-e "\.\[test\]" \$\(PIN\)', makefile)
    assert re.search(r'pip install .*-e "\.\[lab\]" \$\(PIN\)', makefile)     # make lab


def test_minimum_constraints_are_the_declared_lower_bounds(pyproject):
    minimum = read_pins(ROOT / "constraints-min.txt")
    from packaging.version import Version

    lower = {name: re.findall(r">=([\w.]+)", bound) for name, bound in declared(pyproject).items()}
    lower = {name: max(found, key=Version) for name, found in lower.items() if found}
    for name, version in lower.items():
        assert minimum.get(name, "").startswith(version) or minimum.get(name) == version, (
            f"constraints-min.txt: {name}=={minimum.get(name)}, pyproject.toml says >={version}")
    assert set(minimum) == set(lower)
    oldest = re.search(r">=\s*(3\.\d+)", pyproject["project"]["requires-python"]).group(1)
    assert f"MATRIX_OLDEST ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/{oldest}*" in \
        (ROOT / "Makefile").read_text()


# --------------------------------------------------------------------------- .ci/run


def test_ci_script_runs_make_test():
    text = CI_RUN.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert re.search(r"^exec make test$", text, re.MULTILINE)
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable (chmod +x)"


def run_ci(tmp_path, *, ci: bool, uid: int = 0, chromium: bool = False, apt_works=True):
    """Run .ci/run with stand-ins for make, apt-get, id and chromium on a private PATH.

    Returns (exit code, stderr, the list of commands the stand-ins saw).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    log.touch()
    for tool in ("bash", "env", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))

    def stand_in(name, body):
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    stand_in("make", f'echo "make $*" >> "{log}"')
    stand_in("apt-get", f'echo "apt-get $*" >> "{log}"' + ("" if apt_works else "\nexit 100"))
    stand_in("id", f"echo {uid}")
    if chromium:
        stand_in("chromium", "exit 0")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    if ci:
        env["CI"] = "1"
    done = subprocess.run([str(CI_RUN)], env=env, capture_output=True, text=True, timeout=30,
                          cwd=tmp_path)
    return done.returncode, done.stderr, log.read_text().splitlines()


needs_bash = pytest.mark.skipif(shutil.which("bash") is None or not Path("/bin/sh").exists(),
                                reason="needs bash and /bin/sh")


@needs_bash
def test_ci_script_outside_ci_just_runs_make_test(tmp_path):
    code, _, calls = run_ci(tmp_path, ci=False)
    assert code == 0 and calls == ["make test"]


@needs_bash
def test_ci_script_installs_chromium_in_ci(tmp_path):
    code, err, calls = run_ci(tmp_path, ci=True)
    assert code == 0, err
    assert calls == ["apt-get update", "apt-get install -y chromium", "make test"]
    assert "chromium is missing" in err


@needs_bash
def test_ci_script_leaves_an_installed_chromium_alone(tmp_path):
    code, _, calls = run_ci(tmp_path, ci=True, chromium=True)
    assert code == 0 and calls == ["make test"]


@needs_bash
def test_ci_script_explains_when_it_cannot_install(tmp_path):
    code, err, calls = run_ci(tmp_path, ci=True, uid=1000)
    assert code != 0 and calls == [] and "not root" in err


@needs_bash
def test_ci_script_explains_when_apt_fails(tmp_path):
    code, err, calls = run_ci(tmp_path, ci=True, apt_works=False)
    assert code != 0 and "make test" not in calls
    assert "apt-get could not install chromium" in err


# --------------------------------------------------------------------------- README


@pytest.fixture(scope="module")
def readme():
    return (ROOT / "README.md").read_text()


def test_readme_quick_start(readme):
    assert "make lab" in readme and "make test" in readme
    assert 'make lab LAB_ARGS="--no-browser --port 8899"' in readme
    assert "conda env create -f environment.yml" in readme
    assert "## Benchmarks" in readme
    # the two commands come first
    quick_start = readme.index("## Quick start")
    assert readme.index("make lab", quick_start) < readme.index("conda env create")


def test_readme_example_runs(readme, capsys):
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert blocks, "README.md should show a Python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("History(100 epochs")


def test_readme_says_how_to_demo_export_deploy_and_which_versions_are_tested(readme):
    for needed in ("make demo", 'DEMO_ARGS="--no-browser --port=8867"', "second screen",
                   "/voila/render/index.ipynb", "lecture=True", "make html", "file://",
                   "environment.yml", "constraints.txt", "make bench", "per learner",
                   "make test-matrix"):
        assert needed in readme, f"README.md should mention {needed!r}"
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo:", "test-matrix:", "test-colab:", "constraints:", "html:", "bench:"):
        assert re.search(rf"^{target}", makefile, re.MULTILINE), target
    assert "test-matrix" not in re.search(r"^test:.*$", makefile, re.MULTILINE).group(0)
    assert "test-colab" not in re.search(r"^test:.*$", makefile, re.MULTILINE).group(0)
    assert re.search(r"^test-matrix:\n(\t.*\n)*\t\$\(MAKE\) .*test-colab", makefile, re.MULTILINE)

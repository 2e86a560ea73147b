"""Put the install cell and the "Open in Colab" / Binder links at the top of every lesson.

    .venv/bin/python tools/install_cell.py            # insert or refresh them (idempotent)
    .venv/bin/python tools/install_cell.py --check    # exit 1 if a lesson lacks the current ones
    python tools/install_cell.py --run-here [DIR]     # run the cell, installing nnlab from DIR

The repository is named once, in pyproject.toml (``[tool.nnlab] repository`` and ``branch``);
the links and the install cell are built from it here, and the README's links are checked
against it (tests/test_install_cell.py). Each lesson gets, right after its title cell:

1. a markdown cell with the links (metadata ``"nnlab": "links"``);
2. the install cell (metadata ``"nnlab": "install"``): where ``nnlab`` cannot be imported
   (Colab, a fresh Jupyter) it runs ``pip install`` of nnlab from the repository, with pip's
   default strategy, which upgrades nothing the runtime already has that nnlab accepts
   (Colab's ipywidgets 7.7 and NumPy stay); where nnlab is importable it does nothing and
   prints nothing, so saved outputs, nbval and ``make lab`` are unaffected.

Cells this tool made before are replaced, never duplicated; every other cell is left as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote

if sys.version_info >= (3, 11):
    import tomllib
else:    # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ROLE = "nnlab"        # the cell metadata key that marks this tool's cells


def settings() -> dict:
    """``{"repository": "https://github.com/<owner>/<name>", "branch": ...}`` from pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        tool = tomllib.load(file)["tool"]["nnlab"]
    repository = tool["repository"].rstrip("/")
    if not repository.startswith("https://github.com/") or repository.count("/") != 4:
        raise ValueError(f"pyproject.toml [tool.nnlab] repository = {repository!r}: it should be "
                         "a GitHub repository, https://github.com/<owner>/<name>")
    return {"repository": repository, "branch": tool.get("branch", "main")}


def install_source() -> str:
    """The install cell's code (4 lines)."""
    config = settings()
    requirement = f"nnlab @ git+{config['repository']}@{config['branch']}"
    return ("# Where nnlab is missing (Colab, a fresh Jupyter), install it; nothing else is upgraded.\n"
            "import importlib.util, subprocess, sys\n"
            "if importlib.util.find_spec(\"nnlab\") is None:\n"
            f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"{requirement}\"], check=True)")


def links(path: str) -> str:
    """Markdown links that open ``path`` (a file in the repository) in Colab and on Binder."""
    config = settings()
    repository, branch = config["repository"], config["branch"]
    owner_name = repository.removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{owner_name}/blob/{branch}/{path}"
    binder = f"https://mybinder.org/v2/gh/{owner_name}/{branch}?labpath={quote(path, safe='')}"
    return f"[Open in Colab]({colab}) · [Open on Binder]({binder})"


def links_source(lesson: Path) -> str:
    return (links(f"notebooks/{lesson.name}") + "\n\n"
            "*In Colab or any Jupyter without nnlab, run the next cell first: it installs nnlab.*")


def refreshed(notebook: dict, lesson: Path) -> dict:
    """``notebook`` with this tool's two cells, current, right after its title cell."""
    cells = [cell for cell in notebook["cells"] if ROLE not in cell.get("metadata", {})]
    made = [{"cell_type": "markdown", "id": "nnlab-links", "metadata": {ROLE: "links"},
             "source": links_source(lesson)},
            {"cell_type": "code", "execution_count": None, "id": "nnlab-install",
             "metadata": {ROLE: "install"}, "outputs": [], "source": install_source()}]
    for cell in made:
        cell["source"] = cell["source"].splitlines(keepends=True)
    # An install cell already current keeps what the lesson's last run (make notebooks) gave it.
    ran = next((cell for cell in notebook["cells"]
                if cell.get("metadata", {}).get(ROLE) == "install"
                and "".join(cell["source"]) == install_source()), None)
    if ran is not None:
        made[1]["execution_count"], made[1]["outputs"] = ran.get("execution_count"), ran["outputs"]
    at = 1 if cells and cells[0]["cell_type"] == "markdown" else 0
    return {**notebook, "cells": cells[:at] + made + cells[at:]}


def lessons() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def run_here(source_tree: Path) -> None:
    """Run the install cell in this interpreter, installing nnlab from ``source_tree`` instead
    of the repository (``make test-colab``: the cell itself, in a Colab-like runtime)."""
    config = settings()
    code = install_source().replace(f"git+{config['repository']}@{config['branch']}",
                                    source_tree.resolve().as_uri())
    exec(compile(code, "install cell", "exec"), {})


def main(argv: list[str]) -> int:
    if argv[:1] == ["--run-here"]:
        run_here(Path(argv[1]) if len(argv) > 1 else ROOT)
        return 0
    check = "--check" in argv
    stale = []
    for lesson in lessons():
        notebook = json.loads(lesson.read_text(encoding="utf-8"))
        wanted = refreshed(notebook, lesson)
        if wanted == notebook:
            continue
        stale.append(lesson.name)
        if not check:
            lesson.write_text(json.dumps(wanted, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                              encoding="utf-8")
    if check and stale:
        print(f"without the current install cell: {', '.join(stale)} "
              "(run: .venv/bin/python tools/install_cell.py)", file=sys.stderr)
        return 1
    if not check:
        print(f"refreshed {len(stale)} of {len(lessons())} lessons")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

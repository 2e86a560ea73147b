"""Course benchmarks: re-executing every lesson, and the cost of ``import nnlab``.

Lessons run as ``make notebooks`` runs them (nbclient, kernel ``python3``, working
directory ``notebooks/``), each on a copy in memory: the repository's notebooks
are never written. Import times come from fresh interpreters, so nothing is
already in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
HEAVY_MODULES = ("matplotlib", "ipywidgets", "IPython", "torch", "scipy", "pandas")


def _run(code: str, *flags: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True,
                          env=os.environ.copy(), cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{done.stderr[-2000:]}")
    return seconds, done


def _importtime_total(stderr: str, module: str) -> float | None:
    """Cumulative seconds of ``module`` in ``python -X importtime`` output."""
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*(\S+)\s*$", line)
        if match and match.group(2) == module:
            return int(match.group(1)) / 1e6
    return None


def import_times(repeats: int = 7) -> dict:
    """``import nnlab`` (and, for comparison, ``import nnlab.labs``) in fresh interpreters.

    Wall time of ``python -c "import nnlab"`` minus ``python -c "pass"``, both
    interleaved ``repeats`` times, medians; and ``-X importtime``'s own figure.
    """
    codes = {"pass": "pass", "nnlab": "import nnlab", "nnlab.labs": "import nnlab.labs"}
    samples = {name: [] for name in codes}
    for _ in range(repeats):
        for name, code in codes.items():
            samples[name].append(_run(code)[0])
    medians = {name: statistics.median(values) for name, values in samples.items()}
    _, traced = _run("import nnlab", "-X", "importtime")
    _, traced_labs = _run("import nnlab.labs", "-X", "importtime")
    probe = ("import sys, json, nnlab; "
             f"print(json.dumps({{m: m in sys.modules for m in {list(HEAVY_MODULES)!r}}}))")
    _, probed = _run(probe)
    loaded = json.loads(probed.stdout.strip().splitlines()[-1])
    return {"repeats": repeats,
            "python_startup_s": medians["pass"],
            "import_nnlab_s": medians["nnlab"] - medians["pass"],
            "import_nnlab_labs_s": medians["nnlab.labs"] - medians["pass"],
            "importtime_nnlab_s": _importtime_total(traced.stderr, "nnlab"),
            "importtime_nnlab_labs_s": _importtime_total(traced_labs.stderr, "nnlab.labs"),
            "imports_by_import_nnlab": loaded,
            "slowest_imports": _slowest(traced.stderr)}


def _slowest(stderr: str, count: int = 8) -> list:
    """The top-level-ish imports that took longest (self time), to see what to defer."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$", line)
        if match:
            rows.append((int(match.group(1)) / 1e6, int(match.group(2)) / 1e6, match.group(4)))
    rows.sort(reverse=True)
    return [{"module": name, "self_s": round(own, 4), "cumulative_s": round(total, 4)}
            for own, total, name in rows[:count]]


def course(notebooks=None, log=print) -> dict:
    """Seconds to execute each lesson top to bottom in a fresh kernel (outputs discarded)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    paths = sorted(notebooks or NOTEBOOKS.glob("*.ipynb"))
    lessons = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOKS)}},
                                # quiet the kernel's start-up warning about unencrypted TCP
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        error = None
        started = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as failure:
            error = str(failure).strip().splitlines()[-1][:300]
        seconds = time.perf_counter() - started
        cells = sum(cell.cell_type == "code" for cell in notebook.cells)
        lessons.append({"notebook": path.name, "seconds": seconds, "code_cells": cells,
                        "error": error})
        log(f"  {path.name:<36} {seconds:6.1f} s" + (f"  ERROR {error}" if error else ""))
    return {"lessons": lessons, "total_s": sum(lesson["seconds"] for lesson in lessons)}

"""Lab benchmarks: click-to-figure times as a learner drives each lab, epoch-redraw times as
the lab plays through a run, and memory after many clicks.

Each lab runs in a fresh Python process (like a fresh kernel, one lesson each),
so the first build pays for importing matplotlib and ipywidgets, and no cache
is shared between labs. A *click* is one ``widget.value = v``; the lab's update
is synchronous, so the time until the assignment returns is the time until the
new figure is in ``lab.output``. ``lab.timings`` splits it into training
(zero on a cache hit) and drawing. An *epoch redraw* is one ``controls["epoch"].value = e``,
as the Play button steps through the run the lab opened with, each frame drawn for the
first time (no figure cache).

Run as a script, it is the worker the main benchmark starts:

    python benchmarks/bench_labs.py clicks vanishing
    python benchmarks/bench_labs.py memory playground 500

and prints one JSON object on its last line of output.
"""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nnlab  # noqa: F401,E402  before NumPy: it sets one BLAS thread

LAB_NAMES = ("vanishing", "exploding", "dead_relu", "dropout", "batchnorm", "playground")
VIEW_CONTROLS = ("epoch", "play")     # labs.VIEW_CONTROLS: they replay a run, never retrain


def values_of(widget) -> list:
    """Every value a learner can pick on this widget, in the order the widget shows them."""
    from nnlab.labs import widget_values
    return widget_values(widget)


def learner_script(lab) -> list[tuple[str, object]]:
    """The clicks of a learner exploring ``lab``: (control name, value), deterministic.

    Presets: visit every other preset and come back after each, then toggle the
    first pair once more (revisits). Then, per knob: step through every value
    in order, revisit the starting value, the second value and the middle one,
    and end on the starting value. Clicks that would not change the value (a
    preset can reset knobs) are skipped when the script is played.
    """
    script = []
    controls = lab.controls
    if "preset" in controls:
        # The "custom" button only shows that the knobs match no preset: it is never a click.
        from nnlab.labs import CUSTOM
        presets = [preset for preset in values_of(controls["preset"]) if preset != CUSTOM]
        first = controls["preset"].value
        for preset in presets:
            if preset != first:
                script += [("preset", preset), ("preset", first)]
        if len(presets) > 1:
            other = next(p for p in presets if p != first)
            script += [("preset", other), ("preset", first)]
    for name, widget in controls.items():
        if name == "preset" or name in VIEW_CONTROLS:
            continue
        values = values_of(widget)
        start = widget.value
        script += [(name, value) for value in values]
        revisits = [start, values[1 % len(values)], values[len(values) // 2], start]
        script += [(name, value) for value in revisits]
    return script


def _cache_stats():
    from nnlab import experiments
    info = getattr(experiments.outcome, "cache_info", None)
    return info() if info is not None else None


def click(lab, name: str, value) -> dict | None:
    """Set one control and time it; None when the value is already set (no click)."""
    widget = lab.controls[name]
    if widget.value == value:
        return None
    before_outputs, before_timings = lab.output.outputs, lab.timings
    before_cache = _cache_stats()
    started = time.perf_counter()
    widget.value = value
    seconds = time.perf_counter() - started
    after_cache = _cache_stats()
    updated = lab.timings is not before_timings
    record = {"control": name, "value": repr(value), "seconds": seconds,
              "train": lab.timings.get("train") if updated else None,
              "draw": (lab.timings.get("draw", 0) + lab.timings.get("render", 0)) if updated else None,
              "new_figure": bool(lab.output.outputs) and lab.output.outputs is not before_outputs}
    if before_cache is not None:
        record["cache_hit"] = after_cache.misses == before_cache.misses
    elif record["train"] is not None:
        record["cache_hit"] = record["train"] < 0.002
    else:
        record["cache_hit"] = None
    return record


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(records: list[dict]) -> dict:
    seconds = [r["seconds"] for r in records]
    trains = [r["train"] for r in records if r["train"] is not None]
    draws = [r["draw"] for r in records if r["draw"] is not None]
    hits = [r["cache_hit"] for r in records if r["cache_hit"] is not None]
    misses = [r["seconds"] for r in records if r["cache_hit"] is False]
    return {"clicks": len(records),
            "median_ms": 1e3 * statistics.median(seconds) if seconds else None,
            "p95_ms": 1e3 * percentile(seconds, 95) if seconds else None,
            "max_ms": 1e3 * max(seconds) if seconds else None,
            "median_train_ms": 1e3 * statistics.median(trains) if trains else None,
            "median_draw_ms": 1e3 * statistics.median(draws) if draws else None,
            "p95_train_ms": 1e3 * percentile(trains, 95) if trains else None,
            "p95_draw_ms": 1e3 * percentile(draws, 95) if draws else None,
            "median_miss_ms": 1e3 * statistics.median(misses) if misses else None,
            "cache_hit_fraction": sum(hits) / len(hits) if hits else None,
            "without_new_figure": sum(not r["new_figure"] for r in records)}


def _build(name: str):
    started = time.perf_counter()
    from nnlab import experiments, labs
    imported = time.perf_counter()
    clear = getattr(experiments.outcome, "cache_clear", None)
    if clear is not None:
        clear()
    lab = getattr(labs, name)()
    built = time.perf_counter()
    return lab, {"import_labs_s": imported - started, "build_s": built - imported,
                 "build_train_s": lab.timings.get("train"), "build_draw_s": lab.timings.get("draw", 0) + lab.timings.get("render", 0)}


def epoch_redraws(lab) -> dict:
    """Play ``lab``'s run through every epoch it can show, from 0, timing each new frame."""
    epoch = lab.controls["epoch"]
    seconds = []
    for value in range(epoch.min, epoch.max + 1, epoch.step):
        if value == epoch.value:
            continue
        started = time.perf_counter()
        epoch.value = value
        seconds.append(time.perf_counter() - started)
    return {"epoch_frames": len(seconds),
            "epoch_median_ms": 1e3 * statistics.median(seconds) if seconds else None,
            "epoch_p95_ms": 1e3 * percentile(seconds, 95) if seconds else None,
            "epoch_max_ms": 1e3 * max(seconds) if seconds else None}


def clicks(name: str, limit: int | None = None) -> dict:
    """Build lab ``name``, play its run through its epochs, then play its learner script
    (the first ``limit`` clicks)."""
    lab, result = _build(name)
    result.update(epoch_redraws(lab))
    records = []
    for control, value in learner_script(lab):
        if limit is not None and len(records) >= limit:
            break
        record = click(lab, control, value)
        if record is not None:
            records.append(record)
    return {"lab": name, **result, **summarize(records), "records": records}


def memory_kb() -> dict:
    """Resident memory now (VmRSS) and its peak so far (VmHWM), in kB."""
    found = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
    except OSError:
        pass
    if "VmHWM" not in found:      # not Linux: the peak is all getrusage knows (kB on Linux, bytes on macOS)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        found["VmHWM"] = peak // 1024 if sys.platform == "darwin" else peak
        found.setdefault("VmRSS", found["VmHWM"])
    return found


def run_lessons(folder=None) -> int:
    """Every lesson's code cells, in order, in this process (as one learner's kernel would run
    them: IPython, cwd notebooks/; ``%`` magic lines are left out and figures go to Agg, as
    there is no front end). Returns how many cells ran."""
    import json as _json
    from IPython.core.interactiveshell import InteractiveShell

    folder = Path(folder or Path(__file__).resolve().parents[1] / "notebooks")
    import matplotlib

    matplotlib.use("Agg")
    shell, ran, here = InteractiveShell.instance(), 0, os.getcwd()
    os.chdir(folder)
    try:
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            for cell in _json.loads(path.read_text())["cells"]:
                if cell["cell_type"] == "code":
                    code = "".join(line for line in cell["source"]
                                   if not line.lstrip().startswith("%"))
                    result = shell.run_cell(code, silent=True)
                    if result.error_in_exec is not None:
                        raise RuntimeError(f"{path.name}: {result.error_in_exec!r}")
                    ran += 1
    finally:
        os.chdir(here)
    return ran


def memory(name: str, n_clicks: int, seed: int = 0, lessons: bool = True) -> dict:
    """A learner's kernel: every lesson run (``lessons``), then ``n_clicks`` clicks on lab
    ``name``, each a random control set to a random new value; memory, and CPU per click."""
    baseline = memory_kb()
    cells = run_lessons() if lessons else 0
    after_lessons = memory_kb()
    lab, result = _build(name)
    after_build = memory_kb()
    choices = random.Random(seed)
    controls = [(control, values_of(widget)) for control, widget in lab.controls.items()
                if len(values_of(widget)) > 1 and control not in VIEW_CONTROLS]
    records, checkpoints = [], []
    cpu_started = time.process_time()
    while len(records) < n_clicks:
        control, values = choices.choice(controls)
        record = click(lab, control, choices.choice(values))
        if record is not None:
            records.append(record)
            if len(records) % max(1, n_clicks // 5) == 0:
                checkpoints.append({"clicks": len(records), **memory_kb()})
    cpu_seconds = time.process_time() - cpu_started
    after = memory_kb()
    gc.collect()
    return {"lab": name, **result, "clicks": len(records), "lesson_cells": cells,
            "cpu_ms_per_click": 1000 * cpu_seconds / max(len(records), 1),
            "rss_mb_at_start": baseline["VmRSS"] / 1024,
            "rss_mb_after_lessons": after_lessons["VmRSS"] / 1024,
            "rss_mb_after_build": after_build["VmRSS"] / 1024,
            "rss_mb_after_clicks": after["VmRSS"] / 1024,
            "rss_mb_after_gc": memory_kb()["VmRSS"] / 1024,
            "peak_rss_mb": after["VmHWM"] / 1024,
            "checkpoints_mb": [{"clicks": c["clicks"], "rss": c["VmRSS"] / 1024}
                               for c in checkpoints],
            "cache": str(_cache_stats()),
            **{key: value for key, value in summarize(records).items()
               if key in ("median_ms", "p95_ms", "cache_hit_fraction")}}


def in_subprocess(*args: str, timeout: float = 1800) -> dict:
    """Run this file as a worker in a fresh interpreter; its JSON result."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"lab worker {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    mode, lab_name, *rest = sys.argv[1:]
    if mode == "clicks":
        output = clicks(lab_name, int(rest[0]) if rest else None)
    elif mode == "memory":
        output = memory(lab_name, int(rest[0]) if rest else 500, lessons="nolessons" not in rest)
    else:
        raise SystemExit(f"unknown mode {mode!r}: use 'clicks LAB [LIMIT]' or 'memory LAB [CLICKS]'")
    print(json.dumps(output))

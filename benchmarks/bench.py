"""nnlab benchmarks: the engine beside PyTorch, telemetry overhead, lab clicks, the course.

    python benchmarks/bench.py [--quick]
        [--only engine,telemetry,baseline,labs,browser,course,import,memory,diagnose,learner]
                               [--json PATH] [--markdown PATH]

Prints a table as it goes, checks the targets, and writes every number (with
the machine it ran on) to ``benchmarks/results.json`` and the tables to
``benchmarks/RESULTS.md``. With ``--only``, the sections not run are kept from
the existing JSON file (each section says when it was measured). ``--quick`` is
a smoke run (tiny step counts, one lab, no course) that writes files only where
``--json`` / ``--markdown`` say.
"""

from __future__ import annotations

import os

import nnlab  # noqa: F401  first: it sets one BLAS thread before NumPy is imported

import argparse        # noqa: E402
import contextlib      # noqa: E402
import datetime        # noqa: E402
import io              # noqa: E402
import json            # noqa: E402
import platform        # noqa: E402
import sys             # noqa: E402
import time            # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np      # noqa: E402

import bench_baseline   # noqa: E402
import bench_browser    # noqa: E402
import bench_course     # noqa: E402
import bench_diagnose   # noqa: E402
import bench_learner    # noqa: E402
import bench_engine     # noqa: E402
import bench_labs       # noqa: E402

SECTIONS = ("engine", "telemetry", "baseline", "labs", "browser", "course", "import", "memory", "diagnose",
            "learner")
TARGETS = {"lab_median_ms": 150, "lab_p95_ms": 400, "lab_each_median_ms": 250,
           "epoch_median_ms": 100, "small_ratio": 1.5, "medium_ratio": 1.0,
           "telemetry_overhead": 0.25, "baseline_ratio": bench_baseline.TARGET_RATIO, "import_s": 0.3, "memory_mb": 300}
MEMORY_LAB, MEMORY_CLICKS = "playground", 500
BROWSER_THINK_S = 1.0      # a learner looks at each figure this long before the next click


# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _blas() -> dict:
    info = {}
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        info = {"name": blas.get("name"), "version": blas.get("version"),
                "configuration": blas.get("openblas configuration")}
    except Exception:           # numpy < 1.25 has no mode="dicts": keep the printed text
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            np.show_config()
        info = {"show_config": buffer.getvalue()[:2000]}
    try:
        import threadpoolctl
        info["threadpoolctl"] = [
            {key: pool.get(key) for key in ("user_api", "internal_api", "version",
                                            "num_threads", "architecture")}
            for pool in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpoolctl"] = None
    return info


def machine() -> dict:
    torch = bench_engine.torch
    try:
        cores_usable = len(os.sched_getaffinity(0))
    except AttributeError:
        cores_usable = os.cpu_count()
    memory_gb = None
    try:
        with open("/proc/meminfo") as meminfo:
            memory_gb = round(int(meminfo.readline().split()[1]) / 1024 ** 2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "cores_usable": cores_usable,
            "memory_gb": memory_gb, "os": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "blas": _blas(),
            "torch": torch.__version__ if torch is not None else None,
            "threads_env": {name: os.environ.get(name) for name in
                            ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
            "load_average_at_start": _load_average()}


# ---------------------------------------------------------------------------
# Running the sections
# ---------------------------------------------------------------------------

def run_labs(quick: bool, log) -> dict:
    names = bench_labs.LAB_NAMES[:1] if quick else bench_labs.LAB_NAMES
    rows = []
    for name in names:
        args = ("clicks", name, "6") if quick else ("clicks", name)
        result = bench_labs.in_subprocess(*args)
        rows.append(result)
        log(f"  {name:<11} {result['clicks']:3d} clicks  median {result['median_ms']:6.1f} ms  "
            f"p95 {result['p95_ms']:6.1f} ms  (train {result['median_train_ms']:.1f}, draw "
            f"{result['median_draw_ms']:.1f})  hits {result['cache_hit_fraction']:.0%}  "
            f"build {result['build_s']:.2f} s  epoch redraw median "
            f"{result['epoch_median_ms']:.1f} ms ({result['epoch_frames']} frames)")
    return {"rows": rows, "fresh_process_per_lab": True}


def run_memory(quick: bool, log) -> dict:
    clicks = 20 if quick else MEMORY_CLICKS
    # quick: the clicks only; in full, every lesson runs first in the same process
    result = bench_labs.in_subprocess("memory", MEMORY_LAB, str(clicks),
                                      *(["nolessons"] if quick else []))
    log(f"  {MEMORY_LAB}: {result['lesson_cells']} lesson cells, RSS "
        f"{result['rss_mb_after_lessons']:.0f} MB; {result['clicks']} clicks, "
        f"{result['cpu_ms_per_click']:.0f} ms CPU per click, RSS {result['rss_mb_after_build']:.0f} MB "
        f"after build -> {result['rss_mb_after_clicks']:.0f} MB after clicks, peak "
        f"{result['peak_rss_mb']:.0f} MB")
    return result


def run_browser(quick: bool, log) -> dict:
    result = bench_browser.run(think=BROWSER_THINK_S, log=log)
    overall = result["overall"]
    log(f"  fresh settings: {overall['fresh']['n']} clicks, median "
        f"{overall['fresh']['median']:.0f} ms, p95 {overall['fresh']['p95']:.0f} ms; revisits: "
        f"{overall['revisit']['n']} clicks, median {overall['revisit']['median']:.0f} ms")
    return result


def run_section(name: str, quick: bool, log) -> dict:
    if name == "engine":
        if quick:
            result = bench_engine.engine(seconds_per_config=0.02, rounds=1, dtypes=("float32",),
                                         log=log)
            result["end_to_end"] = bench_engine.end_to_end(repeats=1, log=log)
            return result
        result = bench_engine.engine(seconds_per_config=2.0, rounds=5, log=log)
        result["end_to_end"] = bench_engine.end_to_end(repeats=7, log=log)
        return result
    if name == "telemetry":
        if quick:
            return bench_engine.telemetry(seconds_per_config=0.05, rounds=1, dtypes=("float64",),
                                          log=log)
        return bench_engine.telemetry(seconds_per_config=1.0, rounds=5, log=log)
    if name == "baseline":
        if quick:
            return bench_baseline.baseline(seconds_per_config=0.05, rounds=1,
                                           shapes=bench_engine.SHAPES[:1], variants=("plain",),
                                           dtypes=("float32",), log=log)
        return bench_baseline.baseline(seconds_per_config=2.0, rounds=7, log=log)
    if name == "labs":
        return run_labs(quick, log)
    if name == "browser":
        return run_browser(quick, log)
    if name == "course":
        return bench_course.course(log=log)
    if name == "import":
        result = bench_course.import_times(repeats=3 if quick else 9)
        log(f"  import nnlab {result['import_nnlab_s']:.3f} s (python startup "
            f"{result['python_startup_s']:.3f} s excluded); import nnlab.labs "
            f"{result['import_nnlab_labs_s']:.3f} s; pulled in: "
            f"{[m for m, v in result['imports_by_import_nnlab'].items() if v] or 'nothing heavy'}")
        return result
    if name == "memory":
        return run_memory(quick, log)
    if name == "diagnose":
        return bench_diagnose.run(quick, log)
    if name == "learner":
        return bench_learner.run(quick, log)
    raise ValueError(name)


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------

def _check(name, value, limit, passed, unit=""):
    return {"target": name, "value": value, "limit": limit, "unit": unit,
            "pass": None if value is None else bool(passed)}


def targets(results: dict) -> list[dict]:
    checks = []
    for row in (results.get("labs") or {}).get("rows", []):
        if row.get("epoch_median_ms") is not None:
            checks.append(_check(f"lab {row['lab']}: median epoch redraw (playing)",
                                 row["epoch_median_ms"], f"< {TARGETS['epoch_median_ms']}",
                                 row["epoch_median_ms"] < TARGETS["epoch_median_ms"], "ms"))
    browser = results.get("browser")
    if browser:
        fresh = browser["overall"]["fresh"]
        checks.append(_check("browser, fresh settings, all labs: median click to figure painted",
                             fresh["median"], f"< {TARGETS['lab_median_ms']}",
                             fresh["median"] < TARGETS["lab_median_ms"], "ms"))
        checks.append(_check("browser, fresh settings, all labs: p95 click to figure painted",
                             fresh["p95"], f"< {TARGETS['lab_p95_ms']}",
                             fresh["p95"] < TARGETS["lab_p95_ms"], "ms"))
        for name, part in browser["labs"].items():
            median = part["fresh"]["median"]
            checks.append(_check(f"browser, fresh settings, lab {name}: median", median,
                                 f"< {TARGETS['lab_each_median_ms']}",
                                 median is not None and median < TARGETS["lab_each_median_ms"],
                                 "ms"))
    engine = results.get("engine") or {}
    shapes = [bench_engine.shape_name(shape) for shape in bench_engine.SHAPES]
    wanted = {shapes[0]: TARGETS["small_ratio"], shapes[1]: TARGETS["small_ratio"],
              shapes[2]: TARGETS["medium_ratio"]}
    for row in engine.get("rows", []):
        if row["dtype"] == "float32" and row["shape"] in wanted:
            limit = wanted[row["shape"]]
            checks.append(_check(f"engine {row['shape']} b{row['batch']} {row['variant']} "
                                 "float32: nnlab / torch steps/s", row["ratio"], f">= {limit}",
                                 row["ratio"] is not None and row["ratio"] >= limit, "x"))
    for row in (results.get("telemetry") or {}).get("rows", []):
        checks.append(_check(f"telemetry overhead {row['shape']} {row['variant']} {row['dtype']}",
                             row["overhead"], f"< {TARGETS['telemetry_overhead']:.0%}",
                             row["overhead"] < TARGETS["telemetry_overhead"], "fraction"))
    for row in (results.get("baseline") or {}).get("rows", []):
        checks.append(_check(f"engine speed against before issue 10, {row['shape']} "
                             f"{row['variant']} {row['dtype']} telemetry "
                             f"{'on' if row['telemetry'] else 'off'}", row["ratio"],
                             f">= {TARGETS['baseline_ratio']}",
                             row["ratio"] >= TARGETS["baseline_ratio"], "x"))
    imports = results.get("import")
    if imports:
        checks.append(_check("import nnlab", imports["import_nnlab_s"],
                             f"< {TARGETS['import_s']}",
                             imports["import_nnlab_s"] < TARGETS["import_s"], "s"))
        heavy = [m for m in ("matplotlib", "ipywidgets")
                 if imports["imports_by_import_nnlab"].get(m)]
        checks.append(_check("import nnlab leaves out matplotlib and ipywidgets",
                             ", ".join(heavy) or "neither imported", "neither imported",
                             not heavy))
    memory = results.get("memory")
    if memory:
        peak = max(memory["peak_rss_mb"], memory["rss_mb_after_clicks"])
        checks.append(_check(f"memory: every lesson, then lab {memory['lab']} after "
                             f"{memory['clicks']} clicks (peak RSS of the process)", peak, f"< {TARGETS['memory_mb']}",
                             peak < TARGETS["memory_mb"], "MB"))
    if results.get("diagnose"):
        checks += bench_diagnose.targets(results["diagnose"], _check)
    if results.get("learner"):
        checks += bench_learner.targets(results["learner"], _check)
    return checks


# ---------------------------------------------------------------------------
# Tables (the same rows for the terminal and for RESULTS.md)
# ---------------------------------------------------------------------------

def _number(value, digits=1, suffix=""):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value != value:
        return "nan"
    return f"{value:,.{digits}f}{suffix}"


def tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    checks = results.get("targets") or []
    if checks:
        rows = []
        for check in checks:
            value = check["value"]
            shown = (_number(100 * value, 0, "%") if check["unit"] == "fraction"
                     else _number(value, 2, " " + check["unit"]) if check["unit"] else
                     _number(value))
            verdict = {True: "pass", False: "**FAIL**", None: "not measured"}[check["pass"]]
            rows.append([check["target"], shown, check["limit"], verdict])
        out.append(("Targets", ["target", "measured", "goal", ""], rows))
    engine = results.get("engine")
    if engine:
        percent = lambda value: _number(100 * value, 0, "%") if value else ""
        rows = [[row["shape"], str(row["batch"]), row["variant"], row["dtype"],
                 _number(row["nnlab_steps_per_s"]), _number(row["torch_steps_per_s"]),
                 _number(row["ratio"], 2, "x"), _number(row.get("matmul_floor_ms_per_step"), 3),
                 percent(row.get("nnlab_of_floor")), percent(row.get("torch_of_floor"))]
                for row in engine["rows"]]
        out.append(("Engine: training steps per second (one thread; forward, loss, backward, "
                    "SGD step; steady state). The matmul floor is the step's own matmuls alone, "
                    "at their sizes, on this BLAS: the % says how close a step comes to it",
                    ["network (in x (depth x width) x classes)", "batch", "layers",
                     "dtype", "nnlab steps/s", "PyTorch steps/s", "nnlab / PyTorch",
                     "matmul floor ms/step", "nnlab % of floor", "PyTorch % of floor"], rows))
        ends = (engine.get("end_to_end") or {}).get("rows", [])
        if ends:
            rows = [[row["shape"], str(row["batch"]), str(row["steps"]), row["dtype"],
                     _number(row["nnlab_ms"]), _number(row["torch_ms"]),
                     _number(row["ratio"], 2, "x")] for row in ends]
            out.append(("Engine end to end, as a lab uses it (build the model, train 30 epochs "
                        "with per-step, per-layer telemetry, return the History; PyTorch records "
                        "the same statistics with hooks)",
                        ["network", "batch", "steps", "dtype", "nnlab ms", "PyTorch ms",
                         "nnlab speed / PyTorch"], rows))
        largest = bench_engine.shape_name(bench_engine.SHAPES[-1])
        peak = engine["peak_gflops"]
        rows = []
        for row in engine["rows"]:
            if row["shape"] == largest:
                top = peak.get(row["dtype"])
                rows.append([row["variant"], row["dtype"], _number(top),
                             _number(row["nnlab_gflops"]),
                             _number(100 * row["nnlab_gflops"] / top, 0, "%"),
                             _number(row["torch_gflops"]),
                             _number(100 * row["torch_gflops"] / top, 0, "%")
                             if row["torch_gflops"] else ""])
        if rows:
            out.append((f"Engine: GFLOP/s on {largest}, batch {bench_engine.SHAPES[-1][3]} "
                        "(matmul flops only; peak = best 1024x1024 np.matmul, one thread)",
                        ["layers", "dtype", "peak GFLOP/s", "nnlab GFLOP/s", "nnlab % of peak",
                         "PyTorch GFLOP/s", "PyTorch % of peak"], rows))
    telemetry = results.get("telemetry")
    if telemetry:
        rows = [[row["shape"], str(row["batch"]), row["variant"], row["dtype"],
                 _number(row["off_ms_per_step"], 3), _number(row["on_ms_per_step"], 3),
                 _number(100 * row["overhead"], 0, "%")] for row in telemetry["rows"]]
        out.append(("Telemetry overhead (recorder on vs off)",
                    ["network", "batch", "layers", "dtype", "ms/step off", "ms/step on",
                     "overhead"], rows))
    if results.get("baseline"):
        out += bench_baseline.tables(results["baseline"])
    labs = results.get("labs")
    if labs:
        rows = [[row["lab"], str(row["clicks"]), _number(row["median_ms"]),
                 _number(row["p95_ms"]), _number(row["median_train_ms"]),
                 _number(row["median_draw_ms"]), _number(row["median_miss_ms"]),
                 _number(100 * row["cache_hit_fraction"], 0, "%"),
                 _number(row["build_s"], 2), _number(row["import_labs_s"], 2)]
                for row in labs["rows"]]
        out.append(("Labs in the kernel alone (no browser): click to new figure (a learner's "
                    "script: every value of every control, presets back and forth, revisits)",
                    ["lab", "clicks", "median ms", "p95 ms", "median train ms",
                     "median draw ms", "median ms (cache miss)", "cache hits",
                     "build s (cold)", "import nnlab.labs s"], rows))
        rows = [[row["lab"], str(row["epoch_frames"]), _number(row["epoch_median_ms"]),
                 _number(row["epoch_p95_ms"]), _number(row["epoch_max_ms"])]
                for row in labs["rows"] if row.get("epoch_median_ms") is not None]
        if rows:
            out.append(("Labs: epoch redraw (the Play button stepping through the run the lab "
                        "opens with, every frame drawn afresh: PNG frames by blitting)",
                        ["lab", "frames", "median ms", "p95 ms", "max ms"], rows))
    browser = results.get("browser")
    if browser:
        def browser_row(name, part):
            median = lambda key: _number(part[key]["median"])
            return [name, str(part["fresh"]["n"]), median("fresh"), _number(part["fresh"]["p95"]),
                    str(part["revisit"]["n"]), median("revisit"), median("kernel_train_ms"),
                    median("kernel_draw_ms"), median("kernel_render_ms"),
                    median("messaging_ms"), median("decode_ms"), median("figure_kb"),
                    str(part["trained_on_click"])]
        rows = [browser_row(name, part) for name, part in browser["labs"].items()]
        rows.append(browser_row("**all labs**", browser["overall"]))
        out.append((f"Labs in the browser: click to new figure painted (JupyterLab, headless "
                    f"Chromium; every preset, slider step, checkbox and dropdown of each lesson's "
                    f"labs after Run All, {browser['think_s']:g} s to look at each figure; "
                    f"load average {', '.join(f'{v:.1f}' for v in browser['load_average'])})",
                    ["lab", "fresh clicks", "median ms", "p95 ms", "revisits",
                     "revisit median ms", "kernel: train ms", "draw ms", "render SVG ms",
                     "messages + layout ms", "image decode ms", "figure kB",
                     "runs trained on a click"], rows))
    course = results.get("course")
    if course:
        rows = [[lesson["notebook"], _number(lesson["seconds"]),
                 "error: " + lesson["error"] if lesson["error"] else ""]
                for lesson in course["lessons"]]
        rows.append(["**all lessons**", _number(course["total_s"]), ""])
        out.append(("The course: re-executing every lesson (fresh kernel each)",
                    ["lesson", "seconds", ""], rows))
    imports = results.get("import")
    if imports:
        heavy = [m for m, v in imports["imports_by_import_nnlab"].items() if v]
        rows = [["import nnlab (fresh interpreter, minus python startup)",
                 _number(imports["import_nnlab_s"], 3)],
                ["import nnlab per -X importtime", _number(imports["importtime_nnlab_s"], 3)],
                ["import nnlab.labs (matplotlib, ipywidgets)",
                 _number(imports["import_nnlab_labs_s"], 3)],
                ["python startup", _number(imports["python_startup_s"], 3)],
                ["heavy modules imported by import nnlab", ", ".join(heavy) or "none"]]
        out.append(("Import time (seconds)", ["", "value"], rows))
    memory = results.get("memory")
    if memory:
        trail = " / ".join(_number(point["rss"], 0) for point in memory["checkpoints_mb"])
        rows = [[memory["lab"], str(memory["clicks"]),
                 _number(memory.get("rss_mb_after_lessons"), 0),
                 _number(memory["rss_mb_after_build"], 0),
                 trail, _number(memory["peak_rss_mb"], 0), _number(memory.get("median_ms")),
                 _number(memory.get("p95_ms")), _number(memory.get("cpu_ms_per_click")),
                 _number(100 * memory["cache_hit_fraction"], 0, "%")
                 if memory.get("cache_hit_fraction") is not None else ""]]
        out.append(("Memory: a learner's kernel (fresh process) runs every lesson, then clicks one "
                    "lab through random controls and values",
                    ["lab", "clicks", "RSS MB after every lesson", "RSS MB after build", f"RSS MB every {max(1, memory['clicks'] // 5)} clicks",
                     "peak RSS MB", "median click ms", "p95 click ms", "CPU ms per click",
                     "cache hits"], rows))
    if results.get("diagnose"):
        out += bench_diagnose.tables(results["diagnose"])
    if results.get("learner"):
        out += bench_learner.tables(results["learner"])
    return out


def text_table(title, header, rows) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths))
    return "\n".join([title, line(header), line(["-" * w for w in widths]),
                      *map(line, rows)])


def markdown_table(title, header, rows) -> str:
    numeric = [all(_looks_numeric(row[i]) for row in rows) for i in range(len(header))]
    rule = ["---:" if right else "---" for right in numeric]
    line = lambda cells: "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"
    return "\n".join([f"**{title}**", "", line(header), line(rule), *map(line, rows)])


def _looks_numeric(cell: str) -> bool:
    text = str(cell).replace(",", "").rstrip("x%").strip()
    try:
        float(text)
        return True
    except ValueError:
        return text == ""


def machine_line(info: dict) -> str:
    blas = info.get("blas") or {}
    blas_text = " ".join(str(part) for part in (blas.get("name"), blas.get("version")) if part)
    pools = blas.get("threadpoolctl")
    if pools:
        blas_text += " (" + "; ".join(f"{p.get('internal_api')} {p.get('architecture')}, "
                                      f"{p.get('num_threads')} thread(s)" for p in pools) + ")"
    torch_text = f"PyTorch {info['torch']} (CPU, 1 thread)" if info.get("torch") else \
        "PyTorch not installed"
    return (f"{info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
            f"{info.get('memory_gb')} GB RAM; {info['os']}; Python {info['python']}; "
            f"NumPy {info['numpy']} with {blas_text or 'unknown BLAS'}, "
            f"OPENBLAS_NUM_THREADS={info['threads_env'].get('OPENBLAS_NUM_THREADS')}; "
            f"{torch_text}; load average at start {info.get('load_average_at_start')}")


def _run_kind(results: dict) -> str:
    if results.get("quick"):
        return "quick smoke run"
    ran = results.get("sections_run", SECTIONS)
    if set(ran) == set(SECTIONS):
        return "full run"
    return f"re-measured {', '.join(ran)}; other sections from an earlier run"


def markdown(results: dict) -> str:
    info = results["machine"]
    measured = ", ".join(f"{name} {results['measured_at'][name]}" for name in SECTIONS
                         if name in results.get("measured_at", {}))
    parts = ["# nnlab benchmarks", "",
             f"Measured with `make bench` ({_run_kind(results)}, {results['duration_s']:.0f} s) "
             f"on: {machine_line(info)}.", "",
             f"When each section was measured: {measured}.", ""]
    for title, header, rows in tables(results):
        parts += [markdown_table(title, header, rows), ""]
    parts += ["Notes: steps/s are medians over interleaved rounds (nnlab and PyTorch alternate "
              "in the same run); a step is forward, loss, backward and SGD update, timed through "
              "`nnlab.train(..., telemetry=False)` on synthetic data. `bn+dropout` adds "
              f"BatchNorm and Dropout({bench_engine.DROPOUT_RATE}) to every hidden layer. Lab "
              "clicks run in a fresh process per lab with an empty experiment cache. Raw numbers: "
              "`benchmarks/results.json`.", ""]
    return "\n".join(parts)


def keep_class_block(text: str, old: str) -> str:
    """``text`` (this run's RESULTS.md) with the class block that ``make bench-class`` wrote
    into ``old`` (the file before), kept as it was: the two benchmarks share one file."""
    start, end = "<!-- bench-class:", "<!-- /bench-class -->"
    if start not in old or end not in old:
        return text
    block = start + old.split(start, 1)[1].split(end, 1)[0] + end
    return text.rstrip("\n") + "\n\n" + block + "\n"


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: tiny step counts, one lab, no course")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default: all of {','.join(SECTIONS)})")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default benchmarks/results.json; "
                             "--quick writes none unless given)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="where to write the tables (default benchmarks/RESULTS.md; "
                             "--quick writes none unless given)")
    args = parser.parse_args(argv)
    args.sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.quick:
        args.sections = [name for name in args.sections if name not in ("course", "browser")]
    else:
        args.json = args.json or HERE / "results.json"
        args.markdown = args.markdown or HERE / "RESULTS.md"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    log = lambda text: print(text, flush=True)
    started = time.perf_counter()
    info = machine()
    log(f"nnlab benchmarks{' (quick)' if args.quick else ''} on {machine_line(info)}")
    results = {"schema": 1, "quick": args.quick, "sections_run": args.sections, "machine": info,
               "measured_at": {}}
    if not args.quick and args.json is not None and args.json.exists() and \
            set(args.sections) != set(SECTIONS):
        kept = json.loads(args.json.read_text())
        if not kept.get("quick"):
            for name in SECTIONS:
                if name not in args.sections and kept.get(name) is not None:
                    results[name] = kept[name]
                    results["measured_at"][name] = kept.get("measured_at", {}).get(name, "earlier")
    for name in args.sections:
        log(f"\n[{name}]")
        section_started = time.perf_counter()
        results[name] = run_section(name, args.quick, log)
        results[name]["seconds"] = time.perf_counter() - section_started
        results["measured_at"][name] = datetime.datetime.now().isoformat(timespec="seconds")
        log(f"  ({results[name]['seconds']:.0f} s)")
    info["load_average_at_end"] = _load_average()
    results["duration_s"] = time.perf_counter() - started
    results["targets"] = targets(results)
    print()
    for title, header, rows in tables(results):
        print(text_table(title, header, rows), end="\n\n")
    verdicts = [check["pass"] for check in results["targets"]]
    print(f"Targets: {verdicts.count(True)} met, {verdicts.count(False)} missed, "
          f"{verdicts.count(None)} not measured; {results['duration_s']:.0f} s in all.")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
        print(f"wrote {args.json}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        old = args.markdown.read_text() if args.markdown.exists() else ""
        args.markdown.write_text(keep_class_block(markdown(results), old))
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark harness runs end to end (``--quick``) and writes well-formed results.

A smoke test only: it checks the structure of the JSON and the Markdown, never a
time (timed assertions flake on a busy machine; `make bench` reports the numbers).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    json_path, markdown_path = folder / "results.json", folder / "RESULTS.md"
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(json_path),
                           "--markdown", str(markdown_path)],
                          capture_output=True, text=True, timeout=300, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(json_path.read_text()), markdown_path.read_text()


def is_positive_number(value):
    return isinstance(value, (int, float)) and value > 0


def test_machine_is_described(quick_run):
    _, results, _ = quick_run
    assert results["quick"] is True
    machine = results["machine"]
    for key in ("cpu", "cores", "python", "numpy", "blas", "torch", "threads_env"):
        assert key in machine
    assert machine["threads_env"]["OPENBLAS_NUM_THREADS"] is not None
    assert set(results["measured_at"]) == {"engine", "telemetry", "baseline", "labs", "import",
                                           "memory", "diagnose", "learner"}
    assert "course" not in results, "--quick skips the course"


def test_engine_rows_pair_nnlab_with_torch(quick_run):
    stdout, results, _ = quick_run
    engine = results["engine"]
    assert {row["shape"] for row in engine["rows"]} == {
        "2 x (10 x 16) x 2", "2 x (6 x 64) x 2", "64 x (4 x 256) x 10", "784 x (3 x 1024) x 10"}
    assert {row["variant"] for row in engine["rows"]} == {"plain", "bn+dropout"}
    assert is_positive_number(engine["peak_gflops"]["float32"])
    for row in engine["rows"]:
        assert is_positive_number(row["nnlab_steps_per_s"])
        assert is_positive_number(row["nnlab_gflops"])
        if engine["torch"] is None:
            assert row["torch_steps_per_s"] is None and row["ratio"] is None
        else:
            assert is_positive_number(row["torch_steps_per_s"])
            assert row["ratio"] == pytest.approx(row["nnlab_steps_per_s"] / row["torch_steps_per_s"])
    if engine["torch"] is None:
        assert "torch not installed" in stdout


def test_baseline_rows_compare_the_engine_with_the_one_before_issue_10(quick_run):
    _, results, markdown = quick_run
    baseline = results["baseline"]
    if baseline.get("skipped"):      # a shallow clone, or an old NumPy the old engine needs newer
        assert "git archive" in baseline["skipped"] or "does not run" in baseline["skipped"]
        assert baseline["rows"] == []
        return
    assert [row["telemetry"] for row in baseline["rows"]] == [False, True]
    for row in baseline["rows"]:
        assert is_positive_number(row["baseline_ms_per_step"])
        assert is_positive_number(row["now_ms_per_step"])
        assert row["ratio"] == pytest.approx(row["baseline_ms_per_step"] / row["now_ms_per_step"])
    assert f"commit {baseline['commit']}" in markdown


def test_telemetry_labs_import_and_memory_sections(quick_run):
    _, results, _ = quick_run
    for row in results["telemetry"]["rows"]:
        assert is_positive_number(row["off_steps_per_s"]) and is_positive_number(row["on_steps_per_s"])
        assert isinstance(row["overhead"], float)
    (lab,) = results["labs"]["rows"]
    assert lab["clicks"] > 0 and len(lab["records"]) == lab["clicks"]
    for key in ("median_ms", "p95_ms", "median_train_ms", "median_draw_ms", "build_s",
                "epoch_median_ms", "epoch_p95_ms"):
        assert isinstance(lab[key], float)
    assert 0.0 <= lab["cache_hit_fraction"] <= 1.0
    assert lab["without_new_figure"] == 0, "every click should put a new figure in the output"
    imports = results["import"]
    assert isinstance(imports["import_nnlab_s"], float)
    assert set(imports["imports_by_import_nnlab"]) >= {"matplotlib", "ipywidgets"}
    memory = results["memory"]
    assert memory["clicks"] > 0
    assert is_positive_number(memory["rss_mb_after_clicks"]) and is_positive_number(memory["peak_rss_mb"])
    assert is_positive_number(memory["cpu_ms_per_click"])
    assert memory["lesson_cells"] == 0      # --quick leaves the lessons out; make bench runs them


def test_a_learners_kernel_runs_lesson_code_without_magics(tmp_path):
    cells = [{"cell_type": "code", "source": ["%matplotlib inline\n", "x = 1\n"]},
             {"cell_type": "markdown", "source": ["# a title"]},
             {"cell_type": "code", "source": ["open('seen.txt', 'w').write(str(x + 1))"]}]
    (tmp_path / "00_tiny.ipynb").write_text(json.dumps({"cells": cells}))
    done = subprocess.run([sys.executable, "-c", "import bench_labs, sys; "
                           "print(bench_labs.run_lessons(sys.argv[1]))", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT / "benchmarks")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["2"]
    assert (tmp_path / "seen.txt").read_text() == "2"


def test_targets_and_markdown(quick_run):
    _, results, markdown = quick_run
    names = [check["target"] for check in results["targets"]]
    assert any(name.endswith("median epoch redraw (playing)") for name in names)
    assert not any(name.startswith("browser") for name in names), "--quick skips the browser"
    assert any(name.startswith("engine ") for name in names)
    assert any(name.startswith("telemetry ") for name in names)
    assert "import nnlab" in names and any(name.startswith("memory") for name in names)
    for check in results["targets"]:
        assert check["pass"] in (True, False, None)
    assert results["machine"]["cpu"] in markdown
    for title in ("**Targets**", "**Engine: training steps", "**Engine end to end",
                  "**Labs in the kernel alone", "**Labs: epoch redraw", "**Memory:"):
        assert title in markdown


def test_diagnose_section_reports_the_corpus(quick_run):
    _, results, markdown = quick_run
    diagnose = results["diagnose"]
    assert diagnose["runs"] >= 20 and 0.0 <= diagnose["exact_rate"] <= 1.0
    assert set(diagnose["confusion"]) >= {"healthy", "dead_relu", "not_learning"}
    names = [check["target"] for check in results["targets"]]
    assert "diagnose: broken runs called healthy" in names
    assert "**diagnose on" in markdown and "confusion matrix" in markdown
    assert "reliability of the confidence" in markdown
    for row in results["engine"]["end_to_end"]["rows"]:
        assert is_positive_number(row["nnlab_ms"])
    for row in results["engine"]["rows"]:
        assert is_positive_number(row["matmul_floor_ms_per_step"])


def test_the_browser_summary_keeps_fresh_clicks_and_revisits_apart():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_browser
    kernel = {"train_ms": 1.0, "draw_ms": 2.0, "render_ms": 3.0, "total_ms": 10.0, "bytes": 5000}
    records = [{"lab": "a", "fresh": True, "click_ms": ms, "decode_ms": 5.0, "kernel": kernel}
               for ms in (40.0, 60.0, 100.0)]
    records.append({"lab": "a", "fresh": False, "click_ms": 20.0, "decode_ms": 1.0, "kernel": kernel})
    summary = bench_browser.summarize(records)
    assert summary["overall"]["fresh"]["n"] == 3 and summary["overall"]["fresh"]["median"] == 60.0
    assert summary["overall"]["revisit"]["n"] == 1
    assert summary["labs"]["a"]["messaging_ms"]["median"] == 60.0 - 10.0 - 5.0


def test_learner_section_compares_the_learners_train_with_and_without_a_lab(quick_run):
    _, results, markdown = quick_run
    learner = results["learner"]
    assert set(learner["median_s"]) == {"alone", "lab, paused", "lab, not paused"}
    assert all(is_positive_number(value) for value in learner["median_s"].values())
    assert learner["paused_ratio"] == pytest.approx(
        learner["median_s"]["lab, paused"] / learner["median_s"]["alone"])
    assert "The learner's own train beside a lab on screen" in markdown


def _benchmark_module(name):
    import importlib.util

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_the_class_benchmark_and_make_bench_share_results_md(tmp_path):
    """bench-class rewrites its own block of RESULTS.md; make bench rewrites the rest and keeps
    that block."""
    bench_class, bench = _benchmark_module("bench_class"), _benchmark_module("bench")
    stage = {"pace_s": 4.0, "clicks": 120, "clicks_per_s": 2.0, "clicks_per_s_per_core": 1.0,
             "median_ms": 250.0, "p95_ms": 700.0, "memory_mib_median": 250.0}
    result = {"background": True, "learners": 10, "stages": [stage],
              "login_to_first_figure_s_median": 50.0, "login_to_first_figure_s_max": 56.0,
              "memory_peak_mib_median": 285.0, "memory_peak_mib_max": 302.0,
              "kernels_culled_after_s": 34.0, "servers_culled_after_s": 111.0, "errors": []}
    run = {"measured_at": "2026-12-03 13:50 UTC", "machine": "2 cores", "command": "bench",
           "results": [result]}
    markdown = tmp_path / "RESULTS.md"
    markdown.write_text("# nnlab benchmarks\n\nengine tables\n")
    bench_class.write_report([run], markdown)
    once = markdown.read_text()
    assert once.startswith("# nnlab benchmarks\n\nengine tables\n")
    assert "| on | 4 | 10 | 2.00 | 1.00 | 250 | 700 | 250 |" in once
    bench_class.write_report([run, run], markdown)          # replaced, not appended
    assert markdown.read_text().count(bench_class.BLOCK_START) == 1
    assert markdown.read_text().count("| on | 4 | 10 |") == 2
    kept = bench.keep_class_block("# nnlab benchmarks\n\nnew engine tables\n",
                                  markdown.read_text())
    assert kept.startswith("# nnlab benchmarks\n\nnew engine tables\n")
    assert kept.count("| on | 4 | 10 |") == 2 and kept.rstrip().endswith(bench_class.BLOCK_END)
    assert bench.keep_class_block("tables\n", "no block here") == "tables\n"

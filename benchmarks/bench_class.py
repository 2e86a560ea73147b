"""A class on the local hub (`make bench-class`): N learners log in, Run All of a lesson, then
use its lab at a human pace, all at once, through the kernel protocol as JupyterLab does.

For each setting of the labs' background preparation (on, off), one hub (deploy/, as `make hub`
starts it, culling times shortened so the cullers can be timed) and N simulated learners, each in
a thread of this process:

1. arrive (staggered by ``--arrival`` seconds), log in through the hub's login page, wait for
   the server the login starts, open a kernel, and run every code cell of the lesson in order
   ("Run All"); *login to first figure* is the time from the login until the lab cell returned;
2. click: every ``pace`` seconds (with +-50% seeded jitter) set a random control of the lesson's
   lab to a random new value, as bench_labs.py's memory run does; *click to figure* is the time
   from sending the assignment to the kernel's reply (the lab redraws synchronously, so the new
   figure is in its output then). The pace gets faster stage by stage (``--paces``), so the
   table shows where the p95 passes 1 s;
3. leave: stop clicking; the benchmark then waits for the kernel culler and the server culler
   and reports when each acted against its configured time.

Memory per learner is read from their memory cgroup (server and kernels together; the hub puts
every learner in one) at the end of each stage and at its peak. Prints a table, writes
benchmarks/results_class.json and the class block of benchmarks/RESULTS.md (``--report`` rebuilds
that block from saved runs). Run it on an otherwise idle machine: the numbers are the machine's.

    python benchmarks/bench_class.py --learners 10 --paces 8,4,2,1 --stage-seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))

from class_hub import MemoryLimit, parse_bytes  # noqa: E402
from operate import Hub, login, running_hub  # noqa: E402

LESSON = "01_vanishing_gradients.ipynb"
LAB_CALL = "labs.vanishing()"
KERNEL_IDLE, SERVER_IDLE, CULL_EVERY = 30, 60, 5
MEM_LIMIT = "1500M"
# Defined in each learner's kernel after Run All: the lab on screen, and one random click.
CLICKER = """
import random as _random
from nnlab import labs as _labs
from nnlab.lab import widget_values as _values
_lab_on_screen = _labs.vanishing()
# What the browser sends when it shows the lab (the output's view count): a learner is looking,
# so the labs' background preparation starts where the hub allows it (NNLAB_SPECULATE).
_lab_on_screen.output._view_count = 1
_choices = _random.Random({seed})
_controls = [(name, _values(widget)) for name, widget in _lab_on_screen.controls.items()
             if name not in ("epoch", "play") and len(_values(widget)) > 1]

def _click():
    while True:
        name, values = _choices.choice(_controls)
        value = _choices.choice(values)
        if _lab_on_screen.controls[name].value != value:
            _lab_on_screen.controls[name].value = value
            return
"""


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"]
            if cell["cell_type"] == "code" and "".join(cell["source"]).strip()]


class Learner(threading.Thread):
    def __init__(self, hub: Hub, name: str, seed: int, plan: "Plan"):
        super().__init__(name=name, daemon=True)
        self.hub, self.user, self.seed, self.plan = hub, name, seed, plan
        self.kernel = ""
        self.first_figure = float("nan")
        self.clicks: dict[float, list[float]] = {pace: [] for pace in plan.paces}
        self.error = ""
        self.background_runs = 0       # runs the kernel's background preparation trained

    def run(self):
        try:
            began = time.perf_counter()
            login(self.hub.url, self.user)
            self.hub.wait(lambda: self.hub.server_ready(self.user), f"{self.user}'s server",
                          timeout=600)
            self.kernel = self.hub.start_kernel(self.user)
            for cell in code_cells(Path(self.plan.lessons) / LESSON):
                self.hub.run(self.user, self.kernel, cell, timeout=600)
                if LAB_CALL in cell and self.first_figure != self.first_figure:
                    self.first_figure = time.perf_counter() - began
            self.hub.run(self.user, self.kernel, CLICKER.format(seed=self.seed), timeout=600)
            self.plan.ready.wait()
            jitter = random.Random(self.seed)
            for pace in self.plan.paces:
                stage_end = self.plan.stage_ends[pace]
                while time.monotonic() < stage_end:
                    time.sleep(pace * jitter.uniform(0.5, 1.5))
                    if time.monotonic() >= stage_end:
                        break
                    sent = time.perf_counter()
                    self.hub.run(self.user, self.kernel, "_click()", timeout=600)
                    self.clicks[pace].append(time.perf_counter() - sent)
            said = self.hub.run(self.user, self.kernel, "from nnlab import speculate\n"
                                "print(speculate.SPECULATOR.runs)", timeout=600)
            self.background_runs = int(said.split()[-1])
        except Exception as error:     # reported in the results, never hidden
            self.error = f"{type(error).__name__}: {error}"


class Plan:
    def __init__(self, paces, stage_seconds, lessons):
        self.paces, self.stage_seconds, self.lessons = paces, stage_seconds, lessons
        self.ready = threading.Event()
        self.stage_ends: dict[float, float] = {}

    def start(self):
        now = time.monotonic()
        for index, pace in enumerate(self.paces):
            self.stage_ends[pace] = now + (index + 1) * self.stage_seconds
        self.ready.set()


def one_class(learners: int, paces, stage_seconds: float, arrival: float, background: bool,
              state: Path) -> dict:
    settings = {"CULL_KERNELS_AFTER": KERNEL_IDLE, "CULL_SERVERS_AFTER": SERVER_IDLE,
                "CULL_EVERY": CULL_EVERY, "MEM_LIMIT": MEM_LIMIT,
                "BACKGROUND": "1" if background else "0"}
    memory = MemoryLimit(parse_bytes(MEM_LIMIT))
    with running_hub(state, settings) as hub:
        plan = Plan(paces, stage_seconds, str(ROOT / "notebooks"))
        names = [f"learner{index:03d}" for index in range(learners)]
        threads = [Learner(hub, name, seed, plan) for seed, name in enumerate(names)]
        for thread in threads:
            thread.start()
            time.sleep(arrival)
        deadline = time.monotonic() + 1800
        while not all(t.kernel and t.first_figure == t.first_figure or t.error or not t.is_alive()
                      for t in threads) and time.monotonic() < deadline:
            time.sleep(1)
        cpu_before = os.times()
        plan.start()
        peaks = {name: 0 for name in names}
        per_stage_memory = {}
        for pace in paces:
            while time.monotonic() < plan.stage_ends[pace]:
                for name in names:
                    peaks[name] = max(peaks[name], memory.usage(name) or 0)
                time.sleep(2)
            per_stage_memory[pace] = [memory.usage(name) or 0 for name in names]
        for thread in threads:
            thread.join(timeout=120)
        load = os.getloadavg()[0]
        left = time.monotonic()
        kernels_gone = servers_gone = float("nan")
        try:
            hub.wait(lambda: all(not hub.kernels(n) for n in names if hub.server_running(n)),
                     "idle kernels to be culled", timeout=KERNEL_IDLE + 10 * CULL_EVERY + 120)
            kernels_gone = time.monotonic() - left
            hub.wait(lambda: not any(hub.server_running(n) for n in names),
                     "idle servers to be culled", timeout=SERVER_IDLE + 20 * CULL_EVERY + 300)
            servers_gone = time.monotonic() - left
        except TimeoutError:
            pass
        stages = []
        for pace in paces:
            latencies = [s for t in threads for s in t.clicks[pace]]
            mib = [b / 2 ** 20 for b in per_stage_memory[pace] if b]
            stages.append({
                "pace_s": pace, "clicks": len(latencies),
                "clicks_per_s": len(latencies) / stage_seconds,
                "clicks_per_s_per_core": len(latencies) / stage_seconds / (os.cpu_count() or 1),
                "median_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
                "p95_ms": 1000 * percentile(latencies, 95),
                "memory_mib_median": statistics.median(mib) if mib else float("nan")})
        first = [t.first_figure for t in threads if t.first_figure == t.first_figure]
        peak_mib = [b / 2 ** 20 for b in peaks.values() if b]
        return {"background": background, "learners": learners, "stages": stages,
                "login_to_first_figure_s_median": statistics.median(first) if first else None,
                "login_to_first_figure_s_max": max(first) if first else None,
                "memory_peak_mib_median": statistics.median(peak_mib) if peak_mib else None,
                "memory_peak_mib_max": max(peak_mib) if peak_mib else None,
                "kernels_culled_after_s": kernels_gone, "kernel_cull_configured_s": KERNEL_IDLE,
                "servers_culled_after_s": servers_gone, "server_cull_configured_s": SERVER_IDLE,
                "cull_every_s": CULL_EVERY, "load_average_at_end": load,
                "background_runs": sum(t.background_runs for t in threads),
                "errors": [f"{t.user}: {t.error}" for t in threads if t.error],
                "cpu_seconds_hub_side": sum(os.times()[:4]) - sum(cpu_before[:4])}


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def table(results: list[dict]) -> str:
    lines = ["| background | pace (s) | learners | clicks/s | per core | median ms | p95 ms | "
             "memory/learner MiB |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in results:
        for stage in result["stages"]:
            lines.append(f"| {'on' if result['background'] else 'off'} | {stage['pace_s']:g} | "
                         f"{result['learners']} | {stage['clicks_per_s']:.2f} | "
                         f"{stage['clicks_per_s_per_core']:.2f} | {stage['median_ms']:.0f} | "
                         f"{stage['p95_ms']:.0f} | {stage['memory_mib_median']:.0f} |")
    for result in results:
        lines.append(
            f"\nbackground {'on' if result['background'] else 'off'}: login to first figure "
            f"median {_num(result['login_to_first_figure_s_median'])} s, max "
            f"{_num(result['login_to_first_figure_s_max'])} s; peak memory per learner median "
            f"{_num(result['memory_peak_mib_median'])} MiB, max "
            f"{_num(result['memory_peak_mib_max'])} MiB; "
            f"idle kernels culled {result['kernels_culled_after_s']:.0f} s after the last click "
            f"(configured {KERNEL_IDLE} s, checked every {CULL_EVERY} s), idle servers "
            f"{result['servers_culled_after_s']:.0f} s (configured {SERVER_IDLE} s); runs "
            f"trained in the background: {result.get('background_runs', 'n/a')}; errors: "
            f"{result['errors'] or 'none'}")
    return "\n".join(lines)


BLOCK_START = "<!-- bench-class: written by benchmarks/bench_class.py -->"
BLOCK_END = "<!-- /bench-class -->"


def machine() -> str:
    """One line: the cores, the memory and the date, for the report."""
    import platform

    with open("/proc/meminfo") as info:
        total_kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    return (f"{os.cpu_count()} cores, {total_kib / 2 ** 20:.1f} GiB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}")


def report(runs: list[dict]) -> str:
    """The Markdown block RESULTS.md holds: each saved run (``{"measured_at", "machine",
    "command", "results"}``) as its table and lines."""
    parts = [BLOCK_START, "## A class on the hub (`make bench-class`)", "",
             "Simulated learners on the local hub (deploy/), each logging in, Run All of "
             f"`{LESSON}`, then clicking its lab at a pace that quickens stage by stage "
             "(`benchmarks/bench_class.py` says how). Memory is the learner's cgroup: their "
             "server and kernel together. Click to figure: from sending the click to the "
             "kernel's reply, the figure redrawn.", ""]
    for run in runs:
        parts += [f"Measured {run['measured_at']} on {run['machine']}: `{run['command']}`", "",
                  table(run["results"]), ""]
        if run.get("note"):                 # what the numbers alone do not say, added by hand
            parts += [f"Note: {run['note']}", ""]
    parts.append(BLOCK_END)
    return "\n".join(parts)


def write_report(runs: list[dict], markdown: Path) -> None:
    """Put the class block into ``markdown`` (benchmarks/RESULTS.md), replacing the old one;
    the rest of the file (``make bench``'s tables) is left as it is."""
    text = markdown.read_text() if markdown.exists() else "# nnlab benchmarks\n"
    block = report(runs)
    if BLOCK_START in text and BLOCK_END in text:
        before, rest = text.split(BLOCK_START, 1)
        text = before + block + rest.split(BLOCK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    markdown.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--paces", default="8,4,2,1",
                        help="seconds between one learner's clicks, one stage each")
    parser.add_argument("--stage-seconds", type=float, default=60)
    parser.add_argument("--arrival", type=float, default=1.0, help="seconds between logins")
    parser.add_argument("--background", choices=("on", "off", "both"), default="both")
    parser.add_argument("--state", default=str(ROOT / "build" / "bench-class"))
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results_class.json"),
                        help="where this run's numbers go (JSON)")
    parser.add_argument("--markdown", default=str(ROOT / "benchmarks" / "RESULTS.md"),
                        help="the file whose class block is rewritten")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="run nothing: rewrite the class block of --markdown from these "
                             "saved runs (in this order)")
    arguments = parser.parse_args(argv)
    if arguments.report:
        runs = [json.loads(Path(path).read_text()) for path in arguments.report]
        write_report(runs, Path(arguments.markdown))
        print(report(runs))
        return 0
    paces = [float(p) for p in arguments.paces.split(",")]
    settings = {"on": [True], "off": [False], "both": [True, False]}[arguments.background]
    results = []
    for background in settings:
        state = Path(arguments.state) / ("background-on" if background else "background-off")
        results.append(one_class(arguments.learners, paces, arguments.stage_seconds,
                                 arguments.arrival, background, state))
    run = {"measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": machine(),
           "command": "python benchmarks/bench_class.py " + " ".join(
               argv if argv is not None else sys.argv[1:]),
           "results": results}
    print(table(results))
    Path(arguments.output).write_text(json.dumps(run, indent=1))
    write_report([run], Path(arguments.markdown))
    return 1 if any(result["errors"] for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())

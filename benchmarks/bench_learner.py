"""The learner's own code beside a lab on screen: does the background preparation slow it?

A lab shown in a browser trains the settings one click away in a background thread
(``nnlab.speculate``). While one of the learner's cells runs, that thread pauses
(IPython's ``pre_run_cell``/``post_run_cell`` events). This measures a learner's
``train`` (a 4-hidden-layer net, 60 epochs of spirals, about a second alone) run as
an IPython cell, in three settings, interleaved over rounds in one fresh process:

- ``alone``: no lab;
- ``lab, paused``: a lab on screen with its thread busy preparing after a click (what
  a learner gets);
- ``lab, not paused``: the same, with the cell events not followed (the thread keeps
  working beside the cell; what a learner got before issue 22).

The target: ``lab, paused`` within 10% of ``alone`` (median over rounds).

    python benchmarks/bench_learner.py [--quick]
"""

from __future__ import annotations

import nnlab  # noqa: F401  first: it sets one BLAS thread before NumPy is imported

import statistics  # noqa: E402
import sys         # noqa: E402
import time        # noqa: E402

TARGET_RATIO = 1.10

LEARNER_CELL = """
import time, nnlab
_X, _y = nnlab.datasets.spirals(n=300, seed=0)
_model = nnlab.mlp([2, 64, 64, 64, 64, 2], seed=0)
_started = time.perf_counter()
nnlab.train(_model, _X, _y, epochs={epochs}, seed=0)
learner_seconds = time.perf_counter() - _started
"""


def _busy_lab(labs, speculate, experiments, lab_name, click):
    """A lab on screen whose background thread has work queued (a click just happened)."""
    experiments.outcome.cache_clear()          # so that the neighbours must really be trained
    lab = getattr(labs, lab_name)()
    lab.output._view_count = 1
    from nnlab.lab import widget_values
    widget = lab.controls["depth"]
    options = [value for value in widget_values(widget) if value != widget.value]
    widget.value = options[click % len(options)]
    return lab


def run(quick: bool = False, log=print) -> dict:
    from IPython.core.interactiveshell import InteractiveShell
    from nnlab import experiments, labs, speculate

    shell = InteractiveShell.instance()
    epochs = 15 if quick else 60
    rounds = 2 if quick else 5
    cell = LEARNER_CELL.format(epochs=epochs)
    times = {"alone": [], "lab, paused": [], "lab, not paused": []}
    background_runs = {"lab, paused": 0, "lab, not paused": 0}
    for round_number in range(rounds):
        for setting in times:
            speculator = speculate.Speculator()
            speculate.SPECULATOR = speculator
            if setting == "lab, not paused":
                speculator.shell = shell          # as if followed already: no events registered
            if setting != "alone":
                _busy_lab(labs, speculate, experiments, "vanishing", round_number)
                time.sleep(0.3)                   # the thread is at work when the cell starts
            shell.run_cell(cell)
            times[setting].append(shell.user_ns["learner_seconds"])
            if setting != "alone":
                background_runs[setting] += speculator.runs
                with speculator.lock:             # stop the thread's work for the next setting
                    speculator.queue = []
                deadline = time.monotonic() + 60
                while not speculator.idle() and time.monotonic() < deadline:
                    time.sleep(0.05)
            if speculator.shell is shell and setting == "lab, paused":
                shell.events.unregister("pre_run_cell", speculator.pause)
                shell.events.unregister("post_run_cell", speculator.resume)
    medians = {setting: statistics.median(values) for setting, values in times.items()}
    result = {"epochs": epochs, "rounds": rounds, "round_seconds": times, "median_s": medians,
              "paused_ratio": medians["lab, paused"] / medians["alone"],
              "not_paused_ratio": medians["lab, not paused"] / medians["alone"],
              "background_runs": background_runs}
    log(f"  learner's train ({epochs} epochs), median of {rounds}: alone "
        f"{medians['alone']:.3f} s; lab on screen, thread paused {medians['lab, paused']:.3f} s "
        f"({result['paused_ratio']:.2f}x); thread not paused {medians['lab, not paused']:.3f} s "
        f"({result['not_paused_ratio']:.2f}x)")
    speculate.SPECULATOR = speculate.Speculator()
    return result


def targets(result: dict, check) -> list[dict]:
    ratio = result["paused_ratio"]
    return [check("the learner's train with a lab on screen, time over its time without a lab",
                  f"{ratio:.2f} x", f"<= {TARGET_RATIO:.2f} x", ratio <= TARGET_RATIO)]


def tables(result: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    alone = result["median_s"]["alone"]
    rows = [[setting, f"{seconds:.3f}", f"{seconds / alone:.2f}x",
             " / ".join(f"{value:.3f}" for value in result["round_seconds"][setting]),
             str(result["background_runs"].get(setting, ""))]
            for setting, seconds in result["median_s"].items()]
    return [(f"The learner's own train beside a lab on screen ({result['epochs']} epochs of a "
             f"4 x 64 ReLU net run as an IPython cell; median of {result['rounds']} interleaved "
             "rounds)", ["setting", "median s", "vs alone", "each round s",
                         "runs trained in the background"], rows)]


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    result = run(quick)
    for title, header, rows in tables(result):
        print(title)
        print(header)
        for row in rows:
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())

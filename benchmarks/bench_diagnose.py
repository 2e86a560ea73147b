"""diagnose on a generated corpus of runs with known ground truth (nnlab.diagnosis.corpus).

Trains every run of the corpus (about 240 small nets: depth 1-12, width 4-512,
every activation, batch size 1 to full batch, float32/float64, cross-entropy
and MSE, balanced and imbalanced classes, short and long runs, with and
without telemetry, every fault alone and in pairs), diagnoses each and
compares the set of cases with the truth. Reports the exact-match rate, the
confusion matrix, remedies proposed although already in place or in conflict,
and the reliability of each confidence band. ``--quick`` runs every 12th run.

    python benchmarks/bench_diagnose.py [--quick]
"""

from __future__ import annotations

import nnlab  # noqa: F401  first: it sets one BLAS thread before NumPy is imported

import sys             # noqa: E402
import time            # noqa: E402

from nnlab.diagnosis import CASE_NAMES, corpus  # noqa: E402

# The "Done when": at least 95% of runs get exactly the right set of cases, no
# broken run is called healthy, at most 2% of healthy runs get a fault, and no remedy is
# already in place or in conflict with another.
TARGETS = {"exact_rate": 0.95, "broken_called_healthy": 0, "healthy_given_fault_rate": 0.02,
           "remedy_problems": 0}


def run(quick: bool = False, log=print) -> dict:
    specs = corpus.subset() if quick else corpus.specs()
    started = time.perf_counter()
    results = [corpus.judge(spec) for spec in specs]
    seconds = time.perf_counter() - started
    summary = corpus.summary(results)
    summary["seconds"] = seconds
    summary["healthy_given_fault_rate"] = (summary["healthy_given_fault"]
                                           / max(summary["healthy"], 1))
    log(f"  {summary['runs']} runs in {seconds:.0f} s: {summary['exact']} exactly right "
        f"({summary['exact_rate']:.1%}); broken called healthy {summary['broken_called_healthy']} "
        f"of {summary['broken']}; healthy given a fault {summary['healthy_given_fault']} of "
        f"{summary['healthy']}; runs with a remedy in place or in conflict "
        f"{summary['remedy_problems']}")
    for name, seed, truth, found in summary["wrong"]:
        log(f"    wrong: {name} (seed {seed}): truth {', '.join(truth)}; "
            f"diagnose {', '.join(found) or 'nothing'}")
    return summary


def targets(summary: dict, check) -> list[dict]:
    """The Done-when targets, as bench.py's ``check(name, value, limit, passed, unit)`` rows."""
    return [
        check("diagnose: runs with exactly the right cases", summary["exact_rate"],
              f">= {TARGETS['exact_rate']:.0%}", summary["exact_rate"] >= TARGETS["exact_rate"],
              "fraction"),
        check("diagnose: broken runs called healthy",
              f"{summary['broken_called_healthy']} of {summary['broken']}", "0",
              summary["broken_called_healthy"] == 0),
        check("diagnose: healthy runs given a fault", summary["healthy_given_fault_rate"],
              f"<= {TARGETS['healthy_given_fault_rate']:.0%}",
              summary["healthy_given_fault_rate"] <= TARGETS["healthy_given_fault_rate"],
              "fraction"),
        check("diagnose: runs with a remedy already in place or in conflict",
              f"{summary['remedy_problems']} of {summary['runs']}", "0",
              summary["remedy_problems"] == 0),
    ]


def tables(summary: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    confusion = summary["confusion"]
    truths = [case for case in CASE_NAMES if any(confusion[case].values())]
    found = [case for case in CASE_NAMES if any(confusion[t][case] for t in CASE_NAMES)]
    rows = [[truth] + [str(confusion[truth][case] or "") for case in found]
            + [str(summary["truth_counts"][truth])] for truth in truths]
    out = [(f"diagnose on {summary['runs']} generated runs: confusion matrix (rows: true case, "
            f"columns: case found; a run with two true cases counts in two rows; "
            f"{summary['exact']} of {summary['runs']} exactly right, "
            f"{summary['seconds']:.0f} s)",
            ["true case \\ found"] + found + ["runs"], rows)]
    rows = []
    for case in CASE_NAMES:
        bands = summary["reliability"][case]
        if not any(count for count, _ in bands.values()):
            continue
        cells = [f"{right}/{count} ({right / count:.0%})" if count else ""
                 for count, right in bands.values()]
        rows.append([case] + cells)
    labels = [f"{name} ({low:.2f}-{min(high, 1.0):.2f})" for name, low, high in corpus.BANDS]
    out.append(("diagnose: reliability of the confidence (findings right / findings, per case "
                "and confidence band)", ["case"] + labels, rows))
    return out


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    summary = run(quick)
    from bench import text_table
    for title, header, rows in tables(summary):
        print(text_table(title, header, rows), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

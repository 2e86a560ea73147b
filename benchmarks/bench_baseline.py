"""The engine against the engine of an earlier commit, in the same run.

Issue 10 asks that making the engine safe (parameters that cannot drift from
the optimizer, telemetry summed without overflow) costs no more than 10% of the
speed it had. This section measures exactly that: it extracts the ``nnlab``
package of ``BASELINE_COMMIT`` with ``git archive`` into a temporary folder under
the name ``nnlab_baseline`` (every import inside the package is relative, so it
loads beside today's ``nnlab``), builds the same network with both, and times
``train`` of each, interleaved round by round in one process, with telemetry off
and on. ``ratio`` is today's steps/s over the baseline's (1.0 = as fast; the
target is at least 0.9).

Needs git and the repository's history (a clean clone has both).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import nnlab
from bench_engine import SHAPES, interleaved, nnlab_runner, shape_name

# main before issue 10 (the engine as it was when the issue was filed)
BASELINE_COMMIT = "7115d31"
TARGET_RATIO = 0.9
ROOT = Path(__file__).resolve().parent.parent


class BaselineMissing(RuntimeError):
    """The baseline commit cannot be read (no git, or a shallow clone without it)."""


def load_baseline(commit: str = BASELINE_COMMIT, folder: Path | None = None):
    """Import ``commit``'s nnlab package as ``nnlab_baseline``."""
    if "nnlab_baseline" in sys.modules:
        return sys.modules["nnlab_baseline"]
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "nnlab"],
                                 check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or str(error).encode()
        raise BaselineMissing(f"cannot read nnlab at commit {commit} with git archive "
                              f"({detail.decode(errors='replace').strip()}); a full clone "
                              "of the repository has it") from None
    folder = Path(folder or tempfile.mkdtemp(prefix="nnlab-baseline-"))
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "nnlab").rename(folder / "nnlab_baseline")
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module("nnlab_baseline")
        # It must also train here (it needs numpy.random.Generator.spawn, NumPy 1.25+).
        X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
        package.train(package.mlp([2, 3, 2], seed=0), X, y, epochs=1, batch_size=2)
    except Exception as error:     # an old engine that does not run on these versions
        sys.modules.pop("nnlab_baseline", None)
        raise BaselineMissing(f"nnlab at commit {commit} does not run with NumPy "
                              f"{np.__version__} here ({type(error).__name__}: {error})") from None
    finally:
        sys.path.remove(str(folder))
    return package


def baseline(seconds_per_config: float = 1.0, rounds: int = 7, shapes=None,
             variants=("plain", "bn+dropout"), dtypes=("float32", "float64"),
             telemetry_settings=(False, True), log=print) -> dict:
    try:
        old = load_baseline()
    except BaselineMissing as missing:
        log(f"  skipped: {missing}")
        return {"commit": BASELINE_COMMIT, "rows": [], "skipped": str(missing)}
    rows = []
    for shape in shapes or SHAPES:
        for variant in variants:
            for dtype in dtypes:
                for telemetry in telemetry_settings:
                    runners = {"baseline": nnlab_runner(shape, variant, dtype, telemetry, old),
                               "now": nnlab_runner(shape, variant, dtype, telemetry, nnlab)}
                    result = interleaved(runners, shape[4], seconds_per_config / rounds, rounds)
                    before = result["baseline"]["steps_per_s"]
                    now = result["now"]["steps_per_s"]
                    # Per round, the two runs taken side by side: the spread of the ratio.
                    pairs = [b and n / b for b, n in zip(result["baseline"]["rounds"],
                                                         result["now"]["rounds"])]
                    row = {"shape": shape_name(shape), "batch": shape[3], "variant": variant,
                           "dtype": dtype, "telemetry": telemetry,
                           "baseline_ms_per_step": 1e3 / before, "now_ms_per_step": 1e3 / now,
                           "ratio": now / before, "ratio_min": min(pairs),
                           "ratio_max": max(pairs), "detail": result}
                    rows.append(row)
                    log(f"  {row['shape']:<24} {variant:<10} {dtype} telemetry "
                        f"{'on ' if telemetry else 'off'}: before {row['baseline_ms_per_step']:.3f}"
                        f" ms, now {row['now_ms_per_step']:.3f} ms per step, speed "
                        f"{row['ratio']:.2f} of before (rounds {row['ratio_min']:.2f}-"
                        f"{row['ratio_max']:.2f})")
    return {"commit": BASELINE_COMMIT, "rows": rows, "rounds": rounds,
            "seconds_per_config": seconds_per_config}


def tables(result: dict) -> list:
    if not result["rows"]:
        return []
    rows = [[row["shape"], row["variant"], row["dtype"], "on" if row["telemetry"] else "off",
             f"{row['baseline_ms_per_step']:.3f}", f"{row['now_ms_per_step']:.3f}",
             f"{row['ratio']:.2f}", f"{row['ratio_min']:.2f}-{row['ratio_max']:.2f}"]
            for row in result["rows"]]
    title = (f"Engine now against the engine of commit {result['commit']} (before issue 10), "
             "interleaved in one process: speed now as a share of before")
    return [(title, ["shape", "variant", "dtype", "telemetry", "before ms/step",
                     "now ms/step", "speed ratio", "per-round ratios"], rows)]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default="0,1,2", help="indices into bench_engine.SHAPES")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--variants", default="plain,bn+dropout")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--telemetry", default="off,on")
    args = parser.parse_args()
    baseline(args.seconds, args.rounds, [SHAPES[int(i)] for i in args.shapes.split(",")],
             args.variants.split(","), args.dtypes.split(","),
             [{"off": False, "on": True}[name] for name in args.telemetry.split(",")])

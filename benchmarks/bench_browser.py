"""Click to new figure on screen, where a learner sits: JupyterLab in headless Chromium.

    python benchmarks/bench_browser.py [--lessons 01,04] [--think 1.0] [--json PATH]

The project's own JupyterLab (started as the browser tests start it, see
tests/browser/conftest.py) and Debian's Chromium, driven by Playwright. For each
lesson with a lab: open it in a fresh kernel, Run All, then, on every lab, click
every preset, move every slider (step by step to one end, back, and on to the
other end), flip every checkbox and step every dropdown, one action at a time.
After each action the script waits until the figure has changed, then pauses
``--think`` seconds, as a learner reads the figure before the next click.

Timed in the page (``performance.now()``): from the input event (pointer down
or key down) to the new figure painted: its ``<img>`` added to the page,
decoded (``img.decode()``), and the next animation frame. Each click is
*fresh* (a setting whose figure this kernel has not drawn before) or a
*revisit* (a figure from the lab's cache); they are reported apart. The kernel
writes one line per update (NNLAB_CLICK_LOG, see nnlab.labs) with its own
split: training (zero when the run was cached or trained in the background),
drawing and rendering the figure; the rest of the time is messaging, transfer
and the browser's rendering, of which image decoding is measured separately.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

# The preset button that only names a match, and the controls that only choose what to show.
from nnlab.lab import CUSTOM, VIEW_CONTROLS  # noqa: E402

LESSONS = ("00_backpropagation", "01_vanishing_gradients", "02_exploding_gradients", "03_dead_relu", "04_dropout",
           "05_batch_normalization")
UPDATE_TIMEOUT = 60.0
MAX_SLIDER_STEPS = 4       # fresh steps per slider direction (each also stepped back: revisits)

# Installed once per page: the time of the last input event, and one record per image painted.
JS_INSTRUMENT = """() => {
  if (window.__nnlab) return;
  const state = window.__nnlab = {t0: null, painted: []};
  for (const type of ['pointerdown', 'keydown', 'mousedown']) {
    document.addEventListener(type, () => { if (state.t0 === null) state.t0 = performance.now(); },
                              true);
  }
  new MutationObserver(mutations => {
    for (const m of mutations) for (const node of m.addedNodes) {
      const imgs = node.tagName === 'IMG' ? [node]
                 : (node.querySelectorAll ? [...node.querySelectorAll('img')] : []);
      for (const img of imgs) {
        if (!img.closest('.nnlab-lab') || state.t0 === null) continue;
        const t0 = state.t0, added = performance.now();
        state.t0 = null;
        img.decode().catch(() => null).then(() => {
          const decoded = performance.now();
          requestAnimationFrame(() => state.painted.push(
            {t0, added, decoded, painted: performance.now()}));
        });
      }
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def _percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    rank = q / 100 * (len(values) - 1)
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


def _summary(values) -> dict:
    return {"n": len(values), "median": statistics.median(values) if values else None,
            "p95": _percentile(values, 95), "max": max(values) if values else None}


class Clicker:
    """Drives one lab and records each action's browser and kernel timings."""

    def __init__(self, page, lab, log_path: Path, think: float):
        self.page, self.lab, self.log_path, self.think = page, lab, log_path, think
        self.records = []

    def _log_lines(self) -> list:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def act(self, what: str, action) -> None:
        seen = self.page.evaluate("() => window.__nnlab.painted.length")
        logged = len(self._log_lines())
        self.page.evaluate("() => { window.__nnlab.t0 = null; }")
        action()
        deadline = time.monotonic() + UPDATE_TIMEOUT
        while self.page.evaluate("() => window.__nnlab.painted.length") <= seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"no new figure within {UPDATE_TIMEOUT:.0f}s after {what}")
            time.sleep(0.01)
        painted = self.page.evaluate(f"() => window.__nnlab.painted[{seen}]")
        kernel = None
        while time.monotonic() < deadline:
            lines = self._log_lines()
            if len(lines) > logged:
                kernel = lines[-1]
                break
            time.sleep(0.01)
        self.records.append({"action": what, "click_ms": painted["painted"] - painted["t0"],
                             "decode_ms": painted["decoded"] - painted["added"],
                             "fresh": bool(kernel and kernel["fresh"]), "kernel": kernel})
        time.sleep(self.think)

    # --- the controls -----------------------------------------------------
    def presets(self) -> None:
        buttons = self.lab.locator(".widget-toggle-buttons button.widget-toggle-button")
        labels = [b.strip() for b in buttons.all_inner_texts()]
        if len(labels) < 2 or not buttons.first.is_visible():
            return
        active = [i for i in range(len(labels)) if "mod-active" in (buttons.nth(i).get_attribute("class") or "")]
        start = active[0] if active else 0
        for i in [*range(start + 1, len(labels)), *range(0, start + 1)]:
            if labels[i] == CUSTOM:      # only shows which preset the knobs match: no new figure
                continue
            self.act(f"preset {labels[i]!r}", buttons.nth(i).click)

    def sliders(self) -> None:
        handles = self.lab.locator(".widget-slider .noUi-target:not([disabled]) .noUi-handle")
        for index in range(handles.count()):
            handle = handles.nth(index)
            name = self.lab.locator(".widget-slider").nth(index).locator(".widget-label").first.inner_text()
            if name.strip() in VIEW_CONTROLS:     # the epoch shown: timed by the epoch-redraw section
                continue
            for key, back in (("ArrowRight", "ArrowLeft"), ("ArrowLeft", "ArrowRight")):
                steps = 0
                while steps < MAX_SLIDER_STEPS and not self._at_end(handle, key):
                    self.act(f"slider {name!r} {key}", lambda: (handle.focus(), self.page.keyboard.press(key)))
                    steps += 1
                for _ in range(steps):      # back to where it was: revisits
                    self.act(f"slider {name!r} {back}", lambda: (handle.focus(), self.page.keyboard.press(back)))

    @staticmethod
    def _at_end(handle, key) -> bool:
        now = float(handle.get_attribute("aria-valuenow"))
        end = handle.get_attribute("aria-valuemax" if key == "ArrowRight" else "aria-valuemin")
        return now == float(end)

    def checkboxes(self) -> None:
        boxes = self.lab.locator(".widget-checkbox input[type=checkbox]")
        for index in range(boxes.count()):
            box = boxes.nth(index)
            self.act("checkbox on", box.click)
            self.act("checkbox back", box.click)

    def dropdowns(self) -> None:
        selects = self.lab.locator(".widget-dropdown select")
        for index in range(selects.count()):
            select = selects.nth(index)
            options = select.locator("option").all_inner_texts()
            current = select.evaluate("s => s.selectedIndex")
            if current < 0:          # nothing selected: no value to step from
                continue
            following = (current + 1) % len(options)

            def choose(i, select=select):
                select.dispatch_event("pointerdown")
                select.select_option(index=i)
            self.act(f"dropdown -> {options[following]!r}", lambda: choose(following))
            self.act(f"dropdown -> {options[current]!r}", lambda: choose(current))


def bench_lesson(browser, server, stem: str, think: float, log_path: Path, scale: float,
                 shots: Path | None) -> list:
    import test_lessons_in_browser as harness
    from conftest import LabPage

    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  device_scale_factor=scale)
    context.set_default_timeout(30_000)
    try:
        lab_page = LabPage(context.new_page(), server)
        harness.open_notebook(lab_page, f"{stem}.ipynb")
        harness.run_all_cells(lab_page, f"{stem}.ipynb")
        harness.assert_no_errors(lab_page, stem, "after Run All")
        harness.wait_widgets_rendered(lab_page.page, stem)
        page = lab_page.page
        page.evaluate(JS_INSTRUMENT)
        records = []
        labs = page.locator(".nnlab-lab")
        for index in range(labs.count()):
            lab = labs.nth(index)
            lab.scroll_into_view_if_needed()
            harness.wait_image_settled(lab, None, f"{stem} lab {index}")
            if shots is not None:
                lab.screenshot(path=str(shots / f"{stem}_{index}_x{scale:g}.png"))
            clicker = Clicker(page, lab, log_path, think)
            for control in (clicker.presets, clicker.sliders, clicker.checkboxes, clicker.dropdowns):
                control()
            for record in clicker.records:
                record["lab"] = f"{stem}[{index}]"
            records += clicker.records
        harness.assert_no_errors(lab_page, stem, "after the clicks")
        return records
    finally:
        context.close()
        server.shutdown_kernels()


def summarize(records: list) -> dict:
    def part(rows):
        fresh = [r for r in rows if r["fresh"]]
        revisits = [r for r in rows if not r["fresh"]]
        kernel = [r["kernel"] for r in fresh if r["kernel"]]
        out = {"fresh": _summary([r["click_ms"] for r in fresh]),
               "revisit": _summary([r["click_ms"] for r in revisits])}
        for name in ("train_ms", "draw_ms", "render_ms", "total_ms"):
            out[f"kernel_{name}"] = _summary([k[name] for k in kernel])
        out["decode_ms"] = _summary([r["decode_ms"] for r in fresh])
        other = [r["click_ms"] - r["kernel"]["total_ms"] - r["decode_ms"] for r in fresh if r["kernel"]]
        out["messaging_ms"] = _summary(other)
        out["figure_kb"] = _summary([k["bytes"] / 1000 for k in kernel])
        out["trained_on_click"] = sum(1 for k in kernel if k["train_ms"] > 5)
        return out

    labs = sorted({r["lab"] for r in records})
    return {"overall": part(records), "labs": {name: part([r for r in records if r["lab"] == name])
                                               for name in labs}}


def run(lessons=LESSONS, think: float = 1.0, scale: float = 1.0, shots: Path | None = None,
        log=print) -> dict:
    from conftest import CHROMIUM_FLAGS, find_chromium, running_jupyter_lab
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("Chromium not found (apt-get install chromium)")
    records = []
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        log_path = Path(tmp) / "clicks.jsonl"
        with running_jupyter_lab(Path(tmp), {"NNLAB_CLICK_LOG": str(log_path)}) as server, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=CHROMIUM_FLAGS)
            try:
                for stem in lessons:
                    started = time.monotonic()
                    rows = bench_lesson(browser, server, stem, think, log_path, scale, shots)
                    fresh = [r["click_ms"] for r in rows if r["fresh"]]
                    log(f"  {stem}: {len(rows)} clicks ({len(fresh)} fresh), fresh median "
                        f"{statistics.median(fresh) if fresh else float('nan'):.0f} ms, "
                        f"{time.monotonic() - started:.0f} s")
                    records += rows
            finally:
                browser.close()
    return {"think_s": think, "device_scale": scale, "load_average": list(os.getloadavg()),
            "records": records, **summarize(records)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", default=",".join(s[:2] for s in LESSONS),
                        help="lesson numbers, comma-separated (default: all with a lab)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a learner looks at a figure before the next click")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio")
    parser.add_argument("--screenshots", help="folder for a screenshot of each lab")
    parser.add_argument("--json", help="write every record and the summary here")
    args = parser.parse_args(argv)
    wanted = [s for s in LESSONS if s[:2] in args.lessons.split(",")]
    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    result = run(wanted, args.think, args.scale, shots)
    overall = result["overall"]
    print(json.dumps({k: v for k, v in overall.items()}, indent=1))
    for name, part in result["labs"].items():
        print(name, {k: round(v, 1) if isinstance(v, float) else v for k, v in part["fresh"].items()})
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

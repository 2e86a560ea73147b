"""Every lesson notebook, run in JupyterLab in headless Chromium, with its labs clicked.

For each notebook: open it, Run > Run All Cells, wait until every cell has run, and fail on any
error output, kernel error, or "Error displaying widget". Then, for each lab (an ipywidgets box
with CSS class `nnlab-lab`): wait for its plot, screenshot it, click a toggle option that isn't
selected, wait for the plot and the status line (`nnlab-status`) to change, screenshot, press
ArrowRight on a slider, wait again, screenshot. Screenshots go to test-artifacts/browser/.

`test_harness_self_test` runs the same steps on tests/browser/demo_lab.ipynb, and also checks
that the harness notices when nothing changes and when a cell raises.

Run:  .venv/bin/python -m pytest tests/browser -v        (or -m browser / -m "not browser")
"""

from __future__ import annotations

import glob
import os
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("NNLAB_BROWSER_NOTEBOOKS") or REPO_ROOT / "notebooks")
LESSONS = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
DEMO = "demo_lab.ipynb"
PLAY = "play_lab.ipynb"

# Seconds. Run All for a whole lesson, and one lab update after a click / key press.
RUN_ALL_TIMEOUT = float(os.environ.get("NNLAB_BROWSER_RUN_TIMEOUT", "150"))
UPDATE_TIMEOUT = float(os.environ.get("NNLAB_BROWSER_UPDATE_TIMEOUT", "60"))
SETTLE = 0.3  # an image counts as settled once unchanged for this long
POLL = 0.05

# DOM selectors (JupyterLab 4.x, ipywidgets 8.x / jupyterlab_widgets 3.x).
SEL_NOTEBOOK = ".jp-NotebookPanel .jp-Notebook"
# Beware: the indicator says "idle" even before a kernel exists ("No Kernel | Initializing"),
# so "ready" also needs the toolbar's kernel name to be a real kernel.
SEL_KERNEL_IDLE = '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]'
SEL_KERNEL_NAME = ".jp-NotebookPanel .jp-Toolbar-kernelName"
SEL_MENUBAR_ITEM = ".lm-MenuBar-item"  # the one whose label is exactly "Run"
SEL_FIRST_PROMPT = ".jp-NotebookPanel .jp-Notebook .jp-Cell .jp-InputPrompt"
SEL_RUN_ALL = '.lm-Menu-item[data-command="runmenu:run-all"]'
SEL_DIALOG_ACCEPT = ".jp-Dialog .jp-Dialog-button.jp-mod-accept"
SEL_LAB = ".nnlab-lab"
SEL_LAB_IMG = ".widget-output img"
SEL_STATUS = ".nnlab-status .widget-html-content"
# A lab's "custom" button only shows that the knobs match no preset: clicking it changes nothing.
SEL_TOGGLE_OPTION = (".widget-toggle-buttons button.widget-toggle-button:not(.mod-active):not(:disabled)"
                     ':not([title="the knobs match no preset"])')
SEL_TOGGLE_BUTTON = "button.widget-toggle-button:not(.widget-toggle-buttons *):not(:disabled)"
SEL_PLAY_BUTTON = ".widget-play button"    # the first is ▶
SEL_SLIDER_HANDLE = ".widget-slider .noUi-target:not([disabled]) .noUi-handle"
SEL_STDERR = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
WIDGET_ERROR_TEXT = "Error displaying widget"

# Input prompt of every code cell, in one round trip.
JS_CELL_STATES = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-CodeCell')]
    .map(c => ({prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || ''}))"""
# Widget outputs (no data-mime-type) that the widget manager has not rendered yet.
JS_PENDING_WIDGETS = """() => [...document.querySelectorAll(
    '.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output:not([data-mime-type])')]
    .filter(e => e.childElementCount === 0 && e.textContent.trim() === '').length"""
# A short fingerprint of all of a lab's images (data: URLs are long), or null if it has none.
JS_IMG_SIG = """(lab, sel) => {
    const srcs = [...lab.querySelectorAll(sel)].map(i => i.getAttribute('src') || '');
    if (!srcs.length || srcs.some(s => !s)) return null;
    return srcs.map(s => { let h = 0;
        for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
        return s.length + ':' + h; }).join(' '); }"""


@dataclass
class LabResult:
    index: int
    screenshots: list[Path] = field(default_factory=list)
    toggled: str = ""
    slid: bool = False
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- notebook helpers


def kernel_ready(page) -> bool:
    if not page.locator(SEL_KERNEL_IDLE).count():
        return False
    names = page.locator(SEL_KERNEL_NAME).all_text_contents()
    return bool(names) and all(n.strip() not in ("", "No Kernel") for n in names)


def open_notebook(lab_page, name: str) -> None:
    """Open /lab/tree/<name> and wait until its kernel is idle (accepting a kernel dialog)."""
    page = lab_page.page
    page.goto(lab_page.server.notebook_url(urllib.parse.quote(name)))
    page.wait_for_selector(SEL_NOTEBOOK, timeout=60_000)
    deadline = time.monotonic() + 60
    while True:
        # A notebook without kernelspec metadata asks "Select Kernel"; take the default.
        dialog = page.locator(SEL_DIALOG_ACCEPT)
        if dialog.count() and dialog.first.is_visible():
            dialog.first.click()
        if kernel_ready(page):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: kernel never became idle after opening")
        time.sleep(0.1)


def _cell_states(page) -> list[dict]:
    return page.evaluate(JS_CELL_STATES)


def code_cells_on_disk(lab_page, name: str) -> list[bool]:
    """For each code cell of the (server's copy of the) notebook: is its source non-empty?"""
    nb = lab_page.server.api("GET", f"/api/contents/{urllib.parse.quote(name)}?content=1")["content"]
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return [bool(src.strip()) for src in sources]


def run_all_cells(lab_page, name: str) -> None:
    """Run > Run All Cells, then wait until every non-empty code cell has run (or one failed).

    Right after the kernel first reports idle, a Run All can occasionally be dropped; the click is
    retried until some cell shows [*] or an execution count.
    """
    page = lab_page.page
    non_empty = code_cells_on_disk(lab_page, name)
    if not any(non_empty):
        return
    deadline = time.monotonic() + 30
    while len(_cell_states(page)) != len(non_empty):
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: page shows {len(_cell_states(page))} code cells, "
                                 f"file has {len(non_empty)}")
        time.sleep(0.1)
    for attempt in range(3):
        # Make the notebook the current widget first: Run All acts on the *current* notebook,
        # and right after loading there may be none yet (the click is then silently dropped).
        page.locator(SEL_FIRST_PROMPT).first.click()
        page.locator(SEL_MENUBAR_ITEM, has_text=re.compile(r"^\s*Run\s*$")).click()
        page.locator(SEL_RUN_ALL).click()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(re.search(r"[\d*]", s["prompt"]) for s in _cell_states(page)):
                break
            time.sleep(0.1)
        else:
            print(f"\n{name}: Run All Cells did not start (attempt {attempt + 1}), retrying")
            page.keyboard.press("Escape")
            continue
        break
    else:
        raise AssertionError(f"{name}: Run All Cells never started executing")

    deadline = time.monotonic() + RUN_ALL_TIMEOUT
    while True:
        states = _cell_states(page)
        running = any("*" in s["prompt"] for s in states)
        done = all(re.search(r"\d", s["prompt"]) for s, ne in zip(states, non_empty) if ne)
        idle = kernel_ready(page)
        if not running and idle and (done or find_errors(lab_page)):
            return
        if time.monotonic() > deadline:
            prompts = [s["prompt"] for s in states]
            raise AssertionError(f"{name}: cells still running after {RUN_ALL_TIMEOUT:.0f}s: {prompts}")
        time.sleep(0.1)


def wait_widgets_rendered(page, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while page.evaluate(JS_PENDING_WIDGETS):
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: widget outputs still unrendered after {timeout:.0f}s")
        time.sleep(0.1)


def find_errors(lab_page) -> list[str]:
    """Everything that counts as a failure on the page so far."""
    page = lab_page.page
    problems = [f"kernel error: {e}" for e in lab_page.kernel.errors]
    for text in page.locator(SEL_STDERR).all_text_contents():
        if "Traceback" in text or re.search(r"^\w*(Error|Exception)\b", text, re.M):
            problems.append(f"error output: {text[-3000:]}")
    widget_errors = page.evaluate(
        """t => [...document.querySelectorAll('.jp-OutputArea')]
            .map(e => e.innerText).filter(s => s.includes(t))""",
        WIDGET_ERROR_TEXT,
    )
    problems += [f"widget error: {t[:500]}" for t in widget_errors]
    # e.g. "Kernel Restarting: the kernel appears to have died".
    problems += [f"dialog: {t[:500]}" for t in page.locator(".jp-Dialog").all_inner_texts()]
    return problems


def assert_no_errors(lab_page, name: str, when: str) -> None:
    problems = find_errors(lab_page)
    if problems:
        raise AssertionError(f"{name} ({when}):\n" + "\n---\n".join(problems))


def _fail_fast_on_kernel_error(kernel_errors: list[str] | None, seen: int, what: str) -> None:
    """A widget callback that raised won't update the lab: report it now, not after a timeout."""
    if kernel_errors is not None and len(kernel_errors) > seen:
        raise AssertionError(f"{what}: kernel error:\n" + "\n---\n".join(kernel_errors[seen:]))


# --------------------------------------------------------------------------- lab helpers


def image_sig(lab):
    return lab.evaluate(JS_IMG_SIG, SEL_LAB_IMG)


def status_text(lab) -> str:
    loc = lab.locator(SEL_STATUS)
    return loc.first.inner_text() if loc.count() else ""


def wait_image_settled(lab, previous, what: str, timeout: float = UPDATE_TIMEOUT,
                       kernel_errors: list[str] | None = None):
    """Wait until the lab shows an image different from `previous`, unchanged for SETTLE s."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    seen = len(kernel_errors or ())
    while True:
        _fail_fast_on_kernel_error(kernel_errors, seen, what)
        sig = image_sig(lab)
        now = time.monotonic()
        if sig != last:
            last, since = sig, now
        elif sig is not None and sig != previous and now - since >= SETTLE:
            return sig
        if now > deadline:
            raise AssertionError(
                f"{what}: image did not change and settle within {timeout:.0f}s "
                f"(before {previous}, now {sig})"
            )
        time.sleep(POLL)


def wait_status_changed(lab, previous: str, what: str, timeout: float = 10,
                        kernel_errors: list[str] | None = None) -> str:
    deadline = time.monotonic() + timeout
    seen = len(kernel_errors or ())
    while True:
        _fail_fast_on_kernel_error(kernel_errors, seen, what)
        text = status_text(lab)
        if text != previous:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: status text stayed {previous!r}")
        time.sleep(POLL)


def exercise_lab(lab_page, lab, stem: str, index: int, artifacts: Path) -> LabResult:
    page = lab_page.page
    res = LabResult(index)
    tag = f"{stem} lab {index}"
    errs = lab_page.kernel.errors

    def shot(suffix: str) -> None:
        path = artifacts / f"{stem}_{index}_{suffix}.png"
        lab.screenshot(path=str(path), animations="disabled")
        res.screenshots.append(path)

    t0 = time.monotonic()
    lab.scroll_into_view_if_needed()
    img = wait_image_settled(lab, None, f"{tag}: first render (a lab with no image?)",
                             kernel_errors=errs)
    assert lab.locator(SEL_STATUS).count(), f"{tag}: no HTML widget with class nnlab-status"
    status = status_text(lab)
    shot("before")
    res.timings["render"] = time.monotonic() - t0

    # 1. Click a toggle option that is not selected (skipped when there is none, e.g. a
    #    ToggleButtons with a single option).
    option = lab.locator(SEL_TOGGLE_OPTION)
    if not option.count():
        option = lab.locator(SEL_TOGGLE_BUTTON)
    if option.count():
        t0 = time.monotonic()
        option = option.first
        res.toggled = option.inner_text().strip()
        option.click()
        what = f"{tag}: after clicking {res.toggled!r}"
        img = wait_image_settled(lab, img, what, kernel_errors=errs)
        status = wait_status_changed(lab, status, what, kernel_errors=errs)
        assert_no_errors(lab_page, stem, f"lab {index} after clicking {res.toggled!r}")
        shot("after_toggle")
        res.timings["toggle"] = time.monotonic() - t0

    # 2. Keyboard on a slider handle (skipped when the lab has no slider).
    handles = lab.locator(SEL_SLIDER_HANDLE)
    if handles.count():
        t0 = time.monotonic()
        handle = handles.first
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        key = "ArrowLeft" if at_max else "ArrowRight"
        handle.focus()
        page.keyboard.press(key)
        what = f"{tag}: after {key} on a slider"
        img = wait_image_settled(lab, img, what, kernel_errors=errs)
        status = wait_status_changed(lab, status, what, kernel_errors=errs)
        assert_no_errors(lab_page, stem, f"lab {index} after {key} on a slider")
        shot("after_slider")
        res.slid = True
        res.timings["slider"] = time.monotonic() - t0
    assert res.toggled or res.slid, f"{tag}: nothing to interact with (no toggle option, no slider)"
    return res


def check_notebook(lab_page, name: str, artifacts: Path) -> list[LabResult]:
    """Open, run all, check for errors, exercise every lab. Full-page screenshot on failure."""
    stem = Path(name).stem
    page = lab_page.page
    for old in artifacts.glob(f"{glob.escape(stem)}_*.png"):  # this notebook's, from earlier runs
        if re.fullmatch(rf"{re.escape(stem)}_(FAILED|\d+_(before|after_toggle|after_slider))", old.stem):
            old.unlink()
    try:
        t0 = time.monotonic()
        open_notebook(lab_page, name)
        t_open = time.monotonic() - t0
        run_all_cells(lab_page, name)
        t_run = time.monotonic() - t0 - t_open
        assert_no_errors(lab_page, name, "after Run All Cells")
        wait_widgets_rendered(page, name)
        assert_no_errors(lab_page, name, "after widgets rendered")
        labs = page.locator(SEL_LAB)
        results = [exercise_lab(lab_page, labs.nth(i), stem, i, artifacts) for i in range(labs.count())]
        assert_no_errors(lab_page, name, "at the end")
        print(f"\n{name}: open {t_open:.1f}s, run all {t_run:.1f}s, {len(results)} lab(s)")
        for r in results:
            print(f"  lab {r.index}: " + ", ".join(f"{k} {v:.1f}s" for k, v in r.timings.items()))
        return results
    except BaseException:
        page.screenshot(path=str(artifacts / f"{stem}_FAILED.png"), full_page=True)
        if lab_page.page_errors:
            print("JavaScript errors on the page:\n" + "\n".join(lab_page.page_errors))
        print("jupyter server log (tail):\n" + lab_page.server.log_tail())
        raise


# --------------------------------------------------------------------------- tests


def test_pressing_play_animates_a_lab(lab_page, artifacts_dir):
    """Play in the playground lab: the figure steps through the epochs (at least 5 different
    frames), the status follows, and it ends on the last epoch with no error."""
    page = lab_page.page
    open_notebook(lab_page, PLAY)
    run_all_cells(lab_page, PLAY)
    wait_widgets_rendered(page, PLAY)
    assert_no_errors(lab_page, PLAY, "after Run All Cells")
    lab = page.locator(SEL_LAB).first
    lab.scroll_into_view_if_needed()
    image = wait_image_settled(lab, None, "play lab: first render", kernel_errors=lab_page.kernel.errors)
    last_status = status_text(lab)
    assert re.search(r"epoch (\d+) of \1", last_status), last_status
    lab.locator(SEL_PLAY_BUTTON).first.click()
    frames, statuses, shots = {image}, {last_status}, 0
    deadline = time.monotonic() + UPDATE_TIMEOUT
    while time.monotonic() < deadline:
        sig = image_sig(lab)
        if sig is not None and sig not in frames:
            frames.add(sig)
            statuses.add(status_text(lab))
            if shots < 3 and len(frames) in (3, 8, 15):
                lab.screenshot(path=str(artifacts_dir / f"play_lab_playing_{shots}.png"))
                shots += 1
        if len(frames) > 5 and status_text(lab) == last_status:
            break           # played through to the last epoch again
        time.sleep(POLL)
    assert_no_errors(lab_page, PLAY, "while playing")
    assert len(frames) - 1 >= 5, f"only {len(frames) - 1} new frames while playing"
    assert len(statuses) >= 5, f"the status named only {sorted(statuses)}"
    lab.screenshot(path=str(artifacts_dir / "play_lab_played.png"))


@pytest.mark.parametrize("notebook", LESSONS)
def test_lesson_in_browser(notebook, lab_page, artifacts_dir):
    """Lessons may have zero labs (lesson 0): then this only checks the notebook runs clean."""
    check_notebook(lab_page, notebook, artifacts_dir)


def test_harness_self_test(lab_page, artifacts_dir):
    """The harness on a fake lab: it must see the plot change, and must notice when it doesn't."""
    stem = Path(DEMO).stem
    results = check_notebook(lab_page, DEMO, artifacts_dir)
    assert len(results) == 1, f"expected exactly one lab in {DEMO}, found {len(results)}"
    (res,) = results
    assert res.toggled == "fixed" and res.slid
    shots = {p.stem.rsplit(f"{stem}_0_", 1)[1]: p.read_bytes() for p in res.screenshots}
    assert set(shots) == {"before", "after_toggle", "after_slider"}
    assert len({shots[k] for k in shots}) == 3, "screenshots before/after should all differ"

    page = lab_page.page
    lab = page.locator(SEL_LAB).first
    assert "fixed" in status_text(lab)

    # Nothing clicked: waiting for a change must time out, not pass.
    with pytest.raises(AssertionError, match="did not change"):
        wait_image_settled(lab, image_sig(lab), "self-test idle", timeout=1.0)

    # A cell that raises must be reported (both as DOM error output and kernel error).
    assert not find_errors(lab_page)
    page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text('raise ValueError("nnlab harness self-test")')
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + 30
    while len(problems := find_errors(lab_page)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(p.startswith("kernel error: ValueError: nnlab harness self-test") for p in problems), problems
    assert any(p.startswith("error output:") and "nnlab harness self-test" in p for p in problems), problems

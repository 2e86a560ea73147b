"""Accessibility (WCAG 2.1 AA), measured in headless Chromium with axe-core.

axe-core (the engine behind Lighthouse's accessibility audit, bundled by the
``axe-playwright-python`` package) checks the WCAG 2.0 and 2.1 A and AA rules on what nnlab
serves, JupyterLab's own chrome aside; a test fails on any serious or critical violation:

- every lab's subtree in JupyterLab (tests/browser/lab_controls.ipynb builds all six);
- every `make demo` page (Voila: the landing page and each lesson's lab);
- every `make html` page (the exported lessons, from file://).

And, without axe: a whole lab played from the keyboard alone (a preset with Tab and Space, a
slider with the arrow keys, the play button with Enter), each step moving the focus to a
control that shows a focus ring; every lab figure has a text alternative that changes with
the settings and names the numbers of the status line; every lab fits its output area at
1280 px with the file browser open. Screenshots in a deuteranopia simulation:
test-artifacts/browser/deuteranopia_*.png.

Run:  .venv/bin/python -m pytest tests/browser/test_accessibility.py -v
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from test_lab_controls_in_browser import LAB_NAMES, NOTEBOOK
from test_lessons_in_browser import (SEL_LAB, SEL_STATUS, SEL_TOGGLE_OPTION, assert_no_errors,
                                     image_sig, open_notebook, run_all_cells, status_text,
                                     wait_image_settled, wait_status_changed,
                                     wait_widgets_rendered)

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
REPO_ROOT = Path(__file__).resolve().parents[2]

# Deuteranopia (Machado, Oliveira & Fernandes 2009, severity 1.0) as an SVG colour matrix,
# applied to the whole page for the screenshots.
DEUTERANOPIA = """(() => {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('style', 'position:absolute;width:0;height:0');
  svg.innerHTML = '<filter id="nnlab-deuteranopia"><feColorMatrix type="matrix" values="' +
    '0.367322 0.860646 -0.227968 0 0 0.280085 0.672501 0.047413 0 0 ' +
    '-0.011820 0.042940 0.968881 0 0 0 0 0 1 0"/></filter>';
  document.body.appendChild(svg);
  document.documentElement.style.filter = 'url(#nnlab-deuteranopia)';
})()"""


def axe_violations(page, context=None) -> list[dict]:
    """axe-core's serious and critical WCAG 2.0/2.1 A and AA violations on ``page`` (within
    ``context``, an axe context: a selector, or {"include": [...]})."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, context=context, options=options)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} nodes), e.g. "
                     f"{v['nodes'][0]['html'][:200]}" for v in violations)


@pytest.fixture
def all_labs(lab_page):
    """Every lab, built in one JupyterLab notebook, at 1280 x 800 with the file browser open."""
    page = lab_page.page
    page.set_viewport_size({"width": 1280, "height": 800})
    open_notebook(lab_page, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK)
    wait_widgets_rendered(page, NOTEBOOK)
    assert_no_errors(lab_page, NOTEBOOK, "after Run All Cells")
    labs = page.locator(SEL_LAB)
    assert labs.count() == len(LAB_NAMES)
    for index in range(labs.count()):
        wait_image_settled(labs.nth(index), None, f"{LAB_NAMES[index]}: first figure")
    return page, labs


def figure_alt(lab) -> str:
    return lab.locator(".widget-output img").first.get_attribute("alt") or ""


def test_every_lab_in_jupyterlab_passes_axe(all_labs, artifacts_dir):
    page, labs = all_labs
    problems = []
    for index, name in enumerate(LAB_NAMES):
        labs.nth(index).scroll_into_view_if_needed()
        found = _axe_on_lab(page, index)
        if found:
            problems.append(f"{name}:\n{describe(found)}")
    page.evaluate(DEUTERANOPIA)
    labs.nth(0).scroll_into_view_if_needed()
    labs.nth(0).screenshot(path=str(artifacts_dir / "deuteranopia_lab_vanishing.png"))
    assert not problems, "\n\n".join(problems)


def _axe_on_lab(page, index: int) -> list[dict]:
    """axe on the ``index``-th lab's subtree only (marked with an id for axe's context)."""
    page.evaluate("(i) => document.querySelectorAll('.nnlab-lab')[i].id = 'nnlab-axe-target'",
                  index)
    try:
        return axe_violations(page, "#nnlab-axe-target")
    finally:
        page.evaluate("() => document.getElementById('nnlab-axe-target').removeAttribute('id')")


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# Where a lab's figure sits, against the output area it is shown in and the window.
JS_FIGURE_BOX = """lab => {
    const img = lab.querySelector('.widget-output img');
    const area = lab.closest('.jp-OutputArea-output') || lab.parentElement;
    const r = img.getBoundingClientRect(), a = area.getBoundingClientRect();
    return {left: r.left, right: r.right, width: r.width, natural: img.naturalWidth,
            areaLeft: a.left, areaRight: a.right, window: window.innerWidth,
            fileBrowser: !!document.querySelector('.jp-FileBrowser:not(.lm-mod-hidden)')};
}"""


def test_every_lab_figure_fits_at_1280_px_and_says_what_it_shows(all_labs, artifacts_dir):
    """1280 px wide with the file browser open: every figure (SVG) and its frames (PNG, while
    the epoch slider moves) fit the output area; the figure's text alternative names the
    status line's numbers, and changes with the settings."""
    page, labs = all_labs
    for index, name in enumerate(LAB_NAMES):
        lab = labs.nth(index)
        lab.scroll_into_view_if_needed()
        box = lab.evaluate(JS_FIGURE_BOX)
        assert box["fileBrowser"], "the file browser should be open (JupyterLab's default)"
        assert box["right"] <= box["areaRight"] + 1 and box["right"] <= box["window"], (name, box)
        alt, status = figure_alt(lab), status_text(lab)
        assert alt.startswith(f"{lab.locator('b').first.inner_text()}, the lab figure"), alt
        missing = [n for n in NUMBER.findall(status) if n not in alt]
        assert not missing, f"{name}: the figure's alt misses the status line's {missing}: {alt}"
        option = lab.locator(SEL_TOGGLE_OPTION)
        if option.count():          # a lab with one preset has nothing to toggle
            before = image_sig(lab)
            option.first.click()
            wait_image_settled(lab, before, f"{name}: after a preset")
            wait_status_changed(lab, status, f"{name}: after a preset")
            assert figure_alt(lab) != alt, f"{name}: the alt text stayed the same after a preset"
        # a frame (PNG) at the same size as the still figure
        handle = lab.locator(".widget-slider .noUi-handle").last
        before, width = image_sig(lab), box["width"]
        handle.focus()
        handle.press("Home")
        wait_image_settled(lab, before, f"{name}: epoch 0")
        frame = lab.evaluate(JS_FIGURE_BOX)
        assert abs(frame["width"] - width) <= 1, f"{name}: frame {frame} against figure {box}"
        assert "Epoch 0 of" in figure_alt(lab), figure_alt(lab)
    labs.nth(len(LAB_NAMES) - 1).screenshot(path=str(artifacts_dir / "a11y_playground_1280.png"))


def _focus_ring(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName, cls: e.className, label: e.getAttribute('aria-label') ||
                e.innerText || '', inLab: !!e.closest('.nnlab-lab'),
                ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }""")


def _tab_to(page, wanted, what: str, limit: int = 25) -> dict:
    """Press Tab until the focused element is ``wanted`` (a predicate); each stop in the lab
    must show a focus ring."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focus_ring(page)
        stops.append(f"{focused['tag']}.{focused['cls']} {focused['label']!r}")
        assert focused["inLab"], (f"Tab left the lab before reaching {what}: {focused}; "
                                  "stops on the way:\n" + "\n".join(stops))
        assert focused["ring"], f"no visible focus on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError(f"{limit} presses of Tab never reached {what}")


def test_a_lab_plays_from_the_keyboard_alone(all_labs):
    """Vanishing gradients, keyboard only: Tab to the "fixed" preset, Space; Tab to the depth
    slider, arrow; Tab to play, Enter: the figure runs through the epochs to the last."""
    page, labs = all_labs
    lab = labs.nth(0)
    lab.scroll_into_view_if_needed()
    lab.evaluate("lab => lab.querySelector('.widget-toggle-buttons button').focus()")
    status = status_text(lab)
    _tab_to(page, lambda f: "ReLU" in f["label"], "the fixed preset")
    page.keyboard.press("Space")
    status = wait_status_changed(lab, status, "Space on the fixed preset", timeout=60)
    assert "ReLU" in lab.locator(".widget-toggle-buttons button.mod-active").inner_text()
    _tab_to(page, lambda f: f["label"] == "depth", "the depth slider")
    page.keyboard.press("ArrowLeft")
    status = wait_status_changed(lab, status, "an arrow on the depth slider", timeout=60)
    _tab_to(page, lambda f: f["label"].startswith("play"), "the play button")
    page.keyboard.press("Enter")
    seen, deadline = set(), time.monotonic() + 90
    while time.monotonic() < deadline:
        shown = re.search(r"epoch (\d+) of (\d+)", status_text(lab))
        if shown:
            seen.add(int(shown.group(1)))
            if len(seen) > 2 and int(shown.group(1)) == int(shown.group(2)):
                break
        time.sleep(0.05)
    last = int(re.search(r"of (\d+)", status_text(lab)).group(1))
    assert len(seen) > 2 and last in seen, f"play showed epochs {sorted(seen)} (of {last})"


# --------------------------------------------------------------------------- make demo, make html

from test_lecture_and_export import LESSONS, exported, offline_page, voila_demo  # noqa: E402,F401

DEMO_LESSONS = [p.stem for p in LESSONS if "labs." in p.read_text()]


@pytest.mark.parametrize("page_name", ["index", *DEMO_LESSONS])
def test_every_demo_page_passes_axe(page_name, voila_demo, browser, artifacts_dir):
    """Every `make demo` page (Voila) at 1280 x 720: no serious or critical WCAG violation,
    the page's language set, and in lecture mode every text, the figure's, at 18 px or more."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(f"{voila_demo}/voila/render/{page_name}.ipynb")
        if page_name == "index":
            page.locator("a[href$='.ipynb']").first.wait_for(timeout=60_000)
        else:
            lab = page.locator(SEL_LAB).first
            lab.wait_for(timeout=90_000)
            wait_image_settled(lab, None, f"{page_name}: first figure")
            box = lab.evaluate(JS_FIGURE_BOX)
            fonts = lab.evaluate("""lab => [...lab.querySelectorAll('*')].filter(e =>
                e.getBoundingClientRect().width > 0 && [...e.childNodes].some(n =>
                n.nodeType === Node.TEXT_NODE && n.textContent.trim()))
                .map(e => parseFloat(getComputedStyle(e).fontSize))""")
            from nnlab.labfigure import LabFigure
            figure_font = LabFigure(lecture=True, boundary=box["natural"] > 1300).fonts["font.size"]
            shown = figure_font * box["width"] / box["natural"]
            assert min(fonts) >= 18 and shown >= 18, (page_name, min(fonts), shown, box)
        assert page.evaluate("() => document.documentElement.lang"), "the page has no lang"
        found = axe_violations(page)
        if page_name == DEMO_LESSONS[0]:
            page.evaluate(DEUTERANOPIA)
            page.screenshot(path=str(artifacts_dir / f"deuteranopia_demo_{page_name}.png"))
        assert not found, f"{page_name}:\n{describe(found)}"
    finally:
        page.close()


@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_every_exported_page_passes_axe(lesson, exported, offline_page, artifacts_dir):
    """Every `make html` page, from file://: no serious or critical WCAG violation, its
    language set, every image with a text alternative."""
    page = offline_page
    page.goto((exported / f"{lesson}.html").as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("() => document.documentElement.lang"), "the page has no lang"
    found = axe_violations(page)
    if lesson == "01_vanishing_gradients":
        page.evaluate(DEUTERANOPIA)
        lab = page.locator(".nnlab-export-lab").first
        lab.scroll_into_view_if_needed()
        lab.screenshot(path=str(artifacts_dir / f"deuteranopia_export_{lesson}.png"))
    assert not found, f"{lesson}:\n{describe(found)}"

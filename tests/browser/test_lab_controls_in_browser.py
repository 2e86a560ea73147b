"""Every preset and knob of every lab, clicked in JupyterLab: the page shows the lab's config.

tests/browser/lab_controls.ipynb builds all six labs in one kernel; its last cell prints,
as JSON, what each control must show (the lab's configuration, in the widgets' own words,
and the preset the knobs match, or "custom"). For every lab, the test clicks each preset
button (the "custom" one included), picks the next option of each dropdown, presses an
arrow key on each slider and ticks each checkbox (the presets left to right and back); after each action it runs that cell and
waits until the page shows exactly what the kernel says: the selected preset button, each
dropdown's selected text (never blank), each slider's readout, each checkbox's tick.

Run:  .venv/bin/python -m pytest tests/browser/test_lab_controls_in_browser.py -v
"""

from __future__ import annotations

import json
import time

import pytest

from test_lessons_in_browser import (SEL_LAB, assert_no_errors, open_notebook, run_all_cells,
                                     wait_widgets_rendered)

pytestmark = pytest.mark.browser

NOTEBOOK = "lab_controls.ipynb"
LAB_NAMES = ["vanishing", "exploding", "dead_relu", "dropout", "batchnorm", "playground"]
AGREE_TIMEOUT = 60.0     # seconds for one action: the kernel trains, then the page re-renders

# What a lab's controls show, read from the page, by each control's description.
JS_SHOWN = """lab => {
    const shown = {preset: null, knobs: {}};
    const words = s => s.replace(/\\u00a0/g, ' ').trim();     // a dropdown shows spaces as nbsp
    const active = lab.querySelector('.widget-toggle-buttons button.mod-active');
    shown.preset = active ? words(active.innerText) : null;
    for (const el of lab.querySelectorAll('.widget-dropdown')) {
        const select = el.querySelector('select');
        shown.knobs[el.querySelector('.widget-label').innerText.trim()] =
            select.selectedIndex >= 0 ? words(select.options[select.selectedIndex].text) : '';
    }
    for (const el of lab.querySelectorAll('.widget-slider')) {
        shown.knobs[el.querySelector('.widget-label').innerText.trim()] =
            words(el.querySelector('.widget-readout').innerText);
    }
    for (const el of lab.querySelectorAll('.widget-checkbox')) {
        shown.knobs[el.querySelector('span').innerText.trim()] = el.querySelector('input').checked;
    }
    return shown;
}"""


class Kernel:
    """Runs the notebook's last cell (what each lab must show) and reads its JSON."""

    def __init__(self, page):
        self.page = page
        self.calls = 0

    def expected(self) -> dict:
        cell = self.page.locator(".jp-NotebookPanel .jp-CodeCell").last
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + AGREE_TIMEOUT
        while time.monotonic() < deadline:
            text = cell.locator(".jp-OutputArea-output").all_inner_texts()
            if text:
                try:
                    state = json.loads(text[-1])
                except ValueError:
                    state = None
                if state and state["call"] > self.calls:
                    self.calls = state["call"]
                    return state["labs"]
            time.sleep(0.1)
        raise AssertionError("the state cell printed nothing new")


def assert_page_agrees(page, lab, kernel: Kernel, name: str, action: str) -> None:
    """Until they agree (or time runs out): ask the kernel what the lab's config is, read the page.

    Asking again matters: the page may still hold a widget change the kernel has not
    received yet (ipywidgets sends one update at a time, the next once the kernel is idle).
    """
    deadline = time.monotonic() + AGREE_TIMEOUT
    while True:
        expected = kernel.expected()[name]
        shown = lab.evaluate(JS_SHOWN)
        knobs = {description: shown["knobs"].get(description) for description in expected["knobs"]}
        if shown["preset"] == expected["preset"] and knobs == expected["knobs"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} after {action}: the page shows preset {shown['preset']!r}, "
                                 f"knobs {knobs}; the lab's config says preset "
                                 f"{expected['preset']!r}, knobs {expected['knobs']}")
        time.sleep(0.5)


def actions(lab):
    """(description, do) for every preset button and every knob of one lab on the page."""
    found = []
    buttons = lab.locator(".widget-toggle-buttons button")
    # Every preset button, left to right and back again (so each preset follows another both
    # ways: e.g. "gradient clipping" then "lower learning rate", where a dropdown once went blank).
    # (A lab with one preset hides its toggle: nothing to click.)
    order = [index for index in range(buttons.count()) if buttons.nth(index).is_visible()]
    for index in order + order[-2::-1]:
        button = buttons.nth(index)
        found.append((f"clicking preset {button.inner_text().strip()!r}", button.click))
    for index in range(lab.locator(".widget-dropdown").count()):
        dropdown = lab.locator(".widget-dropdown").nth(index)

        def pick_next(dropdown=dropdown):
            select = dropdown.locator("select")
            count = select.evaluate("s => s.options.length")
            select.select_option(index=(select.evaluate("s => s.selectedIndex") + 1) % count)
        found.append((f"the next option of {dropdown.locator('.widget-label').inner_text()!r}",
                      pick_next))
    for index in range(lab.locator(".widget-slider").count()):
        slider = lab.locator(".widget-slider").nth(index)

        def slide(slider=slider):
            handle = slider.locator(".noUi-handle")
            at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            handle.focus()
            handle.press("ArrowLeft" if at_max else "ArrowRight")
        found.append((f"an arrow key on {slider.locator('.widget-label').inner_text()!r}", slide))
    for index in range(lab.locator(".widget-checkbox").count()):
        box = lab.locator(".widget-checkbox").nth(index)
        found.append((f"ticking {box.locator('span').inner_text()!r}", box.locator("input").click))
    return found


def test_every_preset_and_knob_of_every_lab_shows_the_labs_config(lab_page):
    page = lab_page.page
    open_notebook(lab_page, NOTEBOOK)
    run_all_cells(lab_page, NOTEBOOK)
    wait_widgets_rendered(page, NOTEBOOK)
    assert_no_errors(lab_page, NOTEBOOK, "after Run All Cells")
    labs_on_page = page.locator(SEL_LAB)
    assert labs_on_page.count() == len(LAB_NAMES)
    kernel = Kernel(page)
    clicked = 0
    for index, name in enumerate(LAB_NAMES):
        lab = labs_on_page.nth(index)
        assert_page_agrees(page, lab, kernel, name, "building it")
        for action, do in actions(lab):
            lab.scroll_into_view_if_needed()
            do()
            assert_page_agrees(page, lab, kernel, name, action)
            assert_no_errors(lab_page, NOTEBOOK, f"{name} after {action}")
            clicked += 1
    print(f"\n{clicked} presets and knobs clicked; the page agreed with every lab's config")
    assert clicked >= 40

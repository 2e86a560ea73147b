"""Lecture demos and the offline export, in headless Chromium.

- `make demo` (nnlab.demo, Voila): the landing page lists every lesson's lab; a lab page has
  no code editors, and a click redraws its figure; at 1280x720 and 1920x1080 the whole lab
  fits the window (no scrolling) with every text, the figure's included, at >= 18 CSS px.
  Screenshots: test-artifacts/browser/lecture_*.png.
- `make html` (nnlab.export), opened from file:// with every other request blocked: every
  lesson's formulas are typeset (no raw TeX in the page text), lesson 01's lab switches
  between its presets' figures, and a page without its folder says MathJax is missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nnlab import export
from nnlab.labfigure import LECTURE

from test_lessons_in_browser import (SEL_LAB, SEL_TOGGLE_OPTION, image_sig, status_text,
                                      wait_image_settled, wait_status_changed)

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENS = [(1280, 720), (1920, 1080)]
MIN_TEXT_PX = 18
RAW_TEX = re.compile(r"\$[^$\n]{1,80}\$|\\(?:frac|partial|sigma|mathrm|sum|cdot)\b|\\\(|\\\[")

# The smallest font of any visible text in the lab (CSS px), and where the lab sits.
JS_LAB_GEOMETRY = """lab => {
    const texts = [...lab.querySelectorAll('*')].filter(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && [...e.childNodes].some(
            n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    });
    const box = lab.getBoundingClientRect();
    const img = lab.querySelector('.widget-output img').getBoundingClientRect();
    return {minFont: Math.min(...texts.map(e => parseFloat(getComputedStyle(e).fontSize))),
            top: box.top, bottom: box.bottom, left: box.left, right: box.right,
            imgWidth: img.width, imgBottom: img.bottom,
            pageHeight: document.scrollingElement.scrollHeight,
            pageWidth: document.scrollingElement.scrollWidth};
}"""
JS_MATHJAX_DONE = """() => window.MathJax && MathJax.isReady && MathJax.Hub.queue.pending === 0
    && !MathJax.Hub.queue.running"""


# --------------------------------------------------------------------------- make demo


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _end(proc: subprocess.Popen) -> None:
    """Voila and its kernels (one process group): SIGTERM, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


@contextlib.contextmanager
def running_demo(base: Path, *options: str):
    """`python -m nnlab.demo` (what `make demo` runs) on a free loopback port, in a private
    HOME under ``base``, with ``options`` as DEMO_ARGS would pass them. Yields (url, process)
    once the landing page answers; ends Voila and its kernels afterwards."""
    port = _unused_port()
    env = dict(os.environ, HOME=str(base), JUPYTER_CONFIG_DIR=str(base / "config"),
               JUPYTER_DATA_DIR=str(base / "data"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               IPYTHONDIR=str(base / "ipython"), MPLCONFIGDIR=str(base / "mpl"))
    log_path = base / "voila.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nnlab.demo", "--build-dir", str(base / "demo"),
             "--no-browser", f"--port={port}", "--ip=127.0.0.1", *options],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nnlab.demo exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/voila/render/index.ipynb", timeout=30) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Voila did not answer in 90 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url, proc
    finally:
        _end(proc)


@pytest.fixture(scope="module")
def voila_demo(chromium_path, tmp_path_factory):
    """`make demo` as it starts by default."""
    with running_demo(tmp_path_factory.mktemp("voila")) as (url, _):
        yield url


def test_demo_refuses_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "nnlab.demo", "--build-dir",
                               str(tmp_path / "demo"), f"--port={port}", "--ip=127.0.0.1"],
                              capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert done.returncode == 2
    assert f"port {port} is already in use" in done.stderr
    assert f'DEMO_ARGS="--port={port + 1}"' in done.stderr


def test_demo_landing_page_lists_every_lab(voila_demo, browser):
    page = browser.new_page()
    try:
        page.goto(f"{voila_demo}/voila/render/index.ipynb")
        links = page.locator("a[href$='.ipynb']")
        links.first.wait_for(timeout=60_000)
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        stems = [p.stem for p in LESSONS if "labs." in p.read_text()]
        assert [Path(h).stem for h in hrefs] == stems
    finally:
        page.close()


def _open_lab(browser, url: str, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(url)
    lab = page.locator(SEL_LAB).first
    lab.wait_for(timeout=90_000)
    wait_image_settled(lab, None, f"{url}: first figure")
    return page, lab


def _check_fits(page, lab, name: str, size, artifacts_dir) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    time.sleep(0.5)
    page.screenshot(path=str(artifacts_dir / f"lecture_{name}_{size[0]}x{size[1]}.png"))
    geometry = lab.evaluate(JS_LAB_GEOMETRY)
    where = f"{name} at {size[0]}x{size[1]}: {geometry}"
    assert geometry["minFont"] >= MIN_TEXT_PX, where
    assert geometry["top"] >= 0 and geometry["bottom"] <= size[1], where
    assert geometry["left"] >= 0 and geometry["right"] <= size[0], where
    assert geometry["pageHeight"] <= size[1] and geometry["pageWidth"] <= size[0], where
    # the figure's own type (LECTURE["fonts"], in CSS px), scaled by how wide the page shows it
    natural_width = LECTURE["figsize"][0] * 72      # CSS px: the SVG is sized 1 pt = 1 px
    figure_font = LECTURE["fonts"]["font.size"]
    assert figure_font * geometry["imgWidth"] / natural_width >= MIN_TEXT_PX, where
    # fills the projector: the figure spans most of the width, or the height
    assert (geometry["imgWidth"] >= 0.85 * size[0]
            or geometry["imgBottom"] >= 0.85 * size[1]), where


def test_demo_lab_has_no_code_and_a_click_redraws_it(voila_demo, browser, artifacts_dir):
    page, lab = _open_lab(browser, f"{voila_demo}/voila/render/01_vanishing_gradients.ipynb",
                          SCREENS[0])
    try:
        editors = page.locator(".jp-InputArea, .cm-editor, .CodeMirror, .jp-CodeCell .jp-Editor")
        assert editors.count() == 0, "the demo page shows code"
        assert "labs.vanishing" not in page.inner_text("body")
        for size in SCREENS:
            _check_fits(page, lab, "01_vanishing_gradients", size, artifacts_dir)
        before, status = image_sig(lab), status_text(lab)
        option = lab.locator(SEL_TOGGLE_OPTION).first
        option.click()
        wait_image_settled(lab, before, "demo: after clicking a preset")
        assert wait_status_changed(lab, status, "demo: after clicking a preset") != status
        page.screenshot(path=str(artifacts_dir / "lecture_01_vanishing_gradients_clicked.png"))
    finally:
        page.close()


def test_the_lab_with_most_controls_fits_a_projector(voila_demo, browser, artifacts_dir):
    page, lab = _open_lab(browser, f"{voila_demo}/voila/render/00_backpropagation.ipynb",
                          SCREENS[0])
    try:
        for size in SCREENS:
            _check_fits(page, lab, "00_backpropagation", size, artifacts_dir)
    finally:
        page.close()


# --------------------------------------------------------------------------- make html


@pytest.fixture(scope="module")
def exported(chromium_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    export.export_html(LESSONS, folder)
    return folder


@pytest.fixture
def offline_page(browser):
    """A page that may read file:// and nothing else (every other request is aborted)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.blocked = blocked
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_exported_lesson_typesets_its_formulas_offline(lesson, exported, offline_page):
    page = offline_page
    page.goto((exported / f"{lesson}.html").as_uri())
    page.wait_for_function(JS_MATHJAX_DONE, timeout=30_000)
    text = page.inner_text("body")
    assert not RAW_TEX.findall(text), f"{lesson}: raw TeX in the page: {RAW_TEX.findall(text)[:5]}"
    source = (REPO_ROOT / "notebooks" / f"{lesson}.ipynb").read_text()
    if "$" in source:
        assert page.locator(".MathJax").count() > 0, f"{lesson}: no typeset formula"
    assert page.locator("#nnlab-mathjax-missing").is_hidden()
    assert not any("mathjax" in url.lower() for url in page.blocked), page.blocked


def test_exported_lab_switches_between_its_presets_offline(exported, offline_page):
    page = offline_page
    page.goto((exported / "01_vanishing_gradients.html").as_uri())
    lab = page.locator(".nnlab-export-lab").first
    visible = lambda: lab.locator(".nnlab-export-preset:visible")   # noqa: E731
    assert visible().count() == 1
    seen = {}
    for i in range(lab.locator("input[type=radio]").count()):
        radio = lab.locator("input[type=radio]").nth(i)
        radio.check()
        assert visible().count() == 1
        panel = visible().first
        assert panel.get_attribute("data-preset") == radio.get_attribute("value")
        seen[radio.get_attribute("value")] = (panel.locator("img").get_attribute("src"),
                                              panel.locator("pre").inner_text())
    assert {"broken", "fixed"} <= set(seen)
    assert len({src for src, _ in seen.values()}) == len(seen), "presets share a figure"
    assert len({text for _, text in seen.values()}) == len(seen), "presets share numbers"


def test_exported_page_without_its_folder_says_mathjax_is_missing(exported, offline_page,
                                                                   tmp_path):
    alone = tmp_path / "01_vanishing_gradients.html"
    shutil.copy(exported / alone.name, alone)
    page = offline_page
    page.goto(alone.as_uri())
    notice = page.locator("#nnlab-mathjax-missing")
    notice.wait_for(state="visible", timeout=10_000)
    assert "MathJax is missing" in notice.inner_text()
    assert "mathjax/MathJax.js" in notice.inner_text()

"""`make demo` served to a room, in headless Chromium: a link opens the preset it names, a closed
page's kernel is freed, and past the cap a new page is refused with a message (short culling
times and a cap of 2 set through the same options DEMO_ARGS takes)."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import pytest

from test_lecture_and_export import running_demo
from test_lessons_in_browser import SEL_LAB, wait_image_settled

IDLE = 20         # seconds before an idle, unconnected kernel is shut down (a page that is
#                   still loading its widgets under load must not lose its kernel)
CAP = 2


@pytest.fixture(scope="module")
def room_demo(chromium_path, tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("voila-room"),
                      f"--MappingKernelManager.cull_idle_timeout={IDLE}",
                      "--MappingKernelManager.cull_interval=1",
                      f"--CappedKernelManager.max_kernels={CAP}") as running:
        yield running


def kernels_of(proc) -> int:
    """Kernels Voila runs now: its child processes that are IPython kernels."""
    children = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "ipykernel"],
                              capture_output=True, text=True).stdout.split()
    return len(children)


def wait_until(condition, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"waited {timeout:.0f} s for {what}")


def open_lab(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    lab = page.locator(SEL_LAB).first
    lab.wait_for(timeout=90_000)
    wait_image_settled(lab, None, f"{url}: first figure")
    return page, lab


def active_preset(lab) -> str:
    return lab.locator(".widget-toggle-buttons button.mod-active").first.inner_text().strip()


def test_a_link_opens_the_preset_it_names(room_demo, browser):
    url, proc = room_demo
    page = f"{url}/voila/render/01_vanishing_gradients.ipynb"
    shown = {}
    for query in ("", "?preset=fixed", "?preset=broken"):
        tab, lab = open_lab(browser, page + query)
        shown[query] = active_preset(lab)
        tab.close()
        # a cap of 2: let the culler free the closed page's kernel before the next
        wait_until(lambda: kernels_of(proc) == 0, "the closed page's kernel to be freed", IDLE + 60)
    assert shown[""] == shown["?preset=broken"] != shown["?preset=fixed"], shown
    assert "custom" not in {label.lower() for label in shown.values()}, shown


def test_a_closed_page_frees_its_kernel_and_the_cap_refuses_with_a_message(room_demo, browser):
    url, proc = room_demo
    wait_until(lambda: kernels_of(proc) == 0, "earlier pages' kernels to be culled", IDLE + 60)
    pages = [open_lab(browser, f"{url}/voila/render/01_vanishing_gradients.ipynb")[0]
             for _ in range(CAP)]
    assert kernels_of(proc) == CAP
    time.sleep(IDLE + 3)                      # idle, but still open: kept
    assert kernels_of(proc) == CAP
    extra = browser.new_page()
    response = extra.goto(f"{url}/voila/render/02_exploding_gradients.ipynb")
    assert response.status == 503, response.status
    assert "The demo is full" in extra.content()
    extra.close()
    pages[0].close()
    wait_until(lambda: kernels_of(proc) == CAP - 1, "the closed page's kernel to be freed",
               IDLE + 30)
    page, _ = open_lab(browser, f"{url}/voila/render/02_exploding_gradients.ipynb")
    assert kernels_of(proc) == CAP
    for open_page in (page, *pages[1:]):
        open_page.close()

"""What makes a lab usable without a mouse, without sight of colour, or with a screen reader.

- ``figure_html``: the lab figure as an ``<img>`` with a text alternative (``alt``) that says
  what the figure shows now, in the numbers of the status line (JupyterLab's own image and
  SVG renderers drop any ``alt``, so the figure travels as HTML, beside its SVG or PNG).
- ``LAB_CSS``: the figure scales down to the width it is given (WCAG 1.4.10, reflow), and
  every control shows a strong focus ring when reached with the keyboard (2.4.7).
- ``LAB_SCRIPT``: a few lines of JavaScript for what a widget cannot say from Python:
  names for the play button's icons, the sliders' handles and the dropdowns, and the status line as a
  polite live region (read out when it changes). It runs wherever the lab's outputs run
  JavaScript (JupyterLab, Notebook 7, Voila); elsewhere the lab works as before, unnamed.
- ``name``: a widget's tooltip (ipywidgets 8's ``tooltip``; ignored by older versions).

This module imports no other part of nnlab.
"""

from __future__ import annotations

import base64
import html
import re

LAB_CSS = """<style>
.nnlab-figure { max-width: 100%; height: auto; }
.nnlab-lab button:focus-visible, .nnlab-lab select:focus-visible,
.nnlab-lab input:focus-visible, .nnlab-lab .noUi-handle:focus-visible,
.nnlab-lab .widget-readout:focus-visible {
  outline: 3px solid #1f4e79 !important; outline-offset: 2px;  /* over the widgets' 1 px */
}
</style>"""

# Names by what each element is: the play widget's buttons (by their icon), a slider's handle
# and a dropdown (by the widget's label). Re-applied when the page changes (a new lab, the
# play button turning into pause), at most once per animation frame.
LAB_SCRIPT = r"""(function () {
  function label(el, text) {
    if (text && el.getAttribute("aria-label") !== text) { el.setAttribute("aria-label", text); }
  }
  var ICONS = {"fa-play": "play the run, epoch by epoch", "fa-pause": "pause",
               "fa-stop": "stop and go back to epoch 0", "fa-retweet": "repeat"};
  function name(root) {
    root.querySelectorAll(".nnlab-lab .widget-play button").forEach(function (button) {
      var icon = button.querySelector("i");
      var found = Object.keys(ICONS).filter(function (k) {
        return icon && icon.classList.contains(k); });
      label(button, found.length ? ICONS[found[0]] : "play");
    });
    root.querySelectorAll(".nnlab-lab .widget-slider, .nnlab-lab .widget-dropdown").forEach(
      function (widget) {
        var text = widget.querySelector(".widget-label");
        text = text ? text.textContent.trim() : "";
        widget.querySelectorAll(".noUi-handle, select").forEach(function (el) { label(el, text); });
      });
    root.querySelectorAll(".nnlab-lab .nnlab-status").forEach(function (status) {
      if (status.getAttribute("aria-live") !== "polite") {
        status.setAttribute("role", "status");
        status.setAttribute("aria-live", "polite");
      }
    });
  }
  name(document);
  if (window.nnlabNamesObserver) { return; }
  var queued = false;
  window.nnlabNamesObserver = new MutationObserver(function () {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; name(document); });
  });
  window.nnlabNamesObserver.observe(document.body, {childList: true, subtree: true,
    attributes: true, attributeFilter: ["class"]});
})();"""


def name(widget, text: str) -> None:
    """Give ``widget`` a tooltip (its ``title``: a name for assistive technology too), where
    the installed ipywidgets has the ``tooltip`` trait (8.x); otherwise do nothing."""
    if widget.has_trait("tooltip"):
        widget.tooltip = text


def plain(markup: str) -> str:
    """HTML as the words it shows (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def figure_html(data: dict, alt: str, size: tuple[int, int]) -> str:
    """The figure in ``data`` (``image/svg+xml`` text or base64 ``image/png``) as an ``<img>``
    of CSS ``size`` (width, height) with the text alternative ``alt``."""
    if "image/svg+xml" in data:
        source = "data:image/svg+xml;base64," + base64.b64encode(
            data["image/svg+xml"].encode()).decode("ascii")
    else:
        source = "data:image/png;base64," + data["image/png"]
    width, height = size
    return (f'<img class="nnlab-figure" alt="{html.escape(alt)}" width="{width}" '
            f'height="{height}" src="{source}">')

"""Accessibility in the kernel: runs told apart without colour, figures described in words.

(The browser side, axe-core on every lab, demo page and exported page, keyboard-only play
and reflow, is tests/browser/test_accessibility.py.)
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnlab import a11y, export, labs, panels, plots, speculate
from nnlab.experiments import CASES

LAB_NAMES = ["vanishing", "exploding", "dead_relu", "dropout", "batchnorm", "playground"]
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _luminance(color: str) -> float:
    channels = [int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(color: str, background: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio of two sRGB colours."""
    high, low = sorted((_luminance(color), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def deuteranopia(color: str) -> np.ndarray:
    """``color`` as a deuteranope sees it (Machado et al. 2009, severity 1), sRGB in 0..1."""
    rgb = np.array([int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    matrix = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                       [-0.011820, 0.042940, 0.968881]])
    return np.clip(matrix @ rgb, 0, 1)


def test_the_palette_reads_on_white_and_stays_apart_under_deuteranopia():
    broken, fixed = (panels.RUN_STYLES[role] for role in ("broken", "fixed"))
    for style in (broken, fixed):
        assert contrast(style["color"]) >= 4.5, style      # even as text on white
    assert broken["marker"] != fixed["marker"]
    # as a deuteranope sees them, still far apart (the old red and blue were 0.2 apart in blue)
    assert np.abs(deuteranopia(broken["color"]) - deuteranopia(fixed["color"])).max() > 0.4
    assert plots.BROKEN_COLOR == broken["color"] and plots.FIXED_COLOR == fixed["color"]


def _run_markers(figure_axes, color):
    """The marker shapes on one run's lines (a faint per-step loss line has none: left out)."""
    return {line.get_marker() for ax in figure_axes for line in ax.get_lines()
            if line.get_color() == color and len(line.get_xdata()) > 1} - {"None"}


@pytest.mark.parametrize("name", LAB_NAMES)
def test_the_two_runs_of_every_lab_figure_differ_in_marker_shape(name):
    lab = getattr(labs, name)()
    figure = lab.figure
    current_color, reference_color = lab._labels()[2:]
    assert current_color != reference_color
    current = _run_markers(figure.axes, current_color)
    reference = _run_markers(figure.axes, reference_color)
    assert current and reference, (current, reference)
    assert current.isdisjoint(reference), f"{name}: both runs use {current & reference}"
    legend = [handle.get_marker() for handle in figure.run_legend.legend_handles]
    assert legend[0] != legend[1]
    # and in the SVG the browser shows: both runs' marker shapes are drawn
    svg = lab.output.outputs[0]["data"]["image/svg+xml"]
    assert svg.count("<use ") > 10


def test_the_comparison_figure_marks_each_run_with_its_shape_and_says_what_it_shows():
    case = CASES["vanishing"]
    broken, fixed = speculate.outcome(case.broken), speculate.outcome(case.fixed)
    figure = plots.comparison_figure(broken, fixed)
    assert _run_markers(figure.axes, plots.BROKEN_COLOR) == {plots.BROKEN_MARKER}
    assert _run_markers(figure.axes, plots.FIXED_COLOR) == {plots.FIXED_MARKER}
    data, metadata = figure._repr_mimebundle_()
    assert data == {} and metadata["image/png"]["alt"] == figure.alt
    assert "broken: orange triangles; fixed: blue circles" in figure.alt
    assert f"{broken.history.grad_norms[0][0]:.2g}" in figure.alt       # first layer, broken
    assert f"{fixed.history.loss[-1]:.2g}" in figure.alt                 # final loss, fixed


@pytest.mark.parametrize("name", LAB_NAMES)
def test_every_lab_figure_text_names_the_status_numbers_and_follows_the_settings(name):
    lab = getattr(labs, name)()
    output = lab.output.outputs[0]
    alt = output["metadata"]["alt"]
    assert output["data"]["text/plain"] == alt
    assert f'alt="{a11y.html.escape(alt)}"' in output["data"]["text/html"]
    status = lab.status_text()
    assert not [n for n in NUMBER.findall(status) if n not in alt], (status, alt)
    assert "Epoch " in alt and "first layer" in alt
    # another setting: other words
    knob = next(iter(lab.knobs.values())).widget
    values = [v for v in (getattr(knob, "options", None) or [not knob.value]) if v != knob.value]
    knob.value = values[0][1] if isinstance(values[0], tuple) else values[0]
    changed = lab.output.outputs[0]["metadata"]["alt"]
    assert changed != alt
    assert not [n for n in NUMBER.findall(lab.status_text()) if n not in changed]
    # a frame while playing says its epoch
    lab.epoch.value = 0
    frame = lab.output.outputs[0]
    assert "image/png" in frame["data"] and "Epoch 0 of" in frame["metadata"]["alt"]
    assert 'class="nnlab-figure"' in frame["data"]["text/html"]


def test_every_control_of_a_lab_gets_a_name_and_the_status_line_is_announced():
    lab = labs.vanishing()
    assert lab.play.tooltip and lab.epoch.tooltip
    (script,) = lab.names.outputs
    code = script["data"]["application/javascript"]
    for words in ('"aria-live", "polite"', "fa-play", "fa-stop", ".noUi-handle, select"):
        assert words in code
    assert lab.names in lab.widget.children and "nnlab-status" in lab.status._dom_classes


def test_the_export_puts_a_figures_alt_on_its_img():
    import nbformat

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("figure")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                                           metadata={"image/png": {"alt": "two <runs>"}})]
    notebook.cells.append(cell)
    assert export.figures_with_alt(notebook) == 1
    assert "alt='two &lt;runs&gt;'" in cell.outputs[0]["data"]["text/html"]
    assert contrast("#595959") >= 4.5 and "#595959" in export.EXPORT_CSS

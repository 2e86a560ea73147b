"""One owner per panel: the static comparison figure and the lab figure read the same specification."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import experiments, panels, plots
from nnlab.labfigure import LabFigure


@pytest.fixture(scope="module")
def runs():
    case = experiments.CASES["exploding"]     # the broken run diverges: the marker is drawn too
    return experiments.outcome(case.broken), experiments.outcome(case.fixed)


@pytest.mark.parametrize("third", panels.THIRD_PANELS)
def test_static_and_lab_figures_label_each_panel_from_the_specification(runs, third):
    broken, fixed = runs
    static = plots.comparison_figure(broken, fixed, "bias_grad_norms", third).axes
    lab = LabFigure("bias_grad_norms", third)
    lab.draw(fixed, broken)
    specs = (panels.gradient_panel("bias_grad_norms"), panels.LOSS, panels.third_panel(third))
    for spec, static_ax, lab_ax in zip(specs, static, lab.axes):
        assert static_ax.get_ylabel() == lab_ax.get_ylabel() == spec.ylabel
        assert static_ax.get_xlabel() == lab_ax.get_xlabel()
        assert lab_ax.get_title().startswith(spec.title) and static_ax.get_title() == spec.title
        assert (static_ax.get_yscale() == "log") == (lab_ax.get_yscale() == "log") == spec.log


def test_the_lab_draws_the_series_the_specification_gives(runs):
    broken, fixed = runs
    lab = LabFigure("bias_grad_norms", "accuracy")
    lab.draw(fixed, broken)
    for spec, lines in zip(lab.specs, lab.current.lines):
        for series, line in zip(spec.series, lines):
            x, y = series.data(fixed)
            np.testing.assert_array_equal(line.get_xdata(), x)
            np.testing.assert_array_equal(line.get_ydata(), y)
    # The divergence marker of the loss panel comes from the same place in both figures.
    x, text = panels.divergence_mark(broken.history)
    assert lab.reference.marks[1][1].get_text() == text
    static = plots.comparison_figure(broken, fixed, "bias_grad_norms", "accuracy").axes[1]
    assert text in [t.get_text() for t in static.texts]


def test_an_unknown_third_panel_is_named_in_the_error():
    with pytest.raises(ValueError, match="'accuracy', 'dead' or 'weight_change'.*'loss'"):
        panels.third_panel("loss")

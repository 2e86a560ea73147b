"""Drive every control of every lab, headless, and check the lab follows.

A lab must redraw (a new SVG figure in ``output``) and swap its ``history`` whenever a
control changes the experiment, and the change must go the right way: the
remedy raises the first/last gradient ratio, lowers the dead fraction, and so on.
"""

import base64
import re
import time

import ipywidgets as widgets
import numpy as np
import pytest

from nnlab import experiments, labs
from nnlab.training import History

LAB_NAMES = ["vanishing", "exploding", "dead_relu", "dropout", "batchnorm", "playground"]


def figure_of(lab) -> str:
    outputs = lab.output.outputs
    assert len(outputs) == 1, "the lab's output should hold exactly one figure"
    return outputs[0]["data"]["image/svg+xml"]


def shown_of(lab) -> str:
    """The image the lab's output shows: the click's SVG, or a PNG frame (base64) while playing."""
    outputs = lab.output.outputs
    assert len(outputs) == 1, "the lab's output should hold exactly one figure"
    data = outputs[0]["data"]
    return data.get("image/svg+xml") or data["image/png"]


def values_of(widget):
    options = getattr(widget, "options", None)
    if options is not None:
        return [option[1] if isinstance(option, tuple) else option for option in options]
    if isinstance(widget.value, bool):
        return [not widget.value, widget.value]
    return list(range(widget.min, widget.max + 1))


@pytest.fixture(scope="module", params=LAB_NAMES)
def lab(request):
    return getattr(labs, request.param)()


def test_a_lab_shows_a_figure_a_status_line_and_its_history(lab):
    assert isinstance(lab.history, History)
    assert "<svg" in figure_of(lab)
    assert lab.status.value
    assert "nnlab-lab" in lab.widget._dom_classes
    assert "nnlab-status" in lab.status._dom_classes
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    # The static fallback (no widgets: GitHub, `make html`, nbval) is a PNG of the same figure.
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")


def test_sliders_only_retrain_when_released(lab):
    for name, widget in lab.controls.items():
        if hasattr(widget, "continuous_update") and name not in labs.VIEW_CONTROLS:
            assert widget.continuous_update is False, f"{name} retrains while being dragged"


def test_every_control_through_every_value_changes_history_and_figure(lab):
    for name, widget in lab.controls.items():
        if name in labs.VIEW_CONTROLS:
            continue       # they replay the run: see the epoch tests below
        original = widget.value
        for value in values_of(widget):
            if value == widget.value:
                continue
            before_config, before_history, before_figure = lab.config(), lab.history, figure_of(lab)
            widget.value = value
            if lab.config() == before_config:
                continue   # e.g. a knob that a preset already set to this value
            assert lab.history is not before_history, f"{name}={value!r} did not change the run"
            assert figure_of(lab) != before_figure, f"{name}={value!r} did not redraw the figure"
            assert lab.status.value
        widget.value = original


# --- playing a run through its epochs ---------------------------------------

def test_a_lab_opens_at_the_last_epoch_and_says_so(lab):
    epochs = lab.outcome.config.epochs
    assert lab.controls["epoch"].value == lab.controls["epoch"].max == epochs
    assert f"epoch {epochs} of {epochs}" in lab.status_text()
    assert f"epoch {epochs} of {epochs}" in repr(lab)      # the text fallback (nbval, make html)


def test_moving_the_epoch_redraws_without_retraining_and_the_status_names_it(lab):
    epoch = lab.controls["epoch"]
    history, last = lab.history, epoch.max
    shown = {}
    for value in sorted({0, epoch.step, last // 2 - (last // 2) % epoch.step, last}):
        epoch.value = value
        assert lab.history is history, f"epoch {value} retrained the run"
        assert lab.timings["train"] == 0.0
        assert f"epoch {value} of {last}" in lab.status_text()
        shown[value] = shown_of(lab)
    assert len(set(shown.values())) == len(shown), "some epochs drew the same figure"
    epoch.value = last


def test_the_play_button_is_linked_to_the_epoch(lab):
    play, epoch = lab.controls["play"], lab.controls["epoch"]
    assert isinstance(play, widgets.Play)
    assert (play.min, play.max, play.step) == (epoch.min, epoch.max, epoch.step)
    play.value = epoch.step
    assert epoch.value == epoch.step and f"epoch {epoch.step} of" in lab.status_text()
    play.value = play.max
    assert epoch.value == epoch.max


def test_a_lab_plays_at_most_a_few_dozen_frames_ending_at_the_last_epoch():
    lab = labs.dropout()        # 1000 epochs
    epoch = lab.controls["epoch"]
    frames = range(epoch.min, epoch.max + 1, epoch.step)
    assert len(frames) <= experiments.MOST_FRAMES + 1 and frames[-1] == 1000
    assert list(lab.history.snapshot_epochs) == list(frames)


def test_changing_the_run_keeps_the_epoch_range_in_step():
    lab = labs.playground()
    lab.controls["epochs"].value = 100
    epoch, play = lab.controls["epoch"], lab.controls["play"]
    assert epoch.max == play.max == 100 and epoch.value == 100
    assert epoch.step == play.step == experiments.frame_step(100)
    lab.controls["epoch"].value = 50
    lab.controls["epochs"].value = 10
    assert epoch.max == epoch.value == 10 and "epoch 10 of 10" in lab.status_text()


def test_the_playground_draws_the_decision_boundary_as_it_forms():
    lab = labs.playground()
    history = lab.history
    assert history.loss[0] > 2 * history.loss[-1], "a run whose loss changes"
    grids = lab.figure._grid(lab.outcome)
    early, late = grids.at(1)[0], grids.at(history.epochs)[0]
    assert (early != late).mean() > 0.05, "the predicted regions should change as it trains"
    # The last epoch's regions are the trained model's own predictions (from float32 copies
    # of its parameters: a pixel on the boundary may differ).
    assert np.mean(late.ravel() == lab.outcome.model.predict(grids.points)) >= 0.99
    lab.controls["epoch"].value = 1
    first = shown_of(lab)
    lab.controls["epoch"].value = history.epochs
    assert shown_of(lab) != first
    assert "Decision boundary (epoch" in lab.figure.boundary_ax.get_title()


def test_a_diverged_run_can_still_be_played():
    lab = labs.exploding()
    assert lab.history.diverged
    lab.controls["epoch"].value = 10
    assert "epoch 10 of 30" in lab.status_text() and "stopped" in lab.status_text()


def test_lecture_mode_draws_a_larger_figure_with_projector_type():
    small, large = labs.vanishing(), labs.vanishing(lecture=True)
    assert len(large.png()) > len(small.png())
    pixels = lambda lab: lab.figure.figure.get_size_inches() * lab.figure.figure.dpi
    assert pixels(large)[0] > pixels(small)[0]
    # 14 pt at 100 dpi: 19 px at the figure's natural size (the page never shrinks it at 1280 px)
    font_px = large.figure.fonts["font.size"] * large.figure.figure.dpi / 72
    assert font_px >= 19
    # the controls and the status line are styled with it; a normal lab is left alone
    assert "nnlab-lecture" in large.widget._dom_classes
    assert "nnlab-lecture" not in small.widget._dom_classes
    assert "18px" in large.widget.children[0].value


# --- each remedy moves the numbers the right way ---------------------------

def test_vanishing_toggle_to_relu_raises_the_first_last_gradient_ratio():
    lab = labs.vanishing()
    broken = lab.history.first_last_ratio(0)
    lab.preset.value = "fixed"
    assert lab.history.first_last_ratio(0) > 100 * broken
    lab.controls["activation"].value = "sigmoid"
    assert lab.history.first_last_ratio(0) < 0.01
    lab.controls["activation"].value = "relu"
    lab.controls["depth"].value = 2
    shallow = lab.history.first_last_ratio(0)
    assert 0.1 <= shallow <= 10


def test_exploding_remedies_stop_the_divergence():
    lab = labs.exploding()
    assert lab.history.diverged
    for remedy in ["fixed", "lower_lr", "clipping"]:
        lab.preset.value = remedy
        assert not lab.history.diverged, remedy
    lab.preset.value = "broken"
    growth = lambda h: h.bias_grad_norms[0, 0] / h.bias_grad_norms[0, -1]
    big = growth(lab.history)
    lab.controls["init"].value = 0.3
    assert growth(lab.history) < big / 10


def test_dead_relu_lower_learning_rate_lowers_the_dead_fraction():
    lab = labs.dead_relu()
    dead = experiments.hidden_dead_fraction(lab.outcome)
    lab.preset.value = "fixed"
    assert experiments.hidden_dead_fraction(lab.outcome) < dead - 0.3
    lab.preset.value = "leaky_relu"
    assert experiments.hidden_dead_fraction(lab.outcome) == 0.0
    lab.preset.value = "fixed"
    lab.controls["bias"].value = -2.0
    assert experiments.hidden_dead_fraction(lab.outcome) > 0.3


def test_dropout_rate_half_narrows_the_gap_and_one_learns_nothing():
    lab = labs.dropout()
    gap = experiments.generalization_gap(lab.outcome)
    lab.controls["rate"].value = 0.5
    assert experiments.generalization_gap(lab.outcome) <= gap / 2
    lab.controls["rate"].value = 1.0
    assert abs(lab.history.accuracy[-1] - 0.5) <= 0.05


def test_batchnorm_checkbox_reaches_the_target_sooner():
    lab = labs.batchnorm()
    slow = experiments.epochs_to_accuracy(lab.history, 0.9)
    lab.controls["batchnorm"].value = True
    fast = experiments.epochs_to_accuracy(lab.history, 0.9)
    assert fast is not None and (slow is None or fast <= slow / 2)
    lab.preset.value = "raw_inputs"
    raw = lab.outcome.train_accuracy
    lab.controls["standardize"].value = True
    assert lab.outcome.train_accuracy > raw + 0.15


def test_a_failed_configuration_is_reported_in_the_status_line_not_raised(monkeypatch):
    lab = labs.playground()

    def refuse(config):
        raise ValueError("learning rate must be positive")
    monkeypatch.setattr(experiments, "outcome", refuse)
    lab.controls["lr"].value = 0.5
    assert "learning rate must be positive" in lab.status.value


# --- what reaches the browser, and how fast ------------------------------

def test_a_click_sends_the_figure_in_one_message():
    lab = labs.vanishing()
    changes = []
    lab.output.observe(changes.append, names="outputs")
    lab.controls["depth"].value = 3
    assert len(changes) == 1, "clearing and then appending would send two messages (and flicker)"
    lab.controls["depth"].value = 6        # a revisit: the cached figure, still one message
    assert len(changes) == 2


def test_the_figure_is_legible_and_sharp_at_any_screen_resolution():
    """SVG: text stays text and lines stay vectors (sharp on a 2x screen); it shows at its
    nominal size in CSS px, with no text under 11 px."""
    svg = figure_of(labs.exploding())
    width = float(re.search(r'<svg[^>]*width="([0-9.]+)px"', svg).group(1))
    assert 800 <= width <= 1000
    # matplotlib 3.8+ writes "font-size: 11.5px", 3.7 the shorthand "font: 11.5px 'DejaVu Sans'"
    sizes = [float(size) for size in re.findall(r"font(?:-size)?: ([0-9.]+)px", svg)]
    assert sizes and min(sizes) >= 11
    assert "<text" in svg and "10⁻" in svg, "exponents are written as superscript text"


def test_a_redraw_has_a_loose_upper_bound():
    """A smoke bound only (the benchmark measures): a fresh figure in well under a second."""
    lab = labs.dead_relu()
    started = time.process_time()
    for depth_bias in (-1.0, -0.5, 0.5):
        lab.controls["bias"].value = depth_bias
    assert (time.process_time() - started) / 3 < 2.0


def test_the_neighbouring_runs_are_one_click_away():
    lab = labs.dropout()
    configs = lab.neighbours()
    rates = {config.dropout for config in configs}
    assert {0.1} <= rates, "the slider's next value"
    assert {0.5, 1.0} <= rates, "the other presets"
    assert lab.config() not in configs[:1]

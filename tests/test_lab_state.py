"""Every lab's displayed state is consistent, after every sequence of two clicks.

An action is a click on a preset button (the "custom" one included) or a move of
one knob to a value no preset gives it (or, where every value is some preset's,
to another value). After each action of every ordered pair:

- every control shows a valid value (a Dropdown never goes blank);
- the preset toggle shows a preset only when the knobs equal it, else "custom";
- a preset click has set every knob it names, shared ones included;
- the run behind the figure and the status line is the one the controls describe, and the
  faint reference's legend names any shared knob it takes from this run.

Training is shortened (a few epochs on a small data set) so the 400-odd
sequences run in seconds: only the wiring is under test here.
"""

import html
import dataclasses
import itertools
import re

import pytest

from nnlab import experiments, labs

LAB_NAMES = ["vanishing", "exploding", "dead_relu", "dropout", "batchnorm", "playground"]
_real_outcome = experiments.outcome


def _quick_outcome(config):
    """The run of ``config`` shortened to 2 epochs of 60 examples, labelled as ``config``."""
    short = config.replace(epochs=2, n=60, val_fraction=0.5 if config.val_fraction else 0.0)
    return dataclasses.replace(_real_outcome(short), config=config)


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(experiments, "outcome", _quick_outcome)


def legend_of(lab) -> str:
    """The reference legend the figure on screen was drawn with (its SVG keeps text as text)."""
    svg = lab.output.outputs[0]["data"]["image/svg+xml"]
    found = [html.unescape(text) for text in re.findall(r">([^<>]*)<", svg)
             if html.unescape(text).startswith("reference: ")]
    assert len(found) == 1, found
    return found[0]


def option_values(widget):
    options = getattr(widget, "options", None)
    if options is None:
        return [False, True] if isinstance(widget.value, bool) else list(range(widget.min, widget.max + 1))
    return [option[1] if isinstance(option, tuple) else option for option in options]


def actions(lab):
    """Every preset button, and every knob moved to a value no preset gives it (if any)."""
    found = [("preset", key) for key in option_values(lab.preset)]
    for name, knob in lab.knobs.items():
        preset_values = {knob.read(config) for _, config in lab.presets.values()}
        values = option_values(knob.widget)
        others = [v for v in values if v not in preset_values] or [v for v in values if v != values[0]]
        found.append((name, others[len(others) // 2]))
    return found


def assert_consistent(lab, name, action):
    after = f"after {action}"
    for control, widget in lab.controls.items():
        if hasattr(widget, "options"):
            assert widget.value in option_values(widget), f"{control} shows an invalid value {after}"
            assert widget.index is not None and widget._options_labels[widget.index], \
                f"{control} shows nothing {after}"
    config = lab.config()
    for knob_name, knob in lab.knobs.items():
        assert knob.read(config) == knob.widget.value, f"{knob_name} and the config disagree {after}"
    shown = lab.preset.value
    matching = [key for key, (_, preset) in lab.presets.items() if preset == config]
    if shown == labs.CUSTOM:
        assert not matching, f"{name}: 'custom' shown, but the knobs equal preset {matching} {after}"
    else:
        assert lab.presets[shown][1] == config, f"{name}: preset {shown} shown, knobs differ {after}"
    assert lab.outcome.config == config, f"{name}: the figure shows another run {after}"
    assert lab.reference.config == lab.reference_config()
    assert next(reversed(lab._figures))[:2] == (config, lab.reference.config)
    epochs = lab.outcome.config.epochs      # a new run is shown at its last epoch
    assert lab.controls["epoch"].value == epochs
    assert lab.status.value == (f"{lab.summarize(lab.outcome, lab.reference)} · "
                                f"{lab._epoch_text(epochs)}"), f"{name}: status {after}"
    legend = legend_of(lab)
    assert legend == lab.reference_label(), f"{name}: the figure's reference legend is stale {after}"
    _, reference_preset = lab.presets[lab.reference_key()]
    for knob in lab.knobs.values():       # a shared knob the reference takes from this run is named
        if knob.shared and knob.read(reference_preset) != knob.read(lab.reference.config):
            assert f", but {knob.widget.description} " in legend, f"{name}: {legend!r} {after}"


def apply(lab, action):
    control, value = action
    lab.controls[control].value = value
    if control == "preset" and value != labs.CUSTOM:
        target = lab.presets[value][1]
        for knob_name, knob in lab.knobs.items():
            assert knob.widget.value == knob.read(target), f"preset {value} left {knob_name} unset"


@pytest.mark.parametrize("name", LAB_NAMES)
def test_every_sequence_of_two_actions_leaves_a_consistent_lab(name):
    lab = getattr(labs, name)()
    first = next(iter(lab.presets))
    assert_consistent(lab, name, "building the lab")
    for pair in itertools.product(actions(lab), repeat=2):
        lab.controls["preset"].value = first
        for action in pair:
            apply(lab, action)
            assert_consistent(lab, name, pair)


def test_a_moved_knob_shows_custom_and_moving_it_back_shows_the_preset():
    lab = labs.dropout()
    lab.controls["rate"].value = 0.3
    assert lab.preset.value == labs.CUSTOM
    lab.controls["rate"].value = 0.5
    assert lab.preset.value == "fixed"
    lab.controls["rate"].value = 0.0
    assert lab.preset.value == "broken"


def test_exploding_presets_reset_the_shared_init_knob():
    lab = labs.exploding()
    lab.controls["init"].value = 1.0
    lab.preset.value = "fixed"
    lab.preset.value = "broken"
    assert lab.config().init == 0.8 and lab.controls["init"].value == 0.8


@pytest.mark.parametrize("path", [("clipping", "broken"), ("clipping", "lower_lr")])
def test_the_clipping_dropdown_never_goes_blank(path):
    lab = labs.exploding()
    for preset in path:
        lab.preset.value = preset
    assert lab.controls["clip"].label == "no clipping" and lab.config().clip_norm is None


def test_the_reference_legend_says_which_shared_knob_it_keeps():
    lab = labs.exploding()
    lab.preset.value = "fixed"
    lab.controls["init"].value = 1.0
    assert lab.reference.config.init == 1.0
    assert lab.reference_label() == "reference: broken: init std 0.8, but init std 1.0"

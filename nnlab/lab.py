"""The machinery every lab shares: ``Lab`` (preset toggle, knobs, status line, figure,
epoch slider and play button), ``Knob``, and lecture mode's styling.

The labs themselves (one function per lesson's failure case) are in ``nnlab.labs``.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets

from . import a11y, experiments, plots, speculate, widgets_compat
from .labfigure import LabFigure
from .experiments import Experiment, Outcome

# Figures kept per lab for revisited settings (SVG, 50 to 200 kB each).
FIGURE_CACHE_SIZE = 64
# Epoch frames kept per lab (PNG, about 100 kB each): replaying a run draws nothing twice.
FRAME_CACHE_SIZE = 128
# The controls that only choose what to show of a run (they never retrain).
VIEW_CONTROLS = ("epoch", "play")
# Milliseconds between frames when playing. The browser sends a widget's next value
# only once the kernel has finished with the last one, so a slow frame is skipped,
# never queued.
PLAY_INTERVAL_MS = 150
# NNLAB_CLICK_LOG=<file>: every update appends one JSON line of its timings (benchmarks/).
CLICK_LOG = os.environ.get("NNLAB_CLICK_LOG")

# The preset toggle shows this while the knobs match none of the lab's presets.
CUSTOM = "custom"


# Lecture mode (``lecture=True``): the lab fills a projector. Its type follows the window
# (1.45% of its width or 2.6% of its height, never under 18 px), controls and status line
# included; the figure (nnlab.labfigure.LECTURE, 1200 x 440 px) is drawn as wide as the
# window allows while the whole lab still fits its height, so no scrolling is needed.
LECTURE_CSS = """<style>
.nnlab-lecture {
  --nnlab-font: max(18px, min(1.45vw, 2.6vh));
  --jp-widgets-font-size: var(--nnlab-font);
  --jp-widgets-inline-height: calc(1.6 * var(--nnlab-font));
  --jp-widgets-inline-label-width: calc(5.5 * var(--nnlab-font));
  --jp-widgets-inline-width: calc(16 * var(--nnlab-font));
  --jp-widgets-slider-handle-size: calc(0.9 * var(--nnlab-font));
  font-size: var(--nnlab-font); line-height: 1.3; color: #000; width: 100%;
}
.nnlab-lecture .widget-html-content, .nnlab-lecture .widget-label, .nnlab-lecture button,
.nnlab-lecture select, .nnlab-lecture .widget-readout, .nnlab-lecture label {
  font-size: var(--nnlab-font); line-height: 1.3; color: #000;
}
.nnlab-lecture .widget-toggle-buttons .widget-toggle-button { height: auto; padding: 2px 10px; }
.nnlab-lecture .widget-toggle-button.mod-active { background: #1f4e79; color: #fff; }
.nnlab-lecture .widget-html, .nnlab-lecture .widget-html-content { height: auto; }
.nnlab-lecture .widget-checkbox { width: auto; }
.nnlab-lecture .widget-checkbox label { overflow: visible; }
.nnlab-lecture input[type="checkbox"] { width: 0.9em; height: 0.9em; }
.nnlab-lecture .widget-output img {
  width: 100%; height: auto;
  max-width: calc((100vh - var(--nnlab-controls) * var(--nnlab-font)) * 1200 / 440);
}
.nnlab-lecture-rows-1 { --nnlab-controls: 12.5; }
.nnlab-lecture-rows-2 { --nnlab-controls: 14.5; }
.nnlab-lecture-rows-3 { --nnlab-controls: 15.5; }
</style>"""
LECTURE_KNOBS_PER_ROW = 4


def _lab_box(children, lecture: bool, n_knobs: int):
    """The lab's outer box (with ``a11y.LAB_CSS``); in lecture mode, styled by ``LECTURE_CSS``
    to fill the window."""
    if not lecture:
        return widgets.VBox([widgets.HTML(a11y.LAB_CSS), *children])
    box = widgets.VBox([widgets.HTML(LECTURE_CSS), widgets.HTML(a11y.LAB_CSS), *children])
    rows = min(max(-(-n_knobs // LECTURE_KNOBS_PER_ROW), 1), 3)
    box.add_class("nnlab-lecture")
    box.add_class(f"nnlab-lecture-rows-{rows}")
    return box


@dataclass
class Knob:
    """A widget and how its value reads from and writes to an Experiment."""

    widget: widgets.ValueWidget
    read: Callable[[Experiment], object]
    write: Callable[[Experiment, object], Experiment]
    shared: bool = False     # also applied to the reference run (e.g. depth, seed)


class Lab:
    """A lab for one case: preset toggle, knobs, status line and figure.

    ``presets`` maps a key to a (button label, configuration); picking a preset
    sets every knob (shared ones included) to that configuration's values. The
    toggle shows a preset selected only while every knob equals it; once the
    knobs match no preset it shows ``CUSTOM``, and the knobs apply to the preset
    picked last (``base``). The reference run (drawn faint) is
    ``reference_for(base)``'s configuration, with the shared knobs applied.
    ``lecture=True`` is lecture mode (``LECTURE_CSS``, ``labfigure.LECTURE``).
    """

    def __init__(self, title: str, presets: dict, knobs: dict, summarize: Callable,
                 reference_for: Callable[[str], str] | None = None, statistic: str = "grad_norms",
                 third: str = "accuracy", broken_presets=("broken",), lecture: bool = False,
                 gradient_at: str = "start", boundary: bool = False):
        self.title = title
        self.presets = presets
        self.knobs = knobs
        self.summarize = summarize
        self.reference_for = reference_for
        self.broken_presets = set(broken_presets)
        self.figure = LabFigure(statistic, third, lecture=lecture, gradient_at=gradient_at,
                                boundary=boundary)
        labels = [(label, key) for key, (label, _) in presets.items()] + [(CUSTOM, CUSTOM)]
        self.base = next(iter(presets))     # the preset the knobs apply to
        self.preset = widgets.ToggleButtons(options=labels, value=self.base,
                                            description="", style={"button_width": "auto"},
                                            tooltips=[*(f"set every knob to {label}"
                                                        for label, _ in labels[:-1]),
                                                      "the knobs match no preset"])
        # The epoch shown: scrubbing redraws at once (no retraining), so it updates while dragged.
        self.epoch = widgets.IntSlider(value=0, min=0, max=1, description="epoch",
                                       continuous_update=True)
        self.play = widgets.Play(value=0, min=0, max=1, interval=PLAY_INTERVAL_MS,
                                 description="play", show_repeat=False)
        widgets.link((self.play, "value"), (self.epoch, "value"))
        a11y.name(self.play, "play the run epoch by epoch")
        a11y.name(self.epoch, "the epoch shown")
        self.controls = {"preset": self.preset, **{name: knob.widget for name, knob in knobs.items()},
                         "epoch": self.epoch, "play": self.play}
        self.status = widgets.HTML(value="")
        self.status.add_class("nnlab-status")
        self.output = widgets_compat.figure_output()
        header = widgets.HTML(f"<b>{html.escape(title)}</b>")
        knob_row = widgets.HBox([knob.widget for knob in knobs.values()],
                                layout=widgets.Layout(flex_flow="row wrap"))
        if len(presets) == 1:
            self.preset.layout.display = "none"     # nothing to choose between
        epoch_row = widgets.HBox([self.play, self.epoch])
        # Names for the play button and the sliders, and the status line read out when it
        # changes (a11y.LAB_SCRIPT, run by the front end; nothing shows).
        # (Under ipywidgets 7 there is no carrier: the lab's display runs the script instead.)
        self.names = widgets_compat.script_carrier(a11y.LAB_SCRIPT)
        carried = [self.names] if self.names is not None else []
        self.widget = _lab_box([header, self.preset, knob_row, epoch_row, self.status,
                                self.output, *carried], lecture, len(knobs))
        self.widget.add_class("nnlab-lab")
        self.history = None
        self.outcome: Outcome | None = None
        self.reference: Outcome | None = None
        self._holding = False
        self.timings = {"train": 0.0, "draw": 0.0}
        self._drawn = None       # figure_key (without the epoch) of the runs self.figure holds
        self._summary = ""
        self._frames: OrderedDict = OrderedDict()      # epoch frames (PNG) of the runs seen lately
        self._updates = 0
        self._lock = threading.Lock()      # the figure cache is shared with the background thread
        self._shown: set = set()           # figures the learner has seen (the rest are fresh)
        self._twin = None                  # the background thread's own figure
        self._figures: OrderedDict = OrderedDict()     # a revisited setting redraws nothing
        self._last_change = None       # (control name, step along its options) of the last click
        self._set_knobs(self.presets[self.base][1])
        self.preset.observe(self._on_preset, names="value")
        for knob in knobs.values():
            knob.widget.observe(self._on_knob, names="value")
        self.epoch.observe(self._on_epoch, names="value")
        # The browser counts the views it shows: the first one means a learner is looking,
        # and the runs one click away start training in the background (see speculate).
        self.output._view_count = 0
        self.output.observe(self._on_shown, names="_view_count")
        self.update()

    # --- what is being run ------------------------------------------------
    def values(self) -> dict:
        """Every knob's value now, by knob name."""
        return {name: knob.widget.value for name, knob in self.knobs.items()}

    def config(self, base: str | None = None, values: dict | None = None) -> Experiment:
        """The configuration the controls describe now (or preset ``base`` with knob ``values``)."""
        base = self.base if base is None else base
        values = self.values() if values is None else values
        config = self.presets[base][1]
        for name, knob in self.knobs.items():
            config = knob.write(config, values[name])
        return config

    def matching_preset(self) -> str:
        """The preset whose configuration the knobs describe now (``CUSTOM`` if none)."""
        config = self.config()
        if self.presets[self.base][1] == config:
            return self.base
        return next((key for key, (_, preset) in self.presets.items() if preset == config), CUSTOM)

    def reference_key(self, base: str | None = None) -> str:
        """The preset drawn faint behind the current run (or behind preset ``base``)."""
        base = self.base if base is None else base
        return self.reference_for(base) if self.reference_for else base

    def reference_label(self, base: str | None = None, values: dict | None = None) -> str:
        """The faint run's legend: its preset, and any shared knob it takes from this run."""
        values = self.values() if values is None else values
        label, preset = self.presets[self.reference_key(base)]
        kept = [f"{knob.widget.description} {_shown(knob.widget, values[name])}"
                for name, knob in self.knobs.items()
                if knob.shared and knob.read(preset) != values[name]]
        return f"reference: {label}" + "".join(f", but {change}" for change in kept)

    def reference_config(self, base: str | None = None, values: dict | None = None) -> Experiment:
        """The faint run's configuration: its preset, with the shared knobs' values."""
        values = self.values() if values is None else values
        config = self.presets[self.reference_key(base)][1]
        for name, knob in self.knobs.items():
            if knob.shared:
                config = knob.write(config, values[name])
        return config

    # --- reacting to the widgets ------------------------------------------
    @contextmanager
    def _hold(self):
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _set_knobs(self, config: Experiment):
        with self._hold():
            for knob in self.knobs.values():
                knob.widget.value = knob.read(config)

    def _show_preset(self):
        """Select the preset the knobs match, or ``CUSTOM``, without reacting to it."""
        match = self.matching_preset()
        if match != CUSTOM:
            self.base = match
        with self._hold():
            self.preset.value = match

    def _on_preset(self, change):
        if self._holding:
            return
        if change["new"] == CUSTOM:          # nothing to set: show what the knobs match
            self._show_preset()
            return
        self._last_change = ("preset", 0)
        self.base = change["new"]
        self._set_knobs(self.presets[self.base][1])
        self.update()

    def _on_knob(self, change):
        if not self._holding:
            self._last_change = (change["owner"], _step(change["owner"], change["old"], change["new"]))
            self._show_preset()
            self.update()

    def _on_epoch(self, change):
        if not self._holding and self.outcome is not None:
            self.show_epoch(change["new"])

    def _set_epochs(self, epochs: int) -> None:
        """Range the epoch slider and the play button over this run's epochs, at the last."""
        step = experiments.frame_step(epochs)
        with self._hold():
            for widget in (self.epoch, self.play):
                widget.value = min(widget.value, epochs)
                widget.max = epochs
                widget.step = step
                widget.value = epochs

    def _on_shown(self, change):
        if change["new"] and speculate.allowed():
            if self._twin is None:
                self._twin = self.figure.twin()    # built here, in the kernel's main thread
            self._speculate()

    # --- the runs one click away ------------------------------------------
    def _config_for(self, preset, values: dict):
        """The (current, reference) configurations for ``preset`` with knob ``values``."""
        return self.config(preset, values), self.reference_config(preset, values)

    def _neighbour_states(self) -> list:
        """``(preset, knob values)`` one click away, most likely first: the last-moved control's
        next value in the same direction, then each control's neighbouring values, then the
        other presets."""
        values = self.values()
        moves = []
        for name, knob in self.knobs.items():
            for value in _adjacent(knob.widget):
                moves.append((knob.widget, value, (self.base, {**values, name: value})))
        last_widget, direction = self._last_change or (None, 0)
        moves.sort(key=lambda move: not (move[0] is last_widget
                                         and _step(move[0], move[0].value, move[1]) == direction))
        states = [state for _, _, state in moves]
        for preset in self.presets:          # a preset sets every knob, shared ones included
            if preset != self.base:
                config = self.presets[preset][1]
                states.append((preset, {name: knob.read(config) for name, knob in self.knobs.items()}))
        return states

    def neighbours(self) -> list:
        """The configurations one click away (current and reference runs), most likely first."""
        configs = []
        for preset, values in self._neighbour_states():
            try:
                configs.extend(self._config_for(preset, values))
            except (ValueError, TypeError):
                continue
        return configs

    def _speculate(self):
        if self.output._view_count and self._twin is not None:
            speculate.ahead([(self._task_key(preset, values),
                              lambda preset=preset, values=values: self._prepare(preset, values))
                             for preset, values in self._neighbour_states()])

    def _task_key(self, preset, values) -> tuple:
        return (id(self), preset, tuple(values.items()))

    def figure_key(self, current, reference, preset=None, values=None, epoch=None) -> tuple:
        """What the figure depends on, for the figure cache: the two configurations, the
        preset (its labels and colours) and the epoch shown, for ``preset`` and knob
        ``values`` (default: the widgets' now) and ``epoch`` (default: the last, which a
        click shows). A control that changes the drawing but not the runs belongs here."""
        return (current, reference, self.base if preset is None else preset,
                current.epochs if epoch is None else int(epoch))

    def _prepare(self, preset, values) -> None:
        """In the background: train the runs of ``preset`` with knob ``values`` and draw their
        figure (on the twin figure, never on the one the click draws on) into the cache."""
        current_config, reference_config = self._config_for(preset, values)
        current = speculate.SPECULATOR.train(current_config)
        reference = speculate.SPECULATOR.train(reference_config)
        key = self.figure_key(current.config, reference.config, preset, values)
        with self._lock:
            if key in self._figures:
                return
        self._twin.show(current, reference, *self._labels(preset, values))
        svg = self._twin.render("svg").decode()
        self._remember(key, svg)

    def _remember(self, key, svg) -> None:
        with self._lock:
            self._figures[key] = svg
            self._figures.move_to_end(key)
            while len(self._figures) > FIGURE_CACHE_SIZE:
                self._figures.popitem(last=False)     # forget the oldest figure

    def update(self) -> None:
        """Run (or fetch from the cache) the current and reference runs, and redraw.

        ``timings`` then holds the seconds spent training (zero on a cache hit),
        drawing (the artists) and rendering the SVG, which the benchmarks read.
        The figure and the status line each reach the browser in one message.
        """
        try:
            with speculate.SPECULATOR:
                self._update()
        except KeyboardInterrupt:          # Kernel > Interrupt during a slow click
            shown = getattr(self, "_last_shown", None)
            if shown is None:
                raise                      # the lab's first run, in the learner's own cell
            self._restore(*shown)
            return
        if self.outcome is not None and self.outcome.config == self.config():
            self._last_shown = (self.base, self.values(), self.outcome, self.reference,
                                self._summary)
        self._speculate()

    def _restore(self, base, values, current, reference, summary) -> None:
        """After an interrupted click: the controls, figure, History, epoch slider and status
        line all go back to the run shown before the click."""
        self.base = base
        with self._hold():
            for name, value in values.items():
                self.knobs[name].widget.value = value
            self.preset.value = self.matching_preset()
        self.outcome, self.reference, self._summary = current, reference, summary
        self.history = current.history
        self._set_epochs(current.config.epochs)
        key = self.figure_key(current.config, reference.config)
        with self._lock:
            svg = self._figures.get(key)
        if svg is None:
            self.figure.show(current, reference, *self._labels())
            self._drawn = key[:-1]
            svg = self.figure.render("svg").decode()
        self._send({"image/svg+xml": svg})
        self.status.value = (f"{summary} · {self._epoch_text(self.epoch.value)} · <i>the last "
                             "click was interrupted: this is the run shown before it</i>")

    def _update(self) -> None:
        started = time.perf_counter()
        config, reference_config = self.config(), self.reference_config()
        speculate.SPECULATOR.wait_for(self._task_key(self.base, self.values()))
        with self._lock:
            ready = self.figure_key(config, reference_config) in self._figures
        if not ready:
            # Shown while a new configuration trains (a cached one replaces it at once).
            self.status.value = f"<i>training: {html.escape(config.describe())} …</i>"
        try:
            current = speculate.outcome(config)
            reference = speculate.outcome(reference_config)
        except (ValueError, TypeError) as error:
            self.status.value = f"<span style='color:#d62728'>{html.escape(str(error))}</span>"
            return
        trained = time.perf_counter()
        self.outcome, self.reference, self.history = current, reference, current.history
        self._summary = self.summarize(current, reference)
        self._set_epochs(current.config.epochs)      # a new run is shown at its last epoch
        key = self.figure_key(current.config, reference.config)
        with self._lock:
            svg = self._figures.get(key)
        fresh, prepared = key not in self._shown, svg is not None
        drawn = rendered = trained
        if svg is None:
            self.figure.show(current, reference, *self._labels())
            self._drawn = key[:-1]
            drawn = time.perf_counter()
            svg = self.figure.render("svg").decode()
            rendered = time.perf_counter()
        self._remember(key, svg)
        if len(self._shown) > 4096:
            self._shown.clear()
        self._shown.add(key)
        # One message replaces the figure (clearing first would send two, and flicker); the
        # count makes every update a change, even to a figure that looks the same.
        self._send({"image/svg+xml": svg}, self.epoch.value)
        self.status.value = f"{self._summary} · {self._epoch_text(self.epoch.value)}"
        self.timings = {"train": trained - started, "draw": drawn - trained,
                        "render": rendered - drawn, "total": time.perf_counter() - started}
        if CLICK_LOG:
            self._log(svg, fresh, prepared and fresh)

    def _log(self, svg, fresh, prepared) -> None:
        entry = {"lab": self.title, "fresh": fresh, "prepared_in_background": prepared,
                 "bytes": len(svg), "time": time.time(),
                 **{f"{name}_ms": round(1000 * seconds, 2) for name, seconds in self.timings.items()}}
        with open(CLICK_LOG, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def _send(self, data: dict, epoch: int | None = None) -> None:
        """Replace the figure in one message (clearing first would send two, and flicker); the
        count makes every update a change, even to a figure that looks the same. The figure
        goes as HTML too: an ``<img>`` whose text alternative is :meth:`figure_text` (what a
        front end shows first), beside the bare SVG or PNG (for viewers without HTML)."""
        self._updates += 1
        size = self.figure.css_size()
        alt = self.figure_text(epoch)
        metadata = {"nnlab_update": self._updates, "alt": alt}
        if "image/png" in data:          # a frame: shown at the SVG's CSS size
            metadata["image/png"] = {"width": size[0], "height": size[1], "alt": alt}
        self.output.outputs = ({"output_type": "display_data", "metadata": metadata,
                                "data": {**data, "text/html": a11y.figure_html(data, alt, size),
                                         "text/plain": alt}},)

    def figure_text(self, epoch: int | None = None) -> str:
        """The figure's text alternative: what it shows after ``epoch`` epochs (None: the
        last), in words (``LabFigure.describe``), then the status line's numbers."""
        last = self.outcome.config.epochs
        epoch = last if epoch is None else int(min(max(epoch, 0), last))
        words = self.figure.describe(self.outcome, self.reference, *self._labels(), epoch=epoch)
        status = a11y.plain(f"{self._summary} · {self._epoch_text(epoch)}")
        return f"{self.title}, the lab figure. {words} Status line: {status}"

    def show_epoch(self, epoch: int) -> None:
        """Show the current run after ``epoch`` epochs (no retraining): the click's SVG at the
        last epoch when it is cached, else a PNG frame made by blitting (``LabFigure.frame``).
        ``timings`` then says how long it took."""
        started = time.perf_counter()
        current, reference = self.outcome, self.reference
        last = current.config.epochs
        epoch = int(min(max(epoch, 0), last))
        key = self.figure_key(current.config, reference.config, epoch=epoch)
        with self._lock:
            svg = self._figures.get(key) if epoch == last else None
        if svg is not None:
            self._send({"image/svg+xml": svg}, epoch)
        else:
            png = self._frames.get(key)
            if png is None:
                if self._drawn != key[:-1]:      # the figure holds other runs: fill it again
                    self.figure.show(current, reference, *self._labels(), epoch=epoch)
                    self._drawn = key[:-1]
                png = self.figure.frame(current, reference, epoch)
                self._frames[key] = png
                while len(self._frames) > FRAME_CACHE_SIZE:
                    self._frames.popitem(last=False)     # forget the oldest frame
            self._frames.move_to_end(key)
            self._send({"image/png": base64.b64encode(png).decode()}, epoch)
        self.status.value = f"{self._summary} · {self._epoch_text(epoch)}"
        total = time.perf_counter() - started
        self.timings = {"train": 0.0, "draw": total, "render": 0.0, "total": total}

    def _epoch_text(self, epoch: int) -> str:
        last = self.outcome.config.epochs
        history = self.history
        if epoch == 0:
            shown = f"showing <b>epoch 0</b> of {last} (before training)"
        else:
            shown = f"showing <b>epoch {epoch}</b> of {last}"
        if history.diverged and epoch > history.epochs:
            shown += f" (the run stopped in epoch {history.epochs + 1}: its last step)"
        return shown

    def png(self) -> bytes:
        """The current figure at the last epoch as a PNG (the static fallback: a viewer
        without widgets, `make html`)."""
        key = self.figure_key(self.outcome.config, self.reference.config)
        if self._drawn != key[:-1]:      # the figure shown came from the cache: draw it again
            self.figure.show(self.outcome, self.reference, *self._labels())
            self._drawn = key[:-1]
        else:
            self.figure.show_epoch(self.outcome, self.reference)
        return self.figure.render("png")

    def _labels(self, preset=None, values=None):
        """Legend labels and colours of the two runs, for ``preset`` with knob ``values``."""
        preset = self.base if preset is None else preset
        is_broken = preset in self.broken_presets
        return ("this run", self.reference_label(preset, values),
                plots.BROKEN_COLOR if is_broken else plots.FIXED_COLOR,
                plots.FIXED_COLOR if is_broken else plots.BROKEN_COLOR)

    # --- display ----------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        bundle = widgets_compat.widget_bundle(self.widget, **kwargs)
        # Fallbacks for a viewer without widgets (GitHub, `make html`, nbval): the
        # settings and the numbers as text, instead of the widget tree's long repr,
        # and the current figure as a plain image.
        bundle["text/plain"] = repr(self)
        if self.output.outputs:
            bundle["image/png"] = base64.b64encode(self.png()).decode()
        return bundle

    if widgets_compat.MAJOR < 8:
        def _ipython_display_(self, **kwargs):
            """ipywidgets 7 (classic Notebook, Colab): the widget, then its a11y script."""
            widgets_compat.display_with_script(self._repr_mimebundle_(), a11y.LAB_SCRIPT)

    def status_text(self) -> str:
        """The status line without its HTML markup."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    def __repr__(self):
        return f"{self.title} lab: {self.config().describe()}\n{self.status_text()}"


def _shown(widget, value=None) -> str:
    """How the widget shows ``value`` (default: its own value): a selection's label."""
    value = widget.value if value is None else value
    labels, values = getattr(widget, "_options_labels", None), getattr(widget, "_options_values", None)
    if labels is not None and value in values:
        return labels[list(values).index(value)]
    return str(value)


def widget_values(widget) -> list:
    """Every value a learner can pick on this widget, in the order the widget shows them."""
    options = getattr(widget, "options", None)
    if options is not None:
        return [option[1] if isinstance(option, tuple) else option for option in options]
    if isinstance(widget.value, bool):
        return [False, True]
    return list(range(widget.min, widget.max + 1, getattr(widget, "step", 1) or 1))


def _step(widget, old, new) -> int:
    """+1 if ``new`` comes after ``old`` among the widget's values, -1 if before, 0 if unknown."""
    options = widget_values(widget)
    if old in options and new in options:
        return 1 if options.index(new) > options.index(old) else -1
    return 0


def _adjacent(widget) -> list:
    """The values one step from the widget's value (both neighbours; a checkbox's other state)."""
    options = widget_values(widget)
    if widget.value not in options:
        return []
    at = options.index(widget.value)
    return [options[i] for i in (at + 1, at - 1) if 0 <= i < len(options)]

"""Interactive labs: flip a toggle, see the gradients change.

Each function here returns a :class:`Lab` for one lesson's failure case, plus
``playground()`` with every knob. A lab shows as the last expression of a
notebook cell. It holds:

- ``controls``: a dict of the widgets that change the experiment, plus ``"epoch"``
  (the epoch shown) and ``"play"`` (an ``ipywidgets.Play`` linked to it), which
  replay the run without retraining;
- ``status``: a one-line HTML summary of the numbers that matter;
- ``output``: an ``ipywidgets.Output`` holding the current figure as a PNG;
- ``history`` (and ``outcome``): the run behind the current figure.

The figure is put into ``output`` by replacing its outputs (never through
``with output:``), so a saved notebook keeps the figure in its widget state and
the lab works, and can be tested, without a kernel.
"""

from __future__ import annotations

import html
import re
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
from IPython.display import Image

from . import experiments, plots
from .labfigure import LabFigure
from .experiments import LEARNING_RATES, Experiment, Outcome

# PNGs kept per lab for revisited settings and epochs (about 70 kB each).
FIGURE_CACHE_SIZE = 128
# The controls that only choose what to show of a run (they never retrain).
VIEW_CONTROLS = ("epoch", "play")
# Milliseconds between frames when playing. The browser sends a widget's next value
# only once the kernel has finished with the last one, so a slow frame is skipped,
# never queued.
PLAY_INTERVAL_MS = 150

DEPTHS = (1, 2, 3, 4, 5, 6, 7, 8, 10)
INIT_SCALES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0)


@dataclass
class Knob:
    """A widget and how its value reads from and writes to an Experiment."""

    widget: widgets.ValueWidget
    read: Callable[[Experiment], object]
    write: Callable[[Experiment, object], Experiment]
    shared: bool = False     # also applied to the reference run (e.g. depth, seed)


def _field(name):
    return (lambda config: getattr(config, name),
            lambda config, value: config.replace(**{name: value}))


def _depth_knob(value_default=6, options=DEPTHS):
    width = lambda config: config.hidden[0]
    slider = widgets.SelectionSlider(options=list(options), value=value_default,
                                     description="depth", continuous_update=False)
    return Knob(slider, lambda config: len(config.hidden),
                lambda config, depth: config.replace(hidden=(width(config),) * depth), shared=True)


def _lr_knob(default):
    options = sorted(set(LEARNING_RATES) | {default})
    slider = widgets.SelectionSlider(options=options, value=default, description="learning rate",
                                     continuous_update=False, style={"description_width": "initial"})
    return Knob(slider, *_field("lr"))


def _seed_knob():
    slider = widgets.IntSlider(value=0, min=0, max=9, description="seed", continuous_update=False)
    return Knob(slider, *_field("seed"), shared=True)


class Lab:
    """A lab for one case: preset toggle, knobs, status line and figure.

    ``presets`` maps a button label to a configuration; picking a preset sets
    every knob to that configuration's values. The reference run (drawn faint)
    is ``reference_for(preset)``'s configuration, with the shared knobs applied.
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
        labels = [(label, key) for key, (label, _) in presets.items()]
        self.preset = widgets.ToggleButtons(options=labels, value=next(iter(presets)),
                                            description="", style={"button_width": "auto"})
        # The epoch shown: scrubbing redraws at once (no retraining), so it updates while dragged.
        self.epoch = widgets.IntSlider(value=0, min=0, max=1, description="epoch",
                                       continuous_update=True)
        self.play = widgets.Play(value=0, min=0, max=1, interval=PLAY_INTERVAL_MS,
                                 description="play", show_repeat=False)
        widgets.link((self.play, "value"), (self.epoch, "value"))
        self.controls = {"preset": self.preset, **{name: knob.widget for name, knob in knobs.items()},
                         "epoch": self.epoch, "play": self.play}
        self.status = widgets.HTML(value="")
        self.status.add_class("nnlab-status")
        self.output = widgets.Output()
        header = widgets.HTML(f"<b>{html.escape(title)}</b>")
        knob_row = widgets.HBox([knob.widget for knob in knobs.values()],
                                layout=widgets.Layout(flex_flow="row wrap"))
        if len(presets) == 1:
            self.preset.layout.display = "none"     # nothing to choose between
        epoch_row = widgets.HBox([self.play, self.epoch])
        self.widget = widgets.VBox([header, self.preset, knob_row, epoch_row, self.status,
                                    self.output])
        self.widget.add_class("nnlab-lab")
        self.history = None
        self.outcome: Outcome | None = None
        self.reference: Outcome | None = None
        self._holding = False
        self.timings = {"train": 0.0, "draw": 0.0}
        self._figures: OrderedDict = OrderedDict()     # a revisited setting redraws nothing
        self._key = None
        self._summary = ""
        self._set_knobs(self.presets[self.preset.value][1])
        self.preset.observe(self._on_preset, names="value")
        for knob in knobs.values():
            knob.widget.observe(self._on_knob, names="value")
        self.epoch.observe(self._on_epoch, names="value")
        self.update()

    # --- what is being run ------------------------------------------------
    def config(self) -> Experiment:
        """The configuration the controls describe now."""
        config = self.presets[self.preset.value][1]
        for knob in self.knobs.values():
            config = knob.write(config, knob.widget.value)
        return config

    def reference_config(self) -> Experiment:
        key = self.reference_for(self.preset.value) if self.reference_for else self.preset.value
        config = self.presets[key][1]
        for knob in self.knobs.values():
            if knob.shared:
                config = knob.write(config, knob.widget.value)
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
                if not knob.shared:
                    knob.widget.value = knob.read(config)

    def _on_preset(self, change):
        self._set_knobs(self.presets[change["new"]][1])
        self.update()

    def _on_knob(self, change):
        if not self._holding:
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

    def update(self) -> None:
        """Run (or fetch from the cache) the current and reference runs, and redraw.

        ``timings`` then holds the seconds spent training (zero on a cache hit)
        and drawing, which the benchmarks read.
        """
        started = time.perf_counter()
        # Shown while a new configuration trains (a cached one replaces it at once).
        self.status.value = f"<i>training: {html.escape(self.config().describe())} …</i>"
        try:
            current = experiments.outcome(self.config())
            reference = experiments.outcome(self.reference_config())
        except (ValueError, TypeError) as error:
            self.status.value = f"<span style='color:#d62728'>{html.escape(str(error))}</span>"
            return
        trained = time.perf_counter()
        self.outcome, self.reference, self.history = current, reference, current.history
        preset = self.preset.value
        self._key = (current.config, reference.config, preset)
        self._drawn = None       # the figure still shows another run
        self._summary = self.summarize(current, reference)
        self._set_epochs(current.config.epochs)
        self._show(self.epoch.value)
        self.timings = {"train": trained - started, "draw": time.perf_counter() - trained}

    def show_epoch(self, epoch: int) -> None:
        """Show the current run after ``epoch`` epochs (no retraining); ``timings`` says how long."""
        started = time.perf_counter()
        self._show(epoch)
        self.timings = {"train": 0.0, "draw": time.perf_counter() - started}

    def _show(self, epoch: int) -> None:
        current, reference, preset = self.outcome, self.reference, self.preset.value
        key = (*self._key, epoch)
        png = self._figures.get(key)
        if png is None:
            if self._drawn == self._key:      # the same runs: move the figure to the epoch
                png = self.figure.show_epoch(current, reference, epoch)
            else:
                ref_key = self.reference_for(preset) if self.reference_for else preset
                is_broken = preset in self.broken_presets
                png = self.figure.draw(
                    current, reference, current_label="this run",
                    reference_label=f"reference: {self.presets[ref_key][0]}",
                    current_color=plots.BROKEN_COLOR if is_broken else plots.FIXED_COLOR,
                    reference_color=plots.FIXED_COLOR if is_broken else plots.BROKEN_COLOR,
                    epoch=epoch)
                self._drawn = self._key
            self._figures[key] = png
            if len(self._figures) > FIGURE_CACHE_SIZE:
                self._figures.popitem(last=False)     # forget the oldest figure
        else:
            self._figures.move_to_end(key)
        self.output.outputs = ()
        self.output.append_display_data(Image(data=png, format="png"))
        self.status.value = f"{self._summary} · {self._epoch_text(epoch)}"

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

    # --- display ----------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        # Fallbacks for a viewer without widgets (GitHub, `make html`, nbval): the
        # settings and the numbers as text, instead of the widget tree's long repr,
        # and the current figure as a plain image.
        bundle["text/plain"] = repr(self)
        if self.output.outputs:
            bundle["image/png"] = self.output.outputs[0]["data"]["image/png"]
        return bundle

    def status_text(self) -> str:
        """The status line without its HTML markup."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    def __repr__(self):
        return f"{self.title} lab: {self.config().describe()}\n{self.status_text()}"


def _other(broken="broken", fixed="fixed"):
    return lambda preset: fixed if preset == broken else broken


def _format_end(result: Outcome) -> str:
    history = result.history
    if history.diverged:
        return (f"<b style='color:#d62728'>diverged at step {history.diverged_at}</b> "
                f"(loss {history.diverged_loss:.3g})")
    return f"final loss {history.loss[-1]:.3g}, training accuracy {history.accuracy[-1]:.2f}"


# ---------------------------------------------------------------------------
# The labs
# ---------------------------------------------------------------------------

def vanishing(lecture: bool = False) -> Lab:
    """Deep sigmoid net vs deep ReLU net: the first layer's gradient vanishes, then recovers."""
    case = experiments.CASES["vanishing"]
    activation = widgets.Dropdown(options=["sigmoid", "tanh", "relu", "leaky_relu"],
                                  description="activation")
    init = widgets.Dropdown(options=["xavier", "he", "lecun"], description="init")

    def summarize(result, reference):
        h = result.history
        return (f"first/last layer gradient ratio <b>{h.first_last_ratio(0):.1e}</b> · "
                f"first layer moved {result.weight_change[0]:.1e}, last {result.weight_change[-1]:.1e}"
                f" · {_format_end(result)}")

    return Lab(case.title, {"broken": ("broken: sigmoid", case.broken),
                            "fixed": ("fixed: ReLU + He init", case.fixed)},
               {"activation": Knob(activation, *_field("activation")),
                "init": Knob(init, *_field("init")),
                "depth": _depth_knob(case.broken.depth)},
               summarize, _other(), third="weight_change", lecture=lecture)


def exploding(lecture: bool = False) -> Lab:
    """Large initial weights make the backpropagated error grow layer by layer, and training diverge."""
    case = experiments.CASES["exploding"]
    init = widgets.SelectionSlider(options=list(INIT_SCALES), value=case.broken.init,
                                   description="init std", continuous_update=False)
    batchnorm = widgets.Checkbox(description="batch normalization")
    clip = widgets.Dropdown(options=[("no clipping", None), ("clip at 1", 1.0), ("clip at 10", 10.0)],
                            description="clipping")

    def summarize(result, reference):
        bias = result.history.bias_grad_norms
        growth = bias[0, 0] / bias[0, -1] if bias.size and bias[0, -1] > 0 else float("nan")
        return (f"backpropagated error grows <b>{growth:.3g}x</b> from last layer to first"
                f" · {_format_end(result)}")

    return Lab(case.title, {"broken": ("broken: init std 0.8", case.broken),
                            "fixed": ("batch normalization", case.fixed),
                            "lower_lr": ("lower learning rate", case.configs["lower_lr"]),
                            "clipping": ("gradient clipping", case.configs["clipping"])},
               {"init": Knob(init, *_field("init"), shared=True),
                "lr": _lr_knob(case.broken.lr),
                "batchnorm": Knob(batchnorm, *_field("batchnorm")),
                "clip": Knob(clip, *_field("clip_norm"))},
               summarize, lambda preset: "fixed" if preset == "broken" else "broken",
               statistic="bias_grad_norms", third="accuracy", lecture=lecture)


def dead_relu(lecture: bool = False) -> Lab:
    """A learning rate so large that it knocks ReLU units below zero for good."""
    case = experiments.CASES["dead_relu"]
    activation = widgets.Dropdown(options=["relu", "leaky_relu"], description="activation")
    bias = widgets.SelectionSlider(options=[-2.0, -1.0, -0.5, 0.0, 0.5], value=0.0,
                                   description="initial bias", continuous_update=False,
                                   style={"description_width": "initial"})

    def summarize(result, reference):
        dead = experiments.hidden_dead_fraction(result)
        return (f"dead hidden units on the training set: <b>{dead:.0%}</b>"
                f" · {_format_end(result)}")

    return Lab(case.title, {"broken": ("broken: learning rate 5", case.broken),
                            "fixed": ("fixed: learning rate 0.5", case.fixed),
                            "leaky_relu": ("aside: LeakyReLU", case.configs["leaky_relu"])},
               {"lr": _lr_knob(case.broken.lr),
                "activation": Knob(activation, *_field("activation")),
                "bias": Knob(bias, *_field("bias"))},
               summarize, lambda preset: "fixed" if preset == "broken" else "broken",
               third="dead", lecture=lecture, gradient_at="end")


def dropout(lecture: bool = False) -> Lab:
    """Dropout rate from 0 to 1 on an over-sized net: overfitting, a narrower gap, nothing learned."""
    case = experiments.CASES["dropout"]
    rate = widgets.SelectionSlider(options=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                                   value=0.0, description="dropout rate", continuous_update=False,
                                   style={"description_width": "initial"})

    def summarize(result, reference):
        gap = experiments.generalization_gap(result)
        return (f"train − validation accuracy gap <b>{gap:+.2f}</b> (as the curves show it)"
                f" · in evaluation mode: training {result.train_accuracy:.2f}, validation "
                f"{result.val_accuracy:.2f}")

    return Lab(case.title, {"broken": ("rate 0.0: overfits", case.broken),
                            "fixed": ("rate 0.5", case.fixed),
                            "everything": ("rate 1.0", case.configs["everything"])},
               {"rate": Knob(rate, *_field("dropout"))},
               summarize, lambda preset: "fixed" if preset == "broken" else "broken",
               third="accuracy", lecture=lecture)


def batchnorm(lecture: bool = False) -> Lab:
    """With and without batch normalization; raw and standardized inputs."""
    case = experiments.CASES["batchnorm"]
    toggle = widgets.Checkbox(description="batch normalization")
    standardize = widgets.Checkbox(description="standardize inputs")
    target = 0.9

    def summarize(result, reference):
        epochs = experiments.epochs_to_accuracy(result.history, target)
        ref_epochs = experiments.epochs_to_accuracy(reference.history, target)
        show = lambda e: "never" if e is None else f"{e}"
        return (f"epochs to {target:.0%} training accuracy: <b>{show(epochs)}</b> "
                f"(reference {show(ref_epochs)}) · {_format_end(result)}")

    pairs = {"broken": "fixed", "fixed": "broken", "stuck": "unstuck", "unstuck": "stuck",
             "raw_inputs": "standardized", "standardized": "raw_inputs"}
    return Lab(case.title, {"broken": ("deep net", case.broken),
                            "fixed": ("deep net + BN", case.fixed),
                            "stuck": ("stuck sigmoid net", case.configs["stuck"]),
                            "unstuck": ("stuck net + BN", case.configs["unstuck"]),
                            "raw_inputs": ("raw inputs", case.configs["raw_inputs"]),
                            "standardized": ("standardized", case.configs["standardized"])},
               {"batchnorm": Knob(toggle, *_field("batchnorm")),
                "standardize": Knob(standardize, *_field("standardize"))},
               summarize, pairs.get, broken_presets=("broken", "stuck", "raw_inputs"),
               third="accuracy", lecture=lecture)


PLAYGROUND_DEFAULT = Experiment(hidden=(16, 16, 16), activation="relu", standardize=True,
                                lr=0.1, epochs=30, title="Playground")


def playground(lecture: bool = False) -> Lab:
    """Every knob at once. The faint reference is the default network."""
    dataset = widgets.Dropdown(options=["spirals", "moons", "circles", "xor"], description="data")
    activation = widgets.Dropdown(options=["relu", "leaky_relu", "sigmoid", "tanh"],
                                  description="activation")
    width = widgets.SelectionSlider(options=[4, 8, 16, 32, 64], value=16, description="width",
                                    continuous_update=False)
    init = widgets.Dropdown(options=["he", "xavier", "lecun", *INIT_SCALES], description="init")
    norm = widgets.Checkbox(description="batch normalization")
    rate = widgets.SelectionSlider(options=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0], value=0.0,
                                   description="dropout", continuous_update=False)
    epochs = widgets.SelectionSlider(options=[5, 10, 20, 30, 50, 100], value=30,
                                     description="epochs", continuous_update=False)

    def summarize(result, reference):
        h = result.history
        return (f"first/last gradient ratio {h.first_last_ratio(0):.1e} · dead hidden units "
                f"{experiments.hidden_dead_fraction(result):.0%} · {_format_end(result)}")

    knobs = {"dataset": Knob(dataset, *_field("dataset")),
             "activation": Knob(activation, *_field("activation")),
             "depth": _depth_knob(PLAYGROUND_DEFAULT.depth),
             "width": Knob(width, lambda c: c.hidden[0],
                           lambda c, w: c.replace(hidden=(w,) * c.depth)),
             "init": Knob(init, *_field("init")),
             "lr": _lr_knob(PLAYGROUND_DEFAULT.lr),
             "batchnorm": Knob(norm, *_field("batchnorm")),
             "dropout": Knob(rate, *_field("dropout")),
             "epochs": Knob(epochs, *_field("epochs")),
             "seed": _seed_knob()}
    # The depth knob is shared so the reference keeps its default width: write width after depth.
    return Lab("Playground", {"default": ("default network", PLAYGROUND_DEFAULT)}, knobs,
               summarize, None, third="accuracy", broken_presets=(), lecture=lecture,
               boundary=True)

"""Interactive labs: flip a toggle, see the gradients change.

Each function here returns a :class:`Lab` for one lesson's failure case, plus
``playground()`` with every knob. A lab shows as the last expression of a
notebook cell. It holds:

- ``controls``: a dict of the widgets that change the experiment, plus ``"epoch"``
  (the epoch shown) and ``"play"`` (an ``ipywidgets.Play`` linked to it), which
  replay the run without retraining;
- ``status``: a one-line HTML summary of the numbers that matter, and the epoch shown;
- ``output``: an ``ipywidgets.Output`` holding the current figure: SVG after a click,
  PNG frames of the same CSS size while the epoch is scrubbed or played;
- ``history`` (and ``outcome``): the run behind the current figure.

Every lab takes ``lecture=True`` for a projector (lecture mode): the controls, the
status line and the figure scale together with the window, with text never under 18
px, so that one lab fills a 1280 x 720 screen without scrolling, and the reference run
is drawn strong enough to see from the back of the room. ``make demo`` serves every
lesson's lab this way, without code (see the README).

The figure is put into ``output`` by replacing its outputs (never through
``with output:``), so a saved notebook keeps the figure in its widget state and
the lab works, and can be tested, without a kernel.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from . import experiments, metrics
from .experiments import LEARNING_RATES, Experiment, Outcome
from .lab import (CLICK_LOG, CUSTOM, FIGURE_CACHE_SIZE, FRAME_CACHE_SIZE,  # noqa: F401 (re-exported)
                  LECTURE_CSS, LECTURE_KNOBS_PER_ROW, PLAY_INTERVAL_MS, VIEW_CONTROLS, Knob, Lab,
                  widget_values)

DEPTHS = (1, 2, 3, 4, 5, 6, 7, 8, 10)
INIT_SCALES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0)


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


def _other(broken="broken", fixed="fixed"):
    return lambda preset: fixed if preset == broken else broken


def _format_end(result: Outcome) -> str:
    history = result.history
    if history.diverged:
        return (f"<b style='color:#d62728'>diverged at step {history.diverged_at}</b> "
                f"(loss {history.diverged_loss:.3g})")
    return (f"final loss {history.loss[-1]:.3g}, {metrics.NAMES['training_accuracy_during']} "
            f"{metrics.training_accuracy_during(history):.2f}")


def _bold(text: str) -> str:
    return f"<b>{html.escape(text)}</b>"


# ---------------------------------------------------------------------------
# The labs
# ---------------------------------------------------------------------------

def vanishing(lecture: bool = False) -> Lab:
    """Deep sigmoid net vs deep ReLU net: the first layer's gradient vanishes, then recovers.

    ``lecture=True``: lecture mode, sized for a projector (see :class:`Lab`).
    """
    case = experiments.CASES["vanishing"]
    activation = widgets.Dropdown(options=["sigmoid", "tanh", "relu", "leaky_relu"],
                                  description="activation")
    init = widgets.Dropdown(options=["xavier", "he", "lecun"], description="init")

    def summarize(result, reference):
        return (f"{_bold(metrics.gradient_ratio_text(result))} · first layer moved "
                f"{result.weight_change[0]:.1e}, last {result.weight_change[-1]:.1e} · "
                f"{_format_end(result)}")

    return Lab(case.title, {"broken": ("broken: sigmoid", case.broken),
                            "fixed": ("fixed: ReLU + He init", case.fixed)},
               {"activation": Knob(activation, *_field("activation")),
                "init": Knob(init, *_field("init")),
                "depth": _depth_knob(case.broken.depth)},
               summarize, _other(), third="weight_change", lecture=lecture)


def exploding(lecture: bool = False) -> Lab:
    """Large initial weights make the backpropagated error grow layer by layer, and training diverge.

    ``lecture=True``: lecture mode, sized for a projector (see :class:`Lab`).
    """
    case = experiments.CASES["exploding"]
    init = widgets.SelectionSlider(options=list(INIT_SCALES), value=case.broken.init,
                                   description="init std", continuous_update=False)
    batchnorm = widgets.Checkbox(description="batch normalization")
    # 0 stands for "no clipping" (clip_norm None): a Dropdown shows a None value as blank.
    clip = widgets.Dropdown(options=[("no clipping", 0.0), ("clip at 1", 1.0), ("clip at 10", 10.0)],
                            description="clipping")

    def summarize(result, reference):
        return f"{_bold(metrics.error_growth_text(result))} · {_format_end(result)}"

    return Lab(case.title, {"broken": ("broken: init std 0.8", case.broken),
                            "fixed": ("batch normalization", case.fixed),
                            "lower_lr": ("lower learning rate", case.configs["lower_lr"]),
                            "clipping": ("gradient clipping", case.configs["clipping"])},
               {"init": Knob(init, *_field("init"), shared=True),
                "lr": _lr_knob(case.broken.lr),
                "batchnorm": Knob(batchnorm, *_field("batchnorm")),
                "clip": Knob(clip, lambda config: config.clip_norm or 0.0,
                             lambda config, value: config.replace(clip_norm=value or None))},
               summarize, lambda preset: "fixed" if preset == "broken" else "broken",
               statistic="bias_grad_norms", third="accuracy", lecture=lecture)


def dead_relu(lecture: bool = False) -> Lab:
    """A learning rate so large that it knocks ReLU units below zero for good.

    ``lecture=True``: lecture mode, sized for a projector (see :class:`Lab`).
    """
    case = experiments.CASES["dead_relu"]
    activation = widgets.Dropdown(options=["relu", "leaky_relu"], description="activation")
    bias = widgets.SelectionSlider(options=[-2.0, -1.0, -0.5, 0.0, 0.5], value=0.0,
                                   description="initial bias", continuous_update=False,
                                   style={"description_width": "initial"})

    def summarize(result, reference):
        return f"{_bold(metrics.dead_fraction_text(result))} · {_format_end(result)}"

    return Lab(case.title, {"broken": ("broken: learning rate 5", case.broken),
                            "fixed": ("fixed: learning rate 0.5", case.fixed),
                            "leaky_relu": ("aside: LeakyReLU", case.configs["leaky_relu"])},
               {"lr": _lr_knob(case.broken.lr),
                "activation": Knob(activation, *_field("activation")),
                "bias": Knob(bias, *_field("bias"))},
               summarize, lambda preset: "fixed" if preset == "broken" else "broken",
               third="dead", lecture=lecture, gradient_at="end")


def dropout(lecture: bool = False) -> Lab:
    """Dropout rate from 0 to 1 on an over-sized net: overfitting, a narrower gap, nothing learned.

    ``lecture=True``: lecture mode, sized for a projector (see :class:`Lab`).
    """
    case = experiments.CASES["dropout"]
    rate = widgets.SelectionSlider(options=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                                   value=0.0, description="dropout rate", continuous_update=False,
                                   style={"description_width": "initial"})

    def summarize(result, reference):
        return (f"{_bold(metrics.gap_text(result))} · {metrics.NAMES['training_accuracy_after']} "
                f"(evaluation mode, no unit dropped) {metrics.training_accuracy_after(result):.2f}")

    return Lab(case.title, {"broken": ("rate 0.0: overfits", case.broken),
                            "fixed": ("rate 0.5", case.fixed),
                            "everything": ("rate 1.0", case.configs["everything"])},
               {"rate": Knob(rate, *_field("dropout"))},
               summarize, lambda preset: "fixed" if preset == "broken" else "broken",
               third="accuracy", lecture=lecture)


def batchnorm(lecture: bool = False) -> Lab:
    """With and without batch normalization; raw and standardized inputs.

    ``lecture=True``: lecture mode, sized for a projector (see :class:`Lab`).
    """
    case = experiments.CASES["batchnorm"]
    toggle = widgets.Checkbox(description="batch normalization")
    standardize = widgets.Checkbox(description="standardize inputs")
    target = 0.9

    def summarize(result, reference):
        return (f"epochs to {target:.0%} {metrics.NAMES['training_accuracy_during']}: "
                f"{_bold(metrics.epochs_to_accuracy_text(result, target))} (reference "
                f"{metrics.epochs_to_accuracy_text(reference, target)}) · {_format_end(result)}")

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
    """Every knob at once. The faint reference is the default network.

    ``lecture=True``: lecture mode, sized for a projector (see :class:`Lab`).
    """
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
        return (f"{html.escape(metrics.gradient_ratio_text(result))} · "
                f"{html.escape(metrics.dead_fraction_text(result))} · {_format_end(result)}")

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

"""The course under both widget generations, and where it is installed into a runtime.

- ``nnlab.widgets_compat.widget_bundle`` gives a lab its display bundle under ipywidgets 8
  (``_repr_mimebundle_``) and 7 (which has none: the bundle 7 would send is built), and every
  widget name and trait the labs use exists in the installed ipywidgets.
- ``pip install nnlab`` upgrades nothing in a Colab-like runtime: pip's default strategy
  ("only if needed") keeps every installed package that satisfies nnlab's requirements, so
  it is enough that nnlab requires only numpy, matplotlib and ipywidgets and that each pin of
  constraints-colab.txt satisfies its bound. (``make test-colab`` also does it for real:
  a freeze before and after running the lessons' install cell in that runtime must agree.)
- The background preparation (``nnlab.speculate``) stays off by itself where threads do
  not exist (Pyodide, JupyterLite) or cannot start, and the lab still answers.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:    # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

import ipywidgets
import pytest
from packaging.requirements import Requirement

from nnlab import speculate, widgets_compat

ROOT = Path(__file__).resolve().parents[1]
VIEW = widgets_compat.VIEW_MIMETYPE


def colab_pins() -> dict:
    pins = {}
    for line in (ROOT / "constraints-colab.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version or None
    return pins


def runtime_requirements() -> list[Requirement]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return [Requirement(r) for r in tomllib.load(file)["project"]["dependencies"]]


# --------------------------------------------------------------------------- installing


def test_the_runtime_needs_only_what_the_lessons_import():
    assert sorted(r.name for r in runtime_requirements()) == ["ipywidgets", "matplotlib", "numpy"]


def test_installing_nnlab_keeps_every_colab_pin():
    pins = colab_pins()
    assert {"ipywidgets", "notebook", "ipykernel", "numpy", "matplotlib"} <= set(pins)
    for requirement in runtime_requirements():
        pinned = pins.get(requirement.name)
        assert pinned, f"constraints-colab.txt should pin {requirement.name}, which nnlab requires"
        assert requirement.specifier.contains(pinned), (
            f"nnlab requires {requirement}, so pip would replace Colab's {requirement.name}=={pinned}")


def test_both_widget_generations_are_accepted():
    (widgets,) = [r for r in runtime_requirements() if r.name == "ipywidgets"]
    assert widgets.specifier.contains("7.7.1") and widgets.specifier.contains("8.1.9")
    assert not widgets.specifier.contains("9.0.0")     # a generation nobody has tested


# --------------------------------------------------------------------------- widgets


def test_every_widget_the_labs_use_exists_here():
    for name in widgets_compat.USED_WIDGETS:
        assert hasattr(ipywidgets, name), f"ipywidgets {ipywidgets.__version__} lacks {name}"
    assert "show_repeat" in ipywidgets.Play.class_trait_names()
    assert "tooltips" in ipywidgets.ToggleButtons.class_trait_names()
    assert "_view_count" in ipywidgets.Widget.class_trait_names()
    assert widgets_compat.MAJOR in (7, 8) and widgets_compat.MAJOR == int(ipywidgets.__version__[0])


def test_a_widget_bundle_refers_to_its_model():
    box = ipywidgets.VBox([ipywidgets.HTML("x")])
    bundle = widgets_compat.widget_bundle(box)
    assert bundle[VIEW]["model_id"] == box.model_id
    assert bundle[VIEW]["version_major"] == 2 and "text/plain" in bundle
    if hasattr(box, "_repr_mimebundle_"):        # ipywidgets 8: exactly its own bundle
        assert bundle == box._repr_mimebundle_()


class SevenStyleWidget:
    """A widget as ipywidgets 7 has it: a model and _ipython_display_, no _repr_mimebundle_."""

    _view_name = "VBoxView"
    _model_id = "0123abcd"

    def __repr__(self):
        return "VBox(children=(" + "HTML(value='x'), " * 20 + "))"

    def _ipython_display_(self, **kwargs):     # pragma: no cover - never called here
        raise AssertionError


def test_the_bundle_under_ipywidgets_7_is_the_one_7_displays():
    bundle = widgets_compat.widget_bundle(SevenStyleWidget())
    assert bundle[VIEW] == {"version_major": 2, "version_minor": 0, "model_id": "0123abcd"}
    assert len(bundle["text/plain"]) == 111 and bundle["text/plain"].endswith("…")


def test_a_lab_displays_as_a_widget_with_its_fallbacks():
    from nnlab import labs

    lab = labs.vanishing()
    bundle = lab._repr_mimebundle_()
    assert bundle[VIEW]["model_id"] == lab.widget.model_id
    assert bundle["text/plain"].startswith("Vanishing") or "lab:" in bundle["text/plain"]
    assert bundle["image/png"]           # the figure for a viewer without widgets


def _tree(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _tree(child)


def test_a_lab_holds_no_output_widget_under_ipywidgets_7_and_still_runs_its_a11y_script(
        monkeypatch):
    """widgetsnbextension 3.6 (the classic Notebook, with ipywidgets 7.7) cannot create an Output
    model: one Output anywhere in the lab and the whole lab fails to show
    ("_deserialize_state is not a function")."""
    from IPython.core.interactiveshell import InteractiveShell

    from nnlab import a11y, labs

    lab = labs.vanishing()
    outputs = [w for w in _tree(lab.widget) if isinstance(w, ipywidgets.Output)]
    shown = []
    monkeypatch.setattr(InteractiveShell.instance().display_pub, "publish",
                        lambda data, metadata=None, **kwargs: shown.append(data))
    from IPython.display import display

    display(lab)
    if widgets_compat.MAJOR < 8:
        assert outputs == [] and lab.names is None
        assert [VIEW in data for data in shown] == [True, False]
        # ... then the keeper that puts the view back if the classic Notebook's late widget
        # manager blanks it, for this lab's model (tests/browser/test_notebook_frontends.py)
        keeper = widgets_compat.KEEP_VIEW_SCRIPT % f'"{lab.widget.model_id}"'
        assert shown[1]["application/javascript"] == a11y.LAB_SCRIPT + "\n" + keeper
        assert shown[0][VIEW]["model_id"] == lab.widget.model_id
    else:                                   # a hidden Output carries the script, inside the lab
        assert lab.names in outputs and lab.names in lab.widget.children
        assert lab.names.outputs[0]["data"]["application/javascript"] == a11y.LAB_SCRIPT
        assert len(shown) == 1 and VIEW in shown[0]


def test_the_figure_widget_fits_the_generation():
    figure = widgets_compat.figure_output()
    expected = ipywidgets.Output if widgets_compat.MAJOR >= 8 else widgets_compat.HTMLFigure
    assert type(figure) is expected and figure.outputs == ()


def test_the_figure_under_ipywidgets_7_shows_each_image_as_the_output_widget_would():
    figure = widgets_compat.HTMLFigure()
    assert "widget-output" in figure._dom_classes        # lecture mode's CSS applies to it
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10px" height="5px"></svg>'
    figure.outputs = ({"output_type": "display_data", "metadata": {},
                       "data": {"image/svg+xml": svg, "text/plain": "<the lab figure>"}},)
    encoded = __import__("base64").b64encode(svg.encode()).decode()
    assert figure.value == f'<img src="data:image/svg+xml;base64,{encoded}" alt="&lt;the lab figure&gt;">'
    frame = {"output_type": "display_data", "metadata": {"image/png": {"width": 600, "height": 220}},
             "data": {"image/png": "iVBORw0KGgo=", "text/plain": "frame"}}
    figure.outputs = [frame]
    assert figure.outputs == (frame,)
    assert figure.value == '<img src="data:image/png;base64,iVBORw0KGgo=" width="600" height="220" alt="frame">'
    figure.outputs = ()
    assert figure.value == ""


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize("platform", ["emscripten", "wasi"])
def test_no_background_preparation_where_threads_do_not_exist(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    assert not speculate.threads_available()


def test_a_thread_that_cannot_start_turns_the_preparation_off(monkeypatch):
    def refuse(self):
        raise RuntimeError("can't start new thread")

    speculator = speculate.Speculator()
    monkeypatch.setattr(threading.Thread, "start", refuse)
    speculator.ahead([("key", lambda: None)])       # no error: the lab goes on without it
    assert not speculator.available and speculator.thread is None and not speculator.queue


def test_the_lab_answers_where_no_thread_can_start(monkeypatch):
    """A lab shown in a browser (a view counted) asks for background work; no thread starts."""
    from nnlab import labs

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(speculate, "ENABLED", True)
    monkeypatch.setattr(speculate, "SPECULATOR", speculate.Speculator())
    monkeypatch.setattr(threading.Thread, "start", refuse)
    lab = labs.vanishing()
    lab.output._view_count = 1                      # the browser shows it
    before, shown = lab.status_text(), lab.output.outputs
    lab.preset.value = next(key for key in lab.presets if key != lab.base)
    assert lab.status_text() != before and lab.output.outputs != shown
    assert not speculate.SPECULATOR.available and speculate.SPECULATOR.thread is None

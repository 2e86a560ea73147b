"""ipywidgets 7 and 8 behind one small interface, so every lab runs under both generations.

Where the course is opened decides the widget generation, not nnlab: Colab and the classic
Notebook 6.5 (widgetsnbextension 3) need ipywidgets 7.7; JupyterLab 4, Notebook 7, VS Code
and Voila take ipywidgets 8. nnlab installs with ``ipywidgets>=7.7,<9`` and keeps whichever
the runtime has. What differs, and what this module does about it:

- ipywidgets 8 widgets have ``_repr_mimebundle_``; ipywidgets 7 widgets only
  ``_ipython_display_``, so an object that shows a widget inside its own bundle (``Lab``)
  asks :func:`widget_bundle`, which builds the same view reference 7 would have sent.
- The figure: under ipywidgets 8 an ``Output`` widget whose ``outputs`` the lab replaces.
  Under ipywidgets 7 the classic Notebook's current widget extension (widgetsnbextension
  3.6.10, what ``pip install ipywidgets==7.7.1`` brings) cannot create an Output model
  ("_deserialize_state is not a function"), so the lab would show no figure at all; there
  :func:`figure_output` gives an ``HTML`` widget with the same ``outputs`` attribute that
  shows each output's SVG or PNG as an ``<img>`` (works in every 7.x front end, Colab's too).
- The lab's accessibility script (``a11y.LAB_SCRIPT``: names for the play button and the
  sliders' handles, the status line as a live region): under ipywidgets 8 a hidden
  ``Output`` widget inside the lab runs it (:func:`script_carrier`); under 7 there is no
  Output model to carry it, so the lab displays it as a JavaScript output of its own cell,
  right after the widget (:func:`display_with_script`). The script works on the whole page,
  so it finds the lab either way. Beside it there, :data:`KEEP_VIEW_SCRIPT` puts the lab
  back when the classic Notebook's widget manager, connecting late, re-renders the cell
  and blanks its view (Run All at once after opening a notebook).
- Everything else a lab uses (ToggleButtons with tooltips, SelectionSlider, Dropdown,
  Checkbox, IntSlider, Play with ``show_repeat``, ``link``, Output's ``outputs``, HTML,
  ``Layout``, ``add_class``, the ``_view_count`` that says a browser shows a view) exists
  under the same names in both: tests/test_compat.py checks it for the installed version.

Nothing here changes a widget's state, so saved notebooks are the same under both.
"""

from __future__ import annotations

import base64
import html
import json

import ipywidgets as widgets

# The installed ipywidgets' major version: 7 or 8.
MAJOR = int(widgets.__version__.split(".")[0])
# The widget-view reference a front end reads (the same in ipywidgets 7 and 8).
VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
# The names every lab relies on, checked by tests/test_compat.py in whatever is installed.
USED_WIDGETS = ("VBox", "HBox", "HTML", "ToggleButtons", "IntSlider", "SelectionSlider",
                "Dropdown", "Checkbox", "Play", "Output", "Layout", "IntProgress", "Label")


def widget_bundle(widget: widgets.Widget, **kwargs) -> dict:
    """The display bundle of ``widget`` (``{mimetype: data}``), under ipywidgets 7 or 8.

    ipywidgets 8 gives it (``_repr_mimebundle_``). ipywidgets 7 only displays a widget
    directly (``_ipython_display_``); its bundle is built here exactly as 7 sends it: the
    short plain-text repr and the widget-view reference to the widget's model.
    """
    if hasattr(widget, "_repr_mimebundle_"):
        return widget._repr_mimebundle_(**kwargs)
    plaintext = repr(widget)
    bundle = {"text/plain": plaintext if len(plaintext) <= 110 else plaintext[:110] + "…"}
    if widget._view_name is not None:
        bundle[VIEW_MIMETYPE] = {"version_major": 2, "version_minor": 0,
                                 "model_id": widget._model_id}
    return bundle


class HTMLFigure(widgets.HTML):
    """Under ipywidgets 7: a figure widget that reads like ``Output`` to the lab.

    Assign ``outputs`` a tuple of display_data outputs (``{"data": {mimetype: ...},
    "metadata": {...}}``), as for ``Output``; each is shown as one ``<img>``: SVG text as a
    data URL, a base64 PNG at the CSS size its metadata gives, the plain text as ``alt``.
    It carries Output's CSS class (``widget-output``), so lecture mode styles it alike.
    """

    def __init__(self, **kwargs):
        super().__init__(value="", **kwargs)
        self.add_class("widget-output")
        self._outputs: tuple = ()

    @property
    def outputs(self) -> tuple:
        return self._outputs

    @outputs.setter
    def outputs(self, outputs) -> None:
        self._outputs = tuple(outputs)
        self.value = "".join(_img(output) for output in self._outputs)


def _img(output: dict) -> str:
    """One display_data output as an ``<img>`` tag ("" if it holds no image)."""
    data, metadata = output.get("data", {}), output.get("metadata", {})
    alt = html.escape(str(data.get("text/plain", "")), quote=True)
    if "image/svg+xml" in data:
        encoded = base64.b64encode(data["image/svg+xml"].encode()).decode()
        return f'<img src="data:image/svg+xml;base64,{encoded}" alt="{alt}">'
    if "image/png" in data:
        size = metadata.get("image/png", {})
        dimensions = "".join(f' {key}="{size[key]}"' for key in ("width", "height") if key in size)
        return f'<img src="data:image/png;base64,{data["image/png"]}"{dimensions} alt="{alt}">'
    return ""


def figure_output():
    """The widget a lab's figure goes into: ``Output`` (ipywidgets 8) or :class:`HTMLFigure` (7)."""
    return widgets.Output() if MAJOR >= 8 else HTMLFigure()


def script_carrier(script: str):
    """A hidden widget whose output runs ``script`` (JavaScript) where the lab is shown:
    an ``Output`` under ipywidgets 8; ``None`` under 7 (see :func:`display_with_script`)."""
    if MAJOR < 8:
        return None
    carrier = widgets.Output(layout=widgets.Layout(display="none"))
    carrier.outputs = ({"output_type": "display_data", "metadata": {},
                        "data": {"application/javascript": script, "text/plain": ""}},)
    return carrier


# The classic Notebook's widget extension (widgetsnbextension 3.x, ipywidgets 7) connects its
# widget manager to a new kernel by asking the kernel for its widgets; when that answer comes,
# it re-renders every cell that shows a widget. If the kernel was busy (Run All at once after
# the notebook opened: the question waits behind every cell), the lab's cell has already shown
# its live view, and the re-render first removes that view, which blanks the view's model id
# in the cell's output: the lab vanishes, for good. This script is the output after the
# lab's, so the re-render runs it too: if the model id was blanked while the widget still
# lives in the manager, it puts the id back and renders the cell's outputs once more. It does
# nothing anywhere else (no ``Jupyter.notebook``: Colab, JupyterLab, VS Code, Voila; a lab
# closed on purpose has no model left).
KEEP_VIEW_SCRIPT = r"""(function (area, modelId) {
  try {
    var notebook = window.Jupyter && Jupyter.notebook;
    var manager = notebook && notebook.kernel && notebook.kernel.widget_manager;
    if (!manager || !area || !area.outputs) { return; }
    var views = area.outputs.filter(function (o) { return o.data && o.data["%s"]; });
    if (!views.length || views[0].data["%s"].model_id !== "") { return; }
    var model = manager.get_model(modelId);
    var cell = notebook.get_cells().filter(function (c) { return c.output_area === area; })[0];
    if (!model || !cell) { return; }
    model.then(function () {
      views[0].data["%s"].model_id = modelId;
      notebook.render_cell_output(cell);
    });
  } catch (error) { console.warn("nnlab: could not put the lab back", error); }
})(this, %%s);""" % (VIEW_MIMETYPE, VIEW_MIMETYPE, VIEW_MIMETYPE)


def display_with_script(bundle: dict, script: str) -> None:
    """Under ipywidgets 7: display ``bundle`` (a lab's widget view and fallbacks), then
    ``script`` as a JavaScript output of the same cell (the classic Notebook and Colab run
    it), with :data:`KEEP_VIEW_SCRIPT` for the view's model."""
    from IPython.display import Javascript, display

    display(bundle, raw=True)
    model_id = bundle.get(VIEW_MIMETYPE, {}).get("model_id")
    display(Javascript(script + ("\n" + KEEP_VIEW_SCRIPT % json.dumps(model_id) if model_id else "")))

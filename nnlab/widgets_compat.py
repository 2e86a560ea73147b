"""ipywidgets 7 and 8 behind one small interface, so every lab runs under both generations.

Where the course is opened decides the widget generation, not nnlab: Colab and the classic
Notebook 6.5 (widgetsnbextension 3) need ipywidgets 7.7; JupyterLab 4, Notebook 7, VS Code
and Voila take ipywidgets 8. nnlab installs with ``ipywidgets>=7.7,<9`` and keeps whichever
the runtime has. What differs, and what this module does about it:

- ipywidgets 8 widgets have ``_repr_mimebundle_``; ipywidgets 7 widgets only
  ``_ipython_display_``, so an object that shows a widget inside its own bundle (``Lab``)
  asks :func:`widget_bundle`, which builds the same view reference 7 would have sent.
- Everything else a lab uses (ToggleButtons with tooltips, SelectionSlider, Dropdown,
  Checkbox, IntSlider, Play with ``show_repeat``, ``link``, Output's ``outputs``, HTML,
  ``Layout``, ``add_class``, the ``_view_count`` that says a browser shows a view) exists
  under the same names in both: tests/test_compat.py checks it for the installed version.

Nothing here changes a widget's state, so saved notebooks are the same under both.
"""

from __future__ import annotations

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

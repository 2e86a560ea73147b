"""`make html`: lessons as static pages whose labs show their saved figure and numbers."""

import re

import nbformat
import pytest

from nnlab import export


def test_every_lab_in_the_saved_lessons_becomes_a_static_figure(tmp_path):
    lesson = "notebooks/01_vanishing_gradients.ipynb"
    notebook = nbformat.read(lesson, as_version=4)
    assert export.static_labs(notebook) == 1
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert not any(export.WIDGET_VIEW in o.get("data", {}) and "image/png" in o.get("data", {})
                   for o in outputs)
    static = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("data:image/png;base64," in page and "Vanishing gradients lab" in page
               for page in static)


def test_export_writes_one_page_per_lesson(tmp_path):
    written = export.export_html(["notebooks/04_dropout.ipynb"], tmp_path)
    assert [p.name for p in written] == ["04_dropout.html"]
    page = written[0].read_text()
    assert "data:image/png;base64," in page and "Dropout lab" in page


def test_a_missing_notebook_is_named_in_the_error(capsys):
    assert export.main(["notebooks/99_nothing.ipynb"]) == 2
    assert "99_nothing.ipynb" in capsys.readouterr().err


def test_export_puts_mathjax_in_the_folder_and_every_preset_in_the_page(tmp_path):
    (page_path,) = export.export_html(["notebooks/01_vanishing_gradients.ipynb"], tmp_path)
    page = page_path.read_text()
    assert (tmp_path / "mathjax" / "MathJax.js").is_file()
    assert '<script src="mathjax/MathJax.js?config=' in page
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in page     # nothing fetched for maths
    assert 'onerror="nnlabMathJaxMissing()"' in page and "MathJax is" in page
    assert re.findall(r"data-preset=[\"'](\w+)", page) == ["broken", "fixed"]
    assert len(re.findall(r"<input[^>]*type=[\"']radio", page)) == 2
    assert "application/vnd.jupyter.widget-state+json" in page    # the widget state stays


def test_the_saved_preset_is_the_one_selected():
    presets = [{"key": "broken", "label": "broken", "text": "lab: a", "png": "AAA"},
               {"key": "fixed", "label": "fixed", "text": "lab: b", "png": "BBB"}]
    page = export.lab_html(0, "lab: b", "BBB", presets)
    assert "value='fixed' checked" in page and "value='broken' checked" not in page
    assert "data-preset='broken' hidden" in page and "data-preset='fixed'>" in page
    # a saved state that no preset reproduces is kept as its own choice, selected
    page = export.lab_html(0, "lab: moved a slider", "CCC", presets)
    assert "value='saved' checked" in page and "as saved in the notebook" in page
    assert page.count("type='radio'") == 3


def test_a_page_without_nbconverts_mathjax_script_is_an_error():
    with pytest.raises(RuntimeError, match="MathJax"):
        export.offline_page("<html><body>no maths here</body></html>")

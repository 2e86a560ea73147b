"""`make html`: lessons as static pages whose labs show their saved figure and numbers."""

import nbformat

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

"""`make demo` (nnlab.demo): the pages it writes, and the options it reads before Voila."""

import json

import pytest

from nnlab import demo


def test_every_lesson_lab_gets_a_lecture_page_and_a_link(tmp_path):
    pages = demo.write_pages(tmp_path / "demo")
    index, *labs = pages
    assert index.name == "index.ipynb"
    found = demo.lesson_labs()
    assert [p.stem for p in labs] == [stem for stem, _, _ in found]
    assert {name for _, _, name in found} == {"playground", "vanishing", "exploding", "dead_relu",
                                              "dropout", "batchnorm"}
    for page, (stem, title, name) in zip(labs, found):
        (cell,) = json.loads(page.read_text())["cells"]
        assert cell["source"].splitlines()[0] == "import nnlab"       # BLAS threads first
        assert cell["source"].endswith(f"demo.preset_from_url(labs.{name}(lecture=True))")
        assert f"]({page.name})" in json.loads(index.read_text())["cells"][0]["source"]


def test_a_lesson_calling_an_unknown_lab_is_named(tmp_path):
    lesson = {"cells": [{"cell_type": "code", "source": "labs.nothing()", "metadata": {}}]}
    (tmp_path / "07_new.ipynb").write_text(json.dumps(lesson))
    with pytest.raises(ValueError, match=r"07_new.ipynb calls labs.nothing\(\)"):
        demo.write_pages(tmp_path / "demo", lessons=tmp_path)


def test_options_are_read_and_the_port_is_passed_once():
    args = ["--no-browser", "--port", "9000", "--Voila.ip=0.0.0.0"]
    assert demo._option(args, "port", "8866") == "9000"
    assert demo._option(args, "ip", "localhost") == "0.0.0.0"
    assert demo._option([], "port", "8866") == "8866"
    assert demo._without(args + ["--port=9001"], "port") == ["--no-browser", "--Voila.ip=0.0.0.0"]


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_port_is_refused_before_voila_starts(port, capsys, tmp_path):
    assert demo.main(["--build-dir", str(tmp_path / "demo"), f"--port={port}"]) == 2
    assert "--port must be a number from 1 to 65535" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()

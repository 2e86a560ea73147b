"""Export the lessons as static HTML that needs neither a kernel nor a network.

``python -m nnlab.export notebooks/*.ipynb --output-dir html`` (``make html``)
writes one HTML page per lesson into a folder that works from ``file://`` with the
network cut:

- MathJax is copied into ``<output-dir>/mathjax/`` from the ``jupyter-server-mathjax``
  package (the ``export`` extra) and typesets every formula from the folder.
  A page opened without that folder says so at its top.
- Each lab (a cell ``labs.NAME()``) shows every one of its presets' figures and
  numbers, computed at export time, switched by radio buttons with a few lines of
  plain JavaScript (no kernel). The notebook's widget state stays embedded in the page,
  for viewers that load the widget manager.
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import shutil
import sys
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LAB_CALL = re.compile(r"^\s*labs\.(\w+)\(\)\s*$", re.MULTILINE)
MATHJAX_DIR = "mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"     # the one combined configuration shipped
# MathJax 2 from the folder, with the one web font the package ships (STIX-Web).
MATHJAX_SETUP = """<script>window.MathJax = {"HTML-CSS": {availableFonts: ["STIX-Web"],
  preferredFont: "STIX-Web", webFont: "STIX-Web", imageFont: null}};
function nnlabMathJaxMissing() {
  var notice = document.getElementById("nnlab-mathjax-missing");
  if (notice) { notice.hidden = false; } else { window.nnlabNoMathJax = true; }
}</script>"""
MISSING_NOTICE = """<div id="nnlab-mathjax-missing" hidden style="background:#fff3cd;border:2px solid #d62728;
padding:12px;margin:8px;font-size:18px">The formulas on this page cannot be typeset: MathJax is
missing. This page loads it from the folder <code>mathjax/</code> next to it
(<code>mathjax/MathJax.js</code>), which was not found. Open the page inside the folder that
<code>make html</code> wrote (copy the whole folder, not one page); until then formulas show
as TeX source.</div><script>if (window.nnlabNoMathJax) {
document.getElementById("nnlab-mathjax-missing").hidden = false; }</script>"""
# Over nbconvert's page: text at 4.5:1 contrast or more on its background (WCAG 1.4.3): the
# prompts (#b0b0b0 on white, 2.2:1) and the syntax colours that fell short on the code
# cells' #f5f5f5 (comments 4.2:1, numbers 4.3:1, `in` 4.4:1); links underlined, so that
# they differ from the text around them without colour (1.4.1).
EXPORT_CSS = """<style>
.jp-InputPrompt, .jp-OutputPrompt { color: #595959 !important; opacity: 1 !important; }
.highlight .c, .highlight .c1, .highlight .ch, .highlight .cm, .highlight .cpf,
.highlight .cs, .highlight .cp { color: #356666 !important; }
.highlight .m, .highlight .mb, .highlight .mf, .highlight .mh, .highlight .mi,
.highlight .mo, .highlight .il, .highlight .k, .highlight .kc, .highlight .kd,
.highlight .kn, .highlight .kp, .highlight .kr, .highlight .kt, .highlight .nb,
.highlight .bp, .highlight .gi { color: #006400 !important; }
.highlight .ow, .highlight .nd { color: #7a16b8 !important; }
.highlight .s, .highlight .s1, .highlight .s2, .highlight .sa, .highlight .sb,
.highlight .sc, .highlight .sd, .highlight .se, .highlight .sh, .highlight .si,
.highlight .sr, .highlight .ss, .highlight .dl { color: #a31515 !important; }
.highlight .o, .highlight .w, .highlight .go, .highlight .ni { color: #555555 !important; }
.highlight .ne, .highlight .gr, .highlight .err { color: #a61c1c !important; }
.highlight .nl, .highlight .na { color: #5c5c00 !important; }
a { text-decoration: underline; }
.jp-RenderedHTMLCommon a, .jp-RenderedMarkdown a { color: #0b57a4; }
</style>"""
SWITCH_SCRIPT = """<script>document.querySelectorAll(".nnlab-export-lab").forEach(function (lab) {
  lab.addEventListener("change", function (event) {
    lab.querySelectorAll(".nnlab-export-preset").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-preset") !== event.target.value; }); }); });
</script>"""


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _png_base64(value) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return _text(value).strip()


def lab_presets(name: str) -> list[dict]:
    """Each preset of ``labs.NAME()`` as {key, label, text, png (base64)}, in the lab's order."""
    from . import labs

    lab = getattr(labs, name)()
    shown = []
    for key, (label, _) in lab.presets.items():
        if lab.preset.value != key:
            lab.preset.value = key          # the lab redraws, as after a click
        shown.append({"key": key, "label": label, "text": repr(lab),
                      "png": _png_base64(lab.png()),      # the static copy of the figure shown
                      "alt": lab.figure_text()})
    return shown


def _panel(key: str, text: str, png: str, hidden: bool, alt: str = "") -> str:
    alt = alt or f"the lab figure: {key}"
    return (f"<div class='nnlab-export-preset' data-preset='{html.escape(key)}'"
            f"{' hidden' if hidden else ''}><pre>{html.escape(text)}</pre>"
            f"<img alt='{html.escape(alt)}' style='max-width:100%' "
            f"src='data:image/png;base64,{png}'/></div>")


def lab_html(index: int, saved_text: str, saved_png: str, presets: list[dict]) -> str:
    """A lab as radio buttons, one per preset, over each preset's numbers and figure; the
    preset the notebook saved is selected (or the saved figure is added as its own choice)."""
    choices = list(presets)
    selected = next((p["key"] for p in choices if p["text"] == saved_text), None)
    if selected is None:
        choices.insert(0, {"key": "saved", "label": "as saved in the notebook",
                           "text": saved_text, "png": saved_png,
                           "alt": f"The lab figure as saved in the notebook. {saved_text}"})
        selected = "saved"
    group = f"nnlab-lab-{index}"
    buttons = "".join(
        f"<label style='margin-right:1em'><input type='radio' name='{group}' "
        f"value='{html.escape(p['key'])}'{' checked' if p['key'] == selected else ''}> "
        f"{html.escape(p['label'])}</label>" for p in choices)
    panels = "".join(_panel(p["key"], p["text"], p["png"], p["key"] != selected, p.get("alt", ""))
                     for p in choices)
    return (f"<div class='nnlab-export-lab' id='{group}'><div role='radiogroup' "
            f"aria-label='preset'>{buttons}</div>{panels}</div>")


def static_labs(notebook, presets: bool = True) -> int:
    """Replace each lab output (a widget view with a saved figure) by plain HTML: with
    ``presets``, every preset's figure and numbers when the cell is ``labs.NAME()``;
    otherwise (or for any other cell) the saved figure and numbers. Returns how many
    outputs were replaced."""
    replaced = 0
    for cell in notebook.cells:
        calls = LAB_CALL.findall(_text(cell.get("source", ""))) if presets else []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data:
                text = _text(data.get("text/plain", ""))
                picture = _png_base64(data["image/png"])
                if len(calls) == 1:
                    page = lab_html(replaced, text, picture, lab_presets(calls[0]))
                else:
                    alt = html.escape(f"The lab figure. {text}")
                    page = (f"<pre>{html.escape(text)}</pre><img alt='{alt}' "
                            f"src='data:image/png;base64,{picture}'/>")
                output["data"] = {"text/html": page, "text/plain": text}
                replaced += 1
    return replaced


def figure_alt(output) -> str | None:
    """The text alternative an output's metadata gives its PNG (``{"image/png": {"alt": ...}}``,
    as ``plots`` figures carry it), or None."""
    metadata = output.get("metadata", {})
    alt = metadata.get("image/png", {}).get("alt") if isinstance(
        metadata.get("image/png"), dict) else None
    return alt or metadata.get("alt")


def figures_with_alt(notebook) -> int:
    """Give every PNG output whose metadata holds an ``alt`` that text alternative on the page
    (nbconvert's template drops it): the output becomes an ``<img alt=...>``. Returns how many."""
    changed = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data, alt = output.get("data", {}), figure_alt(output)
            if "image/png" in data and "text/html" not in data and alt:
                picture = _png_base64(data["image/png"])
                data["text/html"] = (f"<img alt='{html.escape(alt)}' style='max-width:100%' "
                                     f"src='data:image/png;base64,{picture}'/>")
                changed += 1
    return changed


def copy_mathjax(output_dir) -> Path:
    """Copy MathJax 2 (from the jupyter-server-mathjax package) to ``<output_dir>/mathjax``."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise RuntimeError("make html needs the jupyter-server-mathjax package (pip install "
                           "-e '.[export]'), to put MathJax beside the pages") from error
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = Path(output_dir) / MATHJAX_DIR
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def offline_page(body: str) -> str:
    """Point the page's MathJax at the folder, with a notice for when it is missing, and add
    the preset switch."""
    script = f'<script src="{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}"> </script>'
    if script not in body:
        raise RuntimeError("nbconvert's page no longer loads MathJax as expected: "
                           f"{script!r} not found")
    body = body.replace(script, MATHJAX_SETUP + script.replace(
        "> </script>", ' onerror="nnlabMathJaxMissing()"> </script>'), 1)
    body = body.replace("</head>", EXPORT_CSS + "</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + MISSING_NOTICE, body, count=1)
    return body.replace("</body>", SWITCH_SCRIPT + "</body>", 1)


def export_html(paths, output_dir, presets: bool = True) -> list[Path]:
    """Write ``<output_dir>/<lesson>.html`` for every notebook in ``paths``, and MathJax
    into ``<output_dir>/mathjax``."""
    import nbformat
    from nbconvert import HTMLExporter

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    copy_mathjax(output_dir)
    exporter = HTMLExporter(mathjax_url=f"{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}")
    written = []
    for path in map(Path, paths):
        notebook = nbformat.read(path, as_version=4)
        labs = static_labs(notebook, presets=presets)
        figures_with_alt(notebook)
        body, _ = exporter.from_notebook_node(notebook)
        target = output_dir / (path.stem + ".html")
        target.write_text(offline_page(body), encoding="utf-8")
        print(f"{path} -> {target} ({labs} lab{'s' * (labs != 1)}, every preset)")
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", help="the .ipynb files to export")
    parser.add_argument("--output-dir", default="html", help="where to write (default: html)")
    arguments = parser.parse_args(argv)
    missing = [p for p in arguments.notebooks if not Path(p).is_file()]
    if missing:
        print(f"nnlab.export: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    export_html(arguments.notebooks, arguments.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

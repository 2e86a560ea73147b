"""Export the lessons as static HTML that needs neither a kernel nor a network.

``python -m nnlab.export notebooks/*.ipynb --output-dir html`` (``make html``)
writes one HTML page per lesson. Each lab shows as what it saved: its settings
and numbers, and its figure, as an ordinary image, so a projector with no
Python and no internet still shows every figure and number of the lesson. The
notebook's widget state stays embedded in the page, for viewers that load the
widget manager.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_labs(notebook) -> int:
    """Replace each lab output (a widget view with a saved figure) by that figure and its
    numbers as plain HTML. Returns how many outputs were replaced."""
    replaced = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data:
                text = data.get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else text
                picture = "".join(data["image/png"]) if isinstance(data["image/png"], list) \
                    else data["image/png"]
                output["data"] = {
                    "text/html": (f"<pre>{html.escape(text)}</pre>"
                                  f"<img alt='the lab figure' src='data:image/png;base64,"
                                  f"{picture.strip()}'/>"),
                    "text/plain": text}
                replaced += 1
    return replaced


def export_html(paths, output_dir) -> list[Path]:
    """Write ``<output_dir>/<lesson>.html`` for every notebook in ``paths``."""
    import nbformat
    from nbconvert import HTMLExporter

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    written = []
    for path in map(Path, paths):
        notebook = nbformat.read(path, as_version=4)
        labs = static_labs(notebook)
        body, _ = exporter.from_notebook_node(notebook)
        target = output_dir / (path.stem + ".html")
        target.write_text(body, encoding="utf-8")
        print(f"{path} -> {target} ({labs} lab{'s' * (labs != 1)} as static figures)")
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

"""`make demo`: every lesson's lab as a page without code, for a lecture, served by Voila.

``python -m nnlab.demo [--build-dir DIR] [Voila options]`` writes one small notebook per
lab found in the lessons (``notebooks/*.ipynb``: a code cell calling ``labs.NAME()``), each
showing that lab in lecture mode (``labs.NAME(lecture=True)``), and a landing page,
``index.ipynb``, that links to them. Then it starts Voila on that folder: Voila runs each
page in its own kernel and shows only the outputs (no code), so a click in a lab redraws
its figure as in JupyterLab.

Every option it does not know goes to Voila, e.g. ``--no-browser --port=8867``
(``make demo DEMO_ARGS="..."``). A port already in use is reported, with exit code 2,
instead of Voila's silent move to another port.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import shutil
import socket
import sys
from pathlib import Path

DEFAULT_PORT = 8866
# For a room, unless DEMO_ARGS sets them otherwise: a page closed or idle for 5 minutes frees its
# kernel (checked every minute), and at most 40 pages have a kernel at once (nnlab.demo_kernels).
ROOM_DEFAULTS = {
    "MappingKernelManager.cull_idle_timeout": "300",
    "MappingKernelManager.cull_interval": "60",
    "VoilaConfiguration.multi_kernel_manager_class": "nnlab.demo_kernels.CappedKernelManager",
    "CappedKernelManager.max_kernels": "40",
}
LESSONS = Path(__file__).resolve().parents[1] / "notebooks"
LAB_CALL = re.compile(r"^\s*labs\.(\w+)\(\)\s*$", re.MULTILINE)


def _notebook(cells) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
                                                         "display_name": "Python 3",
                                                         "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _cell(kind: str, source: str, index: int) -> dict:
    cell = {"cell_type": kind, "id": f"nnlab-demo-{index}", "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def lesson_labs(lessons=LESSONS) -> list[tuple[str, str, str]]:
    """(lesson file stem, lesson title, lab function name) for every lab the lessons show."""
    found = []
    for path in sorted(Path(lessons).glob("[0-9][0-9]_*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        title = path.stem
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            heading = re.search(r"^#\s+(.+)$", source, re.MULTILINE)
            if cell["cell_type"] == "markdown" and heading and title == path.stem:
                title = heading.group(1).strip()
            if cell["cell_type"] == "code":
                found += [(path.stem, title, name) for name in LAB_CALL.findall(source)]
    return found


def write_pages(build_dir, lessons=LESSONS) -> list[Path]:
    """Write ``index.ipynb`` and one ``<lesson>.ipynb`` per lab into ``build_dir``."""
    from . import labs

    build_dir = Path(build_dir)
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    found = lesson_labs(lessons)
    if not found:
        raise ValueError(f"lessons: no lab (a code cell `labs.NAME()`) in {lessons}/*.ipynb")
    written, links = [], []
    for stem, title, name in found:
        if not callable(getattr(labs, name, None)):
            raise ValueError(f"{stem}.ipynb calls labs.{name}(), which nnlab.labs does not have")
        code = (f"import nnlab\nfrom nnlab import demo, labs\n\n"
                f"demo.preset_from_url(labs.{name}(lecture=True))")
        path = build_dir / f"{stem}.ipynb"
        path.write_text(json.dumps(_notebook([_cell("code", code, 0)]), indent=1))
        written.append(path)
        links.append(f"- [{title}]({path.name}) (`labs.{name}()`, from `{stem}.ipynb`)")
    # Links underlined: told apart from the text around them without colour (WCAG 1.4.1).
    landing = ("<style>.jp-RenderedHTMLCommon a { text-decoration: underline !important; }</style>\n\n"
               "# nnlab: the labs, for a lecture\n\n"
               "Each link opens one lesson's lab in lecture mode, with no code: pick a preset "
               "or move a control and the figure is redrawn. Use the browser's Back button to "
               "come back here.\n\n" + "\n".join(links))
    index = build_dir / "index.ipynb"
    index.write_text(json.dumps(_notebook([_cell("markdown", landing, 0)]), indent=1))
    return [index, *written]


def preset_from_url(lab, query: str | None = None):
    """Show the preset the page's address names (``...ipynb?preset=fixed``), and return ``lab``.

    Voila passes the address's query string to the page's kernel (``QUERY_STRING``), so a lecturer
    can link a lab in a given state. An unknown preset is named, with the valid ones, above the lab.
    """
    from urllib.parse import parse_qs

    query = os.environ.get("QUERY_STRING", "") if query is None else query
    wanted = parse_qs(query).get("preset", [None])[-1]
    if wanted is not None:
        if wanted in lab.presets:
            lab.preset.value = wanted
        else:
            print(f"This address asks for preset {wanted!r}, which this lab does not have; it "
                  f"has {', '.join(lab.presets)} (for example ?preset={next(iter(lab.presets))}).")
    return lab


def room_options(voila_args) -> list[str]:
    """``ROOM_DEFAULTS`` as Voila options, less those ``voila_args`` sets itself."""
    return [f"--{name}={value}" for name, value in ROOM_DEFAULTS.items()
            if _option(voila_args, name, None) is None]


def _option(args, name: str, default: str) -> str:
    """The value of ``--name=V`` / ``--name V`` / ``--Voila.name=V`` in ``args`` (last wins)."""
    value = default
    for i, arg in enumerate(args):
        for flag in (f"--{name}", f"--Voila.{name}"):
            if arg.startswith(flag + "="):
                value = arg.split("=", 1)[1]
            elif arg == flag and i + 1 < len(args):
                value = args[i + 1]
    return value


def _without(args, name: str) -> list[str]:
    """``args`` less every ``--name=V`` / ``--name V`` / ``--Voila.name=V``."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in (f"--{name}", f"--Voila.{name}"):
            skip = True
        elif not arg.startswith((f"--{name}=", f"--Voila.{name}=")):
            kept.append(arg)
    return kept


def port_in_use(ip: str, port: int) -> bool:
    """True when nothing can listen on ``ip:port`` because something already does."""
    host = "127.0.0.1" if ip in ("localhost", "") else ip
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Other options go to Voila (voila --help-all).")
    parser.add_argument("--build-dir", default="build/demo",
                        help="where the demo pages are written (default: build/demo)")
    parser.add_argument("--lessons", default=str(LESSONS), help="the lessons' folder")
    arguments, voila_args = parser.parse_known_args(argv)
    port_text = _option(voila_args, "port", str(DEFAULT_PORT))
    ip = _option(voila_args, "ip", "localhost")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        print(f"make demo: --port must be a number from 1 to 65535, but got {port_text!r}.",
              file=sys.stderr)
        return 2
    port = int(port_text)
    if port_in_use(ip, port):
        print(f"make demo: port {port} is already in use (another Voila or Jupyter server?). "
              f"Stop that server, or choose a free port: make demo DEMO_ARGS=\"--port={port + 1}\"",
              file=sys.stderr)
        return 2
    pages = write_pages(arguments.build_dir, arguments.lessons)
    print(f"make demo: {len(pages) - 1} labs in {arguments.build_dir}; the landing page is "
          f"http://{ip}:{port}/voila/render/index.ipynb", flush=True)
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    command = [voila, str(arguments.build_dir), f"--port={port}", "--Voila.port_retries=0",
               "--strip_sources=True", "--theme=light", *room_options(voila_args),
               *_without(voila_args, "port")]
    os.execv(voila, command) if os.path.isabs(voila) else os.execvp(voila, command)
    return 0     # not reached


if __name__ == "__main__":
    sys.exit(main())

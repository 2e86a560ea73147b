"""Real-browser harness: one JupyterLab server and one headless Chromium per test session.

The server runs on a free loopback port with a random token, a throwaway HOME / config /
settings / workspaces directory, and a temporary copy of the notebooks (outputs stripped), so
nothing in the repository or in the user's home is read or modified. Chromium is Debian's
(/usr/bin/chromium), driven through Playwright's Python package; no browser is downloaded.

Tests that use these fixtures are skipped when Chromium or Playwright is missing, unless the
CI environment variable is set, in which case they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

import nnlab

REPO_ROOT = Path(__file__).resolve().parents[2]
# NNLAB_BROWSER_NOTEBOOKS: test another notebooks folder (e.g. for timing the harness).
NOTEBOOKS_DIR = Path(os.environ.get("NNLAB_BROWSER_NOTEBOOKS") or REPO_ROOT / "notebooks")
DEMO_NOTEBOOK = Path(__file__).resolve().parent / "demo_lab.ipynb"
PLAY_NOTEBOOK = Path(__file__).resolve().parent / "play_lab.ipynb"
# Every lab in one notebook, for the test that clicks each of their controls.
LAB_CONTROLS_NOTEBOOK = Path(__file__).resolve().parent / "lab_controls.ipynb"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "browser"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

SERVER_START_TIMEOUT = 90.0

# JupyterLab user settings written into the server's private settings dir.
LAB_USER_SETTINGS = {
    # No "Would you like to receive official Jupyter news?" toast, no update check.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Keep every cell attached to the DOM so prompts/outputs of all cells can be inspected.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: drives JupyterLab in headless Chromium (deselect with -m 'not browser')",
    )


# --------------------------------------------------------------------------- availability


def _missing(reason: str):
    """Skip, or fail when running in CI (CI env var non-empty)."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    """NNLAB_CHROMIUM if set (empty or missing file = no browser), else Debian's chromium."""
    override = os.environ.get("NNLAB_CHROMIUM")
    if override is not None:
        return override if override and os.access(override, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _missing("Chromium not found: browser tests skipped; install with apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        _missing(
            f"Python package playwright cannot be imported ({exc}): browser tests skipped; "
            "install with pip install playwright (no 'playwright install' needed)"
        )
    return path


# --------------------------------------------------------------------------- jupyter server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_notebooks(dest: Path) -> None:
    """Copy notebooks/ (minus checkpoints) and the demo and play notebooks, stripping saved outputs.

    Saved widget outputs reference widget models that no longer exist, and JupyterLab shows
    "Error displaying widget: model not found" for them until the cell is re-run; stripping them
    makes every "Error displaying widget" the harness sees a real one. Plain JSON, no nbformat
    validation, so old notebooks don't raise nbformat warnings (pytest turns them into errors).
    """
    if NOTEBOOKS_DIR.is_dir():
        shutil.copytree(
            NOTEBOOKS_DIR, dest, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    dest.mkdir(parents=True, exist_ok=True)
    for extra in (DEMO_NOTEBOOK, PLAY_NOTEBOOK, LAB_CONTROLS_NOTEBOOK):
        shutil.copy2(extra, dest / extra.name)
    for path in dest.glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        nb.get("metadata", {}).pop("widgets", None)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


class JupyterServer:
    def __init__(self, url: str, token: str, root: Path, log_path: Path, proc: subprocess.Popen):
        self.url = url
        self.token = token
        self.root = root
        self.log_path = log_path
        self.proc = proc

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def api(self, method: str, path: str):
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel, so notebooks don't compete for the CPU."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def log_tail(self, n: int = 4000) -> str:
        text = self.log_since(0)
        return text[-n:]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the whole process group (server + kernels); kill it if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    # Kernels live in the same group; make sure nothing survives, even if the server exited.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class ServerFailed(RuntimeError):
    """JupyterLab did not start (its log tail is in the message)."""


@contextmanager
def running_jupyter_lab(base: Path, extra_env: dict | None = None):
    """Start JupyterLab on a free port in a throwaway setup under ``base``; yield a JupyterServer.

    Used by the ``jupyter_server`` fixture and by ``benchmarks/bench_browser.py``.
    Raises ServerFailed when the server exits or does not answer in time.
    """
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        raise ServerFailed(f"jupyter not found next to {sys.executable}")
    home, config, data, runtime = (base / d for d in ("home", "config", "data", "runtime"))
    settings, workspaces, root = base / "lab-settings", base / "lab-workspaces", base / "notebooks"
    for d in (home, config, data, runtime, settings, workspaces):
        d.mkdir()
    for rel, value in LAB_USER_SETTINGS.items():
        target = settings / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    _copy_notebooks(root)

    env = dict(os.environ)
    for var in ("JUPYTER_PATH", "JUPYTER_PREFER_ENV_PATH", "JUPYTER_PLATFORM_DIRS", "MPLBACKEND",
                "JUPYTER_TOKEN", "JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR", "XDG_CONFIG_HOME",
                "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "IPYTHONDIR"):
        env.pop(var, None)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(data),  # user-level only; <venv>/share/jupyter (labextensions,
        JUPYTER_RUNTIME_DIR=str(runtime),  # kernelspec) is on the system path and still found
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
        IPYTHONDIR=str(home / ".ipython"),
        MPLCONFIGDIR=str(base / "mpl"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **nnlab.ONE_BLAS_THREAD,
        PYTHONUNBUFFERED="1",
        **(extra_env or {}),
    )

    port = _free_port()
    token = secrets.token_hex(24)
    cmd = [
        str(jupyter), "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LanguageServerManager.autodetect=False",
    ]
    if os.getuid() == 0:
        cmd.append("--allow-root")

    log_path = base / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group, so kernels die with it
    )
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, log_path, proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        status_url = f"{server.url}/api/status?token={token}"
        while True:
            if proc.poll() is not None:
                raise ServerFailed(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(status_url, timeout=2) as r:
                    if r.status == 200:
                        json.load(r)
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"jupyter lab did not answer in {SERVER_START_TIMEOUT:.0f}s:\n"
                                   f"{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def jupyter_server(chromium_path, tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyter")
    try:
        with running_jupyter_lab(base) as server:
            yield server
    except ServerFailed as error:
        pytest.fail(str(error), pytrace=False)
    finally:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        if (base / "server.log").exists():
            shutil.copy2(base / "server.log", ARTIFACTS_DIR / "jupyter-server.log")


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


# --------------------------------------------------------------------------- page


class KernelErrorMonitor:
    """Collects every iopub `error` message seen on the page's kernel websockets.

    This catches exceptions raised in widget callbacks too: ipywidgets reports them as iopub
    errors whose parent is a comm message, which JupyterLab shows in no cell.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page) -> None:
        def on_websocket(ws):
            if "/api/kernels/" in ws.url:
                ws.on("framereceived", self._on_frame)

        page.on("websocket", on_websocket)

    @staticmethod
    def _parts(payload) -> tuple[dict, dict] | None:
        """(header, content) of a kernel websocket frame, JSON or binary v1 protocol."""
        if isinstance(payload, str):
            msg = json.loads(payload)
            return msg.get("header", {}), msg.get("content", {})
        # v1.kernel.websocket.jupyter.org: uint64 count, uint64 offsets, then
        # channel, header, parent_header, metadata, content, buffers...
        n = int.from_bytes(payload[:8], "little")
        offsets = [int.from_bytes(payload[8 * (i + 1): 8 * (i + 2)], "little") for i in range(n)]
        if len(offsets) < 6:
            return None
        part = lambda i: payload[offsets[i]: offsets[i + 1]]  # noqa: E731
        return json.loads(part(1)), json.loads(part(4))

    def _on_frame(self, payload) -> None:
        if (b'"error"' if isinstance(payload, bytes) else '"error"') not in payload:
            return
        try:
            parts = self._parts(payload)
        except (ValueError, UnicodeDecodeError):
            return
        if parts and parts[0].get("msg_type") == "error":
            content = parts[1]
            tb = "\n".join(content.get("traceback", []))
            self.errors.append(
                f"{content.get('ename')}: {content.get('evalue')}\n{_strip_ansi(tb)[-3000:]}"
            )


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


class LabPage:
    """A fresh browser page plus what was observed on it."""

    def __init__(self, page, server: JupyterServer) -> None:
        self.page = page
        self.server = server
        self.kernel = KernelErrorMonitor()
        self.kernel.attach(page)
        self.page_errors: list[str] = []
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))


@pytest.fixture
def lab_page(browser, jupyter_server):
    """A new browser context + page per test; kernels are shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    try:
        context.set_default_timeout(30_000)
        yield LabPage(context.new_page(), jupyter_server)
    finally:
        context.close()
        try:
            jupyter_server.shutdown_kernels()
        except (urllib.error.URLError, OSError):
            pass

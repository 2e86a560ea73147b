"""Operating a class hub from a script: log a learner in, start their server, run code in a kernel.

Used by the hub's tests and the class load benchmark; an instructor can use it too (for example
to check every learner's server can import nnlab before a lab session). Calls go through the
hub's public URL, as a browser's would. Everything but :func:`login` needs the operator token
(``NNLAB_HUB_OPERATOR_TOKEN`` when the hub was started; see ``jupyterhub_config.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests


class Hub:
    """A running class hub at ``url`` (e.g. http://127.0.0.1:8000), operated with ``token``."""

    def __init__(self, url: str, token: str = "", timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # --- the hub's REST API -------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"} if self.token else {}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers,
                                timeout=30, **kwargs)

    def user(self, name: str) -> dict | None:
        response = self.api("GET", f"/users/{name}")
        return None if response.status_code == 404 else response.json()

    def server_ready(self, name: str) -> bool:
        user = self.user(name)
        server = (user or {}).get("servers", {}).get("", {})
        return bool(server.get("ready"))

    def server_running(self, name: str) -> bool:
        user = self.user(name)
        return bool((user or {}).get("servers", {}).get(""))

    def start_server(self, name: str) -> float:
        """Create the user if needed and start their server; seconds until it answered."""
        began = time.perf_counter()
        if self.user(name) is None:
            self.api("POST", f"/users/{name}").raise_for_status()
        response = self.api("POST", f"/users/{name}/server")
        if response.status_code not in (201, 202, 400):   # 400: already running
            response.raise_for_status()
        self.wait(lambda: self.server_ready(name), f"{name}'s server to start")
        return time.perf_counter() - began

    def wait(self, condition, what: str, timeout: float | None = None, every: float = 0.5):
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(every)
        raise TimeoutError(f"waited {timeout or self.timeout:.0f} s for {what}")

    # --- a learner's server ---------------------------------------------------------------------
    def server_api(self, name: str, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}/user/{name}/api{path}",
                                headers={"Authorization": f"token {self.token}"}, timeout=30,
                                **kwargs)

    def kernels(self, name: str) -> list[dict]:
        response = self.server_api(name, "GET", "/kernels")
        response.raise_for_status()
        return response.json()

    def start_kernel(self, name: str) -> str:
        response = self.server_api(name, "POST", "/kernels", json={"name": "python3"})
        response.raise_for_status()
        return response.json()["id"]

    def run(self, name: str, kernel_id: str, code: str, timeout: float = 120.0) -> str:
        """Run ``code`` in that kernel; returns what it printed (its streams and results).

        Raises RuntimeError with the traceback when the code raised. Works from code that
        already runs an event loop in this thread (Jupyter, Playwright's sync API): the
        kernel's websocket is then driven from a thread of its own.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run(name, kernel_id, code, timeout))
        with concurrent.futures.ThreadPoolExecutor(1) as worker:
            return worker.submit(asyncio.run, self._run(name, kernel_id, code, timeout)).result()

    async def _run(self, name: str, kernel_id: str, code: str, timeout: float) -> str:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = self.url.replace("http", "ws", 1) + f"/user/{name}/api/kernels/{kernel_id}/channels"
        request = HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"})
        connection = await websocket_connect(request)
        try:
            return await self._exchange(connection, name, code, timeout)
        finally:
            await _close(connection)

    async def _exchange(self, connection, name: str, code: str, timeout: float) -> str:
        message_id = uuid.uuid4().hex
        connection.write_message(json.dumps({
            "header": {"msg_id": message_id, "username": name, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        printed, error, idle = [], None, False
        deadline = time.monotonic() + timeout
        while not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the kernel did not finish the code within {timeout:.0f} s")
            raw = await asyncio.wait_for(connection.read_message(), remaining)
            if raw is None:
                raise RuntimeError("the kernel's connection closed (did the kernel die?)")
            message = json.loads(raw)
            state = message["content"].get("execution_state") if message["msg_type"] == "status" else None
            if state in ("restarting", "dead"):
                raise RuntimeError(f"the kernel died while running the code ({state}; out of memory?)")
            if message.get("parent_header", {}).get("msg_id") != message_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                printed.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                error = "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        if error:
            raise RuntimeError(error)
        return "".join(printed)


async def _close(connection) -> None:
    """Close a kernel websocket and wait for the server's close frame, so no socket is left open."""
    connection.close()
    try:
        while await asyncio.wait_for(connection.read_message(), 5) is not None:
            pass
    except asyncio.TimeoutError:
        pass


def login(url: str, name: str, password: str = "") -> str:
    """Log ``name`` in through the hub's login page, as a browser does; returns the page reached.

    The hub then starts the learner's server (the login page's redirect does that).
    """
    url = url.rstrip("/")
    with requests.Session() as session:
        session.get(f"{url}/hub/login", timeout=30).raise_for_status()
        xsrf = session.cookies.get("_xsrf", "")
        response = session.post(f"{url}/hub/login?next=", timeout=120, allow_redirects=True,
                                data={"username": name, "password": password, "_xsrf": xsrf})
        response.raise_for_status()
    if "/hub/login" in response.url and "Invalid" in response.text:
        raise PermissionError(f"the hub refused {name!r}'s login")
    return response.url


def answers(hub: Hub) -> bool:
    """True once the hub's REST API answers."""
    try:
        return hub.api("GET", "/").status_code == 200
    except requests.ConnectionError:
        return False


@contextlib.contextmanager
def running_hub(state: Path, settings: dict[str, str], timeout: float = 120.0):
    """The class hub as `make hub` starts it (deploy/launch.py), on a free loopback port, with
    its state under ``state`` and ``settings`` as NNLAB_HUB_* variables (``{"MEM_LIMIT": "1G"}``);
    yields a :class:`Hub` holding a fresh operator token once the hub answers, and stops the hub
    and every learner's server afterwards. For tests and benchmarks."""
    state = Path(state)
    state.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "NNLAB_HUB_STATE_DIR": str(state), "NNLAB_HUB_OPERATOR_TOKEN": token,
           **{f"NNLAB_HUB_{name}": str(value) for name, value in settings.items()}}
    launch = Path(__file__).resolve().parent / "launch.py"
    with open(state / "hub.log", "w") as log:
        process = subprocess.Popen([sys.executable, str(launch), f"--port={port}"],
                                   cwd=launch.parents[1], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        hub = Hub(f"http://127.0.0.1:{port}", token, timeout=timeout)
        hub.wait(lambda: answers(hub), "the hub to answer", timeout=90)
        yield hub
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
        subprocess.run(["pkill", "-f", str(state)], check=False)

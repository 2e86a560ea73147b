"""`make hub`: a JupyterHub for a class taking the nnlab course, on this machine.

``python deploy/launch.py [JupyterHub options]`` (``make hub HUB_ARGS="..."``) starts JupyterHub
with ``deploy/jupyterhub_config.py`` on loopback (``--ip=0.0.0.0`` for a room), prints the URL
and how learners log in, and runs until Ctrl+C. Its public port is ``--port`` (default 8000);
the hub's and the proxy's internal ports are chosen free, so two hubs on one machine do not
collide. A public port already in use is refused with exit code 2.

The class settings (memory limit, culling times, background preparation, shared password,
admins) are ``NNLAB_HUB_*`` environment variables; ``deploy/class_hub.py`` lists them.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from class_hub import ClassSettings  # noqa: E402

from nnlab.demo import _option, _without, port_in_use  # noqa: E402

DEFAULT_PORT = 8000


def free_port(ip: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ip, 0))
        return probe.getsockname()[1]


def plan(argv, environ=None) -> tuple[ClassSettings, list[str]]:
    """The settings and the remaining JupyterHub options for ``argv``; ValueError when refused."""
    environ = dict(os.environ if environ is None else environ)
    port_text = _option(argv, "port", environ.get("NNLAB_HUB_PORT", str(DEFAULT_PORT)))
    port_text = _option(argv, "JupyterHub.port", port_text)
    ip = _option(argv, "ip", environ.get("NNLAB_HUB_IP", "127.0.0.1"))
    ip = _option(argv, "JupyterHub.ip", ip)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"--port must be a number from 1 to 65535, but got {port_text!r}.")
    port = int(port_text)
    if port_in_use(ip, port):
        raise ValueError(f"port {port} is already in use (another hub or Jupyter server?). Stop "
                         f"that server, or choose a free port: make hub HUB_ARGS=\"--port="
                         f"{port + 1}\"")
    environ.update({"NNLAB_HUB_IP": ip, "NNLAB_HUB_PORT": str(port),
                    "NNLAB_HUB_HUB_PORT": environ.get("NNLAB_HUB_HUB_PORT") or str(free_port()),
                    "NNLAB_HUB_PROXY_API_PORT":
                        environ.get("NNLAB_HUB_PROXY_API_PORT") or str(free_port())})
    settings = ClassSettings.from_environment(environ)
    rest = _without(_without(_without(_without(argv, "port"), "ip"), "JupyterHub.port"),
                    "JupyterHub.ip")
    return settings, rest


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings, rest = plan(argv)
    except ValueError as error:
        print(f"make hub: {error}", file=sys.stderr)
        return 2
    proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        print(f"make hub: the proxy is missing ({proxy}); `make hub` installs it with npm "
              "(cd deploy && npm ci).", file=sys.stderr)
        return 2
    host = "localhost" if settings.ip in ("127.0.0.1", "localhost") else settings.ip
    if host in ("0.0.0.0", ""):
        host = socket.gethostname()
    password = (f"the shared password set in NNLAB_HUB_PASSWORD" if settings.password
                else "any password (none is checked: a trial)")
    print(f"make hub: the class hub is at http://{host}:{settings.port}/\n"
          f"  Log in with any user name and {password}; each name gets its own server and home\n"
          f"  ({settings.homes}/<name>/nnlab-course/ holds the lessons). To add users for real,\n"
          "  switch the authenticator in deploy/jupyterhub_config.py and list the class in\n"
          "  c.Authenticator.allowed_users. Admins (NNLAB_HUB_ADMINS) have the admin panel at /hub/admin.\n"
          f"  Idle kernels stop after {settings.cull_kernels_after} s, idle servers after "
          f"{settings.cull_servers_after} s; memory per learner {settings.mem_limit}. Ctrl+C stops it.",
          flush=True)
    os.environ.update(settings.to_environment())
    jupyterhub = Path(sys.executable).with_name("jupyterhub")
    command = [str(jupyterhub), "-f", str(HERE / "jupyterhub_config.py"), *rest]
    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    os.chdir(settings.state_dir)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())

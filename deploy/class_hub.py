"""What a JupyterHub for a class taking the nnlab course needs beyond JupyterHub's own settings.

``jupyterhub_config.py`` (beside this file) reads its settings from the environment through
:class:`ClassSettings` and uses the two pieces below; ``launch.py`` (``make hub``) sets that
environment and starts the hub.

- :func:`seed_home`: copies the lessons into a learner's home before their server starts, and
  never overwrites a file that is already there, so a learner's edits survive a course update
  (a new lesson arrives; a changed lesson does not replace the learner's copy).
- :class:`MemoryLimit`: a per-learner memory limit on one machine. JupyterHub's local spawners
  do not enforce ``Spawner.mem_limit`` (only container and systemd spawners do), so this puts the
  learner's server, and with it every kernel it starts, in a memory cgroup of its own (cgroup v1
  ``memory.limit_in_bytes`` or v2 ``memory.max``). Past the limit the kernel's out-of-memory
  killer ends a process of that learner (usually their largest kernel: JupyterLab then says the
  kernel died), never another learner's. Without a writable cgroup tree (not root, or a
  container that hides it) the limit cannot be enforced: :meth:`MemoryLimit.apply` says so.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COURSE_FOLDER = "nnlab-course"          # the folder in each learner's home holding the lessons
CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")
UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}


def parse_bytes(text: str) -> int:
    """'1G' -> 1073741824; '512M', '800000000' likewise (JupyterHub's mem_limit notation)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*", str(text).upper())
    if not match:
        raise ValueError(f"a memory size like 512M or 2G, in bytes without a unit, or K, M, G or T "
                         f"after the number; got {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2)])


@dataclass(frozen=True)
class ClassSettings:
    """Everything a class hub is configured with, from ``NNLAB_HUB_*`` environment variables.

    ``launch.py`` writes them; ``jupyterhub_config.py`` reads them. Times are seconds.
    """

    ip: str = "127.0.0.1"                 # where learners reach the hub (0.0.0.0: the whole room)
    port: int = 8000                      # the hub's public port
    hub_port: int = 8081                  # the hub's internal API (loopback only)
    proxy_api_port: int = 8001            # the proxy's REST API (loopback only)
    state_dir: str = str(ROOT / "build" / "hub")   # database, secrets, learners' homes
    lessons: str = str(ROOT / "notebooks")
    mem_limit: str = "1G"                 # per learner: their server and every kernel
    cull_servers_after: int = 3600        # an idle learner's server is stopped after this
    cull_kernels_after: int = 1200        # an idle kernel (even with its tab open) is shut down
    cull_every: int = 300                 # how often both cullers look
    # The labs' background preparation (NNLAB_SPECULATE): off on a hub. make bench-class: with it
    # on, ten learners' kernels trained ahead all the time and a click's p95 was 2-3 s even at a
    # click every 4 s; off, it stayed under 1 s (README, "Teaching a class on JupyterHub").
    background: bool = False
    password: str = ""                    # the trial authenticator's shared password ('' = none)
    admins: str = ""                      # comma-separated user names with the admin panel
    operator_token: str = ""              # an API token for scripts that run the class (deploy/operate.py)

    PREFIX = "NNLAB_HUB_"

    @classmethod
    def from_environment(cls, environ=None) -> "ClassSettings":
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(cls.PREFIX + field.name.upper())
            if raw is None:
                continue
            if field.type in ("int", int):
                if not raw.strip().isdigit():
                    raise ValueError(f"{cls.PREFIX}{field.name.upper()} must be a whole number, "
                                     f"got {raw!r}")
                values[field.name] = int(raw)
            elif field.type in ("bool", bool):
                if raw.strip().lower() not in ("0", "1", "true", "false", "on", "off"):
                    raise ValueError(f"{cls.PREFIX}{field.name.upper()} must be on or off "
                                     f"(1/0, true/false), got {raw!r}")
                values[field.name] = raw.strip().lower() in ("1", "true", "on")
            else:
                values[field.name] = raw
        settings = cls(**values)
        parse_bytes(settings.mem_limit)     # a bad size is refused here, not at the first spawn
        return settings

    def to_environment(self) -> dict[str, str]:
        return {self.PREFIX + field.name.upper():
                (("1" if value else "0") if isinstance(value, bool) else str(value))
                for field in fields(self) for value in [getattr(self, field.name)]}

    @property
    def homes(self) -> Path:
        return Path(self.state_dir) / "home"


def kernel_culling_args(settings: ClassSettings) -> list[str]:
    """The single-user server's options that shut idle kernels down (local hub and Kubernetes alike).

    An idle kernel is shut down even with its browser tab still open (a class leaves tabs open);
    a busy one (still training) is left alone.
    """
    return [f"--MappingKernelManager.cull_idle_timeout={settings.cull_kernels_after}",
            f"--MappingKernelManager.cull_interval={min(300, settings.cull_every)}",
            "--MappingKernelManager.cull_connected=True",
            "--MappingKernelManager.cull_busy=False"]


def ephemeral_ports(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """The range the kernel hands out for port 0 (where every Jupyter kernel's five ports land)."""
    try:
        low, high = (int(part) for part in Path(path).read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999              # Linux's default


def server_port(rng=None, ephemeral: tuple[int, int] | None = None, span: int = 10000) -> int:
    """A free loopback port for a learner's server, from the ``span`` ports just below the
    ephemeral range.

    JupyterHub's local spawners take a random *ephemeral* port, then start the server on it a
    moment later; in a class, another learner's new kernel can bind that port in between (its
    five ports are ephemeral too), and the server never starts ("never showed up ... Giving up",
    seen in ``make bench-class``). Below the ephemeral range no kernel ever lands.
    """
    import random
    import socket

    rng = rng or random.Random()
    low = (ephemeral or ephemeral_ports())[0]
    first = max(1024, low - span)
    for _ in range(200):
        port = rng.randrange(first, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port for a learner's server in {first}-{low - 1}: the machine "
                       "is out of ports below the ephemeral range")


def seed_home(home, lessons) -> list[Path]:
    """Copy every lesson (``NN_*.ipynb``) into ``home/nnlab-course/`` unless it is already there.

    Returns the files copied. Existing files are never touched: a learner's edited lesson stays
    theirs, and a lesson added to the course later still arrives.
    """
    target = Path(home) / COURSE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for lesson in sorted(Path(lessons).glob("[0-9][0-9]_*.ipynb")):
        destination = target / lesson.name
        if not destination.exists():
            shutil.copyfile(lesson, destination)
            copied.append(destination)
    return copied


class MemoryLimit:
    """A memory cgroup per learner under ``nnlab-hub/`` (see the module docstring)."""

    def __init__(self, limit_bytes: int, v1=CGROUP_V1, v2=CGROUP_V2):
        self.limit_bytes = int(limit_bytes)
        self.v1, self.v2 = Path(v1), Path(v2)

    def _group(self, user: str) -> tuple[Path, str] | None:
        """The learner's cgroup folder and the name of its limit file, or None if none can be made."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", user)
        if (self.v1 / "memory.limit_in_bytes").exists():
            return self.v1 / "nnlab-hub" / safe, "memory.limit_in_bytes"
        controllers = self.v2 / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            return self.v2 / "nnlab-hub" / safe, "memory.max"
        return None

    def prepare(self, user: str) -> tuple[Path | None, str]:
        """Make the learner's cgroup with its limit; returns (its ``cgroup.procs`` file, or None
        when the limit cannot be enforced here, and what was done, in words).

        The spawner writes the server's process id into that file as the server starts, before
        it runs anything (``preexec_fn``), so the server and every kernel it starts are inside.
        """
        found = self._group(user)
        if found is None:
            return None, (f"memory limit for {user} not enforced: no memory cgroup controller "
                          "here (JupyterHub's local spawners cannot enforce mem_limit without one)")
        group, limit_file = found
        try:
            if limit_file == "memory.max":
                parent = group.parent
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+memory")
            group.mkdir(parents=True, exist_ok=True)
            (group / limit_file).write_text(str(self.limit_bytes))
        except OSError as error:
            return None, (f"memory limit for {user} not enforced: cannot write {group} ({error}); "
                          "run the hub as root, or use a spawner that enforces mem_limit")
        return group / "cgroup.procs", f"memory limit for {user}: {self.limit_bytes / 2 ** 20:.0f} MiB"

    def release(self, user: str) -> None:
        """Remove the learner's cgroup once their server has stopped (it must be empty by then)."""
        found = self._group(user)
        if found is not None:
            try:
                found[0].rmdir()
            except OSError:
                pass        # gone already, or a process is still in it: the next start reuses it

    def usage(self, user: str) -> int | None:
        """Bytes the learner's server and kernels use now (None where there is no cgroup)."""
        found = self._group(user)
        if found is None:
            return None
        group, limit_file = found
        name = "memory.usage_in_bytes" if limit_file == "memory.limit_in_bytes" else "memory.current"
        try:
            return int((group / name).read_text())
        except (OSError, ValueError):
            return None

# JupyterHub configuration for a class taking the nnlab course, on one machine.
#
# Started by `make hub` (deploy/launch.py), which sets the NNLAB_HUB_* environment variables read
# below (deploy/class_hub.py, ClassSettings, lists them with their defaults). To run it by hand:
#     NNLAB_HUB_PORT=8000 jupyterhub -f deploy/jupyterhub_config.py
#
# What a learner gets: any user name logs in (the trial authenticator below), and JupyterLab opens
# with the lessons in ~/nnlab-course/ (copied once; their edits are never overwritten), running
# in the course's own environment (the Python that runs this hub, so the kernel imports nnlab).
#
# For a real class, change these lines (each a documented JupyterHub authenticator, installed
# with pip beside jupyterhub):
#   your university's single sign-on: c.JupyterHub.authenticator_class = "generic-oauth"
#       (oauthenticator; or "cas"/"saml" through jupyterhub-cas / jupyterhub-saml),
#   a learning platform: c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.authenticator.LTI13Authenticator",
#   GitHub accounts: c.JupyterHub.authenticator_class = "github" (oauthenticator),
#   sign-up with passwords kept by the hub: c.JupyterHub.authenticator_class = "native"
#       (jupyterhub-nativeauthenticator),
# and replace allow_all with c.Authenticator.allowed_users = {...} (the class list).
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from class_hub import (ClassSettings, MemoryLimit, kernel_culling_args,  # noqa: E402
                       parse_bytes, seed_home, server_port)
from jupyterhub.spawner import SimpleLocalProcessSpawner  # noqa: E402

c = get_config()  # noqa: F821  (JupyterHub provides get_config in its config files)
settings = ClassSettings.from_environment()
state = Path(settings.state_dir)
state.mkdir(parents=True, exist_ok=True)
python = Path(sys.executable)
here = Path(__file__).resolve().parent

# --- where it listens ---------------------------------------------------------------------
c.JupyterHub.ip = settings.ip
c.JupyterHub.port = settings.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [str(here / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# --- who logs in: the trial authenticator (see the top of this file for a real class) -------
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
if settings.password:
    c.DummyAuthenticator.password = settings.password
c.Authenticator.admin_users = {name.strip() for name in settings.admins.split(",") if name.strip()}


# --- each learner's server: own home with the lessons, own memory limit -------------------
class ClassSpawner(SimpleLocalProcessSpawner):
    """A learner's server in their own home (seeded with the lessons), under their memory limit.

    Runs every server as the hub's own system user (as SimpleLocalProcessSpawner does): fine for a
    trial or a class on a machine of its own; for a shared machine use a spawner that switches
    users (LocalProcessSpawner with system accounts) or containers (DockerSpawner, Kubernetes).
    """

    memory = MemoryLimit(parse_bytes(settings.mem_limit))

    async def start(self):
        self.port = server_port()          # never an ephemeral port a kernel may take meanwhile
        return await super().start()

    def make_preexec_fn(self, name):
        setup = super().make_preexec_fn(name)
        procs, message = self.memory.prepare(name)
        self.log.info(message)

        def preexec():
            setup()
            if procs is not None:
                procs.write_text(str(os.getpid()))

        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        self.memory.release(self.user.name)


def seed(spawner):
    copied = seed_home(spawner.home_dir, settings.lessons)
    spawner.log.info("%s: %d lessons copied into %s", spawner.user.name, len(copied),
                     spawner.home_dir)


c.JupyterHub.spawner_class = ClassSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(settings.homes / "{username}")
c.Spawner.pre_spawn_hook = seed
c.Spawner.cmd = [str(python.with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = "/lab/tree/nnlab-course"
c.Spawner.mem_limit = settings.mem_limit      # what container/systemd spawners enforce as is
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
c.Spawner.environment = {
    "NNLAB_SPECULATE": "1" if settings.background else "0",
    # how often a learner's server tells the hub it is in use (what the server culler reads)
    "JUPYTERHUB_ACTIVITY_INTERVAL": str(min(300, settings.cull_every)),
}
c.Spawner.args = kernel_culling_args(settings)
if os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")

# --- idle servers are stopped --------------------------------------------------------------
c.JupyterHub.last_activity_interval = min(300, settings.cull_every)
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [str(python), "-m", "jupyterhub_idle_culler",
                f"--timeout={settings.cull_servers_after}", f"--cull-every={settings.cull_every}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]

# --- scripts that run the class (deploy/operate.py: tests, the class benchmark, checks) -----
if settings.operator_token:
    c.JupyterHub.services.append({"name": "class-operator", "api_token": settings.operator_token})
    c.JupyterHub.load_roles.append({
        "name": "class-operator",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
        "services": ["class-operator"],
    })

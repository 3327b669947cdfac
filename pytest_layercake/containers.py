"""Containers of the image and compose projects of the project's files, reachable at 127.0.0.1 only."""

import json
import os
import random
import re
import subprocess
import time
import types
import uuid
from pathlib import Path

import docker
from testcontainers.compose import DockerCompose
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import ExecWaitStrategy, HealthcheckWaitStrategy, LogMessageWaitStrategy

from pytest_layercake.budgets import STARTUP_TIMEOUT_S
from pytest_layercake.project import Project

# Every container, image, network and volume of this run carries RUN in its name or in the LABEL label, so the
# session's sweep finds whatever a test left behind.
RUN = uuid.uuid4().hex[:8]
LABEL = "layercake.test.run"
LABELS = {LABEL: RUN}
# What compose may see of the caller's environment: where Docker is, and nothing of the app (no FLASK_*, no .env).
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "TMPDIR",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)


# The compose files, named once: `docker compose up` loads the first two by itself, `docker stack deploy -c` the first
# alone, and the dev loop (`make dev`) all three.
COMPOSE_FILE = "docker-compose.yml"
COMPOSE_FILES = [COMPOSE_FILE, "docker-compose.override.yml"]
DEV_FILES = [*COMPOSE_FILES, "docker-compose.dev.yml"]


def run_name(kind: str) -> str:
    """Return a unique name for a resource of this run: layercake-<kind>-<run>-<n>."""
    return f"layercake-{kind}-{RUN}-{uuid.uuid4().hex[:6]}"


# Lines that must never appear in the app's log, plain container or hardened compose stack, with the fix for each.
LOG_NEVER = {
    "WARNING: This is a development server": "the image must run gunicorn, never `python app.py`",
    "Debugger is active": "the Werkzeug debugger must never run in the image",
    "Reloader is on": "gunicorn --reload belongs in docker-compose.dev.yml, never in the image",
    "Control server error": "gunicorn's control socket can't be created here: keep control_socket_disable = True",
    "WORKER TIMEOUT": "a worker hung; check the memory and pids limits",
    "No usable temporary directory": "Python found nowhere to write: keep the tmpfs on /tmp",
    "Traceback": "something crashed",
}


class LoopbackContainer(DockerContainer):
    """A DockerContainer of the app whose port is published on 127.0.0.1 only, never on 0.0.0.0."""

    def __init__(self, image: str, app_port: int, **kwargs):
        super().__init__(image, **kwargs)
        self.app_port = app_port
        self.ports[f"{app_port}/tcp"] = ("127.0.0.1", None)
        self.with_kwargs(labels=LABELS)

    def with_kwargs(self, **kwargs):
        """Add to the keyword arguments of the container's creation (testcontainers' own replaces them)."""
        return super().with_kwargs(**(getattr(self, "_kwargs", {}) | kwargs))

    def url(self, path: str = "/") -> str:
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(self.app_port)}{path}"

    def wait_healthy(self) -> None:
        """Wait until Docker calls the container healthy (the image's HEALTHCHECK); RuntimeError if it never does."""
        strategy = HealthcheckWaitStrategy().with_startup_timeout(STARTUP_TIMEOUT_S).with_poll_interval(0.05)
        strategy.wait_until_ready(self)

    def log_has(self, pattern: str | re.Pattern, timeout: float = 5) -> bool:
        """Wait until the log (stdout or stderr) matches pattern; say whether it did."""
        strategy = LogMessageWaitStrategy(pattern).with_startup_timeout(timeout).with_poll_interval(0.05)
        try:
            strategy.wait_until_ready(self)
        except TimeoutError:
            return False
        return True

    def log_has_line(self, line: str, timeout: float = 5) -> bool:
        """Wait until `line` is a whole line of the log; say whether it was."""
        return self.log_has(re.compile(rf"^{re.escape(line)}$", re.MULTILINE), timeout)

    def log_text(self) -> str:
        """Return stdout and stderr together, as `docker logs` shows them."""
        stdout, stderr = self.get_logs()
        return stdout.decode(errors="replace") + stderr.decode(errors="replace")


# `docker exec ... ps ux`, in Python, since the image may have no procps.
PS = """
import json, os
procs = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    try:
        status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    # Docker's runtime starting an exec (the health check's, another test's): root for a moment, then the command.
    if argv[:2] == [b"runc", b"init"]:
        continue
    procs.append({"pid": int(pid), "ppid": int(status["PPid"]), "uid": int(status["Uid"].split()[0]),
                  "argv": [a.decode() for a in argv if a]})
print(json.dumps(procs))
"""


def memory_used(container) -> int:
    """Return a container's memory use as `docker stats` shows it: usage minus the reclaimable file cache."""
    # One sample: without one_shot the engine waits for a second one (about a second), which only the CPU figure needs.
    memory = container.stats(stream=False, one_shot=True)["memory_stats"]
    stats = memory.get("stats", {})
    return memory["usage"] - stats.get("inactive_file", stats.get("total_inactive_file", 0))


def anonymous_memory(container) -> int:
    """Return a container's anonymous memory (cgroup v2 anon, v1 rss): what a leak grows. The file cache, which
    `docker stats` counts once a file is read twice, moves with the kernel's aging, not with the app."""
    stats = container.stats(stream=False, one_shot=True)["memory_stats"]["stats"]
    return stats["anon"] if "anon" in stats else stats["rss"]


def random_openshift_uid() -> int:
    """A UID as OpenShift's restricted profile assigns one: random, from a high range (the container runs in group 0)."""
    return random.SystemRandom().randrange(1_000_000_000, 2_000_000_000)


def processes(container) -> list[dict]:
    """List the processes in a running container (a docker SDK container): pid, ppid, uid, argv."""
    exit_code, output = container.exec_run(["python", "-c", PS])
    assert exit_code == 0, f"listing processes failed: {output.decode()}"
    return json.loads(output)


def workers(container) -> list[dict]:
    """Return the gunicorn workers: the children of PID 1."""
    return [p for p in processes(container) if p["ppid"] == 1]


def signal_process(container, pid: int, signum: int) -> None:
    """Send signum to a process of the container, from inside it (as the app's user, who owns the workers)."""
    exit_code, output = container.exec_run(["python", "-c", f"import os; os.kill({pid}, {int(signum)})"])
    assert exit_code == 0, f"signalling {pid} failed: {output.decode()}"


def kill_from_host(client: docker.DockerClient, image: str, pid: int) -> None:
    """SIGKILL a container's PID 1 (its host pid) from a helper on the host's pid namespace, as the kernel's OOM killer
    would: `docker kill` is a stop the restart policy leaves alone."""
    client.containers.run(
        image, ["python", "-c", f"import os; os.kill({pid}, 9)"], pid_mode="host", labels=LABELS, remove=True
    )


def healthy_within(container, seconds: float) -> bool:
    """Wait until Docker calls the container (a docker SDK container) running and healthy; say whether it did."""
    deadline = time.perf_counter() + seconds
    while True:
        container.reload()
        state = container.attrs["State"]
        if state["Running"] and (state.get("Health") or {}).get("Status") == "healthy":
            return True
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.2)


# gunicorn's settings as its command line, the env and gunicorn.conf.py resolve them, printed as `--print-config`
# prints them, without importing the app (which --print-config does, in a second copy beside the running one).
PRINT_CONFIG = """
import sys
from gunicorn.app.wsgiapp import WSGIApplication
sys.argv = sys.argv[1:]
print(WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg)
"""


def gunicorn_settings(container) -> dict[str, str]:
    """Return gunicorn's settings as it resolves them in the container: gunicorn.conf.py, the env and PID 1's argv."""
    (init,) = [p for p in processes(container) if p["pid"] == 1]
    names = [Path(arg).name for arg in init["argv"]]
    argv = init["argv"][names.index("gunicorn") if "gunicorn" in names else 0 :]
    exit_code, output = container.exec_run(["python", "-c", PRINT_CONFIG, *argv])
    assert exit_code == 0, (
        f"reading the settings of `{' '.join(argv)}` failed in the container (exit {exit_code}): "
        f"{output.decode()[-1000:]}"
    )
    lines = (line.partition("=") for line in output.decode().splitlines())
    return {name.strip(): value.strip() for name, _, value in lines}


# True once a worker has accept()ed a connection from outside the container: such a socket has an inode in
# /proc/net/tcp, while one still waiting in the listen backlog has inode 0. Health checks come from 127.0.0.1.
ACCEPTED = (
    "import sys\n"
    "rows = [line.split() for line in open('/proc/net/tcp').readlines()[1:]]\n"
    "sys.exit(not any(r[1].endswith(':{port:04X}') and r[3] == '01' and r[9] != '0'"
    " and not r[2].startswith('0100007F') for r in rows))\n"
)


def wait_until_accepted(container, port: int, timeout: float = 5) -> None:
    """Wait until a gunicorn worker has taken a client's connection (container: a docker SDK container)."""
    check = ["python", "-c", ACCEPTED.format(port=port)]
    strategy = ExecWaitStrategy(check).with_startup_timeout(timeout).with_poll_interval(0.1)
    strategy.wait_until_ready(types.SimpleNamespace(exec=container.exec_run))


# For each gunicorn worker (a child of PID 1), how many connections from outside the container it has accepted: the
# inodes of its sockets, matched against the established rows of /proc/net/tcp on the app's port.
HELD_BY_WORKER = (
    "import json, os\n"
    "rows = [line.split() for line in open('/proc/net/tcp').readlines()[1:]]\n"
    "outside = {{r[9] for r in rows if r[1].endswith(':{port:04X}') and r[3] == '01' and r[9] != '0'"
    " and not r[2].startswith('0100007F')}}\n"
    "held = {{}}\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        if open(f'/proc/{{pid}}/stat').read().rsplit(')', 1)[1].split()[1] != '1':\n"
    "            continue\n"
    "        links = [os.readlink(f'/proc/{{pid}}/fd/{{fd}}') for fd in os.listdir(f'/proc/{{pid}}/fd')]\n"
    "    except OSError:\n"
    "        continue\n"
    "    held[pid] = sum(link[8:-1] in outside for link in links if link.startswith('socket:['))\n"
    "print(json.dumps(held))\n"
)


def held_by_worker(container, port: int) -> dict[str, int]:
    """Return worker pid -> the outside connections it holds (container: a docker SDK container)."""
    exit_code, output = container.exec_run(["python", "-c", HELD_BY_WORKER.format(port=port)])
    assert exit_code == 0, f"reading the workers' connections failed: {output.decode()}"
    return json.loads(output)


class ComposeStack(DockerCompose):
    """The project's compose file(s) under their own project name and port, so a user's own stack is untouched."""

    def __init__(self, project: Project, name: str, port: int, context: Path | None = None, files=None, env=None):
        # An empty env file instead of the folder's .env: the tests run what the files say, not a user's settings.
        super().__init__(
            context=context or project.root, compose_file_name=files, build=True, wait=True, env_file=os.devnull
        )
        self.project = project
        self.name = name
        self.port = port
        self.env = env or {}

    def environ(self) -> dict[str, str]:
        """The environment compose runs in: Docker's settings from the caller, the test's own, and nothing else."""
        settings = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ} | {
            # As `make` builds: BuildKit labels the image with the checkout's commit and remote.
            "BUILDX_GIT_LABELS": "full",
            "COMPOSE_PROJECT_NAME": self.name,
            "PORT": str(self.port),
            "BASE_IMAGE": self.project.base_image,
            "IMAGE": f"{self.name}:test",
        }
        return {name: value for name, value in (settings | self.env).items() if value is not None}

    def _run_command(self, cmd, context=None):
        result = subprocess.run(cmd, check=False, cwd=context or self.context, env=self.environ(), capture_output=True)
        if result.returncode:
            raise AssertionError(f"`{' '.join(cmd)}` failed:\n{result.stderr.decode()}")
        return result

    def compose(self, *args: str) -> str:
        """Run a `docker compose` command of this project and return its output."""
        return self._run_command([*self.compose_command_property, *args]).stdout.decode()

    def config(self) -> dict:
        """Return the configuration compose would run, resolved and validated (`docker compose config`)."""
        return json.loads(self.compose("config", "--format", "json"))

    def stop(self, down: bool = True) -> None:
        """Remove the containers, network, volumes and the image that compose built (tagged with the project's name)."""
        self.compose("down", "--volumes", "--rmi", "all")

    def web(self, client: docker.DockerClient):
        """Return the web service's container as a docker SDK container."""
        return client.containers.get(self.get_container("web").ID)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get_container_host_ip(self) -> str:
        """Make the project a target for testcontainers' HttpWaitStrategy: the app is at 127.0.0.1:port."""
        return "127.0.0.1"

    def get_exposed_port(self, port: int) -> int:
        return self.port

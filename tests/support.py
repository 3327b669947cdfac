"""Helpers the tests share: loopback containers, builds of a temp copy, process lists, raw HTTP, compose projects."""

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.utils.build import tar
from testcontainers.compose import DockerCompose
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import ExecWaitStrategy, LogMessageWaitStrategy

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_IMAGE = re.search(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[1]
BASE_IMAGE = os.environ.get("BASE_IMAGE") or DEFAULT_BASE_IMAGE
APP_PORT = 5000
# check-jsonschema validates offline against a schema file or its vendored SchemaStore schemas.
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")

# What a temp copy of the project leaves behind: the host's own clutter, not part of the template.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache")


class LoopbackContainer(DockerContainer):
    """A DockerContainer whose ports are published on 127.0.0.1 only, never on 0.0.0.0."""

    def with_loopback_port(self, port: int):
        self.ports[f"{port}/tcp"] = ("127.0.0.1", None)
        return self

    def url(self, path: str = "/") -> str:
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(APP_PORT)}{path}"

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


# Lines that must never appear in the app's log, plain container or hardened compose stack, with the fix for each.
LOG_NEVER = {
    "WARNING: This is a development server": "the image must run gunicorn, never `python app.py`",
    "Debugger is active": "the Werkzeug debugger must never run in the image",
    "Reloader is on": "gunicorn --reload belongs in compose.dev.yaml, never in the image",
    "Control server error": "gunicorn's control socket can't be created here: keep control_socket_disable = True",
    "WORKER TIMEOUT": "a worker hung; check the memory and pids limits",
    "No usable temporary directory": "Python found nowhere to write: keep the tmpfs on /tmp",
    "Traceback": "something crashed",
}


# The guide's `docker exec ... ps ux`, in Python, since the image may have no procps.
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
    procs.append({"pid": int(pid), "ppid": int(status["PPid"]), "uid": int(status["Uid"].split()[0]),
                  "argv": [a.decode() for a in argv if a]})
print(json.dumps(procs))
"""


def processes(container) -> list[dict]:
    """List the processes in a running container (a docker SDK container): pid, ppid, uid, argv."""
    exit_code, output = container.exec_run(["python", "-c", PS])
    assert exit_code == 0, f"listing processes failed: {output.decode()}"
    return json.loads(output)


def workers(container) -> list[dict]:
    """Return the gunicorn workers: the children of PID 1."""
    return [p for p in processes(container) if p["ppid"] == 1]


# True once a worker has accept()ed a connection from outside the container: such a socket has an inode in
# /proc/net/tcp, while one still waiting in the listen backlog has inode 0. Health checks come from 127.0.0.1.
ACCEPTED = (
    "import sys\n"
    "rows = [line.split() for line in open('/proc/net/tcp').readlines()[1:]]\n"
    f"sys.exit(not any(r[1].endswith(':{APP_PORT:04X}') and r[3] == '01' and r[9] != '0'"
    " and not r[2].startswith('0100007F') for r in rows))\n"
)


def wait_until_accepted(container, timeout: float = 5) -> None:
    """Wait until a gunicorn worker has taken a client's connection (container: a docker SDK container)."""
    strategy = ExecWaitStrategy(["python", "-c", ACCEPTED]).with_startup_timeout(timeout).with_poll_interval(0.1)
    strategy.wait_until_ready(types.SimpleNamespace(exec=container.exec_run))


def copy_context(dest: Path) -> Path:
    """Copy the project into dest, as a fresh clone would have it, and return dest."""
    shutil.copytree(ROOT, dest, ignore=NOT_COPIED)
    return dest


def context_tar(path: Path) -> bytes:
    """Return the build context exactly as the docker SDK sends it: the folder as a tar, minus .dockerignore."""
    ignore = path / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    exclude = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return tar(str(path), exclude=exclude, dockerfile=("Dockerfile", None)).read()


@dataclass
class Step:
    instruction: str
    cached: bool
    image_id: str


@dataclass
class Build:
    image: docker.models.images.Image
    seconds: float
    context_bytes: int
    log: str

    def steps(self) -> list[Step]:
        """Return each Dockerfile step, whether the legacy builder took it from the cache, and the image after it."""
        parts = re.split(r"^Step \d+/\d+ : ", self.log, flags=re.MULTILINE)[1:]
        steps = []
        for part in parts:
            image_ids = re.findall(r"^ ---> ([0-9a-f]{12})$", part, re.MULTILINE)
            steps.append(Step(part.splitlines()[0], "---> Using cache" in part, image_ids[-1] if image_ids else ""))
        return steps

    def step(self, needle: str) -> Step:
        """Return the one step whose instruction contains needle."""
        (found,) = [step for step in self.steps() if needle in step.instruction]
        return found

    def layers_through(self, needle: str) -> list[str]:
        """Return the layer digests of the image as it was right after the step containing needle."""
        return self.image.client.images.get(self.step(needle).image_id).attrs["RootFS"]["Layers"]

    def layers(self) -> list[str]:
        return self.image.attrs["RootFS"]["Layers"]


def build(client: docker.DockerClient, path: Path, tag: str, nocache: bool = False, base: str = BASE_IMAGE) -> Build:
    """Build path with BASE_IMAGE (or another base), the way DockerImage does, and time it."""
    context = context_tar(path)
    start = time.perf_counter()
    chunks = client.api.build(
        fileobj=io.BytesIO(context),
        custom_context=True,
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        nocache=nocache,
        rm=True,
        decode=True,
    )
    log = ""
    for chunk in chunks:
        if "error" in chunk:
            raise AssertionError(f"build of {path} failed: {chunk['error']}\n{log}")
        log += chunk.get("stream", "")
    seconds = time.perf_counter() - start
    return Build(client.images.get(tag), seconds, len(context), log)


@dataclass
class Response:
    status: int
    head: str
    body: bytes


def raw_http(port: int, data: bytes, timeout: float = 5) -> Response | None:
    """Send raw bytes to 127.0.0.1:port and read until the server closes; None if it closed without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # The server may answer and close before reading everything, as it should for a huge body.
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    if not received:
        return None
    head, _, body = received.partition(b"\r\n\r\n")
    return Response(int(head.split()[1]), head.decode("latin-1"), body)


# wrk script: requests the paths in WRK_PATHS in turn, and prints wrk's summary as one JSON line at the end.
WRK_SCRIPT = """
local paths, n = {}, 0
for path in string.gmatch(os.getenv("WRK_PATHS"), "%S+") do paths[#paths + 1] = path end
request = function()
  n = n + 1
  return wrk.format("GET", paths[n % #paths + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "connect": %d, "read": %d, "write": %d, "timeout": %d, "non_2xx": %d, '
    .. '"p50_ms": %.2f, "p99_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(port: int, paths: list[str], connections: int, seconds: float) -> dict:
    """Load 127.0.0.1:port with wrk for a fixed time; return its summary with errors and requests/s added."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise AssertionError("wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        command = [wrk, f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds}s", "--timeout=5s"]
        run = subprocess.run(
            [*command, "-s", script.name, f"http://127.0.0.1:{port}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            env=os.environ | {"WRK_PATHS": " ".join(paths)},
        )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["errors"] = sum(result[kind] for kind in ("connect", "read", "write", "timeout"))
    result["requests_per_s"] = round(result["requests"] / result["seconds"], 1)
    return result


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ComposeProject(DockerCompose):
    """The project's compose file(s) under their own project name and port, so a user's own stack is untouched."""

    def __init__(self, name: str, port: int, context: Path = ROOT, files: list[str] | None = None):
        super().__init__(context=context, compose_file_name=files, build=True, wait=True)
        self.name = name
        self.port = port

    def environ(self) -> dict[str, str]:
        return os.environ | {
            "COMPOSE_PROJECT_NAME": self.name,
            "PORT": str(self.port),
            "BASE_IMAGE": BASE_IMAGE,
            "IMAGE": f"{self.name}:test",
        }

    def _run_command(self, cmd, context=None):
        result = subprocess.run(cmd, check=False, cwd=context or self.context, env=self.environ(), capture_output=True)
        if result.returncode:
            raise AssertionError(f"`{' '.join(cmd)}` failed:\n{result.stderr.decode()}")
        return result

    def config(self) -> dict:
        """Return the configuration compose would run, resolved and validated (`docker compose config`)."""
        return json.loads(self._run_command([*self.compose_command_property, "config", "--format", "json"]).stdout)

    def stop(self, down: bool = True) -> None:
        """Remove the containers, network, volumes and the image that compose built (tagged with the project's name)."""
        self._run_command([*self.compose_command_property, "down", "--volumes", "--rmi", "all"])

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

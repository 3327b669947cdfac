"""`docker compose up` end to end: the project's own compose file, hardened, healthy, and at 127.0.0.1 only."""

import pytest
import requests

from harness.containers import LOG_NEVER

pytestmark = pytest.mark.docker


def test_stack_answers_every_probe(stack, contract):
    for probe in contract.probes:
        response = requests.get(stack.url(probe.path), timeout=5)
        assert probe.answered_by(response.status_code, response.text), (
            f"{probe.path} answered {response.status_code} {response.text[:200]!r}, want {probe.status} with "
            f"{probe.body!r} (layercake.toml)"
        )


def test_stack_publishes_on_loopback_only(stack, contract):
    published = stack.compose("port", "web", str(contract.port)).split()
    assert published == [f"127.0.0.1:{stack.port}"], (
        f'compose publishes the app on {published}: keep ports "127.0.0.1:${{PORT:-...}}:{contract.port}" in '
        "docker-compose.override.yml"
    )


def test_stack_is_healthy(web):
    assert web.attrs["State"]["Health"]["Status"] == "healthy", "the compose service is not healthy"


# As the app's user: write a temp file and one file in each writable path, then try the app's own folder.
TRY_WRITES = """
import sys, tempfile
with tempfile.TemporaryFile() as scratch:
    scratch.write(b"ok")
for path in sys.argv[1:]:
    with tempfile.NamedTemporaryFile(dir=path) as scratch:
        scratch.write(b"ok")
try:
    open("planted.py", "w")
except OSError as exc:
    print(exc.strerror)
"""


def test_stack_root_filesystem_is_read_only_but_writable_paths_work(web, contract):
    exit_code, output = web.exec_run(["python", "-c", TRY_WRITES, *contract.writable])
    assert exit_code == 0, (
        f"the app could not write to one of {list(contract.writable)} (writable in layercake.toml): give each a "
        f"tmpfs or a volume in docker-compose.yml owned by the app's user ({output.decode().strip()[-300:]})"
    )
    assert output.decode().strip() == "Read-only file system", (
        f"writing to the app's folder gave {output.decode().strip()!r}: keep read_only: true in docker-compose.yml"
    )


@pytest.mark.parametrize("line", LOG_NEVER)
def test_stack_log_never_shows(stack, contract, line):
    requests.get(stack.url(contract.probe.path), timeout=5).raise_for_status()
    stdout, stderr = stack.get_logs("web")
    assert line not in stdout + stderr, f"the compose log shows {line!r}: {LOG_NEVER[line]}"


def test_compose_down_leaves_nothing(docker_client, compose_project, contract):
    with compose_project() as project:
        assert requests.get(project.url(contract.health), timeout=5).ok
    label = {"label": f"com.docker.compose.project={project.name}"}
    containers = docker_client.containers.list(all=True, filters=label)
    networks = docker_client.networks.list(filters=label) + docker_client.networks.list(
        names=[f"{project.name}_default"]
    )
    volumes = docker_client.volumes.list(filters=label)
    assert not containers and not networks and not volumes, f"compose down left {containers} {networks} {volumes}"

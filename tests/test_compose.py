"""`docker compose up` end to end: the project's own compose file, hardened, healthy, and at 127.0.0.1 only."""

import uuid

import pytest
import requests
from support import LOG_NEVER, ComposeProject, free_port

pytestmark = pytest.mark.docker


def test_stack_serves_the_page_and_hello(stack):
    assert "Hello from Mary" in requests.get(stack.url("/"), timeout=5).text
    assert requests.get(stack.url("/hello"), timeout=5).text == "nice to meet you"


def test_stack_publishes_on_loopback_only(stack):
    published = stack._run_command([*stack.compose_command_property, "port", "web", "5000"]).stdout.decode().split()
    assert published == [f"127.0.0.1:{stack.port}"], (
        f'compose publishes the app on {published}: keep ports "127.0.0.1:${{PORT:-5000}}:5000" in '
        "docker-compose.override.yml"
    )


def test_stack_is_healthy(web):
    assert web.attrs["State"]["Health"]["Status"] == "healthy", "the compose service is not healthy"


def test_stack_root_filesystem_is_read_only_but_tmp_works(web):
    attempt = (
        "import tempfile\n"
        "with tempfile.TemporaryFile() as scratch:\n"
        "    scratch.write(b'ok')\n"
        "try:\n"
        "    open('/app/planted.py', 'w')\n"
        "except OSError as exc:\n"
        "    print(exc.strerror)\n"
    )
    exit_code, output = web.exec_run(["python", "-c", attempt])
    assert exit_code == 0, f"Python could not use a temporary file: keep the tmpfs on /tmp ({output.decode()})"
    assert output.decode().strip() == "Read-only file system", (
        f"writing to /app gave {output.decode().strip()!r}: keep read_only: true in docker-compose.yml"
    )


@pytest.mark.parametrize("line", LOG_NEVER)
def test_stack_log_never_shows(stack, line):
    requests.get(stack.url("/hello"), timeout=5).raise_for_status()
    stdout, stderr = stack.get_logs("web")
    assert line not in stdout + stderr, f"the compose log shows {line!r}: {LOG_NEVER[line]}"


def test_compose_down_leaves_nothing(docker_client, base_image):
    name = f"layercake-test-{uuid.uuid4().hex[:8]}"
    with ComposeProject(name, free_port()) as project:
        assert requests.get(project.url("/hello"), timeout=5).ok
    label = {"label": f"com.docker.compose.project={name}"}
    containers = docker_client.containers.list(all=True, filters=label)
    networks = docker_client.networks.list(filters=label) + docker_client.networks.list(names=[f"{name}_default"])
    assert not containers and not networks, f"compose down left {containers} {networks}"

"""Build the image once per test session and run containers from it, reachable at 127.0.0.1 only."""

import os
import re
import uuid
from pathlib import Path

# testcontainers reads its settings at import time. Containers are removed by the fixtures' `with`
# blocks, so the Ryuk reaper (an image pulled from a registry) is not needed; published ports are
# bound to 127.0.0.1, so that is the host to reach them on.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")

import docker
import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage
from testcontainers.core.wait_strategies import HttpWaitStrategy, LogMessageWaitStrategy

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_IMAGE = re.search(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[1]
BASE_IMAGE = os.environ.get("BASE_IMAGE") or DEFAULT_BASE_IMAGE
APP_PORT = 5000
STARTUP_TIMEOUT = 60


class LoopbackContainer(DockerContainer):
    """A DockerContainer whose ports are published on 127.0.0.1 only, never on 0.0.0.0."""

    def with_loopback_port(self, port: int):
        self.ports[f"{port}/tcp"] = ("127.0.0.1", None)
        return self

    def url(self, path: str = "/") -> str:
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(APP_PORT)}{path}"

    def log_has_line(self, line: str, times: int = 1, timeout: float = 5) -> bool:
        """Wait until `line` is a whole line of the log `times` times; say whether it was."""
        pattern = re.compile(rf"(?:^{re.escape(line)}$[\s\S]*?){{{times}}}", re.MULTILINE)
        strategy = LogMessageWaitStrategy(pattern).with_startup_timeout(timeout).with_poll_interval(0.05)
        try:
            strategy.wait_until_ready(self)
        except TimeoutError:
            return False
        return True


def give_up(message: str):
    """Fail the tests that need Docker with one sentence, not a stack of docker-py errors."""
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def docker_client():
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        give_up(f"No Docker engine answered ({exc}): start Docker so that `docker info` works, then run again.")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client):
    try:
        return docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pass
    try:
        return docker_client.images.pull(BASE_IMAGE)
    except docker.errors.APIError as exc:
        give_up(
            f"Base image {BASE_IMAGE} is not here and can't be pulled ({exc.explanation}): "
            "set BASE_IMAGE to a mirrored or local Python image (see README), then run again."
        )


@pytest.fixture(scope="session")
def image(base_image):
    """The project's image, built once per session from the working tree with BASE_IMAGE."""
    with DockerImage(
        path=ROOT, tag=f"layercake-test:{uuid.uuid4().hex[:8]}", buildargs={"BASE_IMAGE": BASE_IMAGE}
    ) as built:
        yield built


@pytest.fixture(scope="session")
def app_container(image):
    """Return a factory of containers of the image, configured but not started: use them in `with`."""

    def configure(**env: str) -> LoopbackContainer:
        return (
            LoopbackContainer(str(image))
            .with_envs(**env)
            .with_loopback_port(APP_PORT)
            .waiting_for(HttpWaitStrategy(APP_PORT, "/healthz").with_startup_timeout(STARTUP_TIMEOUT))
        )

    return configure


@pytest.fixture(scope="module")
def container(app_container):
    """One running container of the image per test module, answering /healthz before the first test."""
    with app_container() as running:
        yield running

"""Build the image once per test session, run it at 127.0.0.1 only, and report what the tests measured."""

import json
import os
import uuid

# testcontainers reads its settings at import time. Containers are removed by the fixtures' `with`
# blocks, so the Ryuk reaper (an image pulled from a registry) is not needed; published ports are
# bound to 127.0.0.1, so that is the host to reach them on.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")

import docker
import pytest
from budgets import STARTUP_TIMEOUT_S
from support import APP_PORT, BASE_IMAGE, ROOT, ComposeProject, LoopbackContainer, build, free_port
from testcontainers.core.image import DockerImage
from testcontainers.core.wait_strategies import HttpWaitStrategy

REPORT = pytest.StashKey[dict]()
REPORT_FILE = ROOT / "build" / "report.json"


def give_up(message: str):
    """Fail the tests that need Docker with one sentence, not a stack of docker-py errors."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def pytest_configure(config):
    config.stash[REPORT] = {}


def pytest_terminal_summary(terminalreporter, config):
    """Print the figures the tests measured, and keep them in build/report.json."""
    figures = config.stash[REPORT]
    if not figures:
        return
    terminalreporter.section("layercake report")
    terminalreporter.write_line(f"base image: {BASE_IMAGE}")
    for name, value in figures.items():
        if isinstance(value, dict):
            terminalreporter.write_line(name)
            for key, item in value.items():
                terminalreporter.write_line(f"  {key:<38} {item}")
        else:
            terminalreporter.write_line(f"{name:<40} {value}")
    REPORT_FILE.parent.mkdir(exist_ok=True)
    REPORT_FILE.write_text(json.dumps({"base_image": BASE_IMAGE, "figures": figures}, indent=2) + "\n")
    terminalreporter.write_line(f"written to {REPORT_FILE.relative_to(ROOT)}")


@pytest.fixture(scope="session")
def report(request) -> dict:
    """The figures for the end-of-run report: a test stores what it measured, rounded."""
    return request.config.stash[REPORT]


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
def image_attrs(image, docker_client) -> dict:
    return docker_client.images.get(str(image)).attrs


@pytest.fixture(scope="session")
def app_container(image):
    """Return a factory of containers of the image, configured but not started: use them in `with`."""

    def configure(**env: str) -> LoopbackContainer:
        return (
            LoopbackContainer(str(image))
            .with_envs(**env)
            .with_loopback_port(APP_PORT)
            .waiting_for(HttpWaitStrategy(APP_PORT, "/healthz").with_startup_timeout(STARTUP_TIMEOUT_S))
        )

    return configure


@pytest.fixture(scope="module")
def container(app_container):
    """One running container of the image per test module, answering /healthz before the first test."""
    with app_container() as running:
        yield running


@pytest.fixture
def builder(base_image, docker_client):
    """Return a function that builds a folder (a temp copy of the project) and removes the images afterwards."""
    tags = []

    def build_copy(path, nocache=False):
        tags.append(f"layercake-test-copy:{uuid.uuid4().hex[:8]}")
        return build(docker_client, path, tags[-1], nocache=nocache)

    yield build_copy
    for tag in reversed(tags):
        docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="session")
def stack(base_image):
    """The project's docker-compose.yml, up and healthy (`up --build --wait`), under a project name of its own."""
    with ComposeProject(f"layercake-test-{uuid.uuid4().hex[:8]}", free_port()) as project:
        yield project


@pytest.fixture
def web(stack, docker_client):
    """The compose stack's web container, as a docker SDK container."""
    return stack.web(docker_client)

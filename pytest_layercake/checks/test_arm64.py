"""The image on linux/arm64, emulated by QEMU on another host: it builds, starts, answers, runs as its user, turns
healthy, keeps the runtime rules and stops gracefully, as on the machine's own platform."""

import platform
import time
from pathlib import Path

import docker
import pytest
import requests

from pytest_layercake import runtime
from pytest_layercake.budgets import (
    EMULATED_ANSWER_MAX_S,
    EMULATED_HEALTH_TIMEOUT_S,
    EMULATED_STARTUP_TIMEOUT_S,
    EMULATED_STOP_MAX_S,
    STOP_TIMEOUT_S,
)
from pytest_layercake.containers import COMPOSE_FILES, ComposeStack, processes, run_name
from pytest_layercake.http import free_port

pytestmark = [pytest.mark.docker, pytest.mark.emulated]

PLATFORM = "linux/arm64"
# Where the kernel hands arm64 programs to QEMU (qemu-user-static, or Docker Desktop's own).
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


@pytest.fixture(scope="module")
def arm64_stack(project, docker_client, report, tmp_path_factory):
    """docker-compose.yml's stack built and run for linux/arm64; its build and first answer are timed for the report."""
    native = platform.machine() in ("aarch64", "arm64")
    if not native and not (BINFMT.exists() and BINFMT.read_text().startswith("enabled")):
        pytest.skip(
            f"no QEMU for arm64 in binfmt_misc ({BINFMT}): install qemu-user-static, or run with -m 'not emulated'"
        )
    base = project.arm64_base_image
    if not serves_arm64(docker_client, base):
        pytest.skip(
            f"the base {base} is a local image for {local_arch(docker_client, base)} alone, and no registry says it "
            "has an arm64 variant: set BASE_IMAGE_ARM64 to an arm64 Python image to run the arm64 proofs"
        )
    # The image's own check with a timeout for emulated Python: at compose's, a check killed on a busy host is retried
    # every second, each one an emulated interpreter's start (the production timings keep their own checks).
    timings = tmp_path_factory.mktemp("arm64") / "timings.yaml"
    timings.write_text(f"services:\n  web:\n    healthcheck:\n      timeout: {EMULATED_HEALTH_TIMEOUT_S}s\n")
    stack = ComposeStack(
        project,
        run_name("arm64"),
        free_port(),
        files=[*COMPOSE_FILES, str(timings)],
        env={"DOCKER_DEFAULT_PLATFORM": PLATFORM, "BASE_IMAGE": project.arm64_base_image},
    )
    start = time.perf_counter()
    try:
        stack.compose("build", "web")
    except AssertionError as exc:
        pytest.fail(
            f"building for {PLATFORM} from {project.arm64_base_image} failed (below): a step that works only on the "
            "machine's own platform, or a base with no arm64 variant (then set BASE_IMAGE_ARM64 to an arm64 Python "
            f"image)\n{str(exc)[-2000:]}",
            pytrace=False,
        )
    report["arm64_build_s"] = round(time.perf_counter() - start, 1)
    try:
        start = time.perf_counter()
        stack.compose("up", "--detach", "--no-build")
        deadline = start + EMULATED_STARTUP_TIMEOUT_S
        while not answers(stack.url(project.contract.probe.path)):
            assert time.perf_counter() < deadline, (
                f"the {PLATFORM} container gave no answer within {EMULATED_STARTUP_TIMEOUT_S} s:\n"
                + stack.compose("logs", "--no-color")[-2000:]
            )
            time.sleep(0.2)
        report["arm64_start_to_first_200_s"] = round(time.perf_counter() - start, 1)
        yield stack
    finally:
        stack.stop()


def local_arch(client, image: str) -> str | None:
    try:
        return client.images.get(image).attrs["Architecture"]
    except docker.errors.ImageNotFound:
        return None


def serves_arm64(client, image: str) -> bool:
    """Whether a build for arm64 can start from image: a registry lists an arm64 variant, or the local image is one;
    a local image of another platform that no registry knows (an offline base, a mirror that is down) has none."""
    if local_arch(client, image) in (None, "arm64"):
        return True
    try:
        return client.images.get_registry_data(image).has_platform(PLATFORM)
    except docker.errors.APIError:
        return False


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=EMULATED_ANSWER_MAX_S).status_code < 500
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def arm64_web(arm64_stack, docker_client):
    return arm64_stack.web(docker_client)


def test_arm64_image_is_built_for_arm64(arm64_web, docker_client):
    architecture = docker_client.images.get(arm64_web.image.id).attrs["Architecture"]
    assert architecture == "arm64", f"the image built for {PLATFORM} is {architecture}"


def test_arm64_container_answers_every_probe(arm64_stack, contract):
    for probe in contract.probes:
        response = requests.get(arm64_stack.url(probe.path), timeout=EMULATED_ANSWER_MAX_S)
        assert probe.answered_by(response.status_code, response.text), (
            f"on {PLATFORM}, {probe.path} answered {response.status_code} {response.text[:200]!r} (layercake.toml)"
        )


def test_arm64_processes_do_not_run_as_root(arm64_web):
    as_root = [p["argv"] for p in processes(arm64_web) if p["uid"] == 0]
    assert not as_root, f"on {PLATFORM}, {as_root} run as root: keep USER 10001:10001 in the Dockerfile"


def test_arm64_container_becomes_healthy(arm64_web):
    deadline = time.perf_counter() + EMULATED_STARTUP_TIMEOUT_S
    while (status := arm64_web.attrs["State"]["Health"]["Status"]) != "healthy" and time.perf_counter() < deadline:
        time.sleep(0.5)
        arm64_web.reload()
    assert status == "healthy", f"on {PLATFORM} the container is {status}: its HEALTHCHECK must pass under emulation"


def test_arm64_container_keeps_the_runtime_rules(arm64_web):
    broken = runtime.broken(runtime.from_docker(arm64_web.attrs))
    assert not broken, f"the {PLATFORM} container breaks {broken}"


@pytest.mark.timed
def test_arm64_docker_stop_is_graceful(arm64_web, report):
    """Last in the module: it stops the stack's container."""
    start = time.perf_counter()
    arm64_web.stop(timeout=STOP_TIMEOUT_S)
    seconds = time.perf_counter() - start
    arm64_web.reload()
    report["arm64_stop_s"] = round(seconds, 2)
    assert arm64_web.attrs["State"]["ExitCode"] == 0, (
        f"on {PLATFORM} docker stop ended with exit code {arm64_web.attrs['State']['ExitCode']}: PID 1 must be gunicorn"
    )
    assert seconds <= EMULATED_STOP_MAX_S, f"on {PLATFORM} docker stop took {seconds:.1f} s"

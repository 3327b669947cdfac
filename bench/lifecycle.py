"""Containers of the images: docker run to the first 200, docker stop, and the CIS runtime rules they keep."""

import time
from pathlib import Path

import requests

from bench.config import APP_PORT, CONTRACT, START_TIMEOUT_S, STOP_TIMEOUT_S, summary
from bench.images import Images
from pytest_layercake.containers import ComposeStack
from pytest_layercake.http import free_port
from pytest_layercake.project import Project
from pytest_layercake.runtime import judge


def start(images: Images, variant: str, **env: str):
    """Run the image at 127.0.0.1 only; return the container, its port and the seconds to the first 200."""
    port = free_port()
    started = time.perf_counter()
    container = images.client.containers.run(
        images.tag(variant),
        detach=True,
        environment=env,
        labels=images.label,
        ports={f"{APP_PORT}/tcp": ("127.0.0.1", port)},
    )
    while time.perf_counter() - started < START_TIMEOUT_S:
        try:
            if requests.get(f"http://127.0.0.1:{port}{CONTRACT.probe.path}", timeout=1).status_code == 200:
                return container, port, time.perf_counter() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.02)  # The measurement's resolution; this is a benchmark, not a test.
    raise RuntimeError(
        f"{variant} did not answer {CONTRACT.probe.path} within {START_TIMEOUT_S} s:\n{container.logs().decode()}"
    )


def lifecycles(images: Images, variants: tuple[str, ...]) -> dict[str, dict]:
    """Time docker run to the first 200, then docker stop, over fresh containers, every variant in turn."""
    timed = {variant: {"start": [], "stop": [], "exit_codes": []} for variant in variants}
    for _ in range(images.runs):
        for variant in variants:
            container, _, seconds = start(images, variant)
            timed[variant]["start"].append(seconds)
            stopping = time.perf_counter()
            container.stop(timeout=STOP_TIMEOUT_S)
            timed[variant]["stop"].append(time.perf_counter() - stopping)
            container.reload()
            timed[variant]["exit_codes"].append(container.attrs["State"]["ExitCode"])
            container.remove()
    return {
        variant: {
            "start_s": summary(figures["start"]),
            "stop_s": summary(figures["stop"]),
            "stop_exit_codes": figures["exit_codes"],
        }
        for variant, figures in timed.items()
    }


def runtime_rules(images: Images, folder: Path, variant: str) -> dict[str, bool]:
    """Judge the CIS rules on a running container, run as its project runs it: layercake by its compose files,
    the others by `docker run` with only a loopback port, which is all their compose files add."""
    image = images.client.images.get(images.tag(variant))
    if variant != "layercake":
        container, _, _ = start(images, variant)
        try:
            return judge(container.attrs, image.attrs)
        finally:
            container.remove(force=True)
    with ComposeStack(Project(folder), f"layercake-bench-{images.run_id}", free_port()) as stack:
        return judge(stack.web(images.client).attrs, image.attrs)

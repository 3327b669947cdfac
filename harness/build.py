"""Builds of the project (or a temp copy of it), timed, with each step's cache hit and the layers after it."""

import io
import re
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.utils.build import tar

from harness.containers import LABELS


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


def build(client: docker.DockerClient, path: Path, tag: str, base: str, nocache: bool = False) -> Build:
    """Build path FROM base (the BASE_IMAGE build argument), the way testcontainers' DockerImage does, and time it."""
    context = context_tar(path)
    start = time.perf_counter()
    chunks = client.api.build(
        fileobj=io.BytesIO(context),
        custom_context=True,
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        nocache=nocache,
        labels=LABELS,
        rm=True,
        # A failed build leaves no intermediate container behind either.
        forcerm=True,
        decode=True,
    )
    log = ""
    for chunk in chunks:
        if "error" in chunk:
            raise AssertionError(f"build of {path} failed: {chunk['error']}\n{log}")
        log += chunk.get("stream", "")
    seconds = time.perf_counter() - start
    return Build(client.images.get(tag), seconds, len(context), log)

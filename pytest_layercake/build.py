"""Builds with BuildKit, the builder that `docker build` and `docker compose build` use: timed, with each step's
cache hit and the size of the context as BuildKit reports them, and the layers of the image."""

import base64
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from pytest_layercake.containers import LABEL, RUN

# Dockerfile instructions that add a layer under BuildKit; the others only change the image's config.
LAYER_INSTRUCTIONS = ("RUN", "COPY", "ADD", "WORKDIR")


def progress(raw: str) -> list[dict]:
    """Split BuildKit's `--progress=rawjson` output, a stream of JSON objects, into the objects."""
    decoder, objects, at = json.JSONDecoder(), [], 0
    while at < len(raw):
        if raw[at].isspace():
            at += 1
            continue
        try:
            found, at = decoder.raw_decode(raw, at)
        except json.JSONDecodeError:  # a line of plain text, such as an error the CLI printed
            at = raw.find("\n", at) + 1 or len(raw)
            continue
        if isinstance(found, dict):  # a number or a word inside a line of plain text is not an event
            objects.append(found)
    return objects


@dataclass
class Step:
    instruction: str
    cached: bool


@dataclass
class Build:
    image: docker.models.images.Image
    base: docker.models.images.Image
    seconds: float
    context_bytes: int
    steps: list[Step]
    log: str

    def step(self, needle: str) -> Step:
        """Return the one Dockerfile step whose instruction contains needle."""
        (found,) = [step for step in self.steps if needle in step.instruction]
        return found

    def layers(self) -> list[str]:
        return self.image.attrs["RootFS"]["Layers"]

    def layers_through(self, needle: str) -> list[str]:
        """Return the image's layer digests up to and including the layer of the instruction containing needle."""
        own = [entry["CreatedBy"] for entry in reversed(self.image.history())][len(self.base.history()) :]
        with_layers = [created for created in own if created.split(" ", 1)[0] in LAYER_INSTRUCTIONS]
        base_layers = len(self.base.attrs["RootFS"]["Layers"])
        assert base_layers + len(with_layers) == len(self.layers()), (
            f"the image's history {own} does not map onto its {len(self.layers())} layers"
        )
        (index,) = [n for n, created in enumerate(with_layers) if needle in created]
        return self.layers()[: base_layers + index + 1]


def build(
    client: docker.DockerClient,
    path: Path,
    tag: str,
    base: str,
    nocache: bool = False,
    dockerfile: str | None = None,
    args: dict[str, str] | None = None,
) -> Build:
    """Build path FROM base (the BASE_IMAGE build argument) with BuildKit (`docker buildx build --load`), and time it.

    dockerfile, when given, is the Dockerfile's text, built with path as its context; args are more build arguments.
    """
    command = ["docker", "buildx", "build", "--load", "--progress=rawjson", "--tag", tag, "--label", f"{LABEL}={RUN}"]
    for name, value in ({"BASE_IMAGE": base} | (args or {})).items():
        command += ["--build-arg", f"{name}={value}"]
    command += ["--no-cache"] if nocache else []
    with tempfile.TemporaryDirectory() as scratch:
        if dockerfile is not None:
            # Named so that BuildKit finds no <name>.dockerignore beside it and uses the context's .dockerignore.
            (Path(scratch) / "variant.Dockerfile").write_text(dockerfile)
            command += ["--file", str(Path(scratch) / "variant.Dockerfile")]
        start = time.perf_counter()
        run = subprocess.run([*command, str(path)], check=False, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    events = progress(run.stderr)
    vertexes = {}
    for event in events:
        for vertex in event.get("vertexes") or []:
            vertexes.setdefault(vertex["digest"], {}).update(vertex)
    if run.returncode:
        errors = [v["error"] for v in vertexes.values() if v.get("error")]
        logs = "".join(
            base64.b64decode(entry.get("data", "")).decode(errors="replace")
            for event in events
            for entry in event.get("logs") or []
        )
        raise AssertionError(f"build of {path} failed: {errors or run.stderr[-2000:]}\n{logs[-3000:]}")
    steps = [
        Step(vertex["name"].split("] ", 1)[1], bool(vertex.get("cached")))
        for vertex in vertexes.values()
        if vertex["name"].startswith("[") and not vertex["name"].startswith("[internal]") and "] " in vertex["name"]
    ]
    context = [
        status.get("current", 0)
        for event in events
        for status in event.get("statuses") or []
        if status.get("id", "").startswith("transferring context")
    ]
    return Build(client.images.get(tag), client.images.get(base), seconds, max(context, default=0), steps, run.stderr)


def received_context(path: Path) -> set[str]:
    """List the files BuildKit receives as the build context of path, after Docker's own .dockerignore matching."""
    with tempfile.TemporaryDirectory() as scratch:
        # A throwaway build that copies its whole context into a local folder, and nothing into an image.
        dockerfile = Path(scratch) / "context.Dockerfile"
        dockerfile.write_text("FROM scratch\nCOPY . /\n")
        received = Path(scratch) / "received"
        subprocess.run(
            ["docker", "buildx", "build", "--progress=quiet", "--file", str(dockerfile)]
            + ["--output", f"type=local,dest={received}", str(path)],
            check=True,
            capture_output=True,
        )
        return {str(file.relative_to(received)) for file in received.rglob("*") if file.is_file()}


def own_lineage(dockerfile: str, name: str = "LAYERCAKE_LINEAGE") -> str:
    """Return the Dockerfile with `ARG <name>` after its first FROM, so that a build argument of that name gives the
    build a cache of its own: BuildKit keeps more than one result per step (their files' times differ), and a
    test comparing layers must compare builds that reuse each other's, not an older build's."""
    lines = dockerfile.splitlines()
    (first,) = [n for n, line in enumerate(lines) if line.startswith("FROM ")][:1]
    return "\n".join([*lines[: first + 1], f"ARG {name}", *lines[first + 1 :]]) + "\n"

"""Where an image comes from and what it holds: the hash lock, the git facts its OCI labels carry, its SBOM."""

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import docker

from pytest_layercake import tools
from pytest_layercake.containers import LABEL, RUN

OCI = "org.opencontainers.image."
# Set by the Dockerfile's LABEL; the last two (GIT_LABELS) by BuildKit from git (BUILDX_GIT_LABELS), as in
# Project.git_facts.
OCI_LABELS = ("title", "description", "licenses", "source", "revision")
GIT_LABELS = ("source", "revision")
# The SBOM generator, run in a throwaway container of the image so that it reads that image's own packages.
SBOM_TOOL = "cyclonedx-bom"


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    hashes: tuple[str, ...]


def canonical(name: str) -> str:
    """A distribution name as pip and the SBOM compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> list[Locked]:
    """Read a hash lock (uv or pip-compile): one `name==version` per requirement, each with its `--hash=` options."""
    text = re.sub(r"\\\n", " ", path.read_text())
    locked = []
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-r ", "--")):
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = tuple(option.removeprefix("--hash=") for option in options if option.startswith("--hash="))
        locked.append(Locked(canonical(name.split("[")[0]), version, hashes))
    return locked


def run_in(client: docker.DockerClient, image: str, command: list[str]) -> str:
    """Run a command in a throwaway, labelled container of image and return its output."""
    output = client.containers.run(image, command, entrypoint=[], remove=True, labels={LABEL: RUN})
    return output.decode()


def installed(client: docker.DockerClient, image: str) -> dict[str, str]:
    """The distributions the image's Python sees, as `pip list` inside it reports them: name -> version."""
    listing = json.loads(
        run_in(client, image, ["python", "-m", "pip", "list", "--format=json", "--disable-pip-version-check"])
    )
    return {canonical(package["name"]): package["version"] for package in listing}


def sbom(client: docker.DockerClient, image: str, tool_version: str) -> dict:
    """Return a CycloneDX JSON of the Python environment inside image: the generator is installed into /tmp of a
    throwaway container (not into the image) and pointed at the image's own interpreter."""
    generate = (
        "import runpy, sys; sys.path.insert(0, '/tmp/sbom-tool'); "
        "sys.argv = ['cyclonedx-py', 'environment', '--of', 'JSON', '--output-reproducible', '-o', '/tmp/sbom.json', "
        "sys.executable]; runpy.run_module('cyclonedx_py', run_name='__main__')"
    )
    script = (
        f"pip install -q --disable-pip-version-check --root-user-action=ignore --no-cache-dir "
        f'--target /tmp/sbom-tool {SBOM_TOOL}=={tool_version} >&2 && python -c "{generate}" >&2 && cat /tmp/sbom.json'
    )
    container = client.containers.run(
        image, ["sh", "-c", script], entrypoint=[], user="0", detach=True, labels={LABEL: RUN}
    )
    try:
        status = container.wait()
        output = container.logs(stdout=True, stderr=False).decode()
        if status["StatusCode"]:
            raise RuntimeError(f"the SBOM generator failed in {image}:\n{container.logs().decode()[-3000:]}")
    finally:
        container.remove(force=True)
    return json.loads(output)


def sbom_tool_version() -> str:
    """The generator's version, as `make venv` installed it in the tools' venv from requirements-tools.txt."""
    return tools.version(SBOM_TOOL)


def sbom_packages(document: dict) -> dict[str, str]:
    """name -> version of every component the SBOM lists."""
    return {canonical(component["name"]): component["version"] for component in document.get("components", [])}


def main() -> None:
    """`python -m pytest_layercake.supply IMAGE OUT`: write the SBOM of IMAGE, already built, to OUT."""
    image, out = sys.argv[1:3]
    document = sbom(docker.from_env(), image, sbom_tool_version())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(document, indent=2) + "\n")
    print(f"{out}: {len(document.get('components', []))} packages installed in {image}", file=sys.stderr)


if __name__ == "__main__":
    main()

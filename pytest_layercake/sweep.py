"""What a run left behind: every container, service, image, network and volume named or labelled with its RUN; and
the runs on this machine whose process is gone (killed from outside), whose leftovers the next run removes."""

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker

from pytest_layercake.containers import LABEL, RUN

# The runs of this machine that are under way: run id -> the process that runs it (a pytest-xdist worker, or pytest).
RUNS = Path(tempfile.gettempdir()) / "layercake-runs.json"


def images(client: docker.DockerClient) -> list[dict]:
    """Every image as the engine lists it, in one call: `images.list()` asks for each image again, and fails on one that
    another run removed meanwhile."""
    return client.api.images()


def leftovers(client: docker.DockerClient, run: str = RUN) -> dict[str, list]:
    """Return what of a run is still there, by kind."""

    def ours(name: str) -> bool:
        return name.startswith("layercake-") and f"-{run}-" in name

    found = {
        "services": [],
        "containers": [
            c
            for c in client.containers.list(all=True, ignore_removed=True)
            if c.labels.get(LABEL) == run
            or ours(c.name)
            or ours(c.labels.get("com.docker.compose.project", ""))
            or ours(c.labels.get("com.docker.stack.namespace", ""))
        ],
        "images": [
            client.images.prepare_model(i)
            for i in images(client)
            if (i.get("Labels") or {}).get(LABEL) == run or any(map(ours, i.get("RepoTags") or []))
        ],
        # A swarm network outlives `docker swarm leave` for a moment, and then goes by itself.
        "networks": [n for n in client.networks.list() if ours(n.name) and n.attrs.get("Scope") != "swarm"],
        "volumes": [
            v for v in client.volumes.list() if ours(v.name) or (v.attrs.get("Labels") or {}).get(LABEL) == run
        ],
    }
    if client.info()["Swarm"]["LocalNodeState"] == "active":
        with contextlib.suppress(docker.errors.APIError):  # another run left the swarm meanwhile, its services with it
            found["services"] = [s for s in client.services.list() if ours(s.name)]
    return found


def remove(found: dict[str, list]) -> None:
    """Remove what leftovers() found, services and containers first; an image with children goes in a later pass."""
    for kind in ("services", "containers", "networks", "volumes"):
        for resource in found[kind]:
            try:
                resource.remove(force=True) if kind in ("containers", "volumes") else resource.remove()
            except docker.errors.NotFound:
                pass
    images = list(found["images"])
    for _ in range(len(images)):
        waiting = []
        for image in images:
            try:
                image.client.images.remove(image.id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:  # a child image still depends on it
                waiting.append(image)
        if not waiting:
            return
        images = waiting


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def shared_record(path: Path, empty: dict) -> Iterator[dict]:
    """A machine-wide JSON record that test runs share, held under a lock while the caller changes it."""
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(path.read_text()) if path.exists() else empty
        yield record
        path.write_text(json.dumps(record))


def runs() -> contextlib.AbstractContextManager[dict[str, int]]:
    """The machine-wide list of runs under way, held under a lock while the caller changes it."""
    return shared_record(RUNS, {})


def remove_dead_runs(client: docker.DockerClient) -> dict[str, dict[str, list]]:
    """Remove what each run whose process is gone left behind (a live run's things stay); return it by run."""
    with runs() as listed:
        dead = [run for run, pid in listed.items() if not alive(pid)]
        removed = {}
        for run in dead:
            found = leftovers(client, run)
            remove(found)
            removed[run] = {kind: items for kind, items in found.items() if items}
            del listed[run]
    return {run: found for run, found in removed.items() if found}

"""What this run left behind: every container, service, image, network and volume named or labelled with its RUN."""

import docker

from pytest_layercake.containers import LABEL, RUN


def ours(name: str) -> bool:
    return name.startswith("layercake-") and f"-{RUN}-" in name


def leftovers(client: docker.DockerClient) -> dict[str, list]:
    """Return what of this run is still there, by kind."""
    found = {
        "services": [],
        "containers": [
            c
            for c in client.containers.list(all=True, ignore_removed=True)
            if c.labels.get(LABEL) == RUN
            or ours(c.name)
            or ours(c.labels.get("com.docker.compose.project", ""))
            or ours(c.labels.get("com.docker.stack.namespace", ""))
        ],
        "images": [i for i in client.images.list() if (i.labels or {}).get(LABEL) == RUN or any(map(ours, i.tags))],
        # A swarm network outlives `docker swarm leave` for a moment, and then goes by itself.
        "networks": [n for n in client.networks.list() if ours(n.name) and n.attrs.get("Scope") != "swarm"],
        "volumes": [
            v for v in client.volumes.list() if ours(v.name) or (v.attrs.get("Labels") or {}).get(LABEL) == RUN
        ],
    }
    if client.info()["Swarm"]["LocalNodeState"] == "active":
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

"""The images the benchmark compares: the folders they are built from, their builds (timed and sized), and cleanup."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import docker

from bench.cache_mounts import add_dependency, remove_cache_mounts
from bench.config import APP_PORT, BASE_IMAGE, NAIVE_DOCKERFILE, NAIVE_MAIN, PEER_DEV_SERVER, PEERS, PROJECT, summary
from pytest_layercake.build import build


class Images:
    """This run's images: each variant built from a folder of its own, tagged and labelled with the run's id."""

    def __init__(self, client: docker.DockerClient, runs: int, work: Path):
        self.client, self.runs, self.work = client, runs, work
        self.run_id = uuid.uuid4().hex[:8]
        self.label = {"layercake.bench": self.run_id}
        self.image_ids: set[str] = set()

    def working_folder(self, name: str) -> Path:
        """Copy the project into a folder that also has what a real one has: a .git with history, and a venv."""
        folder = PROJECT.copy(self.work / name)
        git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "app"], check=True)
        # A dataset committed once and deleted later: gone from the folder, but 24 MB of history in .git.
        (folder / "sample.bin").write_bytes(os.urandom(24_000_000))
        subprocess.run([*git, "add", "sample.bin"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "add sample data"], check=True)
        subprocess.run([*git, "rm", "-q", "sample.bin"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "drop sample data"], check=True)
        # Named .venv, the name docker init's .dockerignore knows, so no peer pays for a folder's name.
        subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
        return folder

    def foreign_folder(self, source: Path, name: str, dockerfile: str, dev_server: bool) -> Path:
        """Copy layercake's folder without its Docker files and gunicorn settings, for another image's own."""
        folder = self.work / name.replace(" ", "-")
        shutil.copytree(source, folder, symlinks=True)
        for own in (".dockerignore", "gunicorn.conf.py"):
            (folder / own).unlink()
        (folder / "Dockerfile").write_text(dockerfile.replace("5000", str(APP_PORT)))
        if dev_server:
            app = folder / "app.py"
            text = app.read_text()
            main = NAIVE_MAIN.format(port=APP_PORT)
            app.write_text(text.split('\nif __name__ == "__main__":')[0].rstrip() + main)
        return folder

    def naive_folder(self, source: Path) -> Path:
        return self.foreign_folder(
            source, "naive", NAIVE_DOCKERFILE.format(base=BASE_IMAGE, port=APP_PORT), dev_server=True
        )

    def cache_id(self, variant: str) -> str:
        return f"layercake-bench-{self.run_id}-{variant.replace(' ', '-')}"

    def peer_folder(self, source: Path, name: str) -> Path:
        """A peer's folder: its Dockerfile (with a pip cache of this run's own) and its .dockerignore, if it has one."""
        stem = name.replace(" ", "-")
        dockerfile = (PEERS / f"{stem}.Dockerfile").read_text()
        dockerfile = dockerfile.replace("--mount=type=cache,", f"--mount=type=cache,id={self.cache_id(name)},")
        folder = self.foreign_folder(source, name, dockerfile, PEER_DEV_SERVER[name])
        if (PEERS / f"{stem}.dockerignore").exists():
            shutil.copy(PEERS / f"{stem}.dockerignore", folder / ".dockerignore")
        return folder

    def tag(self, variant: str) -> str:
        return f"layercake-bench-{self.run_id}:{variant.replace(' ', '-')}"

    def build(self, folder: Path, variant: str, nocache: bool, base: str = BASE_IMAGE):
        built = build(self.client, folder, self.tag(variant), base, nocache=nocache)
        self.image_ids.add(built.image.id)
        return built

    def cold_build(self, folder: Path, variant: str):
        """Build with no layer cache and an empty pip cache mount (`--no-cache` keeps cache mounts)."""
        remove_cache_mounts(self.cache_id(variant))
        return self.build(folder, variant, nocache=True)

    def builds(self, folders: dict[str, Path]) -> dict[str, dict]:
        """Time cold builds, rebuilds after a one-line app.py change and after one more dependency; size each image.
        Each round builds every variant in turn, so a slow spell of the machine hits them all alike."""
        timed = {variant: {"cold": [], "rebuild": [], "dependency": []} for variant in folders}
        for _ in range(self.runs):
            for variant, folder in folders.items():
                timed[variant]["cold"].append(self.cold_build(folder, variant))
        for run in range(self.runs):
            for variant, folder in folders.items():
                with (folder / "app.py").open("a") as app:
                    app.write(f"# edit {run}\n")
                timed[variant]["rebuild"].append(self.build(folder, variant, nocache=False).seconds)
        images = {variant: self.client.images.get(self.tag(variant)) for variant in folders}
        requirements = {variant: (folder / "requirements.txt").read_text() for variant, folder in folders.items()}
        for _ in range(self.runs):
            for variant, folder in folders.items():
                (folder / "requirements.txt").write_text(requirements[variant])
                self.build(folder, variant, nocache=False)  # back to the lock, from the layer cache
                add_dependency(folder)
                timed[variant]["dependency"].append(self.build(folder, variant, nocache=False).seconds)
        base = self.client.images.get(BASE_IMAGE).attrs["Size"]
        figures = {}
        for variant, folder in folders.items():
            (folder / "requirements.txt").write_text(requirements[variant])
            self.build(folder, variant, nocache=False)
            image = images[variant].attrs
            figures[variant] = {
                "cold_build_s": summary([built.seconds for built in timed[variant]["cold"]]),
                "rebuild_s": summary(timed[variant]["rebuild"]),
                "dependency_rebuild_s": summary(timed[variant]["dependency"]),
                "context_bytes": timed[variant]["cold"][0].context_bytes,
                "image_bytes": image["Size"],
                "overhead_bytes": image["Size"] - base,
                "user": image["Config"]["User"] or "root",
                "command": image["Config"]["Cmd"],
            }
        return figures

    def cleanup(self) -> None:
        remove_cache_mounts(f"layercake-bench-{self.run_id}")
        for container in self.client.containers.list(all=True, filters={"label": f"layercake.bench={self.run_id}"}):
            container.remove(force=True)
        for image_id in self.image_ids:
            try:
                self.client.images.remove(image_id, force=True)
            except docker.errors.ImageNotFound:
                pass

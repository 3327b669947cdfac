"""What the project's own layers add on top of the base image: each file, and which of them pip installed from the
lock (the files its RECORDs list), so that a check can judge the rest: the app's files, and anything that slipped in."""

import csv
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import docker


@dataclass
class OwnLayers:
    # path (no leading /) -> contents, as the last layer that wrote it left it
    files: dict[str, bytes] = field(default_factory=dict)
    # every byte the layers hold, a file written twice (or written, then deleted by a later layer) counted each time
    written_bytes: int = 0

    @classmethod
    def of(cls, client: docker.DockerClient, image: str, base_layers: int, scratch: Path) -> "OwnLayers":
        saved = scratch / "image.tar"
        with saved.open("wb") as out:
            for chunk in client.images.get(image).save():
                out.write(chunk)
        layers = cls()
        with tarfile.open(saved) as archive:
            (manifest,) = json.load(archive.extractfile("manifest.json"))
            for layer in manifest["Layers"][base_layers:]:
                with tarfile.open(fileobj=io.BytesIO(archive.extractfile(layer).read())) as layer_tar:
                    for member in layer_tar:
                        if member.isfile() and not posixpath.basename(member.name).startswith(".wh."):
                            layers.files[member.name] = layer_tar.extractfile(member).read()
                            layers.written_bytes += member.size
        saved.unlink()
        return layers

    @cached_property
    def installed(self) -> set[str]:
        """The files that pip installed: every path the RECORD of an installed distribution lists."""
        paths = set()
        for name, data in self.files.items():
            if name.endswith(".dist-info/RECORD"):
                site = posixpath.dirname(posixpath.dirname(name))
                for row in csv.reader(io.StringIO(data.decode())):
                    if row:
                        paths.add(posixpath.normpath(posixpath.join(site, row[0])))
        return paths & set(self.files)

    def installed_bytes(self) -> int:
        return sum(len(self.files[name]) for name in self.installed)

    def not_installed(self) -> dict[str, int]:
        """path -> size of each file the layers add that no installed distribution lists: the app's own, and clutter."""
        return {name: len(data) for name, data in self.files.items() if name not in self.installed}

"""Reproducible builds: two clean builds of one commit, with SOURCE_DATE_EPOCH set, must give the same bytes.

BuildKit's tar exporter writes the image's filesystem with every timestamp set to SOURCE_DATE_EPOCH; what is left
to differ is what the build itself writes (a date, a random name, a timestamped .pyc). `--load` can't rewrite the
timestamps of files in layers (BuildKit 0.13 refuses rewrite-timestamp when it unpacks into the image store), so
two loaded images share the base's layers but not the layers their RUN and COPY steps write.

`python -m pytest_layercake.reproduce [FOLDER]` builds FOLDER (default: here) twice and says what differs, if anything.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from pytest_layercake.project import NOT_COPIED, Project


def export(context: Path, dest: Path, base: str, epoch: str) -> Path:
    """Build context with no cache and write its filesystem as a tar (BuildKit's tar exporter) to dest."""
    command = ["docker", "buildx", "build", "--no-cache", "--progress=quiet", "--output", f"type=tar,dest={dest}"]
    command += ["--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"SOURCE_DATE_EPOCH={epoch}", str(context)]
    run = subprocess.run(command, check=False, capture_output=True, text=True)
    if run.returncode:
        raise AssertionError(f"`{' '.join(command)}` failed:\n{run.stderr[-3000:]}")
    return dest


def fresh_checkout(project: Project, dest: Path) -> Path:
    """Copy the project as a new clone would have it: the same files, every one written now."""
    shutil.copytree(project.root, dest, ignore=NOT_COPIED, copy_function=shutil.copy)
    return dest


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def members(path: Path) -> dict[str, tuple]:
    """Each file's name -> (type, mode, owner, mtime, size, content digest, link target)."""
    found = {}
    with tarfile.open(path) as archive:
        for member in archive:
            content = archive.extractfile(member).read() if member.isfile() else b""
            found[member.name] = (
                member.type,
                member.mode,
                (member.uid, member.gid),
                member.mtime,
                member.size,
                hashlib.sha256(content).hexdigest(),
                member.linkname,
            )
    return found


FIELDS = ("type", "mode", "owner", "mtime", "size", "content", "link")


def differences(first: Path, second: Path) -> list[str]:
    """Say, for every file that differs between two exports, what differs."""
    a, b = members(first), members(second)
    found = [f"{name}: only in the {'first' if name in a else 'second'} build" for name in sorted(a.keys() ^ b.keys())]
    for name in sorted(a.keys() & b.keys()):
        if a[name] != b[name]:
            what = [field for field, x, y in zip(FIELDS, a[name], b[name]) if x != y]
            found.append(f"{name}: {', '.join(what)}")
    return found


def compare(project: Project, work: Path, epoch: str) -> tuple[str, str, list[str]]:
    """Build two fresh copies of the project; return both digests and the differences."""
    digests, exports = [], []
    for name in ("first", "second"):
        context = fresh_checkout(project, work / name)
        exports.append(export(context, work / f"{name}.tar", project.base_image, epoch))
        digests.append(sha256(exports[-1]))
    return digests[0], digests[1], differences(*exports) if digests[0] != digests[1] else []


def main() -> None:
    project = Project(Path(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()).resolve())
    epoch = project.source_date_epoch
    with tempfile.TemporaryDirectory(prefix="layercake-reproduce-") as work:
        first, second, differ = compare(project, Path(work), epoch)
    print(f"SOURCE_DATE_EPOCH={epoch}\nfirst build:  sha256:{first}\nsecond build: sha256:{second}")
    if differ:
        print("the builds differ in:", *differ[:50], sep="\n  ")
        sys.exit(1)
    print("the two builds are identical")


if __name__ == "__main__":
    main()

"""A real working folder holds history, virtualenvs and secrets; .dockerignore keeps them out of the image."""

import io
import tarfile
import uuid

import pytest

from harness.budgets import CONTEXT_MAX_BYTES, MB
from harness.build import build

pytestmark = pytest.mark.docker

FAKE_SECRET = "AKIAFAKEFAKEFAKEFAKE"

# Path in the working folder -> contents. Each one is something a user's folder really has.
CLUTTER = {
    ".git/objects/pack/pack-big.pack": None,  # the 20 MB object, written below
    ".git/HEAD": "ref: refs/heads/main\n",
    "sub/.git/HEAD": "ref: refs/heads/main\n",
    "sub/keep.py": "KEPT = True\n",
    "venv/bin/python": "#!/bin/sh\n",
    "venv/pyvenv.cfg": "home = /usr/bin\n",
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    "__pycache__/app.cpython-313.pyc": "stale bytecode",
    "static/__pycache__/junk.pyc": "stale bytecode",
    ".env": f"AWS_ACCESS_KEY_ID={FAKE_SECRET}\n",
    "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n",
    "server.pem": "-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----\n",
    "tests/test_extra.py": "def test_nothing():\n    pass\n",
    "node_modules/left-pad/index.js": "module.exports = 1;\n",
}
# What must not reach /app, each a file or a whole folder.
LEFT_OUT = [
    ".git",
    "sub/.git",
    "venv",
    ".venv",
    "__pycache__",
    "static/__pycache__",
    ".env",
    "id_rsa",
    "server.pem",
    "tests",
    "node_modules",
]
# A source file one folder down: `**/` patterns must keep it (only its sub/.git goes).
NESTED_SOURCE = "sub/keep.py"


@pytest.fixture(scope="module")
def cluttered_build(tmp_path_factory, base_image, docker_client, project):
    """Build a temp copy of the project with a working folder's clutter planted in it."""
    folder = project.copy(tmp_path_factory.mktemp("cluttered") / "project")
    for name, text in CLUTTER.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.write_bytes(b"\0" * (20 * MB))
        else:
            path.write_text(text)
    built = build(docker_client, folder, f"layercake-test-cluttered:{uuid.uuid4().hex[:8]}", project.base_image)
    yield built
    docker_client.images.remove(built.image.id, force=True)


@pytest.fixture(scope="module")
def app_files(cluttered_build, docker_client) -> set[str]:
    """List the files under the image's WORKDIR in a container of the cluttered build, from its own filesystem."""
    workdir = cluttered_build.image.attrs["Config"]["WorkingDir"]
    container = docker_client.containers.create(cluttered_build.image.id)
    try:
        stream, _ = container.get_archive(workdir)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            top = workdir.rstrip("/").rpartition("/")[2]
            return {m.name.removeprefix(top).lstrip("/") for m in archive.getmembers() if m.isfile()}
    finally:
        container.remove(force=True)


def test_context_sent_is_small(cluttered_build, report):
    size = cluttered_build.context_bytes
    report["context_bytes"] = size
    assert size <= CONTEXT_MAX_BYTES, (
        f"the build context was {size / MB:.1f} MB although the folder only adds kB of app: "
        ".dockerignore must exclude **/.git, virtualenvs and other bulk"
    )


@pytest.mark.parametrize("name", LEFT_OUT)
def test_clutter_stays_out_of_the_image(app_files, name):
    leaked = sorted(path for path in app_files if path == name or path.startswith(f"{name}/"))
    assert not leaked, f"{name} from the working folder reached the image as {leaked}: add it to .dockerignore"


def test_app_files_are_kept(app_files, contract):
    missing = contract.unmatched(app_files)
    assert not missing, (
        f"app files missing from the image: nothing matches {missing} of image_files in layercake.toml "
        f"(the image holds {sorted(app_files)})"
    )
    assert NESTED_SOURCE in app_files, f"{NESTED_SOURCE} was left out: a .dockerignore pattern is too broad"
    unexpected = contract.unlisted(app_files - {NESTED_SOURCE})
    assert not unexpected, (
        f"unexpected files in the image: {unexpected}: add them to .dockerignore, or to image_files in "
        "layercake.toml if the app needs them"
    )

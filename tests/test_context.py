"""A real working folder holds history, virtualenvs and secrets; .dockerignore keeps them out of the image."""

import io
import tarfile
import uuid

import pytest
from budgets import CONTEXT_MAX_BYTES, MB
from support import build, copy_context

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
KEPT = {
    "app.py",
    "gunicorn.conf.py",
    "requirements.txt",
    "static",
    "static/favicon.svg",
    "static/hello.js",
    "static/index.html",
    "sub",
    "sub/keep.py",
}


@pytest.fixture(scope="module")
def cluttered_build(tmp_path_factory, base_image, docker_client):
    """Build a temp copy of the project with a working folder's clutter planted in it."""
    folder = copy_context(tmp_path_factory.mktemp("cluttered") / "project")
    for name, text in CLUTTER.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.write_bytes(b"\0" * (20 * MB))
        else:
            path.write_text(text)
    built = build(docker_client, folder, f"layercake-test-cluttered:{uuid.uuid4().hex[:8]}")
    yield built
    docker_client.images.remove(built.image.id, force=True)


@pytest.fixture(scope="module")
def app_files(cluttered_build, docker_client) -> set[str]:
    """List what /app holds in a container of the cluttered build, from the container's own filesystem."""
    container = docker_client.containers.create(cluttered_build.image.id)
    try:
        stream, _ = container.get_archive("/app")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            return {name.removeprefix("app").lstrip("/") for name in archive.getnames()} - {""}
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


def test_app_files_are_kept(app_files):
    assert KEPT <= app_files, f"app files missing from the image: {sorted(KEPT - app_files)}"
    assert app_files == KEPT, f"unexpected files in /app: {sorted(app_files - KEPT)}: add them to .dockerignore"

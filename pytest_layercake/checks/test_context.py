"""A real working folder holds history, virtualenvs and secrets; .dockerignore keeps them out of the image."""

import io
import re
import tarfile
from pathlib import Path

import pytest

from pytest_layercake.budgets import CONTEXT_MAX_BYTES, MB
from pytest_layercake.build import build, received_context
from pytest_layercake.containers import LABELS, run_name

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
# Credentials and local data that users' folders really hold; each must stay out of the image.
CREDENTIALS = {
    ".env.production": "DATABASE_URL=postgres://app:hunter2@db/app\n",
    "server.key": "-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----\n",
    "id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n",
    "cert.p12": "fake PKCS#12",
    "cert.pfx": "fake PKCS#12",
    ".netrc": "machine example.org login me password hunter2\n",
    ".pypirc": "[pypi]\npassword = hunter2\n",
    ".aws/credentials": f"[default]\naws_access_key_id = {FAKE_SECRET}\n",
    "db.sqlite": "SQLite format 3",
    "db.sqlite3": "SQLite format 3",
    "instance/config.py": "SECRET_KEY = 'hunter2'\n",
    "env/bin/python": "#!/bin/sh\n",
    "build/lib/app.py": "stale build output\n",
}
# The clutter that is a secret, kept out by .dockerignore's secrets section as the credentials are.
SECRET_CLUTTER = {".env", "id_rsa", "server.pem"}
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


def secret_patterns(dockerignore: str) -> list[str]:
    """Return the patterns of .dockerignore's secrets section: from its `# Secrets` comment to the next blank line."""
    lines = dockerignore.splitlines()
    starts = [n for n, line in enumerate(lines) if re.match(r"#\s*Secrets\b", line)]
    assert starts, ".dockerignore has no section whose comment starts with `# Secrets`: keep that section"
    section = []
    for line in lines[starts[0] + 1 :]:
        if not line.strip():
            break
        section.append(line.strip())
    return section


def planted_for(pattern: str) -> list[str]:
    """Return files that a pattern should keep out: at the top and, for a `**/` pattern, one folder down."""
    name = pattern.removeprefix("**/").replace("*", "planted")
    return [name, f"sub/{name}"] if pattern.startswith("**/") else [name]


@pytest.fixture(scope="module")
def dockerignore(project) -> str:
    return project.template_file(
        ".dockerignore", "it keeps the working folder's history, venvs and secrets out"
    ).read_text()


@pytest.fixture(scope="module")
def planted(dockerignore) -> dict[str, str]:
    """Every file the cluttered folder gets: the clutter, the credentials, and one per secret pattern."""
    files = dict(CLUTTER) | CREDENTIALS
    for pattern in secret_patterns(dockerignore):
        for name in planted_for(pattern):
            if not any(path == name or path.startswith(f"{name}/") for path in files):
                files[name] = "planted secret\n"  # a folder pattern (.aws) is already planted as a folder
    return files


@pytest.fixture(scope="module")
def cluttered(tmp_path_factory, project, planted) -> Path:
    """A temp copy of the project with a working folder's clutter planted in it."""
    folder = project.copy(tmp_path_factory.mktemp("cluttered") / "project")
    for name, text in planted.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.write_bytes(b"\0" * (20 * MB))
        else:
            path.write_text(text)
    return folder


@pytest.fixture(scope="module")
def cluttered_build(cluttered, base_image, docker_client, project):
    """The cluttered folder built with BuildKit, as `docker build` builds it."""
    built = build(docker_client, cluttered, f"{run_name('test')}:cluttered", project.base_image)
    yield built
    docker_client.images.remove(built.image.id, force=True)


@pytest.fixture(scope="module")
def received(cluttered) -> set[str]:
    """The files of the cluttered folder that BuildKit received as the build context."""
    return received_context(cluttered)


@pytest.fixture(scope="module")
def app_files(cluttered_build, docker_client) -> set[str]:
    """List the files under the image's WORKDIR in a container of the cluttered build, from its own filesystem."""
    workdir = cluttered_build.image.attrs["Config"]["WorkingDir"]
    container = docker_client.containers.create(cluttered_build.image.id, labels=LABELS)
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
def test_clutter_never_reaches_the_build(received, name):
    sent = sorted(path for path in received if path == name or path.startswith(f"{name}/"))
    assert not sent, f"{name} from the working folder was sent to the builder as {sent}: add it to .dockerignore"


@pytest.mark.parametrize("name", LEFT_OUT)
def test_clutter_stays_out_of_the_image(app_files, name):
    leaked = sorted(path for path in app_files if path == name or path.startswith(f"{name}/"))
    assert not leaked, f"{name} from the working folder reached the image as {leaked}: add it to .dockerignore"


def test_credentials_and_secrets_stay_out_of_the_image(received, app_files, planted, dockerignore):
    derived = {name for p in secret_patterns(dockerignore) for name in planted_for(p)}
    secrets = set(CREDENTIALS) | SECRET_CLUTTER | (derived & set(planted))
    leaked = sorted((received | app_files) & secrets)
    assert not leaked, (
        f"{leaked} from the working folder reached the image: keep them in .dockerignore's secrets section"
    )


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

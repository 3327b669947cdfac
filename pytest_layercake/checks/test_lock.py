"""The hash lock: every requirement pinned with its hashes, pip refusing a file that doesn't match, and an image that
holds exactly the lock on top of its base."""

import hashlib

import pytest

from pytest_layercake.supply import installed, read_lock

TAMPERED = "sha256:" + hashlib.sha256(b"not the published file").hexdigest()


@pytest.fixture(scope="module")
def lock(project):
    return read_lock(project.template_file("requirements.txt", "the image installs exactly this hash lock"))


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_lock_pins_every_package_with_its_hashes(project, name):
    if name != "requirements.txt" and not (project.root / name).exists():
        pytest.skip(f"{name} is not here")
    locked = read_lock(project.root / name)
    loose = [entry.name for entry in locked if not entry.version or not entry.hashes]
    assert locked and not loose, (
        f"{name} has packages without a version or a hash: {loose}; `make lock` pins each with == and --hash"
    )


@pytest.mark.docker
def test_changed_hash_fails_the_build(lock, project_copy, build_copy):
    """A file that differs from the one the lock names (a tampered mirror, a swapped upload) must stop the build."""
    requirements = project_copy / "requirements.txt"
    text = requirements.read_text()
    for digest in lock[0].hashes:
        text = text.replace(digest, TAMPERED)
    requirements.write_text(text)
    with pytest.raises(AssertionError) as failed:
        build_copy(project_copy)
    message = str(failed.value)
    assert "DO NOT MATCH THE HASHES" in message, f"the build failed, but not on the hash:\n{message[-2000:]}"
    shown = [line.strip() for line in message.splitlines() if "Expected sha256" in line or "Got " in line]
    print(f"pip refused {lock[0].name}=={lock[0].version}: {shown}")


@pytest.mark.docker
def test_image_holds_exactly_the_lock(lock, image, base_image, docker_client):
    """Everything the image's Python has beyond its base came from the lock, at the locked version."""
    ours = installed(docker_client, image)
    base = installed(docker_client, base_image.id)
    added = {name: version for name, version in ours.items() if base.get(name) != version}
    expected = {entry.name: entry.version for entry in lock}
    assert added == expected, (
        f"the image added {sorted(set(added.items()) - set(expected.items()))} beyond the lock and lacks "
        f"{sorted(set(expected.items()) - set(added.items()))}: install only `requirements.txt`, "
        "and add a dependency to requirements.in, then `make lock`"
    )

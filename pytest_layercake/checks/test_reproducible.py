"""Reproducible builds: two clean builds of one commit give the same bytes, and the image is dated by the commit."""

import datetime

import pytest

from pytest_layercake.build import build
from pytest_layercake.containers import run_name
from pytest_layercake.reproduce import compare

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def epoch(project) -> str:
    return project.source_date_epoch


def test_two_clean_builds_give_the_same_bytes(project, epoch, tmp_path):
    first, second, differ = compare(project, tmp_path, epoch)
    print(f"SOURCE_DATE_EPOCH={epoch}: sha256:{first}")
    assert first == second, (
        f"two clean builds of one commit differ in {len(differ)} file(s): {differ[:10]}. A build step writes the "
        "time or something random into the image: keep ARG SOURCE_DATE_EPOCH before pip install (hash-based .pyc), "
        "and write no dates, caches or __pycache__ in a RUN step"
    )


def test_image_is_dated_by_the_commit(project, epoch, docker_client, tmp_path):
    built = build(
        docker_client,
        project.copy(tmp_path / "project"),
        f"{run_name('dated')}:test",
        project.base_image,
        nocache=False,
        args={"SOURCE_DATE_EPOCH": epoch},
    )
    try:
        created = datetime.datetime.fromisoformat(built.image.attrs["Created"])
        assert created.timestamp() == int(epoch), (
            f"the image says it was created {created}, not at SOURCE_DATE_EPOCH={epoch}: BuildKit dates the image "
            "config by that build arg"
        )
    finally:
        docker_client.images.remove(built.image.id, force=True)

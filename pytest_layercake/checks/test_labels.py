"""The image says where it came from: the OCI labels, with the commit it was built from, and never an empty one."""

import pytest

from pytest_layercake.supply import GIT_LABELS, OCI, OCI_LABELS

pytestmark = pytest.mark.docker


def oci_labels(attrs: dict) -> dict[str, str]:
    labels = attrs["Config"].get("Labels") or {}
    return {name.removeprefix(OCI): value for name, value in labels.items() if name.startswith(OCI)}


@pytest.fixture(scope="module")
def labels(image_attrs) -> dict[str, str]:
    """The labels of the image as `make` builds it: BuildKit adds the git labels (BUILDX_GIT_LABELS=full)."""
    return oci_labels(image_attrs)


def test_image_carries_the_oci_labels(labels, project):
    # The git labels exist only in a checkout, and the source only with a remote: labels can't say what git doesn't.
    facts = project.git_facts
    expected = [name for name in OCI_LABELS if name not in GIT_LABELS or facts.get(name)]
    missing = [name for name in expected if not labels.get(name)]
    assert not missing, (
        f"the image lacks the OCI labels {[OCI + name for name in missing]}: set title, description and licenses in "
        "the Dockerfile's LABEL, and build with BUILDX_GIT_LABELS=full (the Makefile exports it) for the git ones"
    )


def lying(labels: dict[str, str], facts: dict[str, str]) -> dict[str, str]:
    """The git labels whose value is not what git says of the folder built (none, outside a checkout)."""
    # BuildKit marks a build of a checkout with uncommitted changes as <commit>-dirty.
    return {
        OCI + name: labels[name]
        for name in GIT_LABELS
        if labels.get(name) and labels[name].removesuffix("-dirty") != facts.get(name)
    }


def test_labels_name_the_commit(labels, project):
    """A git label is right or absent: outside a checkout there is no commit, so a revision label can only lie."""
    facts = project.git_facts
    wrong = lying(labels, facts)
    assert not wrong, (
        f"the image's labels say {wrong}, but git says {facts or 'nothing (this folder is no checkout)'}: build with "
        "BUILDX_GIT_LABELS=full, and set no revision or source label by hand"
    )


def test_plain_compose_build_has_no_empty_label(compose_stack, docker_client, project):
    """`docker compose up --build` as the README says, without the Makefile's setting: a label is right or absent."""
    plain = compose_stack(env={"BUILDX_GIT_LABELS": None})
    plain.compose("build", "web")
    try:
        labels = oci_labels(docker_client.images.get(plain.environ()["IMAGE"]).attrs)
    finally:
        docker_client.images.remove(plain.environ()["IMAGE"], force=True)
    empty = sorted(OCI + name for name, value in labels.items() if not value.strip())
    assert not empty, (
        f"a plain `docker compose build` labels the image with empty {empty}: a label is either right or absent, so "
        "leave git facts to BuildKit's git labels instead of build args with empty defaults"
    )
    wrong = lying(labels, project.git_facts)
    assert not wrong, (
        f"a plain `docker compose build` labels the image {wrong}, which git does not say of this folder: a label is "
        "either right or absent, so set no revision or source label by hand"
    )

"""The image says where it came from: the OCI labels, with the commit it was built from."""

import pytest

from harness.supply import GIT_LABELS, OCI, OCI_LABELS

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def labels(image_attrs) -> dict[str, str]:
    return {
        name.removeprefix(OCI): value
        for name, value in (image_attrs["Config"].get("Labels") or {}).items()
        if name.startswith(OCI)
    }


def test_image_carries_the_oci_labels(labels, project):
    # The git facts exist only in a checkout, and the source only with a remote: labels can't say what git doesn't.
    facts = {name.removeprefix("OCI_").lower(): value for name, value in project.git_facts.items()}
    expected = [name for name in OCI_LABELS if name not in GIT_LABELS or facts.get(name)]
    missing = [name for name in expected if not labels.get(name)]
    assert not missing, (
        f"the image lacks the OCI labels {[OCI + name for name in missing]}: set title, description and licenses in "
        "the Dockerfile's LABEL, and pass the OCI_* build args (docker-compose.yml passes them from the environment)"
    )


def test_labels_name_the_commit(labels, project):
    facts = project.git_facts
    if not facts:
        pytest.skip(f"{project.root} is not a git checkout: there is no commit to compare")
    said = {name: labels.get(name.removeprefix("OCI_").lower(), "") for name in facts}
    assert said == facts, (
        f"the labels say {said}, git says {facts}: compose passes OCI_REVISION, OCI_CREATED, OCI_VERSION and "
        "OCI_SOURCE to the build, and the created label is the commit's time, not the build's"
    )

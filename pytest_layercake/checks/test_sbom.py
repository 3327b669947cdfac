"""The image's SBOM: a CycloneDX document of the Python packages installed in the image (not of the lock file)."""

import json

import pytest

from pytest_layercake.supply import installed, read_lock, sbom, sbom_packages, sbom_tool_version

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def document(image, docker_client, tmp_path_factory) -> dict:
    found = sbom(docker_client, image, sbom_tool_version())
    (tmp_path_factory.mktemp("sbom") / "sbom.cdx.json").write_text(json.dumps(found, indent=2))
    return found


def test_sbom_is_cyclonedx_json(document):
    assert document.get("bomFormat") == "CycloneDX" and document.get("specVersion"), (
        f"the SBOM is not CycloneDX JSON: {sorted(document)[:10]}"
    )


def test_sbom_lists_the_lock_at_its_versions(document, project):
    listed = sbom_packages(document)
    wrong = {
        entry.name: (entry.version, listed.get(entry.name))
        for entry in read_lock(project.template_file("requirements.txt", "the image installs exactly this hash lock"))
        if listed.get(entry.name) != entry.version
    }
    assert not wrong, f"the SBOM disagrees with requirements.txt on {wrong} (locked, listed)"


def test_sbom_misses_nothing_the_image_runs(document, image, docker_client):
    listed = sbom_packages(document)
    missing = {
        name: version for name, version in installed(docker_client, image).items() if listed.get(name) != version
    }
    assert not missing, f"`pip list` in the image shows {missing}, which the SBOM lacks: generate it from the image"

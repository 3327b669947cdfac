"""An image is its base plus thin layers, and a good layer order lets a code change reuse the slow ones."""

import fnmatch
import re

import pytest

from pytest_layercake.budgets import (
    ALPINE_BEYOND_PACKAGES_MAX_BYTES,
    BEYOND_PACKAGES_MAX_BYTES,
    MB,
    WARM_COLD_RATIO_MAX,
)
from pytest_layercake.build import received_context
from pytest_layercake.containers import LABEL

pytestmark = pytest.mark.docker

INSTALL = "pip install"
# pip's cache of downloads and built wheels (~/.cache/pip, for the root user the install runs as).
PIP_CACHE = re.compile(r"(^|/)\.cache/pip/")


def test_image_adds_only_the_lock_and_the_app(own_layers, image_attrs, base_image, report):
    """Beyond its base, the image holds what pip installed from the lock, and the app's own few files: a file written
    in one layer and deleted in a later one, a download, the working folder's clutter all count against the budget."""
    installed = own_layers.installed_bytes()
    beyond = own_layers.written_bytes - installed
    report["image_size_mb"] = round(image_attrs["Size"] / MB, 2)
    report["overhead_above_base_mb"] = round((image_attrs["Size"] - base_image.attrs["Size"]) / MB, 2)
    report["installed_packages_mb"] = round(installed / MB, 2)
    report["beyond_the_packages_kb"] = round(beyond / 1000, 1)
    report["layer_count"] = len(image_attrs["RootFS"]["Layers"])
    biggest = sorted(own_layers.not_installed().items(), key=lambda item: -item[1])[:5]
    assert beyond <= BEYOND_PACKAGES_MAX_BYTES, (
        f"the image's own layers hold {beyond / MB:.1f} MB besides the packages pip installed from the lock (budget "
        f"{BEYOND_PACKAGES_MAX_BYTES / MB:.0f} MB; the biggest files: {biggest}): keep the working folder's clutter "
        "out (.dockerignore), and download, use and delete in one RUN"
    )


def test_image_keeps_no_pip_cache(own_layers):
    cached = sorted(name for name in own_layers.files if PIP_CACHE.search(name))
    assert not cached, f"pip's cache is in the image ({len(cached)} files, {cached[:3]}): install with --no-cache-dir"


def test_image_on_alpine_is_small(own_layers, image_attrs, project):
    """On the default alpine base, the image less its installed packages is little more than python:alpine."""
    if project.base_image.rpartition("/")[2] != project.default_base_image:
        pytest.skip(f"the size budget is for the default alpine base; BASE_IMAGE is {project.base_image}")
    size = image_attrs["Size"] - own_layers.installed_bytes()
    assert size <= ALPINE_BEYOND_PACKAGES_MAX_BYTES, (
        f"the image less its installed packages is {size / MB:.1f} MB on {project.base_image} (budget "
        f"{ALPINE_BEYOND_PACKAGES_MAX_BYTES / MB:.0f} MB): something big was added on top of python:alpine"
    )


def test_image_shares_the_base_layers(image_attrs, base_image, project):
    base_layers = base_image.attrs["RootFS"]["Layers"]
    layers = image_attrs["RootFS"]["Layers"]
    assert layers[: len(base_layers)] == base_layers, (
        f"the image does not start with the layers of {project.base_image}: build FROM the BASE_IMAGE argument"
    )
    assert len(layers) > len(base_layers), "the app adds no layer of its own"


@pytest.mark.timed
def test_code_change_reuses_the_dependency_layer(project_copy, build_copy, contract, report):
    cold = build_copy(project_copy, nocache=True)
    again = build_copy(project_copy)
    assert again.image.id == cold.image.id, (
        "an unchanged folder did not rebuild to the same image: some step is not cacheable"
    )

    contract.change.apply(project_copy)
    warm = build_copy(project_copy)
    assert warm.step(INSTALL).cached, (
        f"pip layer was rebuilt after a {contract.change.file} change: copy requirements.txt and install before "
        "copying the source"
    )
    assert warm.layers_through(INSTALL) == cold.layers_through(INSTALL), (
        f"the layers up to the pip install changed after a {contract.change.file} change: copy only "
        "requirements.txt before it"
    )
    assert warm.layers() != cold.layers(), f"the {contract.change.file} change did not reach the image"

    ratio = warm.seconds / cold.seconds
    report["cold_build_s"] = round(cold.seconds, 2)
    report["warm_rebuild_s"] = round(warm.seconds, 2)
    report["warm_cold_ratio"] = round(ratio, 3)
    assert ratio <= WARM_COLD_RATIO_MAX, (
        f"a rebuild after a code change took {warm.seconds:.2f} s, {ratio:.0%} of a cold build ({cold.seconds:.2f} s): "
        "the slow steps must come before COPY . ."
    )


def test_other_source_change_reuses_the_dependency_layer(project_copy, build_copy, contract):
    """Edit another file the image holds (the first that image_files names, besides the change's and the pins)."""
    # What .dockerignore lets through, by BuildKit's own matcher: a file it keeps out never reaches the image.
    sources = sorted(received_context(project_copy))
    others = [
        name
        for name in sources
        if name not in (contract.change.file, "requirements.txt")
        and any(fnmatch.fnmatch(name, pattern) for pattern in contract.image_files)
    ]
    if not others:
        pytest.skip(f"the image holds no source besides {contract.change.file}; the code change check covers it")
    before = build_copy(project_copy)
    with (project_copy / others[0]).open("a") as edited:
        edited.write("\n")
    after = build_copy(project_copy)
    assert after.step(INSTALL).cached, (
        f"pip layer was rebuilt after a change to {others[0]}: copy requirements.txt and install before copying the "
        "source"
    )
    assert after.layers_through(INSTALL) == before.layers_through(INSTALL)
    assert after.layers() != before.layers(), f"the change to {others[0]} did not reach the image"


def test_requirements_change_reruns_the_install(project_copy, build_copy):
    """Check the negative control: a change to requirements.txt must invalidate the pip layer."""
    before = build_copy(project_copy)
    with (project_copy / "requirements.txt").open("a") as requirements:
        requirements.write("# a one-line change\n")
    after = build_copy(project_copy)
    assert not after.step(INSTALL).cached, "pip install was taken from the cache although requirements.txt changed"
    assert after.layers_through(INSTALL) != before.layers_through(INSTALL), (
        "the pip layer stayed the same although requirements.txt changed"
    )


def test_failed_build_leaves_no_container(project_copy, build_copy, docker_client):
    dockerfile = project_copy / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("\nCOPY . .\n", "\nCOPY . .\nRUN exit 3\n", 1))
    # Tests and runs beside this one remove their containers while it lists them: ignore_removed skips those.
    before = {c.id for c in docker_client.containers.list(all=True, ignore_removed=True)}
    with pytest.raises(AssertionError, match="exit 3|non-zero code: 3|returned a non-zero code"):
        build_copy(project_copy)
    # Tests running beside this one start containers too, each labelled by the harness, compose or swarm.
    left = [
        c.name
        for c in docker_client.containers.list(all=True, ignore_removed=True)
        if c.id not in before and not any(key == LABEL or key.startswith("com.docker.") for key in c.labels)
    ]
    assert not left, (
        f"the failed build left the containers {left}: build with forcerm, as pytest_layercake/build.py does"
    )

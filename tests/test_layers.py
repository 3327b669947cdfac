"""An image is its base plus thin layers, and a good layer order lets a code change reuse the slow ones."""

import pytest
from budgets import ALPINE_TOTAL_MAX_BYTES, MB, OVERHEAD_MAX_BYTES, WARM_COLD_RATIO_MAX
from support import BASE_IMAGE, DEFAULT_BASE_IMAGE, copy_context

pytestmark = pytest.mark.docker

INSTALL = "pip install"


def test_image_overhead_above_base_is_small(image_attrs, base_image, report):
    overhead = image_attrs["Size"] - base_image.attrs["Size"]
    report["image_size_mb"] = round(image_attrs["Size"] / MB, 2)
    report["overhead_above_base_mb"] = round(overhead / MB, 2)
    report["layer_count"] = len(image_attrs["RootFS"]["Layers"])
    assert overhead <= OVERHEAD_MAX_BYTES, (
        f"the image is {overhead / MB:.1f} MB above its base (budget {OVERHEAD_MAX_BYTES / MB:.0f} MB): "
        "keep pip's cache out (--no-cache-dir) and the working folder's clutter out (.dockerignore)"
    )


@pytest.mark.skipif(
    BASE_IMAGE.rpartition("/")[2] != DEFAULT_BASE_IMAGE,
    reason=f"the total size budget is for the default alpine base; BASE_IMAGE is {BASE_IMAGE}",
)
def test_image_on_alpine_is_small(image_attrs):
    size = image_attrs["Size"]
    assert size <= ALPINE_TOTAL_MAX_BYTES, (
        f"the image is {size / MB:.1f} MB on {BASE_IMAGE} (budget {ALPINE_TOTAL_MAX_BYTES / MB:.0f} MB): "
        "something big was added on top of python:alpine"
    )


def test_image_shares_the_base_layers(image_attrs, base_image):
    base_layers = base_image.attrs["RootFS"]["Layers"]
    layers = image_attrs["RootFS"]["Layers"]
    assert layers[: len(base_layers)] == base_layers, (
        f"the image does not start with the layers of {BASE_IMAGE}: build FROM the BASE_IMAGE argument"
    )
    assert len(layers) > len(base_layers), "the app adds no layer of its own"


@pytest.fixture
def project_copy(tmp_path):
    return copy_context(tmp_path / "project")


def test_code_change_reuses_the_dependency_layer(project_copy, builder, report):
    cold = builder(project_copy, nocache=True)
    again = builder(project_copy)
    assert again.image.id == cold.image.id, (
        "an unchanged folder did not rebuild to the same image: some step is not cacheable"
    )

    with (project_copy / "app.py").open("a") as app:
        app.write("\n# a one-line change\n")
    warm = builder(project_copy)
    assert warm.step(INSTALL).cached, (
        "pip layer was rebuilt after an app.py change: copy requirements.txt and install before copying the source"
    )
    assert warm.layers_through(INSTALL) == cold.layers_through(INSTALL), (
        "the layers up to the pip install changed after an app.py change: copy only requirements.txt before it"
    )
    assert warm.layers()[-1] != cold.layers()[-1], "the app.py change did not reach the image"

    ratio = warm.seconds / cold.seconds
    report["cold_build_s"] = round(cold.seconds, 2)
    report["warm_rebuild_s"] = round(warm.seconds, 2)
    report["warm_cold_ratio"] = round(ratio, 3)
    assert ratio <= WARM_COLD_RATIO_MAX, (
        f"a rebuild after a code change took {warm.seconds:.2f} s, {ratio:.0%} of a cold build ({cold.seconds:.2f} s): "
        "the slow steps must come before COPY . ."
    )


def test_page_change_reuses_the_dependency_layer(project_copy, builder):
    before = builder(project_copy)
    index = project_copy / "static" / "index.html"
    index.write_text(index.read_text().replace("Hello from Mary", "Hello from Mary and Ivan"))
    after = builder(project_copy)
    assert after.step(INSTALL).cached, (
        "pip layer was rebuilt after a static/ change: copy requirements.txt and install before copying the source"
    )
    assert after.layers_through(INSTALL) == before.layers_through(INSTALL)
    assert after.layers()[-1] != before.layers()[-1], "the page change did not reach the image"


def test_requirements_change_reruns_the_install(project_copy, builder):
    """Check the negative control: a change to requirements.txt must invalidate the pip layer."""
    before = builder(project_copy)
    with (project_copy / "requirements.txt").open("a") as requirements:
        requirements.write("# a one-line change\n")
    after = builder(project_copy)
    assert not after.step(INSTALL).cached, "pip install was taken from the cache although requirements.txt changed"
    assert after.layers_through(INSTALL) != before.layers_through(INSTALL), (
        "the pip layer stayed the same although requirements.txt changed"
    )

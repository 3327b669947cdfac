"""This repository is a copier template: rendered with the default answers it is this repository, less its own parts
(so there is no second copy to drift), and the answers reach every file that would otherwise be edited by hand."""

import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from pytest_layercake.contract import load
from tests import copier_cli
from tests.parts import PROJECT_PARTS, excluded

# What a project gets as its own instead of this repository's file (.copier/answers.py writes it): its own README and
# pyproject.toml, and .dockerignore and .checkov.yaml without their lines about this repository's own parts.
REWRITTEN = {"README.md", "pyproject.toml", ".dockerignore", ".checkov.yaml", ".github/workflows/ci.yml"}
ANSWERS_TEMPLATE = "{{ _copier_conf.answers_file }}.jinja"
ANSWERS_FILE = ".copier-answers.yml"
MAKE_TARGET = re.compile(r"^([a-z][a-z-]*):", re.MULTILINE)


@pytest.fixture(scope="module")
def root_files(project) -> set[str]:
    """The files of this repository, as git sees them (tracked, and new ones it does not ignore)."""
    listed = subprocess.run(
        ["git", "-C", str(project.root), "ls-files", "--cached", "--others", "--exclude-standard"],
        check=False,
        capture_output=True,
        text=True,
    )
    if listed.returncode:
        pytest.skip(f"{project.root} is not a git checkout: copier renders a git repository")
    return {name for name in listed.stdout.splitlines() if (project.root / name).is_file()}


def render(project, dest, **answers):
    """`copier copy` of this working tree (uncommitted changes included) with answers, the rest by default."""
    return copier_cli.copy(project.root, dest, "HEAD", answers)


@pytest.fixture(scope="module")
def default_render(project, root_files, tmp_path_factory):
    return render(project, tmp_path_factory.mktemp("render") / "layercake")


def files_of(folder) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file() and ".git" not in path.parts}


def is_excluded(name: str) -> bool:
    return any(name == entry or name.startswith(f"{entry}/") for entry in excluded())


def test_default_render_is_this_repository(project, root_files, default_render):
    rendered = files_of(default_render)
    expected = {name for name in root_files if not is_excluded(name)} - {ANSWERS_TEMPLATE}
    missing, extra = sorted(expected - rendered), sorted(rendered - expected - {ANSWERS_FILE})
    differ = sorted(
        name
        for name in expected & rendered
        if name not in REWRITTEN and (project.root / name).read_bytes() != (default_render / name).read_bytes()
    )
    assert not (missing or extra or differ), (
        f"the template rendered with its defaults is not this repository: {differ} differ, {missing} are missing, "
        f"{extra} are extra. Keep the template's files plain (.copier/answers.py applies the answers) and list a "
        "deliberate difference in copier.yml's _exclude or in REWRITTEN here"
    )


def test_generated_project_holds_none_of_this_repositorys_parts(default_render):
    kept = [part for part in PROJECT_PARTS if (default_render / part).exists()]
    assert not kept, f"a generated project got {kept}, this repository's own parts: add them to copier.yml's _exclude"
    assert (default_render / ANSWERS_FILE).is_file(), f"no {ANSWERS_FILE}: `copier update` would need flags"


def test_every_make_command_named_in_the_project_exists(default_render):
    """The generated README and user CI name only commands that its Makefile has (no bench or docs targets)."""
    targets = set(MAKE_TARGET.findall((default_render / "Makefile").read_text()))
    named = re.findall(r"\bmake ([a-z][a-z-]*)", (default_render / "README.md").read_text())
    for workflow in (default_render / ".github" / "workflows").glob("*.yml"):
        steps = [step for job in yaml.safe_load(workflow.read_text())["jobs"].values() for step in job["steps"]]
        named += [name for step in steps for name in re.findall(r"\bmake ([a-z][a-z-]*)", step.get("run", ""))]
    missing = sorted(set(named) - targets)
    assert named and not missing, f"the project's README or CI runs `make {missing}`, which its Makefile lacks"


@pytest.fixture(scope="module")
def shop(project, root_files, tmp_path_factory):
    """A project made with every answer other than the default."""
    answers = {
        "project_name": "shop",
        "port": 8080,
        "serves_page": False,
        "writable": ["/app/instance", "/data"],
        "kubernetes": True,
    }
    return render(project, tmp_path_factory.mktemp("render") / "shop", **answers)


def test_answers_reach_the_project(shop):
    contract = load(shop)
    assert (contract.port, contract.page, contract.writable) == (8080, None, ("/tmp", "/app/instance", "/data"))
    dockerfile = (shop / "Dockerfile").read_text()
    for line in (
        "ENV PORT=8080",
        'title="shop"',
        "RUN mkdir -p /app/instance && chown 10001:0 /app/instance && chmod g=u /app/instance",
    ):
        assert line in dockerfile, f"the Dockerfile lacks {line!r}"
    web = yaml.safe_load((shop / "docker-compose.yml").read_text())["services"]["web"]
    assert web["image"] == "${IMAGE:-shop:dev}", web["image"]
    assert {v["target"] for v in web["volumes"]} == {"/tmp", "/app/instance", "/data"}, web["volumes"]
    assert yaml.safe_load((shop / "docker-compose.override.yml").read_text())["services"]["web"]["ports"] == [
        "127.0.0.1:${PORT:-8080}:8080"
    ]
    assert "app.run(port=8080)" in (shop / "app.py").read_text()
    deployment = yaml.safe_load((shop / "deploy" / "k8s" / "deployment.yaml").read_text())
    assert deployment["metadata"]["name"] == "shop", "the Kubernetes names keep the template's"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/app/instance", "/data"}, (
        "the Deployment does not mount each writable folder"
    )
    # The project's own checks of its manifests, run there: the declared folder under /app is accepted.
    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-m", "not docker", "-k", "k8s"],
        cwd=shop,
        check=False,
        capture_output=True,
        text=True,
    )
    assert checks.returncode == 0, f"the project's Kubernetes checks fail:\n{checks.stdout[-3000:]}"
    assert (shop / "README.md").read_text().startswith("# shop\n"), "the project's README is not titled by its name"
    pyproject = tomllib.loads((shop / "pyproject.toml").read_text())
    assert "project" not in pyproject, "the project's pyproject.toml still packages this repository's plugin"


@pytest.mark.parametrize("writable", [["/data", "/data"], ["/app/data", "/app-data"]])
def test_writable_folders_that_share_a_volume_are_refused(project, tmp_path, writable):
    """Each folder's volume is named after its path (/app/data is app-data), so two folders must not share a name."""
    with pytest.raises(AssertionError, match="same volume name as another folder"):
        render(project, tmp_path / "project", writable=writable)


# What a project must not say of the template it came from: its name (but in the plugin's own names), "the guide",
# an issue number, a path to a part of this repository that a project never gets, and a line that the copier task
# drops for being this repository's own.
ALLOWED_NAME = re.compile(r"pytest[_-]layercake|layercake[.-]|layercake report")
STORY = re.compile(
    r"\blayercake\b|\bguide\b|\bissue \d|\b(?:docs|bench|examples)/|README\.ru\.md|\.ci/|GNUmakefile|project\.mk"
    r"|\bcopier\.yml\b|This repository's own",
    re.IGNORECASE,
)


def test_generated_project_tells_none_of_the_templates_story(shop):
    told = []
    for path in sorted(shop.rglob("*")):
        if not path.is_file() or path.name == ANSWERS_FILE:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # an icon or other binary file
        for number, line in enumerate(text.splitlines(), 1):
            for found in STORY.finditer(ALLOWED_NAME.sub("", line)):
                told.append(f"{path.relative_to(shop)}:{number}: {found[0]!r} in {line.strip()[:100]!r}")
    assert not told, (
        "a generated project tells the template's own story (its name, the guide, issues, or parts it does not get); "
        "reword the template's line, or drop it for projects in .copier/answers.py:\n" + "\n".join(told)
    )

"""The template holds for another app, and for years: a project generated from an earlier release, made the notes
app's own as "Make it yours" says, and updated by copier keeps the owner's files and gets the template's changes; the
harness run there is green, each breakage of it is caught by the check that names it, and the plugin's wheel runs the
same harness without the project's copy of it."""

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_layercake.budgets import TEMPLATE_RUN_MAX_S
from pytest_layercake.contract import load
from pytest_layercake.project import NOT_COPIED
from pytest_layercake.tools import tool
from tests import copier_cli
from tests.parts import GUIDE_APP

pytestmark = [pytest.mark.docker, pytest.mark.template, pytest.mark.runs_harness]

# The harness's slow load test and its emulated arm64 build are left out of the copy's runs: they prove nothing about
# the app's shape that the root's run doesn't.
MARKERS = "not slow and not emulated"


def edit(path: Path, old: str, new: str) -> None:
    """Replace old by new in path, as a user following the README would; fail if the template moved on."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r} once: update 'Make it yours' and this test"
    path.write_text(text.replace(old, new))


def run_harness(project, folder: Path, *args: str, python: str = sys.executable) -> dict[str, str]:
    """Run pytest in folder with python (its conftest, or the installed plugin, loads the harness); return test id ->
    passed, failed or skipped."""
    junit = folder / "build" / "junit.xml"
    result = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", "-q", *args],
        check=False,
        cwd=folder,
        env=os.environ | {"BASE_IMAGE": project.base_image},
        capture_output=True,
        text=True,
        timeout=TEMPLATE_RUN_MAX_S,
    )
    if not junit.exists():
        pytest.fail(f"pytest did not run in the copy (exit {result.returncode}):\n{result.stdout[-3000:]}")
    outcomes = {}
    for case in ET.parse(junit).iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcome = "failed" if kinds & {"failure", "error"} else "skipped" if kinds else "passed"
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = outcome
    outcomes["_output"] = result.stdout
    return outcomes


@pytest.fixture(scope="module")
def example(project) -> Path:
    return project.part("examples/notes", "the second app belongs to the template's own checks")


# The template's git commands, with an identity of their own, so that they work on any machine.
GIT = [
    "git",
    "-c",
    "user.name=layercake tests",
    "-c",
    "user.email=tests@layercake.invalid",
    "-c",
    "init.defaultBranch=main",
]
# Two releases of a scratch clone of the template: the earlier one as the template was before its restart policy had
# one source, and the working tree, tagged with pyproject.toml's version.
EARLIER = "0.2.0"
NOW = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]["version"]
EARLIER_CHANGE = ("compose.yaml", "    stop_grace_period:", "    restart: on-failure:5\n    stop_grace_period:")
# ...and whose guide app answered differently: a change to a file the owner replaces, which must not reach the owner.
EARLIER_APP = ("app.py", 'return "nice to meet you"', 'return "nice to meet you!"')
# What the notes app's owner answers `copier copy` (README "Make it yours").
NOTES_ANSWERS = {"project_name": "notes", "port": 8000, "serves_page": False, "writable": ["/app/instance"]}


def git(folder: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


def commit_all(folder: Path, message: str) -> None:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture(scope="module")
def releases(project, tmp_path_factory) -> Path:
    """A scratch git repository of the template, tagged at an earlier release and at the working tree; it needs no
    tag of this repository, so a clone without tags works too."""
    repo = project.copy(tmp_path_factory.mktemp("template") / "layercake")
    git(repo, "init", "-q")
    for file, before, earlier in (EARLIER_CHANGE, EARLIER_APP):
        edit(repo / file, before, earlier)
    commit_all(repo, "the earlier release")
    git(repo, "tag", EARLIER)
    for file, before, earlier in (EARLIER_CHANGE, EARLIER_APP):
        edit(repo / file, earlier, before)
    commit_all(repo, "the release under test")
    git(repo, "tag", NOW)
    return repo


def generate(releases: Path, dest: Path, ref: str, answers: dict) -> Path:
    """`copier copy` of a release, answered, into a new git repository, as its owner starts one."""
    copier_cli.copy(releases, dest, ref, answers)
    git(dest, "init", "-q")
    commit_all(dest, "generated from the template")
    return dest


def update(project_folder: Path) -> None:
    """`copier update` to the template's latest release, with the answers the project was made with."""
    copier_cli.update(project_folder)


@pytest.fixture(scope="module")
def updated(releases, example, tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A project generated from the earlier release, made the notes app's own (README "Make it yours"), then updated
    to the release under test; with the owner's files as the owner committed them."""
    folder = generate(releases, tmp_path_factory.mktemp("second-app") / "notes", EARLIER, NOTES_ANSWERS)
    for name in GUIDE_APP:
        target = folder / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    shutil.copytree(example, folder, dirs_exist_ok=True)
    commit_all(folder, "the notes app")
    owned = {str(p.relative_to(example)): p.read_bytes() for p in example.rglob("*") if p.is_file()}
    update(folder)
    return folder, owned


@pytest.fixture(scope="module")
def second_app(updated) -> Path:
    return updated[0]


def test_update_keeps_the_owners_files(updated):
    folder, owned = updated
    changed = sorted(name for name, content in owned.items() if (folder / name).read_bytes() != content)
    assert not changed, (
        f"`copier update` changed the owner's files {changed} (the template changed {EARLIER_APP[0]} since "
        f"{EARLIER}): keep the files an owner replaces in copier.yml's _skip_if_exists"
    )


def test_update_brings_the_templates_changes(updated, releases):
    folder, _ = updated
    answers = (folder / ".copier-answers.yml").read_text()
    assert f"_commit: {NOW}" in answers, f"the project was not updated to {NOW}:\n{answers}"
    file, _, earlier = EARLIER_CHANGE
    assert earlier not in (folder / file).read_text(), f"the template's change to {file} since {EARLIER} did not arrive"


def test_update_leaves_no_conflict(updated):
    folder, _ = updated
    files = git(folder, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    files = sorted(set(files))  # an unmerged file is listed once per stage
    rejected = [name for name in files if name.endswith(".rej")]
    marked = [
        name
        for name in files
        if any(
            line.startswith(("<<<<<<< ", ">>>>>>> "))
            for line in (folder / name).read_text(errors="replace").splitlines()
        )
    ]
    assert not rejected and not marked, f"`copier update` left {rejected} and conflict markers in {marked}"


@pytest.mark.parametrize("command", ["update", "recopy"])
def test_changed_answers_reach_the_owners_files(releases, tmp_path, command):
    """`copier update` (or `recopy`) `-d port=... -d writable=...` of a project whose owner made the contract and app.py
    their own: the answer reaches them too, and the project agrees with itself."""
    folder = generate(releases, tmp_path / "reanswered", NOW, {"port": 8080, "writable": ["/data"]})
    edit(folder / "layercake.toml", "\n[change]\n", "\n# The owner's own note.\n[change]\n")
    edit(folder / "app.py", "\n\nif __name__", "\n\n# The owner's own route goes here.\n\nif __name__")
    commit_all(folder, "the owner's contract and app")
    # recopy renders the release over the project, so it asks before each file it overwrites, unless told.
    overwrite = ["--overwrite"] if command == "recopy" else []
    copier_cli.copier(
        command,
        *overwrite,
        "--quiet",
        "--trust",
        "--defaults",
        "-d",
        "port=9000",
        "-d",
        'writable=["/app/instance"]',
        cwd=folder,
    )
    contract = load(folder)
    assert (contract.port, contract.writable) == (9000, ("/tmp", "/app/instance")), (
        f"the owner's layercake.toml says port {contract.port}, writable {contract.writable} after the new answers"
    )
    assert "The owner's own note." in (folder / "layercake.toml").read_text(), (
        "the owner's edit of the contract is lost"
    )
    app = (folder / "app.py").read_text()
    assert "app.run(port=9000)" in app and "own route" in app, "app.py lost the owner's edit or kept the old port"
    dockerfile = (folder / "Dockerfile").read_text()
    assert "ENV PORT=9000" in dockerfile and "mkdir -p /app/instance" in dockerfile and "/data" not in dockerfile
    # The project's own tests, and the harness's checks that need no engine (the contract against the files), agree.
    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-m", "not docker"]
        + ["tests/test_app.py", "tests/test_contract_file.py", "pytest_layercake"],
        cwd=folder,
        check=False,
        capture_output=True,
        text=True,
    )
    assert checks.returncode == 0, f"the re-answered project's checks fail:\n{checks.stdout[-3000:]}"


# A release whose Dockerfile no longer holds the line the task puts a writable folder's `mkdir` before.
BROKEN_ANCHOR = ("Dockerfile", "\nCOPY requirements.txt .\n", "\nCOPY requirements.txt ./\n")


def test_update_that_breaks_a_task_anchor_changes_nothing(releases, tmp_path):
    """The task fails on a template change it can't apply: the project is as it was, and the message names the text."""
    folder = generate(releases, tmp_path / "anchored", EARLIER, {"writable": ["/app/instance"]})
    broken = tmp_path / "broken-release"
    git(tmp_path, "clone", "-q", str(releases), str(broken))
    git(broken, "checkout", "-q", NOW)
    edit(broken / BROKEN_ANCHOR[0], *BROKEN_ANCHOR[1:])
    commit_all(broken, "a release that moved the task's anchor")
    # A tag that is no version, so that no other test's `copier update` takes it for the latest release.
    git(broken, "push", "-q", "origin", "HEAD:refs/tags/broken-anchor")
    result = subprocess.run(
        [tool("copier"), "update", "--quiet", "--trust", "--defaults", "--vcs-ref", "broken-anchor"],
        check=False,
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0, "`copier update` passed although its task could not place the writable folder"
    assert repr(BROKEN_ANCHOR[1]) in result.stderr, f"the failure does not name the text it missed:\n{result.stderr}"
    left = git(folder, "status", "--porcelain", "--untracked-files=all")
    assert not left, f"the failed update left the project changed (.copier/answers.py should restore it):\n{left}"


def test_update_shows_a_conflict_with_the_owners_edit(releases, tmp_path, report):
    """The owner edited the line the template also changed: copier leaves both versions, marked, in the file."""
    folder = generate(releases, tmp_path / "edited", EARLIER, {})
    file, _, earlier = EARLIER_CHANGE
    edit(folder / file, earlier, earlier.replace("on-failure:5", "always"))
    commit_all(folder, "the owner's restart policy")
    update(folder)
    text = (folder / file).read_text()
    start, end = text.find("<<<<<<<"), text.find(">>>>>>>")
    assert start >= 0 and end > start, f"the conflicting edit of {file} was merged without a word:\n{text}"
    hunk = text[start : text.index("\n", end)]
    report["update_conflict"] = hunk
    assert "restart: always" in hunk, f"the owner's line is not among the conflict's sides:\n{hunk}"


# Its own group, so that another worker runs it beside the rest of this module.
@pytest.mark.xdist_group("second-app-from-the-wheel")
def test_second_app_passes_every_generic_proof_from_the_installed_wheel(project, second_app, tmp_path, report):
    """The updated notes project, with only what a project of the installed plugin needs: no conftest.py, no copy of
    the harness, no marker list. (The copy in a generated project runs green in `.ci/run`'s generated project.)"""
    folder = wheel_project(second_app, tmp_path / "notes")
    python = python_with_the_wheel(project, tmp_path)
    loaded = subprocess.run(
        [python, "-c", "import pytest_layercake; print(pytest_layercake.__file__)"],
        check=True,
        cwd=folder,
        capture_output=True,
        text=True,
    ).stdout
    assert Path(loaded).is_relative_to(tmp_path / "venv"), f"the harness came from {loaded}, not the installed wheel"
    # It has no pyproject.toml: its run gets the template's options (the workers side by side) on the command line.
    addopts = tomllib.loads((project.root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    outcomes = run_harness(project, folder, "-m", MARKERS, *addopts, python=python)
    output = outcomes.pop("_output")
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    passed = [name for name, outcome in outcomes.items() if outcome == "passed"]
    report["second_app"] = {"passed": len(passed), "skipped": sum(o == "skipped" for o in outcomes.values())}
    report["second_app"]["failed"] = len(failed)
    assert not failed, f"with examples/notes swapped in, these checks fail: {failed}\n{output[-4000:]}"
    assert len(passed) > 100, f"only {len(passed)} harness checks passed in the notes project:\n{output[-2000:]}"
    for module in ("test_layers", "test_context", "test_process", "test_signals", "test_compose", "test_swarm"):
        # The plugin's checks are named by their module alone (test_layers::...), a copy's by its path.
        assert any(name.split("::")[0].split(".")[-1] == module for name in passed), (
            f"no check of {module} passed in the notes project"
        )


# name -> (the file, the text the breakage replaces, its replacement, and the check that must go red)
BREAKAGES = {
    "root user": ("Dockerfile", "\nUSER 10001:10001\n", "\n", "test_process.py::test_processes_do_not_run_as_root"),
    "source copied before the install": (
        "Dockerfile",
        "\nCOPY requirements.txt .\n",
        "\nCOPY . .\n",
        "test_layers.py::test_other_source_change_reuses_the_dependency_layer",
    ),
    "no volume on the writable folder": (
        "compose.yaml",
        "      - type: volume\n        source: app-instance\n        target: /app/instance\n",
        "",
        "test_compose.py::test_stack_root_filesystem_is_read_only_but_writable_paths_work",
    ),
    "a writable folder under /app the contract does not declare": (
        "layercake.toml",
        'writable = ["/tmp", "/app/instance"]',
        'writable = ["/tmp"]',
        "test_process.py::test_app_user_cannot_change_the_app",
    ),
    "one thread per worker": (
        "gunicorn.conf.py",
        "threads = 4",
        "threads = 1",
        "test_bad_input.py::test_slow_client_does_not_block_others",
    ),
    "stop_grace_period shorter than graceful_timeout": (
        "compose.yaml",
        "stop_grace_period: 15s",
        "stop_grace_period: 5s",
        "test_compose.py::test_stop_grace_period_outlasts_graceful_timeout",
    ),
    "graceful_timeout longer than Docker's stop timeout": (
        "gunicorn.conf.py",
        "graceful_timeout = 8",
        "graceful_timeout = 12",
        "test_signals.py::test_graceful_timeout_ends_before_docker_kills",
    ),
    "a second restart policy": (
        "compose.yaml",
        "    stop_grace_period:",
        "    restart: always\n    stop_grace_period:",
        "test_compose.py::test_restart_policy_has_one_source",
    ),
    "health checked every 5 minutes, 10 retries": (
        "compose.yaml",
        "      interval: 10s\n      timeout: 3s\n      retries: 3\n",
        "      interval: 5m\n      timeout: 3s\n      retries: 10\n",
        "test_compose.py::test_dead_app_is_noticed_in_time[compose]",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_breakage_of_the_second_app_is_caught(project, second_app, tmp_path, breakage):
    broken = tmp_path / "broken"
    shutil.copytree(second_app, broken)
    file, old, new, check = BREAKAGES[breakage]
    edit(broken / file, old, new)
    check = f"pytest_layercake/checks/{check}"
    outcomes = run_harness(project, broken, check, "-n", "0")
    output = outcomes.pop("_output")
    assert list(outcomes.values()) == ["failed"], f"{check} did not catch '{breakage}': {outcomes}\n{output[-3000:]}"


# What a project that installs the plugin needs besides it: the app, the files the image and compose are made of, and
# the contract; no conftest.py, no pyproject.toml, no copy of the harness.
WHEEL_PROJECT = [
    "app.py",
    "notes",
    "baseline.py",
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    "compose.override.yaml",
    "compose.dev.yaml",
    "gunicorn.conf.py",
    "requirements.txt",
    "layercake.toml",
]


def wheel_project(app: Path, dest: Path) -> Path:
    """Copy only WHEEL_PROJECT of the app's folder to dest."""
    dest.mkdir()
    for name in WHEEL_PROJECT:
        (shutil.copytree if (app / name).is_dir() else shutil.copy)(app / name, dest / name)
    return dest


def python_with_the_wheel(project, scratch: Path) -> str:
    """Build the plugin's wheel from a copy of its sources, and install it into a fresh virtualenv that sees the pinned
    test tools of this run (`make venv` installed them from requirements-dev.txt) through a .pth file; return that
    virtualenv's python."""
    source = scratch / "source"
    source.mkdir()
    shutil.copy(project.root / "pyproject.toml", source)
    shutil.copytree(project.root / "pytest_layercake", source / "pytest_layercake", ignore=NOT_COPIED)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", scratch / "dist", source], check=True, capture_output=True)
    (wheel,) = (scratch / "dist").glob("pytest_layercake-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", scratch / "venv"], check=True)
    python = str(scratch / "venv" / "bin" / "python")
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([python, "-c", purelib], check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "layercake-tools.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([*pip, "--python", python, "install", "--no-deps", wheel], check=True, capture_output=True)
    # ...and the tools' venv (hadolint, kubectl, checkov), which the checks look for inside the test venv.
    (scratch / "venv" / "tools").symlink_to(Path(sys.prefix) / "tools")
    return python

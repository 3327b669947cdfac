"""The template holds for another app, and for years: a project generated from an earlier release, made the notes
app's own as "Make it yours" says, and updated by copier keeps the owner's files and gets the template's changes, file
for file what a new project with the same answers and edits gets; each breakage of it is caught by the check that names
it, and the plugin's wheel holds the same harness as the project's copy and runs it there."""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pytest_layercake import durations
from pytest_layercake.budgets import TEMPLATE_RUN_MAX_S
from pytest_layercake.contract import load
from pytest_layercake.project import NOT_COPIED
from pytest_layercake.tools import tool
from tests import copier_cli
from tests.parts import GUIDE_APP

pytestmark = [pytest.mark.docker, pytest.mark.template, pytest.mark.runs_harness]

# The wheel's run in the updated project: what `make check` runs, and the proofs of the [write] records, which only the
# notes app declares. Every other proof runs on a project of these answers in .ci/run's I Hate Money project (a writable
# folder, port 8000, the Kubernetes manifests), and on the template's defaults in the root's run.
WHEEL_RUN = "inner_loop or not docker or durability"


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
# The releases before this one, newest first, with their commits (CHANGELOG.md's headings), and this one, the working
# tree, tagged with pyproject.toml's version.
ROOT = Path(__file__).resolve().parent.parent
RELEASED = re.findall(r"^## (\S+) \(commit ([0-9a-f]{7,40})\)$", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
NOW = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# An update is proved from each of the last three (the update matrix), and the newest runs the whole harness.
MATRIX = [version for version, _ in RELEASED[:3]]
NEWEST = MATRIX[0]
# What the notes app's owner answers `copier copy` (README "Make it yours").
NOTES_ANSWERS = {"project_name": "notes", "port": 8000, "serves_page": False, "writable": ["/app/instance"]}
# The owner's edits of the template's files, each of a file every release has (old name, new name, text, edited).
OWNER_EDITS = [
    (
        "Dockerfile",
        "Dockerfile",
        "\nENV PORT=8000\n",
        "\nENV PORT=8000\n# The owner's own setting.\nENV NOTES_PER_PAGE=20\n",
    ),
    (
        "compose.override.yaml",
        "docker-compose.override.yml",
        '      - "127.0.0.1:${PORT:-8000}:8000"\n',
        '      - "127.0.0.1:${PORT:-8000}:8000"\n    environment:\n      NOTES_BANNER: "owner\'s own"\n',
    ),
]
# A template file the owner deleted: the update leaves it deleted (docs/template.md).
DELETED = ".pre-commit-config.yaml"
# The answer the owner flips in the update (docs/template.md): the Kubernetes manifests arrive, made for the answers.
FLIPPED = ("kubernetes", "true")


def git(folder: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


def commit_all(folder: Path, message: str) -> None:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "--allow-empty", "-m", message)


def once_per_run(tmp_path_factory, worker_id: str, name: str, make: Callable[[Path], None]) -> Path:
    """The run's folder of that name, which make(folder) fills once per run, in the first pytest-xdist worker that asks;
    the others wait on its lock, then only read it or copy it, so that every worker's tests see the same paths."""
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent  # pytest-xdist's workers each have a folder in the run's
    folder = run_folder / name
    with open(run_folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = run_folder / f"{name}.made"
        if not made.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            made.touch()
    return folder


@pytest.fixture(scope="module")
def releases(project, tmp_path_factory, worker_id) -> Path:
    """A scratch clone of this repository, its earlier releases tagged at their commits, and the working tree committed
    on top and tagged as the release under test; it needs no tag of this repository, only its history."""
    made = once_per_run(
        tmp_path_factory, worker_id, "template", lambda folder: tag_releases(project, folder / "layercake")
    )
    return made / "layercake"


def tag_releases(project, repo: Path) -> None:
    cloned = subprocess.run([*GIT, "clone", "-q", str(project.root), str(repo)], check=False, capture_output=True)
    assert cloned.returncode == 0, f"the update matrix needs this repository's history, a git clone: {cloned.stderr}"
    for version, commit in RELEASED:
        known = subprocess.run([*GIT, "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"], check=False)
        assert known.returncode == 0, (
            f"release {version}'s commit {commit} (CHANGELOG.md) is not in this clone: fetch the whole history "
            "(git fetch --unshallow)"
        )
        git(repo, "tag", "-f", version, commit)
    git(repo, "rm", "-rqf", ".")
    project.copy(repo / "tree")
    for child in (repo / "tree").iterdir():
        child.rename(repo / child.name)
    (repo / "tree").rmdir()
    commit_all(repo, "the release under test")
    git(repo, "tag", "-f", NOW)


def generate(releases: Path, dest: Path, ref: str, answers: dict) -> Path:
    """`copier copy` of a release, answered, into a new git repository, as its owner starts one."""
    copier_cli.copy(releases, dest, ref, answers)
    git(dest, "init", "-q")
    commit_all(dest, "generated from the template")
    return dest


def update(project_folder: Path, *args: str) -> str:
    """`copier update --conflict inline` to the template's latest release, with the answers the project was made with
    and args; return what copier said."""
    return copier_cli.update(project_folder, *args)


def owners_project(releases: Path, example: Path, dest: Path, release: str) -> dict[str, bytes]:
    """A project of release made the notes app's own (README "Make it yours"), with the owner's edits of the template's
    files, committed; return the owner's own files and their bytes."""
    generate(releases, dest, release, NOTES_ANSWERS)
    make_it_the_notes_apps(example, dest, renamed=False)
    commit_all(dest, "the notes app, and the owner's settings")
    return owners_files(example)


def made_today(releases: Path, example: Path, dest: Path) -> Path:
    """The owner's project as a new one of the release under test would be: the answers after the update (the flipped
    one too), made the notes app's own with the same files, edits and deletion, in today's file names."""
    generate(releases, dest, NOW, NOTES_ANSWERS | {FLIPPED[0]: yaml.safe_load(FLIPPED[1])})
    make_it_the_notes_apps(example, dest, renamed=True)
    return dest


def make_it_the_notes_apps(example: Path, dest: Path, renamed: bool) -> None:
    """The notes app in place of the guide's, the owner's edits of the template's files (in their names after the
    rename, if renamed) and the file the owner deleted."""
    for name in GUIDE_APP:
        target = dest / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    shutil.copytree(example, dest, dirs_exist_ok=True)
    for old, new, text, edited in OWNER_EDITS:
        edit(dest / (new if renamed else old), text, edited)
    (dest / DELETED).unlink()


@pytest.fixture(scope="module")
def fresh(releases, example, tmp_path_factory) -> Path:
    return made_today(releases, example, tmp_path_factory.mktemp("fresh") / "notes")


def tree(folder: Path) -> dict[str, bytes]:
    """The project's files and their bytes, less git's own."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def owners_files(example: Path) -> dict[str, bytes]:
    """The owner's own files (the notes app's) and their bytes."""
    return {str(p.relative_to(example)): p.read_bytes() for p in example.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def updated(releases, example, tmp_path_factory, worker_id) -> tuple[Path, dict[str, bytes]]:
    """The owner's project of the newest earlier release, updated to the release under test with a flipped answer."""

    def make(folder: Path) -> None:
        owners_project(releases, example, folder / "notes", NEWEST)
        update(folder / "notes", "-d", "=".join(FLIPPED))

    return once_per_run(tmp_path_factory, worker_id, "second-app", make) / "notes", owners_files(example)


@pytest.fixture(scope="module")
def second_app(updated) -> Path:
    return updated[0]


def conflicts(folder: Path) -> tuple[list[str], list[str]]:
    """The .rej files an update left in folder, and the files that hold conflict markers."""
    files = git(folder, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    files = sorted(set(files))  # an unmerged file is listed once per stage
    rejected = [name for name in files if name.endswith(".rej")]
    marked = [
        name
        for name in files
        if (folder / name).is_file()
        and any(
            line.startswith(("<<<<<<< ", ">>>>>>> "))
            for line in (folder / name).read_text(errors="replace").splitlines()
        )
    ]
    return rejected, marked


def check_update(folder: Path, owned: dict[str, bytes], release: str, fresh: Path) -> None:
    """What docs/template.md promises of an update from release: the release under test, no conflict, the owner's files
    and edits kept, the deleted file still deleted, the flipped answer applied; and so the files of a new project with
    the same answers and edits (fresh), which the harness's proofs then hold for as they do for that one."""
    answers = yaml.safe_load((folder / ".copier-answers.yml").read_text())
    assert answers["_commit"] == NOW, f"the project of {release} was not updated to {NOW}: {answers}"
    rejected, marked = conflicts(folder)
    assert not rejected and not marked, f"updating from {release} left {rejected} and conflict markers in {marked}"
    changed = sorted(name for name, content in owned.items() if (folder / name).read_bytes() != content)
    assert not changed, (
        f"updating from {release} changed the owner's files {changed}: keep the files an owner replaces in copier.yml's "
        "_skip_if_exists"
    )
    for old, new, _, edited in OWNER_EDITS:
        assert edited in (folder / new).read_text(), f"updating from {release} lost the owner's edit of {old} ({new})"
        if old != new:
            assert not (folder / old).exists(), f"updating from {release} left {old} beside {new}"
    assert not (folder / DELETED).exists(), f"updating from {release} brought back {DELETED}, which the owner deleted"
    deployment = folder / "deploy/k8s/deployment.yaml"
    assert deployment.is_file(), f"`-d {'='.join(FLIPPED)}` in the update from {release} did not bring deploy/k8s"
    manifest = deployment.read_text()
    for made in ("name: notes", "containerPort: 8000", "mountPath: /app/instance"):
        assert made in manifest, f"deploy/k8s/deployment.yaml after the update from {release} lacks {made!r}"
    updated, new = tree(folder), tree(fresh)
    differ = sorted(name for name in updated.keys() & new.keys() if updated[name] != new[name])
    missing, extra = sorted(new.keys() - updated.keys()), sorted(updated.keys() - new.keys())
    assert not (differ or missing or extra), (
        f"updating from {release} does not give the files of a new {NOW} project with the same answers and edits: "
        f"{differ} differ, {missing} are missing, {extra} are left over. The template's task (.copier/answers.py) must "
        "give an update what it gives a copy, and a release that renames or removes a file needs a migration in "
        "copier.yml (.copier/) that moves the owner's copy"
    )


# Each update gives a new project's files, so the harness runs once, on the newest one's (from the wheel, in
# test_second_app_runs_the_harness_from_the_installed_wheel), and its breakages on a copy of it.
@pytest.mark.xdist_group("update-matrix")
@pytest.mark.parametrize("release", MATRIX)
def test_update_from_a_release_keeps_the_owners_edits(releases, example, fresh, tmp_path, release, request, report):
    if release == NEWEST:
        folder, owned = request.getfixturevalue("updated")
    else:
        folder = tmp_path / "notes"
        owned = owners_project(releases, example, folder, release)
        update(folder, "-d", "=".join(FLIPPED))
    check_update(folder, owned, release, fresh)
    report.setdefault("update_matrix", {})[release] = f"{len(tree(folder))} files, as a new {NOW} project's"


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
    folder = generate(releases, tmp_path / "anchored", NEWEST, {"writable": ["/app/instance"]})
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


# A line the owner edits that the template changed since the newest earlier release: (old file, new file, line, edit).
CONFLICTING = (
    "compose.override.yaml",
    "docker-compose.override.yml",
    "compose loads this file after compose.yaml by itself, and",
    "compose loads this file, our team's edit, after compose.yaml by itself, and",
)


def test_update_names_a_conflict_with_the_owners_edit(releases, tmp_path, report):
    """The owner edited a line the template also changed: the update leaves both versions, marked, in the file, and
    names the file."""
    folder = generate(releases, tmp_path / "edited", NEWEST, {})
    old, new, line, edited = CONFLICTING
    edit(folder / old, line, edited)
    commit_all(folder, "the owner's comment")
    said = update(folder)
    text = (folder / new).read_text()
    start, end = text.find("<<<<<<< before updating"), text.find(">>>>>>> after updating")
    assert start >= 0 and end > start, f"the conflicting edit of {old} was merged into {new} without a word:\n{text}"
    hunk = text[start : text.index("\n", end)]
    report["update_conflict"] = hunk
    assert edited in hunk, f"the owner's line is not among the conflict's sides:\n{hunk}"
    assert new in said, f"the update did not name {new}, which it left in conflict:\n{said}"
    assert conflicts(folder)[1] == [new], f"the update left conflict markers in {conflicts(folder)[1]}, not in {new}"


# Its own group, so that another worker runs it beside the rest of this module.
@pytest.mark.xdist_group("second-app-from-the-wheel")
def test_second_app_runs_the_harness_from_the_installed_wheel(project, second_app, tmp_path, report):
    """The updated notes project, with only what a project of the installed plugin needs (no conftest.py, no copy of
    the harness, no marker list): the wheel collects every check the project's copy collects, and runs WHEEL_RUN green,
    the [write] records' proofs among it passing, not skipped."""
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
    from_wheel, in_copy = checks(project, folder, python), checks(project, second_app, sys.executable)
    assert in_copy and from_wheel == in_copy, (
        f"the wheel lacks {sorted(in_copy - from_wheel)[:10]} and adds {sorted(from_wheel - in_copy)[:10]} of the "
        "project's copy of the checks: pyproject.toml's package data must ship every check"
    )
    durable = checks(project, folder, python, "durability")
    # It has no pyproject.toml: its run gets the template's options (the workers side by side) on the command line.
    addopts = tomllib.loads((project.root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    outcomes = run_harness(project, folder, "-m", WHEEL_RUN, *addopts, python=python)
    output = outcomes.pop("_output")
    # As checks() names them: the report's class is the module's dotted path, and loadgroup adds `@group` to the name.
    outcomes = {
        f"{name.split('::')[0].split('.')[-1]}::{durations.test_id(name.split('::', 1)[1])}": outcome
        for name, outcome in outcomes.items()
    }
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    passed = {name for name, outcome in outcomes.items() if outcome == "passed"}
    report["second_app"] = {"passed": len(passed), "skipped": sum(o == "skipped" for o in outcomes.values())}
    report["second_app"]["failed"] = len(failed)
    assert not failed, f"with examples/notes swapped in, these checks fail: {failed}\n{output[-4000:]}"
    assert durable and durable <= passed, (
        f"the [write] records' proofs {sorted(durable - passed)} did not pass in the notes project, which declares "
        f"[write]:\n{output[-2000:]}"
    )
    for module in ("test_contract", "test_logs", "test_signals", "test_dockerfile"):
        assert any(name.startswith(f"{module}::") for name in passed), (
            f"no check of {module} passed in the notes project"
        )


def checks(project, folder: Path, python: str, marks: str = "") -> set[str]:
    """The harness's checks that pytest collects in folder with python (with marks), as module::test."""
    selected = ["-m", marks] if marks else []
    result = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "--collect-only", "-q", *selected],
        check=False,
        cwd=folder,
        env=os.environ | {"BASE_IMAGE": project.base_image},
        capture_output=True,
        text=True,
        timeout=TEMPLATE_RUN_MAX_S,
    )
    # Exit status 5 is "no tests collected": an empty set, which the caller compares.
    assert result.returncode in (0, 5), f"pytest could not collect the checks in {folder}:\n{result.stdout[-3000:]}"
    # The copy's are named by their path in the project, the wheel's by their path from the plugin's checks/ folder.
    found = (
        re.match(r"(?:.*pytest_layercake/checks/)?(test_\w+)\.py::(.+)$", line) for line in result.stdout.splitlines()
    )
    return {f"{match[1]}::{match[2]}" for match in found if match}


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
        "docker-compose.yml",
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
        "docker-compose.yml",
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
        "docker-compose.yml",
        "    stop_grace_period:",
        "    restart: always\n    stop_grace_period:",
        "test_compose.py::test_restart_policy_has_one_source",
    ),
    "health checked every 5 minutes, 10 retries": (
        "docker-compose.yml",
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
    "docker-compose.yml",
    "docker-compose.override.yml",
    "docker-compose.dev.yml",
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

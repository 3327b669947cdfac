"""The template holds for another app, and for years: a project generated from an earlier release, made the notes
app's own as "Make it yours" says, and updated by copier keeps the owner's files and gets the template's changes; the
harness run there is green, each breakage of it is caught by the check that names it, and the plugin's wheel runs the
same harness without the project's copy of it."""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

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


@pytest.fixture(scope="module")
def releases(project, tmp_path_factory) -> Path:
    """A scratch clone of this repository, its earlier releases tagged at their commits, and the working tree committed
    on top and tagged as the release under test; it needs no tag of this repository, only its history."""
    repo = tmp_path_factory.mktemp("template") / "layercake"
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
    return repo


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
    for name in GUIDE_APP:
        target = dest / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    shutil.copytree(example, dest, dirs_exist_ok=True)
    for old, _, text, edited in OWNER_EDITS:
        edit(dest / old, text, edited)
    (dest / DELETED).unlink()
    commit_all(dest, "the notes app, and the owner's settings")
    return owners_files(example)


def owners_files(example: Path) -> dict[str, bytes]:
    """The owner's own files (the notes app's) and their bytes."""
    return {str(p.relative_to(example)): p.read_bytes() for p in example.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def updated(releases, example, tmp_path_factory, worker_id) -> tuple[Path, dict[str, bytes]]:
    """The owner's project of the newest earlier release, updated to the release under test with a flipped answer.
    It is made once per run, by the first worker that asks; the others wait on its lock and only read or copy it."""
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent  # pytest-xdist's workers each have a folder in the run's
    folder = run_folder / "second-app" / "notes"
    with open(run_folder / "second-app.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = folder.parent / "made"
        if not made.is_file():
            shutil.rmtree(folder.parent, ignore_errors=True)
            folder.parent.mkdir()
            owners_project(releases, example, folder, NEWEST)
            update(folder, "-d", "=".join(FLIPPED))
            made.touch()
    return folder, owners_files(example)


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


def check_update(folder: Path, owned: dict[str, bytes], release: str) -> None:
    """What docs/template.md promises of an update from release: the release under test, no conflict, the owner's files
    and edits kept, the deleted file still deleted, the flipped answer applied."""
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


# The modules of the inner loop's checks (`make check`), each of which must pass a check in an updated project.
INNER_LOOP = {"test_contract", "test_logs", "test_signals"}


# The older releases' updated projects run the inner loop's checks (`make check`); the newest one's runs them all, in
# test_second_app_passes_every_generic_proof_from_the_installed_wheel.
@pytest.mark.xdist_group("update-matrix")
@pytest.mark.parametrize("release", MATRIX)
def test_update_from_a_release_keeps_the_owners_edits(project, releases, example, tmp_path, release, request, report):
    if release == NEWEST:
        folder, owned = request.getfixturevalue("updated")
    else:
        folder = tmp_path / "notes"
        owned = owners_project(releases, example, folder, release)
        update(folder, "-d", "=".join(FLIPPED))
    check_update(folder, owned, release)
    if release != NEWEST:
        outcomes = run_harness(project, folder, "-m", "inner_loop or not docker")
        output = outcomes.pop("_output")
        failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
        assert not failed, f"after the update from {release}, `make check` fails {failed}:\n{output[-3000:]}"
        passed = {name.split("::")[0].split(".")[-1] for name, outcome in outcomes.items() if outcome == "passed"}
        assert INNER_LOOP <= passed, f"after the update from {release}, no check of {INNER_LOOP - passed} passed"
        report.setdefault("update_matrix", {})[release] = f"{sum(o == 'passed' for o in outcomes.values())} passed"


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
def test_second_app_passes_every_generic_proof_from_the_installed_wheel(project, second_app, tmp_path, report):
    """The updated notes project, with only what a project of the installed plugin needs: no conftest.py, no copy of
    the harness, no marker list. (The copy in a generated project runs green in `.ci/run`'s I Hate Money project.)"""
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

"""The template holds for another app: examples/notes swapped into a copy as "Make it yours" says, the harness run
there is green, and each breakage of that copy is caught by the check that names it."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_layercake.budgets import TEMPLATE_RUN_MAX_S
from pytest_layercake.project import NOT_COPIED
from tests.parts import GUIDE_APP, PROJECT_PARTS

pytestmark = [pytest.mark.docker, pytest.mark.template]

# The harness's slow load test is left out of the copy's run: it proves nothing about the app's shape.
MARKERS = "not slow"


def edit(path: Path, old: str, new: str) -> None:
    """Replace old by new in path, as a user following the README would; fail if the template moved on."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r} once: update 'Make it yours' and this test"
    path.write_text(text.replace(old, new))


def swap_in(project, example: Path, dest: Path) -> Path:
    """Copy the template, delete the project's own parts, and swap the example app in, as the README's steps say."""
    copy = project.copy(dest)
    for name in PROJECT_PARTS + GUIDE_APP:
        target = copy / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    shutil.copytree(example, copy, dirs_exist_ok=True)
    # A different port: the contract (copied above), ENV PORT in the Dockerfile, the target in the override.
    edit(copy / "Dockerfile", "ENV PORT=5000", "ENV PORT=8000")
    edit(copy / "compose.override.yaml", ':5000"', ':8000"')
    # A folder the app writes to: made in the image for the app's user, and a volume on it in compose.
    edit(
        copy / "Dockerfile",
        "\nCOPY requirements.txt .\n",
        "\nRUN mkdir /app/instance && chown 10001:10001 /app/instance\n\nCOPY requirements.txt .\n",
    )
    edit(
        copy / "compose.yaml",
        "        target: /tmp\n",
        "        target: /tmp\n      - type: volume\n        source: data\n        target: /app/instance\n",
    )
    with (copy / "compose.yaml").open("a") as compose:
        compose.write("\nvolumes:\n  data:\n")
    return copy


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


@pytest.fixture(scope="module")
def second_app(project, example, tmp_path_factory) -> Path:
    return swap_in(project, example, tmp_path_factory.mktemp("second-app") / "notes")


def test_second_app_passes_every_generic_proof(project, second_app, report):
    outcomes = run_harness(project, second_app, "-m", MARKERS)
    output = outcomes.pop("_output")
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    passed = [
        name for name, outcome in outcomes.items() if outcome == "passed" and name.startswith("pytest_layercake.")
    ]
    report["second_app"] = {
        "passed": sum(o == "passed" for o in outcomes.values()),
        "skipped": sum(o == "skipped" for o in outcomes.values()),
        "failed": len(failed),
    }
    assert not failed, f"with examples/notes swapped in, these checks fail: {failed}\n{output[-4000:]}"
    assert len(passed) > 50, f"only {len(passed)} harness checks passed in the copy:\n{output[-2000:]}"
    for module in ("test_layers", "test_context", "test_process", "test_signals", "test_compose", "test_swarm"):
        assert any(f".{module}::" in name for name in passed), f"no check of {module} passed in the copy"


# name -> (the file, the text the breakage replaces, its replacement, and the check that must go red)
BREAKAGES = {
    "root user": ("Dockerfile", "\nUSER 10001:10001\n", "\n", "test_process.py::test_processes_do_not_run_as_root"),
    "source copied before the install": (
        "Dockerfile",
        "\nCOPY requirements.txt .\n",
        "\nCOPY . .\n",
        "test_layers.py::test_code_change_reuses_the_dependency_layer",
    ),
    "no volume on the writable folder": (
        "compose.yaml",
        "      - type: volume\n        source: data\n        target: /app/instance\n",
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
    outcomes = run_harness(project, broken, check)
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
    """Build the plugin's wheel from a copy of its sources, and install it with the pinned test tools into a fresh
    virtualenv; return that virtualenv's python."""
    source = scratch / "source"
    source.mkdir()
    shutil.copy(project.root / "pyproject.toml", source)
    shutil.copytree(project.root / "pytest_layercake", source / "pytest_layercake", ignore=NOT_COPIED)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", scratch / "dist", source], check=True, capture_output=True)
    (wheel,) = (scratch / "dist").glob("pytest_layercake-*.whl")
    subprocess.run([sys.executable, "-m", "venv", scratch / "venv"], check=True)
    python = str(scratch / "venv" / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    tools = project.root / "requirements-dev.txt"
    subprocess.run([*pip, "install", "--require-hashes", "-r", tools], check=True, capture_output=True)
    subprocess.run([*pip, "install", "--no-deps", wheel], check=True, capture_output=True)
    return python


def test_installed_wheel_runs_the_harness_without_its_folder(project, second_app, tmp_path, report):
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
    outcomes = run_harness(project, folder, "-m", MARKERS, python=python)
    output = outcomes.pop("_output")
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    report["wheel_project"] = {
        "passed": sum(o == "passed" for o in outcomes.values()),
        "skipped": sum(o == "skipped" for o in outcomes.values()),
        "failed": len(failed),
    }
    assert not failed, f"with only the installed plugin, these checks fail: {failed}\n{output[-4000:]}"
    assert sum(o == "passed" for o in outcomes.values()) > 100, f"too few checks ran from the wheel:\n{output[-2000:]}"

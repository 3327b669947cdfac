"""Rules a Dockerfile reader can check without building: lint, pins, COPY not ADD, exec form."""

import json
import re
import subprocess

import pytest

from pytest_layercake.tools import tool


@pytest.fixture
def instructions(project) -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    lines = [line for line in project.dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def test_hadolint_passes(project):
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "Dockerfile"], check=False, cwd=project.root, capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout, f"hadolint found problems:\n{result.stdout}{result.stderr}"


def test_hadolint_ignores_are_justified(project):
    lines = project.dockerfile.splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert number and lines[number - 1].startswith("#") and "hadolint" not in lines[number - 1], (
                f"Dockerfile line {number + 1} silences hadolint without a comment above it saying why"
            )
    assert not (project.root / ".hadolint.yaml").exists(), (
        "keep hadolint's ignores beside the line they excuse, with a reason"
    )


def test_base_image_is_pinned(project, instructions):
    default = project.default_base_image
    tag = default.rpartition(":")[2]
    assert tag and tag != "latest", f"the base {default} is not pinned: `latest` moves under you"
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?-(alpine\d+\.\d+|slim-[a-z]+)", tag), (
        f"the base tag {tag!r} must name the Python and the OS release, e.g. 3.13-alpine3.24 or 3.13-slim-bookworm"
    )
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert froms == ["${BASE_IMAGE}"], f"build FROM the BASE_IMAGE argument, not {froms}"


def test_install_checks_the_hash_lock(instructions):
    installs = [args for keyword, args in instructions if keyword == "RUN" and "pip install" in args]
    loose = [args for args in installs if "--require-hashes" not in args or "--no-deps" not in args]
    assert installs and not loose, (
        f"{loose or 'no RUN pip install'}: install the lock with `pip install --require-hashes --no-deps -r "
        "requirements.txt`, so a file that differs from the locked one, or a package outside the lock, stops the build"
    )


def test_no_add_instruction(instructions):
    added = [args for keyword, args in instructions if keyword == "ADD"]
    assert not added, f"ADD {added}: use COPY, which neither unpacks archives nor downloads URLs"


def test_command_is_exec_form(instructions):
    commands = [f"{keyword} {args}" for keyword, args in instructions if keyword in ("CMD", "ENTRYPOINT")]
    assert commands, "the Dockerfile has no CMD"
    shell_form = [command for command in commands if not command.split(None, 1)[1].startswith("[")]
    assert not shell_form, f"{shell_form} use the shell form: a shell as PID 1 does not pass SIGTERM on"
    for command in commands:
        json.loads(command.split(None, 1)[1])


def test_user_is_numeric_and_not_root(instructions):
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "no USER: the app would run as root"
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), f"USER {users[-1]}: use a numeric non-zero UID:GID"

"""The locks install where the README says: the test venv's on every host Python from the oldest promised up, with
the app's pins never having to agree with the tools' (requirements-tools.txt has a lock and a venv of its own)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

# Each resolves from the package index: a change to the requirements breaks them, not an app change (`make check`).
pytestmark = pytest.mark.package_index

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.prefix) / "bin" / "uv"
# The newest Python the host venv is locked for: the base image's (the Dockerfile's python:3.13).
NEWEST_HOST_PYTHON = "3.13"


def oldest_host_python() -> str:
    """The Makefile's HOST_PYTHON_MIN: `make lock` pins the test venv and the tools from it up."""
    found = re.search(r"^HOST_PYTHON_MIN := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert found, "the Makefile has no HOST_PYTHON_MIN, the oldest host Python the locks are made for"
    return found[1]


def uv(*args: str | Path, cwd: Path = ROOT) -> str:
    if not UV.exists():
        pytest.fail(f"uv is not at {UV}: run `make venv`, which installs it", pytrace=False)
    result = subprocess.run([UV, *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"`uv {' '.join(map(str, args))}` failed:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("lock", ["requirements-dev.txt", "requirements-tools.txt"])
@pytest.mark.parametrize("python", ["oldest", "newest"])
def test_host_lock_resolves_on_every_promised_python(lock, python):
    """Every pin of the lock (with its markers) exists for that Python: a release that needs a newer one fails."""
    version = oldest_host_python() if python == "oldest" else NEWEST_HOST_PYTHON
    uv("pip", "compile", "-q", "--no-header", "--python-version", version, "--python-platform", "linux", lock)


def test_app_may_pin_what_the_tools_hold_back(tmp_path):
    """cachetools 6 beside checkov (which needs cachetools<6): the test lock takes the app's, the tools keep theirs."""
    (tmp_path / "requirements.in").write_text((ROOT / "requirements.in").read_text() + "cachetools~=6.2\n")
    (tmp_path / "requirements-dev.in").write_text((ROOT / "requirements-dev.in").read_text())
    oldest = ["--universal", "--python-version", oldest_host_python()]
    locked = uv(
        "pip", "compile", "-q", "--no-header", "--generate-hashes", *oldest, "requirements-dev.in", cwd=tmp_path
    )
    (tmp_path / "requirements-dev.txt").write_text(locked)
    app_pin = re.search(r"^cachetools==(\S+)", locked, re.MULTILINE)
    tools_pin = re.search(r"^cachetools==(\S+)", (ROOT / "requirements-tools.txt").read_text(), re.MULTILINE)
    assert app_pin and app_pin[1].startswith("6."), f"the test lock pins cachetools {app_pin and app_pin[1]}"
    assert tools_pin and not tools_pin[1].startswith("6."), "checkov's cachetools is no longer held back: pick another"
    uv("venv", "-q", tmp_path / "venv")
    uv(
        "pip",
        "install",
        "--dry-run",
        "-q",
        "--require-hashes",
        "--python",
        tmp_path / "venv",
        "-r",
        "requirements-dev.txt",
        cwd=tmp_path,
    )

"""Where the harness finds the tools that read the project but never import the app (checkov, hadolint, kubectl, ...):
the venv of their own that `make venv` makes inside the test venv, so that their pins never meet the app's."""

import os
import sys
from pathlib import Path

import pytest

# The tools' venv inside the test venv (the Makefile's `make venv`); TOOLS_BIN names another one's bin folder.
TOOLS_BIN = "LAYERCAKE_TOOLS_BIN"


def bin_dir() -> Path:
    return Path(os.environ.get(TOOLS_BIN) or Path(sys.prefix) / "tools" / "bin")


def tool(name: str) -> Path:
    """The tool's program; fail the test, saying how to get it, if it is not there."""
    path = bin_dir() / name
    if not path.exists():
        pytest.fail(
            f"{name} is not at {path}: run `make venv`, which installs the tools from requirements-tools.txt "
            f"into .venv/tools (or set {TOOLS_BIN} to the bin folder of such a venv)",
            pytrace=False,
        )
    return path


def version(distribution: str) -> str:
    """The version of a distribution installed in the tools' venv, read from its metadata folder."""
    wanted = distribution.replace("-", "_").lower()
    for info in bin_dir().parent.glob("lib/python3*/site-packages/*.dist-info"):
        name, _, found = info.name.removesuffix(".dist-info").rpartition("-")
        if name.lower() == wanted:
            return found
    raise LookupError(
        f"{distribution} is not installed in the tools' venv ({bin_dir().parent}): pin it in requirements-tools.in, "
        "`make lock`, `make venv`"
    )

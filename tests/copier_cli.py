"""copier as an owner runs it: the program in the tools' venv (requirements-tools.txt), never imported beside the app."""

import subprocess
from pathlib import Path

import yaml

from pytest_layercake.tools import tool


def copier(*args: str | Path, cwd: Path | None = None) -> str:
    """Run copier; return what it said on stderr (its messages, a task's and a migration's)."""
    result = subprocess.run([tool("copier"), *args], check=False, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"`copier {' '.join(map(str, args))}` failed:\n{result.stderr[-3000:]}"
    return result.stderr


def copy(template: Path, dest: Path, ref: str, answers: dict) -> Path:
    """`copier copy --trust --defaults` of the template at ref into dest, with answers; the rest by default."""
    data = dest.parent / f"{dest.name}-answers.yml"
    data.write_text(yaml.safe_dump(answers))
    copier("copy", "--quiet", "--trust", "--defaults", "--vcs-ref", ref, "--data-file", data, template, dest)
    data.unlink()
    return dest


def update(project: Path, *args: str) -> str:
    """`copier update --trust --defaults --conflict inline` in project: the template's latest release, the answers it
    was made with, and args; return what copier said."""
    return copier("update", "--quiet", "--trust", "--defaults", "--conflict", "inline", *args, cwd=project)

"""The project under test: its folder, its contract and the base image it builds from."""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from pytest_layercake import contract

# What a temp copy of the project leaves behind: the host's own clutter, not part of the template.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info"
)


@dataclass(frozen=True)
class Project:
    root: Path

    @cached_property
    def contract(self) -> contract.Contract:
        return contract.load(self.root)

    @property
    def dockerfile(self) -> str:
        return self.template_file("Dockerfile", "the image is built from it").read_text()

    @property
    def default_base_image(self) -> str:
        """The Dockerfile's pinned `ARG BASE_IMAGE=` default."""
        found = re.search(r"^ARG BASE_IMAGE=(\S+)$", self.dockerfile, re.MULTILINE)
        if not found:
            raise contract.ContractError("the Dockerfile has no `ARG BASE_IMAGE=<pinned tag>` line to build FROM")
        return found[1]

    @property
    def base_image(self) -> str:
        """BASE_IMAGE from the environment (a mirror or an offline base), else the Dockerfile's default."""
        return os.environ.get("BASE_IMAGE") or self.default_base_image

    @property
    def arm64_base_image(self) -> str:
        """BASE_IMAGE_ARM64 (a single-platform arm64 base, such as an offline one), else the base image, which a
        registry serves for arm64 too."""
        return os.environ.get("BASE_IMAGE_ARM64") or self.base_image

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    @cached_property
    def git_facts(self) -> dict[str, str]:
        """What BuildKit's git labels (BUILDX_GIT_LABELS) say of this checkout: its commit and, with a remote, where it
        lives; none outside a checkout."""
        inside = subprocess.run(["git", "-C", str(self.root), "rev-parse"], check=False, capture_output=True)
        if inside.returncode:
            return {}
        remotes = self.git("remote").split()
        source = self.git("remote", "get-url", "origin" if "origin" in remotes else remotes[0]) if remotes else ""
        # Credentials in a remote's URL never go into a label.
        facts = {"revision": self.git("rev-parse", "HEAD"), "source": re.sub(r"//[^/@]+@", "//", source)}
        return {name: value for name, value in facts.items() if value}

    @property
    def source_date_epoch(self) -> str:
        """SOURCE_DATE_EPOCH for a reproducible build: the commit's time, or a fixed one outside a git checkout."""
        return self.git("log", "-1", "--format=%ct") if self.git_facts else "1700000000"

    def part(self, relative: str, why: str) -> Path:
        """Return an optional part of the project (docs, manifests, examples); skip the test, or the whole module when
        called at its top, saying why, if gone. The one way a check skips for a deleted part."""
        path = self.root / relative
        if not path.exists():
            pytest.skip(f"{relative} is not here: {why}", allow_module_level=True)
        return path

    def template_file(self, relative: str, why: str) -> Path:
        """Return a file every project keeps (the Dockerfile, .dockerignore, gunicorn.conf.py); fail, saying why the
        lesson needs it, if it is gone."""
        path = self.root / relative
        if not path.is_file():
            pytest.fail(f"{relative} is missing from {self.root}: {why}; restore it from the template", pytrace=False)
        return path

    def copy(self, dest: Path) -> Path:
        """Copy the project into dest, as a fresh clone would have it, and return dest."""
        shutil.copytree(self.root, dest, ignore=NOT_COPIED)
        return dest

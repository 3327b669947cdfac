"""The parts of this repository that a project made from it never gets, or that its owner deletes or replaces: the
checks of what is left must not need them (tests/test_parts.py), and copier.yml must exclude the first kind
(tests/test_copier.py)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# This repository's own parts: a generated project never has them, and their checks skip when they are gone.
PROJECT_PARTS = ("README.ru.md", "CHANGELOG.md", "docs", "bench", "examples", ".ci", "GNUmakefile", "deploy")
# What an owner may delete (the user CI) or replaces (the guide's app and its description).
OWNER_PARTS = (".github",)
GUIDE_APP = ("app.py", "static", "tests/test_app.py", "layercake.toml", "README.md")


def excluded() -> list[str]:
    """copier.yml's `_exclude`, with a conditional entry (`{% if not kubernetes %}deploy{% endif %}`) as its path."""
    entries = yaml.safe_load((ROOT / "copier.yml").read_text())["_exclude"]
    return [re.sub(r"\{%.*?%\}", "", entry) for entry in entries]

"""This repository's own README pages, CHANGELOG and CI, which a project made from the template never gets (copier.yml
excludes this module): the CI runs the README's test command, the Russian README keeps the English one's commands and
links, and the CHANGELOG tells the release that pyproject.toml names."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASH_BLOCK = re.compile(r"```bash\n(.+?)\n```", re.DOTALL)


@pytest.fixture
def readme() -> str:
    return (ROOT / "README.md").read_text()


@pytest.fixture
def readme_ru() -> str:
    return (ROOT / "README.ru.md").read_text()


def readme_test_command(readme: str) -> str:
    """Return the README's test command: the second command on its first screen."""
    commands = BASH_BLOCK.findall(readme)
    assert len(commands) >= 2, "README.md's first screen should show two ```bash commands: run the app, run the tests"
    return commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = readme_test_command((ROOT / "README.md").read_text())
    assert command == "make test", f"the README's test command is `{command}`: the user CI runs `make test`"
    assert ci.rstrip().endswith(command), f".ci/run should end with the README's `{command}`"


def relative_links(text: str) -> list[str]:
    return [target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", target)]


def test_russian_readme_keeps_the_same_commands_and_links(readme, readme_ru):
    english, russian = BASH_BLOCK.findall(readme), BASH_BLOCK.findall(readme_ru)
    assert english == russian, f"README.ru.md's commands have drifted from README.md's: {set(english) ^ set(russian)}"
    swap = {
        "docs/lessons.md": "docs/lessons.ru.md",
        "docs/lessons.ru.md": "docs/lessons.md",
        "README.ru.md": "README.md",
    }
    english_links = sorted(swap.get(link, link) for link in relative_links(readme))
    assert sorted(relative_links(readme_ru)) == english_links, (
        f"README.ru.md links to other pages than README.md: {set(english_links) ^ set(relative_links(readme_ru))}"
    )


def test_changelog_tells_the_current_release():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert releases and releases[0] == version, (
        f"pyproject.toml's version is {version}, CHANGELOG.md's newest release {releases[:1]}: say in CHANGELOG.md what "
        "the release brings and what an owner must do"
    )
    for part in ("What an update brings:", "What an owner must do:"):
        newest = (ROOT / "CHANGELOG.md").read_text().split("\n## ")[1]
        assert part in newest, f"CHANGELOG.md's {version} does not say {part!r}"

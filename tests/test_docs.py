"""The docs stay true: a short README, links that resolve, lessons that name real lines and tests in both languages,
and pages that are exactly what `make docs` writes from the lessons, the run report and the benchmark."""

import json
import re
import tomllib
from pathlib import Path

import pytest

from pytest_layercake.project import Project

ROOT = Path(__file__).resolve().parent.parent
Project(ROOT).part("docs", "the docs are this project's own part")
from docs import build  # imported once docs/ is known to be here

PAGES = ["README.md", "README.ru.md", *sorted(str(page.relative_to(ROOT)) for page in (ROOT / "docs").glob("*.md"))]
# The README is read in about five minutes; the rest lives in docs/.
README_WORDS_MAX = 1000
LINK = re.compile(r"\]\(([^)\s]+)\)")
TEST_FOLDERS = [ROOT / "tests", ROOT / "pytest_layercake" / "checks"]
TEST_REFERENCE = re.compile(r"`(test_\w+\.py)`?(?:\]\([^)]*\))?`?::(test_\w+)`")


@pytest.fixture(scope="module")
def lessons() -> list[dict]:
    return tomllib.loads(build.LESSONS.read_text())["lesson"]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in page.read_text().splitlines() if line.startswith("#")}


def test_readme_reads_in_five_minutes():
    words = len((ROOT / "README.md").read_text().split())
    assert words <= README_WORDS_MAX, f"README.md has {words} words: move the detail to a page in docs/ and link it"


@pytest.fixture(params=PAGES)
def page(request, project) -> Path:
    """A page of the READMEs and docs/; a deleted one is skipped, while a link to it from a kept page still fails."""
    return project.part(request.param, "a deleted page has no links to check")


def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address, not checked offline
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        missing_anchor = anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)
        if not resolved.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to {broken}, which are not there"


def test_docs_name_only_real_tests(page):
    for module, name in set(TEST_REFERENCE.findall(page.read_text())):
        sources = [folder / module for folder in TEST_FOLDERS if (folder / module).exists()]
        assert any(f"def {name}(" in source.read_text() for source in sources), (
            f"{page.relative_to(ROOT)} names {module}::{name}, which does not exist"
        )


def test_lessons_point_at_real_lines(lessons):
    for lesson in lessons:
        for file, text in lesson["where"]:
            path = ROOT / file
            assert path.is_file(), f"docs/lessons.toml: {lesson['en']!r} names {file}, which is not here"
            assert text in path.read_text(), (
                f"docs/lessons.toml: {lesson['en']!r} says {file} has `{text}`, but it has not: update the lesson"
            )


def test_lessons_name_real_tests(lessons):
    for lesson in lessons:
        assert lesson["tests"], f"docs/lessons.toml: {lesson['en']!r} names no test"
        for node in lesson["tests"]:
            path, _, name = node.partition("::")
            assert (ROOT / path).is_file() and f"def {name}(" in (ROOT / path).read_text(), (
                f"docs/lessons.toml: {lesson['en']!r} names {node}, which does not exist"
            )


def test_lessons_speak_both_languages(lessons):
    for lesson in lessons:
        assert lesson.get("ru") and lesson.get("en"), f"docs/lessons.toml: a lesson lacks its ru or en title: {lesson}"
        if "why" in lesson:
            assert set(lesson["why"]) == {"en", "ru"}, f"{lesson['en']!r}: say why in both languages"


def test_pages_are_what_make_docs_writes():
    written = build.pages()
    assert written, "make docs writes nothing: docs/lessons.toml is gone"
    stale = [str(page.relative_to(ROOT)) for page, text in written.items() if page.read_text() != text]
    assert not stale, f"{stale} differ from what `make docs` writes from their sources: run `make docs` and commit"


def test_test_figures_come_from_a_full_green_run():
    if not build.TEST_REPORT.exists():
        pytest.skip("docs/results/test-report.json is not here")
    report = json.loads(build.TEST_REPORT.read_text())
    assert build.full_green_run(report), (
        f"docs/results/test-report.json is from a partial or failing run ({report.get('run')}): run `make test`, "
        "then `make docs`"
    )

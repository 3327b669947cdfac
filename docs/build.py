"""Write what docs/ says from data, never by hand: the lessons pages (English and Russian) from docs/lessons.toml,
the test figures from the run report, and the benchmark from bench/results/latest.json.

`make docs` runs `python -m docs.build`; tests/test_docs.py checks that the committed pages are what it writes.
A full, green run of `make test` leaves build/report.json, which this takes into docs/results/test-report.json.
"""

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LESSONS = DOCS / "lessons.toml"
RUN_REPORT = ROOT / "build" / "report.json"
TEST_REPORT = DOCS / "results" / "test-report.json"
BENCH_RESULTS = ROOT / "bench" / "results" / "latest.json"
# The published app that CI makes a project of: the exceptions its contract declares are listed in docs/template.md.
THIRD_APP = ROOT / "examples" / "ihatemoney" / "layercake.toml"
BLOCK = re.compile(r"(<!-- begin: (?P<name>[\w-]+) -->\n).*?(<!-- end: (?P=name) -->)", re.DOTALL)

WORDS = {
    "en": {
        "title": "# The guide's lessons, and the tests that prove them",
        "intro": (
            "What you get here: for each lesson of the guide, the line of the template that applies it and the tests "
            "that go red when it is broken. [Русская версия](lessons.ru.md)."
        ),
        "header": "| lesson | where it is applied | tests that fail when it is broken |",
        "beyond": "## Beyond the guide",
        "beyond_intro": "What the template adds to the guide, proved the same way.",
        "why": "## Where the template departs from the guide",
        "generated": "<!-- written by `make docs` from docs/lessons.toml: edit that file, not this page -->",
    },
    "ru": {
        "title": "# Уроки гайда и тесты, которые их проверяют",
        "intro": (
            "Что здесь: для каждого урока гайда — строка шаблона, где он применён, и тесты, которые краснеют, "
            "если урок нарушить. [English](lessons.md). Остальные страницы в docs/ только на английском."
        ),
        "header": "| урок | где применён | тесты, которые падают при нарушении |",
        "beyond": "## За рамками гайда",
        "beyond_intro": "Что шаблон добавляет к гайду; проверено так же.",
        "why": "## Где шаблон расходится с гайдом",
        "generated": "<!-- пишет `make docs` из docs/lessons.toml: правьте тот файл, а не эту страницу -->",
    },
}

# How the run report's figures read in a table; a figure not named here shows under its own key.
FIGURE_NAMES = {
    "image_size_mb": "image size, MB",
    "overhead_above_base_mb": "overhead above the base, MB",
    "installed_packages_mb": "packages installed from the lock, MB",
    "beyond_the_packages_kb": "the image's own layers besides those packages, kB",
    "app_start_s": "docker run to the first health answer (the start that boot budgets add), s",
    "layer_count": "layers",
    "cold_build_s": "cold build, s",
    "warm_rebuild_s": "rebuild after an app change, s",
    "warm_cold_ratio": "rebuild ÷ cold build",
    "context_bytes": "build context sent from a folder with a 20 MB .git, bytes",
    "start_to_first_200_s": "docker run to the first 200, s",
    "stop_s": "docker stop, s",
    "stop_ratio_of_kill_timeout": "docker stop ÷ the kill timeout",
    "drain_in_flight_status": "status of a request in flight during docker stop",
    "compose_stop_s": "docker compose stop, s",
    "compose_down_s": "docker compose down, s",
    "unhealthy_after_s": "broken app turned unhealthy after, s",
    "worker_kill_failed_requests": "requests failed when a worker was killed",
    "worker_kill_recovery_s": "killed worker: answered again after, s",
    "pid1_kill_to_healthy_s": "killed PID 1: healthy again after, s",
    "load": "load test",
    "swarm": "swarm rollout and rollback",
    "second_app": "second app (examples/notes): a generated, updated project run by the installed plugin",
    "update_matrix": "updates from the last releases, each giving a new project's files",
    "update_conflict": "an owner's edit of a line the template changed, after the update",
    "checks_by_deletable_part": "checks that go with each part an owner deletes or replaces (none asserts on the template alone)",
    "bad_input_statuses": "bad requests and their statuses",
}


def code_link(file: str, depth: str = "../") -> str:
    return f"[`{file}`]({depth}{file})"


def test_link(node: str) -> str:
    path, _, name = node.partition("::")
    return f"[`{Path(path).name}`](../{path})`::{name}`"


def lessons_page(language: str) -> str:
    lessons = tomllib.loads(LESSONS.read_text())["lesson"]
    words = WORDS[language]

    def row(lesson: dict) -> str:
        where = ", ".join(f"{code_link(file)}: `{text}`" for file, text in lesson["where"])
        tests = "<br>".join(test_link(node) for node in lesson["tests"])
        return f"| {lesson[language]} | {where} | {tests} |"

    lines = [words["title"], "", words["intro"], "", words["generated"], "", words["header"], "|---|---|---|"]
    lines += [row(lesson) for lesson in lessons if not lesson.get("beyond")]
    lines += ["", words["beyond"], "", words["beyond_intro"], "", words["header"], "|---|---|---|"]
    lines += [row(lesson) for lesson in lessons if lesson.get("beyond")]
    lines += ["", words["why"], ""]
    lines += [f"- **{lesson[language]}.** {lesson['why'][language]}" for lesson in lessons if "why" in lesson]
    return "\n".join(lines) + "\n"


def number(value) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def figure_value(name: str, value) -> str:
    if name == "bad_input_statuses":
        statuses = sorted(set(value.values()))
        return f"{len(value)} kinds, answered with {', '.join(map(str, statuses))}"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {number(item)}" for key, item in value.items())
    return number(value)


def figures_table(report: dict) -> str:
    machine, run = report["machine"], report["run"]
    lines = [
        (
            f"Measured {report['measured_at']} by a full run of `make test` ({run['passed']} passed, {run['skipped']} "
            f"skipped) on {machine['cpus']} CPUs and {machine['memory_gb']} GB, Docker {machine['docker']}, base image "
            f"`{report['base_image']}`; written by `make docs` from "
            f"[docs/results/test-report.json](results/test-report.json)."
        ),
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [
        f"| {FIGURE_NAMES.get(name, name)} | {figure_value(name, value)} |" for name, value in report["figures"].items()
    ]
    return "\n".join(lines) + "\n"


def durations_table(report: dict) -> str:
    """Where the last full run's time went: its modules, its slowest tests and its slowest fixture setups."""
    spent = report.get("durations")
    if not spent:
        return "The last full run's report has no durations yet: run `make test`, then `make docs`.\n"
    lines = [
        f"The run took {spent['wall_s']} s. Its modules, with every test's setup, call and teardown:",
        "",
        "| module | s |",
        "|---|--:|",
        *(f"| `{module}` | {seconds} |" for module, seconds in spent["modules"].items()),
        "",
        "The slowest tests (a test's setup includes the fixtures it is the first to need):",
        "",
        "| test | setup | call | teardown | s |",
        "|---|--:|--:|--:|--:|",
        *(
            f"| `{row['test']}` | {row.get('setup', '')} | {row.get('call', '')} | {row.get('teardown', '')} "
            f"| {row['total']} |"
            for row in spent["tests"]
        ),
        "",
        "The slowest fixture setups (all of a fixture's setups together):",
        "",
        "| fixture (scope) | setups | s |",
        "|---|--:|--:|",
        *(f"| `{row['fixture']}` | {row['setups']} | {row['seconds']} |" for row in spent["fixtures"]),
    ]
    return "\n".join(lines) + "\n"


def exceptions_table(contract: dict) -> str:
    """What the published app's layercake.toml declares instead of the harness's defaults, each with its reason."""
    lines = ["| what | the app's value | why |", "|---|---|---|"]
    absent = contract.get("absent")
    if absent:
        lines.append(
            f"| a path it does not route | `{absent['path']}` answers {absent['status']} | the app's redirect |"
        )
    lines += [
        f"| `{entry['header']}` | `{entry['value']}` | {entry['reason']} |" for entry in contract.get("accept", [])
    ]
    return "\n".join(lines) + "\n"


def benchmark(results: dict) -> str:
    from bench.tables import markdown

    table = markdown(results).replace("## ", "### ", 1)
    return table + "\n![layercake, the guide's first attempt and two peers](../bench/results/latest.png)\n"


def fill(page: Path, blocks: dict[str, str]) -> str:
    """Return page's text with each `<!-- begin: name -->` ... `<!-- end: name -->` block holding blocks[name]."""
    text = page.read_text()
    found = set()

    def replace(match: re.Match) -> str:
        found.add(match["name"])
        return match[1] + blocks[match["name"]] + match[3]

    text = BLOCK.sub(replace, text)
    missing = set(blocks) - found
    if missing:
        raise LookupError(f"{page.relative_to(ROOT)} lacks the block(s) {sorted(missing)} that `make docs` fills")
    return text


def pages() -> dict[Path, str]:
    """Every page `make docs` writes, with the text it writes; a part that is gone is left out."""
    written = {}
    if LESSONS.exists():
        written |= {DOCS / "lessons.md": lessons_page("en"), DOCS / "lessons.ru.md": lessons_page("ru")}
    if TEST_REPORT.exists() and (DOCS / "testing.md").exists():
        report = json.loads(TEST_REPORT.read_text())
        blocks = {"test-figures": figures_table(report), "test-durations": durations_table(report)}
        written[DOCS / "testing.md"] = fill(DOCS / "testing.md", blocks)
    if THIRD_APP.exists() and (DOCS / "template.md").exists():
        blocks = {"declared-exceptions": exceptions_table(tomllib.loads(THIRD_APP.read_text()))}
        written[DOCS / "template.md"] = fill(DOCS / "template.md", blocks)
    if BENCH_RESULTS.exists() and (DOCS / "benchmark.md").exists():
        results = json.loads(BENCH_RESULTS.read_text())
        written[DOCS / "benchmark.md"] = fill(DOCS / "benchmark.md", {"benchmark": benchmark(results)})
    return written


def full_green_run(report: dict) -> bool:
    run = report.get("run") or {}
    return not run.get("selection") and run.get("passed", 0) > 0 and not run.get("failed") and not run.get("error")


def main() -> None:
    if RUN_REPORT.exists() and full_green_run(json.loads(RUN_REPORT.read_text())):
        TEST_REPORT.parent.mkdir(exist_ok=True)
        if not TEST_REPORT.exists() or TEST_REPORT.read_bytes() != RUN_REPORT.read_bytes():
            shutil.copyfile(RUN_REPORT, TEST_REPORT)
            print(f"docs: took the figures of the last full run from {RUN_REPORT.relative_to(ROOT)}", file=sys.stderr)
    for page, text in pages().items():
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
            print(f"docs: wrote {page.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

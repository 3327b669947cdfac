"""Where a run's time goes: each test's setup, call and teardown, each module's total, and each fixture's setups (an
image build, a compose stack, a swarm), kept in the run report beside the figures."""

import time
from collections import defaultdict

import pytest

DURATIONS = pytest.StashKey["Durations"]()
# How many tests and fixtures the report keeps, the slowest first; modules are few and all kept.
TOP = 15


def test_id(nodeid: str) -> str:
    """The test's id without the group pytest-xdist's loadgroup appends to it (`...::test@group`)."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


class Durations:
    """A pytest plugin that times the run: its tests from their reports (on the controller too, under pytest-xdist),
    its fixture setups where they run (a worker sends its own to the controller at its end)."""

    def __init__(self):
        self.started = time.perf_counter()
        self.tests: dict[str, dict[str, float]] = defaultdict(dict)
        self.fixtures: dict[str, list[float]] = defaultdict(list)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            self.fixtures[f"{fixturedef.argname} ({fixturedef.scope})"].append(time.perf_counter() - start)

    def pytest_runtest_logreport(self, report):
        self.tests[test_id(report.nodeid)][report.when] = report.duration

    def pytest_sessionfinish(self, session):
        if hasattr(session.config, "workeroutput"):
            session.config.workeroutput["layercake_fixtures"] = dict(self.fixtures)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        for name, setups in getattr(node, "workeroutput", {}).get("layercake_fixtures", {}).items():
            self.fixtures[name] += setups

    def summary(self) -> dict:
        """The slowest tests (by setup, call and teardown together), every module and the slowest fixture setups."""
        totals = {test: sum(phases.values()) for test, phases in self.tests.items()}
        modules = defaultdict(float)
        for test, seconds in totals.items():
            modules[test.split("::")[0]] += seconds
        fixtures = {name: sum(setups) for name, setups in self.fixtures.items()}
        return {
            "wall_s": round(time.perf_counter() - self.started, 1),
            "tests": [
                {"test": test, **{phase: round(s, 2) for phase, s in self.tests[test].items()}, "total": round(s, 2)}
                for test, s in sorted(totals.items(), key=lambda item: -item[1])[:TOP]
            ],
            "modules": {module: round(s, 1) for module, s in sorted(modules.items(), key=lambda item: -item[1])},
            "fixtures": [
                {"fixture": name, "setups": len(self.fixtures[name]), "seconds": round(s, 2)}
                for name, s in sorted(fixtures.items(), key=lambda item: -item[1])[:TOP]
            ],
        }


def write(terminalreporter, durations: dict) -> None:
    """Print the slowest tests, modules and fixture setups under the report's section."""
    terminalreporter.write_line(f"where the {durations['wall_s']} s went (slowest first):")
    for row in durations["tests"]:
        phases = " + ".join(f"{phase} {row[phase]}" for phase in ("setup", "call", "teardown") if phase in row)
        terminalreporter.write_line(f"  {row['total']:>7.2f} s  {row['test']}  ({phases})")
    for module, seconds in list(durations["modules"].items())[:TOP]:
        terminalreporter.write_line(f"  {seconds:>7.1f} s  module {module}")
    for row in durations["fixtures"]:
        terminalreporter.write_line(f"  {row['seconds']:>7.2f} s  fixture {row['fixture']} x{row['setups']}")

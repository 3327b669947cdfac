"""The harness is a pytest plugin that brings its own markers: a project that loads it pastes no marker list."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from pytest_layercake import sweep
from pytest_layercake.containers import LABEL, RUN
from pytest_layercake.plugin import MARKERS

ROOT = Path(__file__).resolve().parent.parent
# The inner runs' own options only: a selection given to the outer run (PYTEST_ADDOPTS="-m ...") is not theirs.
OWN_ENV = {name: value for name, value in os.environ.items() if name != "PYTEST_ADDOPTS"}


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """An inner pytest run in folder that loads this repository's harness, with its own options only."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        check=False,
        cwd=folder,
        env=OWN_ENV | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )


def test_plugin_registers_its_markers_for_strict_markers(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["pytest_layercake.plugin"]\n')
    marks = "".join(f"@pytest.mark.{name}\n" for name in MARKERS)
    (tmp_path / "test_marked.py").write_text(f"import pytest\n\n\n{marks}def test_marked():\n    pass\n")
    result = run_pytest(tmp_path, "--strict-markers", "-q", "test_marked.py")
    assert result.returncode == 0, (
        "a project with no marker list of its own can't run the harness's marked tests under --strict-markers: "
        f"pytest_layercake/plugin.py must register {', '.join(MARKERS)} itself\n{result.stdout[-1500:]}"
    )


# A project of two modules: one whose module fixture takes a while, and one that measures a figure.
TIMED_PROJECT = {
    "conftest.py": 'pytest_plugins = ["pytest_layercake.plugin"]\n',
    # The report names the base image the Dockerfile builds from.
    "Dockerfile": "ARG BASE_IMAGE=python:3.13-alpine3.24\nFROM ${BASE_IMAGE}\n",
    "test_slow.py": (
        "import time\n\nimport pytest\n\n\n@pytest.fixture(scope='module')\ndef slow_setup():\n"
        "    time.sleep(0.5)\n\n\ndef test_uses_it(slow_setup):\n    pass\n"
    ),
    "test_measures.py": "def test_measures(report):\n    report['answer_s'] = 0.25\n",
}


@pytest.mark.parametrize("workers", [[], ["-n", "2", "--dist", "loadgroup"]], ids=["one process", "two workers"])
def test_report_keeps_the_figures_and_where_the_time_went(tmp_path, workers):
    for name, text in TIMED_PROJECT.items():
        (tmp_path / name).write_text(text)
    result = run_pytest(tmp_path, "-q", *workers, "test_slow.py", "test_measures.py")
    assert result.returncode == 0, result.stdout[-1500:]
    written = tmp_path / "build" / "report.json"
    assert written.exists(), (
        f"the run measured a figure but wrote no report (a worker's figures got lost):\n{result.stdout}"
    )
    report = json.loads(written.read_text())
    assert report["figures"] == {"answer_s": 0.25}, f"the figures measured on a worker got lost: {report['figures']}"
    spent = report["durations"]
    assert set(spent["modules"]) == {"test_slow.py", "test_measures.py"}, spent["modules"]
    assert spent["modules"]["test_slow.py"] >= 0.5, f"the module fixture's 0.5 s is not in its module: {spent}"
    (slow,) = [row for row in spent["fixtures"] if row["fixture"] == "slow_setup (module)"]
    assert slow["setups"] == 1 and slow["seconds"] >= 0.5, f"the fixture's setup is not timed: {spent['fixtures']}"
    assert "where the" in result.stdout and "slow_setup (module)" in result.stdout, (
        "the run did not print its durations"
    )


# Two modules of four tests each, every test writing down the worker that ran it.
GROUPED_PROJECT = {
    "conftest.py": 'pytest_plugins = ["pytest_layercake.plugin"]\n',
    **{
        f"test_{name}.py": (
            "import os\nfrom pathlib import Path\n\nimport pytest\n\n\n"
            "@pytest.mark.parametrize('n', range(4))\ndef test_runs(n):\n"
            f"    with Path('ran-{name}').open('a') as ran:\n"
            "        ran.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
        )
        for name in ("first", "second")
    },
}


def test_each_module_runs_whole_on_one_worker(tmp_path):
    """A module's fixtures (a compose stack, a swarm rollout, an emulated image) start once only if pytest-xdist keeps
    the module on one worker: the plugin marks it as a group, and xdist must still read that mark."""
    for name, text in GROUPED_PROJECT.items():
        (tmp_path / name).write_text(text)
    files = [name for name in GROUPED_PROJECT if name.startswith("test_")]
    result = run_pytest(tmp_path, "-q", "-n", "2", "--dist", "loadgroup", *files)
    assert result.returncode == 0, result.stdout[-1500:]
    for name in ("first", "second"):
        workers = (tmp_path / f"ran-{name}").read_text().split()
        assert len(workers) == 4 and len(set(workers)) == 1, (
            f"test_{name}.py ran on the workers {workers}: its module fixtures would start on each. pytest-xdist's "
            "loadgroup no longer groups (it names the group in item._nodeid): pin the pytest it works with"
        )


def test_a_test_that_waits_forever_fails_named(tmp_path):
    """With pytest-timeout installed and no timeout set, every test has budgets.TEST_MAX_S (here made 1 s): a wait that
    never ends fails the test that waited instead of holding the run."""
    (tmp_path / "conftest.py").write_text(
        'from pytest_layercake import budgets\n\nbudgets.TEST_MAX_S = 1\npytest_plugins = ["pytest_layercake.plugin"]\n'
    )
    (tmp_path / "test_waits.py").write_text("import time\n\n\ndef test_waits_forever():\n    time.sleep(60)\n")
    started = time.monotonic()
    result = run_pytest(tmp_path, "-q", "-n", "0", "test_waits.py")
    assert result.returncode == 1 and "Timeout" in result.stdout and "test_waits_forever" in result.stdout, (
        f"a test that waits forever did not fail on the harness's time limit:\n{result.stdout[-1500:]}"
    )
    assert time.monotonic() - started < 30, "the time limit did not end the waiting test"


@pytest.mark.docker
def test_next_run_removes_what_a_killed_run_left(docker_client, project):
    """A run killed from outside (a CI time limit) can't sweep; the next one removes its things, and no live run's."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True)
    killed, live = f"k{RUN[1:]}", f"l{RUN[1:]}"
    with sweep.runs() as listed:
        listed.update({killed: int(ended.stdout), live: os.getpid()})
    made = {
        run: docker_client.containers.create(project.base_image, ["true"], labels={LABEL: run})
        for run in (killed, live)
    }
    try:
        removed = sweep.remove_dead_runs(docker_client)
        kept = {c.id for c in docker_client.containers.list(all=True, filters={"label": LABEL})}
        assert made[killed].id not in kept and killed in removed, f"the killed run's container is still there: {kept}"
        assert made[live].id in kept and live not in removed, "a live run's container was removed"
    finally:
        for container in made.values():
            try:
                container.remove(force=True)
            except docker.errors.NotFound:  # the sweep removed it
                pass
        with sweep.runs() as listed:
            listed.pop(live, None)
            listed.pop(killed, None)

"""The pytest plugin: typed fixtures for the project, its contract, its image, its containers and its compose stack.

Load it from the project's root conftest.py with `pytest_plugins = ["pytest_layercake.plugin"]`.
"""

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from testcontainers.core.wait_strategies import HttpWaitStrategy

from pytest_layercake import alone, budgets, durations, sweep
from pytest_layercake import report as figures
from pytest_layercake.budgets import STARTUP_TIMEOUT_S
from pytest_layercake.build import Build, build, own_lineage
from pytest_layercake.containers import COMPOSE_FILES, RUN, ComposeStack, LoopbackContainer, run_name
from pytest_layercake.contract import Contract, ContractError
from pytest_layercake.http import free_port
from pytest_layercake.layers import OwnLayers
from pytest_layercake.project import Project


def give_up(message: str):
    """Fail the tests that need Docker with one sentence, not a stack of docker-py errors."""
    raise pytest.fail.Exception(message, pytrace=False) from None


# The harness's markers, registered here so that a project's `--strict-markers` knows them without a list to paste.
MARKERS = {
    "docker": "needs a Docker engine (run only the rest with -m 'not docker')",
    "slow": "a bounded load test of about 30 s (skip it with -m 'not slow')",
    "swarm": "runs a single-node Docker swarm and rolls out a new image (about 45 s; skip it with -m 'not swarm')",
    "timed": "measures a time against a budget, so it runs alone: no other Docker test runs meanwhile",
    "runs_harness": "waits for another pytest run of the harness, whose tests take the timed checks' lock themselves",
    "inner_loop": "in the edit-verify loop, `make check`: the build, the contract probes, the logs and the stop",
    "emulated": "builds and runs the image for linux/arm64 under QEMU (about 3 min; skip it with -m 'not emulated')",
    "package_index": "resolves packages from the package index (needs the network; `make check` leaves it to `make test`)",
    "durability": "reads back the contract's [write] records after a fault: a killed PID 1, a restart, a redeploy, a "
    "rolling update",
}


# The generic proofs, shipped inside the plugin.
CHECKS = Path(__file__).parent / "checks"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    # Before pytest-timeout reads it: a time limit on every test unless the run sets its own (budgets.TEST_MAX_S).
    timeout = config.pluginmanager.hasplugin("timeout")
    unset = (
        config.getoption("timeout", None) is None
        and not config.getini("timeout")
        and "PYTEST_TIMEOUT" not in os.environ
    )
    if timeout and unset:
        config.option.timeout = budgets.TEST_MAX_S
    config.stash[figures.FIGURES] = {}
    config.stash[durations.DURATIONS] = durations.Durations()
    config.pluginmanager.register(config.stash[durations.DURATIONS], "layercake-durations")
    # A run of the whole project (no paths on the command line) runs the checks too, wherever the plugin is installed;
    # a project that keeps the package in its own tree collects them from there already.
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        given = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
        if not any(CHECKS.resolve().is_relative_to(path) for path in given):
            config.args.append(str(CHECKS))


# Under pytest-xdist these markers' modules wait longest, so on a first run (with no report to go by) they start first.
LONG_MARKERS = ("emulated", "swarm", "slow")


# The group of the timed checks under pytest-xdist: one worker runs them one after another, last, keeping the lock.
TIMED_GROUP = "timed"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist's loadgroup, each module goes to one worker whole (its module fixtures start once) unless a
    test names a group of its own (xdist_group); the modules go longest first, as the last run's report timed them
    (else by LONG_MARKERS), so the longest never starts last. The timed checks form one group that goes last: they run
    alone anyway, so as one batch after the rest they wait for the tests beside them once, not once each. One worker
    alone keeps pytest's order."""
    # A worker collects with dist "no" and loadgroup set (pytest-xdist's setup_config); its order is the one scheduled.
    if not config.getoption("loadgroup", False) and config.getoption("dist", "no") != "loadgroup":
        return
    in_timed = set()
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            # An emulated stack takes minutes to start again elsewhere, so its timed check stays in its module.
            if timed(item) and holds_lock(item) and not item.get_closest_marker("emulated"):
                in_timed.add(id(item))
            group = TIMED_GROUP if id(item) in in_timed else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))
    last = config.rootpath / "build" / "report.json"
    try:
        spent = json.loads(last.read_text())["durations"]["modules"]
    except (OSError, ValueError, KeyError):
        spent = {}
    module = {id(item): item.nodeid.split("::")[0] for item in items}
    long_modules = {module[id(item)] for item in items if any(item.get_closest_marker(m) for m in LONG_MARKERS)}
    items.sort(
        key=lambda item: (id(item) in in_timed, -spent.get(module[id(item)], 0), module[id(item)] not in long_modules)
    )


def holds_lock(item) -> bool:
    return item is not None and bool(item.get_closest_marker("docker")) and not item.get_closest_marker("runs_harness")


def timed(item) -> bool:
    return item is not None and item.get_closest_marker("timed") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A Docker test, with the fixtures it is the first or last to use, holds the machine's test lock: alone if it is
    timed, else shared (pytest_layercake/alone.py). A timed check followed by another keeps it for that one."""
    if not holds_lock(item):
        return (yield)
    alone.HOLDER.take(alone=timed(item))
    try:
        return (yield)
    finally:
        if not (timed(item) and holds_lock(nextitem) and timed(nextitem)):
            alone.HOLDER.release()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A worker's last teardown ends its session fixtures (the compose stack, the image, the sweep), which is Docker
    work like a test's: it holds the lock shared too, whatever its test, so a timed check is not disturbed by it."""
    if nextitem is not None or alone.HOLDER.held:
        return (yield)
    alone.HOLDER.take(alone=False)
    try:
        return (yield)
    finally:
        alone.HOLDER.release()


def pytest_sessionfinish(session):
    """Under pytest-xdist, a worker sends the figures it measured to the controller, which reports them."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["layercake_figures"] = session.config.stash[figures.FIGURES]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    figures.merge(node.config.stash[figures.FIGURES], getattr(node, "workeroutput", {}).get("layercake_figures", {}))


def pytest_terminal_summary(terminalreporter, config):
    """Print the figures the tests measured and where the run's time went, and keep both in build/report.json (a
    pytest-xdist worker leaves that to the controller)."""
    measured = config.stash[figures.FIGURES]
    if measured and not hasattr(config, "workeroutput"):
        project = Project(config.rootpath)
        out = config.rootpath / "build" / "report.json"
        spent = config.stash[durations.DURATIONS].summary()
        try:
            accepted = [dataclasses.asdict(entry) for entry in project.contract.accepted]
        except ContractError:
            accepted = []  # every check said why already
        run = figures.run_summary(terminalreporter, config)
        figures.write(terminalreporter, measured, project.base_image, out, run, spent, accepted)


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Before the first test, remove what runs killed from outside left behind; after the last, remove whatever of this
    run is still there, and fail the run if anything was."""
    with sweep.runs() as listed:
        listed[RUN] = os.getpid()
    try:
        client = docker.from_env()
        sweep.remove_dead_runs(client)
    except docker.errors.DockerException:
        client = None  # no engine, so no test makes anything
    try:
        yield
    finally:
        with sweep.runs() as listed:
            listed.pop(RUN, None)
    if client is None:
        return
    # Runs inside this one (a project's harness run in a test) that a time limit killed.
    sweep.remove_dead_runs(client)
    found = sweep.leftovers(client)
    sweep.remove(found)
    left = {
        kind: [r.name if hasattr(r, "name") else r.tags or r.short_id for r in items] for kind, items in found.items()
    }
    left = {kind: names for kind, names in left.items() if names}
    if left:
        pytest.fail(f"the tests left {left} behind (removed now): a fixture must remove what it creates", pytrace=False)


@pytest.fixture(scope="session")
def report(request) -> dict:
    """The figures for the end-of-run report: a test stores what it measured, rounded."""
    return request.config.stash[figures.FIGURES]


@pytest.fixture(scope="session")
def project(request) -> Project:
    """The project under test: the folder of pytest's rootdir (where pyproject.toml is)."""
    return Project(request.config.rootpath)


@pytest.fixture(scope="session")
def contract(project) -> Contract:
    """The app contract (layercake.toml); a broken one fails every check with the entry to fix."""
    try:
        return project.contract
    except ContractError as exc:
        give_up(str(exc))


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        give_up(f"No Docker engine answered ({exc}): start Docker so that `docker info` works, then run again.")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client, project) -> docker.models.images.Image:
    try:
        return docker_client.images.get(project.base_image)
    except docker.errors.ImageNotFound:
        pass
    try:
        return docker_client.images.pull(project.base_image)
    except docker.errors.APIError as exc:
        give_up(
            f"Base image {project.base_image} is not here and can't be pulled ({exc.explanation}): "
            "set BASE_IMAGE to a mirrored or local Python image (see README), then run again."
        )


@pytest.fixture(scope="session")
def image(base_image, project, contract, docker_client) -> Iterator[str]:
    """The project's image, built once per session from the working tree, as `docker compose build` builds it.

    testcontainers' DockerCompose runs the build, which is BuildKit's; its DockerImage would use the classic builder,
    which users no longer get (testcontainers-python#940).
    """
    missing = [name for name in COMPOSE_FILES if not (project.root / name).is_file()]
    if missing:
        give_up(
            f"{', '.join(missing)} not in {project.root}: the checks run the app from the compose files by these names "
            "(pytest_layercake/containers.py); rename yours if they are compose.yaml and the like"
        )
    compose = ComposeStack(project, run_name("test"), free_port())
    tag = compose.environ()["IMAGE"]
    try:
        compose.compose("build", "web")
    except AssertionError as exc:
        give_up(f"`docker compose build` of the project failed: {exc}")
    try:
        yield tag
    finally:
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass


@pytest.fixture(scope="session")
def image_attrs(image, docker_client) -> dict:
    return docker_client.images.get(image).attrs


@pytest.fixture(scope="session")
def own_layers(image, base_image, docker_client, tmp_path_factory) -> OwnLayers:
    """The files the project's own layers add on top of the base image, and which of them pip installed."""
    return OwnLayers.of(
        docker_client, image, len(base_image.attrs["RootFS"]["Layers"]), tmp_path_factory.mktemp("saved")
    )


@pytest.fixture(scope="session")
def app_container(image, image_attrs, contract) -> Callable[..., LoopbackContainer]:
    """Return a factory of containers of the image, configured but not started: use them in `with`."""
    exposed = sorted(image_attrs["Config"].get("ExposedPorts") or {})
    if f"{contract.port}/tcp" not in exposed:
        give_up(
            f"The image exposes {exposed} but layercake.toml says port {contract.port}, so no container of it would "
            "ever answer: make ENV PORT in the Dockerfile and port in layercake.toml agree."
        )

    def configure(**env: str) -> LoopbackContainer:
        # Asked every 50 ms: the app answers within a second of its start, and testcontainers' default waits 1 s a try.
        health = HttpWaitStrategy(contract.port, contract.health).with_startup_timeout(STARTUP_TIMEOUT_S)
        health = health.with_poll_interval(0.05)
        return LoopbackContainer(str(image), contract.port).with_envs(**env).waiting_for(health)

    return configure


@pytest.fixture(scope="session")
def app_start_s(app_container, report) -> float:
    """Seconds from `docker run` to the app's first health answer, measured once per session on this machine: the
    time budgets of a boot (a worker's, a restarted container's, a replica's) grow by it, so an app that imports and
    migrates more starts as slowly as it does everywhere, and a setting that never recovers still fails."""
    started = time.perf_counter()
    with app_container():
        seconds = time.perf_counter() - started
    report["app_start_s"] = round(seconds, 2)
    return seconds


@pytest.fixture(scope="module")
def container(app_container) -> Iterator[LoopbackContainer]:
    """One running container of the image per test module, healthy before the first test."""
    with app_container() as running:
        yield running


@pytest.fixture
def project_copy(tmp_path, project) -> Path:
    """A temp copy of the project, for a test that edits or plants files before building."""
    return project.copy(tmp_path / "project")


@pytest.fixture
def build_copy(base_image, docker_client, project) -> Iterator[Callable[..., Build]]:
    """Return a function that builds a folder (a temp copy of the project) and removes the images afterwards."""
    tags, lineage = [], run_name("lineage")

    def build_copy(path: Path, nocache: bool = False) -> Build:
        tags.append(f"{run_name('test')}:copy")
        dockerfile = own_lineage((path / "Dockerfile").read_text())
        return build(
            docker_client, path, tags[-1], project.base_image, nocache, dockerfile, {"LAYERCAKE_LINEAGE": lineage}
        )

    yield build_copy
    for tag in reversed(tags):
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:  # the build failed, as a test may want it to
            pass


@pytest.fixture(scope="session")
def compose_stack(project, base_image) -> Callable[..., ComposeStack]:
    """Return a factory of compose projects (a unique name and a free port): use them in `with`."""

    def configure(context: Path | None = None, files: list[str] | None = None, env=None) -> ComposeStack:
        return ComposeStack(project, run_name("test"), free_port(), context, files, env)

    return configure


@pytest.fixture(scope="session")
def stack(compose_stack) -> Iterator[ComposeStack]:
    """The project's docker-compose.yml, up and healthy (`up --build --wait`), under a project name of its own."""
    with compose_stack() as running:
        yield running


@pytest.fixture
def web(stack, docker_client):
    """The compose stack's web container, as a docker SDK container."""
    return stack.web(docker_client)

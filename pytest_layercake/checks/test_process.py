"""`docker exec ... ps ux`: who runs as PID 1, as which user, and what that user may touch."""

import math
import runpy
import time
import types
from pathlib import Path

import pytest
import requests
from gunicorn.config import KNOWN_SETTINGS
from testcontainers.core.wait_strategies import HttpWaitStrategy

from pytest_layercake.budgets import (
    STARTUP_TIMEOUT_S,
    WORKERS_MAX,
    WORKERS_MIN,
    WORKERS_PER_CPU_MAX,
    WORKERS_SPAWN_MAX_S,
)
from pytest_layercake.containers import gunicorn_settings, processes, random_openshift_uid

pytestmark = pytest.mark.docker

SHELLS = {"sh", "bash", "dash", "ash"}


def test_pid_1_is_the_gunicorn_master(container):
    wrapped = container.get_wrapped_container()
    procs = processes(wrapped)
    (init,) = [p for p in procs if p["pid"] == 1]
    names = [Path(arg).name for arg in init["argv"][:2]]
    assert names[0] not in SHELLS and "gunicorn" in names, (
        f'PID 1 is {init["argv"]}: use the exec form CMD ["gunicorn", ...], so that no shell swallows SIGTERM'
    )
    configured = int(gunicorn_settings(wrapped)["workers"])
    children = running_workers(wrapped, configured)
    assert len(children) == configured and all(p["argv"] == init["argv"] for p in children), (
        f"PID 1 should have gunicorn's {configured} workers (gunicorn.conf.py and WEB_CONCURRENCY) as children, "
        f"has {children}"
    )


def test_processes_do_not_run_as_root(container):
    procs = processes(container.get_wrapped_container())
    as_root = [p["argv"] for p in procs if p["uid"] == 0]
    assert not as_root, f"{as_root} run as root: keep USER 10001:10001 in the Dockerfile"


# Try to append to every file of the app and to plant a new file in each of its folders, as the app's user; print
# what worked. The folders the contract declares writable (argv) are the app's to change, and are left out.
TRY_WRITES = """
import os, sys
writable = [os.path.realpath(path) for path in sys.argv[1:]]
for folder, subfolders, files in os.walk(os.getcwd()):
    subfolders[:] = [name for name in subfolders if os.path.join(folder, name) not in writable]
    for name in files:
        try:
            open(os.path.join(folder, name), "a").close()
            print(os.path.join(folder, name), "writable")
        except PermissionError:
            pass
    planted = os.path.join(folder, "planted.py")
    try:
        open(planted, "x").close()
        os.remove(planted)
        print(planted, "writable")
    except PermissionError:
        pass
"""


def changes_the_app_user_can_make(wrapped, contract) -> list[str]:
    """The app's files and folders that the container's user can change, outside the contract's writable folders."""
    exit_code, output = wrapped.exec_run(["python", "-c", TRY_WRITES, *contract.writable])
    assert exit_code == 0, output.decode()
    return output.decode().split()[::2]


def writable_paths_refused(wrapped, contract) -> dict[str, str]:
    """The contract's writable folders where the container's user can't create a file, with the error."""
    refused = {}
    for folder in contract.writable:
        probe = f"{folder}/.layercake-probe"
        exit_code, output = wrapped.exec_run(
            ["python", "-c", f"open({probe!r}, 'x').close(); import os; os.remove({probe!r})"]
        )
        if exit_code:
            refused[folder] = output.decode().strip().splitlines()[-1]
    return refused


def test_app_user_cannot_change_the_app(container, contract):
    wrapped = container.get_wrapped_container()
    workdir = Path(wrapped.attrs["Config"]["WorkingDir"] or "/")
    covering = [path for path in contract.writable if workdir.is_relative_to(path)]
    assert not covering, (
        f"layercake.toml declares {covering} writable, which holds the app's own folder {workdir}: declare only the "
        "folders the app writes to, such as /app/instance"
    )
    changed = changes_the_app_user_can_make(wrapped, contract)
    assert not changed, (
        f"the app's user can write {changed}: leave the copied files owned by root (no --chown), "
        "and give the app's user only the folders that layercake.toml declares writable"
    )


@pytest.mark.parametrize("run", ["first", "second"])
def test_image_runs_as_any_uid_in_group_0(app_container, contract, run):
    uid = random_openshift_uid()
    fresh = app_container().with_kwargs(user=f"{uid}:0")
    try:
        fresh.start()
    except TimeoutError as exc:
        logs = fresh.log_text()[-1500:] if fresh._container else ""
        fresh.stop()
        pytest.fail(
            f"the image never answered {contract.health} under --user {uid}:0 ({exc}): every file the app reads must be "
            f"readable by any user (root-owned, mode 644), not only by 10001\n{logs}",
            pytrace=False,
        )
    try:
        for probe in contract.probes:
            response = requests.get(fresh.url(probe.path), timeout=5)
            assert probe.answered_by(response.status_code, response.text), (
                f"under --user {uid}:0, {probe.path} answered {response.status_code} {response.text[:200]!r}"
            )
        try:
            fresh.wait_healthy()
        except RuntimeError as exc:
            pytest.fail(f"under --user {uid}:0 Docker never called the container healthy ({exc})")
        wrapped = fresh.get_wrapped_container()
        assert {p["uid"] for p in processes(wrapped)} == {uid}, f"not every process runs as {uid}"
        changed = changes_the_app_user_can_make(wrapped, contract)
        assert not changed, f"under --user {uid}:0 the app's user can write {changed}: keep the app's files root-owned"
        refused = writable_paths_refused(wrapped, contract)
        assert not refused, (
            f"under --user {uid}:0 the app can't write {refused}: give each writable folder made in the image to group 0 "
            "as well (chown 10001:0 and chmod g=u), as OpenShift runs a random UID in group 0"
        )
    finally:
        fresh.stop()


def test_container_becomes_healthy(container, contract):
    try:
        container.wait_healthy()
    except RuntimeError as exc:
        pytest.fail(f"Docker never called the container healthy ({exc}): keep the HEALTHCHECK in the Dockerfile")
    response = requests.get(container.url(contract.health), timeout=5)
    assert response.status_code == 200, f"{contract.health} answered {response.status_code}"


@pytest.mark.timed
def test_first_answer_comes_soon_after_start(app_container, contract, report):
    """Time `docker run` to the first answer on the contract's first probe."""
    probe = contract.probe
    fresh = app_container().waiting_for(
        HttpWaitStrategy(contract.port, probe.path).with_startup_timeout(STARTUP_TIMEOUT_S).with_poll_interval(0.05)
    )
    start = time.perf_counter()
    with fresh:
        report["start_to_first_200_s"] = round(time.perf_counter() - start, 2)
        response = requests.get(fresh.url(probe.path), timeout=5)
        assert probe.answered_by(response.status_code, response.text), (
            f"{probe.path} answered {response.status_code} {response.text[:200]!r}, want {probe.status} with "
            f"{probe.body!r} (layercake.toml)"
        )


def test_gunicorn_recycles_hung_workers_and_trusts_no_proxy(container):
    settings = gunicorn_settings(container.get_wrapped_container())
    timeout = int(settings["timeout"])
    assert timeout > 0, f"gunicorn's timeout is {timeout}: a hung worker would never be recycled; keep it positive"
    allowed = settings["forwarded_allow_ips"]
    assert "*" not in allowed, (
        f"forwarded_allow_ips is {allowed}: trusting every peer lets any client claim https or another address; "
        "list your proxy's address instead"
    )


# gunicorn's settings that a container needs, as the running master resolves them, with why each.
CONTAINER_SETTINGS = {
    "accesslog": ("-", "access lines go to stdout, where `docker logs` reads them"),
    "worker_tmp_dir": ("/dev/shm", "heartbeat files go to RAM, as /tmp may be slow or read-only"),
    "reload": ("False", "auto-reload belongs in docker-compose.dev.yml, never in the image"),
}


def test_gunicorn_settings_suit_a_container(container):
    settings = gunicorn_settings(container.get_wrapped_container())
    wrong = {name: settings.get(name) for name, (want, _) in CONTAINER_SETTINGS.items() if settings.get(name) != want}
    assert not wrong, (
        "gunicorn runs with "
        + "; ".join(
            f"{name} = {value!r}, want {CONTAINER_SETTINGS[name][0]!r}: {CONTAINER_SETTINGS[name][1]}"
            for name, value in wrong.items()
        )
        + " (gunicorn.conf.py)"
    )
    assert int(settings["workers"]) >= WORKERS_MIN, (
        f"gunicorn runs {settings['workers']} worker: with one, a slow or crashed request stalls every client; keep "
        "at least two (gunicorn.conf.py, WEB_CONCURRENCY)"
    )


def test_gunicorn_conf_names_only_real_settings(project, contract, monkeypatch):
    """gunicorn ignores a misspelt setting without a word, so the file's names are checked against its own list."""
    conf = project.template_file("gunicorn.conf.py", "gunicorn reads its settings from it")
    monkeypatch.setenv("PORT", str(contract.port))  # as the image's ENV PORT sets it
    known = {setting.name for setting in KNOWN_SETTINGS}
    names = {
        name
        for name, value in runpy.run_path(str(conf)).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert names <= known, f"gunicorn.conf.py sets {sorted(names - known)}, which gunicorn silently ignores"


def expected_workers(cpus: float) -> int:
    """gunicorn.conf.py's count for a container allowed `cpus` CPUs: two per CPU, within the budget's bounds."""
    return min(WORKERS_MAX, max(WORKERS_MIN, math.ceil(WORKERS_PER_CPU_MAX * cpus)))


def running_workers(wrapped, want: int) -> list[dict]:
    """The master's children once it has spawned `want` of them (it staggers their start; the first answer can come
    before the last is forked), or those there are after WORKERS_SPAWN_MAX_S."""
    deadline = time.monotonic() + WORKERS_SPAWN_MAX_S
    while len(found := [p for p in processes(wrapped) if p["ppid"] == 1]) < want and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.mark.parametrize("cpus", [0.5, 1, 2, None], ids=["cpus-0.5", "cpus-1", "cpus-2", "no-limit"])
def test_workers_follow_the_cpu_limit(app_container, docker_client, cpus):
    visible = docker_client.info()["NCPU"]
    if cpus and cpus > visible:
        pytest.skip(f"--cpus {cpus} needs {cpus} CPUs; this engine has {visible}")
    want = expected_workers(cpus or visible)
    with app_container().with_kwargs(nano_cpus=int((cpus or 0) * 1e9)) as fresh:
        got = len(running_workers(fresh.get_wrapped_container(), want))
    assert got == want, (
        f"with --cpus {cpus or 'unset'} on {visible} CPUs gunicorn runs {got} workers, want {want}: size workers "
        "from the cgroup's CPU quota in gunicorn.conf.py, since os.cpu_count() sees the host's cores"
    )


def test_workers_follow_a_cgroup_v2_quota(app_container, tmp_path):
    """This engine may run cgroup v1; a v2 cpu.max of 1.5 CPUs is mounted where gunicorn.conf.py looks first."""
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    want = expected_workers(1.5)
    with app_container().with_volume_mapping(tmp_path / "cpu.max", "/sys/fs/cgroup/cpu.max") as fresh:
        got = len(running_workers(fresh.get_wrapped_container(), want))
    assert got == want, f"with cgroup v2's cpu.max at 1.5 CPUs gunicorn runs {got} workers, want {want}"


def test_web_concurrency_overrides_the_cpu_limit(app_container):
    with app_container(WEB_CONCURRENCY="3").with_kwargs(nano_cpus=int(1e9)) as fresh:
        got = len(running_workers(fresh.get_wrapped_container(), 3))
    assert got == 3, f"WEB_CONCURRENCY=3 with --cpus 1 gave {got} workers: a set WEB_CONCURRENCY must win"

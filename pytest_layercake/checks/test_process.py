"""The guide's `docker exec ... ps ux`: who runs as PID 1, as which user, and what that user may touch."""

import runpy
import time
import types
from pathlib import Path

import pytest
import requests
from gunicorn.config import KNOWN_SETTINGS
from testcontainers.core.wait_strategies import HealthcheckWaitStrategy, HttpWaitStrategy

from pytest_layercake.budgets import STARTUP_TIMEOUT_S
from pytest_layercake.containers import gunicorn_settings, processes

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
    children = [p for p in procs if p["ppid"] == 1]
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


def test_app_user_cannot_change_the_app(container, contract):
    wrapped = container.get_wrapped_container()
    workdir = Path(wrapped.attrs["Config"]["WorkingDir"] or "/")
    covering = [path for path in contract.writable if workdir.is_relative_to(path)]
    assert not covering, (
        f"layercake.toml declares {covering} writable, which holds the app's own folder {workdir}: declare only the "
        "folders the app writes to, such as /app/instance"
    )
    exit_code, output = wrapped.exec_run(["python", "-c", TRY_WRITES, *contract.writable])
    assert exit_code == 0, output.decode()
    assert not output.strip(), (
        f"the app's user can write {output.decode().split()[::2]}: leave the copied files owned by root (no --chown), "
        "and give the app's user only the folders that layercake.toml declares writable"
    )


def test_container_becomes_healthy(container, contract):
    try:
        HealthcheckWaitStrategy().with_startup_timeout(STARTUP_TIMEOUT_S).with_poll_interval(0.2).wait_until_ready(
            container
        )
    except RuntimeError as exc:
        pytest.fail(f"Docker never called the container healthy ({exc}): keep the HEALTHCHECK in the Dockerfile")
    response = requests.get(container.url(contract.health), timeout=5)
    assert response.status_code == 200, f"{contract.health} answered {response.status_code}"


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
    "reload": ("False", "auto-reload belongs in compose.dev.yaml, never in the image"),
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
    assert int(settings["workers"]) >= 2, (
        f"gunicorn runs {settings['workers']} worker: with one, a slow or crashed request stalls every client; keep "
        "at least two (gunicorn.conf.py, WEB_CONCURRENCY)"
    )


def test_gunicorn_conf_names_only_real_settings(project):
    """gunicorn ignores a misspelt setting without a word, so the file's names are checked against its own list."""
    conf = project.template_file("gunicorn.conf.py", "gunicorn reads its settings from it")
    known = {setting.name for setting in KNOWN_SETTINGS}
    names = {
        name
        for name, value in runpy.run_path(str(conf)).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert names <= known, f"gunicorn.conf.py sets {sorted(names - known)}, which gunicorn silently ignores"

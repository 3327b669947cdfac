"""The guide's `docker exec ... ps ux`: who runs as PID 1, as which user, and what that user may touch."""

import time
from pathlib import Path

import pytest
import requests
from budgets import STARTUP_TIMEOUT_S
from support import APP_PORT, processes
from testcontainers.core.wait_strategies import HealthcheckWaitStrategy, HttpWaitStrategy

pytestmark = pytest.mark.docker

SHELLS = {"sh", "bash", "dash", "ash"}


def test_pid_1_is_the_gunicorn_master(container):
    procs = processes(container.get_wrapped_container())
    (init,) = [p for p in procs if p["pid"] == 1]
    names = [Path(arg).name for arg in init["argv"][:2]]
    assert names[0] not in SHELLS and "gunicorn" in names, (
        f'PID 1 is {init["argv"]}: use the exec form CMD ["gunicorn", ...], so that no shell swallows SIGTERM'
    )
    children = [p for p in procs if p["ppid"] == 1]
    assert len(children) == 2 and all(p["argv"] == init["argv"] for p in children), (
        f"PID 1 should have gunicorn's 2 workers as children, has {children}"
    )


def test_processes_do_not_run_as_root(container):
    procs = processes(container.get_wrapped_container())
    as_root = [p["argv"] for p in procs if p["uid"] == 0]
    assert not as_root, f"{as_root} run as root: keep USER 10001:10001 in the Dockerfile"


def test_app_user_cannot_change_the_app(container):
    attempt = (
        "import errno\n"
        "for path, mode in (('/app/app.py', 'a'), ('/app/static/index.html', 'a'), ('/app/planted.py', 'w')):\n"
        "    try:\n"
        "        open(path, mode).close()\n"
        "        print(path, 'writable')\n"
        "    except PermissionError:\n"
        "        pass\n"
    )
    exit_code, output = container.get_wrapped_container().exec_run(["python", "-c", attempt])
    assert exit_code == 0, output.decode()
    assert not output.strip(), (
        f"the app's user can write {output.decode().split()}: leave the copied files owned by root (no --chown)"
    )


def test_container_becomes_healthy(container):
    try:
        HealthcheckWaitStrategy().with_startup_timeout(STARTUP_TIMEOUT_S).with_poll_interval(0.2).wait_until_ready(
            container
        )
    except RuntimeError as exc:
        pytest.fail(f"Docker never called the container healthy ({exc}): keep the HEALTHCHECK in the Dockerfile")
    response = requests.get(container.url("/healthz"), timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_first_answer_comes_soon_after_start(app_container, report):
    """Time `docker run` to the first 200 on /hello."""
    fresh = app_container().waiting_for(
        HttpWaitStrategy(APP_PORT, "/hello").with_startup_timeout(STARTUP_TIMEOUT_S).with_poll_interval(0.05)
    )
    start = time.perf_counter()
    with fresh:
        report["start_to_first_200_s"] = round(time.perf_counter() - start, 2)
        assert requests.get(fresh.url("/hello"), timeout=5).text == "nice to meet you"

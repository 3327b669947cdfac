"""Faults: gunicorn's master replaces a dead worker, and the restart policy brings back a dead PID 1."""

import time

import pytest
import requests

from pytest_layercake.budgets import RESTART_HEALTHY_MAX_S, WORKER_KILL_FAILED_MAX, WORKER_RECOVERY_MAX_S
from pytest_layercake.containers import LABELS, workers

pytestmark = pytest.mark.docker


@pytest.mark.timed
def test_killed_worker_is_replaced(app_container, contract, app_start_s, report):
    """SIGKILL the only worker: requests must succeed again within a second plus the app's own start (a new worker
    imports the app again), served by a new worker."""
    probe = contract.probe
    budget = WORKER_RECOVERY_MAX_S + app_start_s
    with app_container(WEB_CONCURRENCY="1") as single:
        wrapped = single.get_wrapped_container()
        (victim,) = workers(wrapped)
        exit_code, output = wrapped.exec_run(["python", "-c", f"import os; os.kill({victim['pid']}, 9)"])
        killed_at = time.perf_counter()  # the exec has returned, so the worker is dead from here on
        assert exit_code == 0, output.decode()
        failures, first_success = 0, None
        while time.perf_counter() - killed_at < budget:
            try:
                response = requests.get(single.url(probe.path), timeout=budget)
                ok = probe.answered_by(response.status_code, response.text)
            except requests.RequestException:
                ok = False
            failures += not ok
            if ok and first_success is None:
                first_success = time.perf_counter() - killed_at
                break
        (replacement,) = workers(wrapped)
    report["worker_kill_failed_requests"] = failures
    report["worker_kill_recovery_s"] = round(first_success, 3) if first_success else None
    assert replacement["pid"] != victim["pid"], "the killed worker was not replaced: run gunicorn, whose master does"
    assert first_success is not None, (
        f"no request succeeded within {budget:.1f} s of killing the worker ({WORKER_RECOVERY_MAX_S} s plus the app's "
        f"start, {app_start_s:.1f} s): run gunicorn, whose master replaces a dead worker"
    )
    assert failures <= WORKER_KILL_FAILED_MAX, (
        f"{failures} requests failed while the master replaced the killed worker: the listening socket belongs to "
        "the master, so a client should only wait"
    )


# Not timed: RESTART_HEALTHY_MAX_S is about ten times what the restart takes, so it holds beside other tests.
def test_dead_pid_1_is_restarted_and_healthy(compose_stack, docker_client, project, contract, app_start_s, report):
    """Kill PID 1 from outside (like an OOM kill, which `docker kill` is not): compose's restart policy revives it,
    healthy within the budget plus the app's own start."""
    budget = RESTART_HEALTHY_MAX_S + app_start_s
    with compose_stack() as stack:
        web = stack.web(docker_client)
        restarts = web.attrs["RestartCount"]
        since = time.time()
        docker_client.containers.run(
            project.base_image,
            ["python", "-c", f"import os; os.kill({web.attrs['State']['Pid']}, 9)"],
            pid_mode="host",
            labels=LABELS,
            remove=True,
        )
        died_at = healthy_at = None
        for event in docker_client.events(
            since=int(since),
            until=int(since + budget) + 2,
            filters={"container": web.id},
            decode=True,
        ):
            at = event["timeNano"] / 1e9
            if event["Action"] == "die" and died_at is None and at >= since - 1:
                died_at = at  # the clock starts when PID 1 died, not when the helper container started
            elif event["Action"] == "health_status: healthy" and died_at is not None and at > died_at:
                healthy_at = at
                break
        web.reload()
        seconds = healthy_at - died_at if healthy_at else None
        report["pid1_kill_to_healthy_s"] = round(seconds, 2) if seconds else None
        assert died_at is not None, "PID 1 did not die: the helper could not kill it"
        assert web.attrs["RestartCount"] == restarts + 1, (
            "the container was not restarted: keep deploy.restart_policy (condition: on-failure)"
        )
        assert seconds is not None and seconds <= budget, (
            f"the container was not healthy within {budget:.1f} s of losing PID 1 ({RESTART_HEALTHY_MAX_S} s plus the "
            f"app's start, {app_start_s:.1f} s)"
        )
        response = requests.get(stack.url(contract.probe.path), timeout=5)
        assert contract.probe.answered_by(response.status_code, response.text)

"""Faults: gunicorn's master replaces a dead worker and a hung one, and the restart policy brings back a dead PID 1."""

import signal
import time

import pytest
import requests

from pytest_layercake.budgets import (
    HUNG_WORKER_FAILED_MAX,
    HUNG_WORKER_MARGIN_S,
    HUNG_WORKER_TIMEOUT_MAX_S,
    RESTART_HEALTHY_MAX_S,
    SLOW_CLIENT_ANSWER_MAX_S,
    WORKER_KILL_FAILED_MAX,
    WORKER_RECOVERY_MAX_S,
)
from pytest_layercake.containers import gunicorn_settings, kill_from_host, signal_process, workers

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
        signal_process(wrapped, victim["pid"], signal.SIGKILL)
        killed_at = time.perf_counter()  # the exec has returned, so the worker is dead from here on
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


# Not timed: the margin is seconds over gunicorn's own once-a-second check, and the wait is the timeout itself.
def test_hung_worker_is_replaced_while_another_answers(app_container, contract, app_start_s, report):
    """SIGSTOP one of two workers, as a request stuck for good would hold it: the other answers meanwhile, and
    gunicorn's master kills the silent one after its `timeout` and starts another, saying WORKER TIMEOUT."""
    probe = contract.probe
    with app_container(WEB_CONCURRENCY="2") as app:
        wrapped = app.get_wrapped_container()
        timeout = float(gunicorn_settings(wrapped)["timeout"])
        assert 0 < timeout <= HUNG_WORKER_TIMEOUT_MAX_S, (
            f"gunicorn's timeout is {timeout:g} s: a hung worker is killed only after it (0: never), and serves no one "
            f"until then; set timeout in gunicorn.conf.py to at most {HUNG_WORKER_TIMEOUT_MAX_S} s"
        )
        victim = workers(wrapped)[0]["pid"]
        budget = timeout + HUNG_WORKER_MARGIN_S + app_start_s
        signal_process(wrapped, victim, signal.SIGSTOP)
        stopped_at = time.perf_counter()
        answered = failures = 0
        replaced_s = None
        while replaced_s is None and time.perf_counter() - stopped_at < budget:
            try:
                response = requests.get(app.url(probe.path), timeout=SLOW_CLIENT_ANSWER_MAX_S)
                ok = probe.answered_by(response.status_code, response.text)
            except requests.RequestException:
                ok = False
            answered += ok
            failures += not ok
            pids = {worker["pid"] for worker in workers(wrapped)}
            if victim not in pids and len(pids) == 2:
                replaced_s = time.perf_counter() - stopped_at
            time.sleep(0.2)
        log = wrapped.logs().decode(errors="replace")
    report["hung_worker_replaced_s"] = round(replaced_s, 2) if replaced_s else None
    assert replaced_s is not None, (
        f"the stopped worker was not replaced within {budget:.0f} s (gunicorn's timeout {timeout:g} s, plus "
        f"{HUNG_WORKER_MARGIN_S} s and the app's start): keep gunicorn's master, whose timeout replaces a hung worker"
    )
    assert "WORKER TIMEOUT" in log, "gunicorn replaced the stopped worker without saying WORKER TIMEOUT in the log"
    assert answered and failures <= HUNG_WORKER_FAILED_MAX, (
        f"{failures} of {answered + failures} requests failed while one worker hung: keep at least two workers "
        "(gunicorn.conf.py), so that the other answers"
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
        kill_from_host(docker_client, project.base_image, web.attrs["State"]["Pid"])
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

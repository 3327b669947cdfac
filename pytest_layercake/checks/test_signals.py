"""Ctrl-C and `docker stop`: with gunicorn as PID 1, SIGTERM and SIGINT stop the container at once and cleanly."""

import re
import socket
import threading
import time

import pytest
import requests

from pytest_layercake.budgets import STOP_RATIO_MAX, STOP_TIMEOUT_S
from pytest_layercake.containers import gunicorn_settings, wait_until_accepted

pytestmark = [pytest.mark.docker, pytest.mark.inner_loop]

SHUTDOWN_LINES = ("Shutting down: Master",)


def wait_for_exit(wrapped) -> int:
    """Wait up to the stop timeout for the container to exit, and return its exit code."""
    try:
        return wrapped.wait(timeout=STOP_TIMEOUT_S)["StatusCode"]
    except requests.exceptions.RequestException:
        pytest.fail(f"the container was still running {STOP_TIMEOUT_S} s after the signal: PID 1 ignored it")


@pytest.mark.timed
def test_docker_stop_is_graceful_and_quick(app_container, report):
    with app_container() as fresh:
        # Stopped once healthy, as after `compose up --wait`: a SIGTERM that reaches a worker still booting, before it
        # sets its own handlers, is lost (a gunicorn race), and the master waits out graceful_timeout for it.
        fresh.wait_healthy()
        wrapped = fresh.get_wrapped_container()
        start = time.perf_counter()
        wrapped.stop(timeout=STOP_TIMEOUT_S)
        seconds = time.perf_counter() - start
        wrapped.reload()
        exit_code = wrapped.attrs["State"]["ExitCode"]
        log = fresh.log_text()
    ratio = seconds / STOP_TIMEOUT_S
    report["stop_s"] = round(seconds, 2)
    report["stop_ratio_of_kill_timeout"] = round(ratio, 3)
    assert exit_code == 0, (
        f"docker stop ended with exit code {exit_code} (137 is SIGKILL after the timeout): "
        "use the exec form CMD so that gunicorn is PID 1 and receives SIGTERM"
    )
    assert ratio <= STOP_RATIO_MAX, (
        f"docker stop took {seconds:.1f} s of the {STOP_TIMEOUT_S} s kill timeout: PID 1 must handle SIGTERM itself, "
        f"and every worker must exit when it ends; the container's log ends:\n{log[-2000:]}"
    )
    for line in ("Handling signal: term", *SHUTDOWN_LINES):
        assert line in log, f"the log lacks {line!r}: gunicorn did not shut down gracefully"


def test_graceful_timeout_ends_before_docker_kills(container):
    """`docker stop` sends SIGKILL after its timeout: gunicorn's drain must end before, as the container runs it."""
    wrapped = container.get_wrapped_container()
    timeout = wrapped.attrs["Config"].get("StopTimeout") or STOP_TIMEOUT_S
    graceful = float(gunicorn_settings(wrapped)["graceful_timeout"])
    assert graceful < timeout, (
        f"gunicorn's graceful_timeout is {graceful:g} s, but `docker stop` kills after {timeout} s: keep "
        "graceful_timeout in gunicorn.conf.py below Docker's stop timeout, so a stop never ends in SIGKILL"
    )


@pytest.mark.timed
def test_ctrl_c_stops_the_container(app_container):
    with app_container() as fresh:
        wrapped = fresh.get_wrapped_container()
        wrapped.kill(signal="SIGINT")
        exit_code = wait_for_exit(wrapped)
        log = fresh.log_text()
    assert exit_code == 0, f"Ctrl-C (SIGINT) ended with exit code {exit_code}: gunicorn must be PID 1"
    for line in ("Handling signal: int", *SHUTDOWN_LINES):
        assert line in log, f"the log lacks {line!r}: gunicorn did not handle Ctrl-C"


@pytest.mark.timed
def test_request_in_flight_survives_docker_stop(app_container, contract, report):
    """Send half a request, stop the container, then finish the request: it must still get its whole answer."""
    probe = contract.probe
    with app_container() as fresh:
        wrapped = fresh.get_wrapped_container()
        port = int(fresh.get_exposed_port(contract.port))
        with socket.create_connection(("127.0.0.1", port), timeout=STOP_TIMEOUT_S) as client:
            client.sendall(f"GET {probe.path} HTTP/1.1\r\nHost: localhost\r\n".encode())
            wait_until_accepted(wrapped, contract.port)
            stopper = threading.Thread(target=wrapped.stop, kwargs={"timeout": STOP_TIMEOUT_S})
            stopper.start()
            assert fresh.log_has("Handling signal: term"), "gunicorn never saw the SIGTERM: it must be PID 1"
            client.sendall(b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        stopper.join()
        wrapped.reload()
        exit_code = wrapped.attrs["State"]["ExitCode"]
    status = re.match(rb"HTTP/1\.1 (\d+)", answer)
    report["drain_in_flight_status"] = int(status[1]) if status else None
    body = answer.partition(b"\r\n\r\n")[2].decode(errors="replace")
    assert status and probe.answered_by(int(status[1]), body), (
        f"a request in flight during docker stop got {answer[:80]!r}: let gunicorn's graceful_timeout finish it"
    )
    assert exit_code == 0, f"the stop during a request ended with exit code {exit_code}"

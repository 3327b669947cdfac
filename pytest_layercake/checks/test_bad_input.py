"""Bad input gets a short 4xx from the hardened compose container, never a traceback or source, and it keeps serving."""

import contextlib
import socket
import time

import pytest
import requests

from pytest_layercake.budgets import SLOW_CLIENT_ANSWER_MAX_S, SLOW_CLIENTS_MAX, STARTUP_TIMEOUT_S, WORKERS_MAX
from pytest_layercake.containers import held_by_worker
from pytest_layercake.contract import Absent
from pytest_layercake.http import raw_http, request

pytestmark = pytest.mark.docker

LEAKS = (b"Traceback", b"from flask import", b"Werkzeug Debugger", b"SECRET")


def cases(health: str, absent) -> dict[str, tuple[bytes, set]]:
    """id -> (raw request, the statuses that are right for it). Methods are tried on the health path, a GET only; a
    path the app does not route answers what layercake.toml's [absent] says (404, or the app's redirect)."""
    path, unknown, not_found = health.encode(), absent.path.encode(), {404, absent.status}
    return {
        "unknown path": (request("GET", unknown), {absent.status}),
        "POST to a GET route": (request("POST", path, b"Content-Length: 0\r\n"), {405}),
        "PUT to a GET route": (request("PUT", path, b"Content-Length: 0\r\n"), {405}),
        "DELETE to a GET route": (request("DELETE", path), {405}),
        "traversal": (request("GET", b"/../app.py"), not_found),
        "encoded traversal": (request("GET", b"/%2e%2e/app.py"), not_found),
        "static encoded slash": (request("GET", b"/static/..%2fapp.py"), not_found),
        "static double-encoded": (request("GET", b"/static/%252e%252e%252fapp.py"), not_found),
        "debugger console": (request("GET", b"/console"), {absent.status}),
        "debugger resource": (
            request("GET", unknown + b"?__debugger__=yes&cmd=resource&f=debugger.js"),
            {absent.status},
        ),
        "request line of 10 kB": (request("GET", b"/" + b"a" * 10_000), {414, 400}),
        "200 headers": (request("GET", path, b"".join(b"X-H%d: v\r\n" % i for i in range(200))), {431, 400}),
        "header of 20 kB": (request("GET", path, b"X-Big: " + b"a" * 20_000 + b"\r\n"), {431, 400}),
        "body over MAX_CONTENT_LENGTH": (request("POST", path, b"Content-Length: 2000000\r\n", b"a" * 1000), {413}),
        "Transfer-Encoding with Content-Length": (
            request("POST", path, b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", b"0\r\n\r\n"),
            {400},
        ),
        "non-UTF-8 path": (request("GET", b"/\xff\xfe\xfd"), {400} | not_found),
        "Host of 10 kB": (b"GET / HTTP/1.1\r\nHost: " + b"h" * 10_240 + b"\r\nConnection: close\r\n\r\n", {400, 431}),
        "NUL in a header": (request("GET", path, b"X-A: a\x00b\r\n"), {400}),
        "garbage bytes": (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n",
            {400, None},
        ),
    }


CASES = list(cases("/healthz", Absent("/no-such-page", 404)))


def still_answers(stack, contract):
    probe = contract.probe
    response = requests.get(stack.url(probe.path), timeout=5)
    assert probe.answered_by(response.status_code, response.text), (
        f"the server stopped answering {probe.path} after bad input"
    )


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused(stack, contract, case, report):
    raw, expected = cases(contract.health, contract.absent)[case]
    response = raw_http(stack.port, raw)
    status = response.status if response else None
    report.setdefault("bad_input_statuses", {})[case] = status
    assert status in expected, f"got {status}, want one of {expected}; response:\n{response and response.head}"
    if response:
        assert not any(leak in response.body for leak in LEAKS), f"the response leaks internals:\n{response.body[:500]}"
    still_answers(stack, contract)


def hold_a_slow_client_on_every_worker(port: int, container, contract, stack: contextlib.ExitStack) -> int:
    """Open connections that send half a request until every gunicorn worker holds one; return how many are held.
    A worker takes whichever connection it wins, so one that lands on a worker already holding one is closed again:
    as many slow clients as a worker has threads would block it whatever its settings."""
    probe = contract.probe
    held = held_by_worker(container, contract.port)
    opened = 0
    while held and min(held.values()) == 0:
        if opened >= SLOW_CLIENTS_MAX:
            pytest.fail(f"{opened} slow clients could not reach every worker: the workers hold {held}")
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow.sendall(f"GET {probe.path} HTTP/1.1\r\nHost: local".encode())
        opened += 1
        before, deadline = sum(held.values()), time.monotonic() + 5
        while sum(held.values()) == before and time.monotonic() < deadline:
            held = held_by_worker(container, contract.port)
        if sum(held.values()) > before and max(held.values()) == 1:
            stack.enter_context(slow)
            continue
        slow.close()  # a second on one worker, or not accepted in time
        deadline = time.monotonic() + 5
        while max(held.values()) > 1 and time.monotonic() < deadline:
            held = held_by_worker(container, contract.port)
    if held and max(held.values()) > 1:
        pytest.fail(f"a worker still holds a closed slow client after 5 s: the workers hold {held}")
    return sum(held.values())


def answer_budget(port: int, contract) -> float:
    """SLOW_CLIENT_ANSWER_MAX_S plus the probe's slowest answer with no slow client, on each worker (a worker renders
    its first page slower than the next): an app that takes longer to answer anyway is judged on its own pace."""
    url, slowest = f"http://127.0.0.1:{port}{contract.probe.path}", 0.0
    for _ in range(WORKERS_MAX * 2):
        started = time.perf_counter()
        requests.get(url, timeout=STARTUP_TIMEOUT_S)
        slowest = max(slowest, time.perf_counter() - started)
    return SLOW_CLIENT_ANSWER_MAX_S + slowest


def answered_beside_slow_clients(port: int, container, contract, budget: float) -> bool:
    """Hold a slow client on every worker, and say whether another client still gets its answer within budget."""
    probe = contract.probe
    with contextlib.ExitStack() as stack:
        hold_a_slow_client_on_every_worker(port, container, contract, stack)
        try:
            answer = requests.get(f"http://127.0.0.1:{port}{probe.path}", timeout=budget)
        except requests.RequestException:
            return False
    return probe.answered_by(answer.status_code, answer.text)


@pytest.mark.timed
def test_slow_client_does_not_block_others(stack, web, contract):
    """A slow client holds one gthread thread while it dribbles its request; the worker's other threads serve others,
    even when every worker holds one."""
    workers, budget = len(held_by_worker(web, contract.port)), answer_budget(stack.port, contract)
    assert answered_beside_slow_clients(stack.port, web, contract, budget), (
        f"no answer within {budget:.1f} s while each of the {workers} workers held a slow client: keep "
        "gthread workers with threads > 1 in gunicorn.conf.py (or a buffering proxy in front)"
    )


@pytest.mark.timed
def test_slow_client_blocks_a_single_sync_worker(app_container, contract):
    """The negative control: one sync worker (threads=1, or gunicorn runs gthread) serves one connection at a time."""
    with app_container(GUNICORN_CMD_ARGS="--worker-class=sync --workers=1 --threads=1") as single:
        port = int(single.get_exposed_port(contract.port))
        budget = answer_budget(port, contract)
        blocked = not answered_beside_slow_clients(port, single.get_wrapped_container(), contract, budget)
    assert blocked, "one sync worker answered beside a slow client: this check could not tell a blocked server apart"

"""Bad input gets a short 4xx from the hardened compose container, never a traceback or source, and it keeps serving."""

import socket

import pytest
import requests
from budgets import SLOW_CLIENT_ANSWER_MAX_S
from support import raw_http, wait_until_accepted

pytestmark = pytest.mark.docker

LEAKS = (b"Traceback", b"from flask import", b"def hello", b"Werkzeug Debugger", b"SECRET")


def request(method: str, target: bytes, headers: bytes = b"", body: bytes = b"") -> bytes:
    return (
        method.encode()
        + b" "
        + target
        + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        + headers
        + b"\r\n"
        + body
    )


# id -> (raw request, the statuses that are right for it)
CASES = {
    "unknown path": (request("GET", b"/no-such-page"), {404}),
    "POST /hello": (request("POST", b"/hello", b"Content-Length: 0\r\n"), {405}),
    "PUT /hello": (request("PUT", b"/hello", b"Content-Length: 0\r\n"), {405}),
    "DELETE /hello": (request("DELETE", b"/hello"), {405}),
    "traversal": (request("GET", b"/../app.py"), {404}),
    "encoded traversal": (request("GET", b"/%2e%2e/app.py"), {404}),
    "static encoded slash": (request("GET", b"/static/..%2fapp.py"), {404}),
    "static double-encoded": (request("GET", b"/static/%252e%252e%252fapp.py"), {404}),
    "debugger console": (request("GET", b"/console"), {404}),
    "debugger resource": (request("GET", b"/no-such-page?__debugger__=yes&cmd=resource&f=debugger.js"), {404}),
    "request line of 10 kB": (request("GET", b"/" + b"a" * 10_000), {414, 400}),
    "200 headers": (request("GET", b"/hello", b"".join(b"X-H%d: v\r\n" % i for i in range(200))), {431, 400}),
    "header of 20 kB": (request("GET", b"/hello", b"X-Big: " + b"a" * 20_000 + b"\r\n"), {431, 400}),
    "body over MAX_CONTENT_LENGTH": (request("POST", b"/hello", b"Content-Length: 2000000\r\n", b"a" * 1000), {413}),
    "Transfer-Encoding with Content-Length": (
        request("POST", b"/hello", b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", b"0\r\n\r\n"),
        {400},
    ),
    "non-UTF-8 path": (request("GET", b"/\xff\xfe\xfd"), {400, 404}),
    "Host of 10 kB": (b"GET /hello HTTP/1.1\r\nHost: " + b"h" * 10_240 + b"\r\nConnection: close\r\n\r\n", {400, 431}),
    "NUL in a header": (request("GET", b"/hello", b"X-A: a\x00b\r\n"), {400}),
    "garbage bytes": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", {400, None}),
}


def still_says_hello(stack):
    response = requests.get(stack.url("/hello"), timeout=5)
    assert response.text == "nice to meet you", "the server stopped answering /hello after bad input"


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused(stack, case, report):
    raw, expected = CASES[case]
    response = raw_http(stack.port, raw)
    status = response.status if response else None
    report.setdefault("bad_input_statuses", {})[case] = status
    assert status in expected, f"got {status}, want one of {expected}; response:\n{response and response.head}"
    if response:
        assert not any(leak in response.body for leak in LEAKS), f"the response leaks internals:\n{response.body[:500]}"
    still_says_hello(stack)


def test_slow_client_does_not_block_others(stack, web):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=5) as slow:
        slow.sendall(b"GET /hello HTTP/1.1\r\nHost: local")
        wait_until_accepted(web)
        try:
            answer = requests.get(stack.url("/hello"), timeout=SLOW_CLIENT_ANSWER_MAX_S)
        except requests.RequestException:
            pytest.fail(
                f"no answer within {SLOW_CLIENT_ANSWER_MAX_S} s while a slow client held a worker: "
                "keep at least 2 gunicorn workers (WEB_CONCURRENCY)"
            )
    assert answer.text == "nice to meet you"


def test_responses_carry_security_headers(stack):
    for path in ("/", "/hello", "/no-such-page"):
        headers = requests.get(stack.url(path), timeout=5).headers
        assert headers.get("X-Content-Type-Options") == "nosniff", f"{path} lacks X-Content-Type-Options: nosniff"
        assert "default-src 'self'" in headers.get("Content-Security-Policy", ""), f"{path} lacks a CSP"

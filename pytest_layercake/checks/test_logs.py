"""`docker logs`: everything goes to stdout and stderr, at once, one access line per request."""

import json
import re
import urllib.parse
import uuid
from dataclasses import astuple

import pytest
import requests

from pytest_layercake.budgets import LOG_DELAY_MAX_S, LOG_LINE_WAIT_S
from pytest_layercake.containers import LOG_NEVER

pytestmark = [pytest.mark.docker, pytest.mark.inner_loop]


@pytest.fixture
def logged(contract):
    """The first probe that names a line the app prints for it."""
    found = [probe for probe in contract.probes if probe.log]
    if not found:
        pytest.skip("no [[probes]] entry in layercake.toml names a `log` line the app prints")
    return found[0]


def test_log_shows_the_gunicorn_start_line(container):
    assert "Starting gunicorn" in container.log_text(), "gunicorn did not start: the CMD must run gunicorn"


def test_access_log_has_one_line_per_request(app_container, contract):
    probe = uuid.uuid4().hex
    calls = list(dict.fromkeys((p.path, p.status) for p in contract.probes)) + [astuple(contract.absent)]
    lines = {call: re.compile(rf'"GET {re.escape(call[0])}\?probe={probe} HTTP/1\.1" {call[1]} ') for call in calls}
    with app_container() as fresh:
        for path, status in calls:
            answer = requests.get(fresh.url(f"{path}?probe={probe}"), timeout=5, allow_redirects=False)
            assert answer.status_code == status, (
                f"GET {path} answered {answer.status_code}, layercake.toml says {status}"
            )
        # Each worker writes its line after it has answered, so a later request's line may come first: wait for each.
        for line in lines.values():
            if not fresh.log_has(line, timeout=LOG_LINE_WAIT_S):
                break  # the assertion below names it; the others would only wait as long
        log = fresh.log_text()
    for (path, status), line in lines.items():
        assert len(line.findall(log)) == 1, (
            f"expected one access-log line for GET {path} -> {status}: keep accesslog = '-' in gunicorn.conf.py"
        )


@pytest.mark.timed
def test_probe_is_logged_to_stdout_at_once(app_container, logged):
    with app_container() as fresh:
        requests.get(fresh.url(logged.path), timeout=5).raise_for_status()
        assert fresh.log_has_line(logged.log, timeout=LOG_DELAY_MAX_S), (
            f"{logged.path}'s print() did not reach `docker logs` within {LOG_DELAY_MAX_S} s: keep it in the app, "
            "unbuffered"
        )
        stdout, _ = fresh.get_logs()
    assert stdout.decode().count(f"{logged.log}\n") == 1, f"one {logged.path} must print one line, to stdout"


@pytest.mark.timed
def test_print_is_unbuffered_without_an_access_log(app_container, logged):
    with app_container(GUNICORN_CMD_ARGS="--access-logfile=/dev/null") as quiet:
        requests.get(quiet.url(logged.path), timeout=5).raise_for_status()
        assert quiet.log_has_line(logged.log, timeout=LOG_DELAY_MAX_S), (
            "print() stayed in a buffer once no access log flushed stdout: keep ENV PYTHONUNBUFFERED=1 in the Dockerfile"
        )


@pytest.mark.parametrize("line", LOG_NEVER)
def test_log_never_shows(container, contract, line):
    requests.get(container.url(contract.probe.path), timeout=5).raise_for_status()
    assert line not in container.log_text(), f"the log shows {line!r}: {LOG_NEVER[line]}"


def test_spoofed_forwarded_for_stays_out_of_the_access_log(container, contract):
    spoofed, marker = "203.0.113.77", uuid.uuid4().hex
    path = f"{contract.probe.path}?spoof={marker}"
    requests.get(container.url(path), headers={"X-Forwarded-For": spoofed}, timeout=5).raise_for_status()
    container.log_has(f"spoof={marker}")
    (line,) = [line for line in container.log_text().splitlines() if f"spoof={marker}" in line]
    assert spoofed not in line, (
        f"the access log believes a client's X-Forwarded-For ({line}): log the peer's address, and trust the header "
        "only from your proxy (forwarded_allow_ips, ProxyFix with a fixed count)"
    )


# What a client controls in an access line: quotes, braces and (percent-encoded in the path, after the contract's
# [absent] path) a newline. Written into a log line by a format string, each would end the line early or forge a field.
HOSTILE = {
    "path": '"}\n{"forged": true, "x": "{',
    "User-Agent": 'agent "quoted" {braces} \\ back',
    "Referer": 'http://127.0.0.1/"}, {"level": "forged"',
}


def json_lines(log: str) -> list[dict]:
    """Every line of `docker logs`, parsed; a line that isn't one JSON object fails with its number."""
    parsed = []
    for number, line in enumerate(log.splitlines(), 1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            parsed.append(None)
        assert isinstance(parsed[-1], dict), (
            f"with LOG_FORMAT=json, line {number} of `docker logs` is not a JSON object: {line!r}. Build every line "
            "with a JSON encoder (gunicorn.conf.py's logger_class), never with access_log_format's %(...)s"
        )
    return parsed


def test_json_logs_keep_what_a_client_sent_intact(app_container, contract):
    marker = uuid.uuid4().hex
    hostile = HOSTILE | {"path": contract.absent.path + HOSTILE["path"]}
    with app_container(LOG_FORMAT="json") as fresh:
        headers = {name: value for name, value in hostile.items() if name != "path"}
        path = urllib.parse.quote(hostile["path"] + marker)
        requests.get(fresh.url(path), headers=headers, timeout=5, allow_redirects=False)
        for probe in contract.probes:
            requests.get(fresh.url(probe.path), timeout=5).raise_for_status()
        for line in [marker, *(probe.log for probe in contract.probes if probe.log)]:
            fresh.log_has(line, timeout=LOG_LINE_WAIT_S)
        entries = json_lines(fresh.log_text())
    (access,) = [entry for entry in entries if hostile["path"] + marker in entry.values()] or [None]
    assert access, f"no JSON line holds the request's path {hostile['path'] + marker!r} as one field's value"
    for name, sent in hostile.items():
        assert sent in access.values() or sent + marker in access.values(), (
            f"the access line lost the {name} the client sent ({sent!r}): {access}"
        )
    for probe in contract.probes:
        if probe.log:
            assert any(probe.log in entry.values() for entry in entries), (
                f"{probe.path}'s printed line {probe.log!r} is not a field of any JSON line: route print() and "
                "logging through the JSON logger (gunicorn.conf.py)"
            )


def test_plain_log_lines_stay_the_default(container):
    (first, *_) = container.log_text().splitlines()
    assert not first.startswith("{"), f"without LOG_FORMAT the log is JSON ({first}): keep plain lines the default"

"""The guide's `docker logs`: everything goes to stdout and stderr, at once, one access line per request."""

import re
import uuid

import pytest
import requests
from budgets import LOG_DELAY_MAX_S
from support import LOG_NEVER

pytestmark = pytest.mark.docker


def test_log_shows_the_gunicorn_start_line(container):
    assert "Starting gunicorn" in container.log_text(), "gunicorn did not start: the CMD must run gunicorn"


def test_access_log_has_one_line_per_request(app_container):
    probe = uuid.uuid4().hex
    calls = [("/", 200), ("/hello", 200), ("/no-such-page", 404)]
    with app_container() as fresh:
        for path, status in calls:
            assert requests.get(fresh.url(f"{path}?probe={probe}"), timeout=5).status_code == status
        fresh.log_has(re.compile(f"GET /no-such-page\\?probe={probe} "))
        log = fresh.log_text()
    for path, status in calls:
        line = re.compile(rf'"GET {re.escape(path)}\?probe={probe} HTTP/1\.1" {status} ')
        assert len(line.findall(log)) == 1, (
            f"expected one access-log line for GET {path} -> {status}: keep accesslog = '-' in gunicorn.conf.py"
        )


def test_hello_is_logged_to_stdout_at_once(app_container):
    with app_container() as fresh:
        requests.get(fresh.url("/hello"), timeout=5).raise_for_status()
        assert fresh.log_has_line("accepted request", timeout=LOG_DELAY_MAX_S), (
            f"/hello's print() did not reach `docker logs` within {LOG_DELAY_MAX_S} s: keep it in app.py, unbuffered"
        )
        stdout, _ = fresh.get_logs()
    assert stdout.decode().count("accepted request\n") == 1, "one /hello must print one line, to stdout"


def test_print_is_unbuffered_without_an_access_log(app_container):
    with app_container(GUNICORN_CMD_ARGS="--access-logfile=/dev/null") as quiet:
        requests.get(quiet.url("/hello"), timeout=5).raise_for_status()
        assert quiet.log_has_line("accepted request", timeout=LOG_DELAY_MAX_S), (
            "print() stayed in a buffer once no access log flushed stdout: keep ENV PYTHONUNBUFFERED=1 in the Dockerfile"
        )


@pytest.mark.parametrize("line", LOG_NEVER)
def test_log_never_shows(container, line):
    requests.get(container.url("/hello"), timeout=5).raise_for_status()
    assert line not in container.log_text(), f"the log shows {line!r}: {LOG_NEVER[line]}"

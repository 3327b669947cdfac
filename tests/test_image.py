"""Build the image and check that a container from it serves the guide's app."""

import pytest
import requests

pytestmark = pytest.mark.docker


def test_container_serves_the_page(container):
    response = requests.get(container.url("/"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Hello from Mary" in response.text


def test_container_answers_hello(container):
    response = requests.get(container.url("/hello"), timeout=5)
    assert response.status_code == 200
    assert response.text == "nice to meet you"


def test_hello_is_logged_to_stdout(app_container):
    with app_container() as fresh:
        requests.get(fresh.url("/hello"), timeout=5).raise_for_status()
        assert fresh.log_has_line("accepted request"), "/hello's print() did not reach `docker logs`: keep it in app.py"
        stdout, _ = fresh.get_logs()
    assert stdout.decode().count("accepted request\n") == 1, "one /hello must print one line, to stdout"


def test_print_is_unbuffered_without_an_access_log(app_container):
    with app_container(GUNICORN_CMD_ARGS="--access-logfile=/dev/null") as quiet:
        requests.get(quiet.url("/hello"), timeout=5).raise_for_status()
        assert quiet.log_has_line("accepted request", timeout=1), (
            "print() stayed in a buffer once no access log flushed stdout: keep ENV PYTHONUNBUFFERED=1 in the Dockerfile"
        )


def test_container_runs_gunicorn_not_the_dev_server(container):
    _, stderr = container.get_logs()
    log = stderr.decode()
    assert "Starting gunicorn" in log, f"gunicorn did not start; log:\n{log}"
    assert "development server" not in log, "the image must run gunicorn, never `python app.py`"
    assert "Debugger is active" not in log, "the Werkzeug debugger must never run in the image"

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


def test_hello_is_logged_to_stdout(container):
    before = container.get_logs()[0].decode().count("accepted request\n")
    requests.get(container.url("/hello"), timeout=5).raise_for_status()
    assert container.log_has_line("accepted request", times=before + 1), (
        "/hello's print() did not reach `docker logs`: keep the print in app.py, and logs unbuffered"
    )
    stdout, _ = container.get_logs()
    assert stdout.decode().count("accepted request\n") == before + 1, "one /hello must print exactly one line"


def test_container_runs_gunicorn_not_the_dev_server(container):
    _, stderr = container.get_logs()
    log = stderr.decode()
    assert "Starting gunicorn" in log, f"gunicorn did not start; log:\n{log}"
    assert "development server" not in log, "the image must run gunicorn, never `python app.py`"
    assert "Debugger is active" not in log, "the Werkzeug debugger must never run in the image"

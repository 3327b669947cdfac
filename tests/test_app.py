"""Fast tests of the guide's app, of baseline.py and of the gunicorn settings; no Docker engine needed."""

import runpy
import types
from pathlib import Path

import pytest
from flask import Flask
from gunicorn.config import KNOWN_SETTINGS
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

import baseline
from app import app
from harness.budgets import STARTUP_TIMEOUT_S
from harness.containers import LABELS

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


@pytest.fixture
def client():
    return app.test_client()


def test_index_serves_the_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"Hello from Mary" in response.data


def test_index_is_a_real_page(client):
    page = client.get("/").get_data(as_text=True).lower()
    for part in ("<!doctype html>", "<title>", 'charset="utf-8"', 'name="viewport"'):
        assert part in page, f"static/index.html lacks {part}"


def test_hello_answers_and_prints(client, capsys):
    response = client.get("/hello")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "nice to meet you"
    assert capsys.readouterr().out == "accepted request\n"


def test_healthz_returns_small_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unknown_path_is_404(client):
    assert client.get("/nope").status_code == 404


def test_debug_is_off():
    assert not app.debug, "the debugger must never be on outside `python app.py` on a laptop"


# Written out, not taken from baseline.py, so that a widened header there fails here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def test_responses_carry_security_headers(client):
    for path in ("/", "/hello", "/nope"):
        headers = client.get(path).headers
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, f"{path} answers {name}: {headers.get(name)!r}, want {value!r}"


def test_oversized_body_is_refused(client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit, "set MAX_CONTENT_LENGTH, or any client can send an endless body"
    assert client.post("/hello", data=b"x" * (limit + 1)).status_code == 413
    assert client.post("/hello", data=b"x").status_code == 405


def test_secret_key_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    assert runpy.run_path(str(ROOT / "app.py"))["app"].secret_key is None, "no secret may be written into app.py"
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    assert runpy.run_path(str(ROOT / "app.py"))["app"].secret_key == "from-the-environment"


def test_baseline_gives_any_flask_app_what_it_owes(monkeypatch):
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "10")
    bare = baseline.init_app(Flask("another"), health_path="/health")
    client = bare.test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.post("/health", data=b"x" * 11).status_code == 413, "FLASK_MAX_CONTENT_LENGTH was not read"
    assert client.get("/nope").headers["X-Frame-Options"] == "DENY"


@pytest.mark.docker
def test_python_app_py_binds_loopback_without_the_debugger(image):
    """`python app.py`, the README's quick local run: Flask's dev server on 127.0.0.1 only, debugger off."""
    dev = DockerContainer(str(image)).with_command(["python", "app.py"]).with_kwargs(labels=LABELS)
    with dev.waiting_for(LogMessageWaitStrategy("Running on").with_startup_timeout(STARTUP_TIMEOUT_S)):
        wrapped = dev.get_wrapped_container()
        _, tcp = wrapped.exec_run(["cat", "/proc/net/tcp"])
        stdout, stderr = dev.get_logs()
    listening = [row.split()[1] for row in tcp.decode().splitlines()[1:] if row.split()[3] == "0A"]
    log = (stdout + stderr).decode()
    assert listening == ["0100007F:1388"], f"python app.py listens on {listening} (hex): want only 127.0.0.1:5000"
    assert "Debugger is active" not in log, "python app.py turned the debugger on: it runs any code a page sends it"


def load_gunicorn_conf(monkeypatch, **env):
    for name in ("PORT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_conf_defaults_suit_a_container(monkeypatch):
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["bind"] == "0.0.0.0:5000"
    assert conf["workers"] >= 2, "with one worker, a slow or crashed request stalls every client"
    assert conf["worker_class"] == "gthread" and conf["threads"] > 1, "keep threaded workers (see the benchmark)"
    assert conf["accesslog"] == "-"
    assert conf["worker_tmp_dir"] == "/dev/shm"
    assert conf["control_socket_disable"] is True
    assert not conf.get("reload"), "auto-reload belongs in compose.dev.yaml, never in the image's settings"


def test_gunicorn_conf_reads_the_environment(monkeypatch):
    conf = load_gunicorn_conf(monkeypatch, PORT="8080", WEB_CONCURRENCY="5")
    assert conf["bind"] == "0.0.0.0:8080"
    assert conf["workers"] == 5


def test_gunicorn_conf_names_are_real_settings(monkeypatch):
    known = {setting.name for setting in KNOWN_SETTINGS}
    conf = load_gunicorn_conf(monkeypatch)
    names = {k for k, v in conf.items() if not k.startswith("_") and not isinstance(v, types.ModuleType)}
    assert names <= known, f"gunicorn silently ignores unknown settings: {sorted(names - known)}"

"""baseline.py, what every app owes the container, on a bare Flask app; no Docker engine needed."""

import pytest
from flask import Flask

import baseline

# Written out, not taken from baseline.py, so that a widened header there fails here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def bare(monkeypatch) -> Flask:
    """A Flask app with nothing but the baseline, and no FLASK_* settings from the caller's environment."""
    for name in ("FLASK_SECRET_KEY", "FLASK_MAX_CONTENT_LENGTH", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    app = Flask("bare")

    @app.route("/echo", methods=["GET", "POST"])
    def echo():
        return "echo"

    return baseline.init_app(app, health_path="/health")


def test_baseline_adds_the_health_endpoint(bare):
    assert bare.test_client().get("/health").get_json() == {"status": "ok"}


def test_baseline_adds_security_headers_to_every_response(bare):
    client = bare.test_client()
    for path in ("/health", "/echo", "/nope"):
        headers = client.get(path).headers
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, f"{path} answers {name}: {headers.get(name)!r}, want {value!r}"


def test_baseline_refuses_an_oversized_body(bare):
    limit = bare.config["MAX_CONTENT_LENGTH"]
    assert limit, "set MAX_CONTENT_LENGTH, or any client can send an endless body"
    client = bare.test_client()
    assert client.post("/echo", data=b"x" * (limit + 1)).status_code == 413
    assert client.post("/echo", data=b"x").status_code == 200


def test_baseline_reads_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "10")
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    app = baseline.init_app(Flask("configured"))
    assert app.secret_key == "from-the-environment", "no secret may be written into the app: FLASK_SECRET_KEY"
    assert app.test_client().post("/healthz", data=b"x" * 11).status_code == 413, "FLASK_MAX_CONTENT_LENGTH unread"


def test_baseline_leaves_the_secret_unset_without_the_environment(bare):
    assert bare.secret_key is None, "no secret may be written into baseline.py or the app"
    assert not bare.debug, "the debugger must never be on outside a laptop's `flask run --debug`"

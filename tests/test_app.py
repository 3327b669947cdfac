"""The sample app: its page, its /hello, its health path; no Docker engine needed. Replace this file with your app's
own tests (the generic proofs live in pytest_layercake/)."""

import pytest

from app import app


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

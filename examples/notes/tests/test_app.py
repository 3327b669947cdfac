"""The notes app's own tests; no Docker engine needed."""

import pytest
from notes import create_app


@pytest.fixture
def client(tmp_path):
    return create_app(instance_path=str(tmp_path)).test_client()


def test_notes_are_stored_and_listed(client):
    assert client.get("/notes").get_json()["notes"] == []
    assert client.post("/notes", json={"text": "buy milk"}).status_code == 201
    assert [note["text"] for note in client.get("/notes").get_json()["notes"]] == ["buy milk"]


def test_empty_note_is_refused(client):
    assert client.post("/notes", json={"text": " "}).status_code == 400


def test_health_and_headers_come_from_the_baseline(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"

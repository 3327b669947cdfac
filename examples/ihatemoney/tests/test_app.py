"""The app as this project configures it, without a container: its settings, its page and its health path."""

import importlib
import sys

import pytest


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A fresh import of app.py, with its database in a temp folder."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "app", None)
    del sys.modules["app"]
    return importlib.import_module("app").app


def test_settings_file_is_read(app):
    assert app.config["SITE_NAME"] == "Shared budgets"


def test_database_is_migrated_in_the_data_folder(app, tmp_path):
    assert (tmp_path / "ihatemoney.db").stat().st_size > 0


def test_home_page_names_the_site(app):
    response = app.test_client().get("/")
    assert response.status_code == 200 and "Shared budgets" in response.text


def test_health_path_answers(app):
    assert app.test_client().get("/healthz").json == {"status": "ok"}


def test_forwarded_for_is_not_trusted_without_a_proxy(app):
    assert app.wsgi_app.x_for == 0

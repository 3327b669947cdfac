"""A small notes API, shaped unlike the guide's app: an app factory in a package, JSON answers, a SQLite file."""

import sqlite3
from pathlib import Path

from flask import Flask, g, request

import baseline


def create_app(instance_path: str | None = None) -> Flask:
    # The SQLite file lives in Flask's instance folder: /app/instance by default (a volume in compose), a temp folder
    # in the tests.
    app = Flask(__name__, instance_path=instance_path)
    baseline.init_app(app)

    def db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(Path(app.instance_path) / "notes.sqlite3")
            g.db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        return g.db

    @app.teardown_appcontext
    def close_db(_):
        if "db" in g:
            g.pop("db").close()

    @app.get("/notes")
    def list_notes():
        rows = db().execute("SELECT id, text FROM notes ORDER BY id").fetchall()
        print("listed notes")
        return {"greeting": "hello from the notes app", "notes": [{"id": i, "text": t} for i, t in rows]}

    @app.post("/notes")
    def add_note():
        text = (request.get_json(silent=True) or {}).get("text")
        if not isinstance(text, str) or not text.strip():
            return {"error": 'send {"text": "..."}'}, 400
        with db() as connection:
            cursor = connection.execute("INSERT INTO notes (text) VALUES (?)", (text,))
        return {"id": cursor.lastrowid, "text": text}, 201

    return app

"""The SCORM commit benchmark's baseline: a minimal Flask endpoint doing one JSON POST and one
SQLite write per commit.

It reads the same body as the tool's ``POST /scorm/commit`` (``sco``, ``seq``, ``cmi``, the
token in ``X-Runtime-Token``), checks only that they are there, and upserts the CMI object as
JSON into one row per (token, SCO), keeping the higher sequence number, in a SQLite file with
the tool's pragmas (WAL, foreign keys, busy timeout; ``synchronous`` at its default, FULL).
No signed token, no attempt lookup, no CMI validation, no ORM.

Served by gunicorn from the project root::

    BASELINE_COMMIT_DB=/tmp/commits.sqlite \\
        gunicorn -w 2 -b 127.0.0.1:5001 'bench.baseline_commit_app:create_app()'
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing

from flask import Flask, Response, jsonify, request

DATABASE_ENV = "BASELINE_COMMIT_DB"
SCHEMA = """CREATE TABLE IF NOT EXISTS sco_state (
    token TEXT NOT NULL, sco TEXT NOT NULL, seq INTEGER NOT NULL, cmi TEXT NOT NULL,
    PRIMARY KEY (token, sco))"""
UPSERT = """INSERT INTO sco_state (token, sco, seq, cmi) VALUES (?, ?, ?, ?)
    ON CONFLICT (token, sco) DO UPDATE SET seq = excluded.seq, cmi = excluded.cmi
    WHERE excluded.seq > sco_state.seq"""


def connect(path: str) -> sqlite3.Connection:
    """A connection with the tool's SQLite pragmas."""
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def create_app() -> Flask:
    """The baseline: POST /scorm/commit and /healthz."""
    app = Flask(__name__)
    path = os.environ[DATABASE_ENV]
    with closing(connect(path)) as connection, connection:
        connection.execute(SCHEMA)
    connections: list[sqlite3.Connection] = []

    def database() -> sqlite3.Connection:
        # One connection per worker process, opened after gunicorn forks, kept open as the
        # tool's pool keeps its own: closing the last connection to a WAL database checkpoints
        # it, which would cost the baseline two more fsyncs per request.
        if not connections:
            connections.append(connect(path))
        return connections[0]

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.post("/scorm/commit")
    def commit() -> Response | tuple[Response, int]:
        body = request.get_json(silent=True)
        token = request.headers.get("X-Runtime-Token", "")
        if not token or not isinstance(body, dict) or not isinstance(body.get("cmi"), dict):
            return jsonify({"result": False, "errorCode": 101}), 400
        connection = database()
        with connection:
            cursor = connection.execute(
                UPSERT, (token, str(body.get("sco")), int(body["seq"]), json.dumps(body["cmi"]))
            )
        return jsonify({"result": True, "errorCode": 0, "stored": cursor.rowcount == 1})

    return app

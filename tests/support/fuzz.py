"""Shared pieces of the fuzz tests: reproducible hypothesis settings, hostile values, an app
on the strictest database at hand, and a snapshot of every table (or a record of every
write) to prove that a refused request stored nothing."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from plugin import create_app
from plugin.competencies.framework import load_framework
from plugin.core.db import Base, create_db_engine
from plugin.core.migrate import upgrade_database
from plugin.lti.errors import REASONS
from tests.support.app import IRI_BASE, app_config

# FUZZ_SCALE=20 runs twenty times the examples (a deeper local hunt); CI uses the default.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis settings for a fuzz test: derandomized (CI reruns the same inputs), no
    example database in the work tree, no deadline (two shared cores are slow)."""
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# --- hostile values ---------------------------------------------------------------------------

# Characters that break naive code: NUL (PostgreSQL refuses it), a lone surrogate (no UTF-8
# encoding), bidi override, BOM, line ends, quotes, markup, CSV separators, full-width forms,
# Han, and an unsubstituted LTI variable.
NASTY_CHARACTERS = (
    "\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "\r", "\n", "\t", "'", '"', "<", "&",
    ",", ";", "；", "\\", "%", "$", "名", "\u3000", "\U0001f600",
)  # fmt: skip
NASTY_TEXTS = (
    "", " ", "委任", "null", "None", "NaN", "-1", "0", "1e309", "$User.id",
    "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)",
    "../../etc/passwd", "javascript:alert(1)",
)  # fmt: skip


def nasty_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short text mixing ordinary characters with the ones in :data:`NASTY_CHARACTERS`."""
    alphabet = st.characters(codec="utf-8") | st.sampled_from(NASTY_CHARACTERS)
    return st.sampled_from(NASTY_TEXTS) | st.text(alphabet, max_size=max_size)


def huge_text() -> st.SearchStrategy[str]:
    """One character repeated past the sizes columns and parsers are built for."""
    return st.builds(
        lambda char, length: char * length,
        st.sampled_from(("a", "名", "\x00", ";")),
        st.sampled_from((256, 501, 1001, 70_000)),
    )


def any_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Nasty or huge text."""
    return nasty_text(max_size) | huge_text()


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value Python's ``json`` writes and reads, NaN and ±Infinity included."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.sampled_from((2**63, -(2**63) - 1, 10**30))
        | st.floats()
        | any_text()
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(nasty_text(12), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


# --- what was stored --------------------------------------------------------------------------

Snapshot = dict[str, Counter[str]]


def snapshot(app: Flask) -> Snapshot:
    """Every row of every table, each as JSON (a multiset per table: order does not count)."""
    tables: Snapshot = {}
    with app.extensions["plugin.db"].session_scope() as session:
        for table in Base.metadata.sorted_tables:
            names = [column.name for column in table.columns]
            tables[table.name] = Counter(
                json.dumps(dict(zip(names, row, strict=True)), default=str)
                for row in session.execute(select(table)).all()
            )
    return tables


def written(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[Any]]]:
    """Rows added and removed per table between two snapshots (only tables that changed)."""
    changes: dict[str, dict[str, list[Any]]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, Counter()), after.get(name, Counter())
        added, removed = new - old, old - new
        if added or removed:
            changes[name] = {
                "added": [json.loads(row) for row in added.elements()],
                "removed": [json.loads(row) for row in removed.elements()],
            }
    return changes


# Statements that change no row (SQLite's connect pragmas, transaction control).
READ_ONLY_VERBS = frozenset({"SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                             "RELEASE", "SHOW", "SET"})  # fmt: skip


@contextmanager
def sql_writes(app: Flask) -> Iterator[list[str]]:
    """Every statement that may change a row, run by ``app``'s engine inside the block
    (cheaper than two snapshots, and it sees a write even when it is rolled back)."""
    engine = app.extensions["plugin.db"].engine
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split(None, 1)
        if words and words[0].upper() not in READ_ONLY_VERBS:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- apps -------------------------------------------------------------------------------------


@contextmanager
def strictest_app(
    request: pytest.FixtureRequest, tmp_path: Path, framework: dict[str, Any]
) -> Iterator[Flask]:
    """A seeded app on PostgreSQL, which refuses what SQLite stores silently (NUL, over-long
    values, NaN in JSON). Without a PostgreSQL the test is skipped, with the reason in the
    summary, rather than run quietly on SQLite, which would pass what PostgreSQL refuses;
    under CI=true the ``postgres_server_url`` fixture fails instead."""
    try:
        request.getfixturevalue("postgres_server_url")
    except pytest.skip.Exception as exc:
        pytest.skip(f"PostgreSQL-only fuzz test, not run on SQLite: {exc}")
    with seeded_app(tmp_path, request.getfixturevalue("postgres_url"), framework) as app:
        yield app


@contextmanager
def seeded_app(tmp_path: Path, database_url: str, framework: dict[str, Any]) -> Iterator[Flask]:
    """An app on ``database_url``, migrated to head, with ``framework`` loaded."""
    engine = create_db_engine(database_url)
    upgrade_database(engine)
    with Session(engine) as session:
        load_framework(session, framework, IRI_BASE)
        session.commit()
    engine.dispose()
    application = create_app(app_config(tmp_path, database_url))
    try:
        yield application
    finally:
        application.extensions["plugin.db"].dispose()


# --- what an answer must look like ------------------------------------------------------------

ERROR_CODE = re.compile(r"<code>([a-z0-9_]+)</code>")


def refusal_code(response: TestResponse) -> str:
    """The stable error code of a 4xx answer (JSON ``error.code`` or the page's ``<code>``)."""
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, text[:2000])
    if response.mimetype == "application/json":
        error = response.get_json()["error"]
        assert error["code"] and error["message"], error
        return error["code"]
    match = ERROR_CODE.search(text)
    assert match, text[:2000]
    return match.group(1)


def launch_refusal_code(response: TestResponse) -> str:
    """The code of an LTI refusal: 4xx, both languages, one of the documented reasons."""
    code = refusal_code(response)
    if response.mimetype == "application/json":
        assert response.get_json()["error"]["message_zh"]
    else:
        text = response.get_data(as_text=True)
        assert "無法開啟此活動" in text and "This activity cannot be opened" in text, text[:2000]
    assert code in REASONS, code
    return code

"""Migration 0015: existing outbox rows learn whose statement they hold; the new tables come
and go with upgrade and downgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import Engine, inspect, text

from plugin.core.migrate import downgrade_database, upgrade_database
from plugin.xapi.ledger import person_key
from plugin.xapi.vocabulary import VOIDED

NOW = "2026-12-01 00:00:00.000000+00:00"
ISSUER = "https://lms.example"
NEW_TABLES = {"xapi_statement_ledger", "privacy_audit", "privacy_erased_counts"}


def _statement(verb: str, actor: dict) -> str:
    return json.dumps({"id": "x", "verb": {"id": verb}, "actor": actor})


def _seed_at_0014(engine: Engine) -> None:
    upgrade_database(engine, "0014")
    rows = (
        (1, _statement("http://adlnet.gov/expapi/verbs/completed",
                       {"account": {"homePage": ISSUER, "name": "s-1"}})),
        (2, _statement(VOIDED, {"account": {"homePage": "https://tool.example", "name": "t"}})),
        (3, _statement("http://adlnet.gov/expapi/verbs/completed", {"mbox": "mailto:a@b.c"})),
    )  # fmt: skip
    with engine.begin() as connection:
        for row_id, statement in rows:
            connection.execute(
                text(
                    "INSERT INTO xapi_outbox (id, statement_id, target, verb, statement, status, "
                    "attempts, created_at, next_attempt_at, last_error) VALUES (:id, :sid, 'lrs', "
                    "'v', :statement, 'delivered', 1, :now, :now, '')"
                ),
                {"id": row_id, "sid": f"s-{row_id}", "statement": statement, "now": NOW},
            )


def test_upgrade_gives_each_learner_statement_its_person_key_and_downgrade_undoes_it(
    engine: Engine,
) -> None:
    _seed_at_0014(engine)
    upgrade_database(engine)
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT id, person_key FROM xapi_outbox")).all())
    assert keys == {1: person_key(ISSUER, "s-1"), 2: None, 3: None}
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES

    downgrade_database(engine, "0014")
    inspector = inspect(engine)
    assert not NEW_TABLES & set(inspector.get_table_names())
    assert "person_key" not in {c["name"] for c in inspector.get_columns("xapi_outbox")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM xapi_outbox")).scalar() == 3
    upgrade_database(engine)

"""`purge` removes only what is older than its [retention] age; the ages are checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from plugin.core.config import settings_from_mapping
from plugin.core.db import utcnow
from plugin.core.errors import ConfigError
from plugin.lti.models import Launch, LoginState, Person
from plugin.privacy.audit import Accessor, record_access
from plugin.privacy.models import AuditEntry
from plugin.xapi.models import DELIVERED, OutboxStatement, StatementLedger
from tests.support.authz import LEARNER_A, LEARNER_B, launch
from tests.support.people import People


def _config(tmp_path, retention: dict) -> dict:
    return {"env": "development", "secret_key": "s" * 40, "instance_dir": str(tmp_path),
            "retention": retention}  # fmt: skip


def _age(people: People, model, column, ids, days: int) -> None:
    with people.app.extensions["plugin.db"].session_scope() as session:
        key = model.__mapper__.primary_key[0]
        session.execute(
            update(model).where(key.in_(ids)).values({column: utcnow() - timedelta(days=days)})
        )


def test_purge_removes_only_rows_older_than_their_age(people: People) -> None:
    # B launches again: the older launch may go, the latest per deployment stays (reach).
    launch(people.flow, LEARNER_B)
    subs = {person.id: person.sub for person in people.rows(Person)}
    launches = sorted(people.rows(Launch), key=lambda launch: launch.created_at)
    b_launches = [row.id for row in launches if subs[row.person_id] == LEARNER_B.sub]
    a_launches = [row.id for row in launches if subs[row.person_id] == LEARNER_A.sub]
    _age(people, Launch, "created_at", b_launches[:1], 401)
    _age(people, Launch, "created_at", b_launches[1:] + a_launches, 400)
    states = [row.state for row in people.rows(LoginState)]
    _age(people, LoginState, "expires_at", states[:1], 2)
    rows = people.rows(OutboxStatement)
    old, new, stuck = rows[0].id, rows[1].id, rows[2].id
    with people.app.extensions["plugin.db"].session_scope() as session:
        session.execute(
            update(OutboxStatement)
            .where(OutboxStatement.id.in_([old, new]))
            .values(status=DELIVERED, delivered_at=utcnow())
        )
        record_access(session, Accessor.operator(), "old", "x")
        record_access(session, Accessor.operator(), "new", "x")
    _age(people, OutboxStatement, "delivered_at", [old], 31)
    _age(people, OutboxStatement, "created_at", [stuck], 999)  # pending: never purged
    old_entry = [e.id for e in people.rows(AuditEntry) if e.action == "old"]
    _age(people, AuditEntry, "at", old_entry, 1826)

    result = people.cli("purge")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "purged 1 login state(s), 1 launch(es), 1 delivered statement row(s), 1 audit entr(y/ies)"
    )
    left = {row.id for row in people.rows(Launch)}
    assert b_launches[-1] in left and b_launches[0] not in left
    assert a_launches[-1] in left  # A's only launch: the latest, kept
    assert states[0] not in {row.state for row in people.rows(LoginState)}
    outbox = {row.id for row in people.rows(OutboxStatement)}
    assert old not in outbox and {new, stuck} <= outbox
    assert [entry.target for entry in people.rows(StatementLedger)] == [rows[0].target]
    assert {e.action for e in people.rows(AuditEntry)} == {"new"}
    assert people.cli("purge").output.startswith("purged 0 login state(s), 0 launch(es), 0 ")


@pytest.mark.parametrize(
    "key, value",
    [("launch_days", 0), ("audit_days", -5), ("delivered_statement_days", 40000)],
)
def test_a_retention_age_out_of_range_is_refused_naming_the_key(
    key: str, value: int, tmp_path
) -> None:
    with pytest.raises(ConfigError, match=rf"key 'retention\.{key}' must be a number of days"):
        settings_from_mapping(_config(tmp_path, {key: value}))


def test_a_retention_age_of_the_wrong_type_is_refused_naming_the_key(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"'retention\.launch_days' must be an integer"):
        settings_from_mapping(_config(tmp_path, {"launch_days": "30"}))

"""Which statements the tool sent about whom: the outbox rows, and once retention purges a
delivered row, its ledger entry (docs/ARCHITECTURE.md §10).

A person is named here only by :func:`person_key`, a SHA-256 of the statement's account
(issuer + LTI sub): the ledger outlives the outbox rows, and it must not itself be a list of
who learned what. An erasure request names the account, so the key can be computed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from plugin.core.db import affected_rows
from plugin.xapi.models import DELIVERED, OutboxStatement, StatementLedger
from plugin.xapi.vocabulary import VOIDED


def person_key(issuer: str, sub: str) -> str:
    """The opaque key of the account (issuer, sub); the same for every statement about it."""
    return hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()


def statement_person_key(statement: Mapping[str, Any]) -> str | None:
    """The person key of a statement's actor account; None for a voiding statement (its
    actor is the tool) or an actor without an account."""
    if statement.get("verb", {}).get("id") == VOIDED:
        return None
    account = statement.get("actor", {}).get("account")
    if not isinstance(account, Mapping):
        return None
    return person_key(str(account.get("homePage", "")), str(account.get("name", "")))


@dataclass(frozen=True)
class SentStatement:
    """One statement an LRS holds (or may hold) about a person."""

    statement_id: str
    target: str
    verb: str
    delivered_at: datetime | None


def sent_statements(session: Session, key: str) -> list[SentStatement]:
    """Every statement about ``key`` an LRS may hold: outbox rows delivered or sent at least
    once, and the ledger of purged delivered rows."""
    found = {
        (row.statement_id, row.target): SentStatement(
            row.statement_id, row.target, row.verb, row.delivered_at
        )
        for row in session.scalars(
            select(OutboxStatement).where(
                OutboxStatement.person_key == key,
                # A row sent at least once may be stored even if the answer never came back
                # (a timeout after the LRS wrote it): voiding it too is the safe side.
                or_(OutboxStatement.status == DELIVERED, OutboxStatement.attempts > 0),
            )
        )
    }
    for entry in session.scalars(select(StatementLedger).where(StatementLedger.person_key == key)):
        found.setdefault(
            (entry.statement_id, entry.target),
            SentStatement(entry.statement_id, entry.target, "", entry.delivered_at),
        )
    return sorted(found.values(), key=lambda s: (s.target, s.statement_id))


def forget_person(session: Session, key: str) -> tuple[int, int]:
    """Delete every outbox row and ledger entry about ``key``; (outbox rows, ledger rows)."""
    outbox = session.execute(delete(OutboxStatement).where(OutboxStatement.person_key == key))
    ledger = session.execute(delete(StatementLedger).where(StatementLedger.person_key == key))
    session.flush()
    return affected_rows(outbox), affected_rows(ledger)


def purge_delivered(session: Session, cutoff: datetime) -> int:
    """Delete delivered outbox rows delivered before ``cutoff``, keeping in the ledger the
    id, target and person key of each about a person (so an erasure can still void them)."""
    rows = session.execute(
        select(
            OutboxStatement.id,
            OutboxStatement.statement_id,
            OutboxStatement.target,
            OutboxStatement.person_key,
            OutboxStatement.delivered_at,
        ).where(OutboxStatement.status == DELIVERED, OutboxStatement.delivered_at < cutoff)
    ).all()
    known = (
        {
            (entry.statement_id, entry.target)
            for entry in session.scalars(
                select(StatementLedger).where(
                    StatementLedger.statement_id.in_({row.statement_id for row in rows})
                )
            )
        }
        if rows
        else set()
    )
    for row in rows:
        if row.person_key is not None and (row.statement_id, row.target) not in known:
            session.add(
                StatementLedger(
                    statement_id=row.statement_id,
                    target=row.target,
                    person_key=row.person_key,
                    delivered_at=row.delivered_at,
                )
            )
    if rows:
        session.execute(delete(OutboxStatement).where(OutboxStatement.id.in_([r.id for r in rows])))
    session.flush()
    return len(rows)

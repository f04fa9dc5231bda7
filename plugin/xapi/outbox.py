"""Putting statements in the outbox: validated, in the caller's transaction, one row per LRS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.xapi.ledger import statement_person_key
from plugin.xapi.models import PENDING, Attempt, OutboxStatement
from plugin.xapi.validation import validate_statement

# Rows written while no LRS is configured wait under this name until one is.
UNASSIGNED_TARGET = "unassigned"


def enqueue_statements(
    session: Session,
    statements: Sequence[dict[str, Any]],
    targets: Sequence[str],
    attempt: Attempt | None = None,
    *,
    organisation_id: int | None = None,
) -> list[OutboxStatement]:
    """Validate every statement first, then add one pending row per statement and target,
    attributed to ``organisation_id`` (the learner's launch's; None: the operator's).

    Validating all before adding any keeps a learner event all-or-nothing: an invalid
    statement raises before anything is written, and the caller's transaction rolls back.
    """
    for statement in statements:
        validate_statement(statement)
    now = utcnow()
    rows = [
        OutboxStatement(
            statement_id=statement["id"],
            target=target,
            attempt_id=attempt.id if attempt is not None else None,
            organisation_id=organisation_id,
            verb=statement["verb"]["id"],
            person_key=statement_person_key(statement),
            statement=statement,
            status=PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        for statement in statements
        for target in (targets or (UNASSIGNED_TARGET,))
    ]
    session.add_all(rows)
    session.flush()
    return rows

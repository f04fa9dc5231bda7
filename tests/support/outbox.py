"""An app's statement outbox that a test fills and reads, and valid xAPI statements to fill it."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from plugin.core.db import utcnow
from plugin.xapi.models import PENDING, OutboxStatement
from tests.support.lrs import TARGET

HOME_PAGE = "https://lms.example"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
MODULE_IRI = "https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/modules/x"


def make_statement(statement_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid xAPI 1.0.3 statement (fresh uuid4 id) with ``overrides`` replacing keys."""
    statement: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME_PAGE, "name": "sub-1"}},
        "verb": {"id": COMPLETED, "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": MODULE_IRI},
        "timestamp": "2026-11-27T10:00:00.000Z",
    }
    statement.update(overrides)
    return statement


@dataclass
class Outbox:
    """An app whose outbox the test fills and reads."""

    app: Flask

    def enqueue(self, statements: Iterable[dict[str, Any]], target: str = TARGET) -> list[int]:
        """Pending rows for ``statements``, due now, as the enqueue side writes them."""
        now = utcnow()
        with self.app.extensions["plugin.db"].session_scope() as session:
            rows = [
                OutboxStatement(
                    statement_id=statement["id"],
                    target=target,
                    verb=statement["verb"]["id"],
                    statement=statement,
                    status=PENDING,
                    created_at=now,
                    next_attempt_at=now,
                )
                for statement in statements
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def rows(self, target: str | None = None) -> list[OutboxStatement]:
        """Every outbox row (of ``target``), by id."""
        with self.app.extensions["plugin.db"].sessions() as session:
            query = select(OutboxStatement).order_by(OutboxStatement.id)
            if target is not None:
                query = query.where(OutboxStatement.target == target)
            return list(session.scalars(query))

    def statuses(self) -> Counter[str]:
        """How many rows have each status."""
        return Counter(row.status for row in self.rows())

    def end_leases(self) -> int:
        """Make leased rows due now, as if their lease had run out (time passes)."""
        now = utcnow()
        with self.app.extensions["plugin.db"].session_scope() as session:
            rows = session.scalars(
                select(OutboxStatement).where(
                    OutboxStatement.status == PENDING, OutboxStatement.next_attempt_at > now
                )
            ).all()
            for row in rows:
                row.next_attempt_at = now - timedelta(seconds=1)
            return len(rows)

    def cli(self, *args: str) -> str:
        """Run ``flask --app plugin xapi …``; its output (it must succeed)."""
        result = self.app.test_cli_runner().invoke(args=["xapi", *args])
        assert result.exit_code == 0, result.output
        return result.output

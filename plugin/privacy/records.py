"""Everything the tool holds about one person, found from one platform account (issuer, sub).

A learner linked across platforms (``person link``) is one person: their other accounts, and
what those accounts did, belong to the same request (docs/ARCHITECTURE.md §10). The rows are
found here once, for the export and the erasure alike, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, inspect, or_, select, tuple_
from sqlalchemy.orm import Session

from plugin.content.runtime_models import RuntimeAttempt
from plugin.core.db import Base
from plugin.lti.models import GradeOutbox, Launch, Person, Registration
from plugin.privacy.models import AuditEntry
from plugin.rollup.models import Attainment, Evidence, Identity, Learner
from plugin.xapi.ledger import SentStatement, person_key, sent_statements
from plugin.xapi.models import Attempt, OutboxStatement, StatementLedger


def learner_subject(learner_id: int) -> str:
    """How the access audit names a learner whose records were read."""
    return f"learner {learner_id}"


def person_actor(person_id: int) -> str:
    """How the access audit names the launched person who read them."""
    return f"person {person_id}"


@dataclass
class PersonRecords:
    """The rows about one person, table by table."""

    accounts: list[tuple[str, str]]
    people: list[Person] = field(default_factory=list)
    learner: Learner | None = None
    identities: list[Identity] = field(default_factory=list)
    launches: list[Launch] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    scorm_attempts: list[RuntimeAttempt] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    attainment: list[Attainment] = field(default_factory=list)
    outbox: list[OutboxStatement] = field(default_factory=list)
    ledger: list[StatementLedger] = field(default_factory=list)
    sent: list[SentStatement] = field(default_factory=list)
    grades: list[GradeOutbox] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """The person keys of every account (how statements are attributed)."""
        return [person_key(issuer, sub) for issuer, sub in self.accounts]

    @property
    def is_empty(self) -> bool:
        """True when the tool holds nothing about the person."""
        return not any(
            (
                self.people,
                self.learner,
                self.identities,
                self.launches,
                self.attempts,
                self.scorm_attempts,
                self.outbox,
                self.ledger,
                self.grades,
            )
        )


def find_person_records(session: Session, issuer: str, sub: str) -> PersonRecords:
    """Every row the tool holds about the person with the account (issuer, sub)."""
    accounts = [(issuer, sub)]
    identity = session.scalars(
        select(Identity).where(Identity.issuer == issuer, Identity.sub == sub)
    ).one_or_none()
    records = PersonRecords(accounts=accounts)
    if identity is not None:
        records.learner = identity.learner
        records.identities = list(
            session.scalars(
                select(Identity)
                .where(Identity.learner_id == identity.learner_id)
                .order_by(Identity.id)
            )
        )
        accounts[:] = [(i.issuer, i.sub) for i in records.identities]
    pairs = tuple_(Person.issuer, Person.sub).in_(accounts)
    records.people = list(session.scalars(select(Person).where(pairs).order_by(Person.id)))
    person_ids = [person.id for person in records.people]
    records.launches = list(
        session.scalars(
            select(Launch).where(Launch.person_id.in_(person_ids)).order_by(Launch.created_at)
        )
    )
    records.attempts = list(
        session.scalars(
            select(Attempt)
            .where(tuple_(Attempt.person_issuer, Attempt.person_sub).in_(accounts))
            .order_by(Attempt.id)
        )
    )
    # SCORM run-time data (each SCO's CMI: status, score, location, suspend data, interactions).
    records.scorm_attempts = list(
        session.scalars(
            select(RuntimeAttempt)
            .where(RuntimeAttempt.person_id.in_(person_ids))
            .order_by(RuntimeAttempt.id)
        )
    )
    if records.learner is not None:
        learner_id = records.learner.id
        records.evidence = list(
            session.scalars(
                select(Evidence)
                .where(Evidence.learner_id == learner_id)
                .order_by(Evidence.observed_at, Evidence.id)
            )
        )
        records.attainment = list(
            session.scalars(
                select(Attainment)
                .where(Attainment.learner_id == learner_id)
                .order_by(Attainment.item_id)
            )
        )
    keys = records.keys
    records.outbox = list(
        session.scalars(
            select(OutboxStatement)
            .where(OutboxStatement.person_key.in_(keys))
            .order_by(OutboxStatement.id)
        )
    )
    records.ledger = list(
        session.scalars(
            select(StatementLedger)
            .where(StatementLedger.person_key.in_(keys))
            .order_by(StatementLedger.statement_id, StatementLedger.target)
        )
    )
    records.sent = [sent for key in keys for sent in sent_statements(session, key)]
    records.grades = list(
        session.scalars(
            select(GradeOutbox)
            .join(Registration, Registration.id == GradeOutbox.registration_id)
            .where(tuple_(Registration.issuer, GradeOutbox.user_sub).in_(accounts))
            .order_by(GradeOutbox.id)
        )
    )
    records.audit = list(session.scalars(select(AuditEntry).where(_audit_about(records))))
    return records


def _audit_about(records: PersonRecords) -> ColumnElement[bool]:
    """Audit entries whose subject is the learner, or whose actor is one of the people."""
    conditions: list[ColumnElement[bool]] = [
        AuditEntry.actor_id.in_([person_actor(p.id) for p in records.people])
    ]
    if records.learner is not None:
        conditions.append(AuditEntry.subject == learner_subject(records.learner.id))
    return or_(*conditions)


def row_dict(row: Base) -> dict[str, Any]:
    """A row's columns as JSON-ready values (datetimes in ISO 8601)."""
    values: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return values

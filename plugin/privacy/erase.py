"""The answer to a person's erasure request (docs/ARCHITECTURE.md §10).

In the caller's one transaction: what they did is folded into anonymous per-module counts,
every statement an LRS received about them is voided through the outbox (xAPI 1.0.3 §2.4.8),
statements not yet delivered are dropped, and every row naming them is deleted. Audit entries
about them stay, with the person's ids replaced, so the trail of who read what survives.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from plugin.lti.models import GradeOutbox, Launch, Person
from plugin.privacy.audit import ERASED, Accessor, record_access
from plugin.privacy.models import AuditEntry, ErasedCount
from plugin.privacy.records import PersonRecords, find_person_records, learner_subject, person_actor
from plugin.rollup.models import Attainment, Evidence, Identity, Learner
from plugin.xapi.ledger import forget_person
from plugin.xapi.models import Attempt
from plugin.xapi.outbox import enqueue_statements
from plugin.xapi.voiding import voiding_statement

ERASE_ACTION = "person.erase"


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed and queued; counts only, nothing about the person."""

    accounts: int
    people: int
    launches: int
    attempts: int
    evidence: int
    attainment: int
    statements_dropped: int
    statements_voided: int
    voiding_rows: int
    grades: int

    @property
    def nothing_held(self) -> bool:
        """True when there was nothing to erase."""
        return not any(
            (
                self.people,
                self.launches,
                self.attempts,
                self.evidence,
                self.attainment,
                self.statements_dropped,
                self.statements_voided,
                self.grades,
            )
        )


def erase_person(
    session: Session, issuer: str, sub: str, *, base_url: str, accessor: Accessor
) -> ErasureReport:
    """Erase the person with the account (issuer, sub) and their linked accounts; flushes."""
    records = find_person_records(session, issuer, sub)
    if records.is_empty:
        return ErasureReport(len(records.accounts), 0, 0, 0, 0, 0, 0, 0, 0, 0)
    _fold_attempts(session, records.attempts)
    voided, voiding_rows = _void_sent(session, records, base_url)
    sent = {(row.statement_id, row.target) for row in records.sent}
    dropped = sum(1 for row in records.outbox if (row.statement_id, row.target) not in sent)
    for key in records.keys:
        forget_person(session, key)
    _forget_in_audit(session, records)
    report = ErasureReport(
        accounts=len(records.accounts),
        people=len(records.people),
        launches=len(records.launches),
        attempts=len(records.attempts),
        evidence=len(records.evidence),
        attainment=len(records.attainment),
        statements_dropped=dropped,
        statements_voided=voided,
        voiding_rows=voiding_rows,
        grades=len(records.grades),
    )
    _delete_rows(session, records)
    record_access(session, accessor, ERASE_ACTION, ERASED)
    return report


def _fold_attempts(session: Session, attempts: list[Attempt]) -> None:
    """Add the attempts to the per-module counts that outlive the person."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for attempt in attempts:
        counts = totals[attempt.module_key]
        counts[0] += 1
        counts[1] += attempt.completed_at is not None
        counts[2] += attempt.outcome == "passed"
    for module_key, (attempts_n, completed, passed) in totals.items():
        row = session.get(ErasedCount, module_key)
        if row is None:
            row = ErasedCount(module_key=module_key, attempts=0, completed=0, passed=0)
            session.add(row)
        row.attempts += attempts_n
        row.completed += completed
        row.passed += passed
    session.flush()


def _void_sent(session: Session, records: PersonRecords, base_url: str) -> tuple[int, int]:
    """Queue one voiding statement per statement an LRS received, to each LRS that got it.

    A statement never sent (pending with no attempt yet) reached no LRS: dropping its row is
    enough, and voiding it would void nothing.
    """
    targets: dict[str, list[str]] = defaultdict(list)
    for sent in records.sent:
        targets[sent.statement_id].append(sent.target)
    rows = 0
    for statement_id, names in sorted(targets.items()):
        rows += len(enqueue_statements(session, [voiding_statement(statement_id, base_url)], names))
    return len(targets), rows


def _forget_in_audit(session: Session, records: PersonRecords) -> None:
    """Replace the person's ids in audit entries: the trail stays, the person goes (a freed
    learner id may be given to someone else later)."""
    if records.learner is not None:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.subject == learner_subject(records.learner.id))
            .values(subject=ERASED)
        )
    people = [person_actor(person.id) for person in records.people]
    if people:
        session.execute(
            update(AuditEntry).where(AuditEntry.actor_id.in_(people)).values(actor_id=ERASED)
        )
    session.flush()


def _delete_rows(session: Session, records: PersonRecords) -> None:
    """Delete every row naming the person, children before parents."""
    person_ids = [person.id for person in records.people]
    learner_id = records.learner.id if records.learner is not None else None
    statements = [
        delete(GradeOutbox).where(GradeOutbox.id.in_([g.id for g in records.grades])),
        delete(Attempt).where(Attempt.id.in_([a.id for a in records.attempts])),
        delete(Launch).where(Launch.person_id.in_(person_ids)),
        delete(Person).where(Person.id.in_(person_ids)),
    ]
    if learner_id is not None:
        statements += [
            delete(Evidence).where(Evidence.learner_id == learner_id),
            delete(Attainment).where(Attainment.learner_id == learner_id),
            delete(Identity).where(Identity.learner_id == learner_id),
            delete(Learner).where(Learner.id == learner_id),
        ]
    for statement in statements:
        session.execute(statement)
    session.flush()

"""The answer to a person's access request: everything the tool holds about them, as one
JSON-ready document (docs/ARCHITECTURE.md §10)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.privacy.records import PersonRecords, find_person_records, row_dict

FORMAT = "dc-competency-tool/personal-data-export/v1"


def export_person(session: Session, issuer: str, sub: str) -> dict[str, Any]:
    """Everything held about the person with the account (issuer, sub), table by table."""
    return records_document(find_person_records(session, issuer, sub))


def records_document(records: PersonRecords) -> dict[str, Any]:
    """The export document of ``records``."""
    learner = records.learner
    return {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "accounts": [{"issuer": issuer, "sub": sub} for issuer, sub in records.accounts],
        "nothing_held": records.is_empty,
        # Names, email and locale as the platform sent them in launches (lti_people).
        "people": [row_dict(person) for person in records.people],
        "learner": None if learner is None else row_dict(learner),
        "identities": [row_dict(identity) for identity in records.identities],
        "launches": [row_dict(launch) for launch in records.launches],
        "attempts": [row_dict(attempt) for attempt in records.attempts],
        # What SCORM packages stored per attempt, SCO by SCO, as the package committed it.
        "scorm_attempts": [
            row_dict(attempt) | {"scos": [row_dict(sco) for sco in attempt.scos]}
            for attempt in records.scorm_attempts
        ],
        "evidence": [row_dict(row) for row in records.evidence],
        "attainment": [row_dict(row) for row in records.attainment],
        "statements": [row_dict(row) for row in records.outbox],
        "statements_delivered_and_purged": [row_dict(row) for row in records.ledger],
        "grades": [row_dict(row) for row in records.grades],
        "access_audit": [row_dict(row) for row in records.audit],
        # The tool keeps no course rosters: NRPS memberships are read from the platform when
        # a page needs them and never stored.
        "rosters": [],
    }

"""`flask --app plugin purge`: drop what is older than its [retention] age
(docs/ARCHITECTURE.md §10), in the caller's one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from plugin.core.config import RetentionSettings
from plugin.lti.login import purge_expired_login_states
from plugin.lti.retention import purge_launches_older_than
from plugin.privacy.audit import purge_audit_older_than
from plugin.xapi.ledger import purge_delivered


@dataclass(frozen=True)
class PurgeReport:
    """How many rows of each kind the purge removed."""

    login_states: int
    launches: int
    delivered_statements: int
    audit_entries: int


def purge_expired(session: Session, retention: RetentionSettings, now: datetime) -> PurgeReport:
    """Delete login states, launches, delivered outbox rows and audit entries past their age."""
    return PurgeReport(
        login_states=purge_expired_login_states(
            session, now - timedelta(days=retention.login_state_days)
        ),
        launches=purge_launches_older_than(session, now - timedelta(days=retention.launch_days)),
        delivered_statements=purge_delivered(
            session, now - timedelta(days=retention.delivered_statement_days)
        ),
        audit_entries=purge_audit_older_than(session, now - timedelta(days=retention.audit_days)),
    )

"""The access audit: who opened or exported whose records (docs/ARCHITECTURE.md §10).

Entries hold opaque ids only (a learner id, a launched person's id, an API token's id) and the
organisation whose administrators may read them; the operator reads all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plugin.core.db import affected_rows, utcnow
from plugin.organisations.audience import Audience
from plugin.privacy.models import AuditEntry

OPERATOR = "operator"
TOKEN = "token"
ERASED = "erased"
MAX_LISTED = 5000


@dataclass(frozen=True)
class Accessor:
    """Who is reading: a role, an opaque id, and the organisation the entry belongs to."""

    role: str
    actor_id: str
    organisation_id: int | None

    @classmethod
    def operator(cls) -> Accessor:
        """The operator at the command line."""
        return cls(OPERATOR, OPERATOR, None)

    @classmethod
    def token(cls, token_id: int, organisation_id: int | None) -> Accessor:
        """An API token (of an organisation, or the operator's)."""
        return cls(TOKEN, f"token {token_id}", organisation_id)


def record_access(session: Session, accessor: Accessor, action: str, subject: str) -> AuditEntry:
    """Add one entry: ``accessor`` did ``action`` (e.g. "map.person") on ``subject``."""
    entry = AuditEntry(
        at=utcnow(),
        organisation_id=accessor.organisation_id,
        actor_role=accessor.role,
        actor_id=accessor.actor_id[:100],
        action=action[:60],
        subject=subject[:255],
    )
    session.add(entry)
    session.flush()
    return entry


def list_entries(
    session: Session, audience: Audience, *, limit: int = MAX_LISTED
) -> Sequence[AuditEntry]:
    """The newest entries ``audience`` may read: its organisation's, or all for the operator.

    A course designer's audience reads none: the audit is for administrators.
    """
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if not audience.is_operator:
        if audience.registration_id is not None:
            return []
        query = query.where(AuditEntry.organisation_id == audience.organisation_id)
    return session.scalars(query).all()


def purge_audit_older_than(session: Session, cutoff: datetime) -> int:
    """Delete audit entries recorded before ``cutoff``; how many went."""
    result = session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
    session.flush()
    return affected_rows(result)

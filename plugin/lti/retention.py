"""Retention of the LTI layer's launches past their age (docs/ARCHITECTURE.md §10); expired
login states go with :func:`plugin.lti.login.purge_expired_login_states`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from plugin.core.db import affected_rows
from plugin.lti.models import Launch


def purge_launches_older_than(session: Session, cutoff: datetime) -> int:
    """Delete launches made before ``cutoff``, except each person's latest per deployment.

    That latest launch is what puts a person in their organisation's reach
    (docs/ARCHITECTURE.md §9): removing it would hide their attainment from their own
    administrators; an erasure removes it.
    """
    latest = (
        select(Launch.person_id, Launch.deployment_id, func.max(Launch.created_at).label("at"))
        .group_by(Launch.person_id, Launch.deployment_id)
        .subquery()
    )
    kept = select(Launch.id).join(
        latest,
        and_(
            latest.c.person_id == Launch.person_id,
            latest.c.deployment_id == Launch.deployment_id,
            latest.c.at == Launch.created_at,
        ),
    )
    result = session.execute(
        delete(Launch).where(Launch.created_at < cutoff, Launch.id.not_in(kept))
    )
    session.flush()
    return affected_rows(result)

"""Scores for the platform's gradebook (LTI AGS 2.0 §3.4), queued in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.queue import PendingAge, requeue, stored_utc
from plugin.lti.claims import CLAIM_AGS_ENDPOINT, CLAIM_RESOURCE_LINK
from plugin.lti.models import GradeOutbox, Launch

# A row's status: waiting (or being tried), sent, or refused by the platform until retried.
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
# The note a delivered row carries when the platform kept a newer score (AGS 2.0 §3.4: 409).
SUPERSEDED_NOTE = "superseded: "

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINE_ITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"


@dataclass(frozen=True)
class Score:
    """A learner's result on one module, in AGS terms."""

    score_given: float
    score_maximum: float
    activity_progress: str  # Initialized | Started | InProgress | Submitted | Completed
    grading_progress: str  # FullyGraded | Pending | PendingManual | Failed | NotReady
    timestamp: datetime

    def as_json(self, user_id: str) -> dict[str, object]:
        """The score body (application/vnd.ims.lis.v1.score+json)."""
        return {
            "userId": user_id,
            "scoreGiven": self.score_given,
            "scoreMaximum": self.score_maximum,
            "activityProgress": self.activity_progress,
            "gradingProgress": self.grading_progress,
            # ISO 8601 with milliseconds and an offset (AGS 2.0 §3.4.1 timestamp).
            "timestamp": self.timestamp.isoformat(timespec="milliseconds"),
        }


def grades_offered(launch: Launch) -> bool:
    """True when the launch's platform lets the tool post scores for it."""
    endpoint = launch.claims.get(CLAIM_AGS_ENDPOINT)
    if not isinstance(endpoint, dict):
        return False
    scopes = endpoint.get("scope") or []
    has_target = bool(endpoint.get("lineitem")) or (
        bool(endpoint.get("lineitems")) and LINE_ITEM_SCOPE in scopes
    )
    return SCORE_SCOPE in scopes and has_target


def enqueue_score(
    session: Session, launch: Launch, score: Score, *, resource_id: str = "", label: str = ""
) -> GradeOutbox | None:
    """Queue ``score`` for the launch's line item, in the caller's transaction.

    Returns None when the platform offers no grade service for this launch. Without a
    ``lineitem`` the worker finds or creates one by ``resource_id`` in ``lineitems``.
    """
    if not grades_offered(launch):
        return None
    endpoint = launch.claims[CLAIM_AGS_ENDPOINT]
    link = launch.claims.get(CLAIM_RESOURCE_LINK) or {}
    row = GradeOutbox(
        registration_id=launch.deployment.registration_id,
        line_item_url=str(endpoint.get("lineitem") or ""),
        line_items_url=str(endpoint.get("lineitems") or ""),
        resource_id=resource_id[:255],
        resource_link_id=str(link.get("id") or "")[:255],
        label=label[:255],
        user_sub=launch.person.sub,
        score=score.as_json(launch.person.sub),
        status=PENDING,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class QueueCounts(PendingAge):
    """The state of the grade queue."""

    superseded: int = 0
    failed: int = 0
    latest_error: str = ""
    latest_error_row: int | None = None


def queue_counts(session: Session, registration_id: int | None = None) -> QueueCounts:
    """Counts per status, the oldest pending row and the newest error (of one registration)."""
    scope = [] if registration_id is None else [GradeOutbox.registration_id == registration_id]
    by_status = dict(
        session.execute(
            select(GradeOutbox.status, func.count()).where(*scope).group_by(GradeOutbox.status)
        ).all()
    )
    superseded = session.scalar(
        select(func.count()).where(
            *scope,
            GradeOutbox.status == DELIVERED,
            GradeOutbox.last_error.startswith(SUPERSEDED_NOTE),
        )
    )
    oldest = session.scalar(
        select(func.min(GradeOutbox.created_at)).where(*scope, GradeOutbox.status == PENDING)
    )
    latest = session.execute(
        select(GradeOutbox.id, GradeOutbox.last_error)
        .where(*scope, GradeOutbox.status.in_((PENDING, FAILED)), GradeOutbox.last_error != "")
        .order_by(GradeOutbox.id.desc())
        .limit(1)
    ).first()
    return QueueCounts(
        pending=int(by_status.get(PENDING, 0)),
        delivered=int(by_status.get(DELIVERED, 0)),
        superseded=int(superseded or 0),
        failed=int(by_status.get(FAILED, 0)),
        oldest_pending_at=stored_utc(oldest),
        latest_error=latest[1] if latest else "",
        latest_error_row=latest[0] if latest else None,
    )


def retry_failed(session: Session, ids: tuple[int, ...] = (), now: datetime | None = None) -> int:
    """Put failed rows (all, or those with ``ids``) back in the queue, due now (flushes)."""
    statement = select(GradeOutbox).where(GradeOutbox.status == FAILED)
    if ids:
        statement = statement.where(GradeOutbox.id.in_(ids))
    return requeue(session, session.scalars(statement).all(), now or utcnow())

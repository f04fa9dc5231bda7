"""Scores for the platform's gradebook (LTI AGS 2.0 §3.4), queued in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from plugin.lti.claims import CLAIM_AGS_ENDPOINT, CLAIM_RESOURCE_LINK
from plugin.lti.models import GradeOutbox, Launch

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
        status="pending",
    )
    session.add(row)
    session.flush()
    return row

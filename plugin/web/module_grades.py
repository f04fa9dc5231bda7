"""The grade a finished module sends to the platform's gradebook (LTI AGS), for the tool's own
modules and SCORM modules alike."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from plugin.competencies.models import Module
from plugin.lti.grade_outbox import Score, enqueue_score
from plugin.lti.models import Launch
from plugin.web.i18n import localized

SCORE_MAXIMUM = 100.0


def queue_grade(session: Session, launch: Launch, module: Module, scaled: float) -> None:
    """Queue the module's score (0..1 scaled to 0..100) for the launch's line item."""
    score = Score(
        score_given=round(scaled * SCORE_MAXIMUM, 2),
        score_maximum=SCORE_MAXIMUM,
        activity_progress="Completed",
        # A failed check is still fully graded (AGS 2.0 §3.4.8); success shows in the score.
        grading_progress="FullyGraded",
        timestamp=datetime.now(UTC),
    )
    enqueue_score(session, launch, score, resource_id=module.key, label=localized(module, "title"))

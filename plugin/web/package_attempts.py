"""The learners' run-time attempts of a SCORM module, as its designer page lists them.

Attempts are shown only to staff of the module's organisation (the national catalog's modules
are nobody's: the operator's alone), and only of learners the viewer reaches
(plugin.rollup.scope): a course designer sees the people of their own registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from plugin.competencies.models import Module
from plugin.content.rollup import module_outcome
from plugin.content.runtime_models import RuntimeAttempt
from plugin.lti.models import Person
from plugin.organisations.audience import Audience
from plugin.rollup.models import Identity
from plugin.rollup.people import PersonLabel, person_labels
from plugin.rollup.scope import people_in_reach

# The page lists the newest attempts; older ones stay in the statements and exports.
MAX_ROWS = 200


@dataclass(frozen=True)
class AttemptRow:
    """One attempt as the page shows it."""

    label: PersonLabel | None  # None when the learner has no roll-up identity yet
    version: int
    started_at: datetime
    finished_at: datetime | None
    status: str  # in_progress | passed | failed | completed
    scaled: float | None


def module_attempts(session: Session, audience: Audience, module: Module) -> list[AttemptRow]:
    """The newest attempts of ``module`` by learners ``audience`` reaches, if it owns the module."""
    if not audience.owns(module.organisation_id):
        return []
    query = (
        select(RuntimeAttempt, Identity.learner_id)
        .join(Person, Person.id == RuntimeAttempt.person_id)
        .outerjoin(Identity, and_(Identity.issuer == Person.issuer, Identity.sub == Person.sub))
        .where(RuntimeAttempt.module_id == module.id)
        .options(selectinload(RuntimeAttempt.scos), selectinload(RuntimeAttempt.version))
        .order_by(RuntimeAttempt.started_at.desc(), RuntimeAttempt.id.desc())
        .limit(MAX_ROWS)
    )
    reached = people_in_reach(audience)
    if reached is not None:
        query = query.where(tuple_(Person.issuer, Person.sub).in_(reached))
    found = [(attempt, learner_id) for attempt, learner_id in session.execute(query)]
    labels = person_labels(
        session, audience, {learner_id for _a, learner_id in found if learner_id is not None}
    )
    rows = []
    for attempt, learner_id in found:
        version = attempt.version
        outcome = module_outcome(version.scorm_version, version.mastery_score, attempt.scos)
        if attempt.is_open:
            status = "in_progress"
        elif outcome.passed is None:
            status = "completed"
        else:
            status = "passed" if outcome.passed else "failed"
        rows.append(
            AttemptRow(
                label=labels.get(learner_id) if learner_id is not None else None,
                version=version.number,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                status=status,
                scaled=outcome.scaled,
            )
        )
    return rows

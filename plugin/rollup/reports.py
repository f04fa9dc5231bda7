"""Reports read from the stored roll-up: a learner's attainment against their grade's targets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Grade, GradeTarget
from plugin.rollup.engine import RollupConfig, gap
from plugin.rollup.items import FrameworkItems
from plugin.rollup.learners import identities_of
from plugin.rollup.models import Attainment, Learner


def attainment_report(
    session: Session, learner: Learner, framework: Framework, config: RollupConfig
) -> dict[str, Any]:
    """The learner's attainment as ``rollup show --json`` prints it (framework item order)."""
    catalog = FrameworkItems(session, framework)
    stored = {
        row.item_id: row
        for row in session.scalars(select(Attainment).where(Attainment.learner_id == learner.id))
    }
    targets: dict[str, int] = {}
    if learner.grade:
        for target in session.scalars(
            select(GradeTarget)
            .join(Grade, GradeTarget.grade_id == Grade.id)
            .where(Grade.framework_id == framework.id, Grade.key == learner.grade)
        ):
            targets[target.item.code] = target.level
    items = []
    competencies = []
    for item in catalog.items:
        row = stored.get(item.code)
        level = row.level if row is not None else 0
        items.append(
            {
                "id": item.code,
                "kind": item.kind,
                "value": row.value if row is not None else None,
                "level": level,
                "evidence": list(row.evidence_ids) if row is not None else [],
            }
        )
        if item.kind == "competency":
            target = targets.get(item.code)
            competencies.append(
                {
                    "id": item.code,
                    "level": level,
                    "target": target,
                    "gap": gap(target, level) if target is not None else None,
                }
            )
    return {
        "person": {
            "id": learner.id,
            "identities": [
                {"issuer": identity.issuer, "sub": identity.sub}
                for identity in identities_of(learner)
            ],
            "grade": learner.grade or None,
        },
        "items": items,
        "competencies": competencies,
    }

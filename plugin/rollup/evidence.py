"""Recording evidence: one observation per row, checked, stored once, then recomputed.

Services take the session, flush but never commit (docs/ARCHITECTURE.md §8.5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Module
from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput
from plugin.rollup.changes import AttainmentChange
from plugin.rollup.engine import RollupConfig
from plugin.rollup.items import FrameworkItems
from plugin.rollup.models import Evidence, Learner
from plugin.rollup.recompute import recompute_items

SOURCE_KINDS = ("statement", "import", "pull")


@dataclass(frozen=True)
class EvidenceInput:
    """One observation to record: an item, the tag's level, a score in [0, 1], when."""

    item_id: str
    level: int
    score: float
    observed_at: datetime
    source_kind: str
    source_id: str
    module_key: str = ""


@dataclass(frozen=True, kw_only=True)
class Observed:
    """Evidence read from outside (a CSV row, an LRS statement) before it is recorded: whose,
    which items at which level, the score, the outcome and when it happened."""

    issuer: str
    sub: str
    items: tuple[tuple[str, int], ...]
    score: float
    success: bool | None
    observed_at: datetime


ObservedT = TypeVar("ObservedT", bound=Observed)


@dataclass
class RecordingReport(Generic[ObservedT]):
    """What recording read evidence did: what was new to the database, the level changes."""

    new: list[ObservedT] = field(default_factory=list)
    changes: list[AttainmentChange] = field(default_factory=list)


def evidence_for(session: Session, learner: Learner, item_id: str | None = None) -> list[Evidence]:
    """The learner's evidence (of one item), in observation order."""
    query = select(Evidence).where(Evidence.learner_id == learner.id)
    if item_id is not None:
        query = query.where(Evidence.item_id == item_id)
    rows = session.scalars(query).all()
    return sorted(rows, key=lambda e: (e.observed_at, e.source_id, e.item_id))


def _check_input(row: EvidenceInput, catalog: FrameworkItems, where: str) -> None:
    def fail(name: str, message: str) -> None:
        raise InvalidInput(f"{where}{name}: {message}", field=name)

    if row.item_id not in catalog.by_code:
        fail("item_id", f"unknown item {row.item_id!r}")
    if isinstance(row.level, bool) or not isinstance(row.level, int):
        fail("level", "must be a whole number")
    if not 1 <= row.level <= catalog.scale_levels:
        fail("level", f"must be 1 to {catalog.scale_levels}, got {row.level}")
    if not isinstance(row.score, int | float) or math.isnan(row.score):
        fail("score", "must be a number")
    if not 0 <= row.score <= 1:
        fail("score", f"must be in [0, 1], got {row.score}")
    if row.observed_at.tzinfo is None:
        fail("observed_at", "needs a time zone")
    if row.source_kind not in SOURCE_KINDS:
        fail("source_kind", f"must be one of {', '.join(SOURCE_KINDS)}")
    if not row.source_id or len(row.source_id) > 255:
        fail("source_id", "must be 1 to 255 characters")


def record_evidence(
    session: Session,
    learner: Learner,
    rows: Sequence[EvidenceInput],
    framework: Framework,
    config: RollupConfig,
) -> list[AttainmentChange]:
    """Add the rows not yet recorded (by source id and item), then recompute the learner's
    affected items and their competencies; what changed level."""
    catalog = FrameworkItems(session, framework)
    for index, row in enumerate(rows):
        _check_input(row, catalog, f"evidence[{index}].")
    keys = {(row.source_id, row.item_id) for row in rows}
    known = set()
    if keys:
        source_ids = {source for source, _item in keys}
        known = {
            (e.source_id, e.item_id)
            for e in session.scalars(select(Evidence).where(Evidence.source_id.in_(source_ids)))
        }
    affected: set[str] = set()
    for row in rows:
        key = (row.source_id, row.item_id)
        if key in known:
            continue  # idempotent: the same observation is recorded once
        known.add(key)
        session.add(
            Evidence(
                learner_id=learner.id,
                item_id=row.item_id,
                level=row.level,
                score=float(row.score),
                observed_at=row.observed_at,
                source_kind=row.source_kind,
                source_id=row.source_id,
                module_key=row.module_key,
                recorded_at=utcnow(),
            )
        )
        affected.add(row.item_id)
    if not affected:
        return []
    session.flush()
    return recompute_items(session, learner, catalog, config, affected)


def module_evidence(
    module: Module, framework: Framework, source_id: str, observed_at: datetime, score: float
) -> list[EvidenceInput]:
    """The evidence of one finished attempt at ``module``: one row per active tag of the
    framework, at the tag's level, the score clamped to [0, 1]."""
    return [
        EvidenceInput(
            item_id=tag.item.code,
            level=tag.level,
            score=min(max(score, 0.0), 1.0),
            observed_at=observed_at,
            source_kind="statement",
            source_id=source_id,
            module_key=module.key,
        )
        for tag in module.active_tags
        if tag.item.framework_id == framework.id
    ]

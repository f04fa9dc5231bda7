"""Persisted roll-up: learners and identities, evidence, attainment (DESIGN.md §6).

Services take the session, flush but never commit (DESIGN.md §8.5). ``record_evidence``
recomputes only the learner's affected items and their competencies, in the caller's
transaction; ``recompute_all`` recomputes everything. Both return what changed, so the
callers (web/, cli.py) can turn level changes into ``assessed`` statements — the roll-up
itself does not import the xAPI layer.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Grade, GradeTarget, Item
from plugin.competencies.modules import report_scale_levels
from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput, NotFound
from plugin.rollup.engine import (
    ItemResult,
    Point,
    RollupConfig,
    competency_level,
    gap,
    item_result,
)
from plugin.rollup.models import Attainment, Evidence, Identity, Learner

SOURCE_KINDS = ("statement", "import", "pull")
# Where import row ids and re-issued statement ids come from: uuid5 names in this namespace
# make them the same on every run, so importing or pulling twice changes nothing.
ID_NAMESPACE = uuid.UUID("6f0c3f36-2c1e-5a55-9a57-0d1b6c1b7a11")
GRADE_SOURCES = ("lti", "csv", "admin")


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


@dataclass(frozen=True)
class AttainmentChange:
    """A learner's level for one item changed (old_level 0 when there was none)."""

    learner: Learner
    item_id: str
    kind: str
    old_level: int
    new_level: int
    value: float | None
    evidence: tuple[str, ...] = field(default_factory=tuple)


def rollup_config(settings_rollup: Any) -> RollupConfig:
    """The engine's config from the ``[rollup]`` settings."""
    return RollupConfig(
        method=settings_rollup.method,
        decay_weight=settings_rollup.decay_weight,
        n_mastery=settings_rollup.n_mastery,
        mastery_threshold=settings_rollup.mastery_threshold,
        competency_rule=settings_rollup.competency_rule,
        points_per_level=tuple(settings_rollup.points_per_level),
        points_needed=tuple(settings_rollup.points_needed),
        required_indicators=tuple(settings_rollup.required_indicators),
    )


def statement_id_for(source_id: str) -> str:
    """The statement id an evidence source stands for: itself when a UUID, else a uuid5."""
    try:
        return str(uuid.UUID(source_id))
    except ValueError:
        return str(uuid.uuid5(ID_NAMESPACE, source_id))


# People and identities.


def find_learner(session: Session, issuer: str, sub: str) -> Learner | None:
    """The learner an identity (issuer, sub) belongs to, or None."""
    return session.scalars(
        select(Learner)
        .join(Identity, Identity.learner_id == Learner.id)
        .where(Identity.issuer == issuer, Identity.sub == sub)
    ).one_or_none()


def learner_for(session: Session, issuer: str, sub: str) -> Learner:
    """The learner of (issuer, sub), created with that one identity when new."""
    learner = find_learner(session, issuer, sub)
    if learner is not None:
        return learner
    if not issuer or not sub:
        raise InvalidInput("a person needs both an issuer and a sub", field="issuer")
    learner = Learner(grade="", grade_source="", link_key="", created_at=utcnow())
    session.add(learner)
    session.flush()
    session.add(Identity(learner_id=learner.id, issuer=issuer, sub=sub, linked_by=""))
    session.flush()
    session.refresh(learner, ["identities"])
    return learner


def identities_of(learner: Learner) -> list[Identity]:
    """The learner's identities, oldest first (the first names the learner in statements)."""
    return sorted(learner.identities, key=lambda identity: identity.id)


def link_learner(
    session: Session,
    learner: Learner,
    link_key: str,
    framework: Framework,
    config: RollupConfig,
    *,
    linked_by: str = "claim",
) -> tuple[Learner, list[AttainmentChange]]:
    """Link ``learner`` to the learner already holding ``link_key`` (e.g. an employee
    number), moving its identities and evidence there; returns the kept learner."""
    link_key = link_key.strip()
    if not link_key:
        raise InvalidInput("the link key is empty", field="link_key")
    if learner.link_key == link_key:
        return learner, []
    holder = session.scalars(
        select(Learner).where(Learner.link_key == link_key, Learner.id != learner.id)
    ).first()
    if holder is None:
        learner.link_key = link_key
        for identity in learner.identities:
            identity.linked_by = identity.linked_by or linked_by
        session.flush()
        return learner, []
    # Merge into the learner who had the key first: their id stays stable for reports.
    for identity in list(learner.identities):
        identity.learner = holder  # moves it between the two collections, too
        identity.linked_by = linked_by
    for evidence in session.scalars(select(Evidence).where(Evidence.learner_id == learner.id)):
        evidence.learner_id = holder.id
    for row in session.scalars(select(Attainment).where(Attainment.learner_id == learner.id)):
        session.delete(row)
    if not holder.grade and learner.grade:
        holder.grade, holder.grade_source = learner.grade, learner.grade_source
    session.flush()
    session.delete(learner)
    session.flush()
    return holder, recompute_learner(session, holder, framework, config)


def grade_key(session: Session, framework: Framework, value: str) -> str:
    """A grade key from a key or its zh-TW / en name (委任, 薦任, 簡任, 主管)."""
    wanted = value.strip()
    for grade in session.scalars(select(Grade).where(Grade.framework_id == framework.id)):
        if wanted in (grade.key, grade.name_zh) or wanted.lower() == grade.key.lower():
            return grade.key
    raise InvalidInput(
        f"unknown grade {value!r}; use junior, intermediate, senior, supervisor "
        "or 委任, 薦任, 簡任, 主管",
        field="grade",
    )


def set_grade(
    session: Session, learner: Learner, framework: Framework, value: str, source: str
) -> bool:
    """Set the learner's grade from ``source`` (lti, csv or admin); True when it changed.

    A launch's custom parameter never overrides a grade from personnel data or an
    administrator: those are the authoritative sources.
    """
    if source not in GRADE_SOURCES:
        raise InvalidInput(f"unknown grade source {source!r}", field="source")
    key = grade_key(session, framework, value)
    if source == "lti" and learner.grade_source in ("csv", "admin"):
        return False
    changed = (learner.grade, learner.grade_source) != (key, source)
    learner.grade, learner.grade_source = key, source
    session.flush()
    return changed


# Evidence and attainment.


def evidence_for(session: Session, learner: Learner, item_id: str | None = None) -> list[Evidence]:
    """The learner's evidence (of one item), in observation order."""
    query = select(Evidence).where(Evidence.learner_id == learner.id)
    if item_id is not None:
        query = query.where(Evidence.item_id == item_id)
    rows = session.scalars(query).all()
    return sorted(rows, key=lambda e: (e.observed_at, e.source_id, e.item_id))


class _Catalog:
    """The framework's items by code, and each competency's indicators, in item order."""

    def __init__(self, session: Session, framework: Framework) -> None:
        self.items: list[Item] = list(
            session.scalars(
                select(Item).where(Item.framework_id == framework.id).order_by(Item.position)
            )
        )
        self.by_code = {item.code: item for item in self.items}
        by_id = {item.id: item for item in self.items}
        self.parent: dict[str, str] = {}
        self.indicators: dict[str, list[str]] = {}
        for item in self.items:
            if item.kind == "competency":
                self.indicators.setdefault(item.code, [])
            elif item.parent_id is not None and item.parent_id in by_id:
                parent = by_id[item.parent_id].code
                self.parent[item.code] = parent
                self.indicators.setdefault(parent, []).append(item.code)
        self.scale_levels = report_scale_levels(session, framework) or 3


def _check_input(row: EvidenceInput, catalog: _Catalog, where: str) -> None:
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
    catalog = _Catalog(session, framework)
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
    return _recompute(session, learner, catalog, config, affected)


def recompute_learner(
    session: Session, learner: Learner, framework: Framework, config: RollupConfig
) -> list[AttainmentChange]:
    """Recompute every item of one learner from their evidence."""
    catalog = _Catalog(session, framework)
    return _recompute(session, learner, catalog, config, set(catalog.by_code))


def recompute_all(
    session: Session,
    framework: Framework,
    config: RollupConfig,
    changes: list[AttainmentChange] | None = None,
) -> int:
    """Recompute every learner from scratch; the number of learners (changes appended to
    ``changes`` when given)."""
    catalog = _Catalog(session, framework)
    learners = session.scalars(select(Learner).order_by(Learner.id)).all()
    for learner in learners:
        found = _recompute(session, learner, catalog, config, set(catalog.by_code))
        if changes is not None:
            changes.extend(found)
    return len(learners)


def _points(evidence: Iterable[Evidence]) -> list[Point]:
    # The source id is unique per item (the table's constraint), so it identifies the point
    # the same way however and whenever the evidence arrived (DESIGN.md §6: deterministic).
    return [
        Point(
            evidence_id=e.source_id,
            level=e.level,
            score=e.score,
            observed_at=e.observed_at,
            source_id=e.source_id,
        )
        for e in evidence
    ]


def _recompute(
    session: Session,
    learner: Learner,
    catalog: _Catalog,
    config: RollupConfig,
    affected: set[str],
) -> list[AttainmentChange]:
    """Recompute ``affected`` items and the competencies above them for one learner."""
    competencies = {code for code in affected if code in catalog.indicators}
    competencies |= {catalog.parent[code] for code in affected if code in catalog.parent}
    needed = set(affected) | competencies
    for competency in competencies:
        needed |= set(catalog.indicators[competency])
    evidence: dict[str, list[Evidence]] = {}
    for row in session.scalars(
        select(Evidence).where(Evidence.learner_id == learner.id, Evidence.item_id.in_(needed))
    ):
        evidence.setdefault(row.item_id, []).append(row)
    rows = {
        row.item_id: row
        for row in session.scalars(
            select(Attainment).where(
                Attainment.learner_id == learner.id, Attainment.item_id.in_(needed)
            )
        )
    }
    results: dict[str, ItemResult] = {
        code: item_result(_points(evidence.get(code, [])), config) for code in needed
    }
    changes: list[AttainmentChange] = []
    # Indicators and attitudes first, then competencies (they read the indicators' levels).
    for code in sorted(affected - set(catalog.indicators), key=_order(catalog)):
        result = results[code]
        changes += _store(session, learner, rows, catalog.by_code[code], result.value,
                          result.level, result.evidence)  # fmt: skip
    for code in sorted(competencies, key=_order(catalog)):
        levels = {ind: results[ind].level for ind in catalog.indicators[code]}
        direct = results[code] if evidence.get(code) else None
        level = competency_level(levels, direct, config, catalog.scale_levels)
        trail = list(results[code].evidence)
        for indicator in catalog.indicators[code]:
            trail += [e for e in results[indicator].evidence if e not in trail]
        changes += _store(session, learner, rows, catalog.by_code[code], results[code].value,
                          level, tuple(trail))  # fmt: skip
    session.flush()
    return changes


def _order(catalog: _Catalog) -> Any:
    positions = {item.code: index for index, item in enumerate(catalog.items)}
    return lambda code: positions[code]


def _store(
    session: Session,
    learner: Learner,
    rows: dict[str, Attainment],
    item: Item,
    value: float | None,
    level: int,
    trail: tuple[str, ...],
) -> list[AttainmentChange]:
    row = rows.get(item.code)
    if row is None:
        if value is None and level == 0 and not trail:
            return []  # nothing to say about an item without evidence
        row = Attainment(learner_id=learner.id, item_id=item.code, kind=item.kind, level=0,
                         value=None, evidence_ids=[], updated_at=utcnow())  # fmt: skip
        session.add(row)
        rows[item.code] = row
        old_level = 0
    else:
        old_level = row.level
    if (row.value, row.level, list(row.evidence_ids)) != (value, level, list(trail)):
        row.value, row.level, row.evidence_ids = value, level, list(trail)
        row.updated_at = utcnow()
    if old_level == level:
        return []
    return [
        AttainmentChange(
            learner=learner,
            item_id=item.code,
            kind=item.kind,
            old_level=old_level,
            new_level=level,
            value=value,
            evidence=tuple(statement_id_for(source) for source in trail),
        )
    ]


def attainment_report(
    session: Session, learner: Learner, framework: Framework, config: RollupConfig
) -> dict[str, Any]:
    """The learner's attainment as ``rollup show --json`` prints it (framework item order)."""
    catalog = _Catalog(session, framework)
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


def get_learner(session: Session, issuer: str, sub: str) -> Learner:
    """The learner of (issuer, sub), or NotFound naming them."""
    learner = find_learner(session, issuer, sub)
    if learner is None:
        raise NotFound(f"no learner with issuer {issuer!r} and sub {sub!r}", field="sub")
    return learner


def merge_changes(changes: Sequence[AttainmentChange]) -> list[AttainmentChange]:
    """One change per learner and item (first old level, last new level); none when equal."""
    merged: dict[tuple[int, str], AttainmentChange] = {}
    for change in changes:
        key = (change.learner.id, change.item_id)
        first = merged.get(key)
        merged[key] = (
            change
            if first is None
            else AttainmentChange(
                change.learner,
                change.item_id,
                change.kind,
                first.old_level,
                change.new_level,
                change.value,
                change.evidence,
            )
        )
    return [change for change in merged.values() if change.old_level != change.new_level]

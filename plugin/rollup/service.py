"""Persisted roll-up: learners and identities, evidence, attainment (docs/ARCHITECTURE.md §6).

Services take the session, flush but never commit (docs/ARCHITECTURE.md §8.5). ``record_evidence``
recomputes only the learner's affected items and their competencies, in the caller's
transaction; ``recompute_all`` recomputes everything, a chunk of learners at a time with
bulk reads and writes (memory holds one chunk, whatever the evidence count). Both return
what changed, so the callers (web/, cli.py) can turn level changes into ``assessed``
statements — the roll-up itself does not import the xAPI layer.
"""

from __future__ import annotations

import gc
import json
import math
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Table,
    Text,
    bindparam,
    cast,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session, selectinload

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
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GRADE_SOURCES = ("lti", "csv", "admin")
# Learners per chunk of a full recompute: memory holds one chunk's evidence and attainment.
RECOMPUTE_CHUNK_SIZE = 1000

_EVIDENCE: Table = Evidence.__table__  # type: ignore[assignment]
_EVIDENCE_COLUMNS = (
    _EVIDENCE.c.learner_id,
    _EVIDENCE.c.item_id,
    _EVIDENCE.c.level,
    _EVIDENCE.c.score,
    # Read as a plain timestamp, not through UTCDateTime: the engine only orders by it, every
    # stored value is UTC, and the aware-UTC wrapper would double the cost of a row.
    type_coerce(_EVIDENCE.c.observed_at, DateTime(timezone=True)),
    _EVIDENCE.c.source_id,
)
_ATTAINMENT: Table = Attainment.__table__  # type: ignore[assignment]
_ATTAINMENT_COLUMNS = (
    _ATTAINMENT.c.id,
    _ATTAINMENT.c.learner_id,
    _ATTAINMENT.c.item_id,
    _ATTAINMENT.c.level,
    _ATTAINMENT.c.value,
    # As the JSON text stored: compared as text first, decoded only when that differs.
    cast(_ATTAINMENT.c.evidence_ids, Text),
)
_UPDATE_ATTAINMENT = (
    update(_ATTAINMENT)
    .where(_ATTAINMENT.c.id == bindparam("row_id"))
    .values(
        value=bindparam("new_value", type_=_ATTAINMENT.c.value.type),
        level=bindparam("new_level", type_=_ATTAINMENT.c.level.type),
        evidence_ids=bindparam("new_evidence", type_=_ATTAINMENT.c.evidence_ids.type),
        updated_at=bindparam("new_updated_at", type_=_ATTAINMENT.c.updated_at.type),
    )
)


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
    if _CANONICAL_UUID.fullmatch(source_id):
        return source_id  # what str(UUID(...)) would give back, without parsing it
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
        self.position = {item.code: index for index, item in enumerate(self.items)}
        # The items other items roll up into (the competencies), and each item's own.
        self.tops = frozenset(self.indicators)
        self.top_of = {**self.parent, **{code: code for code in self.tops}}
        self._empty_levels: tuple[RollupConfig, dict[str, int]] | None = None

    def empty_levels(self, config: RollupConfig) -> dict[str, int]:
        """Each competency's level when neither it nor its indicators have evidence: 0,
        unless a points rule needs no points. Computed once per config."""
        if self._empty_levels is None or self._empty_levels[0] is not config:
            levels = {
                code: competency_level(
                    dict.fromkeys(self.indicators[code], 0), None, config, self.scale_levels
                )
                for code in self.tops
            }
            self._empty_levels = (config, levels)
        return self._empty_levels[1]

    def needed_for(self, affected: set[str]) -> set[str]:
        """The items whose evidence recomputing ``affected`` reads: them, the competencies
        above them, and those competencies' indicators."""
        needed = set(affected)
        for code in affected:
            top = self.top_of.get(code)
            if top is not None:
                needed.add(top)
                needed.update(self.indicators[top])
        return needed


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
    *,
    on_chunk: Callable[[list[AttainmentChange]], None] | None = None,
    chunk_size: int = RECOMPUTE_CHUNK_SIZE,
) -> int:
    """Recompute every learner from scratch, ``chunk_size`` learners at a time; the number of
    learners. Level changes are appended to ``changes`` and/or handed to ``on_chunk`` once
    per chunk (a learner's changes all in one call); the result equals ``recompute_learner``
    for each learner in id order."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    catalog = _Catalog(session, framework)
    want_changes = changes is not None or on_chunk is not None
    session.flush()  # the bulk reads and writes below bypass the unit of work
    count = 0
    first_page = select(Learner.id).order_by(Learner.id).limit(chunk_size)
    page = first_page
    with _young_collections_only() as collect:
        while True:
            learner_ids = session.scalars(page).all()
            if not learner_ids:
                break
            # Keyset pagination: the next chunk starts after this one's last id, so every
            # chunk costs the same however far the walk has gone (OFFSET would rescan).
            page = first_page.where(Learner.id > learner_ids[-1])
            found = _recompute_chunk(session, learner_ids, catalog, config, want_changes)
            if changes is not None:
                changes.extend(found)
            if on_chunk is not None:
                on_chunk(found)
                session.flush()  # what the callback added leaves memory with this chunk
            count += len(learner_ids)
            collect()
    _expire_loaded_attainment(session)
    return count


@contextmanager
def _young_collections_only() -> Iterator[Callable[[], None]]:
    """Pause automatic garbage collection over a bulk pass; the caller collects the young
    generations once per chunk instead. A chunk allocates tens of thousands of short-lived,
    acyclic tuples (points, rows), and automatic collections would walk every older object
    again and again while they live: measured, that was a third of a full recompute."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(1)
    finally:
        if was_enabled:
            gc.enable()


def _recompute_chunk(
    session: Session,
    learner_ids: Sequence[int],
    catalog: _Catalog,
    config: RollupConfig,
    want_changes: bool,
) -> list[AttainmentChange]:
    """Recompute the learners ``learner_ids`` (consecutive ids, ascending) in three
    statements: their evidence, their stored attainment, and the writes in bulk."""
    first, last = learner_ids[0], learner_ids[-1]
    evidence = _evidence_points(
        session, (_EVIDENCE.c.learner_id >= first) & (_EVIDENCE.c.learner_id <= last), catalog
    )
    # (id, level, value, evidence_ids as JSON text) by learner and item.
    stored: defaultdict[int, dict[str, tuple[int, int, float | None, str]]] = defaultdict(dict)
    for row_id, learner_id, item_id, level, value, trail in session.execute(
        select(*_ATTAINMENT_COLUMNS).where(
            _ATTAINMENT.c.learner_id >= first, _ATTAINMENT.c.learner_id <= last
        )
    ).all():
        if item_id in catalog.by_code:
            stored[learner_id][item_id] = (row_id, level, value, trail)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    changed: list[tuple[int, _Outcome, int]] = []
    for learner_id in learner_ids:
        points = evidence.get(learner_id, {})
        rows = stored.get(learner_id, {})
        # Items with neither evidence nor a stored row have nothing to store or change;
        # competencies are always looked at (a points rule may give a level without evidence).
        for outcome in _outcomes(points, catalog, config, set(points) | set(rows) | catalog.tops):
            row = rows.get(outcome.code)
            if row is None:
                if outcome.is_empty:
                    continue
                old_level = 0
                inserts.append(
                    (learner_id, outcome.code, catalog.by_code[outcome.code].kind,
                     outcome.value, outcome.level, list(outcome.trail))
                )  # fmt: skip
            else:
                row_id, old_level, old_value, old_trail = row
                if not (
                    old_level == outcome.level
                    and old_value == outcome.value
                    and _same_trail(old_trail, outcome.trail)
                ):
                    updates.append((row_id, outcome.value, outcome.level, list(outcome.trail)))
            if want_changes and old_level != outcome.level:
                changed.append((learner_id, outcome, old_level))
    dialect = session.get_bind().dialect
    writer = _PostgresWriter if (dialect.name, dialect.driver) == _COPY_DRIVER else _CoreWriter
    now = utcnow()
    if inserts:
        writer.insert(session, inserts, now)
    if updates:
        writer.update(session, updates, now)
    return _changes(session, catalog, changed) if changed else []


class _CoreWriter:
    """Attainment rows written with one executemany per chunk (SQLite: no round trips)."""

    @staticmethod
    def insert(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> None:
        """Insert (learner_id, item_id, kind, value, level, evidence_ids) rows."""
        session.execute(
            insert(_ATTAINMENT),
            [
                {"learner_id": learner_id, "item_id": item_id, "kind": kind, "value": value,
                 "level": level, "evidence_ids": trail, "updated_at": now}
                for learner_id, item_id, kind, value, level, trail in rows
            ],
        )  # fmt: skip

    @staticmethod
    def update(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> None:
        """Set (id, value, level, evidence_ids) on existing rows."""
        session.execute(
            _UPDATE_ATTAINMENT,
            [
                {"row_id": row_id, "new_value": value, "new_level": level,
                 "new_evidence": trail, "new_updated_at": now}
                for row_id, value, level, trail in rows
            ],
        )  # fmt: skip


_COPY_DRIVER = ("postgresql", "psycopg")  # the writer below speaks psycopg 3's COPY


class _PostgresWriter:
    """Attainment rows written with COPY and one set-based UPDATE per chunk: executemany
    costs the server a statement per row, four times the time of COPY (measured)."""

    @staticmethod
    def insert(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> None:
        """Insert (learner_id, item_id, kind, value, level, evidence_ids) rows."""
        cursor = session.connection().connection.driver_connection.cursor()
        with (
            cursor,
            cursor.copy(
                "COPY rollup_attainment (learner_id, item_id, kind, value, level, evidence_ids, "
                "updated_at) FROM STDIN"
            ) as copy,
        ):
            for *columns, trail in rows:
                copy.write_row((*columns, json.dumps(trail), now))

    @staticmethod
    def update(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> None:
        """Set (id, value, level, evidence_ids) on existing rows."""
        ids, values, levels, trails = zip(*rows, strict=True)
        session.connection().exec_driver_sql(
            "UPDATE rollup_attainment AS a SET value = v.value, level = v.level, "
            "evidence_ids = v.evidence_ids::json, updated_at = %(now)s "
            "FROM unnest(%(ids)s::integer[], %(values)s::double precision[], "
            "%(levels)s::integer[], %(trails)s::text[]) AS v(id, value, level, evidence_ids) "
            "WHERE a.id = v.id",
            {"ids": list(ids), "levels": list(levels),
             "values": [None if value is None else float(value) for value in values],
             "trails": [json.dumps(trail) for trail in trails], "now": now},
        )  # fmt: skip


def _changes(
    session: Session, catalog: _Catalog, changed: list[tuple[int, _Outcome, int]]
) -> list[AttainmentChange]:
    """The chunk's level changes, with their learners (and identities, which the callers'
    ``assessed`` statements name) loaded in one query."""
    learner_ids = sorted({learner_id for learner_id, _outcome, _old in changed})
    learners = {
        learner.id: learner
        for learner in session.scalars(
            select(Learner)
            .where(Learner.id.in_(learner_ids))
            .options(selectinload(Learner.identities))
        )
    }
    return [
        AttainmentChange(
            learner=learners[learner_id],
            item_id=outcome.code,
            kind=catalog.by_code[outcome.code].kind,
            old_level=old_level,
            new_level=outcome.level,
            value=outcome.value,
            evidence=tuple(statement_id_for(source) for source in outcome.trail),
        )
        for learner_id, outcome, old_level in changed
    ]


def _same_trail(stored: str, trail: tuple[str, ...]) -> bool:
    """Whether the stored JSON text holds ``trail``. Most trails are ids without quotes or
    backslashes, whose JSON is the ids joined by '", "' (json.dumps' own separators): when
    the stored text is exactly that, it holds the trail, found without decoding it; any
    other text (other separators, escapes) is decoded and compared."""
    joined = '", "'.join(trail)
    plain = joined.count('"') == 2 * max(len(trail) - 1, 0) and "\\" not in joined
    if plain and stored == (f'["{joined}"]' if trail else "[]"):
        return True
    return bool(json.loads(stored) == list(trail))


def _expire_loaded_attainment(session: Session) -> None:
    """Attainment objects the session already held were written around: reload on access."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Attainment):
            session.expire(instance)


def _evidence_points(
    session: Session, where: ColumnElement[bool], catalog: _Catalog
) -> dict[int, dict[str, list[Point]]]:
    """The evidence matching ``where`` as engine points, by learner and item (framework items
    only); plain columns, not ORM objects: a full recompute reads every row once."""
    points: defaultdict[int, defaultdict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    known = catalog.by_code
    for learner_id, item_id, level, score, observed_at, source_id in session.execute(
        select(*_EVIDENCE_COLUMNS).where(where)
    ).all():
        if item_id in known:
            # The source id is unique per item (the table's constraint), so it identifies the
            # point however and whenever the evidence arrived (deterministic:
            # docs/ARCHITECTURE.md §6).
            points[learner_id][item_id].append(
                Point(source_id, level, score, observed_at, source_id)
            )
    return points


def _recompute(
    session: Session,
    learner: Learner,
    catalog: _Catalog,
    config: RollupConfig,
    affected: set[str],
) -> list[AttainmentChange]:
    """Recompute ``affected`` items and the competencies above them for one learner."""
    needed = catalog.needed_for(affected)
    points = _evidence_points(
        session,
        (_EVIDENCE.c.learner_id == learner.id) & _EVIDENCE.c.item_id.in_(needed),
        catalog,
    ).get(learner.id, {})
    rows = {
        row.item_id: row
        for row in session.scalars(
            select(Attainment).where(
                Attainment.learner_id == learner.id, Attainment.item_id.in_(needed)
            )
        )
    }
    changes: list[AttainmentChange] = []
    for outcome in _outcomes(points, catalog, config, affected):
        changes += _store(session, learner, rows, catalog.by_code[outcome.code], outcome)
    session.flush()
    return changes


class _Outcome(NamedTuple):
    """What one item's attainment should be: value, level and evidence trail."""

    code: str
    value: float | None
    level: int
    trail: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """Nothing to say: no value, no level, no evidence (such rows are not created)."""
        return self.value is None and self.level == 0 and not self.trail

    def is_stored_in(self, row: Any) -> bool:
        """True when ``row`` (an attainment row) already holds this value, level and trail."""
        return (
            row.level == self.level
            and row.value == self.value
            and list(row.evidence_ids) == list(self.trail)
        )


_NO_RESULT = ItemResult(value=None, level=0)


def _outcomes(
    points: Mapping[str, Sequence[Point]],
    catalog: _Catalog,
    config: RollupConfig,
    affected: set[str],
) -> list[_Outcome]:
    """One learner's outcomes for ``affected`` items and the competencies above them:
    indicators and attitudes first, then competencies (they read the indicators' levels),
    each group in framework order. Pure: the same points give the same outcomes."""
    results = {code: item_result(chain, config) for code, chain in points.items() if chain}
    competencies = {catalog.top_of[code] for code in affected if code in catalog.top_of}
    empty_levels = catalog.empty_levels(config)
    outcomes = []
    for code in sorted(affected - catalog.tops, key=catalog.position.__getitem__):
        found = results.get(code, _NO_RESULT)
        outcomes.append(_Outcome(code, found.value, found.level, found.evidence))
    for code in sorted(competencies, key=catalog.position.__getitem__):
        own = results.get(code)  # evidence tagged at the competency itself: a direct level
        indicators = catalog.indicators[code]
        if own is None and results.keys().isdisjoint(indicators):
            outcomes.append(_Outcome(code, None, empty_levels[code], ()))
            continue
        levels = dict.fromkeys(indicators, 0)  # no evidence: level 0
        trails = [own.evidence] if own is not None else []
        for indicator in indicators:
            found = results.get(indicator)
            if found is not None:
                levels[indicator] = found.level
                trails.append(found.evidence)
        level = competency_level(levels, own, config, catalog.scale_levels)
        # The competency's own evidence, then its indicators', each source once (where it
        # first appears): dict keys keep the first insertion's order.
        trail = tuple(dict.fromkeys(chain.from_iterable(trails)))
        value = own.value if own is not None else None
        outcomes.append(_Outcome(code, value, level, trail))
    return outcomes


def _store(
    session: Session,
    learner: Learner,
    rows: dict[str, Attainment],
    item: Item,
    outcome: _Outcome,
) -> list[AttainmentChange]:
    row = rows.get(item.code)
    if row is None:
        if outcome.is_empty:
            return []  # nothing to say about an item without evidence
        row = Attainment(learner_id=learner.id, item_id=item.code, kind=item.kind, level=0,
                         value=None, evidence_ids=[], updated_at=utcnow())  # fmt: skip
        session.add(row)
        rows[item.code] = row
        old_level = 0
    else:
        old_level = row.level
    value, level, trail = outcome.value, outcome.level, outcome.trail
    if not outcome.is_stored_in(row):
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

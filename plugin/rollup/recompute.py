"""Recomputing attainment from evidence (docs/ARCHITECTURE.md §6).

``recompute_items`` recomputes one learner's affected items and their competencies, in the
caller's transaction; ``recompute_all`` recomputes everything, a chunk of learners at a time
with bulk reads and writes (memory holds one chunk, whatever the evidence count). Both return
what changed (plugin.rollup.changes), so the callers (web/, cli/) can turn level changes into
``assessed`` statements — the roll-up itself does not import the xAPI layer.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, DateTime, Table, Text, cast, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from plugin.competencies.models import Framework, Item
from plugin.core.db import utcnow
from plugin.rollup.changes import AttainmentChange, statement_id_for
from plugin.rollup.engine import ItemResult, Point, RollupConfig, competency_level, item_result
from plugin.rollup.items import FrameworkItems
from plugin.rollup.models import Attainment, Evidence, Learner
from plugin.rollup.writers import writer_for

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


def recompute_learner(
    session: Session, learner: Learner, framework: Framework, config: RollupConfig
) -> list[AttainmentChange]:
    """Recompute every item of one learner from their evidence."""
    catalog = FrameworkItems(session, framework)
    return recompute_items(session, learner, catalog, config, set(catalog.by_code))


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
    catalog = FrameworkItems(session, framework)
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
def _young_collections_only() -> Iterator[Callable[[], int]]:
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
    catalog: FrameworkItems,
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
    writer = writer_for(session)
    now = utcnow()
    if inserts:
        writer.insert(session, inserts, now)
    if updates:
        writer.update(session, updates, now)
    return _changes(session, catalog, changed) if changed else []


def _changes(
    session: Session, catalog: FrameworkItems, changed: list[tuple[int, _Outcome, int]]
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
    session: Session, where: ColumnElement[bool], catalog: FrameworkItems
) -> dict[int, dict[str, list[Point]]]:
    """The evidence matching ``where`` as engine points, by learner and item (framework items
    only); plain columns, not ORM objects: a full recompute reads every row once."""
    # Missing learners and items start empty (defaultdicts, typed as the dicts returned).
    points: dict[int, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
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


def recompute_items(
    session: Session,
    learner: Learner,
    catalog: FrameworkItems,
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
    catalog: FrameworkItems,
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
            reached = results.get(indicator)
            if reached is not None:
                levels[indicator] = reached.level
                trails.append(reached.evidence)
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

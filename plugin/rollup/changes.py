"""What a recompute reports: level changes, and the statement ids their evidence stands for.

Every evidence row names its source (a statement id, an import row, a pulled statement); an
``assessed`` statement cites those sources as statement ids (docs/ARCHITECTURE.md §5, §6).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from plugin.rollup.models import Learner

# Where import row ids and re-issued statement ids come from: uuid5 names in this namespace
# make them the same on every run, so importing or pulling twice changes nothing.
ID_NAMESPACE = uuid.UUID("6f0c3f36-2c1e-5a55-9a57-0d1b6c1b7a11")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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


# Marks the evidence a SCORM attempt's interactions give (plugin/attainment.py) apart from the
# module's own row of the same result statement: that statement is still what both stand for.
OBJECTIVES_MARK = "#objectives"


def statement_id_for(source_id: str) -> str:
    """The statement id an evidence source stands for: itself when a UUID (a statement's id,
    bare or marked ``#objectives``), else a uuid5."""
    marked = source_id.removesuffix(OBJECTIVES_MARK)
    if marked != source_id and _CANONICAL_UUID.fullmatch(marked):
        return marked
    if _CANONICAL_UUID.fullmatch(source_id):
        return source_id  # what str(UUID(...)) would give back, without parsing it
    try:
        return str(uuid.UUID(source_id))
    except ValueError:
        return str(uuid.uuid5(ID_NAMESPACE, source_id))


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

"""The cross-entry rules of a framework data file, which its schema cannot say alone.

Errors name the entry and the field, e.g. ``classes (C1).topics (C1-T2).tags``.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from typing import Any, NoReturn

from plugin.core.errors import InvalidInput

REPORT_SCALE = "report"
DIGCOMP_SCALE = "digcomp"

_Fail = Callable[[str, str], NoReturn]


def first_error(messages: Any, raw: Any, path: str = "") -> tuple[str, str]:
    """The first marshmallow error as (``indicators[3] DC1-K4.name.en``, message)."""
    if isinstance(messages, list):
        return path or "file", "; ".join(str(m) for m in messages)
    key = sorted(messages, key=str)[0]
    child_raw = None
    if isinstance(raw, dict):
        child_raw = raw.get(key)
    elif isinstance(raw, list) and isinstance(key, int) and key < len(raw):
        child_raw = raw[key]
    if isinstance(key, int):
        entry_id = child_raw.get("id") if isinstance(child_raw, dict) else None
        label = f"{path}[{key}]" + (f" ({entry_id})" if entry_id else "")
    else:
        label = f"{path}.{key}" if path else str(key)
    return first_error(messages[key], child_raw, label)


def check_references(data: dict[str, Any], source: str) -> None:
    """Cross-entry rules: unique ids, known references, the two scales present."""

    def fail(path: str, message: str) -> NoReturn:
        raise InvalidInput(f"{source}: {path}: {message}", field=path)

    seen: set[str] = set()
    for section in ("competencies", "indicators", "attitudes"):
        for entry in data[section]:
            _unique_id(entry["id"], seen, f"{section} ({entry['id']}).id", fail)
    competencies = {c["id"] for c in data["competencies"]}
    for entry in data["indicators"]:
        if entry["competency"] not in competencies:
            fail(
                f"indicators ({entry['id']}).competency",
                f"unknown competency {entry['competency']}",
            )
    report_levels = _check_scales(data, fail)
    grades = {g["id"] for g in data["grades"]}
    if len(grades) != len(data["grades"]):
        fail("grades", "duplicate grade id")
    _check_classes(data["classes"], seen, competencies, grades, fail)
    _check_targets(data["targets"], competencies, grades, report_levels, fail)


def _check_scales(data: dict[str, Any], fail: _Fail) -> set[int]:
    """Both scales are present and the mapping names their levels; the report scale's levels."""
    scales = {s["id"]: s for s in data["scales"]}
    for required in (REPORT_SCALE, DIGCOMP_SCALE):
        if required not in scales:
            fail("scales", f"scale {required!r} is missing")
    report_levels = {lvl["number"] for lvl in scales[REPORT_SCALE]["levels"]}
    digcomp_levels = {lvl["number"] for lvl in scales[DIGCOMP_SCALE]["levels"]}
    for row in data["scale_mapping"]:
        if row["report_level"] not in report_levels:
            fail(f"scale_mapping ({row['report_level']}).report_level", "no such report level")
        path = f"scale_mapping ({row['report_level']}).digcomp_levels"
        _all_known(row["digcomp_levels"], digcomp_levels, path, "no level {}", fail)
    return report_levels


def _check_classes(
    classes: list[dict[str, Any]],
    known_ids: set[str],
    competencies: set[str],
    grades: set[str],
    fail: _Fail,
) -> None:
    """Classes and their topics: unique ids, known grades, competencies and tags."""
    class_ids: set[str] = set()
    topic_ids: set[str] = set()
    for entry in classes:
        label = f"classes ({entry['id']})"
        _unique_id(entry["id"], class_ids, f"{label}.id", fail)
        _all_known(entry["grades"], grades, f"{label}.grades", "unknown grade {!r}", fail)
        _all_known(
            entry["competencies"],
            competencies,
            f"{label}.competencies",
            "unknown competency {}",
            fail,
        )
        for topic in entry["topics"]:
            topic_label = f"{label}.topics ({topic['id']})"
            _unique_id(topic["id"], topic_ids, f"{topic_label}.id", fail)
            _all_known(topic["tags"], known_ids, f"{topic_label}.tags", "unknown id {}", fail)


def _check_targets(
    targets: dict[str, Any],
    competencies: set[str],
    grades: set[str],
    report_levels: set[int],
    fail: _Fail,
) -> None:
    """Targets are on the report scale, for known grades, competencies and levels."""
    if targets["scale"] != REPORT_SCALE:
        fail("targets.scale", f"must be {REPORT_SCALE!r}")
    for row in targets["grades"]:
        if row["grade"] not in grades:
            fail(f"targets.grades ({row['grade']}).grade", "unknown grade")
        for code, level in row["levels"].items():
            if code not in competencies:
                fail(f"targets.grades ({row['grade']}).levels.{code}", "unknown competency")
            if level not in report_levels:
                fail(f"targets.grades ({row['grade']}).levels.{code}", f"no report level {level}")


def _unique_id(entry_id: str, seen: set[str], path: str, fail: _Fail) -> None:
    """Refuse an id already in ``seen`` (at ``path``); otherwise add it."""
    if entry_id in seen:
        fail(path, "duplicate id")
    seen.add(entry_id)


def _all_known(
    values: Iterable[Any], known: Container[Any], path: str, unknown: str, fail: _Fail
) -> None:
    """Refuse the first of ``values`` not in ``known``; ``unknown`` formats its message."""
    for value in values:
        if value not in known:
            fail(path, unknown.format(value))

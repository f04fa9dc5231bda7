"""Loading the framework data file into the database, and looking its items up."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.demo_content import demo_entry
from plugin.competencies.framework_checks import REPORT_SCALE, check_references, first_error
from plugin.competencies.models import (
    SEED_ORIGIN,
    Framework,
    Grade,
    GradeTarget,
    Item,
    Level,
    Module,
    ModuleTag,
    Scale,
    TrainingClass,
)
from plugin.competencies.modules import apply_content
from plugin.competencies.schemas import FrameworkFile
from plugin.core.errors import InvalidInput
from plugin.core.files import read_utf8

DEFAULT_FRAMEWORK_FILE = Path(__file__).resolve().parent / "data" / "framework.toml"


@dataclass
class LoadReport:
    """What a framework load created and changed; all zero when nothing changed."""

    framework: str = ""
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool, changed: bool) -> None:
        """Record one entity of ``kind`` as created or updated (or neither)."""
        if created:
            self.created[kind] = self.created.get(kind, 0) + 1
        elif changed:
            self.updated[kind] = self.updated.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        """True when the load wrote anything."""
        return bool(self.created or self.updated)


def item_iri(iri_base: str, framework_key: str, code: str) -> str:
    """The IRI of a competency, indicator or attitude: ``{iri_base}{framework}/{code}``."""
    return f"{iri_base}{framework_key}/{code}"


def read_framework_file(path: Path | str | None = None) -> dict[str, Any]:
    """Read and check a framework data file; errors name the entry and field."""
    source = Path(path) if path else DEFAULT_FRAMEWORK_FILE
    raw_text = read_utf8(source)
    return parse_framework(raw_text, source=str(source))


def parse_framework(raw_text: str, source: str = "<text>") -> dict[str, Any]:
    """Parse and check framework TOML; the result carries the text's SHA-256."""
    try:
        raw = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not valid TOML: {exc}", field="file") from None
    data = check_framework(raw, source)
    data["sha256"] = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    return data


def check_framework(raw: dict[str, Any], source: str = "<data>") -> dict[str, Any]:
    """Check parsed framework data; an error names the entry and the field."""
    try:
        data: dict[str, Any] = FrameworkFile().load(raw)
    except ValidationError as exc:
        path, message = first_error(exc.messages, raw)
        raise InvalidInput(f"{source}: {path}: {message}", field=path) from None
    check_references(data, source)
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    data["sha256"] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return data


def _assign(obj: Any, **values: Any) -> bool:
    """Set attributes that differ; True when any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _upsert(session: Session, model: type, lookup: dict[str, Any]) -> tuple[Any, bool]:
    """The row matching ``lookup``, created (and flushed) when missing."""
    row = session.scalars(select(model).filter_by(**lookup)).one_or_none()
    if row is not None:
        return row, False
    row = model(**lookup)
    session.add(row)
    return row, True


Bilingual = dict[str, str] | None  # a text of the file in both languages (``zh_tw``, ``en``)


def _texts(prefix: str, text: Bilingual) -> dict[str, str]:
    """``{"zh-TW": a, "en": b}`` as model columns ``prefix_zh`` and ``prefix_en``."""
    text = text or {}
    return {f"{prefix}_zh": text.get("zh_tw", ""), f"{prefix}_en": text.get("en", "")}


def _keywords(entry: dict[str, Any]) -> dict[str, str]:
    """An entry's keywords as model columns, one a line."""
    words = entry["keywords"]
    return {"keywords_zh": "\n".join(words["zh_tw"]), "keywords_en": "\n".join(words["en"])}


def load_framework(session: Session, data: dict[str, Any], iri_base: str) -> LoadReport:
    """Create or update the framework from checked data; running it twice changes nothing.

    Rows are matched by their codes, so a changed file updates names and definitions in
    place and module tags that point at existing items are kept.
    """
    header = data["framework"]
    report = LoadReport(framework=header["id"])
    framework, created = _upsert(session, Framework, {"key": header["id"]})
    changed = _assign(
        framework,
        version=header["version"],
        **_texts("title", header["title"]),
        **_texts("source", header.get("source")),
        **_texts("targets_note", data["targets"]["note"]),
    )
    if created or changed or framework.content_sha256 != data["sha256"]:
        _assign(framework, content_sha256=data["sha256"])
    report.count("framework", created, changed)
    session.flush()

    items = _load_items(session, framework, data, report)
    _load_scales(session, framework, data, report)
    grades = _load_grades(session, framework, data, items, report)
    _load_classes(session, framework, data, items, grades, iri_base, report)
    session.flush()
    return report


def _load_items(
    session: Session, framework: Framework, data: dict[str, Any], report: LoadReport
) -> dict[str, Item]:
    items: dict[str, Item] = {}
    position = 0

    def load(entry: dict[str, Any], kind: str, parent: Item | None, description: Bilingual) -> None:
        nonlocal position
        position += 1
        item, created = _upsert(session, Item, {"framework_id": framework.id, "code": entry["id"]})
        changed = _assign(
            item,
            kind=kind,
            parent_id=parent.id if parent is not None else None,
            position=position,
            **_texts("name", entry["name"]),
            **_texts("description", description),
            **_keywords(entry),
        )
        report.count(kind, created, changed)
        items[entry["id"]] = item

    for entry in data["competencies"]:
        load(entry, "competency", None, entry["definition"])
    session.flush()  # the indicators below need their competencies' ids
    for entry in data["indicators"]:
        load(entry, entry["kind"], items[entry["competency"]], entry["description"])
    for entry in data["attitudes"]:
        load(entry, "attitude", None, entry["description"])
    session.flush()
    return items


def _load_scales(
    session: Session, framework: Framework, data: dict[str, Any], report: LoadReport
) -> None:
    mapping = {row["report_level"]: row for row in data["scale_mapping"]}
    for entry in data["scales"]:
        scale, created = _upsert(session, Scale, {"framework_id": framework.id, "key": entry["id"]})
        changed = _assign(scale, **_texts("name", entry["name"]))
        report.count("scale", created, changed)
        session.flush()
        for level_entry in entry["levels"]:
            level, created = _upsert(
                session, Level, {"scale_id": scale.id, "number": level_entry["number"]}
            )
            row = mapping.get(level_entry["number"]) if entry["id"] == REPORT_SCALE else None
            changed = _assign(
                level,
                band=level_entry["band"],
                **_texts("name", level_entry["name"]),
                **_texts("description", level_entry.get("description")),
                equivalent_min=min(row["digcomp_levels"]) if row else None,
                equivalent_max=max(row["digcomp_levels"]) if row else None,
                **_texts("equivalence_note", row.get("note") if row else None),
            )
            report.count("level", created, changed)


def _load_grades(
    session: Session,
    framework: Framework,
    data: dict[str, Any],
    items: dict[str, Item],
    report: LoadReport,
) -> dict[str, Grade]:
    grades: dict[str, Grade] = {}
    for position, entry in enumerate(data["grades"], start=1):
        grade, created = _upsert(session, Grade, {"framework_id": framework.id, "key": entry["id"]})
        changed = _assign(grade, position=position, **_texts("name", entry["name"]))
        report.count("grade", created, changed)
        grades[entry["id"]] = grade
    session.flush()
    for row in data["targets"]["grades"]:
        grade = grades[row["grade"]]
        for code, level in sorted(row["levels"].items()):
            target, created = _upsert(
                session, GradeTarget, {"grade_id": grade.id, "item_id": items[code].id}
            )
            changed = _assign(target, level=level)
            report.count("target", created, changed)
    return grades


def _load_classes(
    session: Session,
    framework: Framework,
    data: dict[str, Any],
    items: dict[str, Item],
    grades: dict[str, Grade],
    iri_base: str,
    report: LoadReport,
) -> None:
    targets = {
        (row["grade"], code): level
        for row in data["targets"]["grades"]
        for code, level in row["levels"].items()
    }
    for position, entry in enumerate(data["classes"], start=1):
        klass, created = _upsert(
            session, TrainingClass, {"framework_id": framework.id, "key": entry["id"]}
        )
        changed = _assign(
            klass,
            position=position,
            days=entry["days"],
            hours=entry["hours"],
            **_texts("name", entry["name"]),
            **_texts("audience", entry["audience"]),
            **_texts("goal", entry.get("goal")),
        )
        wanted_items = [items[code] for code in entry["competencies"]]
        wanted_grades = [grades[key] for key in entry["grades"]]
        if {i.id for i in klass.competencies} != {i.id for i in wanted_items}:
            klass.competencies = wanted_items
            changed = True
        if {g.id for g in klass.grades} != {g.id for g in wanted_grades}:
            klass.grades = wanted_grades
            changed = True
        report.count("class", created, changed)
        session.flush()
        for topic in entry["topics"]:
            _load_topic_module(
                session, framework, klass, entry, topic, items, targets, iri_base, report
            )


def _load_topic_module(
    session: Session,
    framework: Framework,
    klass: TrainingClass,
    class_entry: dict[str, Any],
    topic: dict[str, Any],
    items: dict[str, Item],
    targets: dict[tuple[str, str], int],
    iri_base: str,
    report: LoadReport,
) -> None:
    """A class topic as a demo-catalog module; tags are seeded once, then the designer's."""
    key = f"{framework.key}.{topic['id']}"
    module, created = _upsert(session, Module, {"key": key})
    if created:
        module.origin = SEED_ORIGIN
        module.activity_iri = f"{iri_base}{framework.key}/modules/{topic['id']}"
    changed = False
    if module.origin == SEED_ORIGIN:
        # Only a module no designer has edited follows the file; an edited one is theirs.
        changed = _assign(
            module,
            class_id=klass.id,
            hours=topic["hours"],
            **_texts("title", topic["title"]),
            **_texts("description", topic.get("description")),
        )
    report.count("module", created, changed)
    if created:
        session.flush()
        for code in topic["tags"]:
            level = seed_tag_level(code, items, class_entry, targets)
            session.add(ModuleTag(module_id=module.id, item_id=items[code].id, level=level))
            report.count("module_tag", True, False)
        # Demo content is written once, at creation; later loads leave designers' edits alone.
        entry = demo_entry(framework.key, topic["id"])
        if entry is not None:
            apply_content(module, entry)
            for _item in entry["check_items"]:
                report.count("check_item", True, False)


def seed_tag_level(
    code: str,
    items: dict[str, Item],
    class_entry: dict[str, Any],
    targets: dict[tuple[str, str], int],
) -> int:
    """The level a demo module teaches an item at: the lowest target among the class's grades.

    A class aims at the grades in its audience, so a topic serves the least demanding of them;
    attitudes take the lowest target over the class's competencies.
    """
    item = items[code]
    if item.kind == "competency":
        competencies = [code]
    elif item.parent is not None:
        competencies = [item.parent.code]
    else:
        competencies = list(class_entry["competencies"])
    levels = [
        targets[(grade, competency)]
        for grade in class_entry["grades"]
        for competency in competencies
        if (grade, competency) in targets
    ]
    return min(levels) if levels else 1


def get_framework(session: Session, key: str | None = None) -> Framework | None:
    """The framework with ``key``, or the first one loaded."""
    query = select(Framework).order_by(Framework.id)
    if key is not None:
        query = query.where(Framework.key == key)
    return session.scalars(query.limit(1)).first()


def count_items(session: Session, framework: Framework) -> dict[str, int]:
    """How many items of each kind the framework holds."""
    counts = dict.fromkeys(("competency", "knowledge", "skill", "attitude"), 0)
    for kind in session.scalars(select(Item.kind).where(Item.framework_id == framework.id)):
        counts[kind] += 1
    return counts


@dataclass
class ItemGroup:
    """Framework items grouped under their competency (attitudes under no competency)."""

    head: Item | None
    head_matches: bool = False
    items: list[Item] = field(default_factory=list)


def group_items(items: list[Item]) -> list[ItemGroup]:
    """Search results grouped under their competency, in framework order."""
    groups: dict[int | None, ItemGroup] = {}
    for item in items:
        if item.kind == "competency":
            group = groups.setdefault(item.id, ItemGroup(head=item))
            group.head_matches = True
        elif item.kind == "attitude":
            groups.setdefault(None, ItemGroup(head=None)).items.append(item)
        else:
            parent = item.parent
            key = parent.id if parent is not None else None
            groups.setdefault(key, ItemGroup(head=parent)).items.append(item)
    ordered = [group for key, group in groups.items() if key is not None]
    ordered.sort(key=lambda group: group.head.position if group.head else 0)
    if None in groups:
        ordered.append(groups[None])
    return ordered

"""Catalog coverage (the report's 盤點): which modules and hours each framework item gets.

Rules, in one place so the page, the CSV and the CLI agree:

- Only active module tags count (``retired_at`` is None); retired versions are history.
- An indicator or attitude row counts the modules and outside courses tagged to it.
- A competency row counts those tagged to the competency itself (*direct*) and those tagged to
  any of its indicators (*via indicators*); a module reached both ways is listed and counted
  once, with both facts kept on the row.
- A module's audience is the grades of its class (表 4's 研習對象); a module with no class, or
  whose class names no grade (a designer's own module), is for all grades. An outside course's
  audience is the grade keys it was imported with; an empty audience means all grades.
- Hours are each distinct module's or outside course's hours, counted once per row; the hours
  of a grade add those whose audience includes that grade. Totals include outside courses,
  which are also listed and summed separately.
- A row is covered when any module or outside course counts towards it.
- An organisation's coverage counts its own modules and the national catalog, never another
  organisation's; outside courses are shared by every organisation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from plugin.competencies.models import (
    Framework,
    Grade,
    Item,
    Module,
    ModuleTag,
    OutsideCourse,
    TrainingClass,
)
from plugin.competencies.modules import readable_by
from plugin.core.spreadsheet import csv_text, neutralise
from plugin.organisations.audience import Audience

T = TypeVar("T")  # what a coverage cell lists: a module or an outside course

INDICATOR_KINDS = ("knowledge", "skill")
# Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP
# "CSV injection"): titles come from designers and imported files.


class Counted(TypedDict):
    """How a row counts a module or an outside course: its hours, the grades it serves, and
    whether it is tagged to the item itself and/or via these indicators."""

    hours: float
    grades: tuple[str, ...]
    direct: bool
    via: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _Use:
    """The :class:`Counted` part of a module or course on a row."""

    hours: float
    grades: tuple[str, ...]
    direct: bool
    via: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ModuleUse(_Use):
    """A module counted on a row: tagged to the item itself and/or via these indicators."""

    key: str
    title_zh: str
    title_en: str


@dataclass(frozen=True, kw_only=True)
class CourseUse(_Use):
    """An outside course counted on a row: tagged to the item itself and/or via indicators."""

    code: str
    title: str


@dataclass(frozen=True)
class GradeRef:
    """A grade as a coverage column: its key and names."""

    key: str
    name_zh: str
    name_en: str


@dataclass
class CoverageRow:
    """One competency, indicator or attitude with what the catalog offers for it."""

    code: str
    kind: str
    parent: str
    name_zh: str
    name_en: str
    modules: list[ModuleUse] = field(default_factory=list)
    courses: list[CourseUse] = field(default_factory=list)
    module_hours: float = 0.0
    course_hours: float = 0.0
    hours_by_grade: dict[str, float] = field(default_factory=dict)

    @property
    def covered(self) -> bool:
        """True when any module or outside course counts towards this item."""
        return bool(self.modules or self.courses)

    @property
    def total_hours(self) -> float:
        """Module hours plus outside-course hours."""
        return round(self.module_hours + self.course_hours, 2)

    @property
    def direct_modules(self) -> list[ModuleUse]:
        """Modules tagged to this item itself."""
        return [use for use in self.modules if use.direct]

    @property
    def via_modules(self) -> list[ModuleUse]:
        """Modules that reach a competency only through one of its indicators."""
        return [use for use in self.modules if not use.direct]

    @property
    def is_indicator(self) -> bool:
        """True for knowledge and skill indicators."""
        return self.kind in INDICATOR_KINDS


@dataclass
class CompetencySummary:
    """How many of a competency's indicators the catalog covers."""

    code: str
    name_zh: str
    name_en: str
    indicators: int
    covered: int
    uncovered: list[str]
    hours: float

    @property
    def share(self) -> float:
        """Covered indicators over all indicators (0 when it has none)."""
        return self.covered / self.indicators if self.indicators else 0.0


@dataclass
class CoverageReport:
    """The coverage of one framework: rows in framework order and the summary."""

    framework_key: str
    grades: list[GradeRef]  # in framework order
    rows: list[CoverageRow]
    competencies: list[CompetencySummary]

    @property
    def uncovered(self) -> list[CoverageRow]:
        """Every row nothing covers, in framework order."""
        return [row for row in self.rows if not row.covered]

    @property
    def uncovered_indicators(self) -> list[CoverageRow]:
        """Indicators no module or outside course covers."""
        return [row for row in self.uncovered if row.is_indicator]

    @property
    def uncovered_attitudes(self) -> list[CoverageRow]:
        """Attitudes no module or outside course covers."""
        return [row for row in self.uncovered if row.kind == "attitude"]


def framework_order(framework: Framework) -> list[Item]:
    """Items in reading order: each competency then its indicators, then the attitudes."""
    items = sorted(framework.items, key=lambda item: (item.position, item.code))
    children: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        if item.parent_id is not None:
            children[item.parent_id].append(item)
    ordered: list[Item] = []
    for item in items:
        if item.kind == "competency":
            ordered.append(item)
            ordered.extend(children.get(item.id, []))
    placed = {item.id for item in ordered}
    # Attitudes, then anything else not placed under a competency, keep their own order.
    ordered.extend(item for item in items if item.id not in placed and item.kind == "attitude")
    placed = {item.id for item in ordered}
    ordered.extend(item for item in items if item.id not in placed)
    return ordered


def module_grades(module: Module, all_grades: tuple[str, ...]) -> tuple[str, ...]:
    """The grades a module is for: its class's, or all grades when it has none."""
    klass: TrainingClass | None = module.training_class
    keys = {grade.key for grade in klass.grades} if klass is not None else set()
    chosen = tuple(key for key in all_grades if key in keys)
    return chosen or all_grades


def course_grades(course: OutsideCourse, all_grades: tuple[str, ...]) -> tuple[str, ...]:
    """The grades an outside course is for: its audience, or all grades when empty."""
    keys = set(course.audience or ())
    chosen = tuple(key for key in all_grades if key in keys)
    return chosen or all_grades


def compute_coverage(session: Session, framework: Framework, audience: Audience) -> CoverageReport:
    """The coverage of ``framework`` by the modules ``audience`` reads and the imported outside
    courses."""
    grades = list(
        session.scalars(
            select(Grade).where(Grade.framework_id == framework.id).order_by(Grade.position)
        )
    )
    grade_keys = tuple(grade.key for grade in grades)
    items = framework_order(framework)
    by_id = {item.id: item for item in items}

    # item id -> module id -> (module, tagged directly?) ; parents collect their indicators.
    module_hits: dict[int, dict[int, tuple[Module, set[str]]]] = defaultdict(dict)
    tags = session.scalars(
        select(ModuleTag)
        .join(Item, ModuleTag.item_id == Item.id)
        .join(Module, ModuleTag.module_id == Module.id)
        .where(
            Item.framework_id == framework.id,
            ModuleTag.retired_at.is_(None),
            readable_by(audience),
        )
        .options(
            selectinload(ModuleTag.module)
            .selectinload(Module.training_class)
            .selectinload(TrainingClass.grades)
        )
    )
    for tag in tags:
        item = by_id.get(tag.item_id)
        if item is None:
            continue
        _hit(module_hits, item.id, tag.module.id, tag.module, "")
        if item.parent_id is not None and item.parent_id in by_id:
            _hit(module_hits, item.parent_id, tag.module.id, tag.module, item.code)

    course_hits: dict[int, dict[int, tuple[OutsideCourse, set[str]]]] = defaultdict(dict)
    courses = session.scalars(
        select(OutsideCourse)
        .where(OutsideCourse.items.any(Item.framework_id == framework.id))
        .options(selectinload(OutsideCourse.items))
    )
    for course in courses:
        for item in course.items:
            if item.id not in by_id:
                continue
            _hit(course_hits, item.id, course.id, course, "")
            if item.parent_id is not None and item.parent_id in by_id:
                _hit(course_hits, item.parent_id, course.id, course, item.code)

    rows = [
        _row(item, by_id, module_hits[item.id], course_hits[item.id], grade_keys) for item in items
    ]
    return CoverageReport(
        framework_key=framework.key,
        grades=[GradeRef(grade.key, grade.name_zh, grade.name_en) for grade in grades],
        rows=rows,
        competencies=_summaries(rows),
    )


def _hit(
    hits: dict[int, dict[int, tuple[T, set[str]]]], item_id: int, key: int, thing: T, via: str
) -> None:
    """Record that ``thing`` counts on ``item_id``: directly (via "") or via an indicator."""
    entry = hits[item_id].setdefault(key, (thing, set()))
    entry[1].add(via)


def _counted(hours: float | None, grades: tuple[str, ...], ways: set[str]) -> Counted:
    """How a row counts a thing reached these ``ways`` ("" for the item itself, else the
    indicators' codes)."""
    return Counted(
        hours=float(hours or 0.0),
        grades=grades,
        direct="" in ways,
        via=tuple(sorted(way for way in ways if way)),
    )


def _row(
    item: Item,
    by_id: dict[int, Item],
    modules: dict[int, tuple[Module, set[str]]],
    courses: dict[int, tuple[OutsideCourse, set[str]]],
    grade_keys: tuple[str, ...],
) -> CoverageRow:
    parent = by_id.get(item.parent_id) if item.parent_id is not None else None
    row = CoverageRow(
        code=item.code,
        kind=item.kind,
        parent=parent.code if parent is not None else "",
        name_zh=item.name_zh,
        name_en=item.name_en,
        hours_by_grade=dict.fromkeys(grade_keys, 0.0),
    )
    for module, ways in modules.values():
        row.modules.append(
            ModuleUse(
                key=module.key,
                title_zh=module.title_zh,
                title_en=module.title_en,
                **_counted(module.hours, module_grades(module, grade_keys), ways),
            )
        )
    for course, ways in courses.values():
        row.courses.append(
            CourseUse(
                code=course.code,
                title=course.title,
                **_counted(course.hours, course_grades(course, grade_keys), ways),
            )
        )
    row.modules.sort(key=lambda use: use.key)
    row.courses.sort(key=lambda use: use.code)
    # Sum in the sorted order so the floating-point result never depends on query order.
    row.module_hours = round(sum(use.hours for use in row.modules), 2)
    row.course_hours = round(sum(use.hours for use in row.courses), 2)
    for key in grade_keys:
        hours = sum(use.hours for use in row.modules if key in use.grades)
        hours += sum(use.hours for use in row.courses if key in use.grades)
        row.hours_by_grade[key] = round(hours, 2)
    return row


def _summaries(rows: list[CoverageRow]) -> list[CompetencySummary]:
    summaries: list[CompetencySummary] = []
    for row in rows:
        if row.kind != "competency":
            continue
        indicators = [r for r in rows if r.parent == row.code and r.is_indicator]
        summaries.append(
            CompetencySummary(
                code=row.code,
                name_zh=row.name_zh,
                name_en=row.name_en,
                indicators=len(indicators),
                covered=sum(1 for r in indicators if r.covered),
                uncovered=[r.code for r in indicators if not r.covered],
                hours=row.total_hours,
            )
        )
    return summaries


def format_hours(value: float) -> str:
    """Hours without a needless ``.0``: ``12``, ``1.5``."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def csv_columns(report: CoverageReport) -> list[str]:
    """The coverage CSV's column names: fixed ones, then ``hours_<grade key>`` per grade."""
    return [
        "code",
        "kind",
        "competency",
        "name_zh",
        "name_en",
        "covered",
        "module_count",
        "modules_direct",
        "modules_via_indicators",
        "module_keys",
        "module_titles_zh",
        "module_titles_en",
        "module_hours",
        "outside_course_count",
        "outside_course_codes",
        "outside_course_titles",
        "outside_course_hours",
        "total_hours",
        *(f"hours_{grade.key}" for grade in report.grades),
    ]


def csv_rows(report: CoverageReport) -> list[dict[str, str]]:
    """The coverage as CSV-ready rows (one per item, framework order, all values text)."""
    rows: list[dict[str, str]] = []
    for row in report.rows:
        values = {
            "code": row.code,
            "kind": row.kind,
            "competency": row.parent or (row.code if row.kind == "competency" else ""),
            "name_zh": row.name_zh,
            "name_en": row.name_en,
            "covered": "yes" if row.covered else "no",
            "module_count": str(len(row.modules)),
            "modules_direct": str(len(row.direct_modules)),
            "modules_via_indicators": str(len(row.via_modules)),
            "module_keys": ";".join(use.key for use in row.modules),
            "module_titles_zh": "; ".join(use.title_zh for use in row.modules),
            "module_titles_en": "; ".join(use.title_en for use in row.modules),
            "module_hours": format_hours(row.module_hours),
            "outside_course_count": str(len(row.courses)),
            "outside_course_codes": ";".join(use.code for use in row.courses),
            "outside_course_titles": "; ".join(use.title for use in row.courses),
            "outside_course_hours": format_hours(row.course_hours),
            "total_hours": format_hours(row.total_hours),
        }
        for grade in report.grades:
            values[f"hours_{grade.key}"] = format_hours(row.hours_by_grade[grade.key])
        rows.append({name: neutralise(value) for name, value in values.items()})
    return rows


def coverage_csv(report: CoverageReport) -> str:
    """The coverage as CSV text (RFC 4180 line ends; the caller adds a BOM for Excel)."""
    columns = csv_columns(report)
    return csv_text(columns, ([row[name] for name in columns] for row in csv_rows(report)))

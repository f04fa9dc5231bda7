"""Importing outside courses (e.g. e等公務園 courses that never launch here) from CSV.

The file's header is exactly ``code,title,hours,audience,tags``; it is UTF-8 (with or without
a byte-order mark) or Big5 (cp950), delimited by ``,``, ``;`` or tab (``CsvFile``).
``audience`` lists grade keys or their zh-TW names (委任/薦任/簡任/主管) separated by ``;``
(empty = all grades); ``tags`` lists item codes separated by ``;`` (in a ``;``-delimited
file such a cell is quoted, as Excel does).
Every row is checked before anything is written, so a bad file changes nothing. Rows are
matched to stored courses by ``code``: importing the same file twice changes nothing, and a
course missing from a later file is kept.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from plugin.competencies.models import Framework, Grade, Item, OutsideCourse
from plugin.core.csv_reader import UTF8, CsvFault, CsvFile
from plugin.core.db import utcnow
from plugin.core.errors import N_, FileInvalid, InvalidInput
from plugin.core.numbers import is_ascii_decimal
from plugin.core.spreadsheet import starts_formula

HEADER = ("code", "title", "hours", "audience", "tags")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_CODE_LENGTH = 100  # the column's width
MAX_TITLE_LENGTH = 1000
MAX_HOURS = 1000.0
MAX_SOURCE_LENGTH = 100
MAX_PROBLEMS = 50  # enough to fix a file in one pass without an endless page
# Separators inside a cell: ";" as documented, and its full-width form a zh-TW keyboard types.
SEPARATORS = (";", "；")


@dataclass(frozen=True)
class Problem:
    """One reason a file was refused: the line (1 = header), the column at fault, and why —
    in English (``message``) and as a translatable ``template`` with its ``params``."""

    line: int
    field: str
    message: str
    template: str = ""
    params: dict[str, object] = dataclasses.field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, line: int, column: str, template: str, **params: object) -> Problem:
        """A problem whose reason is ``template`` (marked with N_) filled with ``params``."""
        message = template % params if params else template
        return cls(line, column, message, template, params)

    def __str__(self) -> str:
        if not self.line:  # a fault of the whole file (size, encoding), not of one line
            return f"{self.field}: {self.message}"
        return f"line {self.line}, field {self.field}: {self.message}"


class CourseFileInvalid(FileInvalid):
    """An outside-course file was refused; ``problems`` lists every fault found."""

    code = "outside_courses_invalid"
    problems: list[Problem]

    def __init__(self, problems: list[Problem]):
        first = problems[0]
        super().__init__(
            problems, field=f"line {first.line}: {first.field}" if first.line else first.field
        )


@dataclass(frozen=True)
class CourseRow:
    """One checked row of the file."""

    line: int
    code: str
    title: str
    hours: float
    audience: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass
class ImportReport:
    """What an import did, by course code."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    encoding: str = UTF8  # what the file was read as (UTF8 or BIG5)

    @property
    def changed(self) -> bool:
        """True when anything was created or updated."""
        return bool(self.created or self.updated)


def _split(cell: str) -> list[str]:
    for separator in SEPARATORS[1:]:
        cell = cell.replace(separator, SEPARATORS[0])
    return [part.strip() for part in cell.split(SEPARATORS[0]) if part.strip()]


def _check_header(line: int, header: list[str]) -> None:
    found = [cell.strip() for cell in header]
    if tuple(found) == HEADER:
        return
    expected = ",".join(HEADER)
    missing = [name for name in HEADER if name not in found]
    unexpected = [name for name in found if name not in HEADER]
    params = {
        "expected": expected,
        "missing": ", ".join(missing),
        "unexpected": ", ".join(repr(name) for name in unexpected),
        "found": ",".join(found),
    }
    if missing and unexpected:
        template = N_(
            "must be exactly %(expected)s (missing %(missing)s; unexpected %(unexpected)s)"
        )
    elif missing:
        template = N_("must be exactly %(expected)s (missing %(missing)s)")
    elif unexpected:
        template = N_("must be exactly %(expected)s (unexpected %(unexpected)s)")
    else:
        template = N_("must be exactly %(expected)s (columns in another order: %(found)s)")
    problem = Problem.of(line, "header", template, **params)
    raise CourseFileInvalid([problem])


def _check_code(code: str, fail: Callable[..., None]) -> None:
    if not code:
        fail("code", N_("required"))
    elif len(code) > MAX_CODE_LENGTH:
        fail("code", N_("at most %(n)s characters"), n=MAX_CODE_LENGTH)
    elif any(not ch.isprintable() for ch in code):
        fail("code", N_("must not contain control characters"))
    elif starts_formula(code):
        # The code is an identifier that coverage exports write into spreadsheet cells.
        fail("code", N_("must not start with =, +, -, @ (a spreadsheet would run it as a formula)"))


def _check_title(title: str, fail: Callable[..., None]) -> None:
    if not title:
        fail("title", N_("required"))
    elif len(title) > MAX_TITLE_LENGTH:
        fail("title", N_("at most %(n)s characters"), n=MAX_TITLE_LENGTH)
    elif "\x00" in title:  # PostgreSQL text cannot hold it
        fail("title", N_("must not contain NUL characters"))


class _RowChecker:
    """Checks rows against the framework's grades and item codes."""

    def __init__(self, session: Session, framework: Framework):
        grades = list(
            session.scalars(
                select(Grade).where(Grade.framework_id == framework.id).order_by(Grade.position)
            )
        )
        self.grade_order = [grade.key for grade in grades]
        self.grades: dict[str, str] = {}
        for grade in grades:
            self.grades[grade.key.lower()] = grade.key
            self.grades[grade.name_zh.strip()] = grade.key
        self.grade_help = ", ".join(
            [grade.key for grade in grades] + [grade.name_zh for grade in grades]
        )
        self.items = {
            code.upper(): code
            for code in session.scalars(select(Item.code).where(Item.framework_id == framework.id))
        }

    def check(self, line: int, cells: list[str], problems: list[Problem]) -> CourseRow | None:
        """The checked row (as wide as HEADER: the reader sees to it), or None after adding
        its problems to ``problems``."""
        raw = dict(zip(HEADER, (cell.strip() for cell in cells), strict=True))
        before = len(problems)

        def fail(column: str, template: str, **params: object) -> None:
            problems.append(Problem.of(line, column, template, **params))

        code = raw["code"]
        _check_code(code, fail)
        title = raw["title"]
        _check_title(title, fail)
        hours = self._hours(raw["hours"], fail)
        audience = self._audience(raw["audience"], fail)
        tags = self._tags(raw["tags"], fail)
        if len(problems) > before or hours is None:
            return None
        return CourseRow(
            line=line,
            code=code,
            title=title,
            hours=hours,
            audience=tuple(key for key in self.grade_order if key in audience),
            tags=tuple(sorted(tags)),
        )

    def _audience(self, text: str, fail: Callable[..., None]) -> list[str]:
        """The grade keys a cell names (by key or Chinese name), each once."""
        audience: list[str] = []
        for name in _split(text):
            key = self.grades.get(name) or self.grades.get(name.lower())
            if key is None:
                fail(
                    "audience",
                    N_("unknown grade %(name)r (use %(grades)s)"),
                    name=name,
                    grades=self.grade_help,
                )
            elif key not in audience:
                audience.append(key)
        return audience

    def _tags(self, text: str, fail: Callable[..., None]) -> list[str]:
        """The item codes a cell names (any case), each once; at least one is required."""
        tags: list[str] = []
        for name in _split(text):
            code_found = self.items.get(name.upper())
            if code_found is None:
                fail("tags", N_("unknown competency ID %(name)r"), name=name)
            elif code_found not in tags:
                tags.append(code_found)
        if not _split(text):
            fail("tags", N_("at least one competency ID is required (e.g. DC1-K1;AT4)"))
        return tags

    @staticmethod
    def _hours(text: str, fail: Callable[..., None]) -> float | None:
        try:
            hours = float(text) if is_ascii_decimal(text.strip()) else math.nan
        except ValueError:
            hours = math.nan
        if not math.isfinite(hours) or hours <= 0 or hours > MAX_HOURS:
            fail("hours", N_("must be a number > 0 and at most %(max)s"), max=f"{MAX_HOURS:g}")
            return None
        return hours


def template_csv(framework: Framework) -> str:
    """A file to fill in: the header and one example row that imports as it is (UTF-8 text;
    the caller adds the byte-order mark Excel needs to read it as UTF-8)."""
    grades = [grade.name_zh for grade in framework.grades[:2]]
    tags = [item.code for item in framework.items if item.parent_id is not None][:2]
    if not tags:  # a framework without indicators: any item code is a valid tag
        tags = [item.code for item in framework.items[:1]]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # what Excel writes
    writer.writerow(HEADER)
    writer.writerow(
        ["EX-001", "範例課程：數位倫理與個資保護", "2", ";".join(grades), ";".join(tags)]
    )
    return out.getvalue()


def read_outside_courses(
    session: Session, framework: Framework, data: bytes
) -> tuple[list[CourseRow], str]:
    """Every row of the file, checked, and the encoding it was read in;
    :class:`CourseFileInvalid` lists the faults found.

    A fault of the file's form (size, encoding, CSV, width, row count) stops the reading and
    is the only one named; faults of the cells are all collected, up to MAX_PROBLEMS."""
    try:
        table = CsvFile(data, headers=(HEADER,), max_bytes=MAX_BYTES, strict=True)
        if table.header is None:
            empty = N_("the file is empty: the first line must be %(header)s")
            raise CourseFileInvalid([Problem.of(1, "header", empty, header=",".join(HEADER))])
        _check_header(table.header.line, table.header.cells)
        records = list(table.rows(max_rows=MAX_ROWS))  # every fault of form first
    except CsvFault as fault:
        problem = Problem(fault.line, fault.field, fault.message, fault.template, fault.params)
        raise CourseFileInvalid([problem]) from None
    checker = _RowChecker(session, framework)
    problems: list[Problem] = []
    rows: list[CourseRow] = []
    first_line: dict[str, int] = {}
    for record in records:
        line, cells = record.line, record.cells
        row = checker.check(line, cells, problems)
        # Duplicates are found on the raw code, so a bad first copy still names its twin.
        code = cells[0].strip()
        if code and code in first_line:
            problems.append(
                Problem.of(
                    line,
                    "code",
                    N_("duplicate code %(code)r (first on line %(first)s)"),
                    code=code,
                    first=first_line[code],
                )
            )
        elif code:
            first_line[code] = line
            if row is not None:
                rows.append(row)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise CourseFileInvalid(problems)
    if not rows:
        raise CourseFileInvalid([Problem.of(2, "row", N_("the file has a header but no courses"))])
    return rows, table.encoding


def import_outside_courses(
    session: Session, framework: Framework, data: bytes, source: str = ""
) -> ImportReport:
    """Check the whole file, then create or update courses by code; flushes, never commits.

    ``source`` (e.g. ``e等公務園``) is stored on created courses and, when given, on updated
    ones; an empty ``source`` leaves a stored course's source as it is.
    """
    source = source.strip()
    if len(source) > MAX_SOURCE_LENGTH:
        raise InvalidInput(f"source: at most {MAX_SOURCE_LENGTH} characters", field="source")
    if "\x00" in source:  # PostgreSQL text cannot hold it
        raise InvalidInput("source: must not contain NUL characters", field="source")
    rows, encoding = read_outside_courses(session, framework, data)
    items = {
        item.code: item
        for item in session.scalars(select(Item).where(Item.framework_id == framework.id))
    }
    stored = {
        course.code: course
        for course in session.scalars(
            select(OutsideCourse)
            .where(OutsideCourse.code.in_([row.code for row in rows]))
            .options(selectinload(OutsideCourse.items))
        )
    }
    report = ImportReport(encoding=encoding)
    now = utcnow()
    for row in rows:
        wanted_items = [items[code] for code in row.tags]
        course = stored.get(row.code)
        if course is None:
            session.add(
                OutsideCourse(
                    code=row.code,
                    title=row.title,
                    hours=row.hours,
                    audience=list(row.audience),
                    source=source,
                    imported_at=now,
                    items=wanted_items,
                )
            )
            report.created.append(row.code)
            continue
        changed = False
        for name, value in (
            ("title", row.title),
            ("hours", row.hours),
            ("audience", list(row.audience)),
        ):
            if getattr(course, name) != value:
                setattr(course, name, value)
                changed = True
        if source and course.source != source:
            course.source = source
            changed = True
        if {item.id for item in course.items} != {item.id for item in wanted_items}:
            course.items = wanted_items
            changed = True
        if changed:
            course.imported_at = now
            report.updated.append(row.code)
        else:
            report.unchanged.append(row.code)
    session.flush()
    return report

"""Evidence from CSV files: raw evidence rows, and completion records of other platforms.

Two formats, told apart by the header (UTF-8 with or without a byte-order mark, or Big5 as
cp950; delimited by ``,``, ``;`` or tab: ``plugin.core.csv_reader``):

- raw evidence: ``person_issuer,person_sub,item_id,level,score,success,observed_at,source_id``
  — score in [0, 1] or empty (then success true counts 1.0, false 0.0); source_id empty
  means an id made from the row's content;
- completion records (e等公務園 and the like):
  ``person_issuer,person_sub,course_code,completed_at,hours,score,passed`` — the course code
  is a catalog module's key (its active tags give items and levels) or an outside course's
  code (its items, at level 1); score 0–100 or empty (then passed true/empty counts 1.0,
  passed false 0.0).

Every row is checked before anything is written: a bad file changes nothing and each
problem names its line. Row ids are uuid5s of the row's identity, so importing the same file
twice changes nothing; a source id names one observation, so two rows may share one only
when they say the same, and a later file may not give another person's source id.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Module, OutsideCourse
from plugin.competencies.modules import report_scale_levels
from plugin.core.csv_reader import UTF8, CsvFault, CsvFile
from plugin.core.errors import FileInvalid, InvalidInput
from plugin.core.numbers import is_ascii_decimal
from plugin.rollup.changes import ID_NAMESPACE
from plugin.rollup.engine import RollupConfig
from plugin.rollup.evidence import EvidenceInput, Observed, RecordingReport, record_evidence
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Evidence

RAW_HEADER = (
    "person_issuer", "person_sub", "item_id", "level", "score", "success", "observed_at",
    "source_id",
)  # fmt: skip
COMPLETION_HEADER = (
    "person_issuer", "person_sub", "course_code", "completed_at", "hours", "score", "passed",
)  # fmt: skip
MAX_BYTES = 20 * 1024 * 1024
MAX_PROBLEMS = 50
# Widths of rollup_identities.issuer / .sub, rollup_learners.link_key, rollup_evidence.source_id.
CELL_LIMITS = {"person_issuer": 500, "person_sub": 255, "link_key": 255, "source_id": 255}
TRUE = ("true", "1", "yes", "y", "是", "通過")
FALSE = ("false", "0", "no", "n", "否", "未通過")


class EvidenceFileInvalid(FileInvalid):
    """An evidence file was refused; ``problems`` lists every fault, by line."""

    code = "evidence_file_invalid"
    problems: list[str]

    def __init__(self, problems: list[str]):
        super().__init__(problems, field="file")


@dataclass(frozen=True, kw_only=True)
class Observation(Observed):
    """One checked row: its line, the evidence, and its row id."""

    line: int
    source_id: str
    object_code: str = ""  # the course code of a completion record
    object_title: str = ""


@dataclass
class ImportReport(RecordingReport[Observation]):
    """What an import did: its rows, the rows new to the database, the level changes."""

    rows: int = 0
    observations: list[Observation] = field(default_factory=list)
    encoding: str = UTF8  # what the file was read as (UTF8 or BIG5)


def cell_problem(name: str, value: str) -> str | None:
    """Why column ``name`` cannot hold ``value``: too long, a NUL (PostgreSQL refuses it), or
    an issuer that is no http(s) URL (it becomes the xAPI actor's account homePage)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if len(value) > CELL_LIMITS[name]:
        return f"longer than {CELL_LIMITS[name]} characters"
    if name == "person_issuer":
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return f"must be the platform's issuer URL (e.g. https://lms.example.edu): {value!r}"
    return None


def _flag(value: str) -> bool | None:
    text = value.strip().lower()
    if not text:
        return None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError("must be true or false (or empty)")


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"needs a time zone (e.g. 2026-11-27T10:00:00+08:00): {value!r}")
    try:
        moment.astimezone(UTC)  # it is stored in UTC, where 0001-01-01T00:00+08:00 has no form
    except OverflowError:
        raise ValueError(f"out of range in UTC: {value!r}") from None
    return moment


def _number(value: str, low: float, high: float) -> float:
    if not is_ascii_decimal(value.strip()):
        raise ValueError(f"not a number written with the digits 0-9: {value!r}")
    number = float(value)
    if math.isnan(number) or not low <= number <= high:
        raise ValueError(f"must be from {low:g} to {high:g}, got {value!r}")
    return number


class _Reader:
    def __init__(self, session: Session, framework: Framework) -> None:
        self.codes = {item.code for item in framework.items}
        self.scale_levels = report_scale_levels(session, framework) or 3
        self.modules = {m.key: m for m in session.scalars(select(Module))}
        self.outside = {c.code: c for c in session.scalars(select(OutsideCourse))}
        self.framework = framework

    def raw(self, cells: dict[str, str], line: int) -> Observation:
        column = "item_id"
        try:
            item = cells["item_id"].strip()
            if item not in self.codes:
                raise ValueError(f"unknown item {item!r}")
            column = "level"
            level = int(_number(cells["level"], 1, self.scale_levels))
            if str(level) != cells["level"].strip():
                raise ValueError(f"must be a whole number, got {cells['level']!r}")
            column = "success"
            success = _flag(cells["success"])
            column = "score"
            if cells["score"].strip():
                score = _number(cells["score"], 0, 1)
            elif success is None:
                raise ValueError("give a score, a success, or both")
            else:
                score = 1.0 if success else 0.0
            column = "observed_at"
            observed_at = _moment(cells["observed_at"])
        except ValueError as exc:
            raise _RowError(column, str(exc)) from None
        source_id = cells["source_id"].strip() or str(
            uuid.uuid5(ID_NAMESPACE, "raw|" + "|".join(cells[name] for name in RAW_HEADER[:7]))
        )
        problem = cell_problem("source_id", source_id)
        if problem:
            raise _RowError("source_id", problem)
        return Observation(
            line=line, issuer=cells["person_issuer"].strip(), sub=cells["person_sub"].strip(),
            items=((item, level),), score=score, success=success, observed_at=observed_at,
            source_id=source_id,
        )  # fmt: skip

    def completion(self, cells: dict[str, str], line: int) -> Observation:
        column = "course_code"
        try:
            code = cells["course_code"].strip()
            items = self._course_items(code)
            column = "completed_at"
            observed_at = _moment(cells["completed_at"])
            column = "hours"
            if cells["hours"].strip():
                _number(cells["hours"], 0, 1000)
            column = "passed"
            passed = _flag(cells["passed"])
            column = "score"
            if cells["score"].strip():
                score = _number(cells["score"], 0, 100) / 100
            else:
                score = 0.0 if passed is False else 1.0
        except ValueError as exc:
            raise _RowError(column, str(exc)) from None
        issuer, sub = cells["person_issuer"].strip(), cells["person_sub"].strip()
        # The same person completing the same course at the same time is the same record.
        source_id = str(uuid.uuid5(ID_NAMESPACE, f"completion|{issuer}|{sub}|{code}|"
                                                 f"{observed_at.isoformat()}"))  # fmt: skip
        title = self.modules[code].title_zh if code in self.modules else self.outside[code].title
        return Observation(
            line=line, issuer=issuer, sub=sub, items=items, score=score, success=passed,
            observed_at=observed_at, source_id=source_id, object_code=code, object_title=title,
        )  # fmt: skip

    def _course_items(self, code: str) -> tuple[tuple[str, int], ...]:
        if code in self.modules:
            tags = self.modules[code].active_tags
            items = tuple((tag.item.code, tag.level) for tag in tags)
        elif code in self.outside:
            # Outside courses claim items without a level: they count at the first level.
            items = tuple((item.code, 1) for item in self.outside[code].items)
        else:
            raise ValueError(f"no module or outside course has the code {code!r}")
        if not items:
            raise ValueError(f"course {code!r} has no competency tags")
        return items


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def read_evidence_file(
    session: Session, framework: Framework, data: bytes
) -> tuple[list[Observation], str]:
    """Check every row of a raw-evidence or completion-record file; all problems by line.
    The observations and the encoding the file was read in.

    Faults of the cells are collected, up to MAX_PROBLEMS; the first fault of the file's form
    (size, encoding, CSV, a row of another width) is named too and stops the reading."""
    try:
        table = CsvFile(data, headers=(RAW_HEADER, COMPLETION_HEADER), max_bytes=MAX_BYTES)
        if table.header is None:
            raise EvidenceFileInvalid(["line 1, header: the file is empty"])
        header = table.columns
        if header not in (RAW_HEADER, COMPLETION_HEADER):
            raise EvidenceFileInvalid(
                [
                    f"line {table.header.line}, header: must be {','.join(RAW_HEADER)} (raw "
                    f"evidence) or {','.join(COMPLETION_HEADER)} (completion records)"
                ]
            )
    except CsvFault as fault:
        raise EvidenceFileInvalid([str(fault)]) from None
    checker = _Reader(session, framework)
    parse = checker.raw if header == RAW_HEADER else checker.completion
    observations: list[Observation] = []
    first: dict[str, Observation] = {}  # the first row of each source id
    problems: list[str] = []
    records = table.rows()
    while len(problems) < MAX_PROBLEMS:
        try:
            record = next(records, None)
        except CsvFault as fault:  # the file's form: the reading stops here
            problems.append(str(fault))
            break
        if record is None:
            break
        line = record.line
        row = dict(zip(header, record.cells, strict=True))
        if not row["person_issuer"].strip() or not row["person_sub"].strip():
            name = "person_issuer" if not row["person_issuer"].strip() else "person_sub"
            problems.append(f"line {line}, field {name}: must not be empty")
            continue
        faults = [
            (name, problem)
            for name in ("person_issuer", "person_sub")
            if (problem := cell_problem(name, row[name].strip()))
        ]
        if faults:
            problems.append(f"line {line}, field {faults[0][0]}: {faults[0][1]}")
            continue
        try:
            observation = parse(row, line)
        except _RowError as exc:
            problems.append(f"line {line}, field {exc.column}: {exc.message}")
        else:
            twin = first.setdefault(observation.source_id, observation)
            if dataclasses.replace(twin, line=line) != observation:
                problems.append(
                    f"line {line}, field source_id: {observation.source_id!r} is on line "
                    f"{twin.line} too, for another observation"
                )
            observations.append(observation)
    if problems:
        raise EvidenceFileInvalid(problems)
    return observations, table.encoding


def import_evidence(
    session: Session, framework: Framework, config: RollupConfig, data: bytes
) -> ImportReport:
    """Check the whole file, then record its evidence and roll it up (all or nothing: the
    caller's transaction holds every row)."""
    observations, encoding = read_evidence_file(session, framework, data)
    report = ImportReport(rows=len(observations), observations=observations, encoding=encoding)
    sources = {o.source_id for o in observations}
    # Whose each source id already is: it names one observation, restated once (its
    # statement id derives from it, so a second statement would reuse that id).
    holders: dict[str, set[int]] = {}
    for source_id, learner_id in session.execute(
        select(Evidence.source_id, Evidence.learner_id).where(Evidence.source_id.in_(sources))
    ):
        holders.setdefault(source_id, set()).add(learner_id)
    for observation in observations:
        learner = learner_for(session, observation.issuer, observation.sub)
        held = holders.setdefault(observation.source_id, set())
        if held and learner.id not in held:
            raise EvidenceFileInvalid(
                [f"line {observation.line}, field source_id: {observation.source_id!r} already "
                 "names evidence of another person"]
            )  # fmt: skip
        if not held:
            report.new.append(observation)
        held.add(learner.id)
        rows = [
            EvidenceInput(item_id=code, level=level, score=observation.score,
                          observed_at=observation.observed_at, source_kind="import",
                          source_id=observation.source_id, module_key=observation.object_code)
            for code, level in observation.items
        ]  # fmt: skip
        try:
            report.changes += record_evidence(session, learner, rows, framework, config)
        except InvalidInput as exc:
            raise EvidenceFileInvalid([f"line {observation.line}: {exc.message}"]) from None
    return report

"""Personnel data from CSV: ``person_issuer,person_sub,link_key,grade`` (UTF-8 with or without
a byte-order mark, or Big5 as cp950; delimited by ``,``, ``;`` or tab).

Each row names a person by an LTI identity and may give the key that links their identities
(e.g. the employee number) and their grade. Rows are applied in order and the first fault
stops the import, naming its line and field; the caller's transaction holds every row, so a
refused file changes nothing. A CSV grade outranks a launch's, an administrator's outranks
both (``set_grade``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from plugin.competencies.models import Framework
from plugin.core.csv_reader import CsvFault, CsvFile, CsvRecord
from plugin.core.errors import InvalidInput, PluginError
from plugin.rollup.changes import AttainmentChange
from plugin.rollup.engine import RollupConfig
from plugin.rollup.imports import cell_problem
from plugin.rollup.learners import learner_for, link_learner, set_grade

PERSON_HEADER = ("person_issuer", "person_sub", "link_key", "grade")


class PersonFileInvalid(InvalidInput):
    """A personnel file was refused at its first fault; the message names the line."""

    code = "person_file_invalid"


@dataclass(frozen=True)
class PeopleImported:
    """What a personnel import did: its rows, and the encoding the file was read in."""

    rows: int
    encoding: str


def import_people(
    session: Session,
    framework: Framework,
    config: RollupConfig,
    data: bytes,
    on_changes: Callable[[list[AttainmentChange]], object],
) -> PeopleImported:
    """Link and grade the person of each row; the rows imported. ``on_changes`` gets the
    level changes of each link as it happens (the caller states them)."""
    try:
        table = CsvFile(data, headers=(PERSON_HEADER,))
        if table.columns != PERSON_HEADER:
            line = table.header.line if table.header else 1
            raise PersonFileInvalid(
                f"line {line}: header must be {','.join(PERSON_HEADER)}", field="header"
            )
        rows = _apply_rows(session, framework, config, table.rows(), on_changes)
        return PeopleImported(rows, table.encoding)
    except CsvFault as fault:
        raise PersonFileInvalid(str(fault), field=fault.field) from None


def _apply_rows(
    session: Session,
    framework: Framework,
    config: RollupConfig,
    records: Iterator[CsvRecord],
    on_changes: Callable[[list[AttainmentChange]], object],
) -> int:
    count = 0
    for record in records:
        line = record.line
        issuer, sub, link_key, grade = (cell.strip() for cell in record.cells)
        for name, value in zip(PERSON_HEADER[:3], (issuer, sub, link_key), strict=True):
            if problem := cell_problem(name, value):
                raise PersonFileInvalid(f"line {line}, field {name}: {problem}", field=name)
        try:
            learner = learner_for(session, issuer, sub)
            if link_key:
                learner, changes = link_learner(
                    session, learner, link_key, framework, config, linked_by="csv"
                )
                on_changes(changes)
            if grade:
                set_grade(session, learner, framework, grade, "csv")
        except PluginError as exc:
            raise PersonFileInvalid(
                f"line {line}, field {exc.field}: {exc.message}", field=exc.field
            ) from None
        count += 1
    return count

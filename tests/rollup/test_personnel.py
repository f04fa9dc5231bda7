"""Personnel CSV import: stops at the first fault, naming line and field; all or nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from flask import Flask

from plugin.competencies.framework import get_framework
from plugin.rollup.changes import AttainmentChange
from plugin.rollup.engine import RollupConfig
from plugin.rollup.models import Learner
from plugin.rollup.personnel import PersonFileInvalid, import_people

ISS = "https://lms.example"
HEADER = "person_issuer,person_sub,link_key,grade\n"
FIELD_LIMIT = csv.field_size_limit()


def refusal(app: Flask, text: str) -> PersonFileInvalid:
    """Import ``text`` in one transaction, expecting a refusal; nothing may be stored."""
    changes: list[list[AttainmentChange]] = []
    with pytest.raises(PersonFileInvalid) as caught:  # noqa: SIM117 (the scope must raise)
        with app.extensions["plugin.db"].session_scope() as session:
            framework = get_framework(session)
            assert framework is not None
            import_people(session, framework, RollupConfig(), text.encode(), changes.append)
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.query(Learner).count() == 0
    return caught.value


def test_rows_link_and_grade_their_people_and_report_each_links_changes(app: Flask) -> None:
    changes: list[list[AttainmentChange]] = []
    text = f"{HEADER}{ISS},p1,E1,junior\n\n{ISS},p2,E1,\n{ISS},p3,,委任\n"
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        count = import_people(session, framework, RollupConfig(), text.encode(), changes.append)
        assert count.rows == 3 and count.encoding == "UTF-8"
        assert len(changes) == 2  # one call per row with a link key
        assert session.query(Learner).count() == 2  # p1 and p2 share the key E1


@pytest.mark.parametrize(
    ("rows", "line", "field", "words"),
    [
        (f"{ISS},p1,,junior\n{ISS},p2,,\n{ISS},p3\nx,p4,,\n", 4, "row", "expected 4 fields"),
        (f"{ISS},p1,,junior\nnot-a-url,p2,,\n{ISS},p3\n", 3, "person_issuer", "issuer URL"),
        (f"{ISS},p1,,no-such-grade\n{ISS},p\x002,,\n", 2, "grade", ""),
        (f"{ISS},p1,,junior\n{ISS},{'k' * (FIELD_LIMIT + 1)},,\n{ISS}\n", 3, "file", "limit"),
    ],
    ids=["ragged-row-before-a-bad-issuer", "bad-issuer-before-a-ragged-row", "grade", "huge-field"],
)
def test_the_first_fault_stops_the_import_naming_its_line_and_field(
    app: Flask, rows: str, line: int, field: str, words: str
) -> None:
    error = refusal(app, HEADER + rows)
    assert error.field == field
    assert error.message.startswith(f"line {line}")
    assert words in error.message
    assert error.message.count("line ") == 1  # later faults are not read


def test_a_wrong_header_is_refused_naming_line_one(app: Flask) -> None:
    error = refusal(app, f"person_issuer,person_sub,grade\n{ISS},p1,junior\n")
    assert (error.field, error.message) == (
        "header",
        "line 1: header must be person_issuer,person_sub,link_key,grade",
    )


def test_cli_refusal_names_only_the_first_fault_and_imports_nothing(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(f"{HEADER}{ISS},p1,E1,junior\n{ISS},p2,E2\nbad,p3,,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["person", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path}: refused, nothing imported: line 3: expected 4 fields" in result.output
    assert "line 4" not in result.output
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.query(Learner).count() == 0

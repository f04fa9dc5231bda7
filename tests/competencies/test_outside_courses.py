"""Outside-course CSV import: checked in full, all or nothing, idempotent by code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.competencies import outside_courses
from plugin.competencies.models import Framework, OutsideCourse, outside_course_items
from plugin.competencies.outside_courses import (
    CourseFileInvalid,
    import_outside_courses,
    read_outside_courses,
)

HEADER = "code,title,hours,audience,tags"
GOOD = (
    f"{HEADER}\n"
    "EL-101,數位倫理與個資保護,2,,DC4-K3;DC4-K1\n"
    "EL-102,AI 時代的溝通品質,1.5,委任;薦任,DC2-K3\n"
    'EL-103,"政府資料開放, 入門",3,supervisor,DC1-K1;AT4\n'
)


def stored(session: Session) -> dict[str, tuple[Any, ...]]:
    """Every stored course as comparable values (tags sorted)."""
    session.expire_all()
    return {
        c.code: (
            c.title,
            c.hours,
            tuple(c.audience),
            c.source,
            tuple(sorted(i.code for i in c.items)),
        )
        for c in session.scalars(select(OutsideCourse))
    }


def assert_nothing_written(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(OutsideCourse)) == 0
    assert session.scalar(select(func.count()).select_from(outside_course_items)) == 0


def refusal(session: Session, framework: Framework, text: str | bytes) -> CourseFileInvalid:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(CourseFileInvalid) as caught:
        import_outside_courses(session, framework, data)
    return caught.value


def test_good_file_creates_every_course_with_grades_and_tags(
    session: Session, framework: Framework
) -> None:
    report = import_outside_courses(session, framework, GOOD.encode(), source="e等公務園")
    assert report.created == ["EL-101", "EL-102", "EL-103"]
    assert report.updated == report.unchanged == []
    assert stored(session) == {
        "EL-101": ("數位倫理與個資保護", 2.0, (), "e等公務園", ("DC4-K1", "DC4-K3")),
        "EL-102": ("AI 時代的溝通品質", 1.5, ("junior", "intermediate"), "e等公務園", ("DC2-K3",)),
        "EL-103": ("政府資料開放, 入門", 3.0, ("supervisor",), "e等公務園", ("AT4", "DC1-K1")),
    }


def test_importing_the_same_file_twice_changes_nothing(
    session: Session, framework: Framework
) -> None:
    import_outside_courses(session, framework, GOOD.encode(), source="e等公務園")
    session.flush()
    before = stored(session)
    stamps = {c.code: c.imported_at for c in session.scalars(select(OutsideCourse))}
    report = import_outside_courses(session, framework, GOOD.encode())
    assert report.unchanged == ["EL-101", "EL-102", "EL-103"]
    assert not report.changed
    assert stored(session) == before
    assert {c.code: c.imported_at for c in session.scalars(select(OutsideCourse))} == stamps


def test_a_changed_row_updates_title_hours_audience_and_tags(
    session: Session, framework: Framework
) -> None:
    import_outside_courses(session, framework, GOOD.encode())
    changed = GOOD.replace(
        "EL-102,AI 時代的溝通品質,1.5,委任;薦任,DC2-K3",
        "EL-102,AI 與溝通品質,2.5,簡任,DC2-K3;DC2-S1",
    )
    report = import_outside_courses(session, framework, changed.encode())
    assert report.updated == ["EL-102"]
    assert report.unchanged == ["EL-101", "EL-103"]
    assert stored(session)["EL-102"] == (
        "AI 與溝通品質",
        2.5,
        ("senior",),
        "",
        ("DC2-K3", "DC2-S1"),
    )


def test_bom_crlf_full_width_separators_and_lower_case_codes_are_accepted(
    session: Session, framework: Framework
) -> None:
    text = f"{HEADER}\r\nEL-9,課程,1,委任；主管,dc4-k3；at1\r\n"
    import_outside_courses(session, framework, b"\xef\xbb\xbf" + text.encode())
    assert stored(session)["EL-9"][2:] == (("junior", "supervisor"), "", ("AT1", "DC4-K3"))


@pytest.mark.parametrize(
    ("row", "line", "field", "words"),
    [
        ("EL-9,課程,0,,DC1-K1", 3, "hours", "must be a number > 0"),
        ("EL-9,課程,two,,DC1-K1", 3, "hours", "must be a number > 0"),
        ("EL-9,課程,nan,,DC1-K1", 3, "hours", "must be a number > 0"),
        ("EL-9,課程,２,,DC1-K1", 3, "hours", "must be a number > 0"),
        ("EL-9,課程,1,,DC9-K9", 3, "tags", "unknown competency ID 'DC9-K9'"),
        ("EL-9,課程,1,,", 3, "tags", "at least one competency ID"),
        ("EL-9,課程,1,部長,DC1-K1", 3, "audience", "unknown grade '部長'"),
        (",課程,1,,DC1-K1", 3, "code", "required"),
        ("EL-9,,1,,DC1-K1", 3, "title", "required"),
        ("EL-101,重複,1,,DC1-K1", 3, "code", "duplicate code 'EL-101' (first on line 2)"),
        ("EL-9,課程,1,,DC1-K1,extra", 3, "row", "expected 5 fields"),
    ],
    ids=[
        "zero-hours",
        "text-hours",
        "nan-hours",
        "full-width-hours",
        "unknown-tag",
        "no-tags",
        "unknown-grade",
        "missing-code",
        "missing-title",
        "duplicate-code",
        "extra-field",
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_line_and_field(
    session: Session, framework: Framework, row: str, line: int, field: str, words: str
) -> None:
    text = f"{HEADER}\nEL-101,好的課程,2,,DC4-K3\n{row}\nEL-200,另一門,1,,AT1\n"
    error = refusal(session, framework, text)
    assert error.problems[0].line == line
    assert error.problems[0].field == field
    assert words in error.problems[0].message
    assert error.message.startswith(f"line {line}, field {field}: ")
    assert_nothing_written(session)


def test_every_bad_row_is_reported_not_only_the_first(
    session: Session, framework: Framework
) -> None:
    text = f"{HEADER}\nA,t,-1,,DC1-K1\nB,t,1,x,DC1-K1\nC,t,1,,Z\n"
    error = refusal(session, framework, text)
    assert [(p.line, p.field) for p in error.problems] == [
        (2, "hours"),
        (3, "audience"),
        (4, "tags"),
    ]
    assert "(and 2 more)" in error.message


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines(
    session: Session, framework: Framework
) -> None:
    text = f'{HEADER}\nA,"two\nlines",1,,DC1-K1\n\nB,t,0,,DC1-K1\n'
    error = refusal(session, framework, text)
    assert (error.problems[0].line, error.problems[0].field) == (5, "hours")


def test_a_bad_row_after_changes_to_stored_courses_leaves_them_as_they_were(
    session: Session, framework: Framework
) -> None:
    import_outside_courses(session, framework, GOOD.encode())
    before = stored(session)
    changed = GOOD.replace(",2,,DC4-K3;DC4-K1", ",9,,DC4-K3") + "EL-104,壞,x,,DC1-K1\n"
    error = refusal(session, framework, changed)
    assert (error.problems[0].line, error.problems[0].field) == (5, "hours")
    assert stored(session) == before


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("code,title,hour,audience,tags", "missing hours; unexpected 'hour'"),
        ("code,title,hours,tags,audience", "columns in another order"),
        ("code,title,hours,audience", "missing tags"),
        ("課程代碼,名稱,時數,對象,職能", "missing code, title, hours, audience, tags"),
    ],
    ids=["misspelt", "reordered", "missing", "chinese"],
)
def test_a_wrong_header_is_named(
    session: Session, framework: Framework, header: str, words: str
) -> None:
    error = refusal(session, framework, f"{header}\nEL-1,t,1,,DC1-K1\n")
    assert (error.problems[0].line, error.problems[0].field) == (1, "header")
    assert "must be exactly code,title,hours,audience,tags" in error.message
    assert words in error.message
    assert_nothing_written(session)


def test_an_empty_file_and_a_header_only_file_are_refused(
    session: Session, framework: Framework
) -> None:
    assert refusal(session, framework, "").problems[0].field == "header"
    assert "no courses" in refusal(session, framework, HEADER + "\n").message
    assert_nothing_written(session)


def test_a_file_in_neither_utf8_nor_big5_is_refused_with_its_line_naming_both(
    session: Session, framework: Framework
) -> None:
    data = f"{HEADER}\nEL-1,t,1,,DC1-K1\n".encode() + "EL-2,課程,1,,DC1-K1\n".encode("utf-16-le")
    error = refusal(session, framework, data)
    assert (error.problems[0].line, error.problems[0].field) == (3, "file")
    assert "not UTF-8 or Big5 (cp950) text" in error.message
    assert_nothing_written(session)


def test_an_oversized_file_is_refused_before_it_is_read(
    session: Session, framework: Framework
) -> None:
    row = "EL-1,t,1,,DC1-K1\n"
    data = (HEADER + "\n").encode() + b"#" * outside_courses.MAX_BYTES + row.encode()
    error = refusal(session, framework, data)
    assert error.problems[0].field == "file"
    assert "larger than 5 MB" in error.message
    assert_nothing_written(session)


def test_a_file_with_too_many_rows_is_refused(
    session: Session, framework: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outside_courses, "MAX_ROWS", 3)
    rows = "".join(f"EL-{n},t,1,,DC1-K1\n" for n in range(4))
    error = refusal(session, framework, HEADER + "\n" + rows)
    assert (error.problems[0].line, error.problems[0].field) == (5, "file")
    assert "more than 3 rows" in error.message
    assert_nothing_written(session)


def test_ten_thousand_rows_are_accepted(session: Session, framework: Framework) -> None:
    rows = "".join(f"EL-{n},課程 {n},1,,DC1-K1\n" for n in range(outside_courses.MAX_ROWS))
    checked, _encoding = read_outside_courses(session, framework, (HEADER + "\n" + rows).encode())
    assert len(checked) == outside_courses.MAX_ROWS


def test_broken_quoting_is_refused_with_its_line(session: Session, framework: Framework) -> None:
    error = refusal(session, framework, f'{HEADER}\nEL-1,"t"x,1,,DC1-K1\n')
    assert (error.problems[0].line, error.problems[0].field) == (2, "file")


def test_cli_imports_a_file_and_refuses_a_bad_one_naming_line_and_field(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD.encode("utf-8-sig"))
    result = runner.invoke(args=["catalog", "import-outside", str(good), "--source", "e等公務園"])
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(args=["catalog", "import-outside", str(good)])
    assert "0 created, 0 updated, 3 unchanged" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("EL-101", "EL-201") + "EL-104,t,1,,DC7-K1\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import-outside", str(bad)])
    assert result.exit_code != 0
    assert "line 5, field tags: unknown competency ID 'DC7-K1'" in result.output
    with app.extensions["plugin.db"].session_scope() as session:
        assert sorted(stored(session)) == ["EL-101", "EL-102", "EL-103"]
        assert stored(session)["EL-101"][3] == "e等公務園"


def test_a_duplicate_is_named_even_when_its_first_copy_is_also_bad(
    session: Session, framework: Framework
) -> None:
    error = refusal(session, framework, f"{HEADER}\nA,t,x,,DC1-K1\nA,t,1,,DC1-K1\n")
    assert [(p.line, p.field) for p in error.problems] == [(2, "hours"), (3, "code")]
    assert "duplicate code 'A' (first on line 2)" in error.problems[1].message


@pytest.mark.parametrize(
    "code", ["=cmd|calc!A0", "+1+1", "-2+3", "@SUM(A1)", '"=HYPERLINK(""x"")"']
)
def test_a_code_a_spreadsheet_would_run_as_a_formula_is_refused_naming_the_field(
    session: Session, framework: Framework, code: str
) -> None:
    error = refusal(
        session, framework, f"{HEADER}\nEL-101,好的課程,2,,DC4-K3\n{code},惡意,1,,AT1\n"
    )
    assert (error.problems[0].line, error.problems[0].field) == (3, "code")
    assert "formula" in error.problems[0].message
    assert error.message.startswith("line 3, field code: ")
    assert_nothing_written(session)

"""Fuzzed CSV imports: never a 500 or a traceback, and a refused file stores nothing.

The three importers promise all or nothing: the outside-course upload (web form, catalog
page), ``flask evidence import`` (raw evidence or completion records) and ``flask person
import``. Each generated file mixes valid rows with broken ones — wrong, missing, duplicate
or extra headers, other encodings (Big5, Latin-1, UTF-16), NUL bytes, a cut-off end, ragged
rows, fields past the csv module's limit, formula-like cells, bad dates, levels and scores,
unknown codes — on PostgreSQL (SQLite where none answers outside CI). When the generator
broke a documented rule the file must be refused, the refusal must name the line, and no
table may change; when a file is accepted, every row of it counts.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select

from plugin.competencies.models import OutsideCourse
from tests.support.flows import TOOL, Flow, registered_flow
from tests.support.fuzz import (
    any_text,
    fuzz_settings,
    snapshot,
    written,
)
from tests.support.platform import LTI, ROLE

ISSUER = "https://lms.example.edu"
MODULE_KEY = "tw-civil-service-dc.C4-T5"  # a demo catalog module with active tags
FIELD_LIMIT = csv.field_size_limit()


@dataclass(frozen=True)
class CsvCase:
    """A generated file, whether it surely breaks a documented rule, and its data rows."""

    data: bytes
    surely_invalid: bool
    rows: int | None  # None when a cut or a NUL byte may have changed the rows
    codes: tuple[str, ...] = ()  # the ``unique`` column's values, in file order

    def __repr__(self) -> str:
        # A field past the csv limit is 131 kB: show runs as <count × byte> instead.
        data = re.sub(
            rb"(.{1,3}?)\1{31,}",
            lambda m: b"<%d x %r>" % (len(m[0]) // len(m[1]), m[1]),
            self.data,
            flags=re.S,
        )
        return (
            f"CsvCase(data={data!r}, surely_invalid={self.surely_invalid}, rows={self.rows}, "
            f"codes={self.codes!r})"
        )


@dataclass(frozen=True)
class CsvFormat:
    """What an importer accepts: its header, a valid row's cells, values it must refuse."""

    header: tuple[str, ...]
    valid: Callable[[int], st.SearchStrategy[dict[str, str]]]
    wrong: dict[str, st.SearchStrategy[str]]
    unique: str | None = None  # a column whose values may not repeat within a file
    # Values at the edges of what a column takes (accepted or refused, never a crash).
    odd: dict[str, st.SearchStrategy[str]] = field(default_factory=dict)


ROW_FAULTS = ["valid"] * 4 + ["wrong", "maybe", "ragged", "huge", "blank"]
# Cells that reach the database only if nothing refuses them first.
HOSTILE_CELLS = ("a\x00b", "\x00", "\ud800", "名" * 256, "x" * 501, "x" * 1001, "=1+1", "\u202e")
HEADER_FAULTS = ["none"] * 6 + ["missing", "duplicate", "extra", "reordered", "garbage", "empty"]
ENCODINGS = ["utf-8"] * 5 + ["utf-8-sig", "big5", "latin-1", "utf-16", "nul", "cut"]


def _header(draw: st.DrawFn, header: tuple[str, ...]) -> tuple[list[str] | None, bool]:
    fault = draw(st.sampled_from(HEADER_FAULTS), label="header fault")
    cells = list(header)
    if fault == "missing":
        cells.pop(draw(st.integers(0, len(cells) - 1)))
    elif fault == "duplicate":
        cells.append(draw(st.sampled_from(header)))
    elif fault == "extra":
        cells.append(draw(any_text().filter(lambda t: t.strip() not in header)))
    elif fault == "reordered":
        shuffled = draw(st.permutations(cells))
        cells = list(shuffled) if list(shuffled) != cells else cells[::-1]
    elif fault == "garbage":
        cells = draw(st.lists(any_text(), min_size=1, max_size=3))
        if tuple(cell.strip() for cell in cells) == header:
            fault = "none"
    elif fault == "empty":
        return None, True
    elif draw(st.booleans(), label="padded header"):
        cells = [f" {cell} " for cell in cells]  # the importers strip header cells
    return cells, fault != "none"


@st.composite
def csv_cases(draw: st.DrawFn, fmt: CsvFormat) -> CsvCase:
    """A CSV file for ``fmt``: a header, a few rows, an encoding. A file is clean (every rule
    kept, so imports also succeed), or has one fault (so a hostile cell reaches the
    database), or has faults anywhere."""
    mode = draw(st.sampled_from(["clean", "one fault", "one fault", "faults"]), label="mode")
    count = draw(st.integers(0, 5), label="rows")
    if mode == "faults":
        header, invalid = _header(draw, fmt.header)
        faults = [draw(st.sampled_from(ROW_FAULTS), f"row {i} fault") for i in range(count)]
    else:
        header, invalid = list(fmt.header), False
        faults = ["valid"] * count
        if mode == "one fault" and count:
            faults[draw(st.integers(0, count - 1), label="faulty row")] = draw(
                st.sampled_from(["maybe", "maybe", *ROW_FAULTS[4:]]), label="fault"
            )
    records: list[list[str]] = [] if header is None else [header]
    rows = 0
    codes: list[str] = []
    for index, fault in enumerate(faults):
        row = draw(fmt.valid(index), label=f"row {index}")
        column = draw(st.sampled_from(sorted(fmt.wrong)), label=f"row {index} column")
        if fault == "wrong":
            row[column] = draw(fmt.wrong[column], label=f"row {index} {column}")
        elif fault == "maybe":  # may or may not be acceptable: only "no crash" is certain
            column = draw(st.sampled_from(fmt.header), label=f"row {index} any column")
            values = st.sampled_from(HOSTILE_CELLS) | fmt.odd.get(column, st.nothing())
            row[column] = draw(values | any_text(), label=f"row {index} {column}")
        elif fault == "huge":
            row[column] = "x" * (FIELD_LIMIT + 1)
        cells = [row[name] for name in fmt.header]
        if fault == "ragged":
            cells = cells[:-1] if draw(st.booleans()) else [*cells, draw(any_text())]
        if fault == "blank":
            cells = [""] * len(fmt.header)
        else:
            rows += 1
            if fmt.unique:
                codes.append(row[fmt.unique].strip())
        invalid |= fault in ("wrong", "ragged", "huge")
        records.append(cells)
    if fmt.unique and len(set(codes)) < len(codes):
        invalid = True
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(records)
    text = out.getvalue()
    data, intact = (
        _encode(draw, text) if mode == "faults" else (text.encode("utf-8", "surrogatepass"), True)
    )
    read = _read(data)
    if read is None:
        invalid = True  # the importers read UTF-8 (a BOM is allowed) and, failing that, cp950
    elif intact is None:  # another encoding read as another text: no rule is surely broken
        invalid, intact = False, False
    event(f"{mode}{' (surely invalid)' if invalid else ''}")
    if not intact:  # rows may be gone or changed: an import may count fewer
        return CsvCase(data, invalid, None)
    return CsvCase(data, invalid, rows, tuple(codes))


def _read(data: bytes) -> str | None:
    """The text the importers read from ``data`` (UTF-8, else without a BOM cp950), or None."""
    for codec in ("utf-8-sig", "cp950"):
        if codec == "cp950" and data.startswith(b"\xef\xbb\xbf"):
            return None
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def _encode(draw: st.DrawFn, text: str) -> tuple[bytes, bool | None]:
    """The file's bytes, and whether they still hold every row as written (None: the
    importers may read them as another text, so the faults drawn may be gone)."""
    encoding = draw(st.sampled_from(ENCODINGS), label="encoding")
    if encoding in ("utf-8", "nul", "cut"):
        data = text.encode("utf-8", "surrogatepass")
        if encoding == "nul":
            at = draw(st.integers(0, len(data)), label="NUL at")
            data = data[:at] + b"\x00" + data[at:]
        elif encoding == "cut":
            data = data[: draw(st.integers(0, len(data)), label="cut at")]
        return data, encoding == "utf-8"
    if encoding == "utf-8-sig":
        return text.encode("utf-8-sig", "surrogatepass"), True
    data = text.encode(encoding, "replace")
    # Bytes of another encoding may read as cp950 into other characters (or lose characters
    # big5 cannot hold): the cells change.
    return data, True if _read(data) in (text, None) else None


def _pick(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


# --- the three formats ------------------------------------------------------------------------

OUTSIDE = CsvFormat(
    header=("code", "title", "hours", "audience", "tags"),
    valid=lambda index: st.fixed_dictionaries(
        {
            "code": _pick(*[f"FZ-{index}"] * 4, "FZ-0"),
            "title": _pick("數位倫理", "Data literacy", "政府資料開放, 入門", '=HYPERLINK("x")'),
            "hours": _pick("1", "2.5", "0.5", "1000", " 3 "),
            "audience": _pick("", "委任", "junior;senior", "主管；薦任"),
            "tags": _pick("DC1-K1", "DC4-K3;AT4", "dc2-k3"),
        }
    ),
    wrong={
        "code": _pick("", "c" * 101, "A\x01B"),
        "title": _pick("", "t" * 1001),
        "hours": _pick("0", "-1", "abc", "nan", "inf", "1001", ""),
        "audience": _pick("boss", "委任;奇怪"),
        "tags": _pick("", ";", "DC9-K9", "XX"),
    },
    unique="code",
)

_RAW_SCORES = [("0.8", ""), ("", "true"), ("1", "否"), ("0", ""), ("", "通過")]
RAW_EVIDENCE = CsvFormat(
    header=(
        "person_issuer",
        "person_sub",
        "item_id",
        "level",
        "score",
        "success",
        "observed_at",
        "source_id",
    ),
    valid=lambda index: st.builds(
        lambda sub, item, level, scored, moment, source: {
            "person_issuer": ISSUER,
            "person_sub": sub,
            "item_id": item,
            "level": level,
            "score": scored[0],
            "success": scored[1],
            "observed_at": moment,
            "source_id": source,
        },
        _pick("p1", "p2", "學員3"),
        _pick("DC1-K1", "DC2-S1", "AT4"),
        _pick("1", "2"),
        st.sampled_from(_RAW_SCORES),
        _pick("2026-03-01T10:00:00+08:00", "2026-03-02T10:00:00Z"),
        _pick(f"r{index}", ""),
    ),
    wrong={
        "person_issuer": _pick("", " "),
        "person_sub": _pick("", " "),
        "item_id": _pick("DC9-K9", "dc1-k1", ""),
        "level": _pick("0", "-1", "99", "1.5", "one", ""),
        "score": _pick("1.5", "-0.1", "abc", "nan"),
        "success": _pick("maybe", "2"),
        "observed_at": _pick("2026-03-01T10:00:00", "yesterday", "2026-02-30T00:00:00Z", ""),
        "source_id": _pick("s" * 256),
    },
    odd={
        "observed_at": _pick(
            "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-03-01T10:00+23:59"
        ),
        "score": _pick("1e-400", "１", "0.1e1", "-0", "1_0"),
        "level": _pick("٢", " 1 ", "+1", "1_0"),
    },
)
COMPLETIONS = CsvFormat(
    header=(
        "person_issuer",
        "person_sub",
        "course_code",
        "completed_at",
        "hours",
        "score",
        "passed",
    ),
    valid=lambda index: st.fixed_dictionaries(
        {
            "person_issuer": _pick(ISSUER),
            "person_sub": _pick("p1", f"p{index}"),
            "course_code": _pick(MODULE_KEY),
            "completed_at": _pick("2026-03-01T10:00:00Z", f"2026-03-0{index + 1}T08:00:00+08:00"),
            "hours": _pick("3", ""),
            "score": _pick("90", "", "59.5"),
            "passed": _pick("true", "", "通過", "false"),
        }
    ),
    wrong={
        "person_issuer": _pick(""),
        "person_sub": _pick(""),
        "course_code": _pick("NO-SUCH-COURSE", ""),
        "completed_at": _pick("2026-03-01", "tomorrow", "2026-03-01T25:00:00Z"),
        "hours": _pick("-1", "1001", "x"),
        "score": _pick("101", "-5", "x"),
        "passed": _pick("maybe"),
    },
    odd={
        "completed_at": _pick("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"),
        "score": _pick("1e-400", "100.0", "1_0"),
        "hours": _pick("inf", "nan", "1e3"),
    },
)
PEOPLE = CsvFormat(
    header=("person_issuer", "person_sub", "link_key", "grade"),
    valid=lambda index: st.fixed_dictionaries(
        {
            "person_issuer": _pick(ISSUER),
            "person_sub": _pick(f"p{index}", "p0"),
            "link_key": _pick("", f"E{index}", "E0"),
            "grade": _pick("", "junior", "簡任", " 主管 ", "Senior"),
        }
    ),
    wrong={
        "person_issuer": _pick("", " "),
        "person_sub": _pick(""),
        "grade": _pick("boss", "junior;senior"),
    },
    odd={"link_key": _pick(" ", "k" * 256), "person_sub": _pick("s" * 256)},
)

# --- helpers ----------------------------------------------------------------------------------


def _cli(app: Flask, tmp_path: Path, args: list[str], data: bytes) -> Result:
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=[*args, str(path)])


def _assert_cli_refused_cleanly(result: Result, before: Any, app: Flask) -> None:
    """A ClickException (exit 1, no traceback) naming the line; no table changed."""
    assert isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1 and re.search(r"line \d+", result.output), result.output
    assert written(before, snapshot(app)) == {}, result.output


# --- outside courses: the catalog page's upload form --------------------------------------


@pytest.fixture
def designer_flow(fuzz_app: Flask) -> Iterator[tuple[Flow, str]]:
    """A designer's launch (the upload form's ``lt``) through the test platform."""
    with registered_flow(fuzz_app) as flow:
        response = flow.complete(sub="instructor-001", **{LTI + "roles": [ROLE + "Instructor"]})
        assert response.status_code == 303, response.get_data(as_text=True)
        yield flow, response.headers["Location"].split("lt=", 1)[1]


@fuzz_settings(max_examples=20)
@given(
    case=csv_cases(OUTSIDE),
    # One source in four is hostile, so that the others let good files through.
    source=st.integers(0, 3).flatmap(lambda n: any_text() if n == 0 else _pick("", "e等公務園")),
)
def test_fuzzed_outside_course_upload_is_all_or_nothing_never_a_500(
    designer_flow: tuple[Flow, str], fuzz_app: Flask, case: CsvCase, source: str
) -> None:
    flow, token = designer_flow
    before = snapshot(fuzz_app)
    response = flow.client.post(
        "/catalog/outside-courses?lang=en",
        data={"lt": token, "source": source, "file": (io.BytesIO(case.data), "courses.csv")},
        content_type="multipart/form-data",
        headers={"Origin": TOOL},  # a form posted from the tool's own page
        base_url=TOOL,
    )
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 400), (response.status_code, page[:3000])
    if response.status_code == 400:
        event("refused")
        assert written(before, snapshot(fuzz_app)) == {}, page[:3000]
        return
    event("imported")
    assert not case.surely_invalid, page[:3000]
    with fuzz_app.extensions["plugin.db"].session_scope() as session:
        stored = set(session.scalars(select(OutsideCourse.code)))
    if case.rows is not None:
        assert set(case.codes) <= stored and len(case.codes) == case.rows, (case.codes, stored)


def import_by_cli(app: Flask, tmp_path: Path, args: list[str], case: CsvCase, done: str) -> None:
    """Import ``case`` with the CLI: refused cleanly with nothing written, or every row
    imported (``done`` is the success line, ``{rows}`` the expected row count)."""
    before = snapshot(app)
    result = _cli(app, tmp_path, args, case.data)
    if result.exit_code != 0:
        event("refused")
        _assert_cli_refused_cleanly(result, before, app)
        return
    event("imported")
    assert not case.surely_invalid, result.output
    if case.rows is not None:
        assert done.format(rows=case.rows) in result.output, result.output


# --- evidence import (CLI) --------------------------------------------------------------------


@fuzz_settings(max_examples=25)
@given(case=st.sampled_from([RAW_EVIDENCE, COMPLETIONS]).flatmap(csv_cases))
def test_fuzzed_evidence_import_is_all_or_nothing_never_a_traceback(
    fuzz_app: Flask, tmp_path: Path, case: CsvCase
) -> None:
    import_by_cli(fuzz_app, tmp_path, ["evidence", "import"], case, ": {rows} row(s),")


# --- person import (CLI) ----------------------------------------------------------------------


@fuzz_settings(max_examples=20)
@given(case=csv_cases(PEOPLE))
def test_fuzzed_person_import_is_all_or_nothing_never_a_traceback(
    fuzz_app: Flask, tmp_path: Path, case: CsvCase
) -> None:
    import_by_cli(fuzz_app, tmp_path, ["person", "import"], case, ": {rows} person row(s) imported")


# --- regressions: what the fuzzing found ------------------------------------------------------

RAW_HEADER = ",".join(RAW_EVIDENCE.header)
YEAR_ONE = "0001-01-01T00:00:00+14:00"
NUL_SUB = "p\x001"


def _raw_row(sub: str, item: str, source_id: str, issuer: str = ISSUER) -> str:
    return f"{issuer},{sub},{item},1,0.8,,2026-03-01T10:00:00+08:00,{source_id}\n"


def _refusal(app: Flask, tmp_path: Path, args: list[str], text: str) -> str:
    """Import ``text`` (UTF-8), expecting a clean refusal that writes nothing; its output."""
    before = snapshot(app)
    result = _cli(app, tmp_path, args, text.encode("utf-8"))
    _assert_cli_refused_cleanly(result, before, app)
    return result.output


def test_evidence_source_id_of_another_persons_evidence_is_refused_not_a_traceback(
    app: Flask, tmp_path: Path
) -> None:
    # The second file used to crash on the outbox's unique statement id (uuid5 of "r0").
    first = f"{RAW_HEADER}\n{_raw_row('p2', 'DC2-S1', 'r0')}"
    second = f"{RAW_HEADER}\n{_raw_row('p1', 'DC1-K1', 'r0')}"
    result = _cli(app, tmp_path, ["evidence", "import"], first.encode())
    assert result.exit_code == 0, result.output
    output = _refusal(app, tmp_path, ["evidence", "import"], second)
    assert "line 2, field source_id: 'r0' already names evidence of another person" in output


def test_evidence_same_row_twice_in_a_file_is_one_observation(app: Flask, tmp_path: Path) -> None:
    text = f"{RAW_HEADER}\n{_raw_row('p1', 'DC1-K1', 'r0') * 2}"
    result = _cli(app, tmp_path, ["evidence", "import"], text.encode())
    assert result.exit_code == 0 and ": 2 row(s), 1 new, 1 unchanged" in result.output


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        pytest.param(
            "evidence",
            f"{RAW_HEADER}\n{_raw_row('p1', 'DC1-K1', 'r0')}{_raw_row('p1', 'DC2-S1', 'r0')}",
            "line 3, field source_id: 'r0' is on line 2 too, for another observation",
            id="evidence-source-id-on-two-different-rows-naming-both",
        ),
        pytest.param(
            # 0001-01-01T00:00+14:00 is in year 0 in UTC: it used to raise OverflowError.
            "evidence",
            f"{RAW_HEADER}\n"
            + _raw_row("p1", "DC1-K1", "r0").replace(
                "2026-03-01T10:00:00+08:00", "0001-01-01T00:00:00+14:00"
            ),
            "line 2, field observed_at: out of range in UTC",
            id="evidence-time-without-a-utc-form",
        ),
        pytest.param(
            # It used to fail later, in the restated statement, with no line:
            # "actor.account.homePage".
            "evidence",
            f"{RAW_HEADER}\n{_raw_row('p1', 'DC1-K1', 'r0', issuer='名' * 10)}",
            "line 2, field person_issuer: must be the platform's issuer URL",
            id="evidence-issuer-that-is-no-url",
        ),
        pytest.param(
            # csv.Error("field larger than field limit") used to escape as a traceback.
            "person",
            f"person_issuer,person_sub,link_key,grade\n{ISSUER},p1,{'k' * FIELD_LIMIT}1,junior\n",
            "line 2: field larger than field limit",
            id="person-field-past-the-csv-limit",
        ),
    ],
)
def test_a_bad_row_is_refused_cleanly_naming_the_line_and_field(
    app: Flask, tmp_path: Path, command: str, text: str, message: str
) -> None:
    output = _refusal(app, tmp_path, [command, "import"], text)
    assert message in output


def test_person_import_in_neither_utf8_nor_big5_names_the_line_and_the_encodings(
    app: Flask, tmp_path: Path
) -> None:
    # 0xFF starts no character in UTF-8 and none in cp950.
    data = f"person_issuer,person_sub,link_key,grade\n{ISSUER},p".encode() + b"\xff1,,junior\n"
    before = snapshot(app)
    result = _cli(app, tmp_path, ["person", "import"], data)
    _assert_cli_refused_cleanly(result, before, app)
    assert "line 2: not UTF-8 or Big5 (cp950) text" in result.output


def test_person_import_reads_big5_with_semicolons(app: Flask, tmp_path: Path) -> None:
    data = f"person_issuer;person_sub;link_key;grade\r\n{ISSUER};王小明;;委任\r\n".encode("cp950")
    result = _cli(app, tmp_path, ["person", "import"], data)
    assert result.exit_code == 0, result.output
    assert ": 1 person row(s) imported; read as Big5 (cp950)" in result.output


def test_values_postgresql_cannot_hold_are_refused_naming_line_and_field(
    fuzz_app: Flask, tmp_path: Path
) -> None:
    """Each used to escape as a psycopg DataError traceback (SQLite stores them silently)."""
    person_header = "person_issuer,person_sub,link_key,grade"
    long_issuer = ISSUER + "/" + "i" * 500
    refusals = [
        ("evidence", f"{RAW_HEADER}\n{_raw_row('p1', 'DC1-K1', 'r0', issuer=long_issuer)}",
         "line 2, field person_issuer: longer than 500 characters"),
        ("evidence", f"{RAW_HEADER}\n{_raw_row(NUL_SUB, 'DC1-K1', 'r0')}",
         "line 2, field person_sub: must not contain NUL characters"),
        ("person", f"{person_header}\n{ISSUER},p1,{'k' * 256},\n",
         "line 2, field link_key: longer than 255 characters"),
        ("person", f"{person_header}\n{ISSUER},{NUL_SUB},,\n",
         "line 2, field person_sub: must not contain NUL characters"),
    ]  # fmt: skip
    for command, text, message in refusals:
        assert message in _refusal(fuzz_app, tmp_path, [command, "import"], text), message


def test_outside_course_nul_in_title_or_source_is_refused_with_400_not_a_500(
    designer_flow: tuple[Flow, str], fuzz_app: Flask
) -> None:
    flow, token = designer_flow
    good = "code,title,hours,audience,tags\nEL-1,Title,1,,DC1-K1\n"
    for data, source, message in (
        (good.replace("Title", "Ti\x00tle"), "", "<code>title</code></th><td>must not contain NUL"),
        (good, "e等\x00公務園", "source: must not contain NUL characters"),
    ):
        before = snapshot(fuzz_app)
        response = flow.client.post(
            "/catalog/outside-courses?lang=en",
            data={"lt": token, "source": source, "file": (io.BytesIO(data.encode()), "c.csv")},
            content_type="multipart/form-data",
            headers={"Origin": TOOL},
            base_url=TOOL,
        )
        assert response.status_code == 400, response.get_data(as_text=True)[:2000]
        assert message in response.get_data(as_text=True)
        assert written(before, snapshot(fuzz_app)) == {}

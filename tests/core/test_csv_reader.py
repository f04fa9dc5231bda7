"""The one CSV reader of every importer: it stops at the first fault of the file's form,
naming the line and the field."""

from __future__ import annotations

import csv
import io

import pytest

from plugin.core.csv_reader import BIG5, UTF8, CsvFault, CsvFile

HEADER = "a,b,c\n"


def fault(data: bytes, **options: int) -> CsvFault:
    """The fault reading ``data`` whole raises."""
    max_rows = options.pop("max_rows", None)
    with pytest.raises(CsvFault) as caught:
        list(CsvFile(data, **options).rows(max_rows=max_rows))
    return caught.value


def test_rows_carry_the_line_they_start_on_across_quoted_newlines_and_blank_lines() -> None:
    table = CsvFile(f'\n{HEADER}1,"two\nlines",3\n\n4,5,6\n'.encode("utf-8-sig"))
    assert table.header is not None and table.header.line == 2
    assert table.columns == ("a", "b", "c")
    assert [(row.line, row.cells) for row in table.rows()] == [
        (3, ["1", "two\nlines", "3"]),
        (6, ["4", "5", "6"]),
    ]


def test_an_empty_file_has_no_header_and_no_rows() -> None:
    table = CsvFile(b"\n \n")
    assert (table.header, table.columns, list(table.rows())) == (None, (), [])


def test_a_row_of_another_width_stops_the_reading_at_that_row() -> None:
    # Line 3 is short and line 4 is broken CSV too: only the first fault is named.
    found = fault(f'{HEADER}1,2,3\n1,2\n1,"x"y,3\n'.encode(), strict=True)
    assert (found.line, found.field) == (3, "row")
    assert str(found) == "line 3: expected 3 fields (a,b,c), found 2"


def test_big5_as_windows_writes_it_is_read_and_named_when_the_file_is_not_utf8() -> None:
    # 碁 and 銹 are cp950-only (Windows' additions to Big5): zh-TW Excel's plain "CSV".
    table = CsvFile(f"{HEADER}王碁,銹,3\n".encode("cp950"))
    assert (table.encoding, table.columns) == (BIG5, ("a", "b", "c"))
    assert [row.cells for row in table.rows()] == [["王碁", "銹", "3"]]


def test_utf8_is_tried_first_so_a_utf8_file_is_never_read_as_big5() -> None:
    # These UTF-8 bytes also decode as cp950 (to other characters): UTF-8 must win.
    data = f"{HEADER}學課,é,3\n".encode()
    data.decode("cp950")
    table = CsvFile(data)
    assert table.encoding == UTF8
    assert [row.cells for row in table.rows()] == [["學課", "é", "3"]]


def test_text_in_neither_encoding_is_refused_naming_the_encodings_and_the_line() -> None:
    found = fault(HEADER.encode() + b"1,2,3\n\xff\xfe,2,3\n")
    assert (found.line, found.field) == (3, "file")
    assert str(found) == "line 3: not UTF-8 or Big5 (cp950) text (save it as CSV UTF-8)"


def test_a_file_marked_utf8_by_its_bom_is_not_read_as_big5() -> None:
    found = fault(b"\xef\xbb\xbf" + f"{HEADER}1,2,3\n王,2,3\n".encode("big5"))
    assert (found.line, str(found)) == (
        3,
        "line 3: not UTF-8 or Big5 (cp950) text (save it as CSV UTF-8)",
    )


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_the_one_that_splits_the_header_into_an_expected_one(
    delimiter: str,
) -> None:
    # Each cell holds the other delimiters, so a wrong guess would split rows differently.
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows([["a", "b", "c"], ["x,1", "y;2", "z\t3"]])
    text = out.getvalue()
    table = CsvFile(text.encode(), headers=[("x",), ("a", "b", "c")])
    assert (table.delimiter, table.columns) == (delimiter, ("a", "b", "c"))
    assert [row.cells for row in table.rows()] == [["x,1", "y;2", "z\t3"]]


def test_an_unexpected_header_is_split_by_the_delimiter_that_gives_the_most_columns() -> None:
    # So the importer names the wrong column, not the whole line as one unknown name.
    table = CsvFile(b"a;b;cc\n1;2;3\n", headers=[("a", "b", "c")])
    assert (table.delimiter, table.columns) == (";", ("a", "b", "cc"))


def test_broken_quoting_and_a_field_past_the_csv_limit_are_named_by_their_line() -> None:
    assert fault(f'{HEADER}1,"x"y,3\n'.encode(), strict=True).line == 2
    huge = fault(f"{HEADER}1,{'k' * (csv.field_size_limit() + 1)},3\n".encode())
    assert (huge.line, huge.field) == (2, "file")
    assert huge.message.startswith("field larger than field limit")


def test_a_file_over_the_size_cap_is_refused_before_it_is_read() -> None:
    found = fault(HEADER.encode() + b"\xff" * (1024 * 1024), max_bytes=1024 * 1024)
    assert (found.line, str(found)) == (0, "file: larger than 1 MB")


def test_one_row_past_the_row_cap_is_refused_naming_its_line() -> None:
    assert len(list(CsvFile(f"{HEADER}1,2,3\n4,5,6\n".encode()).rows(max_rows=2))) == 2
    found = fault(f"{HEADER}1,2,3\n4,5,6\n7,8,9\n".encode(), max_rows=2)
    assert (found.line, found.field, found.message) == (4, "file", "more than 2 rows")


def test_a_fault_of_one_cell_names_line_and_field() -> None:
    assert str(CsvFault(7, "grade", "unknown")) == "line 7, field grade: unknown"

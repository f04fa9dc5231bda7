"""Reading an uploaded CSV file: the one reader every importer uses.

It decodes UTF-8 (a leading byte-order mark dropped: Excel's "CSV UTF-8" writes one), skips
blank lines, numbers each record by the physical line it starts on (a quoted cell may span
lines) and stops at the first fault in the file's form — too large, not UTF-8, broken CSV, too
many rows, a row of another width than the header — with a :class:`CsvFault` naming the line
and the field. What the cells mean is each importer's to check.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

MEGABYTE = 1024 * 1024
# Faults of a whole line (or file) rather than of one of its cells.
WHOLE_LINE = ("file", "row")


class CsvFault(Exception):
    """The file's form is wrong: the line (0 = the whole file), the field, and why."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        if not self.line:
            return f"{self.field}: {self.message}"
        if self.field in WHOLE_LINE:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, field {self.field}: {self.message}"


@dataclass(frozen=True)
class CsvRecord:
    """One non-blank record and the line it starts on (1 = the file's first line)."""

    line: int
    cells: list[str]


def decode_csv(data: bytes, max_bytes: int | None = None) -> str:
    """The file's text; a file over ``max_bytes`` or not UTF-8 is a :class:`CsvFault`."""
    if max_bytes is not None and len(data) > max_bytes:
        raise CsvFault(0, "file", f"larger than {max_bytes // MEGABYTE} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFault(line, "file", "not UTF-8 text (save it as CSV UTF-8)") from None


def csv_records(text: str, *, strict: bool = False) -> Iterator[CsvRecord]:
    """The non-blank records of ``text``; broken CSV stops them with a :class:`CsvFault`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict)
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield CsvRecord(line, cells)
            line = reader.line_num + 1
    except csv.Error as exc:  # e.g. a bad quote, or a field past the csv module's size limit
        raise CsvFault(reader.line_num or line, "file", str(exc)) from None


class CsvFile:
    """An uploaded CSV file: its header record, read at once, then its rows as they come."""

    def __init__(self, data: bytes, *, max_bytes: int | None = None, strict: bool = False):
        self._records = csv_records(decode_csv(data, max_bytes), strict=strict)
        self.header: CsvRecord | None = next(self._records, None)  # None: the file is empty

    @property
    def columns(self) -> tuple[str, ...]:
        """The header's cells, trimmed; empty for an empty file."""
        return tuple(cell.strip() for cell in self.header.cells) if self.header else ()

    def rows(self, *, max_rows: int | None = None) -> Iterator[CsvRecord]:
        """The rows after the header, in order, each as wide as the header; the first fault of
        form ends them (the importer checks the header's names before it asks for rows)."""
        width = len(self.columns)
        for count, record in enumerate(self._records, start=1):
            if max_rows is not None and count > max_rows:
                raise CsvFault(record.line, "file", f"more than {max_rows} rows")
            if len(record.cells) != width:
                raise CsvFault(
                    record.line,
                    "row",
                    f"expected {width} fields ({','.join(self.columns)}), "
                    f"found {len(record.cells)}",
                )
            yield record

"""CSV and XLSX files people open in a spreadsheet: no cell may start a formula.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel and LibreOffice when the file is opened (OWASP "CSV injection"), and openpyxl
writes such a string as a formula outright. Every export writes through :func:`csv_text` or
:func:`xlsx_bytes`, which prefix such text with an apostrophe; imports refuse it in fields
that are identifiers (:func:`starts_formula`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as the start of a formula."""
    return text.startswith(FORMULA_PREFIXES)


def neutralise(value: Any) -> Any:
    """``value``, with an apostrophe before text that would start a formula."""
    if isinstance(value, str) and starts_formula(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    """A row with every cell neutralised and None as an empty cell."""
    return ["" if value is None else neutralise(value) for value in row]


def csv_text(columns: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV (RFC 4180 line ends) with a header; the caller adds a BOM for Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(safe_row(columns))
    writer.writerows(safe_row(row) for row in rows)
    return buffer.getvalue()


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[Iterable[Any]]]]) -> bytes:
    """An XLSX workbook, one sheet per (title, columns, rows), header row frozen."""
    book = Workbook()
    if book.active is not None:  # a new workbook starts with one empty sheet
        book.remove(book.active)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append([neutralise(value) for value in columns])
        for row in rows:
            sheet.append([neutralise(value) for value in row])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

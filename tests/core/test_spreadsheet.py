"""Exported spreadsheets never start a formula in a cell (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from plugin.core.spreadsheet import csv_text, neutralise, starts_formula, xlsx_bytes

ATTACKS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_leading_text_gets_an_apostrophe(text: str) -> None:
    assert starts_formula(text)
    assert neutralise(text) == "'" + text
    assert neutralise(neutralise(text)) == "'" + text  # twice is the same as once


def test_other_cells_are_left_alone() -> None:
    for value in ("DC1-K2", "王小明", "", "1.5", 3, -2, 0.5, None):
        assert neutralise(value) == value


def test_every_csv_cell_is_neutralised() -> None:
    text = csv_text(["=head", "b"], [[attack, -1] for attack in ATTACKS] + [[None, "ok"]])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["'=head", "b"]
    assert [row[0] for row in rows[1:-1]] == ["'" + attack for attack in ATTACKS]
    assert [row[1] for row in rows[1:-1]] == ["-1"] * len(ATTACKS)  # numbers stay numbers
    assert rows[-1] == ["", "ok"]


def test_no_xlsx_cell_is_a_formula() -> None:
    body = xlsx_bytes([("one", ["a", "b"], [[a, 1] for a in ATTACKS]), ("two", ["c"], [["=1"]])])
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["one", "two"]
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    assert [row[0] for row in book["one"].iter_rows(min_row=2, values_only=True)] == [
        "'" + attack.replace("\r", "\n")
        for attack in ATTACKS  # XML reads CR as LF
    ]

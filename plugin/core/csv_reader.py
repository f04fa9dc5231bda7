"""Reading an uploaded CSV file: the one reader every importer uses.

It decodes UTF-8 (a leading byte-order mark dropped: Excel's "CSV UTF-8" writes one) or,
only when the bytes are not UTF-8, Big5 as Windows writes it (cp950: what zh-TW Excel's plain
"CSV" saves). It takes ``,``, ``;`` or tab as the delimiter: the one that splits the header
line into a header the importer expects. It skips blank lines, numbers each record by the
physical line it starts on (a quoted cell may span lines) and stops at the first fault in the
file's form — too large, in neither encoding, broken CSV, too many rows, a row of another width
than the header — with a :class:`CsvFault` naming the line and the field. What the cells mean
is each importer's to check (docs/ARCHITECTURE.md §4).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from plugin.core.errors import N_

MEGABYTE = 1024 * 1024
# Faults of a whole line (or file) rather than of one of its cells.
WHOLE_LINE = ("file", "row")
UTF8 = "UTF-8"
UTF8_BOM = b"\xef\xbb\xbf"
BIG5 = "Big5 (cp950)"
# The encodings tried, in order, by the name a person knows and Python's codec for it.
# UTF-8 goes first and cp950 is only a fallback: cp950 maps most byte pairs to some character,
# so it would "read" a file in another encoding as garbage rather than refuse it.
ENCODINGS = ((UTF8, "utf-8"), (BIG5, "cp950"))
# Comma, and what Excel writes where the decimal mark is a comma (;) or for "Text (Tab)".
DELIMITERS = (",", ";", "\t")


class CsvFault(Exception):
    """The file's form is wrong: the line (0 = the whole file), the field, and why.

    ``template`` is the reason as a translatable message (``%(name)s`` placeholders) and
    ``params`` fill it; ``message`` is it filled in, in English.
    """

    def __init__(
        self, line: int, field: str, template: str, params: dict[str, object] | None = None
    ) -> None:
        self.template = template
        self.params = params or {}
        self.message = template % self.params if params else template
        super().__init__(self.message)
        self.line = line
        self.field = field

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


def decode_csv(data: bytes, max_bytes: int | None = None) -> tuple[str, str]:
    """The file's text and the encoding it was read in (:data:`UTF8` or :data:`BIG5`); a file
    over ``max_bytes`` or in neither encoding is a :class:`CsvFault`."""
    if max_bytes is not None and len(data) > max_bytes:
        raise CsvFault(0, "file", N_("larger than %(n)s MB"), {"n": max_bytes // MEGABYTE})
    bom = data.startswith(UTF8_BOM)
    try:
        return data[len(UTF8_BOM) if bom else 0 :].decode("utf-8"), UTF8
    except UnicodeDecodeError as exc:
        line = data[: exc.start + (len(UTF8_BOM) if bom else 0)].count(b"\n") + 1
    # A byte-order mark says the file means to be UTF-8: its faults are not Big5.
    if not bom:
        try:
            return data.decode("cp950"), BIG5
        except UnicodeDecodeError:
            pass
    tried = " or ".join(name for name, _codec in ENCODINGS)
    raise CsvFault(line, "file", N_("not %(tried)s text (save it as CSV UTF-8)"), {"tried": tried})


def csv_records(text: str, *, strict: bool = False, delimiter: str = ",") -> Iterator[CsvRecord]:
    """The non-blank records of ``text``; broken CSV stops them with a :class:`CsvFault`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict, delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield CsvRecord(line, cells)
            line = reader.line_num + 1
    except csv.Error as exc:  # e.g. a bad quote, or a field past the csv module's size limit
        raise CsvFault(reader.line_num or line, "file", str(exc)) from None


def _first_cells(text: str, delimiter: str) -> tuple[str, ...] | None:
    """The first non-blank record of ``text`` split by ``delimiter``, trimmed (None: broken)."""
    try:
        first = next(csv_records(text, delimiter=delimiter), None)
    except CsvFault:
        return None
    return tuple(cell.strip() for cell in first.cells) if first else ()


def find_delimiter(text: str, headers: Collection[tuple[str, ...]]) -> str:
    """The delimiter that splits the header line into one of ``headers``; failing that, the
    one that splits it into the most cells (so the importer names the wrong column names)."""
    best, most = DELIMITERS[0], 0
    for delimiter in DELIMITERS:
        cells = _first_cells(text, delimiter)
        if cells is None:
            continue
        if cells in headers:
            return delimiter
        if len(cells) > most:
            best, most = delimiter, len(cells)
    return best


class CsvFile:
    """An uploaded CSV file: its header record, read at once, then its rows as they come.

    ``headers`` are the headers the importer takes: they choose the delimiter. ``encoding``
    and ``delimiter`` say how the file was read, for the import's summary."""

    def __init__(
        self,
        data: bytes,
        *,
        headers: Collection[tuple[str, ...]] = (),
        max_bytes: int | None = None,
        strict: bool = False,
    ):
        text, self.encoding = decode_csv(data, max_bytes)
        self.delimiter = find_delimiter(text, headers)
        self._records = csv_records(text, strict=strict, delimiter=self.delimiter)
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
                raise CsvFault(record.line, "file", N_("more than %(n)s rows"), {"n": max_rows})
            if len(record.cells) != width:
                raise CsvFault(
                    record.line,
                    "row",
                    N_("expected %(width)s fields (%(columns)s), found %(found)s"),
                    {"width": width, "columns": ",".join(self.columns), "found": len(record.cells)},
                )
            yield record

"""Whole numbers as people type them: ASCII digits only (docs/ARCHITECTURE.md §9).

Python's ``int()`` also reads full-width ``１``, Arabic ``٣``, ``1_000`` and surrounding spaces,
and ``str.isdigit()`` lets through ``²``, which ``int()`` then refuses. Requests, files and
command options all check text with :func:`is_ascii_int` before ``int()`` reads it.
"""

from __future__ import annotations

import re

# 18 digits keep every accepted value inside a signed 64-bit column (SQLite, PostgreSQL bigint).
MAX_DIGITS = 18
_UNSIGNED = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)
_SIGNED = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)


def is_ascii_int(raw: str, *, signed: bool = False) -> bool:
    """True when ``raw`` is ASCII digits only (with a leading ``-`` if ``signed``)."""
    return (_SIGNED if signed else _UNSIGNED).fullmatch(raw) is not None


# A decimal as people type it: digits, at most one point, an optional leading minus; no
# exponent, no "nan" or "inf", no digits of other scripts (float() reads all of those).
_DECIMAL = re.compile(
    rf"-?(?:[0-9]{{1,{MAX_DIGITS}}}(?:\.[0-9]{{0,{MAX_DIGITS}}})?|\.[0-9]{{1,{MAX_DIGITS}}})",
    re.ASCII,
)


def is_ascii_decimal(raw: str) -> bool:
    """True when ``raw`` is a plain decimal in ASCII digits (``1``, ``1.5``, ``.5``, ``-2``)."""
    return _DECIMAL.fullmatch(raw) is not None

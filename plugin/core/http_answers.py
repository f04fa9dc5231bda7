"""Reading what a peer answers (platform token endpoint, AGS, LRS): bounded, never raising.

The delivery workers (docs/ARCHITECTURE.md §3) call servers the tool does not control; any
header or body they send back is untrusted input. Every helper here gives a usable value or
None for whatever arrives, so that a hostile or broken answer reschedules or fails one row
and never stops a worker.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

# An LRS's answer is read up to this size: enough for a batch's statement ids or an error
# message (platform services have their own, larger cap for roster pages).
MAX_ANSWER_BYTES = 256 * 1024
# An HTTP-date (RFC 9110 §5.6.7) is 29 characters; the obsolete forms are no longer.
MAX_HTTP_DATE_LENGTH = 64
# More digits than this is more than any cap the callers use (a day, a year): no need to
# convert a number a peer made huge (int() refuses over 4300 digits).
MAX_DELAY_DIGITS = 12


def parse_retry_after(value: str | None, now: datetime, cap: float) -> float | None:
    """The ``Retry-After`` header as seconds to wait, between 0 and ``cap``; None when absent
    or not understood.

    RFC 9110 §10.2.3: either delay-seconds, ``1*DIGIT`` with DIGIT the ASCII 0–9 of RFC 5234
    (``str.isdigit`` would also take ``²`` or Arabic-Indic digits, which ``int`` refuses), or
    an HTTP-date. Signs, fractions, NaN and dates without a zone are not understood; a date
    in the past means now; anything longer than ``cap`` waits ``cap``.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if not text or not text.isascii():
        return None
    if text.isdigit():
        if len(text.lstrip("0")) > MAX_DELAY_DIGITS:
            return cap
        return min(float(int(text)), cap)
    if len(text) > MAX_HTTP_DATE_LENGTH:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return cap
    return min(max(0.0, seconds), cap)


def read_capped(response: requests.Response, limit: int, started: float, budget: float) -> bytes:
    """The body of a streamed answer, at most ``limit`` bytes, read within ``budget`` seconds
    of ``started`` (``time.monotonic``): the read timeout bounds each wait, this bounds an
    answer that trickles; a longer body is cut, never read whole into memory.

    Raises :class:`AnswerTooSlow` (a ``requests.Timeout``) past the budget, like a timeout.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=8192):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
        if time.monotonic() - started > budget:
            raise AnswerTooSlow(f"the answer took longer than {budget:.0f} s")
    return b"".join(chunks)[:limit]


class AnswerTooSlow(requests.Timeout):
    """The peer kept sending its answer past the request budget."""


def parse_json(content: bytes) -> Any:
    """The JSON value of a body, or None when it is not JSON (bad bytes, nesting too deep)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def finite_number(value: Any) -> float | None:
    """A JSON number (or numeric string) as a finite float; None for anything else
    (booleans, lists, NaN, infinities)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > MAX_HTTP_DATE_LENGTH:
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None

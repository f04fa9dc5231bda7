"""Peer answers are parsed without trust: Retry-After, JSON bodies and numbers."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest
import requests

from plugin.core.http_answers import (
    MAX_ANSWER_BYTES,
    finite_number,
    parse_json,
    parse_retry_after,
    read_capped,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CAP = 86400.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("0000000000000000000000030", 30.0),
        ("Thu, 01 Jan 2026 12:10:00 GMT", 600.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # a date in the past: now
    ],
)
def test_retry_after_in_either_form_of_rfc_9110_is_read(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW, CAP) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "²",  # U+00B2: str.isdigit() accepts it, int() and float() do not
        "١٢٠",  # Arabic-Indic digits
        "１２０",  # fullwidth digits
        "-5",
        "+5",
        "1.5",
        "1e9",
        "NaN",
        "inf",
        "-inf",
        "",
        None,
        "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 99999 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00",  # no zone
        "soon",
        "x" * 100_000,
    ],
)
def test_retry_after_a_peer_garbled_is_ignored_not_raised(value: str | None) -> None:
    assert parse_retry_after(value, NOW, CAP) is None


@pytest.mark.parametrize(
    "value", ["9" * 5000, "86401", "Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 01 Jan 2050 00:00:00 GMT"]
)
def test_retry_after_further_than_the_cap_waits_the_cap(value: str) -> None:
    assert parse_retry_after(value, NOW, CAP) == CAP


def test_json_bodies_that_are_not_json_give_none() -> None:
    assert parse_json(b'{"a": 1}') == {"a": 1}
    for body in (b"", b"<html>", b"\xff\xfe\x00garbage", b"[" * 200_000, b'{"a": NaN'):
        assert parse_json(body) is None


def test_numbers_are_finite_floats_or_none() -> None:
    assert finite_number(3600) == 3600.0
    assert finite_number("60") == 60.0
    for value in (True, None, [1], {"a": 1}, "nan", "inf", float("nan"), 10**400, "9" * 5000):
        assert finite_number(value) is None


def _streamed(body: bytes) -> tuple[requests.Response, io.BytesIO]:
    raw = io.BytesIO(body)
    response = requests.Response()
    response.status_code = 200
    response.raw = raw
    return response, raw


def test_a_huge_answer_is_read_only_up_to_the_limit() -> None:
    response, raw = _streamed(b"x" * (20 * MAX_ANSWER_BYTES))
    content = read_capped(response, MAX_ANSWER_BYTES, time.monotonic(), 10.0)
    assert len(content) == MAX_ANSWER_BYTES
    assert raw.tell() < 2 * MAX_ANSWER_BYTES  # the rest was never read


def test_an_answer_past_its_time_budget_is_a_timeout() -> None:
    response, _raw = _streamed(b"x" * 100_000)
    with pytest.raises(requests.Timeout):
        read_capped(response, MAX_ANSWER_BYTES, time.monotonic() - 60, 10.0)

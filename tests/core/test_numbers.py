"""Numbers as people type them: ASCII digits only, no exponent, nan or other scripts."""

from __future__ import annotations

import pytest

from plugin.core.numbers import is_ascii_decimal, is_ascii_int


@pytest.mark.parametrize("text", ["0", "7", "1.5", ".5", "2.", "-3", "-0.25", "1" * 18])
def test_plain_decimals_in_ascii_digits_are_numbers(text: str) -> None:
    assert is_ascii_decimal(text)


@pytest.mark.parametrize(
    "text",
    ["", "-", ".", "１.5", "٣", "²", "1e3", "nan", "inf", "1_000", " 1", "1.2.3", "+1", "1" * 19],
)
def test_what_float_would_read_but_a_person_does_not_type_is_refused(text: str) -> None:
    assert not is_ascii_decimal(text)


def test_whole_numbers_take_a_sign_only_when_asked() -> None:
    assert is_ascii_int("12") and not is_ascii_int("-12") and is_ascii_int("-12", signed=True)
    assert not is_ascii_int("１２") and not is_ascii_int("1.0")

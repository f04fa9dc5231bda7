"""Whole numbers from users: one strict reading for query strings, forms, API and URLs.

Python's ``int()`` reads far more than a person types as a number: full-width ``１``, Arabic
``٣``, ``1_000`` and surrounding spaces, while ``str.isdigit()`` lets through ``²`` that
``int()`` then refuses with a ValueError (a 500). Every integer the tool takes from a request
goes through :func:`parse_int`: ASCII digits, a sign only where the caller allows a negative
number, bounded length, and a refusal (400) that names the field in the page's language.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext as _
from marshmallow import fields
from marshmallow.types import ErrorMessages
from werkzeug.routing import BaseConverter

from plugin.core.errors import InvalidInput
from plugin.core.numbers import MAX_DIGITS, is_ascii_int

# Page numbers of listings: far past any real collection, far below an offset overflow.
MAX_PAGE = 1_000_000


def parse_int(
    raw: str | None,
    field: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    signed: bool = False,
) -> int:
    """``raw`` as an int within ``[minimum, maximum]``; otherwise InvalidInput naming ``field``."""
    text = raw if isinstance(raw, str) else ""
    if not is_ascii_int(text, signed=signed) or (
        (minimum is not None and int(text) < minimum)
        or (maximum is not None and int(text) > maximum)
    ):
        raise InvalidInput(_range_message(field, minimum, maximum), field=field)
    return int(text)


def _range_message(field: str, minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return _(
            "%(field)s must be a whole number from %(low)d to %(high)d, "
            "written with the digits 0-9.",
            field=field,
            low=minimum,
            high=maximum,
        )
    if minimum is not None:
        return _(
            "%(field)s must be a whole number from %(low)d, written with the digits 0-9.",
            field=field,
            low=minimum,
        )
    return _("%(field)s must be a whole number written with the digits 0-9.", field=field)


class StrictInteger(fields.Integer):
    """A marshmallow integer that takes JSON numbers, or strings of ASCII digits only.

    marshmallow's own Integer calls ``int()`` on strings, so ``"１"`` would load as 1.
    """

    # Typed as marshmallow declares it (an attribute each field may override), which RUF012's
    # ClassVar would contradict; marshmallow only reads it, merging the classes' dicts.
    default_error_messages: ErrorMessages = {  # noqa: RUF012
        "invalid": "must be a whole number written with the digits 0-9"
    }

    def __init__(self, *, signed: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.signed = signed

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not is_ascii_int(value, signed=self.signed):
                raise self.make_error("invalid")
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 10**MAX_DIGITS:
            return int(value)
        raise self.make_error("invalid")


class AsciiIntegerConverter(BaseConverter):
    """``<int:...>`` in URL rules: ASCII digits only, at most :data:`MAX_DIGITS`.

    werkzeug's own int converter already matches ``\\d+`` on ASCII only, but this one states the
    rule in one place with :func:`parse_int` and bounds the length, so a 40-digit id is "no
    such page" (404) rather than an overflow in the database driver.
    """

    regex = rf"[0-9]{{1,{MAX_DIGITS}}}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        """The matched digits as an int."""
        return int(value)

    def to_url(self, value: Any) -> str:
        """An int as its digits."""
        return str(int(value))


def init_app(app: Flask) -> None:
    """Make ``<int:...>`` in every route the strict converter."""
    app.url_map.converters["int"] = AsciiIntegerConverter

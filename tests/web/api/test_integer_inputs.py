"""Whole numbers from requests: ASCII digits only, everywhere (query, form, API, URL)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, ValidationError
from werkzeug.routing import IntegerConverter

from plugin.core.errors import InvalidInput
from plugin.web.inputs import AsciiIntegerConverter, StrictInteger, parse_int

NOT_ASCII = ["²", "１", "٣", "߁", " 1", "1 ", "1_0", "+1", "0x1", "", "1.0", "9" * 19]


@pytest.mark.parametrize("raw", NOT_ASCII)
def test_parse_int_refuses_anything_but_ascii_digits_naming_the_field(app: Flask, raw: str) -> None:
    with app.test_request_context("/?lang=en"), pytest.raises(InvalidInput) as caught:
        parse_int(raw, "page", minimum=0)
    assert caught.value.field == "page"
    assert caught.value.status == 400
    assert "page" in caught.value.message


def test_parse_int_reads_ascii_digits_and_keeps_the_bounds(app: Flask) -> None:
    with app.test_request_context("/"):
        assert parse_int("42", "n") == 42
        assert parse_int("007", "n") == 7
        assert parse_int("-3", "n", signed=True) == -3
        with pytest.raises(InvalidInput):
            parse_int("-3", "n")  # no sign unless the caller allows negatives
        with pytest.raises(InvalidInput):
            parse_int("101", "percent", minimum=0, maximum=100)


class _Query(Schema):
    page = StrictInteger()


@pytest.mark.parametrize("raw", ["²", "１", "٣", " 1", "1_0", True, 1.5, "9" * 19])
def test_the_api_integer_field_refuses_non_ascii_numbers(raw: object) -> None:
    with pytest.raises(ValidationError) as caught:
        _Query().load({"page": raw})
    assert "page" in caught.value.messages


def test_the_api_integer_field_reads_ascii_digits_and_json_numbers() -> None:
    assert _Query().load({"page": "12"}) == {"page": 12}
    assert _Query().load({"page": 12}) == {"page": 12}


@pytest.mark.parametrize("raw", ["²", "１", "٣"])
def test_api_paging_with_non_ascii_digits_is_a_400_naming_the_field(
    client: FlaskClient,
    all_scopes: dict[str, str],
    raw: str,
) -> None:
    for name in ("page", "per_page"):
        response = client.get(f"/api/v1/modules?{name}={raw}", headers=all_scopes)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["error"]["field"] == name
        assert client.get(f"/api/v1/modules?{name}=1", headers=all_scopes).status_code == 200


def test_every_int_route_uses_the_ascii_converter(app: Flask) -> None:
    converters = [
        converter for rule in app.url_map.iter_rules() for converter in rule._converters.values()
    ]
    assert app.url_map.converters["int"] is AsciiIntegerConverter
    assert any(isinstance(c, AsciiIntegerConverter) for c in converters)
    assert not any(isinstance(c, IntegerConverter) for c in converters)


def test_a_full_width_id_in_the_url_names_no_person(
    client: FlaskClient,
    all_scopes: dict[str, str],
) -> None:
    # werkzeug's own converter matches \d+ (any Unicode decimal), so "/persons/１" was person 1.
    for path in ("/api/v1/persons/１", "/api/v1/persons/²", "/api/v1/persons/" + "9" * 40):
        response = client.get(path, headers=all_scopes)
        assert response.status_code == 404, path

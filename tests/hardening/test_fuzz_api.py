"""Fuzzed calls of every route in the API's OpenAPI document: never a 500, writes nothing.

Path parameters, query strings (page, per_page and filters of wrong types, huge and negative
numbers, unicode, repeated and unknown parameters) and credentials (malformed bearer tokens,
wrong schemes, long values, launch tokens) are generated from the document's own parameter
list, on PostgreSQL (SQLite where none answers outside CI). A refusal is JSON naming its
code, a 400 names the parameter at fault, and no statement writes a row: the API only reads
(the token's ``last_used_at`` hint aside, see plugin/organisations/tokens.py, and the access audit's
entry for an answer that reads someone's records, docs/ARCHITECTURE.md §10; a refusal writes
no audit entry either).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hypothesis import event, given
from hypothesis import strategies as st

from plugin.competencies.framework import get_framework
from plugin.organisations.tokens import SCOPES, create_token
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import EvidenceInput, record_evidence
from plugin.rollup.learners import learner_for
from plugin.web.api.declare import PREFIX
from plugin.web.api.openapi import build_spec
from tests.support.flows import TOOL, launch_token, registered_flow
from tests.support.fuzz import (
    any_text,
    fuzz_settings,
    nasty_text,
    sql_writes,
)

SPEC = build_spec()
OPERATIONS = {path: ops["get"] for path, ops in SPEC["paths"].items()}


@pytest.fixture
def credentials(fuzz_app: Flask) -> dict[str, str]:
    """A learner launched through the test platform with one piece of evidence, their launch
    token, a token with every scope and one with a single scope."""
    with registered_flow(fuzz_app) as flow:
        launch = launch_token(flow)
        issuer = flow.platform.issuer
    settings = fuzz_app.extensions["plugin.settings"]
    with fuzz_app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        evidence = EvidenceInput(
            item_id="DC1-K2", level=1, score=1.0, observed_at=datetime(2026, 1, 5, tzinfo=UTC),
            source_kind="statement", source_id=str(uuid.uuid4()),
        )  # fmt: skip
        learner = learner_for(session, issuer, "learner-001")
        record_evidence(session, learner, [evidence], framework, rollup_config(settings.rollup))
        _row, every_scope = create_token(session, "fuzz", SCOPES)
        _row, one_scope = create_token(session, "fuzz-one", ["read:modules"])
    return {"launch": launch, "every_scope": every_scope, "one_scope": one_scope}


def _path_value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("type") == "integer":
        numbers = st.integers(-5, 5) | st.integers() | st.just(2**31) | st.just(10**40)
        return numbers.map(str) | nasty_text()
    known = st.sampled_from(["tw-civil-service-dc", "tw-civil-service-dc.C1-T1", "DC1"])
    return known | any_text()


def _query_value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("type") == "integer":
        good = [str(schema.get("minimum", 1)), str(schema.get("maximum", 1))]
        wrong = st.integers().map(str) | st.sampled_from(
            ["1.5", "1e3", "0x10", " 2", "２", "-0", "+1", "9" * 400, ""]
        )
    else:
        good = ["DC1-K2", "tw-civil-service-dc", "https://lms.example.edu", "learner-001"]
        wrong = st.integers().map(str)
    return st.sampled_from(good) | wrong | any_text()


def _authorization(tokens: dict[str, str]) -> st.SearchStrategy[str | None]:
    tokens_ok = [f"Bearer {tokens['every_scope']}", f"Bearer {tokens['one_scope']}"]
    malformed = st.sampled_from(
        [
            "Bearer",
            "Bearer ",
            "bearer " + tokens["every_scope"],
            "Basic dXNlcjpwYXNz",
            "Bearer dct..",
            "Bearer dct.x.y.z",
            "Bearer " + tokens["every_scope"][:-1],
            "Bearer " + tokens["every_scope"] + "x",
            "Bearer lt." + tokens["launch"],
            "Bearer lt.",
            "Bearer " + "A" * 10_000,
        ]
    )
    # A header is Latin-1 on the wire (WSGI decodes it so); line breaks cannot be sent.
    latin = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60)
    schemes = st.sampled_from(["Bearer ", "Bearer dct.", "Bearer lt.", "Token ", ""])
    return (
        st.none()
        | st.sampled_from(tokens_ok)
        | malformed
        | st.builds(lambda scheme, value: scheme + value, schemes, latin)
    )


def _quoted(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _request(
    data: st.DataObject, path: str, credentials: dict[str, str]
) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    """A generated call of ``path``: its URL, query pairs and headers."""
    parameters = OPERATIONS[path].get("parameters", [])
    url = path
    for parameter in (p for p in parameters if p["in"] == "path"):
        value = data.draw(_path_value(parameter["schema"]), label=parameter["name"])
        url = url.replace("{" + parameter["name"] + "}", _quoted(value))
    query: list[tuple[str, str]] = []
    for parameter in (p for p in parameters if p["in"] == "query"):
        for _copy in range(data.draw(st.sampled_from([0, 1, 1, 2]), label=parameter["name"])):
            query.append((parameter["name"], data.draw(_query_value(parameter["schema"]))))
    unknown = data.draw(st.lists(st.tuples(nasty_text(12), any_text()), max_size=2), "unknown")
    query += [(name, value) for name, value in unknown if name]
    if data.draw(st.booleans(), label="lt"):
        query.append(("lt", data.draw(st.just(credentials["launch"]) | any_text(), "lt value")))
    authorization = data.draw(_authorization(credentials), label="Authorization")
    headers = {} if authorization is None else {"Authorization": authorization}
    return url, query, headers


def _is_last_used_hint(statement: str) -> bool:
    return (
        re.match(r"UPDATE api_tokens SET last_used_at=[^,]* WHERE api_tokens\.id = ", statement)
        is not None
    )


def _is_audit_entry(statement: str) -> bool:
    return statement.startswith("INSERT INTO privacy_audit ")


@fuzz_settings(max_examples=12)
@given(data=st.data())
def test_fuzzed_api_calls_are_answered_in_json_never_a_500_and_write_nothing(
    fuzz_app: Flask, credentials: dict[str, str], data: st.DataObject
) -> None:
    client = fuzz_app.test_client()
    for path in sorted(OPERATIONS):  # every route, every example
        url, query, headers = _request(data, path, credentials)
        with sql_writes(fuzz_app) as writes:
            response = client.get(
                url,
                query_string=urlencode(query, encoding="utf-8", errors="surrogatepass"),
                headers=headers,
                base_url=TOOL,
            )
        text = response.get_data(as_text=True)[:2000]
        event(f"HTTP {response.status_code}")
        assert response.status_code < 500, (url, text)
        assert response.mimetype == "application/json", (url, text)
        body = response.get_json()
        if response.status_code >= 400:
            error = body["error"]
            assert re.fullmatch(r"[a-z_]+", error["code"]) and error["message"], error
            if response.status_code in (400, 422):
                # The field names the parameter at fault, as the query string spelled it.
                sent = {name for name, _value in query}
                assert error.get("field") in sent, (url, error, sent)
            if response.status_code == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        else:
            assert response.status_code == 200 and isinstance(body, dict), (url, body)
        allowed = _is_audit_entry if response.status_code == 200 else (lambda _w: False)
        unexpected = [w for w in writes if not (_is_last_used_hint(w) or allowed(w))]
        assert unexpected == [], (url, writes)


def test_the_fuzzed_routes_are_every_route_of_the_api(app: Flask) -> None:
    served = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX)
    }
    assert served == set(OPERATIONS)

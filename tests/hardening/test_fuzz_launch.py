"""Fuzzed OIDC logins and launches: never a 500, and a refusal writes nothing.

Three kinds of input, on PostgreSQL (which refuses NUL characters, NaN in JSON and
over-long values where SQLite stores anything): garbage login parameters; garbage launch
POSTs (not JWTs, broken base64, wrong segment counts, unsigned tokens with hostile claims);
and id_tokens validly signed by the registered platform, after a real login (so the state
and nonce are right and validation reaches the claims), whose LTI claims have the wrong
types and shapes. ``plugin.lti.launch`` promises that a refusal stores nothing except the
first sight of an unknown deployment, recorded inactive for an administrator.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import currently_in_test_context, event, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module
from plugin.lti.claims import (
    CLAIM_AGS_ENDPOINT,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEEP_LINKING_SETTINGS,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_LAUNCH_PRESENTATION,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    CLAIM_TARGET_LINK_URI,
    CLAIM_TOOL_PLATFORM,
    CLAIM_VERSION,
)
from tests.support.app import IRI_BASE
from tests.support.flows import TOOL, Flow, register
from tests.support.fuzz import (
    Snapshot,
    any_text,
    fuzz_settings,
    json_values,
    launch_refusal_code,
    nasty_text,
    snapshot,
    written,
)
from tests.support.platform import ROLE, TestPlatform, running_platform

LOGIN_PARAMS = (
    "iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id",
    "lti_deployment_id", "lti_storage_target",
)  # fmt: skip
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]


def _make_module(app: Flask) -> str:
    """A catalog module that a launch's ``module_key`` custom parameter places on its link."""
    data = {
        "title_zh": "模糊測試單元",
        "title_en": "Fuzzed module",
        "hours": 1,
        "content_markdown_zh": "內容",
        "content_markdown_en": "Content",
    }
    with app.extensions["plugin.db"].session_scope() as session:
        return create_module(session, data, get_framework(session), IRI_BASE).key


@pytest.fixture
def module_key(fuzz_app: Flask) -> str:
    """A module of ``fuzz_app`` that fuzzed resource-link launches open."""
    return _make_module(fuzz_app)


@pytest.fixture
def fuzz_flow(fuzz_app: Flask) -> Iterator[Flow]:
    """Login/launch driver of a platform registered with ``fuzz_app``."""
    with running_platform() as platform:
        register(fuzz_app, platform)
        yield Flow(fuzz_app.test_client(), platform)


def _form(fields: dict[str, str]) -> bytes:
    """A urlencoded body; a lone surrogate becomes bytes that are not UTF-8, as a broken
    client would send."""
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _post_form(flow: Flow, path: str, fields: dict[str, str], *, json_reply: bool) -> TestResponse:
    headers = {"Accept": "application/json"} if json_reply else {}
    return flow.client.post(
        path,
        data=_form(fields),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
        base_url=TOOL,
    )


def _assert_refused_and_nothing_written(
    response: TestResponse, before: Snapshot, app: Flask, pending_deployment: str | None = None
) -> str:
    code = launch_refusal_code(response)
    if currently_in_test_context():  # the fuzz tests count refusals by code
        event(f"refused: {code}")
    changes = written(before, snapshot(app))
    if code == "deployment_pending":
        # The one documented write of a refusal: an unknown deployment is recorded, inactive,
        # on first sight (a later example may launch from the same one again).
        rows = changes.pop("lti_deployments", {"added": [], "removed": []})
        assert rows["removed"] == [] and len(rows["added"]) <= 1, rows
        recorded = [json.loads(row) for row in before["lti_deployments"]] + rows["added"]
        pending = [row for row in recorded if row["deployment_id"] == pending_deployment]
        assert len(pending) == 1 and pending[0]["active"] is False, (pending_deployment, rows)
    assert changes == {}, (code, changes)
    return code


# --- login ------------------------------------------------------------------------------------


def _valid_login(platform: TestPlatform) -> dict[str, str]:
    return {
        "iss": platform.issuer,
        "login_hint": "hint-1",
        "target_link_uri": "https://tool.test/lti/launch",
        "lti_message_hint": "msg-hint",
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
        "lti_storage_target": "_parent",
    }


# Some parameters dropped or replaced, the others valid (so a login can also succeed).
login_changes = st.dictionaries(st.sampled_from(LOGIN_PARAMS), st.none() | any_text(), max_size=3)


@fuzz_settings(max_examples=16)
@given(
    changes=login_changes,
    extra=st.dictionaries(nasty_text(12).filter(bool), any_text(), max_size=2),
    post=st.booleans(),
    json_reply=st.booleans(),
)
def test_fuzzed_login_is_refused_or_answered_never_a_500(
    fuzz_flow: Flow,
    fuzz_app: Flask,
    changes: dict[str, str | None],
    extra: dict[str, str],
    post: bool,
    json_reply: bool,
) -> None:
    fields = {**extra, **_valid_login(fuzz_flow.platform), **changes}
    fields = {name: value for name, value in fields.items() if value is not None}
    before = snapshot(fuzz_app)
    if post:
        response = _post_form(fuzz_flow, "/lti/login", fields, json_reply=json_reply)
    else:
        query = urlencode(fields, encoding="utf-8", errors="surrogatepass")
        headers = {"Accept": "application/json"} if json_reply else {}
        response = fuzz_flow.client.get(
            "/lti/login", query_string=query, headers=headers, base_url=TOOL
        )
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    if response.status_code >= 400:
        _assert_refused_and_nothing_written(response, before, fuzz_app)
        return
    # Accepted: a redirect to the platform, or the platform-storage page; one login state.
    event(f"accepted: HTTP {response.status_code}")
    assert response.status_code in (200, 302), response.status_code
    stored = written(before, snapshot(fuzz_app))
    states = stored.pop("lti_login_states")
    assert len(states["added"]) == 1, states
    assert stored == {}, stored


# --- garbage launch POSTs ---------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_json(value: Any) -> str:
    return _b64(json.dumps(value).encode("utf-8", "surrogatepass"))


segments = (
    st.binary(max_size=40).map(_b64)
    | json_values().map(_b64_json)
    | nasty_text()
    | st.just("")
    | st.just("eyJhbGciOiJSUzI1NiJ9")
)
garbage_tokens = (
    any_text()
    | st.lists(segments, max_size=5).map(".".join)
    | st.tuples(json_values(), json_values(), segments).map(
        lambda parts: f"{_b64_json(parts[0])}.{_b64_json(parts[1])}.{parts[2]}"
    )
)


def _unsigned_token(platform: TestPlatform, nonce: str, data: st.DataObject) -> str:
    """An RS256-looking token of the platform whose claims may be hostile: refused when the
    signature is checked, after the issuer and audience have been looked up."""
    body: dict[str, Any] = platform.claims(nonce)
    for claim in data.draw(st.lists(st.sampled_from(sorted(body)), max_size=3)):
        body[claim] = data.draw(json_values(), label=claim)
    header = data.draw(
        st.sampled_from([{"alg": "RS256", "kid": platform.kid}]) | json_values(), label="header"
    )
    return f"{_b64_json(header)}.{_b64_json(body)}.{data.draw(segments, label='signature')}"


@fuzz_settings(max_examples=25)
@given(data=st.data(), json_reply=st.booleans())
def test_garbage_launch_post_is_refused_and_writes_nothing(
    fuzz_flow: Flow, fuzz_app: Flask, data: st.DataObject, json_reply: bool
) -> None:
    auth = fuzz_flow.login()
    kind = data.draw(st.sampled_from(["garbage", "unsigned", "signed"]), label="kind")
    if kind == "garbage":
        id_token = data.draw(garbage_tokens, label="id_token")
    elif kind == "unsigned":
        id_token = _unsigned_token(fuzz_flow.platform, auth["nonce"], data)
    else:  # a good token with a garbage state: refused when the state is looked up
        id_token = fuzz_flow.platform.sign(fuzz_flow.platform.claims(auth["nonce"]))
    good_state = [] if kind == "signed" else [auth["state"]]
    state = data.draw(st.sampled_from([*good_state, None]) | any_text(), label="state")
    fields = {"id_token": id_token, "state": state}
    fields.update(data.draw(st.dictionaries(nasty_text(12), any_text(), max_size=2), label="extra"))
    before = snapshot(fuzz_app)
    response = _post_form(
        fuzz_flow,
        "/lti/launch",
        {key: value for key, value in fields.items() if value is not None},
        json_reply=json_reply,
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    _assert_refused_and_nothing_written(response, before, fuzz_app)


# --- validly signed, structurally malformed claims --------------------------------------------

urls = st.sampled_from(
    ["https://lms.example.edu/api/lineitems/7", "javascript:alert(1)", "ftp://x", "", "//x", "\x00"]
) | any_text(30)
strings_or_any = any_text() | json_values()

# Per LTI claim: values of the right shape with hostile contents, and values of wrong shapes.
CLAIM_VALUES: dict[str, st.SearchStrategy[Any]] = {
    CLAIM_MESSAGE_TYPE: st.sampled_from(["LtiResourceLinkRequest", "LtiDeepLinkingRequest"])
    | strings_or_any,
    CLAIM_VERSION: st.sampled_from(["1.3.0", "1.1", "1.3"]) | strings_or_any,
    CLAIM_DEPLOYMENT_ID: st.sampled_from(["deployment-1", "deployment-2"]) | strings_or_any,
    CLAIM_TARGET_LINK_URI: urls | json_values(),
    CLAIM_ROLES: st.lists(
        st.sampled_from([ROLE + "Learner", ROLE + "Instructor", "Administrator", "#", "/"])
        | any_text(),
        max_size=4,
    )
    | json_values(),
    CLAIM_RESOURCE_LINK: st.fixed_dictionaries(
        {}, optional={"id": strings_or_any, "title": strings_or_any}
    )
    | json_values(),
    CLAIM_CONTEXT: st.fixed_dictionaries(
        {}, optional={key: strings_or_any for key in ("id", "title", "label", "type")}
    )
    | json_values(),
    CLAIM_CUSTOM: st.dictionaries(
        st.sampled_from(["module_key", "grade", "employee_id"]) | nasty_text(12),
        strings_or_any,
        max_size=4,
    )
    | json_values(),
    CLAIM_LAUNCH_PRESENTATION: st.fixed_dictionaries(
        {},
        optional={
            "return_url": urls | json_values(),
            "locale": strings_or_any,
            "document_target": strings_or_any,
        },
    )
    | json_values(),
    CLAIM_TOOL_PLATFORM: st.fixed_dictionaries({}, optional={"name": strings_or_any})
    | json_values(),
    CLAIM_DEEP_LINKING_SETTINGS: st.fixed_dictionaries(
        {},
        optional={
            "deep_link_return_url": urls | json_values(),
            "accept_types": st.lists(st.sampled_from(["ltiResourceLink", "file"]) | any_text())
            | json_values(),
            "accept_presentation_document_targets": st.lists(any_text()) | json_values(),
            "accept_multiple": json_values(),
            "data": json_values(),
        },
    )
    | json_values(),
    CLAIM_AGS_ENDPOINT: st.fixed_dictionaries(
        {},
        optional={
            "scope": st.just(AGS_SCOPES) | json_values(),
            "lineitem": urls | json_values(),
            "lineitems": urls | json_values(),
        },
    )
    | json_values(),
    CLAIM_NRPS: st.fixed_dictionaries(
        {},
        optional={
            "context_memberships_url": urls | json_values(),
            "service_versions": st.lists(any_text()) | json_values(),
        },
    )
    | json_values(),
    # Identity claims: kept (trimmed) on the person while the platform sends them.
    "name": strings_or_any,
    "given_name": strings_or_any,
    "family_name": strings_or_any,
    "email": strings_or_any,
    "locale": st.sampled_from(["en", "zh-TW", "zh_TW", ""]) | strings_or_any,
    "sub": st.sampled_from(["learner-002"]) | any_text(),
}


@fuzz_settings(max_examples=40)
@given(data=st.data(), deep_linking=st.booleans())
def test_signed_launch_with_malformed_claims_is_refused_or_opens_never_a_500(
    fuzz_flow: Flow, fuzz_app: Flask, module_key: str, data: st.DataObject, deep_linking: bool
) -> None:
    platform = fuzz_flow.platform
    auth = fuzz_flow.login()
    body = (
        platform.deep_linking_claims(auth["nonce"])
        if deep_linking
        else platform.claims(auth["nonce"], **{CLAIM_CUSTOM: {"module_key": module_key}})
    )
    for claim in data.draw(st.lists(st.sampled_from(sorted(CLAIM_VALUES)), max_size=4)):
        if data.draw(st.integers(0, 5), label=f"drop {claim}") == 0:
            body.pop(claim, None)
        else:
            body[claim] = data.draw(CLAIM_VALUES[claim], label=claim)
    before = snapshot(fuzz_app)
    response = fuzz_flow.launch(platform.sign(body), auth["state"])
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    if response.status_code == 303:
        event("accepted")
        changes = written(before, snapshot(fuzz_app))
        assert len(changes["lti_launches"]["added"]) == 1, changes
        page = fuzz_flow.client.get(response.headers["Location"], base_url=TOOL)
        assert page.status_code < 500, page.get_data(as_text=True)[:2000]
        return
    deployment = body.get(CLAIM_DEPLOYMENT_ID)
    _assert_refused_and_nothing_written(
        response, before, fuzz_app, deployment if isinstance(deployment, str) else None
    )


# --- regressions: what the fuzzing found ------------------------------------------------------


@pytest.fixture
def sqlite_flow(app: Flask) -> Iterator[Flow]:
    """Login/launch driver of a platform registered with the SQLite ``app``."""
    with running_platform() as platform:
        register(app, platform)
        yield Flow(app.test_client(), platform)


def _refused_launch(
    app: Flask, flow: Flow, overrides: dict[str, Any], *, deep_linking: bool = False
) -> str:
    """Login, launch with the platform's claims changed by ``overrides``; assert a refusal
    that wrote nothing (the login's own state aside) and return the page text."""
    auth = flow.login()
    make = flow.platform.deep_linking_claims if deep_linking else flow.platform.claims
    before = snapshot(app)
    response = flow.launch(flow.platform.sign(make(auth["nonce"], **overrides)), auth["state"])
    assert _assert_refused_and_nothing_written(response, before, app) == "invalid_claim"
    return response.get_data(as_text=True)


UNSTORABLE_CLAIMS = {
    "email": {"email": "\x00"},  # PostgreSQL: "text fields cannot contain NUL (0x00) bytes"
    "resource_link": {CLAIM_RESOURCE_LINK: {"id": "\x00" * 3}},  # the same, on lti_launches
    "name": {"name": "\ud800"},  # an unpaired surrogate has no UTF-8 form on either database
    "custom": {CLAIM_CUSTOM: {"weight": float("nan")}},  # not JSON: PostgreSQL refuses it
}


def test_signed_launch_with_a_claim_no_database_can_store_is_refused_not_a_500(
    fuzz_flow: Flow, fuzz_app: Flask
) -> None:
    for claim, overrides in UNSTORABLE_CLAIMS.items():
        auth = fuzz_flow.login()
        body = fuzz_flow.platform.claims(auth["nonce"], **overrides)
        before = snapshot(fuzz_app)
        response = fuzz_flow.launch(fuzz_flow.platform.sign(body), auth["state"])
        assert _assert_refused_and_nothing_written(response, before, fuzz_app) == "invalid_claim"
        assert f"claim {claim} is not valid" in response.get_data(as_text=True)


def test_nul_in_what_the_tool_looks_up_is_refused_not_a_500(
    fuzz_flow: Flow, fuzz_app: Flask
) -> None:
    platform = fuzz_flow.platform
    # The login's issuer: PostgreSQL refused the lookup of the registration.
    before = snapshot(fuzz_app)
    response = fuzz_flow.login_response(iss=platform.issuer + "\x00")
    code = _assert_refused_and_nothing_written(response, before, fuzz_app)
    assert code == "login_invalid_parameter"
    assert "parameter iss contains" in response.get_data(as_text=True)
    # An unsigned token's issuer, looked up before the signature can be checked.
    auth = fuzz_flow.login()
    body = platform.claims(auth["nonce"], iss=platform.issuer + "\x00")
    token = f"{_b64_json({'alg': 'RS256', 'kid': platform.kid})}.{_b64_json(body)}.c2ln"
    before = snapshot(fuzz_app)
    response = fuzz_flow.launch(token, auth["state"])
    assert _assert_refused_and_nothing_written(response, before, fuzz_app) == "invalid_claim"
    # A good token's state, looked up once the signature holds.
    auth = fuzz_flow.login()
    token = platform.sign(platform.claims(auth["nonce"]))
    before = snapshot(fuzz_app)
    response = fuzz_flow.launch(token, auth["state"] + "\x00")
    assert _assert_refused_and_nothing_written(response, before, fuzz_app) == "state_unknown"


def test_deployment_id_that_is_not_a_string_is_refused_not_recorded(
    sqlite_flow: Flow, app: Flask
) -> None:
    # Each used to be recorded as a new deployment awaiting approval, named by its str().
    for deployment_id in (5, ["deployment-2"], {"id": "deployment-2"}, True):
        text = _refused_launch(app, sqlite_flow, {CLAIM_DEPLOYMENT_ID: deployment_id})
        assert "claim deployment_id is not valid: must be a string" in text


@pytest.mark.parametrize(
    "overrides",
    [
        {CLAIM_AGS_ENDPOINT: {"scope": 1, "lineitem": "https://lms.example.edu/li/1"}},
        {CLAIM_AGS_ENDPOINT: {"scope": AGS_SCOPES, "lineitem": {"url": "https://x"}}},
        {CLAIM_AGS_ENDPOINT: {"scope": AGS_SCOPES, "lineitem": "https://x/" + "l" * 1000}},
        {CLAIM_AGS_ENDPOINT: ["https://lms.example.edu/li/1"]},
        {CLAIM_TOOL_PLATFORM: "Moodle"},
        {CLAIM_RESOURCE_LINK: {"id": ["link-1"]}},
    ],
    ids=[
        "ags_scope_a_number", "ags_lineitem_an_object", "ags_lineitem_too_long", "ags_a_list",
        "tool_platform_a_string", "resource_link_id_a_list",
    ],
)  # fmt: skip
def test_service_claim_of_the_wrong_shape_is_refused_at_launch_not_a_500_later(
    sqlite_flow: Flow, app: Flask, overrides: dict[str, Any]
) -> None:
    # "scope": 1 used to be accepted, then the module page failed with a TypeError
    # (SCORE_SCOPE in 1); an AGS line item URL of another type was stored as its str().
    placed = {CLAIM_CUSTOM: {"module_key": _make_module(app)}}
    _refused_launch(app, sqlite_flow, {**placed, **overrides})


def test_deep_linking_launch_with_a_resource_link_that_is_no_object_is_refused_not_a_500(
    sqlite_flow: Flow, app: Flask
) -> None:
    # _record_launch called .get on it: AttributeError, a 500 (found as resource_link = 1).
    text = _refused_launch(app, sqlite_flow, {CLAIM_RESOURCE_LINK: 1}, deep_linking=True)
    assert "claim resource_link is not valid: must be an object" in text

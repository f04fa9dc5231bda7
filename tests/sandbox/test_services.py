"""The sandbox's token endpoint, AGS and NRPS, called the way a tool calls them."""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest
from flask import Flask
from werkzeug.test import TestResponse

from tests.support.sandbox import (
    CONTEXT_URL,
    PLATFORM,
    TOKEN_URL,
    Browser,
    access_token,
    client_assertion,
    request_token,
    token_request,
)

SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
RESULTS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
MEMBERSHIPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NEXT_LINK = re.compile(r'^<([^>]+)>; rel="next"$')


def call(
    browser: Browser, method: str, url: str, token: str | None = None, **kwargs: Any
) -> TestResponse:
    """A service call with an optional bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return browser.open(method, url, headers=headers, **kwargs)


def seeded_line_item_url(browser: Browser, token: str) -> str:
    """The URL of the seeded link's line item."""
    items = call(browser, "GET", CONTEXT_URL + "/lineitems", token)
    assert items.status_code == 200, items.get_data(as_text=True)
    assert items.headers["Content-Type"] == "application/vnd.ims.lis.v2.lineitemcontainer+json"
    (item,) = items.json
    return item["id"]


def post_score(browser: Browser, url: str, token: str, **score: Any) -> TestResponse:
    """POST a score to a line item; keyword arguments replace members, or drop when None."""
    body = {
        "userId": "sandbox-learner",
        "scoreGiven": 85,
        "scoreMaximum": 100,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-05-04T10:00:00.000+08:00",
        **score,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return call(browser, "POST", url + "/scores", token, json=body, content_type=SCORE_MEDIA)


def test_token_endpoint_issues_a_token_for_an_assertion_signed_by_the_tool_key(
    browser: Browser, sandbox_app: Flask
) -> None:
    response = request_token(browser, sandbox_app)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert set(body["scope"].split()) == {
        LINEITEM_SCOPE,
        RESULTS_SCOPE,
        SCORE_SCOPE,
        MEMBERSHIPS_SCOPE,
    }
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("override", "claim"),
    [
        ({"aud": PLATFORM + "/elsewhere"}, "aud"),
        ({"iss": "another-tool"}, "iss"),
        ({"sub": "another-tool"}, "sub"),
        ({"jti": None}, "jti"),
    ],
)
def test_token_endpoint_refuses_an_assertion_with_a_wrong_claim(
    browser: Browser, sandbox_app: Flask, override: dict[str, Any], claim: str
) -> None:
    assertion = client_assertion(sandbox_app, **override)
    response = browser.post(TOKEN_URL, token_request(assertion))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    assert claim in response.json["error_description"]


def test_token_endpoint_refuses_a_replayed_assertion(browser: Browser, sandbox_app: Flask) -> None:
    form = token_request(client_assertion(sandbox_app))
    assert browser.post(TOKEN_URL, form).status_code == 200
    replay = browser.post(TOKEN_URL, form)
    assert replay.status_code == 401
    assert "used before" in replay.json["error_description"]


def test_token_endpoint_refuses_an_expired_assertion(browser: Browser, sandbox_app: Flask) -> None:
    past = int(time.time()) - 600
    assertion = client_assertion(sandbox_app, iat=past, exp=past + 60)
    response = browser.post(TOKEN_URL, token_request(assertion))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


@pytest.mark.parametrize(
    "param", ["grant_type", "client_assertion_type", "client_assertion", "scope"]
)
def test_token_endpoint_names_a_missing_parameter(
    browser: Browser, sandbox_app: Flask, param: str
) -> None:
    form = token_request(client_assertion(sandbox_app))
    del form[param]
    response = browser.post(TOKEN_URL, form)
    assert response.status_code == 400
    assert response.json == {
        "error": "invalid_request",
        "error_description": f"{param} is required",
    }


def test_token_endpoint_refuses_other_grant_types_and_unknown_scopes(
    browser: Browser, sandbox_app: Flask
) -> None:
    form = token_request(client_assertion(sandbox_app))
    form["grant_type"] = "password"
    assert browser.post(TOKEN_URL, form).json["error"] == "unsupported_grant_type"
    form = token_request(client_assertion(sandbox_app), scope="https://example.test/scope/all")
    response = browser.post(TOKEN_URL, form)
    assert (response.status_code, response.json["error"]) == (400, "invalid_scope")


def test_posted_score_shows_in_the_results_and_the_gradebook(
    browser: Browser, sandbox_app: Flask
) -> None:
    token = access_token(browser, sandbox_app)
    line_item = seeded_line_item_url(browser, token)
    posted = post_score(browser, line_item, token, comment="做得好")
    assert posted.status_code == 201, posted.get_data(as_text=True)

    results = call(browser, "GET", line_item + "/results", token)
    assert results.status_code == 200
    assert results.headers["Content-Type"] == "application/vnd.ims.lis.v2.resultcontainer+json"
    (result,) = results.json
    assert result["userId"] == "sandbox-learner"
    assert (result["resultScore"], result["resultMaximum"]) == (85, 100)
    assert result["scoreOf"] == line_item
    assert result["comment"] == "做得好"

    book = browser.get(PLATFORM + "/sandbox/gradebook?as=designer").get_data(as_text=True)
    row = book[book.index("王小明") :]
    row = row[: row.index("</tr>")]
    assert "85 / 100" in row and "Completed" in row and "FullyGraded" in row


def test_a_later_score_replaces_the_result_and_an_older_one_does_not(
    browser: Browser, sandbox_app: Flask
) -> None:
    token = access_token(browser, sandbox_app)
    line_item = seeded_line_item_url(browser, token)
    assert post_score(browser, line_item, token).status_code == 201
    later = post_score(browser, line_item, token, scoreGiven=95, timestamp="2026-05-04T03:00:01Z")
    assert later.status_code == 200
    older = post_score(browser, line_item, token, scoreGiven=10, timestamp="2026-05-01T00:00:00Z")
    assert older.status_code == 409
    assert older.json["error"]["field"] == "timestamp"
    (result,) = call(browser, "GET", line_item + "/results", token).json
    assert result["resultScore"] == 95


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("userId", "someone-else"),
        ("activityProgress", "Done"),
        ("gradingProgress", None),
        ("timestamp", "yesterday"),
        ("timestamp", "2026-05-04T10:00:00"),
        ("scoreGiven", -1),
        ("scoreMaximum", None),
    ],
)
def test_bad_score_is_refused_naming_the_member(
    browser: Browser, sandbox_app: Flask, member: str, value: Any
) -> None:
    token = access_token(browser, sandbox_app)
    line_item = seeded_line_item_url(browser, token)
    response = post_score(browser, line_item, token, **{member: value})
    assert response.status_code == 400
    assert response.json["error"]["field"] == member


def test_tool_created_line_item_is_listed_and_can_be_read(
    browser: Browser, sandbox_app: Flask
) -> None:
    token = access_token(browser, sandbox_app)
    created = call(
        browser,
        "POST",
        CONTEXT_URL + "/lineitems",
        token,
        json={"label": "期末測驗 Final quiz", "scoreMaximum": 20, "tag": "quiz"},
        content_type="application/vnd.ims.lis.v2.lineitem+json",
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    url = created.json["id"]
    assert created.headers["Location"] == url
    shown = call(browser, "GET", url, token)
    assert shown.json == {
        "id": url,
        "label": "期末測驗 Final quiz",
        "scoreMaximum": 20,
        "tag": "quiz",
    }
    tagged = call(browser, "GET", CONTEXT_URL + "/lineitems?tag=quiz", token)
    assert [item["id"] for item in tagged.json] == [url]
    bad = call(browser, "POST", CONTEXT_URL + "/lineitems", token, json={"label": "x"})
    assert (bad.status_code, bad.json["error"]["field"]) == (400, "scoreMaximum")


def test_nrps_lists_the_three_members_in_pages(browser: Browser, sandbox_app: Flask) -> None:
    token = access_token(browser, sandbox_app, scope=MEMBERSHIPS_SCOPE)
    first = call(browser, "GET", CONTEXT_URL + "/memberships?limit=2", token)
    assert first.status_code == 200, first.get_data(as_text=True)
    media = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    assert first.headers["Content-Type"] == media
    assert first.json["id"] == CONTEXT_URL + "/memberships"
    assert first.json["context"] == {
        "id": "sandbox-course-1",
        "label": "DC101",
        "title": "數位職能入門（示範課程）",
    }
    match = NEXT_LINK.match(first.headers["Link"])
    assert match, first.headers["Link"]
    second = call(browser, "GET", match.group(1), token)
    assert second.status_code == 200
    assert "Link" not in second.headers
    members = first.json["members"] + second.json["members"]
    assert [m["user_id"] for m in members] == [
        "sandbox-learner",
        "sandbox-designer",
        "sandbox-admin",
    ]
    assert [m["name"] for m in members] == ["王小明", "林雅婷", "陳志豪"]
    assert all(m["status"] == "Active" and "email" not in m for m in members)
    learners = call(browser, "GET", CONTEXT_URL + "/memberships?role=Learner", token).json
    assert [m["user_id"] for m in learners["members"]] == ["sandbox-learner"]
    bad = call(browser, "GET", CONTEXT_URL + "/memberships?limit=0", token)
    assert (bad.status_code, bad.json["error"]["field"]) == (400, "limit")


SERVICE_CALLS = [
    ("GET", CONTEXT_URL + "/lineitems"),
    ("POST", CONTEXT_URL + "/lineitems"),
    ("GET", CONTEXT_URL + "/lineitems/1"),
    ("POST", CONTEXT_URL + "/lineitems/1/scores"),
    ("GET", CONTEXT_URL + "/lineitems/1/results"),
    ("GET", CONTEXT_URL + "/memberships"),
]


@pytest.mark.parametrize(("method", "url"), SERVICE_CALLS)
def test_service_call_without_a_token_is_401(browser: Browser, method: str, url: str) -> None:
    response = call(browser, method, url, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="sandbox"'
    assert response.json["error"]["code"] == "missing_token"


@pytest.mark.parametrize(("method", "url"), SERVICE_CALLS)
def test_service_call_with_a_forged_token_is_401(
    browser: Browser, sandbox_app: Flask, method: str, url: str
) -> None:
    token = access_token(browser, sandbox_app)
    header, body, _signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == PLATFORM + "/sandbox"
    forged = f"{header}.{body}.{'A' * 40}"
    response = call(browser, method, url, forged, json={})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "url"), SERVICE_CALLS)
def test_service_call_with_a_token_lacking_its_scope_is_403(
    browser: Browser, sandbox_app: Flask, method: str, url: str
) -> None:
    # Each endpoint's own scope is absent: memberships gets an AGS token, AGS an NRPS one.
    scope = SCORE_SCOPE if url.endswith("/memberships") else MEMBERSHIPS_SCOPE
    token = access_token(browser, sandbox_app, scope=scope)
    response = call(browser, method, url, token, json={})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"


def test_score_only_token_cannot_read_results(browser: Browser, sandbox_app: Flask) -> None:
    line_item = seeded_line_item_url(browser, access_token(browser, sandbox_app))
    token = access_token(browser, sandbox_app, scope=SCORE_SCOPE)
    assert post_score(browser, line_item, token).status_code == 201
    assert call(browser, "GET", line_item + "/results", token).status_code == 403


def test_unknown_course_or_line_item_is_404(browser: Browser, sandbox_app: Flask) -> None:
    token = access_token(browser, sandbox_app)
    other = PLATFORM + "/sandbox/api/contexts/other-course/lineitems"
    assert call(browser, "GET", other, token).json["error"]["field"] == "context_id"
    missing = call(browser, "GET", CONTEXT_URL + "/lineitems/999", token)
    assert (missing.status_code, missing.json["error"]["field"]) == (404, "lineitem")

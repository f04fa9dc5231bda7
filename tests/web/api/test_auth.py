"""Who may read what: every /api/v1 route without credentials, with the wrong scope, with the
right one, and with a learner's launch token (which reads only /me/attainment)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.competencies.framework import get_framework
from plugin.organisations.models import ApiToken
from plugin.organisations.tokens import SCOPES, create_token
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import EvidenceInput, record_evidence
from plugin.rollup.learners import learner_for
from plugin.web.api.declare import ENDPOINTS
from tests.support.flows import Flow, MakeToken, launch_token
from tests.support.platform import TestPlatform

MODULE = "tw-civil-service-dc.C1-T1"


@pytest.fixture
def learner_id(app: Flask, platform: TestPlatform) -> int:
    """The test platform's learner-001, with one piece of evidence on DC1-K2."""
    settings = app.extensions["plugin.settings"]
    with app.extensions["plugin.db"].session_scope() as session:
        learner = learner_for(session, platform.issuer, "learner-001")
        record_evidence(
            session,
            learner,
            [
                EvidenceInput(
                    item_id="DC1-K2",
                    level=1,
                    score=1.0,
                    observed_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
                    source_kind="statement",
                    source_id=str(uuid.uuid4()),
                    module_key=MODULE,
                )
            ],
            get_framework(session),
            rollup_config(settings.rollup),
        )
        return learner.id


def _urls(person_id: int) -> dict[str, str]:
    """Every declared route with its path parameters filled in, by endpoint name."""
    values = {"key": "", "person_id": str(person_id)}
    urls = {}
    for endpoint in ENDPOINTS:
        path = endpoint.rule.replace("<int:person_id>", values["person_id"])
        if "<key>" in path:
            path = path.replace(
                "<key>", "tw-civil-service-dc" if "framework" in endpoint.name else MODULE
            )
        urls[endpoint.name] = "/api/v1" + path
    return urls


def test_every_route_is_declared_with_a_scope_and_walked_here() -> None:
    names = {endpoint.name for endpoint in ENDPOINTS}
    assert names == {
        "list_frameworks",
        "get_framework_detail",
        "list_modules",
        "get_module_detail",
        "get_coverage",
        "list_persons",
        "get_person",
        "get_person_attainment",
        "list_person_evidence",
        "get_my_attainment",
    }
    assert all(endpoint.scope in SCOPES for endpoint in ENDPOINTS)


def test_every_route_without_credentials_is_401_with_a_bearer_challenge(
    client: FlaskClient, learner_id: int
) -> None:
    for url in _urls(learner_id).values():
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"', url
        assert response.get_json()["error"]["code"] == "unauthorized", url


def test_every_route_with_a_token_lacking_its_scope_is_403_naming_the_scope(
    client: FlaskClient, make_token: MakeToken, learner_id: int
) -> None:
    urls = _urls(learner_id)
    for endpoint in ENDPOINTS:
        others = [scope for scope in SCOPES if scope != endpoint.scope]
        headers = {"Authorization": f"Bearer {make_token(others)}"}
        response = client.get(urls[endpoint.name], headers=headers)
        assert response.status_code == 403, endpoint.name
        error = response.get_json()["error"]
        assert error["code"] == "insufficient_scope" and error["field"] == "scope"
        assert endpoint.scope in error["message"]
        assert f'scope="{endpoint.scope}"' in response.headers["WWW-Authenticate"]


def test_every_route_with_only_its_scope_is_200(
    client: FlaskClient, make_token: MakeToken, learner_id: int
) -> None:
    urls = _urls(learner_id)
    for endpoint in ENDPOINTS:
        headers = {"Authorization": f"Bearer {make_token([endpoint.scope])}"}
        response = client.get(urls[endpoint.name], headers=headers)
        if endpoint.launch:
            # An API token is nobody's "me": it reads /persons/{id}/attainment instead.
            assert response.status_code == 403, endpoint.name
            continue
        assert response.status_code == 200, (endpoint.name, response.get_data(as_text=True))


def test_a_learners_launch_token_reads_only_their_own_attainment(
    client: FlaskClient, flow: Flow, learner_id: int
) -> None:
    token = launch_token(flow)
    urls = _urls(learner_id)
    for endpoint in ENDPOINTS:
        for how in (
            {"query_string": {"lt": token}},
            {"headers": {"Authorization": f"Bearer lt.{token}"}},
        ):
            response = client.get(urls[endpoint.name], **how)
            if endpoint.launch:
                assert response.status_code == 200, (endpoint.name, how)
                body = response.get_json()
                assert body["person"]["id"] == learner_id
                dc1_k2 = next(item for item in body["items"] if item["id"] == "DC1-K2")
                assert dc1_k2["level"] == 1 and len(dc1_k2["evidence"]) == 1
            else:
                assert response.status_code == 403, (endpoint.name, how)
                assert response.get_json()["error"]["code"] == "insufficient_scope"


def test_another_learners_launch_token_never_reads_the_first_learner(
    client: FlaskClient, flow: Flow, learner_id: int
) -> None:
    token = launch_token(flow, sub="learner-002", name="陳大華", email="hua@example.gov.tw")
    mine = client.get("/api/v1/me/attainment", query_string={"lt": token})
    if mine.status_code == 200:
        assert mine.get_json()["person"]["id"] != learner_id
        assert [i["sub"] for i in mine.get_json()["person"]["identities"]] == ["learner-002"]
    else:
        assert mine.status_code == 404
    for path in (f"/persons/{learner_id}", f"/persons/{learner_id}/attainment"):
        response = client.get("/api/v1" + path, query_string={"lt": token})
        assert response.status_code == 403, path


def test_tampered_or_foreign_launch_tokens_are_401(client: FlaskClient, flow: Flow) -> None:
    token = launch_token(flow)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not-a-token"):
        for how in (
            {"query_string": {"lt": bad}},
            {"headers": {"Authorization": f"Bearer lt.{bad}"}},
        ):
            response = client.get("/api/v1/me/attainment", **how)
            assert response.status_code == 401, how
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer dct.abc", "Bearer dct.x.y.z"],
)
def test_malformed_or_unknown_authorization_is_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/frameworks", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_a_token_with_a_wrong_secret_but_a_real_prefix_is_401(
    client: FlaskClient, make_token: MakeToken
) -> None:
    token = make_token()
    forged = token[: token.rindex(".") + 1] + "x" * 43
    response = client.get("/api/v1/frameworks", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_tokens_are_stored_hashed_and_record_their_last_use(
    app: Flask, client: FlaskClient
) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        row, token = create_token(session, "reporting", ["read:frameworks", "read:frameworks"])
        token_id = row.id
    assert token.startswith(f"dct.{row.prefix}.") and len(token) > 50
    assert (
        client.get("/api/v1/frameworks", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    with app.extensions["plugin.db"].session_scope() as session:
        stored = session.get(ApiToken, token_id)
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert stored.scopes == ["read:frameworks"]
        assert stored.last_used_at is not None
        texts = session.execute(select(ApiToken.__table__)).one()
        assert token not in [str(value) for value in texts]


def test_a_revoked_token_is_401_at_once(app: Flask, client: FlaskClient) -> None:
    from plugin.organisations.tokens import revoke_token

    with app.extensions["plugin.db"].session_scope() as session:
        row, token = create_token(session, "old", SCOPES)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/frameworks", headers=headers).status_code == 200
    with app.extensions["plugin.db"].session_scope() as session:
        revoke_token(session, row.id)
    assert client.get("/api/v1/frameworks", headers=headers).status_code == 401


def test_the_openapi_document_needs_no_credentials(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200

"""The tool's own keys: published as JWKS, rotated with a grace period, stored encrypted, and
the deep-linking response JWT verifies with what is published."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import jwt
from flask import Flask
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select, text

from plugin.core.db import utcnow
from plugin.lti.models import ToolKey
from tests.support.flows import TOOL, Flow
from tests.support.platform import DL_SETTINGS, LTI


def _jwks(app: Flask) -> list[dict]:
    response = app.test_client().get("/.well-known/jwks.json", base_url=TOOL)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.get_json()["keys"]


def _rotate(app: Flask, *options: str) -> str:
    result = app.test_cli_runner().invoke(args=["keys", "rotate", *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_jwks_lists_one_rs256_signing_key_with_a_kid(app: Flask) -> None:
    keys = _jwks(app)
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert key["kid"] and key["n"] and key["e"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()  # public half only
    assert _jwks(app) == keys  # stable across requests


def test_rotation_publishes_the_new_key_beside_the_retiring_one(app: Flask) -> None:
    (old,) = _jwks(app)
    output = _rotate(app)
    keys = _jwks(app)
    assert len(keys) == 2
    assert keys[1]["kid"] == old["kid"] and keys[0]["kid"] != old["kid"]
    assert old["kid"] in output
    with app.extensions["plugin.db"].session_scope() as session:
        statuses = {k.kid: k.status for k in session.scalars(select(ToolKey))}
    assert statuses == {keys[0]["kid"]: "active", old["kid"]: "retiring"}


def test_retiring_key_disappears_once_its_grace_period_has_passed(app: Flask) -> None:
    (old,) = _jwks(app)
    _rotate(app)
    with app.extensions["plugin.db"].session_scope() as session:
        retiring = session.scalars(select(ToolKey).where(ToolKey.kid == old["kid"])).one()
        assert retiring.retire_after is not None
        assert retiring.retire_after > utcnow() + timedelta(days=6)
        retiring.retire_after = utcnow() - timedelta(seconds=1)
    keys = _jwks(app)
    assert len(keys) == 1 and keys[0]["kid"] != old["kid"]


def test_rotation_with_zero_grace_drops_the_old_key_at_once(app: Flask) -> None:
    (old,) = _jwks(app)
    _rotate(app, "--grace-days", "0")
    keys = _jwks(app)
    assert len(keys) == 1 and keys[0]["kid"] != old["kid"]
    listing = app.test_cli_runner().invoke(args=["keys", "list"])
    assert old["kid"] in listing.output and keys[0]["kid"] in listing.output


def test_private_key_material_is_not_stored_in_plaintext(app: Flask) -> None:
    _jwks(app)
    _rotate(app)
    with app.extensions["plugin.db"].engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM lti_tool_keys")).all()
    assert len(rows) == 2
    dump = repr(rows)
    assert "PRIVATE KEY" not in dump and "BEGIN" not in dump
    assert '"d":' not in dump  # no private JWK members either


def test_deep_linking_response_jwt_verifies_with_the_published_jwks(flow: Flow, app: Flask) -> None:
    response = flow.complete_with(
        lambda nonce: flow.platform.sign(flow.platform.deep_linking_claims(nonce))
    )
    picker = flow.land(response)
    assert picker.status_code == 200
    page = picker.get_data(as_text=True)
    launch_token = re.search(r'name="lt" value="([^"]+)"', page).group(1)
    module_keys = re.findall(r'name="module" value="([^"]+)"', page)[:2]
    assert module_keys, "the seeded catalog offers modules"

    answer = flow.client.post(
        "/lti/deep-link", data={"lt": launch_token, "module": module_keys}, base_url=TOOL
    )

    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_data(as_text=True)
    action = unescape(
        re.search(r'<form id="lti-auto-submit" method="post" action="([^"]+)"', body).group(1)
    )
    assert action == flow.platform.issuer + "/deep-link-return"
    token = re.search(r'name="JWT" value="([^"]+)"', body).group(1)
    kid = jwt.get_unverified_header(token)["kid"]
    published = {k["kid"]: k for k in _jwks(app)}
    assert kid in published
    claims = jwt.decode(
        token,
        RSAAlgorithm.from_jwk(published[kid]),  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=flow.platform.issuer,
        issuer=flow.platform.client_id,
    )
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == flow.platform.deployment_id
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
    items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert [i["custom"]["module_key"] for i in items] == module_keys
    assert all(i["type"] == "ltiResourceLink" for i in items)
    assert DL_SETTINGS not in claims


def test_deep_linking_response_after_rotation_is_signed_with_the_new_key(
    flow: Flow, app: Flask
) -> None:
    _jwks(app)
    _rotate(app)
    active = _jwks(app)[0]["kid"]
    response = flow.complete_with(
        lambda nonce: flow.platform.sign(flow.platform.deep_linking_claims(nonce))
    )
    page = flow.land(response).get_data(as_text=True)
    launch_token = re.search(r'name="lt" value="([^"]+)"', page).group(1)
    module_key = re.search(r'name="module" value="([^"]+)"', page).group(1)
    answer = flow.client.post(
        "/lti/deep-link", data={"lt": launch_token, "module": module_key}, base_url=TOOL
    )
    token = re.search(r'name="JWT" value="([^"]+)"', answer.get_data(as_text=True)).group(1)
    assert jwt.get_unverified_header(token)["kid"] == active

"""Only RS256 id_tokens are accepted (1EdTech Security Framework §5.1.3).

HS256 signed with the platform's *public* key text (the classic key-confusion attack), unsigned
``alg: none`` tokens and other RSA algorithms are refused before any key is trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask

from tests.support.flows import Flow, assert_refused, counts
from tests.support.platform import TestPlatform, pooled_key, private_key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict[str, Any], body: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(body).encode())


def _public_pem(platform: TestPlatform) -> bytes:
    return (
        private_key(platform.private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def hs256_with_public_key(platform: TestPlatform, nonce: str) -> str:
    """HMAC-SHA256 keyed with the public key PEM: verifies if a tool lets the token pick alg."""
    signing_input = _segments(
        {"alg": "HS256", "typ": "JWT", "kid": platform.kid}, platform.claims(nonce)
    )
    mac = hmac.new(_public_pem(platform), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def unsigned(platform: TestPlatform, nonce: str) -> str:
    """``alg: none`` with an empty signature."""
    return (
        _segments({"alg": "none", "typ": "JWT", "kid": platform.kid}, platform.claims(nonce)) + "."
    )


def rs384(platform: TestPlatform, nonce: str) -> str:
    """A real RSA signature, but with RS384."""
    return jwt.encode(
        platform.claims(nonce),
        private_key(platform.private_pem),
        algorithm="RS384",
        headers={"kid": platform.kid},
    )


@pytest.mark.parametrize(
    ("make_token", "alg"),
    [(hs256_with_public_key, "HS256"), (unsigned, "none"), (rs384, "RS384")],
    ids=["hs256_public_key_confusion", "alg_none", "rs384"],
)
def test_id_token_not_signed_rs256_is_rejected(
    make_token: Any, alg: str, flow: Flow, app: Flask
) -> None:
    response = flow.complete_with(lambda nonce: make_token(flow.platform, nonce))
    text = assert_refused(response, 400, "unsupported_algorithm")
    assert alg in text
    assert counts(app)["launches"] == 0


def test_hs256_confusion_token_would_verify_with_the_public_key_as_secret(flow: Flow) -> None:
    """The attack token is genuine: a tool that trusted the header's alg would accept it."""
    token = hs256_with_public_key(flow.platform, "nonce")
    signing_input, signature = token.rsplit(".", 1)
    expected = hmac.new(_public_pem(flow.platform), signing_input.encode(), hashlib.sha256)
    assert _b64(expected.digest()) == signature


def test_rs256_token_with_a_forged_signature_is_rejected(flow: Flow, app: Flask) -> None:
    def forged(nonce: str) -> str:
        token = flow.platform.sign(flow.platform.claims(nonce))
        head, body, signature = token.split(".")
        tampered = json.loads(base64.urlsafe_b64decode(body + "=="))
        tampered["sub"] = "someone-else"
        return f"{head}.{_b64(json.dumps(tampered).encode())}.{signature}"

    assert_refused(flow.complete_with(forged), 401, "bad_signature")
    assert counts(app)["launches"] == 0


def test_token_signed_by_another_key_under_the_platforms_kid_is_rejected(
    flow: Flow, app: Flask
) -> None:
    published_kid = flow.platform.kid
    impostor = TestPlatform(issuer=flow.platform.issuer, client_id=flow.platform.client_id)
    impostor.use_key(*pooled_key(1))

    def signed_by_impostor(nonce: str) -> str:
        return impostor.sign(flow.platform.claims(nonce), headers={"kid": published_kid})

    assert_refused(flow.complete_with(signed_by_impostor), 401, "bad_signature")
    assert counts(app)["launches"] == 0

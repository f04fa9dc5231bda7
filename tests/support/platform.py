"""A test LTI platform: its own RSA key, a JWKS served on loopback, real signed id_tokens."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

from tests.support.net import serving

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


class _JwksHandler(BaseHTTPRequestHandler):
    server: _JwksServer

    def do_GET(self) -> None:
        self.server.requests += 1
        raw = self.server.raw_body
        body = raw if raw is not None else json.dumps(self.server.jwks).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        if self.server.cache_control:
            self.send_header("Cache-Control", self.server.cache_control)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _JwksServer(ThreadingHTTPServer):
    jwks: dict[str, Any]
    cache_control: str = ""
    requests: int = 0
    # A broken key set on demand: another HTTP status, or these bytes instead of the JWKS.
    status: int = 200
    raw_body: bytes | None = None


def _new_key() -> tuple[str, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk = JWK.from_pem(pem.encode())
    public = json.loads(jwk.export_public())
    public.update({"kid": jwk.thumbprint(), "alg": "RS256", "use": "sig"})
    return pem, public


_KEY_POOL: list[tuple[str, dict[str, Any]]] = []
_LOADED: dict[str, rsa.RSAPrivateKey] = {}


def private_key(pem: str) -> rsa.RSAPrivateKey:
    """``pem`` loaded once: loading checks the RSA key, which costs more than signing."""
    if pem not in _LOADED:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        _LOADED[pem] = key
    return _LOADED[pem]


def pooled_key(slot: int = 0) -> tuple[str, dict[str, Any]]:
    """A platform key made once per test session (key generation dominates test time)."""
    while len(_KEY_POOL) <= slot:
        _KEY_POOL.append(_new_key())
    return _KEY_POOL[slot]


@dataclass
class TestPlatform:
    """Signs id_tokens like an LMS; ``jwks_url`` serves its public key."""

    __test__ = False  # a helper, not a test class, wherever it is imported

    issuer: str = "https://lms.example.edu"
    client_id: str = "tool-client-1"
    deployment_id: str = "deployment-1"
    jwks_url: str = ""
    private_pem: str = ""
    kid: str = ""
    server: _JwksServer | None = field(default=None, repr=False)

    @property
    def auth_login_url(self) -> str:
        return self.issuer + "/auth"

    @property
    def auth_token_url(self) -> str:
        return self.issuer + "/token"

    def claims(self, nonce: str, **overrides: Any) -> dict[str, Any]:
        """A valid learner LtiResourceLinkRequest body; overrides replace, or drop when None."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "learner-001",
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "name": "王小明",
            "given_name": "小明",
            "family_name": "王",
            "email": "ming@example.gov.tw",
            "locale": "zh-TW",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "http://127.0.0.1:5000/lti/launch",
            LTI + "resource_link": {"id": "link-1", "title": "數位安全基礎"},
            LTI + "roles": [ROLE + "Learner"],
            LTI + "context": {"id": "course-1", "title": "數位職能入門"},
        }
        return apply_overrides(body, overrides)

    def deep_linking_claims(self, nonce: str, **overrides: Any) -> dict[str, Any]:
        """A valid instructor LtiDeepLinkingRequest body; overrides as in :meth:`claims`."""
        body = self.claims(
            nonce,
            sub="instructor-001",
            name="林老師",
            **{
                LTI + "message_type": "LtiDeepLinkingRequest",
                LTI + "resource_link": None,
                LTI + "roles": [ROLE + "Instructor"],
                DL_SETTINGS: {
                    "deep_link_return_url": self.issuer + "/deep-link-return",
                    "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe", "window"],
                    "accept_multiple": True,
                    "data": "opaque-platform-data",
                },
            },
        )
        return apply_overrides(body, overrides)

    def sign(self, body: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """Sign ``body`` with the platform key (kid set unless headers say otherwise)."""
        header = {"kid": self.kid}
        header.update(headers or {})
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(body, private_key(self.private_pem), algorithm="RS256", headers=header)

    def rotate(self) -> None:
        """Switch to a new key (old one no longer published)."""
        self.use_key(*_new_key())

    def use_key(self, private_pem: str, public: dict[str, Any]) -> None:
        """Sign with ``private_pem`` from now on and publish only its public half."""
        self.private_pem = private_pem
        self.kid = public["kid"]
        if self.server is not None:
            self.server.jwks = {"keys": [dict(public)]}


def apply_overrides(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``overrides`` set, or dropped where an override is None; returns it."""
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@contextmanager
def running_platform(key_slot: int = 0, **kwargs: Any) -> Iterator[TestPlatform]:
    """A :class:`TestPlatform` whose JWKS is served on 127.0.0.1 until the block ends.

    Its first key comes from the session's pool (``key_slot``); :meth:`TestPlatform.rotate`
    makes a fresh one.
    """
    server = _JwksServer(("127.0.0.1", 0), _JwksHandler)
    platform = TestPlatform(server=server, **kwargs)
    platform.use_key(*pooled_key(key_slot))
    platform.jwks_url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    with serving(server):
        yield platform


def login_params(platform: TestPlatform, **extra: str) -> dict[str, str]:
    """Third-party initiated login parameters (LTI 1.3 core §5.1.1.1)."""
    params = {
        "iss": platform.issuer,
        "login_hint": "hint-" + uuid.uuid4().hex[:8],
        "target_link_uri": "http://127.0.0.1:5000/lti/launch",
        "lti_message_hint": "msg-hint",
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
    }
    params.update(extra)
    return params


def auth_request(location: str) -> dict[str, str]:
    """The parameters of the tool's authentication request redirect."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

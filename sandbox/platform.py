"""The sandbox LMS's LTI 1.3 platform half: a thin Flask adapter over PyPI ``lti1p3platform``.

Like the library's django and fastapi adapters, this module supplies the request wrapper, the
redirect and the launch form; the library builds and signs the id_token, issues access tokens
and validates deep-linking responses. What the library leaves out (audience, issuer and
``jti`` checks of tool JWTs, a storage target on the login) is added here and says why.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Request as FlaskHttpRequest
from flask import Response, make_response, redirect, render_template
from lti1p3platform.ltiplatform import JWKS, LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest

PLATFORM_KEY_FILE = "sandbox_platform_key.pem"
CLIENT_ID = "sandbox-tool"
DEPLOYMENT_ID = "sandbox-deployment-1"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLAIM_DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
KEY_BITS = 2048


@dataclass(frozen=True)
class PlatformUrls:
    """Every URL of the sandbox platform and of the tool it launches."""

    platform_url: str
    tool_url: str

    def _platform(self, path: str) -> str:
        return self.platform_url.rstrip("/") + path

    def _tool(self, path: str) -> str:
        return self.tool_url.rstrip("/") + path

    @property
    def issuer(self) -> str:
        """The platform's issuer identifier (``iss`` of its id_tokens)."""
        return self._platform("/sandbox")

    @property
    def auth_url(self) -> str:
        """The OIDC authorization endpoint."""
        return self._platform("/sandbox/auth")

    @property
    def token_url(self) -> str:
        """The OAuth 2 token endpoint for LTI Advantage services."""
        return self._platform("/sandbox/token")

    @property
    def jwks_url(self) -> str:
        """The platform's public key set."""
        return self._platform("/sandbox/jwks.json")

    @property
    def deep_link_return_url(self) -> str:
        """Where the tool POSTs its LtiDeepLinkingResponse."""
        return self._platform("/sandbox/deep-link/return")

    def course_url(self, persona: str) -> str:
        """The course page as ``persona`` sees it."""
        return self._platform("/sandbox?" + urlencode({"as": persona}))

    def lineitems_url(self, context_id: str) -> str:
        """The AGS line items container of a course."""
        return self._platform(f"/sandbox/api/contexts/{context_id}/lineitems")

    def lineitem_url(self, context_id: str, line_item_id: int) -> str:
        """One AGS line item."""
        return f"{self.lineitems_url(context_id)}/{line_item_id}"

    def memberships_url(self, context_id: str) -> str:
        """The NRPS context memberships container of a course."""
        return self._platform(f"/sandbox/api/contexts/{context_id}/memberships")

    @property
    def tool_login_url(self) -> str:
        """The tool's OIDC login initiation URL."""
        return self._tool("/lti/login")

    @property
    def tool_launch_url(self) -> str:
        """The tool's launch (redirect) URL, for resource links and deep linking alike."""
        return self._tool("/lti/launch")


@dataclass(frozen=True)
class PlatformKey:
    """The platform's RSA key pair, PEM-encoded."""

    private_pem: str
    public_pem: str


def load_platform_key(instance_dir: str) -> PlatformKey:
    """The platform key kept in the instance folder, generated on first use (mode 0600)."""
    path = Path(instance_dir) / PLATFORM_KEY_FILE
    if not path.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Owner-only from the start: the key signs every id_token and access token.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    private_pem = path.read_bytes()
    private_key = serialization.load_pem_private_key(private_pem, password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PlatformKey(private_pem=private_pem.decode("ascii"), public_pem=public_pem.decode())


@dataclass
class SandboxPlatform:
    """Per-app state of the sandbox platform, kept in ``app.extensions["sandbox"]``."""

    urls: PlatformUrls
    instance_dir: str
    ready: bool = False
    _key: PlatformKey | None = None
    _seen_assertions: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self) -> PlatformKey:
        """The platform key, loaded (or generated) once per process."""
        with self._lock:
            if self._key is None:
                self._key = load_platform_key(self.instance_dir)
            return self._key

    def first_use_of_assertion(self, jti: str, expires_at: float) -> bool:
        """True the first time a client assertion ``jti`` is seen before it expires.

        1EdTech Security Framework §4.1.1 / RFC 7523 §3: the token endpoint may refuse a
        replayed assertion; the sandbox remembers ``jti`` values in memory until they expire.
        """
        now = time.time()
        with self._lock:
            for old in [k for k, exp in self._seen_assertions.items() if exp < now]:
                del self._seen_assertions[old]
            if jti in self._seen_assertions:
                return False
            self._seen_assertions[jti] = expires_at
            return True


class FlaskPlatformRequest(Request):
    """A Flask request as lti1p3platform reads it (like its DjangoRequest)."""

    def build_metadata(self, request: FlaskHttpRequest) -> TRequest:
        """The request's method, parameters, headers and JSON body."""
        return {
            "method": request.method,
            "form_data": request.form.to_dict(),
            "get_data": request.args.to_dict(),
            "headers": request.headers,
            "content_type": request.mimetype,
            "path": request.path,
            "json": request.get_json(silent=True) if request.is_json else None,
        }


class SandboxPlatformConf(LTI1P3PlatformConfAbstract):
    """The one registration of the sandbox: this app's tool as ``sandbox-tool``."""

    def init_platform_config(self, **kwargs: Any) -> None:
        """Keep the URLs and keys, and build the registration at once."""
        self.urls: PlatformUrls = kwargs["urls"]
        self.key: PlatformKey = kwargs["key"]
        self.tool_jwks: JWKS | None = kwargs.get("tool_jwks")
        self.verified_claims: dict[str, Any] = {}
        # The library verifies signature and exp only; the checks of aud and iss are ours
        # (see check_tool_jwt), and these claims must at least be present.
        self._jwt_verify_options = {"verify_aud": False, "require": ["iss", "aud", "iat", "exp"]}
        # Deep Linking 2.0 §4.4.1: the request offers only ltiResourceLink, so accept only that.
        self.set_accepted_deeplinking_types(["ltiResourceLink"])
        self.get_registration()

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        """The tool's registration: its login and launch URLs, our keys, its key set."""
        registration = (
            Registration()
            .set_iss(self.urls.issuer)
            .set_client_id(CLIENT_ID)
            .set_deployment_id(DEPLOYMENT_ID)
            .set_oidc_login_url(self.urls.tool_login_url)
            .set_launch_url(self.urls.tool_launch_url)
            .set_deeplink_launch_url(self.urls.tool_launch_url)
            .set_platform_public_key(self.key.public_pem)
            .set_platform_private_key(self.key.private_pem)
        )
        if self.tool_jwks is not None:
            registration.set_tool_key_set(self.tool_jwks)
        return registration

    def tool_validate_and_decode(self, jwt_token_string: str) -> dict[str, Any]:
        """Verify a JWT the tool signed and keep its claims for :func:`check_tool_jwt`."""
        # The library reads the header with .get(); refuse headers that are not JSON objects
        # (jwt.DecodeError) before it does.
        jwt.get_unverified_header(jwt_token_string)
        claims = super().tool_validate_and_decode(jwt_token_string)
        self.verified_claims = claims
        return claims


def check_tool_jwt(claims: dict[str, Any], *, audience: str) -> str | None:
    """The name of the first claim of a tool-signed JWT that is wrong, else None.

    LTI Deep Linking 2.0 §4.2 and 1EdTech Security Framework §4.1.1: ``iss`` (and ``sub``
    of a client assertion) is the tool's client_id, and ``aud`` names this platform.
    """
    if claims.get("iss") != CLIENT_ID:
        return "iss"
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        return "aud"
    return None


class SandboxOidcLogin(OIDCLoginAbstract):
    """Third-party initiated login (LTI 1.3 core §5.1.1.1), answered with a Flask redirect."""

    def set_lti_message_hint(self, **kwargs: Any) -> None:
        """The opaque hint naming the link or deep-linking request being launched."""
        self._lti_message_hint = kwargs["hint"]

    def prepare_preflight_url(self, user_id: str) -> str:
        """The library's login URL, plus the storage target for the tool's state."""
        url = super().prepare_preflight_url(user_id)
        # LTI Client Side OIDC Launch §3.1: tell the tool it may keep its state and nonce in
        # the parent window (the course page answers lti.put_data / lti.get_data).
        return url + "&" + urlencode({"lti_storage_target": "_parent"})

    def get_redirect(self, url: str) -> Response:
        """A 302 to the tool's login URL."""
        return redirect(url, code=302)


class SandboxMessageLaunch(LTIAdvantageMessageLaunchAbstract):
    """The authentication response: the library builds the id_token, Flask renders the form."""

    def set_deep_linking(self, return_url: str, data: str) -> None:
        """Make this an LtiDeepLinkingRequest for resource links in an iframe or window."""
        self.set_dl(return_url, accept_types={"ltiResourceLink"}, extra_data=data)  # type: ignore[arg-type]
        assert self._deep_linking_launch_data is not None
        settings = self._deep_linking_launch_data[CLAIM_DEEP_LINKING_SETTINGS]
        # Deep Linking 2.0 §4.4.1: offer only the targets the course page can show, and leave
        # out empty optional members rather than send "" for them.
        settings["accept_presentation_document_targets"] = ["iframe", "window"]
        for optional in ("title", "text"):
            if not settings.get(optional):
                settings.pop(optional, None)

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> Response:
        """An auto-submitting form that POSTs id_token and state (OIDC form_post response)."""
        response = make_response(
            render_template(
                "sandbox/form_post.html",
                action=launch_data["launch_url"],
                fields={"id_token": launch_data["id_token"], "state": launch_data["state"]},
            )
        )
        response.headers["Cache-Control"] = "no-store"
        return response

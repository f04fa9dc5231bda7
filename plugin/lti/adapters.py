"""pylti1p3 seen through the tool: requests, cookies and registrations without Flask."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment as PyltiDeployment
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration as PyltiRegistration
from pylti1p3.request import Request as PyltiRequest
from pylti1p3.session import SessionService
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy.orm import Session

from plugin.lti.keys import SigningKey
from plugin.lti.models import Registration
from plugin.lti.registrations import find_deployment, find_registration, registrations_for_issuer

STATE_COOKIE_PREFIX = "lti1p3"


class ToolRequest(PyltiRequest):
    """The parameters and cookies of one HTTP request, as pylti1p3 reads them."""

    def __init__(self, params: Mapping[str, str], cookies: Mapping[str, str], secure: bool):
        self.params = dict(params)
        self.cookies = dict(cookies)
        self.secure = secure

    @property
    def session(self) -> None:
        """The tool keeps no server session for pylti1p3 (launch state is in the database)."""
        return None

    def is_secure(self) -> bool:
        """True over HTTPS."""
        return self.secure

    def get_param(self, key: str) -> str:
        """A query or form parameter, empty when absent."""
        return self.params.get(key, "")


@dataclass(frozen=True)
class CookieToSet:
    """A cookie the web layer must set on its response."""

    name: str
    value: str
    max_age: int | None


class CollectingCookieService(CookieService):
    """Reads the request's cookies and collects the ones pylti1p3 wants to set."""

    def __init__(self, request: ToolRequest):
        self._request = request
        self.to_set: list[CookieToSet] = []

    def _name(self, name: str) -> str:
        return f"{STATE_COOKIE_PREFIX}-{name}"

    def get_cookie(self, name: str) -> str | None:
        """The value of the tool cookie ``name``."""
        return self._request.cookies.get(self._name(name))

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        """Remember a cookie for the response."""
        self.to_set.append(CookieToSet(self._name(name), str(value), exp))


class CapturingSessionService(SessionService):
    """Captures the nonce pylti1p3 makes at login; the tool stores it with the state itself."""

    def __init__(self, request: ToolRequest):
        super().__init__(request)
        self.nonce: str | None = None

    def save_nonce(self, nonce: str) -> None:
        """Keep the nonce for :func:`plugin.lti.login.begin_login` to store."""
        self.nonce = nonce


@dataclass
class UrlRedirect(Redirect[str]):
    """A redirect as a URL; the web layer answers with it."""

    url: str = ""

    def do_redirect(self) -> str:
        """The URL to redirect to."""
        return self.url

    def do_js_redirect(self) -> str:
        """The URL to redirect to (the web layer decides how)."""
        return self.url

    def set_redirect_url(self, location: str) -> None:
        """Replace the URL."""
        self.url = location

    def get_redirect_url(self) -> str:
        """The URL to redirect to."""
        return self.url


class ToolRegistration(PyltiRegistration):
    """A pylti1p3 registration that signs with the tool's current key and names its kid."""

    def __init__(self, row: Registration, signing_key: SigningKey | None):
        self.row = row
        self._signing_key = signing_key
        self.set_issuer(row.issuer)
        self.set_client_id(row.client_id)
        self.set_auth_login_url(row.auth_login_url)
        self.set_auth_token_url(row.auth_token_url)
        self.set_key_set_url(row.key_set_url)
        if row.auth_audience:
            self.set_auth_audience(row.auth_audience)
        if signing_key is not None:
            self.set_tool_private_key(signing_key.private_pem)

    def get_kid(self) -> str | None:
        """The kid of the signing key (pylti1p3 would derive none)."""
        return self._signing_key.kid if self._signing_key else None

    def get_jwks(self) -> list[Mapping[str, Any]]:
        """The signing key's public JWK."""
        return [self._signing_key.public_jwk] if self._signing_key else []


@dataclass
class DatabaseToolConf(ToolConfAbstract[ToolRequest]):
    """Registrations and deployments from the database; every issuer may have many clients."""

    session: Session
    signing_key: SigningKey | None = None
    issuers_relation_types: dict[str, str] = field(default_factory=dict)
    # Registrations already read in this request, by (issuer, client_id): pylti1p3 asks for
    # the one it validates again, and each ask would be a query.
    known: dict[tuple[str, str], Registration] = field(default_factory=dict, repr=False)

    def remember(self, rows: Iterable[Registration]) -> None:
        """Answer later lookups of these registrations without a query."""
        self.known.update({(row.issuer, row.client_id): row for row in rows})

    def check_iss_has_one_client(self, iss: str) -> bool:
        """Never: look registrations up by (issuer, client_id)."""
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        """Always: Canvas gives one client_id per developer key under one issuer."""
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Any:
        """The issuer's registration when it has exactly one."""
        rows = [r for r in registrations_for_issuer(self.session, iss) if r.enabled]
        return ToolRegistration(rows[0], self.signing_key) if len(rows) == 1 else None

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Any:
        """The enabled registration of (issuer, client_id); without client_id, the only one."""
        if not client_id:
            return self.find_registration_by_issuer(iss)
        row = self.known.get((iss, client_id)) or find_registration(self.session, iss, client_id)
        if row is None or not row.enabled:
            return None
        return ToolRegistration(row, self.signing_key)

    def find_deployment(self, iss: str, deployment_id: str) -> PyltiDeployment | None:
        """An active deployment of the issuer's only registration."""
        registration = self.find_registration_by_issuer(iss)
        if registration is None:
            return None
        return self._active(registration.row, deployment_id)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> PyltiDeployment | None:
        """An active deployment of (issuer, client_id)."""
        registration = self.find_registration_by_params(iss, client_id)
        if registration is None:
            return None
        return self._active(registration.row, deployment_id)

    def _active(self, row: Registration, deployment_id: str) -> PyltiDeployment | None:
        deployment = find_deployment(self.session, row, deployment_id)
        if deployment is None or not deployment.active:
            return None
        return PyltiDeployment().set_deployment_id(deployment_id)

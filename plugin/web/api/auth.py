"""Who calls the JSON API: an API token (plugin/organisations/tokens.py), or the launch token a
learner reads their own attainment with.

A learner's LTI launch token is accepted as ``Authorization: Bearer lt.<launch token>`` or as
the ``lt`` query parameter, and only by endpoints declared for it (``/api/v1/me/...``).
Refusals follow RFC 6750 §3: 401 with ``WWW-Authenticate: Bearer`` for missing or invalid
credentials, 403 naming the missing scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, request
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.core.db import utcnow
from plugin.core.errors import Forbidden, PluginError
from plugin.lti.models import Launch
from plugin.lti.tokens import LaunchWithdrawn, launch_for_token
from plugin.organisations.models import ApiToken
from plugin.organisations.tokens import find_token, mark_used
from plugin.web.errors import error_response
from plugin.web.lti import TOKEN_PARAM

LAUNCH_PREFIX = "lt."
REALM = "api"


class Unauthenticated(PluginError):
    """No credentials, or credentials the API does not accept (RFC 6750 §3.1 invalid_token)."""

    code = "unauthorized"
    status = 401


class InsufficientScope(Forbidden):
    """The credentials are valid but lack the scope the endpoint needs (RFC 6750 §3.1)."""

    code = "insufficient_scope"
    scope = ""


@dataclass(frozen=True)
class Principal:
    """Who calls the API: an API token with scopes, or a learner's launch (themselves only)."""

    kind: str  # "token" | "launch"
    scopes: frozenset[str] = frozenset()
    token: ApiToken | None = None
    launch: Launch | None = None


def _launch_from_token(session: Session, token: str) -> Launch | None:
    settings = app_state.settings()
    max_age = settings.lti.launch_token_minutes * 60
    try:
        return launch_for_token(session, settings.secret_key, token, max_age)
    except LaunchWithdrawn as exc:
        # RFC 6750 §3.1: the token itself is no longer good, so invalid_token (401).
        raise Unauthenticated(
            f"the launch token's platform registration or deployment is switched off ({exc.code})",
            code=exc.code,
        ) from None


def _credentials() -> tuple[str, str] | None:
    """("launch" | "token", value) from the request, or None when it carries none."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        if value.startswith(LAUNCH_PREFIX):
            return "launch", value[len(LAUNCH_PREFIX) :]
        return "token", value
    launch_token = request.args.get(TOKEN_PARAM, "")
    if launch_token:
        return "launch", launch_token
    return None


def authenticate() -> Principal:
    """The caller of this request; raises :class:`Unauthenticated` when there is none."""
    credentials = _credentials()
    if credentials is None:
        raise Unauthenticated("this endpoint needs 'Authorization: Bearer <token>'")
    kind, value = credentials
    session = app_state.session()
    if kind == "launch":
        launch = _launch_from_token(session, value)
        if launch is None:
            raise Unauthenticated("the launch token is invalid or has expired")
        return Principal("launch", frozenset({"read:attainment"}), launch=launch)
    row = find_token(session, value)
    if row is None:
        raise Unauthenticated("the bearer token is invalid or has been revoked")
    mark_used(row, utcnow())  # committed with the request (plugin/web/transaction.py)
    return Principal("token", frozenset(row.scopes), token=row)


def authorize(principal: Principal, scope: str, *, launch_allowed: bool = False) -> None:
    """Refuse with 403 unless ``principal`` may use an endpoint that needs ``scope``."""
    if principal.kind == "launch" and not launch_allowed:
        raise InsufficientScope(
            "a launch token reads only the learner's own attainment (/api/v1/me/attainment)",
            field="scope",
        )
    if scope not in principal.scopes:
        error = InsufficientScope(f"this endpoint needs the scope {scope}", field="scope")
        error.scope = scope
        raise error


def auth_error_response(exc: Unauthenticated | InsufficientScope) -> Response:
    """The JSON error with the RFC 6750 ``WWW-Authenticate`` challenge."""
    response = error_response(exc.status, exc.code, exc.message, exc.field)
    if isinstance(exc, Unauthenticated):
        challenge = f'Bearer realm="{REALM}"'
        if request.headers.get("Authorization") or request.args.get(TOKEN_PARAM):
            challenge += ', error="invalid_token"'
    else:
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope"'
        if exc.scope:
            challenge += f', scope="{exc.scope}"'
    response.headers["WWW-Authenticate"] = challenge
    return response

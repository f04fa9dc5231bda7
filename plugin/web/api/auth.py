"""Bearer tokens of the JSON API, and the launch token a learner reads their own attainment with.

API tokens look like ``dct.<prefix>.<secret>``: the prefix is public and finds the row, the
whole token is stored only as its SHA-256 hash and compared in constant time. A learner's LTI
launch token is accepted as ``Authorization: Bearer lt.<launch token>`` or as the ``lt`` query
parameter, and only by endpoints declared for it (``/api/v1/me/...``). Refusals follow RFC 6750
§3: 401 with ``WWW-Authenticate: Bearer`` for missing or invalid credentials, 403 naming the
missing scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import Response, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import Forbidden, InvalidInput, NotFound, PluginError
from plugin.lti.models import Launch
from plugin.lti.tokens import LaunchWithdrawn, launch_for_token
from plugin.organisations.models import Organisation
from plugin.web.api.models import ApiToken
from plugin.web.errors import error_response
from plugin.web.lti import TOKEN_PARAM
from plugin.web.request_db import get_session

SCOPES = (
    "read:frameworks",
    "read:modules",
    "read:coverage",
    "read:persons",
    "read:attainment",
    "read:evidence",
)
TOKEN_KIND = "dct"
LAUNCH_PREFIX = "lt."
REALM = "api"
# last_used_at is a hint for operators, not an audit log: one write a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


def hash_token(token: str) -> str:
    """The SHA-256 hex digest a token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, de-duplicated in a stable order; an unknown scope is refused by name."""
    chosen: list[str] = []
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidInput(
                f"unknown scope {scope!r}; one of {', '.join(SCOPES)}", field="scope"
            )
        if scope not in chosen:
            chosen.append(scope)
    if not chosen:
        raise InvalidInput("a token needs at least one scope", field="scope")
    return chosen


def create_token(
    session: Session, name: str, scopes: Iterable[str], *, organisation: Organisation | None = None
) -> tuple[ApiToken, str]:
    """A new token row and the token itself (shown once; only its hash is stored).

    A token of an ``organisation`` reads only its data; without one it is the operator's.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token name must be 1 to 100 characters", field="name")
    chosen = check_scopes(scopes)
    while True:
        prefix = secrets.token_hex(4)
        if session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            break
    token = f"{TOKEN_KIND}.{prefix}.{secrets.token_urlsafe(32)}"
    row = ApiToken(
        prefix=prefix,
        token_hash=hash_token(token),
        name=name,
        scopes=chosen,
        organisation_id=organisation.id if organisation else None,
    )
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke the token with ``token_id`` (revoking twice keeps the first time)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token with id {token_id}", field="id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def find_token(session: Session, token: str) -> ApiToken | None:
    """The active token row matching ``token`` exactly, else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_KIND:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    return row


def _launch_from_token(session: Session, token: str) -> Launch | None:
    settings = current_app.extensions["plugin.settings"]
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
    session = get_session()
    if kind == "launch":
        launch = _launch_from_token(session, value)
        if launch is None:
            raise Unauthenticated("the launch token is invalid or has expired")
        return Principal("launch", frozenset({"read:attainment"}), launch=launch)
    row = find_token(session, value)
    if row is None:
        raise Unauthenticated("the bearer token is invalid or has been revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now  # committed with the request (plugin/web/request_db.py)
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

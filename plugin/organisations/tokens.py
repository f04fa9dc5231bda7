"""Bearer tokens of the JSON API: created, listed and revoked by the operator, found by the
API's authentication (plugin/web/api/auth.py) and stamped when used.

A token looks like ``dct.<prefix>.<secret>``: the prefix is public and finds the row, the whole
token is stored only as its SHA-256 hash and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput, NotFound
from plugin.organisations.models import ApiToken, Organisation

SCOPES = (
    "read:frameworks",
    "read:modules",
    "read:coverage",
    "read:persons",
    "read:attainment",
    "read:evidence",
)
TOKEN_KIND = "dct"
# last_used_at is a hint for operators, not an audit log: one write a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


def mark_used(row: ApiToken, now: datetime) -> None:
    """Stamp ``row.last_used_at``, at most once per :data:`LAST_USED_RESOLUTION`."""
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now

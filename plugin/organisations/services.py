"""Create, find and list organisations; keys are short slugs operators type on the CLI."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.errors import InvalidInput, NotFound
from plugin.organisations.models import DEFAULT_KEY, Organisation

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_NAME = 255


def check_key(key: str) -> str:
    """``key`` if it is a slug (lower-case ASCII letters, digits, ``.``, ``_``, ``-``)."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInput(
            "an organisation key is 1 to 64 lower-case ASCII letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit; got {key!r}",
            field="key",
        )
    return key


def create_organisation(session: Session, key: str, name: str) -> Organisation:
    """A new organisation; a key already in use is refused by name."""
    check_key(key)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"an organisation name must be 1 to {MAX_NAME} characters", field="name")
    if find_organisation(session, key) is not None:
        raise InvalidInput(f"organisation {key!r} exists already", field="key")
    organisation = Organisation(key=key, name=name)
    session.add(organisation)
    session.flush()
    return organisation


def find_organisation(session: Session, key: str) -> Organisation | None:
    """The organisation with ``key``, or None."""
    return session.scalars(select(Organisation).where(Organisation.key == key)).one_or_none()


def get_organisation(session: Session, key: str) -> Organisation:
    """The organisation with ``key``; NotFound names the key."""
    organisation = find_organisation(session, key)
    if organisation is None:
        raise NotFound(f"no organisation {key!r} (see: organisation list)", field="organisation")
    return organisation


def default_organisation(session: Session) -> Organisation:
    """The default organisation, created when it is missing."""
    organisation = find_organisation(session, DEFAULT_KEY)
    if organisation is None:
        organisation = Organisation(key=DEFAULT_KEY, name="Default organisation")
        session.add(organisation)
        session.flush()
    return organisation


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, oldest first."""
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))


def unused_key(session: Session, wanted: str) -> str:
    """A free organisation key made from ``wanted`` (a host name, say): slugged, suffixed."""
    base = re.sub(r"[^a-z0-9._-]+", "-", wanted.lower()).strip("-._")[:56] or "organisation"
    key, number = base, 1
    while find_organisation(session, key) is not None:
        number += 1
        key = f"{base}-{number}"
    return key

"""What an accepted launch leaves behind: the person as the platform names them, and the
launch record its token points to (docs/ARCHITECTURE.md §3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.lti.claims import (
    CLAIM_CONTEXT,
    CLAIM_MESSAGE_TYPE,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    classify_roles,
    launch_locale,
)
from plugin.lti.models import Deployment, Launch, Person

# Longest value kept per identity claim: the lengths of the lti_people columns.
PERSON_CLAIM_LENGTHS = {
    "name": 255,
    "given_name": 255,
    "family_name": 255,
    "email": 320,
    "locale": 35,
}


@dataclass
class AcceptedLaunch:
    """A validated launch and the records made for it."""

    launch: Launch
    person: Person
    claims: dict[str, Any] = field(repr=False)

    @property
    def role(self) -> str:
        """learner, designer or administrator."""
        return self.launch.role


def record_launch(
    session: Session,
    deployment: Deployment,
    claims: dict[str, Any],
    designer_roles: tuple[str, ...],
    admin_roles: tuple[str, ...],
    lifetime: timedelta,
) -> AcceptedLaunch:
    """Keep the person (names only while the platform sends them) and the launch of a
    validated message; flushes."""
    issuer, sub = claims["iss"], claims["sub"]
    person = session.scalars(
        select(Person).where(Person.issuer == issuer, Person.sub == sub)
    ).one_or_none()
    now = utcnow()
    if person is None:
        person = Person(issuer=issuer, sub=sub, created_at=now)
        session.add(person)
    # Names and email are kept only while the platform sends them (LTI 1.3 core §5.3.6): a
    # platform that stops sharing them (its privacy setting) clears what the tool held.
    for attr, max_length in PERSON_CLAIM_LENGTHS.items():
        value = claims.get(attr)
        if isinstance(value, str) and value:
            setattr(person, attr, value[:max_length])
        elif attr != "locale":
            setattr(person, attr, "")
    person.last_launch_at = now
    session.flush()
    roles = claims.get(CLAIM_ROLES, [])
    context = claims.get(CLAIM_CONTEXT) or {}
    link = claims.get(CLAIM_RESOURCE_LINK) or {}
    record = Launch(
        id=str(uuid.uuid4()),
        person_id=person.id,
        deployment_id=deployment.id,
        message_type=claims[CLAIM_MESSAGE_TYPE],
        role=classify_roles(roles, designer_roles, admin_roles),
        roles=roles,
        context_id=str(context.get("id", ""))[:255],
        context_title=str(context.get("title", "")),
        resource_link_id=str(link.get("id", ""))[:255],
        resource_link_title=str(link.get("title", "")),
        locale=launch_locale(claims)[:35],
        claims=claims,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    session.flush()
    return AcceptedLaunch(launch=record, person=person, claims=claims)

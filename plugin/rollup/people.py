"""People as staff read them: a name and the platform they learn on, with the learner's id.

Names come from launches (``lti_people``) and are shown only inside the tool, to staff whose
audience reaches the person (plugin.rollup.scope); statements never carry them
(docs/ARCHITECTURE.md §10).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from plugin.lti.models import Person, Registration
from plugin.organisations.audience import Audience
from plugin.rollup.scope import identities_in_reach, people_in_reach


@dataclass(frozen=True)
class PersonLabel:
    """What a page shows for one learner: name ("" when no platform sent one), platform, id."""

    learner_id: int
    name: str
    platform: str
    identity: str  # the full "issuer sub" of the identity named, for a tooltip


def platform_names(session: Session, audience: Audience, issuers: Iterable[str]) -> dict[str, str]:
    """Issuer → the name its registration was given (in the audience's organisation first),
    else the issuer's host."""
    wanted = set(issuers)
    names = {issuer: urlsplit(issuer).netloc or issuer for issuer in wanted}
    if not wanted:
        return names
    rows = session.execute(
        select(Registration.issuer, Registration.name, Registration.organisation_id)
        .where(Registration.issuer.in_(wanted), Registration.name != "")
        .order_by(Registration.id)
    )
    chosen: dict[str, tuple[bool, str]] = {}
    for issuer, name, organisation_id in rows:
        own = audience.organisation_id is not None and organisation_id == audience.organisation_id
        if issuer not in chosen or (own and not chosen[issuer][0]):
            chosen[issuer] = (own, name)
    names.update({issuer: name for issuer, (_own, name) in chosen.items()})
    return names


def person_labels(
    session: Session, audience: Audience, learner_ids: Iterable[int]
) -> dict[int, PersonLabel]:
    """The label of each learner ``audience`` reaches, from their first identity in reach that
    has a name (else their first identity); learners out of reach get none."""
    identities = identities_in_reach(session, audience, learner_ids)
    pairs = {(row.issuer, row.sub) for rows in identities.values() for row in rows}
    named: dict[tuple[str, str], str] = {}
    if pairs:
        for issuer, sub, name, given, family in session.execute(
            select(
                Person.issuer, Person.sub, Person.name, Person.given_name, Person.family_name
            ).where(Person.sub.in_({sub for _issuer, sub in pairs}))
        ):
            full = name or " ".join(part for part in (given, family) if part)
            if (issuer, sub) in pairs and full:
                named[(issuer, sub)] = full
    platforms = platform_names(session, audience, {issuer for issuer, _sub in pairs})
    labels: dict[int, PersonLabel] = {}
    for learner_id, rows in identities.items():
        best = next((row for row in rows if (row.issuer, row.sub) in named), rows[0])
        labels[learner_id] = PersonLabel(
            learner_id=learner_id,
            name=named.get((best.issuer, best.sub), ""),
            platform=platforms[best.issuer],
            identity=f"{best.issuer} {best.sub}",
        )
    return labels


def launched_names(
    session: Session, audience: Audience, person_ids: Iterable[int]
) -> dict[int, PersonLabel]:
    """The name and platform of each launched person (``lti_people`` id) ``audience`` reaches
    and a platform named: the staff an access audit names by id."""
    wanted = set(person_ids)
    if not wanted:
        return {}
    query = select(Person).where(Person.id.in_(wanted))
    reached = people_in_reach(audience)
    if reached is not None:
        query = query.where(tuple_(Person.issuer, Person.sub).in_(reached))
    rows = session.scalars(query).all()
    platforms = platform_names(session, audience, {row.issuer for row in rows})
    found: dict[int, PersonLabel] = {}
    for row in rows:
        full = row.name or " ".join(part for part in (row.given_name, row.family_name) if part)
        if full:
            found[row.id] = PersonLabel(
                row.id, full, platforms[row.issuer], f"{row.issuer} {row.sub}"
            )
    return found

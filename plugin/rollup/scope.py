"""Whose records an audience reaches: the one rule every page, export and API endpoint that
shows people, evidence or attainment applies (plugin.organisations.audience).

A person is in reach when one of their platform identities launched through the audience's
registration (a course designer) or any registration of its organisation (an administrator,
an organisation's API token); the operator reaches everyone. The issuer alone never decides:
one issuer can stand for many institutions (every Canvas cloud school launches as
https://canvas.instructure.com), and a roster a platform sends (NRPS) may list anyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, select, true, tuple_
from sqlalchemy.orm import Session

from plugin.lti.registrations import launched_through, launched_through_organisation
from plugin.organisations.audience import Audience
from plugin.rollup.models import Identity, Learner


def people_in_reach(audience: Audience) -> Select[str, str] | None:
    """(issuer, sub) of everyone ``audience`` reaches; None when it reaches everyone."""
    if audience.registration_id is not None:
        return launched_through(audience.registration_id)
    if audience.organisation_id is not None:
        return launched_through_organisation(audience.organisation_id)
    return None


def identity_in_reach(audience: Audience) -> ColumnElement[bool]:
    """A condition on :class:`Identity`: the identity is one ``audience`` reaches."""
    people = people_in_reach(audience)
    if people is None:
        return true()
    return tuple_(Identity.issuer, Identity.sub).in_(people)


def learner_in_reach(audience: Audience) -> ColumnElement[bool]:
    """A condition on :class:`Learner`: one of the learner's identities is in reach."""
    if people_in_reach(audience) is None:
        return true()
    return Learner.id.in_(select(Identity.learner_id).where(identity_in_reach(audience)))


def find_learner_in_reach(session: Session, audience: Audience, learner_id: int) -> Learner | None:
    """The learner with ``learner_id`` if ``audience`` reaches them, else None (unknown and
    out of reach look the same, so ids cannot be probed)."""
    return session.scalars(
        select(Learner).where(Learner.id == learner_id, learner_in_reach(audience))
    ).one_or_none()


def identities_in_reach(
    session: Session, audience: Audience, learner_ids: Iterable[int]
) -> dict[int, list[Identity]]:
    """The identities ``audience`` reaches of each learner (a learner linked across
    organisations shows only the identities of this audience's platforms)."""
    wanted = set(learner_ids)
    found: dict[int, list[Identity]] = defaultdict(list)
    if not wanted:
        return found
    for identity in session.scalars(
        select(Identity)
        .where(Identity.learner_id.in_(wanted), identity_in_reach(audience))
        .order_by(Identity.id)
    ):
        found[identity.learner_id].append(identity)
    return found

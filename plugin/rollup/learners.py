"""Learners: a person's identities (issuer, LTI sub), linking them by a key, and grades.

Services take the session, flush but never commit (docs/ARCHITECTURE.md §8.5).
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Grade
from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput, NotFound
from plugin.lti.claims import CLAIM_CUSTOM, LEARNER
from plugin.lti.models import Launch, Person
from plugin.rollup.changes import AttainmentChange
from plugin.rollup.engine import RollupConfig
from plugin.rollup.models import Attainment, Evidence, Identity, Learner
from plugin.rollup.recompute import recompute_learner

GRADE_SOURCES = ("lti", "csv", "admin")


def find_learner(session: Session, issuer: str, sub: str) -> Learner | None:
    """The learner an identity (issuer, sub) belongs to, or None."""
    return session.scalars(
        select(Learner)
        .join(Identity, Identity.learner_id == Learner.id)
        .where(Identity.issuer == issuer, Identity.sub == sub)
    ).one_or_none()


def learner_for(session: Session, issuer: str, sub: str) -> Learner:
    """The learner of (issuer, sub), created with that one identity when new."""
    learner = find_learner(session, issuer, sub)
    if learner is not None:
        return learner
    if not issuer or not sub:
        raise InvalidInput("a person needs both an issuer and a sub", field="issuer")
    learner = Learner(grade="", grade_source="", link_key="", created_at=utcnow())
    session.add(learner)
    session.flush()
    session.add(Identity(learner_id=learner.id, issuer=issuer, sub=sub, linked_by=""))
    session.flush()
    session.refresh(learner, ["identities"])
    return learner


def identities_of(learner: Learner) -> list[Identity]:
    """The learner's identities, oldest first (the first names the learner in statements)."""
    return sorted(learner.identities, key=lambda identity: identity.id)


def learner_name(session: Session, learner: Learner) -> str:
    """The name a platform last sent for any of the learner's identities; "" when none did
    (the platform shares no names, or the person was never launched)."""
    for identity in reversed(identities_of(learner)):
        name = session.scalar(
            select(Person.name).where(Person.issuer == identity.issuer, Person.sub == identity.sub)
        )
        if name:
            return name
    return ""


def link_learner(
    session: Session,
    learner: Learner,
    link_key: str,
    framework: Framework,
    config: RollupConfig,
    *,
    linked_by: str = "claim",
) -> tuple[Learner, list[AttainmentChange]]:
    """Link ``learner`` to the learner already holding ``link_key`` (e.g. an employee
    number), moving its identities and evidence there; returns the kept learner."""
    link_key = link_key.strip()
    if not link_key:
        raise InvalidInput("the link key is empty", field="link_key")
    if learner.link_key == link_key:
        return learner, []
    holder = session.scalars(
        select(Learner).where(Learner.link_key == link_key, Learner.id != learner.id)
    ).first()
    if holder is None:
        learner.link_key = link_key
        for identity in learner.identities:
            identity.linked_by = identity.linked_by or linked_by
        session.flush()
        return learner, []
    # Merge into the learner who had the key first: their id stays stable for reports.
    for identity in list(learner.identities):
        identity.learner = holder  # moves it between the two collections, too
        identity.linked_by = linked_by
    for evidence in session.scalars(select(Evidence).where(Evidence.learner_id == learner.id)):
        evidence.learner_id = holder.id
    for row in session.scalars(select(Attainment).where(Attainment.learner_id == learner.id)):
        session.delete(row)
    if not holder.grade and learner.grade:
        holder.grade, holder.grade_source = learner.grade, learner.grade_source
    session.flush()
    session.delete(learner)
    session.flush()
    return holder, recompute_learner(session, holder, framework, config)


def grade_key(session: Session, framework: Framework, value: str) -> str:
    """A grade key from a key or its zh-TW / en name (委任, 薦任, 簡任, 主管)."""
    wanted = value.strip()
    for grade in session.scalars(select(Grade).where(Grade.framework_id == framework.id)):
        if wanted in (grade.key, grade.name_zh) or wanted.lower() == grade.key.lower():
            return grade.key
    raise InvalidInput(
        f"unknown grade {value!r}; use junior, intermediate, senior, supervisor "
        "or 委任, 薦任, 簡任, 主管",
        field="grade",
    )


def set_grade(
    session: Session, learner: Learner, framework: Framework, value: str, source: str
) -> bool:
    """Set the learner's grade from ``source`` (lti, csv or admin); True when it changed.

    A launch's custom parameter never overrides a grade from personnel data or an
    administrator: those are the authoritative sources.
    """
    if source not in GRADE_SOURCES:
        raise InvalidInput(f"unknown grade source {source!r}", field="source")
    key = grade_key(session, framework, value)
    if source == "lti" and learner.grade_source in ("csv", "admin"):
        return False
    changed = (learner.grade, learner.grade_source) != (key, source)
    learner.grade, learner.grade_source = key, source
    session.flush()
    return changed


def get_learner(session: Session, issuer: str, sub: str) -> Learner:
    """The learner of (issuer, sub), or NotFound naming them."""
    learner = find_learner(session, issuer, sub)
    if learner is None:
        raise NotFound(f"no learner with issuer {issuer!r} and sub {sub!r}", field="sub")
    return learner


def _custom(launch: Launch) -> dict[str, Any]:
    custom = launch.claims.get(CLAIM_CUSTOM) or {}
    return custom if isinstance(custom, dict) else {}


def launch_learner(
    session: Session,
    launch: Launch,
    framework: Framework | None,
    config: RollupConfig,
    *,
    link_claim: str,
    grade_claim: str,
) -> tuple[Learner | None, list[AttainmentChange]]:
    """The launch's learner (created on first sight), linked by the ``link_claim`` custom
    parameter and graded by ``grade_claim`` when the platform sends them, with the level
    changes a link caused; (None, []) for designers' and administrators' previews."""
    if launch.role != LEARNER:
        return None, []
    learner = learner_for(session, launch.person.issuer, launch.person.sub)
    if framework is None:
        return learner, []
    custom = _custom(launch)
    changes: list[AttainmentChange] = []
    link_value = custom.get(link_claim) if link_claim else None
    if isinstance(link_value, str) and link_value.strip() and not link_value.startswith("$"):
        # An unsubstituted "$User.x" variable means the platform does not know it.
        learner, changes = link_learner(session, learner, link_value, framework, config)
    grade = custom.get(grade_claim) if grade_claim else None
    if isinstance(grade, str) and grade.strip() and not grade.startswith("$"):
        # An unknown grade from a platform must not block the launch.
        with contextlib.suppress(InvalidInput):
            set_grade(session, learner, framework, grade, "lti")
    return learner, changes

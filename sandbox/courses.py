"""The sandbox LMS's demo course and people: who is enrolled, in which roles (NRPS 2.0).

Services take the session, flush but never commit, and know nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.errors import InvalidInput, NotFound
from plugin.lti.claims import role_name
from plugin.lti.registrations import PlatformDetails, register_platform
from sandbox.models import (
    SandboxCourse,
    SandboxLineItem,
    SandboxMembership,
    SandboxPerson,
    SandboxResourceLink,
)
from sandbox.platform import CLIENT_ID, DEPLOYMENT_ID, PlatformUrls

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"

LEARNER = "learner"
DESIGNER = "designer"
ADMIN = "admin"
PERSONAS = (LEARNER, DESIGNER, ADMIN)
DEFAULT_PERSONA = LEARNER


@dataclass(frozen=True)
class PersonSeed:
    """One demo person: who they are and the roles they hold in the demo course."""

    persona: str
    sub: str
    family_name: str
    given_name: str
    roles: tuple[str, ...]

    @property
    def name(self) -> str:
        """The full name, family name first as in Chinese."""
        return self.family_name + self.given_name


DEMO_PEOPLE = (
    PersonSeed(LEARNER, "sandbox-learner", "王", "小明", (MEMBERSHIP + "Learner",)),
    PersonSeed(DESIGNER, "sandbox-designer", "林", "雅婷", (MEMBERSHIP + "Instructor",)),
    PersonSeed(
        ADMIN,
        "sandbox-admin",
        "陳",
        "志豪",
        (INSTITUTION + "Administrator", MEMBERSHIP + "Instructor"),
    ),
)
DEMO_CONTEXT_ID = "sandbox-course-1"
DEMO_COURSE_TITLE = "數位職能入門（示範課程）"
DEMO_COURSE_LABEL = "DC101"
DEMO_LINK_TITLE = "數位安全基礎"
DEMO_LINK_TEXT = "示範用的資源連結 A demo resource link"
# 表 4 C4-T5, 生成式AI的風險管理與應用規範: the demo catalog's digital-safety topic (DC4).
DEMO_MODULE_KEY = "tw-civil-service-dc.C4-T5"
DEMO_SCORE_MAXIMUM = 100.0


@dataclass
class Page:
    """One page of a listing, and whether another follows."""

    items: list[Any] = field(default_factory=list)
    has_next: bool = False


def page_of(session: Session, statement: Any, limit: int | None, page: int) -> Page:
    """One page of ``statement``'s rows (all of them when ``limit`` is None)."""
    if limit is None:
        return Page(items=list(session.scalars(statement)))
    rows = list(session.scalars(statement.offset((page - 1) * limit).limit(limit + 1)))
    return Page(items=rows[:limit], has_next=len(rows) > limit)


def ensure_demo_data(session: Session) -> SandboxCourse:
    """The demo course with its three people and one resource link, created once."""
    people = {p.persona: p for p in session.scalars(select(SandboxPerson))}
    for seed in DEMO_PEOPLE:
        if seed.persona not in people:
            person = SandboxPerson(
                persona=seed.persona,
                sub=seed.sub,
                name=seed.name,
                given_name=seed.given_name,
                family_name=seed.family_name,
            )
            session.add(person)
            people[seed.persona] = person
    session.flush()
    course = session.scalars(
        select(SandboxCourse).where(SandboxCourse.context_id == DEMO_CONTEXT_ID)
    ).one_or_none()
    if course is not None:
        return course
    course = SandboxCourse(
        context_id=DEMO_CONTEXT_ID, title=DEMO_COURSE_TITLE, label=DEMO_COURSE_LABEL
    )
    session.add(course)
    session.flush()
    for seed in DEMO_PEOPLE:
        session.add(
            SandboxMembership(
                course_id=course.id, person_id=people[seed.persona].id, roles=list(seed.roles)
            )
        )
    link = SandboxResourceLink(
        course_id=course.id,
        title=DEMO_LINK_TITLE,
        text=DEMO_LINK_TEXT,
        custom={"module_key": DEMO_MODULE_KEY},
    )
    session.add(link)
    session.flush()
    session.add(
        SandboxLineItem(
            course_id=course.id,
            resource_link_id=link.id,
            label=DEMO_LINK_TITLE,
            score_maximum=DEMO_SCORE_MAXIMUM,
            resource_id=DEMO_MODULE_KEY,
            tag="competency_module",
        )
    )
    session.flush()
    return course


def demo_course(session: Session) -> SandboxCourse:
    """The course the sandbox pages show."""
    return get_course(session, DEMO_CONTEXT_ID)


def get_course(session: Session, context_id: str) -> SandboxCourse:
    """The course with LTI context id ``context_id``."""
    course = session.scalars(
        select(SandboxCourse).where(SandboxCourse.context_id == context_id)
    ).one_or_none()
    if course is None:
        raise NotFound(f"no sandbox course {context_id!r}", field="context_id")
    return course


def find_person(session: Session, persona: str) -> SandboxPerson:
    """The demo person playing ``persona`` (learner, designer or admin)."""
    person = session.scalars(
        select(SandboxPerson).where(SandboxPerson.persona == persona)
    ).one_or_none()
    if person is None:
        choices = ", ".join(PERSONAS)
        raise InvalidInput(f"as must be one of {choices}, got {persona!r}", field="as")
    return person


def membership_of(session: Session, course: SandboxCourse, person: SandboxPerson) -> list[str]:
    """The LIS roles ``person`` holds in ``course`` (none when not enrolled)."""
    membership = session.scalars(
        select(SandboxMembership).where(
            SandboxMembership.course_id == course.id, SandboxMembership.person_id == person.id
        )
    ).one_or_none()
    return list(membership.roles) if membership is not None else []


def is_designer(roles: list[str]) -> bool:
    """True for roles that may place activities (Instructor or Administrator)."""
    return bool({role_name(r) for r in roles} & {"Instructor", "Administrator"})


def course_members(session: Session, course: SandboxCourse) -> list[SandboxPerson]:
    """The people enrolled in the course."""
    return list(
        session.scalars(
            select(SandboxPerson)
            .join(SandboxMembership, SandboxMembership.person_id == SandboxPerson.id)
            .where(SandboxMembership.course_id == course.id)
            .order_by(SandboxPerson.id)
        )
    )


def find_memberships(
    session: Session,
    course: SandboxCourse,
    *,
    role: str = "",
    limit: int | None = None,
    page: int = 1,
) -> Page:
    """The course's memberships (NRPS 2.0 §2.3), optionally those with ``role``."""
    statement = (
        select(SandboxMembership)
        .where(SandboxMembership.course_id == course.id)
        .order_by(SandboxMembership.id)
    )
    if not role:
        return page_of(session, statement, limit, page)
    # NRPS 2.0 §2.4.1: role may be a full URI or a short context role name. Filtered in Python
    # because roles are a JSON list and a course has few members; case-insensitive because
    # some tools lower-case the whole Link header they follow.
    wanted = {role.lower(), role_name(role).lower()}
    matching = [
        m
        for m in session.scalars(statement)
        if any({r.lower(), role_name(r).lower()} & wanted for r in m.roles)
    ]
    if limit is None:
        return Page(items=matching)
    start = (page - 1) * limit
    return Page(items=matching[start : start + limit], has_next=len(matching) > start + limit)


def register_with_tool(session: Session, urls: PlatformUrls) -> None:
    """Register the sandbox as a platform of this tool, its deployment active (idempotent)."""
    details = PlatformDetails(
        issuer=urls.issuer,
        client_id=CLIENT_ID,
        auth_login_url=urls.auth_url,
        auth_token_url=urls.token_url,
        key_set_url=urls.jwks_url,
        name="Sandbox LMS",
    )
    register_platform(session, details, [DEPLOYMENT_ID], origin="sandbox")

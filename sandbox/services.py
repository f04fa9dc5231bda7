"""What the sandbox LMS holds and does: its demo course, links, line items, scores, members.

Services take the session, flush but never commit, and know nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lti1p3platform.score import ActivityProgress, GradeProgress, UpdateScoreStatus
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput, NotFound
from plugin.core.numbers import is_ascii_int
from plugin.lti.claims import role_name
from plugin.lti.registrations import PlatformDetails, register_platform
from sandbox.models import (
    SandboxCourse,
    SandboxLineItem,
    SandboxMembership,
    SandboxPerson,
    SandboxResourceLink,
    SandboxResult,
    SandboxScore,
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
UNTITLED = "未命名活動 Untitled activity"


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


def course_links(session: Session, course: SandboxCourse) -> list[SandboxResourceLink]:
    """The course's resource links, in the order they were placed."""
    return list(
        session.scalars(
            select(SandboxResourceLink)
            .where(SandboxResourceLink.course_id == course.id)
            .order_by(SandboxResourceLink.id)
        )
    )


def get_link(session: Session, course: SandboxCourse, link_id: int) -> SandboxResourceLink:
    """One resource link of the course."""
    link = session.get(SandboxResourceLink, link_id)
    if link is None or link.course_id != course.id:
        raise NotFound(f"no resource link {link_id} in this course", field="link_id")
    return link


def line_item_for_link(session: Session, link: SandboxResourceLink) -> SandboxLineItem | None:
    """The line item bound to a resource link, if it has one."""
    return session.scalars(
        select(SandboxLineItem)
        .where(SandboxLineItem.resource_link_id == link.id)
        .order_by(SandboxLineItem.id)
        .limit(1)
    ).first()


def add_links_from_content_items(
    session: Session, course: SandboxCourse, items: list[Any]
) -> list[SandboxResourceLink]:
    """One resource link (and line item, when asked for) per ``ltiResourceLink`` item.

    Deep Linking 2.0 §3.1 (ltiResourceLink): title, text, custom and lineItem are optional;
    custom values are strings; a lineItem needs a positive scoreMaximum (AGS 2.0 §3.2.6).
    """
    links = []
    for index, item in enumerate(items):
        where = f"content_items[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object", field=where)
        title = _optional_text(item, "title", where) or UNTITLED
        text = _optional_text(item, "text", where)
        custom = item.get("custom") or {}
        if not isinstance(custom, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in custom.items()
        ):
            raise InvalidInput(f"{where}.custom must map names to strings", field=f"{where}.custom")
        link = SandboxResourceLink(
            course_id=course.id, title=title[:255], text=text, custom=dict(custom)
        )
        session.add(link)
        session.flush()
        if item.get("lineItem") is not None:
            data = item["lineItem"]
            if not isinstance(data, dict):
                raise InvalidInput(f"{where}.lineItem must be an object", field=f"{where}.lineItem")
            create_line_item(
                session,
                course,
                {"label": title, **data, "resourceLinkId": link.id},
                where=f"{where}.lineItem",
            )
        links.append(link)
    return links


def _optional_text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{key} must be a string", field=f"{where}.{key}")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def create_line_item(
    session: Session, course: SandboxCourse, data: Any, where: str = ""
) -> SandboxLineItem:
    """A new line item from an AGS line item object (AGS 2.0 §3.2.6: label, scoreMaximum)."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise InvalidInput("the line item must be a JSON object", field=where or "body")
    maximum = data.get("scoreMaximum")
    if not _number(maximum) or maximum <= 0:
        raise InvalidInput(
            "scoreMaximum must be a number greater than 0", field=prefix + "scoreMaximum"
        )
    label = data.get("label")
    if not isinstance(label, str) or not label.strip():
        raise InvalidInput("label must be a non-empty string", field=prefix + "label")
    for key in ("resourceId", "tag"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidInput(f"{key} must be a string", field=prefix + key)
    link_id = data.get("resourceLinkId")
    if link_id is not None:
        link_id = _link_id(session, course, link_id, prefix + "resourceLinkId")
    line_item = SandboxLineItem(
        course_id=course.id,
        resource_link_id=link_id,
        label=label.strip()[:255],
        score_maximum=float(maximum),
        resource_id=(data.get("resourceId") or "")[:255],
        tag=(data.get("tag") or "")[:255],
    )
    session.add(line_item)
    session.flush()
    return line_item


def _link_id(session: Session, course: SandboxCourse, value: Any, field_name: str) -> int:
    """A resource link id of this course, given as an integer or its string form."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not is_ascii_int(text):
        raise InvalidInput("resourceLinkId names no link of this course", field=field_name)
    link_id = int(text)
    link = session.get(SandboxResourceLink, link_id)
    if link is None or link.course_id != course.id:
        raise InvalidInput("resourceLinkId names no link of this course", field=field_name)
    return link_id


def get_line_item(session: Session, course: SandboxCourse, line_item_id: int) -> SandboxLineItem:
    """One line item of the course."""
    line_item = session.get(SandboxLineItem, line_item_id)
    if line_item is None or line_item.course_id != course.id:
        raise NotFound(f"no line item {line_item_id} in this course", field="lineitem")
    return line_item


def find_line_items(
    session: Session,
    course: SandboxCourse,
    *,
    resource_link_id: str = "",
    resource_id: str = "",
    tag: str = "",
    limit: int | None = None,
    page: int = 1,
) -> Page:
    """The course's line items, filtered as AGS 2.0 §3.2.4 allows, one page at a time."""
    statement = select(SandboxLineItem).where(SandboxLineItem.course_id == course.id)
    if resource_link_id:
        if not is_ascii_int(resource_link_id):
            return Page()  # names no link: an empty listing, as for an unknown id
        statement = statement.where(SandboxLineItem.resource_link_id == int(resource_link_id))
    if resource_id:
        statement = statement.where(SandboxLineItem.resource_id == resource_id)
    if tag:
        statement = statement.where(SandboxLineItem.tag == tag)
    return _page(session, statement.order_by(SandboxLineItem.id), limit, page)


def _page(session: Session, statement: Any, limit: int | None, page: int) -> Page:
    if limit is None:
        return Page(items=list(session.scalars(statement)))
    rows = list(session.scalars(statement.offset((page - 1) * limit).limit(limit + 1)))
    return Page(items=rows[:limit], has_next=len(rows) > limit)


def parse_score(body: Any) -> dict[str, Any]:
    """A checked score (AGS 2.0 §3.4.7), or InvalidInput naming the member at fault."""
    if not isinstance(body, dict):
        raise InvalidInput("the score must be a JSON object", field="body")
    user_id = body.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidInput("userId must be a non-empty string", field="userId")
    activity = body.get("activityProgress")
    if activity not in {p.value for p in ActivityProgress}:
        choices = ", ".join(p.value for p in ActivityProgress)
        raise InvalidInput(f"activityProgress must be one of {choices}", field="activityProgress")
    grading = body.get("gradingProgress")
    if grading not in {p.value for p in GradeProgress}:
        choices = ", ".join(p.value for p in GradeProgress)
        raise InvalidInput(f"gradingProgress must be one of {choices}", field="gradingProgress")
    timestamp = _timestamp(body.get("timestamp"))
    given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
    if given is not None and (not _number(given) or given < 0):
        raise InvalidInput("scoreGiven must be a number of at least 0", field="scoreGiven")
    if maximum is not None and (not _number(maximum) or maximum <= 0):
        raise InvalidInput("scoreMaximum must be a number greater than 0", field="scoreMaximum")
    if given is not None and maximum is None:
        # AGS 2.0 §3.4.7: scoreMaximum is required whenever scoreGiven is present.
        raise InvalidInput("scoreMaximum is required with scoreGiven", field="scoreMaximum")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment must be a string", field="comment")
    return {
        "user_id": user_id,
        "score_given": float(given) if given is not None else None,
        "score_maximum": float(maximum) if maximum is not None else None,
        "comment": comment or "",
        "activity_progress": activity,
        "grading_progress": grading,
        "timestamp": timestamp,
    }


def _timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp with its offset (AGS 2.0 §3.4.7 requires one)."""
    if not isinstance(value, str):
        raise InvalidInput("timestamp must be an ISO 8601 date-time string", field="timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "timestamp must be an ISO 8601 date-time string", field="timestamp"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput("timestamp must include a time zone offset", field="timestamp")
    return parsed


def record_score(
    session: Session, course: SandboxCourse, line_item: SandboxLineItem, body: Any
) -> UpdateScoreStatus:
    """Keep a posted score and bring the user's result up to date with it."""
    score = parse_score(body)
    members = {person.sub for person in course_members(session, course)}
    if score["user_id"] not in members:
        raise InvalidInput("userId is not a member of this course", field="userId")
    result = session.scalars(
        select(SandboxResult).where(
            SandboxResult.line_item_id == line_item.id,
            SandboxResult.user_id == score["user_id"],
        )
    ).one_or_none()
    # AGS 2.0 §3.4.7: a score older than the one on record must not change the result.
    applied = result is None or result.timestamp <= score["timestamp"]
    session.add(SandboxScore(line_item_id=line_item.id, applied=applied, **score))
    if not applied:
        session.flush()
        return UpdateScoreStatus.OLD_TIMESTAMP
    status = UpdateScoreStatus.SUCCESS
    if result is None:
        result = SandboxResult(line_item_id=line_item.id, user_id=score["user_id"])
        session.add(result)
        status = UpdateScoreStatus.CREATED
    for key in (
        "score_given",
        "score_maximum",
        "comment",
        "activity_progress",
        "grading_progress",
        "timestamp",
    ):
        setattr(result, key, score[key])
    result.updated_at = utcnow()
    session.flush()
    return status


def find_results(
    session: Session,
    line_item: SandboxLineItem,
    *,
    user_id: str = "",
    limit: int | None = None,
    page: int = 1,
) -> Page:
    """A line item's results (AGS 2.0 §3.3), optionally of one user."""
    statement = select(SandboxResult).where(SandboxResult.line_item_id == line_item.id)
    if user_id:
        statement = statement.where(SandboxResult.user_id == user_id)
    return _page(session, statement.order_by(SandboxResult.id), limit, page)


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
        return _page(session, statement, limit, page)
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


@dataclass(frozen=True)
class GradebookRow:
    """One person's results, in the order of the gradebook's line items."""

    person: SandboxPerson
    results: list[SandboxResult | None]


@dataclass(frozen=True)
class Gradebook:
    """Line items as columns, people as rows."""

    line_items: list[SandboxLineItem]
    rows: list[GradebookRow]
    scores_received: int


def gradebook(session: Session, course: SandboxCourse) -> Gradebook:
    """The course's gradebook: every member's current result on every line item."""
    line_items = list(
        session.scalars(
            select(SandboxLineItem)
            .where(SandboxLineItem.course_id == course.id)
            .order_by(SandboxLineItem.id)
        )
    )
    ids = [item.id for item in line_items]
    results = {
        (r.line_item_id, r.user_id): r
        for r in session.scalars(select(SandboxResult).where(SandboxResult.line_item_id.in_(ids)))
    }
    rows = [
        GradebookRow(person=person, results=[results.get((i, person.sub)) for i in ids])
        for person in course_members(session, course)
    ]
    received = session.scalar(
        select(func.count()).select_from(SandboxScore).where(SandboxScore.line_item_id.in_(ids))
    )
    return Gradebook(line_items=line_items, rows=rows, scores_received=int(received or 0))


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

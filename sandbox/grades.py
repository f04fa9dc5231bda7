"""The sandbox LMS's gradebook (AGS 2.0): line items, the scores tools post, the results kept.

Services take the session, flush but never commit, and know nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lti1p3platform.score import ActivityProgress, GradeProgress, UpdateScoreStatus
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput, NotFound
from plugin.core.numbers import is_ascii_int
from sandbox.courses import Page, course_members, page_of
from sandbox.models import (
    SandboxCourse,
    SandboxLineItem,
    SandboxPerson,
    SandboxResourceLink,
    SandboxResult,
    SandboxScore,
)


def line_item_for_link(session: Session, link: SandboxResourceLink) -> SandboxLineItem | None:
    """The line item bound to a resource link, if it has one."""
    return session.scalars(
        select(SandboxLineItem)
        .where(SandboxLineItem.resource_link_id == link.id)
        .order_by(SandboxLineItem.id)
        .limit(1)
    ).first()


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
    return page_of(session, statement.order_by(SandboxLineItem.id), limit, page)


def parse_score(body: Any) -> dict[str, Any]:
    """A checked score (AGS 2.0 §3.4.7), or InvalidInput naming the member at fault."""
    if not isinstance(body, dict):
        raise InvalidInput("the score must be a JSON object", field="body")
    user_id = body.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidInput("userId must be a non-empty string", field="userId")
    activity = _progress(body, "activityProgress", ActivityProgress)
    grading = _progress(body, "gradingProgress", GradeProgress)
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


def _progress(
    body: dict[str, Any], key: str, values: type[ActivityProgress] | type[GradeProgress]
) -> Any:
    """The ``activityProgress`` or ``gradingProgress`` member, one of its enumeration's values."""
    value = body.get(key)
    if value not in {p.value for p in values}:
        choices = ", ".join(p.value for p in values)
        raise InvalidInput(f"{key} must be one of {choices}", field=key)
    return value


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
    return page_of(session, statement.order_by(SandboxResult.id), limit, page)


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

"""The sandbox LMS's resource links: those of a course, and those a deep-linking response places.

Services take the session, flush but never commit, and know nothing of HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.errors import InvalidInput, NotFound
from sandbox.grades import create_line_item
from sandbox.models import SandboxCourse, SandboxResourceLink

UNTITLED = "未命名活動 Untitled activity"


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

"""Tables of the sandbox LMS: its course, people, resource links, line items, scores, results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from plugin.core.db import NAMING_CONVENTION, UTCDateTime, utcnow


class SandboxBase(DeclarativeBase):
    """Declarative base of the sandbox's tables, apart from the tool's ``Base``.

    Their own metadata keeps them out of the tool's migrations and schema checks: only the
    sandbox's own Alembic history (sandbox/migrations) creates them (docs/ARCHITECTURE.md).
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SandboxCourse(SandboxBase):
    """A course of the sandbox LMS (the LTI context)."""

    __tablename__ = "sandbox_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxPerson(SandboxBase):
    """A person of the sandbox LMS, chosen on its pages with ``?as=<persona>``."""

    __tablename__ = "sandbox_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    persona: Mapped[str] = mapped_column(String(20), unique=True)
    sub: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    given_name: Mapped[str] = mapped_column(String(255), default="")
    family_name: Mapped[str] = mapped_column(String(255), default="")


class SandboxMembership(SandboxBase):
    """A person's place in a course, with the LIS roles the launch and NRPS carry."""

    __tablename__ = "sandbox_memberships"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_courses.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_people.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list] = mapped_column(JSON)

    person: Mapped[SandboxPerson] = relationship()


class SandboxResourceLink(SandboxBase):
    """An LTI resource link placed in a course (seeded, or created by deep linking)."""

    __tablename__ = "sandbox_resource_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_courses.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text, default="")
    custom: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxLineItem(SandboxBase):
    """An AGS line item (a gradebook column), optionally bound to a resource link."""

    __tablename__ = "sandbox_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_courses.id", ondelete="CASCADE"), index=True
    )
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("sandbox_resource_links.id", ondelete="SET NULL"), index=True
    )
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str] = mapped_column(String(255), default="")
    tag: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxScore(SandboxBase):
    """Every score a tool posted (AGS 2.0 §3.4), kept as received."""

    __tablename__ = "sandbox_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_line_items.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    applied: Mapped[bool] = mapped_column(Boolean, default=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxResult(SandboxBase):
    """The current result of one user on one line item (AGS 2.0 §3.3), from the latest score."""

    __tablename__ = "sandbox_results"
    __table_args__ = (UniqueConstraint("line_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_line_items.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Tables of the SCORM player's run-time: an attempt per learner, module and package version,
and the CMI data each SCO of the attempt has committed.

An attempt pins the version it started on, so a newer upload never changes the files or items
under a learner who is part-way through. Each SCO's row carries the sequence number of the
commit it holds: a commit with a lower or equal number (late, or sent twice) changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.content.models import PackageVersion
from plugin.core.db import Base, UTCDateTime, utcnow


class RuntimeAttempt(Base):
    """One learner's attempt at a SCORM module, on the package version it started on."""

    __tablename__ = "content_runtime_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The attempt's registration (xAPI context.registration): a UUID, never a person's name.
    registration: Mapped[str] = mapped_column(String(36), unique=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("lti_people.id", ondelete="CASCADE"), index=True
    )
    module_id: Mapped[int] = mapped_column(
        ForeignKey("competency_modules.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("content_package_versions.id", ondelete="CASCADE"), index=True
    )
    # The launch that started or last resumed it: its platform must still be enabled.
    launch_id: Mapped[str] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    version: Mapped[PackageVersion] = relationship()
    scos: Mapped[list[ScoState]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        """True until every SCO has sent a final commit that ends it (plugin/content/runtime.py)."""
        return self.finished_at is None


class ScoState(Base):
    """The CMI data one SCO of an attempt last committed."""

    __tablename__ = "content_runtime_scos"
    __table_args__ = (UniqueConstraint("attempt_id", "item_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("content_runtime_attempts.id", ondelete="CASCADE"), index=True
    )
    item_identifier: Mapped[str] = mapped_column(String(255))
    # The highest commit sequence stored; a commit at or below it is a repeat or late.
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # 1.2 cmi.core.lesson_status, or 2004 cmi.completion_status / cmi.success_status.
    lesson_status: Mapped[str] = mapped_column(String(20), default="")
    completion_status: Mapped[str] = mapped_column(String(20), default="")
    success_status: Mapped[str] = mapped_column(String(20), default="")
    score_raw: Mapped[float | None] = mapped_column(Float)
    score_min: Mapped[float | None] = mapped_column(Float)
    score_max: Mapped[float | None] = mapped_column(Float)
    score_scaled: Mapped[float | None] = mapped_column(Float)
    location: Mapped[str] = mapped_column(Text, default="")
    suspend_data: Mapped[str] = mapped_column(Text, default="")
    entry: Mapped[str] = mapped_column(String(20), default="")
    exit: Mapped[str] = mapped_column(String(20), default="")
    session_time: Mapped[str] = mapped_column(String(40), default="")
    total_time: Mapped[str] = mapped_column(String(40), default="")
    interactions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    objectives: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The cmi.interactions ids already stated as ``answered`` in this attempt: each interaction
    # of a SCO is stated once, however often it is committed again.
    stated_interactions: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[RuntimeAttempt] = relationship(back_populates="scos")

"""Tables of SCORM packages: each upload is a version of a module's package, with its items.

A version is never changed once stored: a re-upload adds a version, and an attempt (the
player's, later) names the version it started on, so it finishes on the same files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.competencies.models import Module
from plugin.core.db import Base, UTCDateTime, utcnow


class PackageVersion(Base):
    """One stored upload of a module's SCORM package."""

    __tablename__ = "content_package_versions"
    __table_args__ = (UniqueConstraint("module_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(
        ForeignKey("competency_modules.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per module
    # Where the storage keeps its files; unique and never reused, so URLs can be cached for ever.
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    scorm_version: Mapped[str] = mapped_column(String(10))  # "1.2", "2004-2", "2004-3", "2004-4"
    title: Mapped[str] = mapped_column(Text, default="")
    organization: Mapped[str] = mapped_column(String(255), default="")
    # The scaled score (0..1) that passes, when the package's SCOs state one they agree on.
    mastery_score: Mapped[float | None] = mapped_column(Float)
    # The default organization's item tree as plain values, for the table of contents.
    item_tree: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The organization's imsss:controlMode as written ({} before migration 0020: the defaults).
    control_mode: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    original_sha256: Mapped[str] = mapped_column(String(64))
    # Bytes past 2**31 (a 2 GiB package) need 64 bits on PostgreSQL.
    original_bytes: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    module: Mapped[Module] = relationship()
    items: Mapped[list[PackageItem]] = relationship(
        back_populates="version", order_by="PackageItem.position", cascade="all, delete-orphan"
    )

    @property
    def scos(self) -> list[PackageItem]:
        """The items that launch a SCO (not an asset)."""
        return [item for item in self.items if item.scorm_type == "sco"]


class PackageItem(Base):
    """An item of a version's default organization that launches a resource (a SCO or asset)."""

    __tablename__ = "content_package_items"
    __table_args__ = (UniqueConstraint("version_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("content_package_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    identifier: Mapped[str] = mapped_column(String(255))
    resource_identifier: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text, default="")
    scorm_type: Mapped[str] = mapped_column(String(10))  # "sco" or "asset"
    # The resource href with the item's parameters, relative to the package root.
    launch_href: Mapped[str] = mapped_column(String(2000))
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    data_from_lms: Mapped[str] = mapped_column(Text, default="")
    mastery_score: Mapped[float | None] = mapped_column(Float)
    max_time_allowed: Mapped[str] = mapped_column(String(100), default="")
    time_limit_action: Mapped[str] = mapped_column(String(40), default="")

    version: Mapped[PackageVersion] = relationship(back_populates="items")

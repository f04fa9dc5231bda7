"""Tables of the competency framework, the catalog of modules and their competency tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.core.db import Base, UTCDateTime, foreign_key, utcnow

ITEM_KINDS = ("competency", "knowledge", "skill", "attitude")
# Module.origin: made from the framework file, edited by a designer since, or a designer's own.
SEED_ORIGIN = "seed"
EDITED_SEED_ORIGIN = "seed-edited"
DESIGNER_ORIGIN = "designer"
# Module.kind: a page the tool renders (Markdown, a link, a knowledge check) or a SCORM package
# (plugin/content/).
PAGE_KIND = "page"
SCORM_KIND = "scorm"
MODULE_KINDS = (PAGE_KIND, SCORM_KIND)

class_competencies = Table(
    "competency_class_items",
    Base.metadata,
    Column("class_id", ForeignKey("competency_classes.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("competency_items.id", ondelete="CASCADE"), primary_key=True),
)

outside_course_items = Table(
    "competency_outside_course_items",
    Base.metadata,
    Column(
        "course_id",
        ForeignKey("competency_outside_courses.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_id", ForeignKey("competency_items.id", ondelete="CASCADE"), primary_key=True),
)

class_grades = Table(
    "competency_class_grades",
    Base.metadata,
    Column("class_id", ForeignKey("competency_classes.id", ondelete="CASCADE"), primary_key=True),
    Column("grade_id", ForeignKey("competency_grades.id", ondelete="CASCADE"), primary_key=True),
)


class _FrameworkPart:
    """Columns of a scale, grade or class: its framework, its key there, its two names."""

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = foreign_key("competency_frameworks", ondelete="CASCADE")
    key: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)


class Framework(Base):
    """One competency framework (the seed report's, or one imported later)."""

    __tablename__ = "competency_frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[str] = mapped_column(String(40))
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    source_zh: Mapped[str] = mapped_column(Text, default="")
    source_en: Mapped[str] = mapped_column(Text, default="")
    targets_note_zh: Mapped[str] = mapped_column(Text, default="")
    targets_note_en: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[Item]] = relationship(back_populates="framework", order_by="Item.position")
    scales: Mapped[list[Scale]] = relationship(back_populates="framework")
    grades: Mapped[list[Grade]] = relationship(
        back_populates="framework", order_by="Grade.position"
    )
    classes: Mapped[list[TrainingClass]] = relationship(
        back_populates="framework", order_by="TrainingClass.position"
    )


class Item(Base):
    """A competency (``DC1``), an indicator (``DC1-K1``, ``DC1-S1``) or an attitude (``AT1``)."""

    __tablename__ = "competency_items"
    __table_args__ = (
        UniqueConstraint("framework_id", "code"),
        CheckConstraint(f"kind IN {ITEM_KINDS!r}", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = foreign_key("competency_frameworks", ondelete="CASCADE")
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = foreign_key("competency_items", ondelete="CASCADE")
    position: Mapped[int] = mapped_column(Integer, default=0)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # Words people search by (abbreviations, synonyms), one a line; see framework.toml.
    keywords_zh: Mapped[str] = mapped_column(Text, default="", server_default="")
    keywords_en: Mapped[str] = mapped_column(Text, default="", server_default="")

    framework: Mapped[Framework] = relationship(back_populates="items")
    parent: Mapped[Item | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Item]] = relationship(back_populates="parent", order_by="Item.position")


class Scale(_FrameworkPart, Base):
    """A proficiency scale: the report's three levels or DigComp 2.2's eight."""

    __tablename__ = "competency_scales"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    framework: Mapped[Framework] = relationship(back_populates="scales")
    levels: Mapped[list[Level]] = relationship(back_populates="scale", order_by="Level.number")


class Level(Base):
    """One level of a scale, numbered from 1."""

    __tablename__ = "competency_levels"
    __table_args__ = (
        UniqueConstraint("scale_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = foreign_key("competency_scales", ondelete="CASCADE")
    number: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(40), default="")
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # For a level of the report's scale: the DigComp levels it corresponds to.
    equivalent_min: Mapped[int | None] = mapped_column(Integer)
    equivalent_max: Mapped[int | None] = mapped_column(Integer)
    equivalence_note_zh: Mapped[str] = mapped_column(Text, default="")
    equivalence_note_en: Mapped[str] = mapped_column(Text, default="")

    scale: Mapped[Scale] = relationship(back_populates="levels")


class Grade(_FrameworkPart, Base):
    """A civil-service grade a target applies to (委任, 薦任, 簡任, 主管)."""

    __tablename__ = "competency_grades"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    position: Mapped[int] = mapped_column(Integer, default=0)

    framework: Mapped[Framework] = relationship(back_populates="grades")
    targets: Mapped[list[GradeTarget]] = relationship(back_populates="grade")


class GradeTarget(Base):
    """The level a grade is expected to reach in one competency (report scale)."""

    __tablename__ = "competency_grade_targets"
    __table_args__ = (
        UniqueConstraint("grade_id", "item_id"),
        CheckConstraint("level >= 1", name="level_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_id: Mapped[int] = foreign_key("competency_grades", ondelete="CASCADE")
    item_id: Mapped[int] = foreign_key("competency_items", ondelete="CASCADE")
    level: Mapped[int] = mapped_column(Integer)

    grade: Mapped[Grade] = relationship(back_populates="targets")
    item: Mapped[Item] = relationship()


class TrainingClass(_FrameworkPart, Base):
    """A recommended class (班別) of the report's 表 4; its topics are catalog modules."""

    __tablename__ = "competency_classes"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    position: Mapped[int] = mapped_column(Integer, default=0)
    audience_zh: Mapped[str] = mapped_column(Text, default="")
    audience_en: Mapped[str] = mapped_column(Text, default="")
    goal_zh: Mapped[str] = mapped_column(Text, default="")
    goal_en: Mapped[str] = mapped_column(Text, default="")
    days: Mapped[float] = mapped_column(Float)
    hours: Mapped[float] = mapped_column(Float)

    framework: Mapped[Framework] = relationship(back_populates="classes")
    competencies: Mapped[list[Item]] = relationship(secondary=class_competencies)
    grades: Mapped[list[Grade]] = relationship(secondary=class_grades)
    modules: Mapped[list[Module]] = relationship(
        back_populates="training_class", order_by="Module.key"
    )


class Module(Base):
    """A learning module of the catalog, launched from an LMS and tagged with competencies."""

    __tablename__ = "competency_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    class_id: Mapped[int | None] = foreign_key("competency_classes", ondelete="SET NULL")
    origin: Mapped[str] = mapped_column(String(20), default="designer")
    kind: Mapped[str] = mapped_column(String(20), default=PAGE_KIND, server_default=PAGE_KIND)
    # The agency whose designers edit the module; None for the national demo catalog, which
    # every agency reads and places and none edits from a launch.
    organisation_id: Mapped[int | None] = foreign_key("organisations", ondelete="RESTRICT")
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    activity_iri: Mapped[str] = mapped_column(String(500), unique=True)
    # Markdown as the designer wrote it, per language, and its sanitised HTML.
    content_markdown_zh: Mapped[str] = mapped_column(Text, default="")
    content_markdown_en: Mapped[str] = mapped_column(Text, default="")
    content_html_zh: Mapped[str] = mapped_column(Text, default="")
    content_html_en: Mapped[str] = mapped_column(Text, default="")
    external_url: Mapped[str] = mapped_column(String(1000), default="")
    external_display: Mapped[str] = mapped_column(String(10), default="window")
    # cmi5 masteryScore: the scaled score that passes the knowledge check.
    mastery_score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    training_class: Mapped[TrainingClass | None] = relationship(back_populates="modules")
    tags: Mapped[list[ModuleTag]] = relationship(
        back_populates="module",
        order_by="ModuleTag.id",
        cascade="all, delete-orphan",
        lazy="selectin",  # lists of modules show their tags: one IN query per list
    )
    check_items: Mapped[list[CheckItem]] = relationship(
        back_populates="module", order_by="CheckItem.position", cascade="all, delete-orphan"
    )

    @property
    def active_tags(self) -> list[ModuleTag]:
        """The tags in force (retired versions are kept for the evidence recorded under them)."""
        return [tag for tag in self.tags if tag.retired_at is None]


class CheckItem(Base):
    """One multiple-choice item of a module's knowledge check."""

    __tablename__ = "competency_check_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = foreign_key("competency_modules", ondelete="CASCADE")
    position: Mapped[int] = mapped_column(Integer, default=0)
    prompt_zh: Mapped[str] = mapped_column(Text)
    prompt_en: Mapped[str] = mapped_column(Text)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"key": "a", "text_zh": …, "text_en": …, "correct": bool, "feedback_zh": …, …}]
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    module: Mapped[Module] = relationship(back_populates="check_items")


class Placement(Base):
    """A module placed in an LMS: the platform's resource link bound to it."""

    __tablename__ = "competency_placements"
    __table_args__ = (UniqueConstraint("issuer", "deployment_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    deployment_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    module_id: Mapped[int] = foreign_key("competency_modules", ondelete="CASCADE")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    module: Mapped[Module] = relationship()


class ModuleTag(Base):
    """A module's claim to teach one item at a level; retired, never rewritten, when changed."""

    __tablename__ = "competency_module_tags"
    __table_args__ = (
        CheckConstraint("level >= 1", name="level_positive"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = foreign_key("competency_modules", ondelete="CASCADE")
    item_id: Mapped[int] = foreign_key("competency_items", ondelete="RESTRICT")
    level: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    module: Mapped[Module] = relationship(back_populates="tags")
    # Every reader of a tag reads its item (statements, pages, coverage): one join, not N loads.
    item: Mapped[Item] = relationship(lazy="joined", innerjoin=True)


class OutsideCourse(Base):
    """A course that never launches through the tool (e.g. on e等公務園), counted in coverage."""

    __tablename__ = "competency_outside_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text)
    hours: Mapped[float] = mapped_column(Float)
    # Grade keys (junior, intermediate, senior, supervisor) the course is meant for.
    audience: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(100), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[Item]] = relationship(secondary=outside_course_items)

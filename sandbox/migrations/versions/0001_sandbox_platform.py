"""sandbox platform: courses, people, memberships, links, line items, scores, results

Revision ID: sandbox_0001
Revises:
Create Date: 2026-12-03 14:00:00.000000

The tool's revision 0003 created these tables until they moved to the sandbox's own history;
a development database migrated back then already has them, so each is created only if missing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "sandbox_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("sandbox",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the sandbox's tables that are not there yet."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "sandbox_courses" not in existing:
        op.create_table(
            "sandbox_courses",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("context_id", sa.String(length=255), nullable=False),
            sa.Column("title", sa.String(length=255), nullable=False),
            sa.Column("label", sa.String(length=64), nullable=False),
            sa.Column("created_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_courses")),
            sa.UniqueConstraint("context_id", name=op.f("uq_sandbox_courses_context_id")),
        )

    if "sandbox_people" not in existing:
        op.create_table(
            "sandbox_people",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("persona", sa.String(length=20), nullable=False),
            sa.Column("sub", sa.String(length=255), nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("given_name", sa.String(length=255), nullable=False),
            sa.Column("family_name", sa.String(length=255), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_people")),
            sa.UniqueConstraint("persona", name=op.f("uq_sandbox_people_persona")),
            sa.UniqueConstraint("sub", name=op.f("uq_sandbox_people_sub")),
        )

    if "sandbox_memberships" not in existing:
        op.create_table(
            "sandbox_memberships",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("course_id", sa.Integer(), nullable=False),
            sa.Column("person_id", sa.Integer(), nullable=False),
            sa.Column("roles", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["course_id"],
                ["sandbox_courses.id"],
                name=op.f("fk_sandbox_memberships_course_id_sandbox_courses"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["person_id"],
                ["sandbox_people.id"],
                name=op.f("fk_sandbox_memberships_person_id_sandbox_people"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_memberships")),
            sa.UniqueConstraint(
                "course_id", "person_id", name=op.f("uq_sandbox_memberships_course_id_person_id")
            ),
        )
        with op.batch_alter_table("sandbox_memberships", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_sandbox_memberships_person_id"), ["person_id"], unique=False
            )

    if "sandbox_resource_links" not in existing:
        op.create_table(
            "sandbox_resource_links",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("course_id", sa.Integer(), nullable=False),
            sa.Column("title", sa.String(length=255), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("custom", sa.JSON(), nullable=False),
            sa.Column("created_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["course_id"],
                ["sandbox_courses.id"],
                name=op.f("fk_sandbox_resource_links_course_id_sandbox_courses"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_resource_links")),
        )
        with op.batch_alter_table("sandbox_resource_links", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_sandbox_resource_links_course_id"), ["course_id"], unique=False
            )

    if "sandbox_line_items" not in existing:
        op.create_table(
            "sandbox_line_items",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("course_id", sa.Integer(), nullable=False),
            sa.Column("resource_link_id", sa.Integer(), nullable=True),
            sa.Column("label", sa.String(length=255), nullable=False),
            sa.Column("score_maximum", sa.Float(), nullable=False),
            sa.Column("resource_id", sa.String(length=255), nullable=False),
            sa.Column("tag", sa.String(length=255), nullable=False),
            sa.Column("created_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["course_id"],
                ["sandbox_courses.id"],
                name=op.f("fk_sandbox_line_items_course_id_sandbox_courses"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["resource_link_id"],
                ["sandbox_resource_links.id"],
                name=op.f("fk_sandbox_line_items_resource_link_id_sandbox_resource_links"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_line_items")),
        )
        with op.batch_alter_table("sandbox_line_items", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_sandbox_line_items_course_id"), ["course_id"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_sandbox_line_items_resource_link_id"),
                ["resource_link_id"],
                unique=False,
            )

    if "sandbox_results" not in existing:
        op.create_table(
            "sandbox_results",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("line_item_id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.String(length=255), nullable=False),
            sa.Column("score_given", sa.Float(), nullable=True),
            sa.Column("score_maximum", sa.Float(), nullable=True),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("activity_progress", sa.String(length=20), nullable=False),
            sa.Column("grading_progress", sa.String(length=20), nullable=False),
            sa.Column("timestamp", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("updated_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["line_item_id"],
                ["sandbox_line_items.id"],
                name=op.f("fk_sandbox_results_line_item_id_sandbox_line_items"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_results")),
            sa.UniqueConstraint(
                "line_item_id", "user_id", name=op.f("uq_sandbox_results_line_item_id_user_id")
            ),
        )

    if "sandbox_scores" not in existing:
        op.create_table(
            "sandbox_scores",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("line_item_id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.String(length=255), nullable=False),
            sa.Column("score_given", sa.Float(), nullable=True),
            sa.Column("score_maximum", sa.Float(), nullable=True),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("activity_progress", sa.String(length=20), nullable=False),
            sa.Column("grading_progress", sa.String(length=20), nullable=False),
            sa.Column("timestamp", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("applied", sa.Boolean(), nullable=False),
            sa.Column("received_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["line_item_id"],
                ["sandbox_line_items.id"],
                name=op.f("fk_sandbox_scores_line_item_id_sandbox_line_items"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_scores")),
        )
        with op.batch_alter_table("sandbox_scores", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_sandbox_scores_line_item_id"), ["line_item_id"], unique=False
            )


def downgrade() -> None:
    """Drop the sandbox's tables."""
    with op.batch_alter_table("sandbox_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_scores_line_item_id"))

    op.drop_table("sandbox_scores")
    op.drop_table("sandbox_results")
    with op.batch_alter_table("sandbox_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_line_items_resource_link_id"))
        batch_op.drop_index(batch_op.f("ix_sandbox_line_items_course_id"))

    op.drop_table("sandbox_line_items")
    with op.batch_alter_table("sandbox_resource_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_resource_links_course_id"))

    op.drop_table("sandbox_resource_links")
    with op.batch_alter_table("sandbox_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_memberships_person_id"))

    op.drop_table("sandbox_memberships")
    op.drop_table("sandbox_people")
    op.drop_table("sandbox_courses")

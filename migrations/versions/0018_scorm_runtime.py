"""SCORM run-time: attempts on a package version and the CMI data of each SCO

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 09:00:00.000000

An attempt pins the version it started on; each SCO's row holds the newest commit by sequence
number (plugin/content/runtime_models.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "content_runtime_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("launch_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", plugin.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["lti_people.id"],
            name=op.f("fk_content_runtime_attempts_person_id_lti_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["competency_modules.id"],
            name=op.f("fk_content_runtime_attempts_module_id_competency_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["content_package_versions.id"],
            name=op.f("fk_content_runtime_attempts_version_id_content_package_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_runtime_attempts")),
        sa.UniqueConstraint("registration", name=op.f("uq_content_runtime_attempts_registration")),
    )
    for column in ("person_id", "module_id", "version_id"):
        op.create_index(
            op.f(f"ix_content_runtime_attempts_{column}"), "content_runtime_attempts", [column]
        )
    op.create_table(
        "content_runtime_scos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_identifier", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lesson_status", sa.String(length=20), nullable=False),
        sa.Column("completion_status", sa.String(length=20), nullable=False),
        sa.Column("success_status", sa.String(length=20), nullable=False),
        sa.Column("score_raw", sa.Float(), nullable=True),
        sa.Column("score_min", sa.Float(), nullable=True),
        sa.Column("score_max", sa.Float(), nullable=True),
        sa.Column("score_scaled", sa.Float(), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("suspend_data", sa.Text(), nullable=False),
        sa.Column("entry", sa.String(length=20), nullable=False),
        sa.Column("exit", sa.String(length=20), nullable=False),
        sa.Column("session_time", sa.String(length=40), nullable=False),
        sa.Column("total_time", sa.String(length=40), nullable=False),
        sa.Column("interactions", sa.JSON(), nullable=False),
        sa.Column("objectives", sa.JSON(), nullable=False),
        sa.Column("updated_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["content_runtime_attempts.id"],
            name=op.f("fk_content_runtime_scos_attempt_id_content_runtime_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_runtime_scos")),
        sa.UniqueConstraint(
            "attempt_id",
            "item_identifier",
            name=op.f("uq_content_runtime_scos_attempt_id_item_identifier"),
        ),
    )
    op.create_index(
        op.f("ix_content_runtime_scos_attempt_id"), "content_runtime_scos", ["attempt_id"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_content_runtime_scos_attempt_id"), table_name="content_runtime_scos")
    op.drop_table("content_runtime_scos")
    for column in ("person_id", "module_id", "version_id"):
        op.drop_index(
            op.f(f"ix_content_runtime_attempts_{column}"), table_name="content_runtime_attempts"
        )
    op.drop_table("content_runtime_attempts")

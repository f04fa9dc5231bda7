"""SCORM packages: a module's kind, its package versions and their launchable items

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00.000000

Every existing module is a page the tool renders; a module made from a SCORM package has the
kind "scorm" and one row per uploaded version (plugin/content/models.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("competency_modules") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="page")
        )
    op.create_table(
        "content_package_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("scorm_version", sa.String(length=10), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("organization", sa.String(length=255), nullable=False),
        sa.Column("mastery_score", sa.Float(), nullable=True),
        sa.Column("item_tree", sa.JSON(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("original_bytes", sa.BigInteger(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["competency_modules.id"],
            name=op.f("fk_content_package_versions_module_id_competency_modules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_package_versions")),
        sa.UniqueConstraint(
            "module_id", "number", name=op.f("uq_content_package_versions_module_id_number")
        ),
        sa.UniqueConstraint("storage_key", name=op.f("uq_content_package_versions_storage_key")),
    )
    op.create_index(
        op.f("ix_content_package_versions_module_id"), "content_package_versions", ["module_id"]
    )
    op.create_table(
        "content_package_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("resource_identifier", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("scorm_type", sa.String(length=10), nullable=False),
        sa.Column("launch_href", sa.String(length=2000), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("data_from_lms", sa.Text(), nullable=False),
        sa.Column("mastery_score", sa.Float(), nullable=True),
        sa.Column("max_time_allowed", sa.String(length=100), nullable=False),
        sa.Column("time_limit_action", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["content_package_versions.id"],
            name=op.f("fk_content_package_items_version_id_content_package_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_package_items")),
        sa.UniqueConstraint(
            "version_id", "identifier", name=op.f("uq_content_package_items_version_id_identifier")
        ),
    )
    op.create_index(
        op.f("ix_content_package_items_version_id"), "content_package_items", ["version_id"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_content_package_items_version_id"), table_name="content_package_items")
    op.drop_table("content_package_items")
    op.drop_index(
        op.f("ix_content_package_versions_module_id"), table_name="content_package_versions"
    )
    op.drop_table("content_package_versions")
    with op.batch_alter_table("competency_modules") as batch_op:
        batch_op.drop_column("kind")

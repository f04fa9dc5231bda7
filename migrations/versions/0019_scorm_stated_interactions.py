"""SCORM run-time: the interactions of a SCO already stated as answered

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 09:00:00.000000

A SCO's interactions are stated as they are committed, once per attempt
(plugin/content/runtime_models.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("content_runtime_scos") as batch:
        batch.add_column(
            sa.Column(
                "stated_interactions", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("content_runtime_scos") as batch:
        batch.drop_column("stated_interactions")

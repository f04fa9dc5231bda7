"""competency items carry search keywords (abbreviations and synonyms) in each language

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:00:00.000000

The framework search finds an item by the words people use ("個資", "資安", "生成式AI"), not
only by its name and definition. One keyword a line; the framework load fills them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("competency_items") as batch_op:
        batch_op.add_column(sa.Column("keywords_zh", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("keywords_en", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("competency_items") as batch_op:
        batch_op.drop_column("keywords_en")
        batch_op.drop_column("keywords_zh")

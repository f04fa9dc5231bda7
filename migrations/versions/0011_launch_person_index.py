"""launches indexed by person

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 00:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Whose learners a designer may see is answered from a person's launches.
    op.create_index(op.f("ix_lti_launches_person_id"), "lti_launches", ["person_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_lti_launches_person_id"), table_name="lti_launches")

"""sandbox platform: tables moved to the sandbox's own migrations (no operations)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 20:47:23.892921

This revision once created the sandbox LMS's seven ``sandbox_*`` tables. The sandbox is a
development package of its own now (sandbox/, docs/ARCHITECTURE.md), so a production database
must never get them: its own Alembic history (sandbox/migrations, branch ``sandbox``) creates
them, only when the sandbox is enabled. The id stays so that databases already past it keep
their chain; a development database that has the tables keeps them.
"""

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing: the sandbox's tables are created by sandbox/migrations."""


def downgrade() -> None:
    """Nothing: the sandbox's tables belong to sandbox/migrations."""

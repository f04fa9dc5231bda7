"""module content per language

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00.000000

Written by hand: autogenerate sees a rename as a drop and an add, which would lose the text.
The single content column becomes the zh-TW one (the text stays as it was) and the English
columns start empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the downgrade puts between the two languages: how the one column held both before.
JOINED_MARKDOWN = "\n\n---\n\n## English\n\n"
JOINED_HTML = "<hr>\n<h2>English</h2>\n"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("competency_modules", schema=None) as batch_op:
        batch_op.alter_column(
            "content_markdown",
            new_column_name="content_markdown_zh",
            existing_type=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "content_html",
            new_column_name="content_html_zh",
            existing_type=sa.Text(),
            existing_nullable=False,
        )
        # The server default fills the rows already there; the model has none, so it goes next.
        batch_op.add_column(
            sa.Column("content_markdown_en", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("content_html_en", sa.Text(), nullable=False, server_default="")
        )

    with op.batch_alter_table("competency_modules", schema=None) as batch_op:
        for name in ("content_markdown_en", "content_html_en"):
            batch_op.alter_column(
                name,
                server_default=None,
                existing_type=sa.Text(),
                existing_nullable=False,
                existing_server_default="",
            )


def downgrade() -> None:
    """Revert this revision."""
    # One column again: keep the English text by joining it under the zh-TW text, as the
    # single column held both languages before.
    modules = sa.table(
        "competency_modules",
        sa.column("content_markdown_zh", sa.Text()),
        sa.column("content_markdown_en", sa.Text()),
        sa.column("content_html_zh", sa.Text()),
        sa.column("content_html_en", sa.Text()),
    )
    for zh, en, joint in (
        (modules.c.content_markdown_zh, modules.c.content_markdown_en, JOINED_MARKDOWN),
        (modules.c.content_html_zh, modules.c.content_html_en, JOINED_HTML),
    ):
        op.execute(
            modules.update()
            .where(en != "")
            .values({zh.name: sa.case((zh == "", en), else_=zh + sa.literal(joint) + en)})
        )

    with op.batch_alter_table("competency_modules", schema=None) as batch_op:
        batch_op.drop_column("content_html_en")
        batch_op.drop_column("content_markdown_en")
        batch_op.alter_column(
            "content_html_zh",
            new_column_name="content_html",
            existing_type=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "content_markdown_zh",
            new_column_name="content_markdown",
            existing_type=sa.Text(),
            existing_nullable=False,
        )

"""The sandbox's tables through their own Alembic history, apart from the tool's chain.

A production database never runs these (config refuses the sandbox there); ``flask --app plugin
db upgrade`` runs them after the tool's chain when the sandbox is enabled (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Its own version table: the tool's alembic_version keeps one head, whatever the sandbox does.
VERSION_TABLE = "sandbox_alembic_version"


def is_sandbox_table(name: str | None, kind: str, _parents: object = None) -> bool:
    """False for the tool's tables (Alembic's ``include_name`` hook for autogenerate)."""
    from sandbox.models import SandboxBase  # the models import plugin's, which need no Alembic

    return kind != "table" or name in SandboxBase.metadata.tables


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs the sandbox's migrations on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["engine"] = engine
    return config


def upgrade_sandbox(engine: Engine, revision: str = "head") -> None:
    """Bring the sandbox's tables up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade_sandbox(engine: Engine, revision: str) -> None:
    """Take the sandbox's tables down to ``revision``."""
    command.downgrade(alembic_config(engine), revision)

"""``flask --app plugin db …``: the database schema (Alembic migrations)."""

from __future__ import annotations

import click
from flask import current_app

from plugin.cli.common import PluginGroup, db
from plugin.core.migrate import (
    SCHEMA_UPGRADES,
    current_revision,
    make_revision,
    upgrade_database,
)

db_group = PluginGroup("db", help="Database schema (Alembic migrations).")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    upgrade_database(db().engine, revision)
    for upgrade in current_app.extensions.get(SCHEMA_UPGRADES, ()):
        upgrade(db().engine)  # an enabled extension's own tables (the sandbox's)
    click.echo(f"database at revision {current_revision(db().engine)}")


@db_group.command("current")
def db_current() -> None:
    """Print the database's revision."""
    click.echo(current_revision(db().engine) or "(not migrated)")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (review it before committing)."""
    make_revision(db().engine, message)

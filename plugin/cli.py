"""``flask --app plugin …`` commands: database, framework."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from plugin.competencies.services import (
    count_items,
    get_framework,
    load_framework,
    read_framework_file,
)
from plugin.core.db import Database
from plugin.core.errors import PluginError
from plugin.core.migrate import current_revision, make_revision, upgrade_database


def _db() -> Database:
    return current_app.extensions["plugin.db"]


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    upgrade_database(_db().engine, revision)
    click.echo(f"database at revision {current_revision(_db().engine)}")


@db_group.command("current")
def db_current() -> None:
    """Print the database's revision."""
    click.echo(current_revision(_db().engine) or "(not migrated)")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (review it before committing)."""
    make_revision(_db().engine, message)


@click.group("framework", cls=AppGroup)
def framework_group() -> None:
    """The competency framework."""


@framework_group.command("load")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def framework_load(file: Path | None) -> None:
    """Load FILE (default: the bundled seed framework); running it twice changes nothing."""
    settings = current_app.extensions["plugin.settings"]
    path = file or (Path(settings.framework.file) if settings.framework.file else None)
    try:
        data = read_framework_file(path)
        with _db().session_scope() as session:
            report = load_framework(session, data, settings.framework.iri_base)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    if not report.changed:
        click.echo(f"framework {report.framework}: unchanged")
        return
    for label, counts in (("created", report.created), ("updated", report.updated)):
        if counts:
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
            click.echo(f"framework {report.framework}: {label} {parts}")


@framework_group.command("show")
def framework_show() -> None:
    """Print the loaded framework's counts."""
    with _db().session_scope() as session:
        framework = get_framework(session)
        if framework is None:
            raise click.ClickException(
                "no framework loaded (run: flask --app plugin framework load)"
            )
        counts = count_items(session, framework)
        click.echo(
            f"{framework.key} {framework.version}: "
            + ", ".join(f"{n} {kind}" for kind, n in counts.items())
            + f", {len(framework.classes)} classes"
        )


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(db_group)
    app.cli.add_command(framework_group)

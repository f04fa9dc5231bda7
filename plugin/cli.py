"""``flask --app plugin …`` commands: database, framework."""

from __future__ import annotations

from datetime import timedelta
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
from plugin.lti.keys import list_keys, rotate_keys
from plugin.lti.registrations import (
    PlatformDetails,
    activate_deployment,
    disable_platform,
    list_registrations,
    register_platform,
)


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


@click.group("platform", cls=AppGroup)
def platform_group() -> None:
    """LTI platform registrations."""


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client_id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token URL.")
@click.option("--key-set-url", required=True, help="The platform's public JWKS URL.")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="Active deployment(s).")
@click.option("--name", default="", help="A name administrators recognise.")
@click.option("--auth-audience", default="", help="Token audience, when not the token URL.")
def platform_add(**options: object) -> None:
    """Register (or update) a platform and activate its deployments."""
    deployment_ids = tuple(options.pop("deployment_ids"))  # type: ignore[arg-type]
    details = PlatformDetails(**options)  # type: ignore[arg-type]
    try:
        with _db().session_scope() as session:
            registration = register_platform(session, details, deployment_ids)
            click.echo(
                f"registered {registration.issuer} client_id={registration.client_id} "
                f"deployments={','.join(deployment_ids) or '-'}"
            )
    except PluginError as exc:
        raise click.ClickException(exc.message) from None


@platform_group.command("list")
def platform_list() -> None:
    """Print every registration with its deployments."""
    with _db().session_scope() as session:
        rows = list_registrations(session)
        if not rows:
            click.echo("no platforms registered")
        for row in rows:
            state = "enabled" if row.enabled else "disabled"
            click.echo(f"{row.issuer}  client_id={row.client_id}  {state}  ({row.name})")
            for deployment in row.deployments:
                status = "active" if deployment.active else "awaiting approval"
                click.echo(f"    deployment {deployment.deployment_id}: {status}")


@platform_group.command("disable")
@click.option("--issuer", required=True)
@click.option("--client-id", default=None, help="Only this client_id of the issuer.")
def platform_disable(issuer: str, client_id: str | None) -> None:
    """Refuse further launches from a platform."""
    try:
        with _db().session_scope() as session:
            count = disable_platform(session, issuer, client_id)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"disabled {count} registration(s) of {issuer}")


@click.group("deployment", cls=AppGroup)
def deployment_group() -> None:
    """LTI deployments."""


@deployment_group.command("activate")
@click.option("--issuer", required=True)
@click.option("--deployment-id", required=True)
@click.option("--client-id", default=None, help="Needed when several client_ids have it.")
def deployment_activate(issuer: str, deployment_id: str, client_id: str | None) -> None:
    """Approve a deployment that launched and waits for approval."""
    try:
        with _db().session_scope() as session:
            activate_deployment(session, issuer, deployment_id, client_id)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"deployment {deployment_id} of {issuer} is active")


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """The tool's signing keys."""


@keys_group.command("rotate")
@click.option("--grace-days", type=int, default=None, help="Keep the old key published this long.")
def keys_rotate(grace_days: int | None) -> None:
    """Add a new signing key; the old one stays in the JWKS for the grace period."""
    settings = current_app.extensions["plugin.settings"]
    days = settings.lti.key_grace_days if grace_days is None else grace_days
    with _db().session_scope() as session:
        key, retired = rotate_keys(session, settings.secret_key, timedelta(days=days))
    click.echo(
        f"new signing key {key.kid}; retiring after {days} day(s): {', '.join(retired) or '-'}"
    )


@keys_group.command("list")
def keys_list() -> None:
    """Print the keys and their status."""
    with _db().session_scope() as session:
        for key in list_keys(session):
            until = f" until {key.retire_after:%Y-%m-%d %H:%M}Z" if key.retire_after else ""
            click.echo(f"{key.kid}  {key.status}{until}  created {key.created_at:%Y-%m-%d}")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for group in (db_group, framework_group, platform_group, deployment_group, keys_group):
        app.cli.add_command(group)

"""``flask --app plugin organisation …``: organisations (agencies) and their registrations."""

from __future__ import annotations

import click

from plugin.cli.common import PluginGroup, db
from plugin.lti.registrations import assign_registrations, list_registrations
from plugin.organisations.services import create_organisation, get_organisation, list_organisations

organisation_group = PluginGroup(
    "organisation",
    help="Organisations (agencies): each sees only its own people, modules and reports.",
)


@organisation_group.command("add")
@click.argument("key")
@click.option("--name", required=True, help="The agency's name, as its people know it.")
def organisation_add(key: str, name: str) -> None:
    """Create the organisation KEY (lower-case letters, digits, '.', '_', '-')."""
    with db().session_scope() as session:
        create_organisation(session, key, name)
    click.echo(f"organisation {key} created")


@organisation_group.command("list")
def organisation_list() -> None:
    """Print every organisation with its registrations."""
    with db().session_scope() as session:
        registrations = list_registrations(session)
        for organisation in list_organisations(session):
            click.echo(f"{organisation.key}\t{organisation.name}")
            for row in registrations:
                if row.organisation_id == organisation.id:
                    click.echo(f"    {row.issuer}  client_id={row.client_id}")


@organisation_group.command("assign")
@click.argument("key")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", default=None, help="Only this client_id of the issuer.")
def organisation_assign(key: str, issuer: str, client_id: str | None) -> None:
    """Move a platform's registrations (or one client_id) into the organisation KEY."""
    with db().session_scope() as session:
        moved = assign_registrations(session, get_organisation(session, key), issuer, client_id)
        count = len(moved)
    click.echo(f"moved {count} registration(s) of {issuer} into {key}")

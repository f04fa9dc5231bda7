"""``flask --app plugin platform|deployment …``: LTI platform registrations and deployments."""

from __future__ import annotations

import click

from plugin.cli.common import PluginGroup, db
from plugin.lti.registrations import (
    PlatformDetails,
    activate_deployment,
    disable_platform,
    framing_origins,
    list_registrations,
    register_platform,
)
from plugin.organisations.services import get_organisation

platform_group = PluginGroup("platform", help="LTI platform registrations.")


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client_id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token URL.")
@click.option("--key-set-url", required=True, help="The platform's public JWKS URL.")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="Active deployment(s).")
@click.option("--name", default="", help="A name administrators recognise.")
@click.option("--auth-audience", default="", help="Token audience, when not the token URL.")
@click.option(
    "--frame-origin",
    "frame_origins",
    multiple=True,
    help="An origin where the platform shows the tool, besides its issuer's and login URL's "
    "(Canvas: https://school.instructure.com). Replaces the earlier list when given.",
)
@click.option(
    "--organisation",
    "organisation_key",
    default=None,
    help="The organisation (agency) the platform belongs to; a new platform without it joins "
    "the default organisation, an existing one keeps its own.",
)
def platform_add(
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_ids: tuple[str, ...],
    name: str,
    auth_audience: str,
    frame_origins: tuple[str, ...],
    organisation_key: str | None,
) -> None:
    """Register (or update) a platform and activate its deployments."""
    details = PlatformDetails(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        name=name,
        auth_audience=auth_audience,
        frame_origins=tuple(frame_origins),
    )
    with db().session_scope() as session:
        organisation = get_organisation(session, organisation_key) if organisation_key else None
        registration = register_platform(
            session, details, deployment_ids, organisation=organisation
        )
        click.echo(
            f"registered {registration.issuer} client_id={registration.client_id} "
            f"deployments={','.join(deployment_ids) or '-'} "
            f"organisation={registration.organisation.key}"
        )


@platform_group.command("list")
def platform_list() -> None:
    """Print every registration with its deployments."""
    with db().session_scope() as session:
        rows = list_registrations(session)
        if not rows:
            click.echo("no platforms registered")
        for row in rows:
            state = "enabled" if row.enabled else "disabled"
            click.echo(
                f"{row.issuer}  client_id={row.client_id}  {state}  ({row.name})  "
                f"organisation={row.organisation.key}"
            )
            click.echo(f"    frames the tool from: {' '.join(sorted(framing_origins(row)))}")
            for deployment in row.deployments:
                status = "active" if deployment.active else "awaiting approval"
                click.echo(f"    deployment {deployment.deployment_id}: {status}")


@platform_group.command("disable")
@click.option("--issuer", required=True)
@click.option("--client-id", default=None, help="Only this client_id of the issuer.")
def platform_disable(issuer: str, client_id: str | None) -> None:
    """Refuse further launches from a platform."""
    with db().session_scope() as session:
        count = disable_platform(session, issuer, client_id)
    click.echo(f"disabled {count} registration(s) of {issuer}")


deployment_group = PluginGroup("deployment", help="LTI deployments.")


@deployment_group.command("activate")
@click.option("--issuer", required=True)
@click.option("--deployment-id", required=True)
@click.option("--client-id", default=None, help="Needed when several client_ids have it.")
def deployment_activate(issuer: str, deployment_id: str, client_id: str | None) -> None:
    """Approve a deployment that launched and waits for approval."""
    with db().session_scope() as session:
        activate_deployment(session, issuer, deployment_id, client_id)
    click.echo(f"deployment {deployment_id} of {issuer} is active")

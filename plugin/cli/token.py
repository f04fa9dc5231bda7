"""``flask --app plugin token …``: bearer tokens of the JSON API."""

from __future__ import annotations

import click

from plugin.cli.common import WHOLE_NUMBER, PluginGroup, db
from plugin.organisations.services import get_organisation, list_organisations
from plugin.organisations.tokens import SCOPES, create_token, list_tokens, revoke_token

token_group = PluginGroup("token", help="Bearer tokens of the JSON API (/api/v1).")


@token_group.command("create")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="A scope the token grants; repeat for several.",
)
@click.option(
    "--organisation",
    "organisation_key",
    default=None,
    help="The organisation whose data the token reads; without it, the operator's token "
    "reads every organisation's.",
)
def token_create(name: str, scopes: tuple[str, ...], organisation_key: str | None) -> None:
    """Create a token and print it once (only its hash is stored)."""
    with db().session_scope() as session:
        organisation = get_organisation(session, organisation_key) if organisation_key else None
        row, token = create_token(session, name, scopes, organisation=organisation)
        token_id, granted = row.id, " ".join(row.scopes)
    click.echo(f"token {token_id} ({name}): {granted}", err=True)
    click.echo("store it now: it is not shown again", err=True)
    click.echo(token)


@token_group.command("list")
def token_list() -> None:
    """List tokens: id, prefix, name, scopes, whose data, created, last used, revoked."""
    with db().session_scope() as session:
        rows = list_tokens(session)
        keys = {organisation.id: organisation.key for organisation in list_organisations(session)}
        if not rows:
            click.echo("no API tokens (create one: flask --app plugin token create)")
        for row in rows:
            used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
            state = (
                f"revoked {row.revoked_at.isoformat(timespec='seconds')}"
                if row.revoked_at
                else "active"
            )
            reads = (
                f"organisation={keys[row.organisation_id]}"
                if row.organisation_id is not None
                else "operator (every organisation)"
            )
            click.echo(
                f"{row.id}\tdct.{row.prefix}\t{row.name}\t{' '.join(row.scopes)}\t{reads}\t"
                f"created {row.created_at.isoformat(timespec='seconds')}\tused {used}\t{state}"
            )


@token_group.command("revoke")
@click.argument("token_id", type=WHOLE_NUMBER)
def token_revoke(token_id: int) -> None:
    """Revoke the token with id TOKEN_ID (it stops working at once)."""
    with db().session_scope() as session:
        row = revoke_token(session, token_id)
        revoked = row.revoked_at
    assert revoked is not None  # revoke_token sets it, or kept the first revocation's time
    click.echo(f"token {token_id} revoked at {revoked.isoformat(timespec='seconds')}")

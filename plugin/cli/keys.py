"""``flask --app plugin keys …``: the tool's signing keys."""

from __future__ import annotations

from datetime import timedelta

import click

from plugin.cli.common import WHOLE_NUMBER, PluginGroup, db, settings
from plugin.lti.keys import list_keys, rotate_keys

keys_group = PluginGroup("keys", help="The tool's signing keys.")


@keys_group.command("rotate")
@click.option(
    "--grace-days", type=WHOLE_NUMBER, default=None, help="Keep the old key published this long."
)
def keys_rotate(grace_days: int | None) -> None:
    """Add a new signing key; the old one stays in the JWKS for the grace period."""
    config = settings()
    days = config.lti.key_grace_days if grace_days is None else grace_days
    with db().session_scope() as session:
        key, retired = rotate_keys(session, config.secret_key, timedelta(days=days))
    click.echo(
        f"new signing key {key.kid}; retiring after {days} day(s): {', '.join(retired) or '-'}"
    )


@keys_group.command("list")
def keys_list() -> None:
    """Print the keys and their status."""
    with db().session_scope() as session:
        for key in list_keys(session):
            until = f" until {key.retire_after:%Y-%m-%d %H:%M}Z" if key.retire_after else ""
            click.echo(f"{key.kid}  {key.status}{until}  created {key.created_at:%Y-%m-%d}")

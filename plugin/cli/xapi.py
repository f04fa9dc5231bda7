"""``flask --app plugin xapi …``: the statement outbox and its delivery to the LRSs."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.cli.common import WHOLE_NUMBER, PluginGroup, db, settings
from plugin.cli.worker import Worker, pending_line, worker_command
from plugin.core.config import development_lrs_target
from plugin.core.db import utcnow
from plugin.core.dev_defaults import LRS_CREDENTIALS_FILE
from plugin.organisations.audience import Audience
from plugin.xapi import delivery as xapi_delivery
from plugin.xapi.lrs_client import LrsClient

xapi_group = PluginGroup(
    "xapi", help="xAPI statements: the outbox and its delivery to the learning record stores."
)


@worker_command(
    xapi_group, "xapi.", once_help="Deliver one batch per LRS, then stop.", rows="Statements"
)
def xapi_worker(batch: int | None, interval: float | None) -> Worker:
    """Send queued statements to the LRS targets until stopped (SIGTERM or Ctrl-C)."""
    xapi = settings().xapi
    if not xapi.lrs:
        raise click.ClickException("no LRS configured: add an [[xapi.lrs]] table to the config")
    policy = xapi_delivery.DeliveryPolicy(
        batch_size=batch or xapi.batch_size,
        timeout=xapi.timeout_seconds,
        retry_base_seconds=xapi.retry_base_seconds,
        retry_max_seconds=xapi.retry_max_seconds,
    )
    clients = {target.name: LrsClient(target, xapi.timeout_seconds) for target in xapi.lrs}
    database = db()

    def deliver() -> xapi_delivery.BatchReport:
        return xapi_delivery.deliver_due_statements(database.session_scope, clients, policy)

    def close() -> None:
        for client in clients.values():
            client.close()

    names = ", ".join(f"{t.name} ({t.endpoint})" for t in xapi.lrs)
    return Worker(
        label="xapi",
        banner=f"xapi worker: batches of {policy.batch_size} to {names}; stop with SIGTERM",
        stopped="xapi worker stopped",
        run=lambda once, stop, report: xapi_delivery.run_worker(
            deliver,
            interval=xapi.worker_interval_seconds if interval is None else interval,
            once=once,
            stop=stop,
            report=report,
        ),
        close=close,
    )


@xapi_group.command("status")
def xapi_status() -> None:
    """Print per LRS how many statements wait, were delivered or quarantined, and the last
    error."""
    configured = {target.name: target for target in settings().xapi.lrs}
    with db().session_scope() as session:
        queues = xapi_delivery.queue_counts(session, list(configured), audience=Audience.operator())
    now = utcnow()
    for counts in queues:
        target = configured.get(counts.target)
        where = target.endpoint if target else "not configured: its statements wait"
        click.echo(f"{counts.target} ({where})")
        click.echo(f"  {pending_line(counts, now)}")
        click.echo(f"  delivered: {counts.delivered}")
        click.echo(f"  quarantined: {counts.quarantined}")
        if counts.last_error:
            click.echo(f"  last error (row {counts.last_error_row}): {counts.last_error}")
    if not queues:
        click.echo("no LRS configured and no statements queued")


@xapi_group.command("retry")
@click.option("--id", "ids", type=WHOLE_NUMBER, multiple=True, help="Only this row (repeatable).")
@click.option("--target", default=None, help="Only the rows of this LRS.")
def xapi_retry(ids: tuple[int, ...], target: str | None) -> None:
    """Queue quarantined statements again (after the cause, e.g. the LRS, is fixed)."""
    with db().session_scope() as session:
        count = xapi_delivery.retry_quarantined(session, ids, target)
    click.echo(f"{count} quarantined statement(s) queued again")


@xapi_group.command("local-lrs", hidden=True)
def xapi_local_lrs() -> None:
    """Print the credentials file of the development LRS when it is the one configured
    (used by `make run` to start Ralph); print nothing otherwise."""
    config = settings()
    if not config.is_development:
        return
    instance_dir = Path(config.instance_dir)
    credentials_file = instance_dir / LRS_CREDENTIALS_FILE
    # The default applied only if the file exists (settings wrote it) and the one target is
    # exactly the default: a configured [[xapi.lrs]] is never shadowed by a local Ralph.
    if credentials_file.exists() and config.xapi.lrs == (development_lrs_target(instance_dir),):
        click.echo(str(credentials_file))

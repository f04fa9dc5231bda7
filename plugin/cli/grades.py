"""``flask --app plugin grades …``: the LTI AGS score queue and its worker."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app

from plugin.cli.common import WHOLE_NUMBER, PluginGroup, db, settings
from plugin.cli.worker import Worker, pending_line, worker_command
from plugin.core.db import utcnow
from plugin.lti.grade_delivery import DeliveryPolicy, deliver_due_scores, run_worker
from plugin.lti.grade_outbox import queue_counts, retry_failed
from plugin.lti.service_tokens import ensure_service_tokens

grades_group = PluginGroup(
    "grades", help="Grade passback (LTI AGS): the queue of scores for platform gradebooks."
)


@worker_command(grades_group, "lti.grade_", once_help="Deliver one batch, then stop.", rows="Rows")
def grades_worker(batch: int | None, interval: float | None) -> Worker:
    """Send queued scores to the platforms until stopped (SIGTERM or Ctrl-C)."""
    config = settings()
    lti = config.lti
    policy = DeliveryPolicy(
        batch_size=batch or lti.grade_batch_size,
        timeout=lti.http_timeout_seconds,
        retry_base_seconds=lti.grade_retry_base_seconds,
        retry_max_seconds=lti.grade_retry_max_seconds,
    )
    tokens = ensure_service_tokens(current_app.extensions, lti.http_timeout_seconds)
    database = db()

    def deliver() -> Any:
        return deliver_due_scores(database.session_scope, tokens, config.secret_key, policy)

    return Worker(
        label="grades",
        banner=f"grade worker: batches of {policy.batch_size}; stop with SIGTERM or Ctrl-C",
        stopped="grade worker stopped",
        run=lambda once, stop, report: run_worker(
            deliver,
            batch_size=policy.batch_size,
            interval=lti.grade_worker_interval_seconds if interval is None else interval,
            once=once,
            stop=stop,
            report=report,
        ),
    )


@grades_group.command("status")
def grades_status() -> None:
    """Print how many scores wait, were delivered or failed, and the latest error."""
    with db().session_scope() as session:
        counts = queue_counts(session)
    click.echo(pending_line(counts, utcnow()))
    click.echo(f"delivered: {counts.delivered} (superseded: {counts.superseded})")
    click.echo(f"failed: {counts.failed}")
    if counts.latest_error:
        click.echo(f"latest error (row {counts.latest_error_row}): {counts.latest_error}")


@grades_group.command("retry")
@click.option("--id", "ids", type=WHOLE_NUMBER, multiple=True, help="Only this row (repeatable).")
def grades_retry(ids: tuple[int, ...]) -> None:
    """Queue failed scores again (after the cause, e.g. a registration, is fixed)."""
    with db().session_scope() as session:
        count = retry_failed(session, ids)
    click.echo(f"{count} failed score(s) queued again")
